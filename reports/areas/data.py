"""The reads behind areas.html: every area's recorded crime in the latest full year of its series and in the
first, inside the source's coverage window, with the area's population and shape."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
from scipy import stats

from reports import trend_tables
from reports.numbers import SMALL_COUNT  # a rate from fewer records is flagged unreliable
from reports.queries import SERIES_KEYS
from reports.trends import data as trend_data

# an area with fewer residents is flagged too: its rate per 100,000 multiplies each record by 20 or more
SMALL_POPULATION = 5_000


def area_years(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per series (source, unit, stage, country) and area: ``count``/``population``/``rate_per_100k`` in
    the series' latest full year (``latest``; where it has no full year, its latest year, ``partial`` with its
    ``months``) and ``first_count``/``first_rate`` in the first full year (``first``) of its coverage window when
    that is an earlier full year, with the 95% interval of the rate and the flags of a small count and a small
    population. Empty when no source names areas."""
    areas = trend_data.area_totals(con)
    if areas.empty:
        return areas
    annual = trend_data.annual_national(con, max_level=1)
    reference = _reference_year(annual)
    if reference.empty:
        return areas.iloc[0:0]
    full = trend_tables.full_years(annual)
    first_full = full.groupby(SERIES_KEYS, as_index=False)["year"].min().rename(columns={"year": "first"})
    span = reference[SERIES_KEYS + ["latest", "partial", "months"]].merge(first_full, on=SERIES_KEYS, how="left")
    span["first"] = span["first"].where(~span["partial"] & (span["first"] < span["latest"]))
    merged = areas.merge(span, on=SERIES_KEYS)
    last = merged[merged["year"] == merged["latest"]]
    first = merged[merged["year"] == merged["first"]]
    first = first[SERIES_KEYS + ["area", "count", "rate_per_100k"]].rename(
        columns={"count": "first_count", "rate_per_100k": "first_rate"}
    )
    out = last.merge(first, on=SERIES_KEYS + ["area"], how="left").drop(columns="year")
    low, high = rate_interval(out["count"].to_numpy(float), out["population"].to_numpy(float))
    base = out["rate_per_100k"].where(out["population"].notna(), out["count"])
    before = out["first_rate"].where(out["population"].notna(), out["first_count"])
    return out.assign(
        rate_low=low,
        rate_high=high,
        small=out["count"] < SMALL_COUNT,
        small_population=out["population"] < SMALL_POPULATION,
        change_pct=(base / before.where(before > 0) - 1) * 100,
    ).reset_index(drop=True)


def _reference_year(annual: pd.DataFrame) -> pd.DataFrame:
    """Per series: its latest full year; where it has none, the year it covers most months of (the latest of
    equals), flagged partial: a table of quarters dated by their first month covers one "month" of its last
    year, and a map of that year would show a quarter as if it were the year."""
    full = trend_tables.latest_full_year(annual).assign(partial=False, months=np.nan)
    covered = annual[annual["months"].notna()][SERIES_KEYS + ["year", "months"]].drop_duplicates()
    best = covered.sort_values(["months", "year"]).groupby(SERIES_KEYS, as_index=False).tail(1)
    best = best.rename(columns={"year": "latest"}).assign(partial=True)
    best = best.merge(full[SERIES_KEYS], on=SERIES_KEYS, how="left", indicator=True)
    best = best[best["_merge"] == "left_only"].drop(columns="_merge")
    return pd.concat([full[SERIES_KEYS + ["latest", "partial", "months"]], best], ignore_index=True)


def rate_interval(count: np.ndarray, population: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The exact (Garwood) 95% Poisson interval of a rate per 100,000: what chance alone could have given."""
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(count > 0, stats.chi2.ppf(0.025, 2 * count) / 2, 0.0)
        high = stats.chi2.ppf(0.975, 2 * (count + 1)) / 2
        scale = 100000.0 / population
    return low * scale, high * scale


def source_description(con: duckdb.DuckDBPyConnection, source: str) -> str:
    """'source: its description' as its configuration gives it, or the bare name."""
    rows = con.execute("SELECT description FROM sources WHERE source = ? AND description <> ''", [source]).fetchall()
    return f"{source}: {rows[0][0]}" if rows else source
