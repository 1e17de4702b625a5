"""Replace one landed file's facts, counts and quarantine in a single transaction.

A file is the unit of loading: a new monthly extract adds its rows, a corrected file replaces exactly its own
rows, and a crash at any point leaves the previous state (DuckDB rolls back an uncommitted transaction when the
file is next opened). Re-running the same input gives the same rows: never duplicates.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from schemas.source_config import SourceConfig
from warehouse.classify import counts_sql, records_table
from warehouse.staging import rejects_table
from warehouse.totals import record_load

# Fault injection for the crash-safety test: with this set to a path, the load writes that file once its
# deletes and inserts are done but not committed, then waits to be killed.
CRASH_TEST_PAUSE = "ICCS_CRASH_TEST_PAUSE"


@dataclass(frozen=True)
class LoadSummary:
    run_id: str
    file: str
    records_in: int
    records_loaded: int
    records_quarantined: int
    reasons: dict[str, int]
    seconds: float


def _pause_if_crash_test() -> None:
    marker = os.environ.get(CRASH_TEST_PAUSE)
    if marker:
        Path(marker).write_text("loading, not committed")
        time.sleep(600)


def load_file(con: duckdb.DuckDBPyConnection, src: SourceConfig, file: str, run_id: str,
              started_at: dt.datetime | None = None) -> LoadSummary:
    """Move the staged, classified records of ``file`` into the fact tables, replacing what that file gave before.

    A record whose id was already loaded from another file of the source is quarantined as a duplicate here:
    classification sees one file, the warehouse sees them all.
    """
    records, rejects = records_table(src.name), rejects_table(src.name)
    started_at = started_at or dt.datetime.now()
    clock = time.perf_counter()
    name = src.name
    con.execute("BEGIN TRANSACTION")
    try:
        for table in ("offences", "offence_counts", "quarantine"):
            con.execute(f"DELETE FROM {table} WHERE source = ? AND file = ?", [name, file])
        # Records whose id another file of the source already loaded: found by a join only when such files
        # exist, so a first or only file streams from the records table straight into the facts.
        if con.execute("SELECT count(*) FROM offences WHERE source = ?", [name]).fetchone()[0]:
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE load_duplicates AS
                SELECT r.file_index, r.line, r.cell, any_value(o.file) AS other_file,
                       any_value(o.row_number) AS other_line
                FROM {records} r JOIN offences o ON o.source = ? AND o.record_id = r.record_id
                WHERE r.reason IS NULL GROUP BY ALL""", [name])
            batch = f"""(SELECT r.*, d.other_file, d.other_line FROM {records} r LEFT JOIN load_duplicates d
                         ON d.file_index = r.file_index AND d.line = r.line AND d.cell IS NOT DISTINCT FROM r.cell)"""
        else:
            con.execute("CREATE OR REPLACE TEMP TABLE load_duplicates (other_file VARCHAR)")
            batch = f"(SELECT *, NULL::VARCHAR AS other_file, NULL::BIGINT AS other_line FROM {records})"
        if src.level == "incident":
            con.execute(f"""
                INSERT INTO offences
                SELECT ?, country, record_id, occurred_on, national_code, iccs_code, area, latitude, longitude, ?, ?,
                       file, line
                FROM {batch} WHERE reason IS NULL AND other_file IS NULL""",
                        [name, src.unit, src.stage])
        con.execute(f"""
            INSERT INTO offence_counts (source, country, area, iccs_code, national_code, year, month, unit, stage,
                                        count, file, flag)
            SELECT ?, country, area, iccs_code, national_code, year, month, ?, ?, count, file, flag
            FROM ({counts_sql(src, batch, "reason IS NULL AND other_file IS NULL")})""",
                    [name, src.unit, src.stage])
        record_load(con, src, file, batch, "reason IS NULL AND other_file IS NULL")
        con.execute(f"""
            INSERT INTO quarantine
            SELECT ?, file, line, reason, detail, raw, ? FROM {records} WHERE reason IS NOT NULL
            UNION ALL
            SELECT ?, file, line, 'duplicate_record_id',
                   'record id ''' || record_id || ''' already loaded from ' || parse_filename(other_file)
                       || ' line ' || other_line::VARCHAR,
                   to_json({{record_id: record_id, occurred_on: occurred_on, national_code: national_code,
                             area: area, latitude: latitude, longitude: longitude}})::VARCHAR, ?
            FROM {batch} WHERE reason IS NULL AND other_file IS NOT NULL
            UNION ALL
            SELECT ?, file, line, 'malformed_line', error_type || ': ' || message, csv_line, ? FROM {rejects}""",
                    [name, run_id, name, run_id, name, run_id])
        records_in, loaded = con.execute(f"""
            SELECT (SELECT count(*) FROM {records}) + (SELECT count(*) FROM {rejects}),
                   (SELECT count(*) FROM {records} WHERE reason IS NULL)
                   - (SELECT count(*) FROM load_duplicates)""").fetchone()
        reasons = dict(con.execute(
            "SELECT reason, count(*) FROM quarantine WHERE source = ? AND file = ? GROUP BY reason ORDER BY 2 DESC, 1",
            [name, file]).fetchall())
        quarantined = sum(reasons.values())
        seconds = time.perf_counter() - clock
        con.execute("INSERT INTO runs (run_id, source, file, started_at, finished_at, records_in, records_loaded, "
                    "records_quarantined, files, status) VALUES (?, ?, ?, ?, now()::TIMESTAMP, ?, ?, ?, 1, ?)",
                    [run_id, name, file, started_at, records_in, loaded, quarantined, "loaded"])
        con.execute("DROP TABLE load_duplicates")
        _pause_if_crash_test()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return LoadSummary(run_id=run_id, file=file, records_in=records_in, records_loaded=loaded,
                       records_quarantined=quarantined, reasons=reasons, seconds=seconds)


def prune_files(con: duckdb.DuckDBPyConnection, source: str, keep: list[str]) -> int:
    """Remove the rows of files that no longer match the source's `files` pattern, and record each such file in
    `runs` with status 'pruned' (no longer its last 'loaded' state); returns the rows removed."""
    removed = 0
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("""
            INSERT INTO runs (run_id, source, file, started_at, finished_at, records_in, records_loaded,
                              records_quarantined, files, status)
            SELECT 'prune-' || strftime(now(), '%Y%m%dT%H%M%S'), ?, file, now()::TIMESTAMP, now()::TIMESTAMP,
                   0, 0, 0, 0, 'pruned'
            FROM (SELECT file FROM offence_counts WHERE source = ? UNION SELECT file FROM quarantine WHERE source = ?)
            WHERE file IS NOT NULL AND NOT list_contains(?, file)""", [source, source, source, keep])
        for table in ("offences", "offence_counts", "quarantine"):
            removed += con.execute(
                f"DELETE FROM {table} WHERE source = ? AND NOT list_contains(?, file)", [source, keep]).fetchone()[0]
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return removed


def register_source(con: duckdb.DuckDBPyConnection, src: SourceConfig, config_path: str) -> None:
    con.execute("DELETE FROM sources WHERE source = ?", [src.name])
    con.execute("INSERT INTO sources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [src.name, src.country, src.level, src.unit, src.stage, src.period, src.description, src.files,
                 str(src.correspondence), config_path])
