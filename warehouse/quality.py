"""The figures of the data-quality report, each one aggregate query over the warehouse returning a small frame.

What a user needs to trust a number: how many records came in and where each went (loaded or quarantined, and
why), which national codes could not be classified, and which contract rules the loaded tables break.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pandera.pandas as pa

from schemas import REASONS, OffenceCountRow, OffenceRow, PopulationRow, QuarantineRow
from warehouse.contracts import validate_table

# The tables a user reads, with the contract each must meet (checked over the whole table, all sources).
TABLE_CONTRACTS: tuple[tuple[str, type[pa.DataFrameModel]], ...] = (
    ("offences", OffenceRow),
    ("offence_counts", OffenceCountRow),
    ("population", PopulationRow),
    ("quarantine", QuarantineRow),
)
# classify.py words an unmapped record's detail as "<column>: national code '<code>' <why>"
_UNMAPPED_CODE = r"national code '(.*)' (?:is not in|has no row in|is outside ICCS)"
_UNMAPPED_WHY = r"national code '.*' (is not in|has no row in|is outside ICCS)"


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> pd.DataFrame:
    return con.execute(sql, params or []).fetch_df()


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {r[0] for r in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = 'main'",
        [table]).fetchall()}


def load_summary(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per source: unit, stage, level, files, records_in, records_loaded, records_quarantined, quarantined_share,
    balanced (in = loaded + quarantined), quarantine_rows (the quarantine table now), last_loaded.

    From each file's latest load in ``runs`` (the whole source for a ``runs`` table without files)."""
    key = "source, file" if "file" in _columns(con, "runs") else "source"
    return _frame(con, f"""
        WITH latest AS (
            SELECT * FROM runs
            QUALIFY row_number() OVER (PARTITION BY {key} ORDER BY finished_at DESC, run_id DESC) = 1),
        per_source AS (
            SELECT source, count(*) AS files, sum(records_in) AS records_in, sum(records_loaded) AS records_loaded,
                   sum(records_quarantined) AS records_quarantined, max(finished_at) AS last_loaded
            FROM latest WHERE coalesce(status, 'loaded') = 'loaded' GROUP BY source),
        quarantined AS (SELECT source, count(*) AS quarantine_rows FROM quarantine GROUP BY source)
        SELECT p.source, s.unit, s.stage, s.level, p.files, p.records_in::BIGINT AS records_in,
               p.records_loaded::BIGINT AS records_loaded, p.records_quarantined::BIGINT AS records_quarantined,
               p.records_quarantined / nullif(p.records_in, 0) AS quarantined_share,
               p.records_in = p.records_loaded + p.records_quarantined AS balanced,
               coalesce(q.quarantine_rows, 0) AS quarantine_rows, p.last_loaded
        FROM per_source p LEFT JOIN sources s USING (source) LEFT JOIN quarantined q USING (source)
        ORDER BY p.source""")


def reasons(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per source and reason: records, what the reason means, the first quarantined line and its detail."""
    frame = _frame(con, """
        SELECT source, reason, count(*) AS records,
               arg_min(parse_filename(file) || ':' || row_number, (file, row_number)) AS first_at,
               arg_min(detail, (file, row_number)) AS example
        FROM quarantine GROUP BY ALL ORDER BY source, records DESC, reason""")
    frame.insert(2, "meaning", frame["reason"].map(REASONS).fillna("(not a known reason code)"))
    return frame


def unmapped_codes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """National codes that could not be given an ICCS code, by volume: source, national_code, why, records,
    share of the source's records, where it was first seen."""
    return _frame(con, f"""
        WITH u AS (
            SELECT source, regexp_extract(detail, {_sql_text(_UNMAPPED_CODE)}, 1) AS national_code,
                   regexp_extract(detail, {_sql_text(_UNMAPPED_WHY)}, 1) AS why, file, row_number
            FROM quarantine WHERE reason = 'unmapped_offence'),
        totals AS (
            SELECT source, sum(records_in) AS records_in FROM (
                SELECT * FROM runs QUALIFY row_number() OVER (PARTITION BY source, {_file_key(con)}
                                                            ORDER BY finished_at DESC, run_id DESC) = 1)
            GROUP BY source)
        SELECT u.source, u.national_code,
               CASE u.why WHEN 'is not in' THEN 'not in the correspondence table'
                          WHEN 'has no row in' THEN 'no mapping valid on the record''s date'
                          WHEN 'is outside ICCS' THEN 'excluded from ICCS by the correspondence table'
                          ELSE 'unmapped' END AS why,
               count(*) AS records, count(*) / any_value(t.records_in) AS share_of_source,
               arg_min(parse_filename(u.file) || ':' || u.row_number, (u.file, u.row_number)) AS first_at
        FROM u LEFT JOIN totals t USING (source)
        GROUP BY ALL ORDER BY records DESC, u.source, u.national_code""")


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _file_key(con: duckdb.DuckDBPyConnection) -> str:
    return "file" if "file" in _columns(con, "runs") else "source"


def contract_results(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """table, contract, rule, column, failures, severity, example: every rule of every table contract, checked
    over the whole table in SQL (one scan per table)."""
    rows = []
    for table, model in TABLE_CONTRACTS:
        for o in validate_table(con, model, table):
            rows.append({"table": table, "contract": model.__name__, "rule": o.check, "column": o.column,
                         "failures": o.failures, "severity": o.severity,
                         "example": str(o.examples[0]) if o.examples else ""})
    return pd.DataFrame(rows, columns=["table", "contract", "rule", "column", "failures", "severity", "example"])
