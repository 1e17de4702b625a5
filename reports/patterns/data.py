"""The reads behind patterns.html: the findings of ``warehouse/anomalies.py``'s tables, strongest first, the series
their small charts draw, and what was tested. Every read is one small SQL query; nothing is computed here."""

from __future__ import annotations

import duckdb
import pandas as pd

from reports import queries
from warehouse.anomalies import KINDS

TABLES = ("anomalies", "anomaly_series", "anomaly_tests")
# Strongest first: the smallest q-value, then the largest |score|; the keys make equal ones come in one order.
ORDER = "q_value ASC NULLS LAST, abs(score) DESC NULLS LAST, source, unit, country, area NULLS FIRST, iccs_code, period"
FINDING_COLUMNS = [
    "source",
    "unit",
    "country",
    "area",
    "place",
    "iccs_code",
    "period",
    "kind",
    "observed",
    "expected",
    "score",
    "q_value",
    "p_value",
    "note",
    "baseline_period",
    "recording_change",
    "rank",
]


def readable(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse holds the tables (one written before them, opened read-only, does not)."""
    return all(queries.table_exists(con, name) for name in TABLES)


def _places(con: duckdb.DuckDBPyConnection) -> str:
    """Per source and area (trimmed, lower case): the label its boundaries give, where it has one."""
    if not queries.table_exists(con, "area_boundaries"):
        return "(SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS area_key, NULL::VARCHAR AS label WHERE false)"
    return """(SELECT source, lower(trim(area)) AS area_key, min(label) AS label
               FROM area_boundaries WHERE label IS NOT NULL AND trim(label) <> '' GROUP BY ALL)"""


def findings(con: duckdb.DuckDBPyConnection, kind: str) -> pd.DataFrame:
    """Every finding of `kind`, strongest first (``rank`` 1, 2, …), with ``place``: the boundaries' label of its
    area where the source names one ('Ashby Vale (D23)' when the label does not already hold the code)."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}; one of {KINDS}")
    return queries.frame(
        con,
        f"""
        WITH a AS (SELECT *, row_number() OVER (ORDER BY {ORDER}) AS rank,
                          count(DISTINCT country) OVER (PARTITION BY source) AS countries
                   FROM anomalies WHERE kind = ?)
        SELECT a.source, a.unit, a.country, a.area,
               -- a source of several countries names the country of a national figure; of one, 'nationally'
               CASE WHEN a.area IS NULL AND a.countries > 1 THEN a.country
                    WHEN a.area IS NULL THEN NULL
                    WHEN p.label IS NULL THEN a.area
                    WHEN contains(lower(p.label), lower(trim(a.area))) THEN p.label
                    ELSE p.label || ' (' || a.area || ')' END AS place,
               a.iccs_code, a.period, a.kind, a.observed, a.expected, a.score, a.q_value, a.p_value, a.note,
               a.baseline_period, coalesce(a.recording_change, false) AS recording_change, a.rank
        FROM a LEFT JOIN {_places(con)} p ON p.source = a.source AND p.area_key = lower(trim(a.area))
        ORDER BY a.rank
        """,
        [kind],
    )


def series(con: duckdb.DuckDBPyConnection, kind: str, ranks: list[int]) -> pd.DataFrame:
    """The chart rows (``anomaly_series``) of the series behind the findings of `kind` ranked `ranks` (``findings``'
    ``rank``), each series once, ordered by period (and category)."""
    return queries.frame(
        con,
        f"""
        WITH ranked AS (
            SELECT source, unit, country, area, iccs_code, row_number() OVER (ORDER BY {ORDER}) AS rank
            FROM anomalies WHERE kind = ?),
        shown AS (SELECT DISTINCT source, unit, country, area, iccs_code FROM ranked WHERE list_contains(?, rank))
        SELECT s.source, s.unit, s.country, s.area, s.iccs_code, s.period, s.category, s.observed, s.expected,
               s.lower, s.upper
        FROM anomaly_series s
        JOIN shown h ON h.source = s.source AND h.unit = s.unit AND h.country = s.country
                    AND h.area IS NOT DISTINCT FROM s.area AND h.iccs_code = s.iccs_code
        WHERE s.kind = ?
        ORDER BY s.source, s.unit, s.country, s.area NULLS FIRST, s.iccs_code, s.period, s.category
        """,
        [kind, [int(r) for r in ranks], kind],
    )


def tested(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """What was tested, per source, unit and kind (``anomaly_tests``), in the order of the kinds."""
    return queries.frame(
        con,
        """
        SELECT source, unit, kind, series, tests, flagged, fdr, note
        FROM anomaly_tests
        ORDER BY source, unit, CASE kind WHEN 'outlying_month' THEN 0 WHEN 'level_shift' THEN 1 ELSE 2 END, kind
        """,
    )


def mix_shares(rows: pd.DataFrame, baseline: str, last: str) -> pd.DataFrame:
    """Per level-2 category (``code``) of one area's chart rows: its count and share of the area's total in the
    baseline and the last year, and its expected count and share in the last year; largest last-year share first."""
    first = rows[rows["period"] == str(baseline)].set_index("category")["observed"]
    then = rows[rows["period"] == str(last)].set_index("category")
    out = pd.DataFrame(
        {
            "base_count": first,
            "last_count": then["observed"] if len(then) else pd.Series(dtype=float),
            "expected_count": then["expected"] if len(then) else pd.Series(dtype=float),
        }
    ).astype(float)
    out.index.name = "code"
    for column, share in (
        ("base_count", "base_share"),
        ("last_count", "last_share"),
        ("expected_count", "expected_share"),
    ):
        total = out[column].sum()
        out[share] = out[column] / total if total > 0 else float("nan")
    return out.reset_index().sort_values(["last_share", "code"], ascending=[False, True]).reset_index(drop=True)
