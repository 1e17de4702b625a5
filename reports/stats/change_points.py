"""Level shifts: the month from which a series runs at another level (a new police operation, or a recording change).

Candidates come from PELT (``ruptures``, cost l2: changes in mean) on the deseasonalised Anscombe-scale series
(``anomaly_months.deseasonalised``), with the penalty ``PENALTY_FACTOR``·sigma²·log(n): the BIC-type penalty of
Yao (1988), 2·sigma²·log(n), made stricter (3) because a smooth trend cut into steps also lowers an l2 cost. sigma
is estimated from the month-to-month differences (MAD of the differences over sqrt 2), which a shift moves only in
one difference, so the penalty does not grow with the shift it should find.

Every candidate is then tested on its own: on the ``WINDOW`` months either side (fewer at the series' ends), the
deseasonalised series is regressed on a cubic trend and a step at the candidate, with the months' autocorrelation
allowed for (Cochrane-Orcutt: ``step_test``); the step's t gives a two-sided p-value, multiplied by the number of
positions a step could have taken (Bonferroni over positions), because PELT chose the position that makes the step
look largest. Measured on simulated series without any shift (tests/test_stats_change_points.py and
bench/README.md): smooth growth and six-year cycles of ±15 % give (almost) no step; an ordinary t between PELT's
neighbouring candidates, the first version, gave a false shift in a fifth to a half of such series. The price is
power at small counts: a +80 % step is found in 3 of 4 series of 20 a month, in all of 60 a month. A shift is
reported only if it is also large in counts: the monthly level just after the step differs from the one just
before (both on the fitted trend, so growth over the years is not counted as a step) by at least ``MIN_CHANGE``
(20 %), as with tens of thousands of records a 3 % step is "significant" and means nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import ruptures as rpt
from scipy.stats import t as student

from reports.stats.anomaly_months import from_anscombe

MIN_SEGMENT = 6
JUMP = 3
WINDOW = 48  # months either side of a step: four years, over which a cubic trend follows slow cycles
PENALTY_FACTOR = 3.0
MIN_CHANGE = 0.2
STEP = 4  # the step's column in the design: constant, linear, quadratic and cubic trend, step


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


def step_test(values: np.ndarray, index: int) -> tuple[float, float, float, int, int, float]:
    """(step, t, p before adjustment, start, stop, level just before the step) of a step at `index`.

    On the WINDOW months either side (fewer at the series' ends), the series is regressed on a cubic trend and the
    step. The months of a crime series are not independent draws (a slow cycle, a
    run of high months), which makes an ordinary t far too confident: the residuals' first-order autocorrelation
    rho is estimated and the regression redone on the quasi-differences y[t] - rho * y[t-1] (Cochrane-Orcutt), whose
    errors are close to independent; the step's t and p come from that fit."""
    start, stop = max(0, index - WINDOW), min(len(values), index + WINDOW)
    y = values[start:stop]
    x = (np.arange(start, stop, dtype=float) - index) / WINDOW
    design = np.column_stack([np.ones_like(x), x, x**2, x**3, (x >= 0).astype(float)])
    coef, _, rank, _ = np.linalg.lstsq(design, y, rcond=None)
    if rank < design.shape[1] or len(y) - design.shape[1] < 4:
        return 0.0, 0.0, 1.0, start, stop, float(np.mean(y))
    residual = y - design @ coef
    rho = float(np.clip(residual[1:] @ residual[:-1] / max(residual @ residual, 1e-18), 0.0, 0.95))
    y_star, x_star = y[1:] - rho * y[:-1], design[1:] - rho * design[:-1]
    coef_star, _, rank, _ = np.linalg.lstsq(x_star, y_star, rcond=None)
    dof = len(y_star) - design.shape[1]
    if rank < design.shape[1]:
        return 0.0, 0.0, 1.0, start, stop, float(coef[0])
    e = y_star - x_star @ coef_star
    cov = float(e @ e) / dof * np.linalg.inv(x_star.T @ x_star)
    t_value = float(coef_star[STEP]) / float(np.sqrt(max(cov[STEP, STEP], 1e-18)))
    return float(coef_star[STEP]), t_value, float(2 * student.sf(abs(t_value), dof)), start, stop, float(coef_star[0])


def level_shifts(values: np.ndarray) -> list[Shift]:
    """Tested level shifts of one deseasonalised series (Anscombe scale).

    Each PELT candidate is placed at the month within its JUMP-month grid cell where the step's t is largest;
    candidates closer than MIN_SEGMENT months keep only the most significant. Every tested candidate is returned
    (the caller adjusts for the number of tests and applies the size rule, ``large_enough``).
    """
    n = len(values)
    positions = n - 2 * MIN_SEGMENT + 1
    shifts: list[Shift] = []
    for candidate in candidates(values):
        near = [i for i in range(candidate - JUMP + 1, candidate + JUMP) if MIN_SEGMENT <= i <= n - MIN_SEGMENT]
        tested = {i: step_test(values, i) for i in near or [candidate]}  # each position's fits, once
        index = max(tested, key=lambda i: abs(tested[i][1]))
        step, t_value, p, start, stop, level = tested[index]
        # the trend's monthly level just before the step and just after it, back on the count scale
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
