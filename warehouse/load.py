"""Replace one source's facts, counts and quarantine in a single transaction.

Either the whole new state of the source is visible or none of it: a crash mid-load leaves the previous state,
and re-running the same input gives the same rows (no duplicates).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from schemas.source_config import SourceConfig
from warehouse.classify import records_table
from warehouse.staging import rejects_table


@dataclass(frozen=True)
class LoadSummary:
    run_id: str
    records_in: int
    records_loaded: int
    records_quarantined: int
    reasons: dict[str, int]
    files: int


def load_source(con: duckdb.DuckDBPyConnection, src: SourceConfig, run_id: str,
                started_at: dt.datetime | None = None) -> LoadSummary:
    records, rejects = records_table(src.name), rejects_table(src.name)
    started_at = started_at or dt.datetime.now()
    month = "month(occurred_on)" if src.period in ("day", "month") else "NULL::INTEGER"
    name = src.name
    con.execute("BEGIN TRANSACTION")
    try:
        for table in ("offences", "offence_counts", "quarantine"):
            con.execute(f"DELETE FROM {table} WHERE source = ?", [name])
        if src.level == "incident":
            con.execute(f"""
                INSERT INTO offences
                SELECT ?, ?, record_id, occurred_on, national_code, iccs_code, area, latitude, longitude, ?, ?,
                       file, line
                FROM {records} WHERE reason IS NULL""", [name, src.country, src.unit, src.stage])
        con.execute(f"""
            INSERT INTO offence_counts
            SELECT ?, ?, area, iccs_code, national_code, year(occurred_on), {month}, ?, ?, sum(count)
            FROM {records} WHERE reason IS NULL GROUP BY ALL""", [name, src.country, src.unit, src.stage])
        con.execute(f"""
            INSERT INTO quarantine
            SELECT ?, file, line, reason, detail, raw, ? FROM {records} WHERE reason IS NOT NULL
            UNION ALL
            SELECT ?, file, line, 'malformed_line', error_type || ': ' || message, csv_line, ? FROM {rejects}""",
                    [name, run_id, name, run_id])
        loaded = con.execute(f"SELECT count(*) FROM {records} WHERE reason IS NULL").fetchone()[0]
        reasons = dict(con.execute(
            "SELECT reason, count(*) FROM quarantine WHERE source = ? GROUP BY reason ORDER BY 2 DESC", [name]
        ).fetchall())
        quarantined = sum(reasons.values())
        records_in = (con.execute(f"SELECT count(*) FROM {records}").fetchone()[0]
                      + con.execute(f"SELECT count(*) FROM {rejects}").fetchone()[0])
        files = con.execute(f"SELECT count(DISTINCT file) FROM {records}").fetchone()[0]
        con.execute("INSERT INTO runs VALUES (?, ?, ?, now()::TIMESTAMP, ?, ?, ?, ?, ?)",
                    [run_id, name, started_at, records_in, loaded, quarantined, files, "loaded"])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return LoadSummary(run_id=run_id, records_in=records_in, records_loaded=loaded,
                       records_quarantined=quarantined, reasons=reasons, files=files)


def register_source(con: duckdb.DuckDBPyConnection, src: SourceConfig, config_path: str) -> None:
    con.execute("DELETE FROM sources WHERE source = ?", [src.name])
    con.execute("INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [src.name, src.country, src.level, src.unit, src.stage, src.period, src.description, src.files,
                 str(src.correspondence), config_path])
