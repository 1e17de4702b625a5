"""Outlying months: the month a series recorded far more (or far less) than its own season and trend predict.

Each monthly count series is put on the Anscombe scale, a = 2·sqrt(y + 3/8), where a Poisson count has variance
close to 1 whatever its size, so one rule serves series of 5 and of 50,000 a month. The expected value of every
month is an STL decomposition (statsmodels, period 12) with a stiff, declared model: a seasonal pattern constant
across years (``seasonal_deg=0`` over a window longer than the series) and a 25-month trend. Without robustness
weights STL is a linear smoother, fit = S·a, so S is computed once per series length (from the STL of the unit
vectors) and applied to every series of that length in one matrix product; its diagonal h (the leverage: how much
of a month's own value its fit contains) gives each residual's variance.

Robustness is by rejection, not statsmodels' bisquare weights: a month further than ``REJECT_Z`` from its fit, on a
scale a spike cannot inflate (the MAD of the kept residuals), is replaced by its fit and the series refitted (up to
``ROUNDS`` times), so a spike does not pull its own expected value or its neighbours'. Measured while choosing
this (simulated Poisson and gamma-Poisson series of 72 months): statsmodels' robust STL with its default windows,
residuals over their MAD, gave |z| > 3 about 50 times as often as the normal distribution says (it fits the bulk
so closely that the MAD is far too small); the scores below stay at or under the nominal rate
(tests/test_stats_anomaly_months.py checks that), which is what Benjamini-Hochberg needs.

The noise scale sigma of a series is sum(r²) / sum(1 − h) over its kept months and sum(r²) / sum(1 + h) over its
rejected ones, each of these counted as if at the rejection threshold (dropping them would understate the noise of
a heavy-tailed series, counting them whole would let a spike hide itself); never below 1 (a count varies at least
as much as a Poisson one: a series whose months happen to sit close to the fit is not made oversensitive);
overdispersed series get their own larger sigma. A kept month's score is its residual over
sigma·sqrt(1 − h); a rejected month's is over sigma·sqrt(1 + h), its prediction error from a fit without it. p is
two-sided normal. A month can be flagged only if it is also large in counts: at least ``MIN_COUNT`` recorded (or
expected, for a low month) and at least ``MIN_RATIO`` times (or at most 1/``MIN_RATIO`` times) the expected count,
since in a series of 20,000 a month 3 % above its expectation can be "significant" and mean nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.stats import norm
from statsmodels.tsa.seasonal import STL

PERIOD = 12
TREND_WINDOW = 25  # months (odd): the trend follows changes over about two years, not single months
MIN_MONTHS = 36  # three seasonal cycles
MIN_COUNT = 10
MIN_RATIO = 1.25
REJECT_Z = 4.0
ROUNDS = 3
SIGMA_FLOOR = 1.0  # the Poisson variance on the Anscombe scale
BAND_Z = 1.959964  # the 95% band drawn around the expected value


def anscombe(counts: np.ndarray) -> np.ndarray:
    return 2.0 * np.sqrt(np.maximum(counts, 0.0) + 0.375)


def from_anscombe(values: np.ndarray) -> np.ndarray:
    """The count whose Anscombe value is `values` (bias-corrected: E[a] ≈ 2·sqrt(mu + 1/8))."""
    return np.maximum((values / 2.0) ** 2 - 0.125, 0.0)


def _stl(values: np.ndarray):
    # seasonal window longer than any series and degree 0: one seasonal pattern for all years
    seasonal = 2 * (len(values) // 2) + 3
    return STL(values, period=PERIOD, seasonal=seasonal, seasonal_deg=0, trend=TREND_WINDOW, robust=False).fit()


@lru_cache(maxsize=64)
def smoothers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(S, Sseas) for series of `n` months: fit = a @ S.T (trend + seasonal), seasonal = a @ Sseas.T."""
    fit, seasonal = np.empty((n, n)), np.empty((n, n))
    for j, unit in enumerate(np.eye(n)):
        result = _stl(unit)
        fit[:, j] = result.trend + result.seasonal
        seasonal[:, j] = result.seasonal
    fit.setflags(write=False)
    seasonal.setflags(write=False)
    return fit, seasonal


@dataclass(frozen=True)
class MonthScores:
    """Per series (rows) and month (columns) of one batch of equal-length series."""

    expected: np.ndarray  # counts
    lower: np.ndarray  # 95% band, counts
    upper: np.ndarray
    z: np.ndarray
    p: np.ndarray  # two-sided
    sigma: np.ndarray  # per series, Anscombe scale
    rejected: np.ndarray  # months fitted without themselves


def _noise(residual: np.ndarray, rejected: np.ndarray, leverage: np.ndarray) -> tuple[np.ndarray, ...]:
    """(sigma, z, robust scale) of residuals, rejected months being fitted without themselves."""
    kept = ~rejected
    # a scale a spike cannot inflate (the MAD of the kept residuals): which months to refit without
    kept_residual = np.where(kept, residual, np.nan)
    centre = np.nanmedian(kept_residual, axis=1)[:, None]
    spread = 1.4826 * np.nanmedian(np.abs(kept_residual - centre), axis=1)[:, None]
    robust = np.maximum(spread / np.sqrt(1 - leverage.mean()), SIGMA_FLOOR)
    # the noise scale: every month counts, each with its own variance factor, a rejected one as if it sat at the
    # rejection threshold: trimming it out would understate the noise of a series with heavy tails (and make its
    # months look unusual), counting it whole would let a spike hide itself
    capped = np.minimum(residual**2, (REJECT_Z * robust) ** 2 * (1 + leverage))
    squares = np.where(kept, residual**2, capped)
    sigma = np.sqrt(squares.sum(axis=1) / np.where(kept, 1.0 - leverage, 1.0 + leverage).sum(axis=1))
    sigma = np.maximum(np.nan_to_num(sigma, nan=SIGMA_FLOOR), SIGMA_FLOOR)[:, None]
    z = np.where(rejected, residual / (sigma * np.sqrt(1 + leverage)), residual / (sigma * np.sqrt(1 - leverage)))
    return sigma, z, robust


def score_months(counts: np.ndarray, offset: np.ndarray | None = None) -> MonthScores:
    """Scores of every month of `counts` (series × months, no missing value, at least MIN_MONTHS months).

    `offset` (same shape, Anscombe scale) is a known part of each series removed before fitting and added back
    to the fit, e.g. the step of a level shift, so the trend does not smear a shift into outlying months around it.
    """
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2 or counts.shape[1] < MIN_MONTHS:
        raise ValueError(f"series must be 2-D with at least {MIN_MONTHS} months")
    a = anscombe(counts)
    shift = np.zeros_like(a) if offset is None else np.asarray(offset, dtype=float)
    target = a - shift
    smoother, _ = smoothers(a.shape[1])
    leverage = np.clip(np.diag(smoother), 0.0, 0.95)
    rejected = np.zeros(a.shape, dtype=bool)
    fit = target @ smoother.T
    for _ in range(ROUNDS):
        sigma, z, robust = _noise(target - fit, rejected, leverage)
        now = rejected | (np.abs(target - fit) > REJECT_Z * np.minimum(robust, sigma) * np.sqrt(1 - leverage))
        if (now == rejected).all():
            break
        rejected = now
        fit = np.where(rejected, fit, target) @ smoother.T
    else:  # no convergence: score the last fit (on a break, the scores above are already the final fit's)
        sigma, z, _ = _noise(target - fit, rejected, leverage)
    fit = fit + shift
    spread = BAND_Z * sigma * np.sqrt(1 + leverage)
    return MonthScores(
        expected=from_anscombe(fit),
        lower=from_anscombe(np.maximum(fit - spread, 0.0)),
        upper=from_anscombe(fit + spread),
        z=z,
        p=np.minimum(1.0, 2.0 * norm.sf(np.abs(z))),
        sigma=sigma[:, 0],
        rejected=rejected,
    )


def deseasonalised(counts: np.ndarray, offset: np.ndarray | None = None) -> np.ndarray:
    """The Anscombe-scale series minus their seasonal component (series × months), for change points; the season
    is estimated on the series minus `offset` (known steps), which would otherwise leak into it."""
    a = anscombe(np.asarray(counts, dtype=float))
    _, seasonal = smoothers(a.shape[1])
    return a - (a - (0.0 if offset is None else offset)) @ seasonal.T


def large_enough(observed: np.ndarray, expected: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Whether a month is large in counts as well as improbable (see the module's docstring)."""
    high = (z > 0) & (observed >= MIN_COUNT) & (observed >= MIN_RATIO * expected)
    low = (z < 0) & (expected >= MIN_COUNT) & (observed * MIN_RATIO <= expected)
    return high | low


def usable_stretch(values: np.ndarray, max_gap: int = 2) -> tuple[int, int] | None:
    """[start, stop) of the longest run of `values` (NaN = missing) with no gap longer than `max_gap` months and
    observed ends; None when it is shorter than MIN_MONTHS."""
    observed = ~np.isnan(values)
    if not observed.any():
        return None
    index = np.flatnonzero(observed)
    gaps = np.diff(index) - 1
    cuts = np.flatnonzero(gaps > max_gap)
    starts = np.r_[index[0], index[cuts + 1]]
    stops = np.r_[index[cuts] + 1, index[-1] + 1]
    best = int(np.argmax(stops - starts))
    start, stop = int(starts[best]), int(stops[best])
    return (start, stop) if stop - start >= MIN_MONTHS else None


def fill_gaps(values: np.ndarray) -> np.ndarray:
    """Short gaps bridged linearly, for fitting only (the months stay missing in every result)."""
    values = np.asarray(values, dtype=float)
    missing = np.isnan(values)
    if not missing.any():
        return values
    index = np.arange(len(values))
    return np.interp(index, index[~missing], values[~missing])
