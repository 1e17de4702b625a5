"""The tables of the patterns page: what deserves a look, found in each source's series inside its coverage window.

``anomalies`` holds one row per finding (an outlying month, a level shift, a place whose offence mix changed);
``anomaly_series`` holds, for the series behind each finding only, what its small chart draws. The statistics are
``reports/stats/anomaly_months.py``, ``change_points.py`` and ``mix_change.py``; the asset ``anomalies``
(``pipelines/assets/patterns.py``) computes them after the coverage windows and series breaks.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from warehouse.coverage import DETAIL_IN_WINDOW, NATIONAL_IN_WINDOW
from warehouse.sql import literal
from warehouse.transaction import transaction

KINDS = ("outlying_month", "level_shift", "mix_change")

TABLES = """
CREATE TABLE IF NOT EXISTS anomalies (
    source VARCHAR NOT NULL, unit VARCHAR NOT NULL, country VARCHAR NOT NULL, area VARCHAR, iccs_code VARCHAR NOT NULL,
    period VARCHAR NOT NULL, kind VARCHAR NOT NULL, observed DOUBLE, expected DOUBLE, score DOUBLE, q_value DOUBLE,
    note VARCHAR, baseline_period VARCHAR, p_value DOUBLE, recording_change BOOLEAN);
CREATE TABLE IF NOT EXISTS anomaly_series (
    source VARCHAR NOT NULL, unit VARCHAR NOT NULL, country VARCHAR NOT NULL, area VARCHAR, iccs_code VARCHAR NOT NULL,
    kind VARCHAR NOT NULL, period VARCHAR NOT NULL, category VARCHAR, observed DOUBLE, expected DOUBLE, lower DOUBLE,
    upper DOUBLE);
CREATE TABLE IF NOT EXISTS anomaly_tests (
    source VARCHAR NOT NULL, unit VARCHAR NOT NULL, kind VARCHAR NOT NULL, series BIGINT NOT NULL,
    tests BIGINT NOT NULL, flagged BIGINT NOT NULL, fdr DOUBLE NOT NULL, note VARCHAR);
"""

COMMENTS = {
    "anomalies": "per source, unit, country, area (NULL = the national figure) and ICCS code: what deserves a look "
    "inside the coverage window. kind outlying_month: period YYYY-MM, observed count against expected (an STL fit "
    "refitted without outlying months), score a z against the series' own noise; level_shift: period the first "
    "month at the new level, observed and expected the monthly level just after and just before the step (on the "
    "fitted trend, deseasonalised), score the step's t; mix_change: period the last year, baseline_period the first, "
    "iccs_code the level-2 category that moved most, observed its count and expected the count had the area's mix "
    "changed as the rest of the country's did, score the G statistic. q_value: Benjamini-Hochberg over every test of "
    "its kind in the warehouse. recording_change: a shift at a declared series break or correspondence validity date "
    "(likely a recording change, not crime). note: what coincides, in words; for a mix change the categories that "
    "moved; 'also in' the finer SDG 16 codes flagged with it",
    "anomaly_series": "the series behind each row of anomalies, for its chart: monthly observed with expected and "
    "the 95% band (outlying_month), observed with the fitted levels of every flagged shift (level_shift), the "
    "level-2 categories' counts (category) in the baseline and last year, expected under the rest of the country's "
    "change (mix_change)",
    "anomaly_tests": "per source, unit and kind: how many series (or areas) were tested, how many tests (months, "
    "candidate shifts, areas) Benjamini-Hochberg ran over, how many were flagged at the FDR, and why series were "
    "left untested (note)",
}


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(TABLES)
    for name, text in COMMENTS.items():
        con.execute(f"COMMENT ON TABLE {name} IS {literal(text)}")


def _rolled_sql() -> str:
    """Monthly counts inside each source's coverage window, rolled up to every ICCS level-2 category and every
    SDG 16 code, per area (total rows excluded) and for the national figure (area NULL: the published total where
    there is one, never a total added to its parts)."""
    return f"""
    WITH codes AS (SELECT code AS iccs_code FROM iccs_categories WHERE level = 2
                   UNION SELECT iccs_code FROM sdg16_codes),
    rows AS (
        SELECT source, unit, country, area, iccs_code, year, month, count FROM {DETAIL_IN_WINDOW}
        WHERE area IS NOT NULL AND month IS NOT NULL
        UNION ALL
        SELECT source, unit, country, NULL, iccs_code, year, month, count FROM {NATIONAL_IN_WINDOW}
        WHERE month IS NOT NULL)
    SELECT r.source, r.unit, r.country, r.area, a.ancestor_code AS iccs_code, r.year * 12 + r.month - 1 AS m,
           sum(r.count) AS count
    FROM rows r JOIN iccs_ancestors a ON a.code = r.iccs_code JOIN codes c ON c.iccs_code = a.ancestor_code
    GROUP BY ALL
    """


ROLLED = "patterns_rolled"  # a temp table of the connection: ``_rolled_sql`` computed once for two reads


def _counts_sql(min_count: float) -> str:
    """The series of ``ROLLED`` in which some month reaches `min_count`: no month of the others could be flagged,
    and a city's thousands of small areas would otherwise bring millions of rows to pandas."""
    return f"""
    SELECT source, unit, country, area, iccs_code, m, count FROM {ROLLED}
    QUALIFY max(count) OVER (PARTITION BY source, unit, country, area, iccs_code) >= {float(min_count)!r}
    """


def _series_sql() -> str:
    """How many series (area or national × code) each source and unit has, tested or not."""
    return f"""
    SELECT source, unit, count(*) AS series
    FROM (SELECT DISTINCT source, unit, country, area, iccs_code FROM {ROLLED}) GROUP BY ALL
    """


def _present_sql() -> str:
    """The months each source's countries (area NULL) and each of their areas reported anything, inside the
    window."""
    return f"""
    SELECT DISTINCT source, unit, country, area, year * 12 + month - 1 AS m FROM {DETAIL_IN_WINDOW}
    WHERE area IS NOT NULL AND month IS NOT NULL
    UNION
    SELECT DISTINCT source, unit, country, NULL, year * 12 + month - 1 FROM {NATIONAL_IN_WINDOW}
    WHERE month IS NOT NULL
    """


def _mix_sql() -> str:
    """Per source and area, the level-2 counts of the first and the last full year inside the window (a year is
    full when it has as many months as the source's most complete year, 12 or 4 quarters, or when the source
    publishes years only)."""
    return f"""
    WITH per_year AS (
        SELECT source, unit, year, count(DISTINCT month) AS months, bool_and(month IS NULL) AS annual
        FROM {DETAIL_IN_WINDOW} GROUP BY ALL),
    full_years AS (  -- as many months as the source's most complete year: 12, or 4 for quarterly counts
        SELECT source, unit, year FROM per_year
        QUALIFY annual OR months = max(months) OVER (PARTITION BY source, unit)),
    ends AS (SELECT source, unit, min(year) AS first_year, max(year) AS last_year FROM full_years GROUP BY ALL)
    SELECT c.source, c.unit, c.country, c.area, a.ancestor_code AS iccs_code, c.year, sum(c.count) AS count
    FROM {DETAIL_IN_WINDOW} c
    JOIN ends e ON e.source = c.source AND e.unit = c.unit AND c.year IN (e.first_year, e.last_year)
    JOIN iccs_ancestors a ON a.code = c.iccs_code AND a.ancestor_level = 2
    WHERE c.area IS NOT NULL
    GROUP BY ALL
    """


def inputs(con: duckdb.DuckDBPyConnection, min_count: float) -> dict[str, pd.DataFrame]:
    """The small frames ``reports.stats.patterns.detect`` needs, all aggregated here in DuckDB; `min_count` is the
    smallest month that can be flagged (series whose months all stay below it are counted, not brought)."""

    def frame(sql: str) -> pd.DataFrame:
        return con.execute(sql).fetch_df()

    has_breaks = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = 'series_breaks'"
    ).fetchall()[0][0]
    # a temp table lives in the connection only: nothing is written to the warehouse, read-only or not
    con.execute(f"CREATE OR REPLACE TEMP TABLE {ROLLED} AS {_rolled_sql()}")
    try:
        counts, series_counts = frame(_counts_sql(min_count)), frame(_series_sql())
    finally:
        con.execute(f"DROP TABLE IF EXISTS {ROLLED}")
    return {
        "counts": counts,
        "series_counts": series_counts,
        "present": frame(_present_sql()),
        "mix_counts": frame(_mix_sql()),
        "breaks": frame(
            "SELECT source, iccs_code, CAST(period AS VARCHAR) AS period, kind FROM series_breaks"
            if has_breaks
            else "SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS iccs_code, NULL::VARCHAR AS period, "
            "NULL::VARCHAR AS kind WHERE false"
        ),
        "validity": frame(
            "SELECT source, national_code, iccs_code, valid_from, valid_to FROM correspondence "
            "WHERE iccs_code IS NOT NULL AND (valid_from IS NOT NULL OR valid_to IS NOT NULL)"
        ),
        "sources": frame(f"SELECT DISTINCT source, unit FROM {DETAIL_IN_WINDOW} ORDER BY ALL"),
    }


def replace(con: duckdb.DuckDBPyConnection, anomalies: pd.DataFrame, series: pd.DataFrame, tests: pd.DataFrame) -> None:
    """Replace the three tables' rows in one transaction (a crash leaves the previous findings whole); the tables
    are the warehouse's (``warehouse.ddl.ensure_schema`` creates them)."""
    with transaction(con):
        for table, rows in (("anomalies", anomalies), ("anomaly_series", series), ("anomaly_tests", tests)):
            con.execute(f"DELETE FROM {table}")
            if len(rows):
                con.register("new_rows", rows)
                columns = ", ".join(rows.columns)
                con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM new_rows")
                con.unregister("new_rows")
