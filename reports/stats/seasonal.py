"""STL seasonal decomposition of monthly crime series that may have missing months.

STL cannot fit across gaps. Short gaps (up to `max_gap` months) are bridged by linear interpolation only to
fit the model; those months are then blanked again in every component, so a missing month never shows as data.
Longer gaps split the series and the longest uninterrupted stretch is decomposed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from statsmodels.tsa.seasonal import STL

from reports.stats.trend import monthly_grid

MIN_MONTHS = 24  # two full seasonal cycles


@dataclass(frozen=True)
class Decomposition:
    components: pd.DataFrame  # index: monthly Period; observed, trend, seasonal, remainder (NaN where missing)
    bridged_months: int  # missing months interpolated for fitting only
    dropped_months: int  # observed months outside the decomposed stretch
    seasonal_strength: float  # 1 - var(remainder) / var(seasonal + remainder), Wang-Smith-Hyndman


def longest_stretch(grid: pd.Series, max_gap: int) -> pd.Series:
    """The longest run of `grid` (trimmed to observed ends) with no gap longer than `max_gap` months."""
    observed = grid.notna().to_numpy()
    if not observed.any():
        return grid.iloc[0:0]
    missing = ~observed
    # Label each run of consecutive missing months; runs longer than max_gap are breaks.
    run_id = np.cumsum(np.r_[True, missing[1:] != missing[:-1]])
    run_length = pd.Series(run_id).map(pd.Series(run_id).value_counts()).to_numpy()
    is_break = missing & (run_length > max_gap)
    break_start = is_break & ~np.r_[False, is_break[:-1]]
    segment = np.where(is_break, -1, np.cumsum(break_start))
    usable = pd.Series(observed, index=grid.index).where(segment >= 0, False)
    counts = usable.groupby(segment).sum()
    counts = counts[counts.index >= 0]
    best = counts.idxmax()
    chosen = grid[segment == best]
    inside = chosen.notna().to_numpy()
    first, last = np.argmax(inside), len(inside) - 1 - np.argmax(inside[::-1])
    return chosen.iloc[first : last + 1]


def decompose(series: pd.Series, *, max_gap: int = 2, min_months: int = MIN_MONTHS) -> Decomposition | None:
    """Robust STL (period 12) of a monthly series; None when fewer than `min_months` usable months."""
    grid = monthly_grid(series)
    if grid.notna().sum() < min_months:
        return None
    stretch = longest_stretch(grid, max_gap)
    if stretch.notna().sum() < min_months:
        return None
    gaps = stretch.isna()
    filled = stretch.interpolate(method="linear", limit_area="inside")
    fit = STL(filled.to_numpy(), period=12, robust=True).fit()
    components = pd.DataFrame(
        {
            "observed": stretch.to_numpy(),
            "trend": fit.trend,
            "seasonal": fit.seasonal,
            "remainder": fit.resid,
        },
        index=stretch.index,
    )
    components.loc[gaps.to_numpy(), ["trend", "seasonal", "remainder"]] = np.nan
    detrended = components["seasonal"] + components["remainder"]
    var_total = float(np.nanvar(detrended))
    strength = max(0.0, 1.0 - float(np.nanvar(components["remainder"])) / var_total) if var_total > 0 else 0.0
    return Decomposition(
        components=components,
        bridged_months=int(gaps.sum()),
        dropped_months=int(grid.notna().sum() - stretch.notna().sum()),
        seasonal_strength=strength,
    )
