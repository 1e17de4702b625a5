"""Level shifts (reports.stats.change_points): the step test is ordinary least squares (checked against
statsmodels), a real step is found where it was put, and growth alone is not a shift."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from reports.stats.anomaly_months import deseasonalised
from reports.stats.change_points import MIN_SEGMENT, WINDOW, large_enough, level_shifts, step_offset, step_test

MONTHS = np.arange(72)


def test_the_step_test_is_cochrane_orcutt_with_a_cubic_trend_and_a_step():
    """Checked against statsmodels: OLS on the window, rho from its residuals, OLS again on the quasi-differences."""
    rng = np.random.default_rng(2)
    noise = np.zeros(72)
    for i in range(1, 72):
        noise[i] = 0.5 * noise[i - 1] + rng.normal(0, 1)
    y = 10 + 0.05 * MONTHS + 2.0 * (MONTHS >= 40) + noise
    step, t_value, p, start, stop, level = step_test(y, 40)
    assert (start, stop) == (max(0, 40 - WINDOW), min(72, 40 + WINDOW))
    x = (np.arange(start, stop) - 40.0) / WINDOW
    design = np.column_stack([np.ones_like(x), x, x**2, x**3, (x >= 0).astype(float)])
    window = y[start:stop]
    residual = sm.OLS(window, design).fit().resid
    rho = residual[1:] @ residual[:-1] / (residual @ residual)
    reference = sm.OLS(window[1:] - rho * window[:-1], design[1:] - rho * design[:-1]).fit()
    assert step == pytest.approx(reference.params[4])
    assert t_value == pytest.approx(reference.tvalues[4])
    assert p == pytest.approx(reference.pvalues[4])
    assert level == pytest.approx(reference.params[0])
    assert step == pytest.approx(2.0, abs=0.8)


def _series(rng: np.random.Generator, mean: float, growth: float = 1.0, shift_at: int | None = None) -> np.ndarray:
    lam = mean * (1 + 0.3 * np.cos(2 * np.pi * (MONTHS - 2) / 12)) * growth ** (MONTHS / 12)
    if shift_at is not None:
        lam = lam * np.where(shift_at <= MONTHS, 1.8, 1.0)
    return rng.poisson(lam).astype(float)


def test_a_step_up_is_found_where_it_was_put_with_its_size():
    rng = np.random.default_rng(9)
    found = 0
    for _ in range(40):
        y = _series(rng, 40, shift_at=42)
        shifts = [s for s in level_shifts(deseasonalised(y[None, :])[0]) if s.p < 1e-4]
        hit = [s for s in shifts if abs(s.index - 42) <= 1 and large_enough(s.before, s.after)]
        if hit:
            found += 1
            assert hit[0].after / hit[0].before == pytest.approx(1.8, abs=0.35)
    assert found >= 32  # power about 0.9 at this size (40 a month, +80 %), the step's p under 1e-4


def test_growth_alone_is_not_a_shift():
    """20 % a year for six years (three sizes) cut by PELT into steps: none is large and significant."""
    rng = np.random.default_rng(4)
    false = 0
    for mean in (30, 300, 3000):
        for _ in range(30):
            y = _series(rng, mean, growth=1.2)
            shifts = level_shifts(deseasonalised(y[None, :])[0])
            false += sum(s.p < 1e-3 and large_enough(s.before, s.after) for s in shifts)
    assert false <= 2


def test_candidates_keep_their_distance_and_the_offset_is_the_steps():
    rng = np.random.default_rng(5)
    y = _series(rng, 50, shift_at=30)
    shifts = level_shifts(deseasonalised(y[None, :])[0])
    indices = [s.index for s in shifts]
    assert all(b - a >= MIN_SEGMENT for a, b in zip(indices, indices[1:], strict=False))
    offset = step_offset(72, shifts)
    assert offset.mean() == pytest.approx(0.0, abs=1e-12)
    big = max(shifts, key=lambda s: abs(s.t))
    assert offset[big.index] - offset[big.index - 1] == pytest.approx(big.step, rel=0.5)


def test_size_rule():
    assert not large_enough(100.0, 110.0)
    assert large_enough(100.0, 125.0) and large_enough(100.0, 70.0)
    assert large_enough(0.0, 5.0)


def test_slow_cycles_and_autocorrelated_months_are_rarely_shifts():
    """Nulls unlike the demo's independent months: a six-year cycle of ±15 %, and log-level noise that persists
    (AR(1), rho 0.7). Before the autocorrelation was allowed for, a third of such series got a "shift"."""
    rng = np.random.default_rng(2)
    n = np.arange(96)
    false = 0
    for trial in range(120):
        base = rng.choice([20, 60, 200, 1000])
        noise = np.zeros(96)
        if trial % 2:
            for i in range(1, 96):
                noise[i] = 0.7 * noise[i - 1] + rng.normal(0, 0.05)
        cycle = 0.15 * np.sin(2 * np.pi * n / 72 + rng.uniform(0, 6)) if trial % 2 == 0 else 0.0
        y = rng.poisson(np.exp(np.log(base) + 0.2 * np.cos(2 * np.pi * n / 12) + cycle + noise)).astype(float)
        shifts = level_shifts(deseasonalised(y[None, :])[0])
        false += sum(s.p < 1e-3 and large_enough(s.before, s.after) for s in shifts)
    assert false <= 3
