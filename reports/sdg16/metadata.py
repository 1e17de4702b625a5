"""The metadata table under each indicator of sdg16.html: definition, codes, sources, coverage and breaks."""

from __future__ import annotations

import re

import duckdb
import pandas as pd

from reports import correspondence_notes, queries, trend_tables
from reports.sdg16.text import CAVEAT, MATCHING
from warehouse.coverage import windows_line as coverage_windows_line


def coverage_text(frame: pd.DataFrame, country_years: pd.DataFrame) -> str:
    """Which countries and years of the warehouse the indicator lacks."""
    present = frame[frame["count"].notna()][["country", "year"]].drop_duplicates()
    if present.empty:
        return "no data for any country"
    have = set(map(tuple, present.to_numpy().tolist()))
    missing = country_years[[(c, y) not in have for c, y in country_years.itertuples(index=False)]]
    parts = []
    for country, years in missing.groupby("country")["year"]:
        if country not in set(present["country"]):
            parts.append(f"{country}: no data")
        else:
            parts.append(f"{country}: {', '.join(str(y) for y in sorted(years))} missing")
    covered = ", ".join(f"{c} {int(g.min())}–{int(g.max())}" for c, g in present.groupby("country")["year"])
    return f"covered: {covered}" + ("; " + "; ".join(parts) if parts else "; no gaps")


def indicator_metadata(
    con: duckdb.DuckDBPyConnection,
    info: pd.Series,
    frame: pd.DataFrame,
    country_years: pd.DataFrame,
    breaks: pd.DataFrame | None = None,
) -> dict[str, str]:
    meta = {
        "Indicator": f"{info['indicator']}: {info['title']}",
        "Unit": str(info["unit"]),
        "ICCS codes": str(info["codes"]),
        "Matching": MATCHING,
        "Data sources": queries.source_names(con, sorted(frame["source"].unique())) if not frame.empty else "none",
        "Coverage": coverage_text(frame, country_years),
        "Coverage window": coverage_windows_line(con, sorted(frame["source"].unique()) if not frame.empty else []),
        "Partial years": ", ".join(
            f"{r.country} {r.year} ({int(r.months)} months)"
            for r in frame[frame["partial"]][["country", "year", "months"]].drop_duplicates().itertuples()
        )
        or "none",
        "Caveat": CAVEAT,
    }
    if not frame.empty and (outside := trend_tables.outside_note(con, frame["source"].unique())):
        meta["Outside ICCS"] = outside
    if not frame.empty:
        codes = re.findall(r"\d{2,}", str(info["codes"]))
        meta |= correspondence_notes.metadata(con, sorted(frame["source"].unique()), codes, nested=False)
    if breaks is not None and not breaks.empty:
        meta["Series breaks"] = "; ".join(
            f"{r.source} {r.period} {r.kind}"
            + (f" ({r.iccs_code})" if isinstance(r.iccs_code, str) else "")
            + (f": {r.detail}" if isinstance(r.detail, str) and r.detail else "")
            for r in breaks.itertuples()
        )
    return meta
