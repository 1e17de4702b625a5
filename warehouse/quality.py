"""The figures of the data-quality report, each one aggregate query over the warehouse returning a small frame.

What a user needs to trust a number: how many records came in and where each went (loaded or quarantined, and
why), which national codes could not be classified, and which contract rules the loaded tables break.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pandera.pandas as pa

from schemas import REASONS, OffenceCountRow, OffenceRow, PopulationRow, QuarantineRow
from schemas.quarantine import EXCLUSIONS
from warehouse import contract_log
from warehouse.contracts import validate_table
from warehouse.sql import literal

# The tables a user reads, with the contract each must meet (checked over the whole table, all sources).
TABLE_CONTRACTS: tuple[tuple[str, type[pa.DataFrameModel]], ...] = (
    ("offences", OffenceRow),
    ("offence_counts", OffenceCountRow),
    ("population", PopulationRow),
    ("quarantine", QuarantineRow),
)
# Records whose national code has no ICCS code: reason `unmapped_offence`, or `excluded_offence` for a code the
# correspondence table places outside ICCS (older loads gave those `unmapped_offence` too). Why is the quarantine
# table's `exclusion` (one of schemas.quarantine.EXCLUSIONS), beside its `national_code` and `exclusion_note`.
UNCLASSIFIED_REASONS = ("unmapped_offence", "excluded_offence")


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None) -> pd.DataFrame:
    return con.execute(sql, params or []).fetch_df()


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? AND table_schema = 'main'", [table]
        ).fetchall()
    }


def _quarantine(con: duckdb.DuckDBPyConnection) -> str:
    """The quarantine table; for a warehouse written before its national_code, exclusion and exclusion_note columns
    and opened read-only (so ``ensure_schema`` could not add them), its rows with those columns empty."""
    if "exclusion" in _columns(con, "quarantine"):
        return "quarantine"
    return (
        "(SELECT *, NULL::VARCHAR AS national_code, NULL::VARCHAR AS exclusion, NULL::VARCHAR AS exclusion_note "
        "FROM quarantine)"
    )


def load_summary(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per source: unit, stage, level, files, records_in, records_loaded, records_quarantined, quarantined_share,
    balanced (in = loaded + quarantined), quarantine_rows (the quarantine table now), last_loaded.

    From each file's latest load in ``runs`` (the whole source for a ``runs`` table without files)."""
    key = "source, file" if "file" in _columns(con, "runs") else "source"
    return _frame(
        con,
        f"""
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
        ORDER BY p.source""",
    )


def reasons(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per source and reason: records, what the reason means, the first quarantined line and its detail.

    Records with an unclassified national code are split by what happened to the code (not in the
    correspondence table, no row valid on the date, or outside ICCS by the table), each its own row."""
    frame = _frame(
        con,
        f"""
        SELECT source, reason, exclusion AS kind, count(*) AS records,
               arg_min(parse_filename(file) || ':' || row_number, (file, row_number)) AS first_at,
               arg_min(detail, (file, row_number)) AS example
        FROM {_quarantine(con)} GROUP BY ALL ORDER BY source, records DESC, reason, kind""",
    )
    kind = frame["kind"].map(EXCLUSIONS)
    meaning = ("the national offence code is " + kind).fillna(frame["reason"].map(REASONS))
    frame.insert(2, "meaning", meaning.fillna("(not a known reason code)"))
    return frame.drop(columns="kind")


def unmapped_codes(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """National codes that could not be given an ICCS code, by volume: source, national_code, why (not in the
    correspondence table, no row valid on the date, or outside ICCS by it), the table's note for an excluded
    code, records, share of the source's records, where it was first seen.

    The code, why and note are columns of the quarantine table (``exclusion``, ``exclusion_note``)."""
    kinds = " ".join(f"WHEN '{k}' THEN {literal(v)}" for k, v in EXCLUSIONS.items())
    return _frame(
        con,
        f"""
        WITH u AS (
            SELECT source, exclusion AS kind, file, row_number, national_code, exclusion_note AS note
            FROM {_quarantine(con)} WHERE reason IN {UNCLASSIFIED_REASONS}),
        totals AS (
            SELECT source, sum(records_in) AS records_in FROM (
                SELECT * FROM runs QUALIFY row_number() OVER (PARTITION BY source, {_file_key(con)}
                                                            ORDER BY finished_at DESC, run_id DESC) = 1)
            GROUP BY source)
        SELECT u.source, u.national_code, CASE u.kind {kinds} END AS why, any_value(u.note) AS note,
               count(*) AS records, count(*) / any_value(t.records_in) AS share_of_source,
               arg_min(parse_filename(u.file) || ':' || u.row_number, (u.file, u.row_number)) AS first_at
        FROM u LEFT JOIN totals t USING (source)
        GROUP BY u.source, u.national_code, u.kind
        ORDER BY records DESC, u.source, u.national_code""",
    )


def _file_key(con: duckdb.DuckDBPyConnection) -> str:
    return "file" if "file" in _columns(con, "runs") else "source"


def contract_results(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """table, contract, rule, column, failures, severity, proved, files, example: every rule of every table
    contract. The fact tables' rules as each file's load checked them (``contract_log``: failures summed over
    the landed files; a rule every load proved by construction says how), not validated again; a table with
    rows of a source loaded before results were recorded, and the population table, are checked whole in SQL."""
    recorded = set()
    frames = []
    if "contract_checks" in _tables(con):
        fact_tables = [t for t, _ in TABLE_CONTRACTS if t != "population"]
        if not contract_log.unrecorded_sources(con, fact_tables):
            recorded = set(fact_tables)
            frames.append(contract_log.summary(con))
    rows = []
    for table, model in TABLE_CONTRACTS:
        if table in recorded:
            continue
        for o in validate_table(con, model, table):
            rows.append(
                {
                    "table": table,
                    "contract": model.__name__,
                    "rule": o.check,
                    "column": o.column,
                    "failures": o.failures,
                    "severity": o.severity,
                    "proved": None,
                    "example": str(o.examples[0]) if o.examples else "",
                    "files": None,
                }
            )
    frames.append(pd.DataFrame(rows, columns=RESULT_COLUMNS))
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    return pd.concat(frames, ignore_index=True)[RESULT_COLUMNS]


RESULT_COLUMNS = ["table", "contract", "rule", "column", "failures", "severity", "proved", "files", "example"]


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}


def excluded_by_source(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per source: records in quarantine because the correspondence table places their national code outside
    ICCS (`excluded`): left out on purpose, so reports count them apart from the records quarantined by a fault."""
    return _frame(
        con,
        f"SELECT source, count(*) AS records_excluded FROM {_quarantine(con)} "
        "WHERE exclusion = 'excluded' GROUP BY source ORDER BY source",
    )


def aggregate_units(con: duckdb.DuckDBPyConnection, source: str, count_key: str | None) -> dict[str, float | int]:
    """What an aggregate source's table cells hold, in its own unit (offences, victims...): `loaded` (the sum of
    the loaded counts) and, for the cells in quarantine, apart for those outside ICCS by the correspondence table
    (`outside_*`) and the others (`quarantined_*`): `_cells`, `_units` (the sum of the counts that read as a
    number) and `_without_count` (cells whose count is missing, suppressed or unreadable, or every cell when
    `count_key`, the count's column in the raw record, is unknown: then `count_read` is 0): such a cell is never
    given a number. `national` is the national figure (v_national_counts): below `loaded` when a total row
    among the areas is loaded beside them."""
    loaded = con.execute("SELECT coalesce(sum(count), 0) FROM offence_counts WHERE source = ?", [source]).fetchone()[0]
    value = (
        f"try_cast(replace(json_extract_string(try_cast(raw AS JSON), {literal('$.' + _json_key(count_key))}),"
        " ',', '') AS DOUBLE)"
        if count_key
        else "NULL::DOUBLE"
    )
    rows = con.execute(
        f"""
        WITH q AS (SELECT coalesce(exclusion = 'excluded', false) AS outside, {value} AS v
                   FROM {_quarantine(con)} WHERE source = ?)
        SELECT outside, count(*), count(*) FILTER (NOT (isfinite(v) AND v >= 0) OR v IS NULL),
               coalesce(sum(v) FILTER (isfinite(v) AND v >= 0), 0)
        FROM q GROUP BY outside""",
        [source],
    ).fetchall()
    out: dict[str, float | int] = {"loaded": float(loaded), "count_read": int(bool(count_key))}
    # the national figure (a total row among the areas counted once), beside the sum of every loaded cell
    try:
        national = con.execute("SELECT sum(count) FROM v_national_counts WHERE source = ?", [source]).fetchone()[0]
    except duckdb.Error:  # a warehouse written before totals existed, opened read-only
        national = None
    out["national"] = float(national if national is not None else loaded)
    for prefix in ("quarantined", "outside"):
        out |= {f"{prefix}_cells": 0, f"{prefix}_without_count": 0, f"{prefix}_units": 0.0}
    for outside, cells, without, units in rows:
        prefix = "outside" if outside else "quarantined"
        out |= {f"{prefix}_cells": int(cells), f"{prefix}_without_count": int(without), f"{prefix}_units": float(units)}
    return out


def _json_key(key: str) -> str:
    return '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
