"""Outlying months (reports.stats.anomaly_months): the smoother is STL itself, scores hold their nominal rate on
series with nothing to find, and a planted month is found with the size it was given."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.tsa.seasonal import STL

from reports.stats.anomaly_months import (
    MIN_MONTHS,
    _stl,
    anscombe,
    deseasonalised,
    fill_gaps,
    large_enough,
    score_months,
    smoothers,
    usable_stretch,
)
from reports.stats.hotspot import bh_adjust

MONTHS = np.arange(72)


def _null(rng: np.random.Generator, mean: float, series: int, dispersion: float = 0.0) -> np.ndarray:
    """Counts with a seasonal cycle (±30 %) and 10 % growth a year; gamma-mixed when `dispersion` > 0."""
    phase = rng.integers(12, size=(series, 1))
    lam = mean * (1 + 0.3 * np.cos(2 * np.pi * (MONTHS[None, :] - phase) / 12)) * 1.1 ** (MONTHS / 12)
    if dispersion:
        lam = rng.gamma(1 / dispersion, lam * dispersion)
    return rng.poisson(lam).astype(float)


def test_the_smoother_matrix_is_statsmodels_stl():
    """fit = S·a equals statsmodels' STL (non-robust) of the same series with the same options."""
    a = anscombe(np.random.default_rng(1).poisson(30, 72).astype(float))
    fit, seasonal = smoothers(72)
    result = _stl(a)
    assert np.allclose(a @ fit.T, result.trend + result.seasonal, atol=1e-9)
    assert np.allclose(a @ seasonal.T, result.seasonal, atol=1e-9)
    reference = STL(a, period=12, seasonal=75, seasonal_deg=0, trend=25, robust=False).fit()
    assert np.allclose(result.trend, reference.trend)


@pytest.mark.parametrize(("mean", "dispersion"), [(3, 0.0), (30, 0.0), (1000, 0.0), (30, 0.05)])
def test_scores_keep_their_nominal_rate_on_series_with_nothing_to_find(mean, dispersion):
    """|z| > 3 and > 3.5 no more often than the normal distribution says (with 30 % slack for simulation noise);
    the same for overdispersed (gamma-Poisson) series, whose own sigma absorbs the extra variance."""
    z = np.abs(score_months(_null(np.random.default_rng(7), mean, 1500, dispersion)).z)
    assert np.mean(z > 3) <= 1.3 * 0.0027
    assert np.mean(z > 3.5) <= 1.5 * 4.65e-4


def test_nothing_is_flagged_where_nothing_was_planted():
    """Benjamini-Hochberg at 10 % over 100,000+ null months of Poisson series flags (almost) nothing."""
    rng = np.random.default_rng(11)
    flags = 0
    for mean in (2, 10, 50, 500):
        y = _null(rng, mean, 400)
        scores = score_months(y)
        q = bh_adjust(scores.p.ravel()).reshape(y.shape)
        flags += int(((q <= 0.1) & large_enough(y, scores.expected, scores.z)).sum())
    assert flags <= 1


def test_a_planted_spike_is_found_and_does_not_pull_its_expected_value():
    rng = np.random.default_rng(3)
    y = _null(rng, 40, 200)
    base = y[:, 30].copy()
    y[:, 30] = base * 2.5
    scores = score_months(y)
    assert (scores.z[:, 30] > 4).mean() >= 0.95
    assert scores.rejected[:, 30].mean() >= 0.9  # refitted without itself
    # the expected value is the series' own level, not dragged towards the spike
    assert np.median(scores.expected[:, 30] / base) == pytest.approx(1.0, abs=0.12)
    assert (scores.lower[:, 30] <= scores.expected[:, 30]).all()
    assert (scores.expected[:, 30] <= scores.upper[:, 30]).all()


def test_a_drop_to_zero_scores_low():
    y = _null(np.random.default_rng(4), 60, 50)
    y[:, 40] = 0
    scores = score_months(y)
    assert (scores.z[:, 40] < -4).all()
    assert large_enough(y[:, 40], scores.expected[:, 40], scores.z[:, 40]).all()


def test_small_or_slight_months_are_not_large_enough():
    z = np.array([6.0, 6.0, -6.0, -6.0])
    observed = np.array([9.0, 1_030.0, 5.0, 9_000.0])
    expected = np.array([1.0, 1_000.0, 8.0, 10_000.0])
    # 9 records (under the minimum); +3 % of 1,000; a low month expected at 8; -10 % of 10,000
    assert not large_enough(observed, expected, z).any()
    assert large_enough(np.array([25.0]), np.array([10.0]), np.array([5.0])).all()


def test_missing_months_split_the_series_where_the_gap_is_long():
    values = np.r_[np.full(20, 5.0), [np.nan] * 4, np.full(40, 5.0), [np.nan], np.full(5, 5.0)]
    assert usable_stretch(values) == (24, 70)  # the 4-month gap cuts; the 1-month gap is bridged
    assert usable_stretch(np.full(MIN_MONTHS - 1, 3.0)) is None
    assert fill_gaps(np.array([1.0, np.nan, 3.0])).tolist() == [1.0, 2.0, 3.0]


def test_deseasonalised_removes_the_cycle():
    y = np.tile(np.array([10, 12, 15, 20, 30, 40, 45, 40, 30, 20, 15, 12], float), 6)[None, :]
    flat = deseasonalised(y)[0]
    assert np.ptp(flat) < 0.05 * np.ptp(anscombe(y[0]))
