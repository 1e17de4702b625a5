"""The reads behind quality.html: loads, completeness, series breaks, coverage windows and national totals.

Completeness and series breaks are read from the tables the pipeline writes, or computed on the spot
(read-only, by ``warehouse.completeness``) for a source that has none yet.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from reports import queries
from reports.quality.text import aggregate_sentence
from schemas.source_config import load_config
from warehouse import completeness, coverage, quality

# The coverage heat map draws at most this many areas (a source of 50,000 areas has 6M period × area cells): the
# ones with the most missing cells, then by name; the page says how many it leaves out.
MAX_HEATMAP_AREAS = 60


def completeness_grid(
    con: duckdb.DuckDBPyConnection, source: str, max_areas: int = MAX_HEATMAP_AREAS
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The period × area cells of at most ``max_areas`` areas (those with the most missing cells, then by name),
    and the whole grid's figures: cells, missing cells, areas. Counted in SQL: only the drawn rows reach pandas."""
    grid, params = completeness.grid_relation(con, source)
    cells, missing, areas = con.execute(
        f"""SELECT count(*), count(*) FILTER (NOT present),
                   count(DISTINCT area) + (count(*) FILTER (area IS NULL) > 0)::INT FROM {grid} g""",
        params,
    ).fetchone()
    drawn = con.execute(
        f"""WITH g AS (SELECT * FROM {grid} g),
            chosen AS (SELECT area FROM g GROUP BY area
                       ORDER BY count(*) FILTER (NOT present) DESC, area NULLS FIRST LIMIT {int(max_areas)})
            SELECT g.source, g.area, g.period, g.present, g.records FROM g
            SEMI JOIN chosen c ON c.area IS NOT DISTINCT FROM g.area
            ORDER BY g.area NULLS FIRST, g.period""",
        params,
    ).fetch_df()
    return drawn, {"cells": int(cells), "missing": int(missing), "areas": int(areas)}


def series_breaks(con: duckdb.DuckDBPyConnection, sources: list[str]) -> pd.DataFrame:
    stored = (
        con.execute("SELECT source, iccs_code, period, kind, detail FROM series_breaks ORDER BY ALL").fetch_df()
        if queries.table_exists(con, "series_breaks")
        else pd.DataFrame()
    )
    # a source the quality job assessed has its breaks stored, none being an answer too
    have = set(stored["source"]) if not stored.empty else set()
    have |= {s for s in sources if completeness.stored_findings(con, s) is not None}
    computed = [completeness.series_breaks(con, s) for s in sources if s not in have]
    frames = [f for f in [stored, *computed] if not f.empty]
    if not frames:
        return pd.DataFrame(columns=["source", "iccs_code", "period", "kind", "detail"])
    return pd.concat(frames, ignore_index=True)


def count_key(con: duckdb.DuckDBPyConnection, source: str) -> str | None:
    """The column of an aggregate source's raw record that holds its count (from the source's configuration), or
    None when the configuration can no longer be read: the quarantined cells' counts are then not known."""
    row = con.execute("SELECT config FROM sources WHERE source = ?", [source]).fetchone()
    try:
        return load_config(row[0]).sources[source].columns.get("count", "count") if row and row[0] else None
    except Exception:  # noqa: BLE001 - a moved or edited configuration only costs the "where known" figure
        return None


def load_table(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The load summary with the records outside ICCS by the correspondence table apart from those quarantined
    by a fault, and, per source, what was loaded and quarantined in its own unit: one record is one offence of
    an incident source; for an aggregate source a record is a table cell, so its counts are summed."""
    summary = quality.load_summary(con)
    if summary.empty:
        return summary.assign(
            records_outside_iccs=0, counted_loaded=0.0, counted_quarantined=0.0, cells_without_count=0
        )
    outside = quality.excluded_by_source(con).set_index("source")["records_excluded"]
    summary.insert(
        summary.columns.get_loc("records_quarantined"),
        "records_outside_iccs",
        summary["source"].map(outside).fillna(0).astype("int64"),
    )
    summary["records_quarantined"] -= summary["records_outside_iccs"]
    summary["quarantined_share"] = summary["records_quarantined"] / summary["records_in"].where(
        summary["records_in"] > 0
    )
    counted, sentences = [], {}
    for row in summary.itertuples():
        if row.level == "aggregate":
            units = quality.aggregate_units(con, row.source, count_key(con, row.source))
            units["loaded_cells"] = int(row.records_loaded)
            sentences[row.source] = aggregate_sentence(row.source, row.unit, units)
            without = int(units["quarantined_without_count"])
            counted.append((units["loaded"], units["quarantined_units"], without))
        else:
            counted.append((float(row.records_loaded), float(row.records_quarantined), 0))
    summary[["counted_loaded", "counted_quarantined", "cells_without_count"]] = pd.DataFrame(
        counted, index=summary.index
    )
    summary["cells_without_count"] = summary["cells_without_count"].astype("int64")
    summary.attrs["aggregate_sentences"] = sentences
    return summary


def loaded_sources(con: duckdb.DuckDBPyConnection, summary: pd.DataFrame) -> list[str]:
    """Every source with a load or with counts, sorted."""
    return sorted(
        set(summary["source"]) | set(con.execute("SELECT DISTINCT source FROM offence_counts").fetch_df()["source"])
    )


def coverage_windows(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Each source's coverage window and the records before and after it (empty before the first load)."""
    if not queries.table_exists(con, coverage.TABLE):
        return pd.DataFrame()
    return queries.frame(con, "SELECT * FROM v_coverage ORDER BY source, unit")


def total_areas(con: duckdb.DuckDBPyConnection) -> pd.DataFrame | None:
    """The areas that are a national total (declared or detected), or None before the totals were computed."""
    if not queries.table_exists(con, "total_areas"):
        return None
    return con.execute(
        "SELECT source, country, unit, area, basis, cells_compared, cells_matching, "
        "share_matching, example FROM v_total_areas ORDER BY ALL"
    ).fetch_df()
