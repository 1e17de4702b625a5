"""Trend significance for crime series: Mann-Kendall tests and Sen's slope, via pymannkendall.

`mk_annual` and `mk_monthly` take values laid out on a complete calendar grid (`monthly_grid` builds the monthly
one from a Series), so a missing year or month stays a gap (NaN, skipped by the test) instead of silently
shortening the time axis: Sen's slope is measured against real elapsed time and the seasonal test compares
January with January.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np
import pandas as pd
import pymannkendall as mk

MonthlyMethod = Literal["seasonal", "hamed_rao", "yue_wang"]
MIN_ANNUAL_POINTS = 5  # with fewer than 5 years a two-sided Mann-Kendall test cannot reach p < 0.05
MIN_MONTHLY_POINTS = 24

TEST_NAMES = {
    "original": "Mann-Kendall",
    "seasonal": "Seasonal Mann-Kendall",
    "hamed_rao": "Mann-Kendall (Hamed-Rao)",
    "yue_wang": "Mann-Kendall (Yue-Wang)",
}


@dataclass(frozen=True)
class TrendResult:
    test: str
    n: int
    direction: str  # 'increasing', 'decreasing' or 'no trend' (pymannkendall's words)
    p_value: float
    z: float
    tau: float
    s: float
    slope_per_year: float  # Sen's slope in the series' own units per year
    intercept: float
    relative_slope_pct: float  # slope as % of the median level, comparable across categories
    significant: bool
    first_period: str
    last_period: str

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def monthly_grid(series: pd.Series) -> pd.Series:
    """Values on every month from January of the first observed year to December of the last; gaps are NaN.

    Accepts an index of monthly Periods, Timestamps, or (year, month) pairs.
    """
    values = series.dropna()
    if values.empty:
        return values.astype(float)
    index = values.index
    if isinstance(index, pd.MultiIndex):
        periods = pd.PeriodIndex.from_fields(
            year=index.get_level_values(0).to_numpy(dtype=int),
            month=index.get_level_values(1).to_numpy(dtype=int),
            freq="M",
        )
    elif isinstance(index, pd.PeriodIndex):
        periods = index.asfreq("M")
    else:
        periods = pd.DatetimeIndex(index).to_period("M")
    data = pd.Series(values.to_numpy(dtype=float), index=periods).groupby(level=0).sum()
    grid = pd.period_range(f"{periods.min().year}-01", f"{periods.max().year}-12", freq="M", name="month")
    return data.reindex(grid)


def _result(
    raw: object, test: str, values: np.ndarray, labels: tuple[str, str], slope_per_year: float, alpha: float
) -> TrendResult:
    observed = values[~np.isnan(values)]
    level = float(np.median(np.abs(observed)))
    relative = slope_per_year / level * 100.0 if level > 0 else float("nan")
    p_value = float(raw.p)
    return TrendResult(
        test=TEST_NAMES[test],
        n=int(observed.size),
        direction=str(raw.trend),
        p_value=p_value,
        z=float(raw.z),
        tau=float(raw.Tau),
        s=float(raw.s),
        slope_per_year=float(slope_per_year),
        intercept=float(raw.intercept),
        relative_slope_pct=float(relative),
        significant=bool(p_value < alpha),
        first_period=labels[0],
        last_period=labels[1],
    )


def _trim(values: np.ndarray) -> tuple[np.ndarray, int, int]:
    """The stretch from the first to the last observed value, and its start/end positions."""
    seen = np.flatnonzero(~np.isnan(values))
    if seen.size == 0:
        return values[:0], 0, -1
    return values[seen[0] : seen[-1] + 1], int(seen[0]), int(seen[-1])


def mk_annual(
    values: np.ndarray, first_year: int, *, alpha: float = 0.05, min_points: int = MIN_ANNUAL_POINTS
) -> TrendResult | None:
    """Original Mann-Kendall + Sen's slope on values for consecutive years from `first_year` (NaN = gap)."""
    values = np.asarray(values, dtype=float)
    trimmed, start, end = _trim(values)
    if np.count_nonzero(~np.isnan(trimmed)) < min_points:
        return None
    raw = mk.original_test(trimmed, alpha=alpha)
    return _result(raw, "original", trimmed, (str(first_year + start), str(first_year + end)), float(raw.slope), alpha)


def mk_monthly(
    values: np.ndarray,
    first_year: int,
    *,
    method: MonthlyMethod = "seasonal",
    alpha: float = 0.05,
    min_points: int = MIN_MONTHLY_POINTS,
) -> TrendResult | None:
    """Mann-Kendall on monthly values laid out from January of `first_year` (NaN = missing month)."""
    values = np.asarray(values, dtype=float)
    seen = np.flatnonzero(~np.isnan(values))
    if seen.size < min_points or seen[-1] // 12 == seen[0] // 12:
        return None
    # Whole calendar years from the first to the last observed one, so season i is always month i + 1.
    first_row, last_row = int(seen[0] // 12), int(seen[-1] // 12)
    grid = np.full((last_row - first_row + 1) * 12, np.nan)
    stop = min(values.size, (last_row + 1) * 12)
    grid[: stop - first_row * 12] = values[first_row * 12 : stop]
    if method == "seasonal":
        raw = mk.seasonal_test(grid, period=12, alpha=alpha)
        slope = float(raw.slope)
    elif method == "hamed_rao":
        raw = mk.hamed_rao_modification_test(grid, alpha=alpha)
        slope = float(raw.slope) * 12.0
    elif method == "yue_wang":
        raw = mk.yue_wang_modification_test(grid, alpha=alpha)
        slope = float(raw.slope) * 12.0
    else:
        raise ValueError(f"unknown monthly trend method {method!r}")

    def label(position: int) -> str:
        return f"{first_year + position // 12}-{position % 12 + 1:02d}"

    return _result(raw, method, grid, (label(int(seen[0])), label(int(seen[-1]))), slope, alpha)
