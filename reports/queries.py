"""SQL helpers shared by the report pages: every query aggregates in DuckDB and returns a small frame."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from warehouse.coverage import relation

# The columns that name a dataset (counts are only added or compared within one) and one series of it.
DATASET_KEYS = ["source", "unit", "stage"]
SERIES_KEYS = ["source", "unit", "stage", "country"]


def frame(con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
    """Run an aggregated query and bring the (small) result to pandas through Arrow, with numpy dtypes."""
    # execute, not sql(params=…): on DuckDB 1.5.5 the latter costs 5× the CPU to hand a large result to Arrow.
    table = con.execute(sql, list(params) if params else None).to_arrow_table()
    # DECIMAL results (sums of literals) would arrive as Python Decimal objects; the pages want floats.
    for i, column in enumerate(table.schema):
        if pa.types.is_decimal(column.type):
            table = table.set_column(i, column.name, table.column(i).cast(pa.float64()))
    return table.to_pandas()


def breakdowns_readable(con: duckdb.DuckDBPyConnection, view: str) -> bool:
    """Whether the by-sex-and-age ``view`` can be read: a warehouse opened read-only is not upgraded, and one
    written before these views (or the national population they read) shows no breakdown."""
    return table_exists(con, view) and table_exists(con, "v_national_population")


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    # fetchall, not fetchone: no half-read result left open on `con` (duckdb 2.0 refused the next query then).
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_schema = 'main'",
        [name],
    ).fetchall()
    return bool(rows[0][0])


def has_columns(con: duckdb.DuckDBPyConnection, name: str, columns: Sequence[str]) -> bool:
    present = {
        row[0]
        for row in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = 'main'",
            [name],
        ).fetchall()
    }
    return set(columns) <= present


def national_population(con: duckdb.DuckDBPyConnection) -> str:
    """The relation of national denominators (source, country, year, population, population_basis, areas,
    areas_without_population): ``v_national_population``, or, in a warehouse written before it and opened
    read-only (so not upgraded), the national population as it was used then."""
    if table_exists(con, "v_national_population"):
        return "v_national_population"
    return """(SELECT s.source, p.country, p.year, p.population, 'country' AS population_basis, 0 AS areas,
                      NULL::VARCHAR AS areas_without_population
               FROM v_population p CROSS JOIN (SELECT source FROM sources) s WHERE p.area IS NULL)"""


def national_counts(con: duckdb.DuckDBPyConnection) -> str:
    """The window-restricted national figure with ``partial_correspondence``, which a warehouse written before
    that column (opened read-only, so not upgraded) lacks: there it is false (nothing recorded to say)."""
    national = relation(con, "national_counts")
    if has_columns(con, national, ["partial_correspondence"]):
        return national
    return f"(SELECT *, false AS partial_correspondence FROM {national})"


def sources_vintage(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per source: what it is, the years it covers (inside its coverage window), its latest run, and the
    records its files gave at their latest loads."""
    return frame(
        con,
        f"""
        WITH periods AS (
            SELECT source, min(year) AS first_year, max(year) AS last_year, count(DISTINCT country) AS countries
            FROM {relation(con, "offence_counts")} GROUP BY source),
        latest AS (  -- the records of a source: the latest load of each of its files, added up
            SELECT source, max(finished_at) AS finished_at, arg_max(status, finished_at) AS status,
                   sum(records_loaded) FILTER (WHERE status = 'loaded') AS records_loaded
            FROM v_latest_runs GROUP BY source)
        SELECT s.source, s.country, p.countries, s.level, s.unit, s.stage, s.period, s.description,
               p.first_year, p.last_year, l.finished_at AS last_run, l.status, l.records_loaded
        FROM sources s LEFT JOIN periods p USING (source) LEFT JOIN latest l USING (source)
        UNION ALL
        SELECT p.source, NULL, p.countries, NULL, NULL, NULL, NULL, NULL, p.first_year, p.last_year, l.finished_at,
               l.status, l.records_loaded
        FROM periods p LEFT JOIN latest l USING (source)
        WHERE p.source NOT IN (SELECT source FROM sources)
        ORDER BY 1
        """,
    )


def source_levels(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Each configured source's level: 'incident' (one row per record) or 'aggregate' (rows carry a count)."""
    return dict(con.execute("SELECT source, level FROM sources").fetchall())


def source_names(con: duckdb.DuckDBPyConnection, sources: Sequence[str]) -> str:
    """The human description of sources for metadata lines ('a (desc); b')."""
    if not sources:
        return "none"
    rows = con.execute(
        "SELECT source, coalesce(description, '') FROM sources WHERE list_contains(?, source)",
        [list(sources)],
    ).fetchall()
    described = {name: desc for name, desc in rows}
    return "; ".join(f"{name} ({described[name]})" if described.get(name) else name for name in sorted(set(sources)))


def series_breaks(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Declared breaks in series (source, iccs_code, period, kind, detail); empty when the table does not exist."""
    columns = ["source", "iccs_code", "period", "kind", "detail"]
    if not (table_exists(con, "series_breaks") and has_columns(con, "series_breaks", columns)):
        return pd.DataFrame(columns=columns)
    return frame(
        con,
        "SELECT source, iccs_code, CAST(period AS VARCHAR) AS period, kind, detail FROM series_breaks ORDER BY ALL",
    )
