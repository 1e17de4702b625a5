"""The metadata table under each block of trends.html: definition, unit, sources, period, coverage, breaks."""

from __future__ import annotations

import duckdb
import pandas as pd

from reports import correspondence_notes, page, queries, trend_tables
from reports.trends.text import CAVEAT
from warehouse.coverage import windows_line as coverage_windows_line


def period(frame: pd.DataFrame) -> str:
    years = frame.loc[frame["count"].notna(), "year"]
    if years.empty:
        return "no data"
    kind = "monthly data" if bool(frame["monthly"].any()) else "annual data"
    return f"{int(years.min())}–{int(years.max())} ({kind})"


def partial_years(frame: pd.DataFrame) -> str:
    partial = frame[frame["partial"]][["country", "year", "months"]].drop_duplicates()
    if partial.empty:
        return "none"
    return "; ".join(f"{r.country} {r.year} ({int(r.months)} months)" for r in partial.itertuples())


def missing_population(frame: pd.DataFrame) -> str:
    """Which counts have no rate, and whose national rates are over their areas' population only
    (``population_basis`` of v_national_population)."""
    missing = frame[frame["count"].notna() & frame["population"].isna()][["country", "year"]].drop_duplicates()
    text = "none: every count has a population"
    if not missing.empty:
        by_country = missing.groupby("country")["year"].apply(lambda y: ", ".join(str(v) for v in sorted(y)))
        text = "rates are absent for " + "; ".join(f"{c} {years}" for c, years in by_country.items())
    if "population_basis" not in frame:
        return text
    counted = frame[frame["count"].notna()]
    parts = sorted(set(counted.loc[counted["population_basis"] == "none", "country"]))
    if parts:
        text += (
            f" ({', '.join(parts)}: the national figure adds up areas without a population, which need not make "
            "up the country: no rate rather than one over the whole country's population)"
        )
    areas = sorted(set(counted.loc[counted["population_basis"] == "areas", "country"]))
    if areas:
        text += (
            f"; national rates of {', '.join(areas)} are over the population of the source's areas only, "
            "the territory their counts cover"
        )
    return text


def metadata(
    con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, definition: str, breaks: pd.DataFrame | None = None
) -> dict[str, str]:
    unit = ", ".join(sorted(frame["unit"].unique()))
    meta = {
        "Definition": definition,
        "Counting unit": f"{unit} (never added to or compared with other units)",
        "Sources": queries.source_names(con, sorted(frame["source"].unique())),
        "Period": period(frame),
        "Coverage window": coverage_windows_line(con, sorted(frame["source"].unique())),
        "Partial years": partial_years(frame) if "partial" in frame else "none",
        "Population": missing_population(frame) if "population" in frame else "not used",
        "Caveat": CAVEAT,
    }
    if outside := trend_tables.outside_note(con, frame["source"].unique()):
        meta["Outside ICCS"] = outside
    codes = frame["iccs_code"].dropna().unique() if "iccs_code" in frame else None
    meta |= correspondence_notes.metadata(con, sorted(frame["source"].unique()), codes)
    if breaks is not None and not breaks.empty:
        listed = [
            f"{r.period} {r.kind}"
            + (f" ({r.iccs_code})" if isinstance(r.iccs_code, str) else "")
            + (f": {r.detail}" if isinstance(r.detail, str) and r.detail else "")
            + (f" [marked on {r.series}]" if isinstance(getattr(r, "series", None), str) and r.series else "")
            for r in breaks.head(10).itertuples()
        ]
        more = f"; and {len(breaks) - 10} more" if len(breaks) > 10 else ""
        meta["Series breaks"] = "; ".join(listed) + more
    return meta


def block(title: str, body: str, summary: str, metadata: dict[str, str]) -> str:
    return page.block_html(title, body, summary=summary, metadata=metadata)
