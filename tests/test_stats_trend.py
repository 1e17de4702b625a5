"""reports.stats.trend: Mann-Kendall and Sen's slope equal pymannkendall's on the calendar grid, gaps kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pymannkendall as mk
import pytest
from series_fixture import noisy

from reports.stats import trend


def test_annual_trend_equals_pymannkendall_with_a_missing_year_as_gap():
    years = [2010, 2011, 2012, 2014, 2015, 2016, 2017, 2018]  # 2013 missing
    values = noisy(len(years), 2.0, 1)
    grid = np.insert(values, 3, np.nan)  # 2013 stays a gap on the time axis
    result = trend.mk_annual(grid, 2010)
    expected = mk.original_test(grid)
    assert result.p_value == pytest.approx(expected.p)
    assert result.s == pytest.approx(expected.s)
    assert result.tau == pytest.approx(expected.Tau)
    assert result.slope_per_year == pytest.approx(expected.slope)
    assert result.direction == expected.trend
    assert result.n == len(years) and result.first_period == "2010" and result.last_period == "2018"
    # Dropping the gap instead would change Sen's slope: the gap matters.
    assert mk.original_test(values).slope != pytest.approx(expected.slope)


def test_annual_trend_known_values_and_too_few_years():
    result = trend.mk_annual(np.array([1.0, 2, 3, 4, 5, 6]), 2001)
    assert result.s == 15 and result.slope_per_year == pytest.approx(1.0)
    assert result.direction == "increasing" and result.significant
    assert result.relative_slope_pct == pytest.approx(1.0 / 3.5 * 100)
    assert trend.mk_annual(np.array([1.0, 2, 3, 4]), 2001) is None
    # leading and trailing gaps are trimmed: the periods named are the first and last observed years
    padded = trend.mk_annual(np.array([np.nan, 1.0, 2, 3, 4, 5, 6, np.nan]), 2000)
    assert (padded.first_period, padded.last_period, padded.s) == ("2001", "2006", 15)


def test_monthly_seasonal_trend_equals_pymannkendall_on_a_january_aligned_grid():
    index = pd.period_range("2016-03", "2020-10", freq="M")
    values = noisy(len(index), 0.4, 2) + 15 * np.sin(np.arange(len(index)) * 2 * np.pi / 12)
    series = pd.Series(values, index=index).drop(pd.Period("2018-06", "M"))
    laid_out = trend.monthly_grid(series)
    assert laid_out.index[0] == pd.Period("2016-01", "M") and laid_out.index[-1] == pd.Period("2020-12", "M")
    result = trend.mk_monthly(laid_out.to_numpy(), 2016, method="seasonal")
    grid = np.full(60, np.nan)  # 2016-01 .. 2020-12
    positions = [(p.year - 2016) * 12 + p.month - 1 for p in series.index]
    grid[positions] = series.to_numpy()
    expected = mk.seasonal_test(grid, period=12)
    assert result.p_value == pytest.approx(expected.p)
    assert result.s == pytest.approx(expected.s)
    assert result.slope_per_year == pytest.approx(expected.slope)  # seasonal slope is already per year
    assert result.n == len(series)
    assert (result.first_period, result.last_period) == ("2016-03", "2020-10")


@pytest.mark.parametrize(
    ("method", "function"),
    [("hamed_rao", mk.hamed_rao_modification_test), ("yue_wang", mk.yue_wang_modification_test)],
)
def test_monthly_autocorrelation_corrected_trends_equal_pymannkendall(method, function):
    index = pd.MultiIndex.from_tuples([(y, m) for y in range(2015, 2019) for m in range(1, 13)])
    values = noisy(48, 0.5, 3)
    result = trend.mk_monthly(trend.monthly_grid(pd.Series(values, index=index)).to_numpy(), 2015, method=method)
    expected = function(values)
    assert result.p_value == pytest.approx(expected.p)
    assert result.z == pytest.approx(expected.z)
    assert result.slope_per_year == pytest.approx(expected.slope * 12)  # per month -> per year


def test_monthly_trend_needs_two_years_of_data():
    assert trend.mk_monthly(np.arange(20.0), 2020) is None  # fewer than 24 months
    assert trend.mk_monthly(np.arange(12.0), 2020, min_points=12) is None  # enough months, one calendar year
