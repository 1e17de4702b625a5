"""Level shifts: the month from which a series runs at another level (a new police operation, or a recording change).

Candidates come from PELT (``ruptures``, cost l2: changes in mean) on the deseasonalised Anscombe-scale series
(``anomaly_months.deseasonalised``), with the penalty ``PENALTY_FACTOR``·sigma²·log(n): the BIC-type penalty of
Yao (1988), 2·sigma²·log(n), made stricter (3) because a smooth trend cut into steps also lowers an l2 cost. sigma
is estimated from the month-to-month differences (MAD of the differences over sqrt 2), which a shift moves only in
one difference, so the penalty does not grow with the shift it should find.

Every candidate is then tested on its own: on the months between its neighbouring candidates, at most ``WINDOW``
either side (all of a short series for a lone shift; at least ``MIN_SEGMENT``), the deseasonalised series is
regressed on a constant, a linear trend and a step at the candidate; the step's t gives a two-sided p-value,
multiplied by the number of positions a step could have taken (Bonferroni over positions), because PELT chose the
position that makes the step look largest. A smooth trend gives no step once the trend is in the model, so a
series that grows 20 % a year is not "shifting" every month. A shift is reported only if it is also large in
counts: the monthly level just after the step differs from the one just before (both on the fitted trend line, so
growth over the years is not counted as a step) by at least ``MIN_CHANGE`` (20 %), as with tens of thousands of
records a 3 % step is "significant" and means nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import ruptures as rpt
from scipy.stats import t as student

from reports.stats.anomaly_months import from_anscombe

MIN_SEGMENT = 6
JUMP = 3
WINDOW = 36  # months either side at most: a linear trend is a fair local model over three years, not over ten
PENALTY_FACTOR = 3.0
MIN_CHANGE = 0.2


@dataclass(frozen=True)
class Shift:
    index: int  # first month at the new level, in the series' own months
    before: float  # monthly level (deseasonalised, on the trend line) just before the step, in counts
    after: float  # ... and just after it
    t: float  # the step's t (deseasonalised Anscombe scale)
    p: float  # Bonferroni-adjusted over positions
    step: float  # the step's size on the Anscombe scale
    start: int  # the test window [start, stop)
    stop: int


def noise_scale(values: np.ndarray) -> float:
    diffs = np.diff(values)
    mad = 1.4826 * float(np.median(np.abs(diffs - np.median(diffs))))
    return max(mad / np.sqrt(2.0), 1e-9)


def candidates(values: np.ndarray) -> list[int]:
    """PELT's change points of a deseasonalised series (indices of the first month of each new segment), on a grid
    of JUMP months (eight times faster than every month; ``level_shifts`` then places each one to the month)."""
    n = len(values)
    if n < 2 * MIN_SEGMENT:
        return []
    sigma = noise_scale(values)
    penalty = PENALTY_FACTOR * sigma**2 * np.log(n)
    ends = rpt.Pelt(model="l2", min_size=MIN_SEGMENT, jump=JUMP).fit(values.reshape(-1, 1)).predict(pen=penalty)
    return [e for e in ends if e < n]


def step_test(
    values: np.ndarray, index: int, start: int = 0, stop: int | None = None
) -> tuple[float, float, float, int, int, float]:
    """(step, t, p before adjustment, start, stop, level just before the step) of a step at `index` with a common
    linear trend, fitted on [start, stop) (the whole series by default)."""
    stop = len(values) if stop is None else stop
    y = values[start:stop]
    x = np.arange(start, stop, dtype=float)
    design = np.column_stack([np.ones_like(x), x - index, (x >= index).astype(float)])
    coef, _, rank, _ = np.linalg.lstsq(design, y, rcond=None)
    dof = len(y) - 3
    if rank < 3 or dof < 3:
        return 0.0, 0.0, 1.0, start, stop, float(np.mean(y))
    residual = y - design @ coef
    s2 = float(residual @ residual) / dof
    cov = s2 * np.linalg.inv(design.T @ design)
    se = float(np.sqrt(max(cov[2, 2], 1e-18)))
    t_value = float(coef[2]) / se
    return float(coef[2]), t_value, float(2 * student.sf(abs(t_value), dof)), start, stop, float(coef[0])


def level_shifts(values: np.ndarray, counts: np.ndarray) -> list[Shift]:
    """Tested level shifts of one series: `values` deseasonalised (Anscombe scale), `counts` the monthly counts.

    Candidates closer than MIN_SEGMENT months keep only the most significant. Every tested candidate is returned
    (the caller adjusts for the number of tests and applies the size rule, ``large_enough``).
    """
    positions = len(values) - 2 * MIN_SEGMENT + 1
    shifts: list[Shift] = []
    found = candidates(values)
    edges = [0, *found, len(values)]
    for k, index in enumerate(found):
        # between the neighbouring candidates: a long stretch for a lone shift, short ones where PELT cut a trend
        start, stop = max(edges[k], index - WINDOW), min(edges[k + 2], index + WINDOW)
        # the month the step is largest at, within the JUMP-month grid PELT searched
        near = [i for i in range(index - JUMP + 1, index + JUMP) if start + MIN_SEGMENT <= i <= stop - MIN_SEGMENT]
        index = max(near or [index], key=lambda i: abs(step_test(values, i, start, stop)[1]))
        step, t_value, p, start, stop, level = step_test(values, index, start, stop)
        # the trend line's monthly level just before the step and just after it, back on the count scale
        before, after = float(from_anscombe(np.array(level))), float(from_anscombe(np.array(level + step)))
        shifts.append(Shift(index, before, after, t_value, min(1.0, p * positions), step, start, stop))
    kept: list[Shift] = []
    for shift in sorted(shifts, key=lambda s: s.p):
        if all(abs(shift.index - k.index) >= MIN_SEGMENT for k in kept):
            kept.append(shift)
    return sorted(kept, key=lambda s: s.index)


def large_enough(before: float, after: float) -> bool:
    if before <= 0:
        return after > 0
    return abs(after / before - 1.0) >= MIN_CHANGE


def step_offset(n: int, shifts: list[Shift]) -> np.ndarray:
    """The steps of `shifts` as one series (Anscombe scale: each tested step from its month on), centred: the
    offset that removes the shifts before months are scored, so a shift is not read as outlying months."""
    offset = np.zeros(n)
    for shift in shifts:
        offset[shift.index :] += shift.step
    return offset - offset.mean()
