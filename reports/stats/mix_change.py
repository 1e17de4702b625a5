"""Places whose offence mix changed: an area where some kinds of offence came to make up a different share of what
is recorded between the first and the last year, beyond what changed in the rest of the country.

A plain test of an area's mix in its first against its last year flags every area of a country whose mix changes
as a whole (online fraud rising everywhere): the question an analyst asks is whether *this place* changed
differently. So each area's 2 (years) × K (ICCS level-2 categories) table is set beside the same table for the
rest of the country (every other area), and the log-linear model with every two-way association but no three-way
one (area-or-rest × year × category: the area's mix may differ from the rest's, and the mix may change, but it
changes the same way in both) is fitted by iterative proportional fitting. Its G² (likelihood-ratio) statistic has
K − 1 degrees of freedom; p-values are chi-square. Categories with fewer than ``MIN_CATEGORY`` records in the area
over the two years are pooled into one "other" category, so sparse cells do not make the chi-square unreliable.

An area is tested when it has at least ``MIN_RECORDS`` records in each of the two years; a flag also needs the
category that moved most (the largest Pearson residual of the area's last-year cells) to differ from its expected
share by at least ``MIN_SHARE_CHANGE`` (3 percentage points), since with thousands of records a 0.5-point shift is
"significant" and means nothing. Categories whose last-year residual is beyond ``NAMED_RESIDUAL`` are named as
having moved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2

MIN_RECORDS = 50
MIN_CATEGORY = 10
MIN_SHARE_CHANGE = 0.03
NAMED_RESIDUAL = 3.0
ITERATIONS = 200
TOLERANCE = 1e-8
OTHER = "other"


@dataclass(frozen=True)
class MixTest:
    g2: float
    dof: int
    p: float
    categories: list[str]  # after pooling (OTHER last when present)
    observed: np.ndarray  # (2 years, K) the area's counts
    expected: np.ndarray  # (2 years, K) under "changed as the rest did"
    residual: np.ndarray  # (K,) Pearson residuals of the last year


def no_three_way_fit(table: np.ndarray) -> np.ndarray:
    """Fitted counts of a 2 × 2 × K table (area-or-rest, year, category) under no three-way association (IPF)."""
    fit = np.ones_like(table, dtype=float)
    margins = (table.sum(axis=2), table.sum(axis=1), table.sum(axis=0))
    for _ in range(ITERATIONS):
        before = fit.copy()
        with np.errstate(divide="ignore", invalid="ignore"):
            fit *= np.nan_to_num(margins[0] / fit.sum(axis=2))[:, :, None]
            fit *= np.nan_to_num(margins[1] / fit.sum(axis=1))[:, None, :]
            fit *= np.nan_to_num(margins[2] / fit.sum(axis=0))[None, :, :]
        if np.max(np.abs(fit - before)) < TOLERANCE:
            break
    return fit


def pool(area: np.ndarray, rest: np.ndarray, categories: list[str]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Categories with fewer than MIN_CATEGORY area records over both years summed into OTHER; categories with no
    record anywhere dropped."""
    total = area.sum(axis=0)
    present = (total + rest.sum(axis=0)) > 0
    small = present & (total < MIN_CATEGORY)
    keep = present & ~small
    names = [c for c, k in zip(categories, keep, strict=True) if k]
    a, r = area[:, keep], rest[:, keep]
    if small.any():
        a = np.column_stack([a, area[:, small].sum(axis=1)])
        r = np.column_stack([r, rest[:, small].sum(axis=1)])
        names.append(OTHER)
    return a, r, names


def mix_test(area: np.ndarray, rest: np.ndarray, categories: list[str]) -> MixTest | None:
    """The test of one area: `area` and `rest` are (2, K) counts (first year, last year) by category."""
    a, r, names = pool(np.asarray(area, float), np.asarray(rest, float), categories)
    if a.shape[1] < 2 or (a.sum(axis=1) < MIN_RECORDS).any():
        return None
    table = np.stack([a, r])
    fit = no_three_way_fit(table)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(table > 0, table * np.log(table / fit), 0.0)
    g2 = float(2 * terms.sum())
    dof = a.shape[1] - 1
    expected = fit[0]
    residual = (a[1] - expected[1]) / np.sqrt(np.maximum(expected[1], 1e-9))
    return MixTest(g2, dof, float(chi2.sf(max(g2, 0.0), dof)), names, a, expected, residual)


def main_mover(test: MixTest) -> int:
    """The category (index) that moved most: the largest |Pearson residual| among real categories."""
    order = np.argsort(-np.abs(test.residual))
    real = [i for i in order if test.categories[i] != OTHER]
    return int(real[0] if real else order[0])


def large_enough(test: MixTest) -> bool:
    k = main_mover(test)
    total = test.observed[1].sum()
    return bool(abs(test.observed[1, k] - test.expected[1, k]) / total >= MIN_SHARE_CHANGE)


def movers(test: MixTest) -> list[int]:
    """Categories whose last-year count is beyond NAMED_RESIDUAL of its expectation, strongest first."""
    order = np.argsort(-np.abs(test.residual))
    return [int(i) for i in order if abs(test.residual[i]) >= NAMED_RESIDUAL and test.categories[i] != OTHER]
