"""Replace one landed file's facts, counts and quarantine in a single transaction.

A file is the unit of loading: a new monthly extract adds its rows, a corrected file replaces exactly its own
rows, and a crash at any point leaves the previous state (DuckDB rolls back an uncommitted transaction when the
file is next opened). Re-running the same input gives the same rows: never duplicates.

The rows of a landed file carry its path, or ``<archive>/<member>`` for the members of a zip archive:
``FILE_MATCH`` selects both, so deleting, counting and pruning a landed file reach every row it gave.

A record id repeated across files of a source is loaded once: from the file whose path sorts first (within a
file, the earliest line wins, see ``classify``). The result depends only on the set of files present, not on
the order they arrived in; ``stale_files`` names the files whose stored duplicates no longer follow that rule
after another file changed or vanished, so the caller reloads them.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from iccs.disaggregations import VARIABLES
from schemas.source_config import SourceConfig
from warehouse.classify import records_table
from warehouse.counts import counts_sql, disaggregated_sql, totals_sql
from warehouse.disaggregation import DISAGGREGATED_COUNTS
from warehouse.replace import replace_rows
from warehouse.staging import files_table, rejects_table
from warehouse.totals import record_load
from warehouse.transaction import transaction

# Called with the file's path once its deletes, inserts and checks are done, just before the commit; None in
# production. The crash-safety test sets it to pause there and be killed.
before_commit: Callable[[str], None] | None = None

# The rows of one landed file: the file itself or, for an archive, its members ('x.zip/a.csv'). Two parameters.
FILE_MATCH = "(file = ? OR starts_with(file, ? || '/'))"
# Quarantined as a duplicate of a record loaded from another file (the detail written by ``load_file``): these
# are the rows a change elsewhere can turn back into facts.
CROSS_FILE_DUPLICATE = "reason = 'duplicate_record_id' AND starts_with(detail, 'record id ''')"


class LoadBlocked(RuntimeError):
    """A blocking check failed inside the load transaction: it was rolled back, the warehouse is unchanged."""


@dataclass(frozen=True)
class LoadSummary:
    run_id: str
    file: str
    records_in: int
    records_loaded: int
    records_quarantined: int
    reasons: dict[str, int]
    seconds: float
    records_filtered: int = 0


def file_params(file: str) -> list[str]:
    """The parameters of ``FILE_MATCH`` for ``file``."""
    return [file, file]


def cross_file_ids(src: SourceConfig) -> bool:
    """Whether record ids mean something across files: only ids read from the data do (a source without a
    record id column numbers its records by file name and line, which two folders can share)."""
    return src.level == "incident" and "record_id" in src.columns


def load_file(
    con: duckdb.DuckDBPyConnection,
    src: SourceConfig,
    file: str,
    run_id: str,
    started_at: dt.datetime | None = None,
    records_filtered: int = 0,
    verify: Callable[[duckdb.DuckDBPyConnection], list[str]] | None = None,
) -> LoadSummary:
    """Move the staged, classified records of ``file`` into the fact tables, replacing what that file gave before.

    A record whose id is loaded from another file of the source whose path sorts before this record's is
    quarantined as a duplicate here: classification sees one file, the warehouse sees them all. ``verify`` runs
    inside the transaction, before the commit; the failures it returns (one line each, naming the check) roll
    the load back and raise ``LoadBlocked``.
    """
    rejects = rejects_table(src.name)
    # the classified records with their file's path, joined as they stream (the scratch table holds the index)
    records = f"(SELECT r.*, f.file FROM {records_table(src.name)} r JOIN {files_table(src.name)} f USING (file_index))"
    started_at = started_at or dt.datetime.now()
    clock = time.perf_counter()
    name = src.name
    with transaction(con):
        for table in ("offences", "offence_counts", DISAGGREGATED_COUNTS, "quarantine"):
            con.execute(f"DELETE FROM {table} WHERE source = ? AND {FILE_MATCH}", [name, *file_params(file)])
        # Records whose id a file sorting earlier already loaded: found by a join only when such files can
        # exist, so a first or only file streams from the records table straight into the facts.
        if cross_file_ids(src) and con.execute("SELECT count(*) FROM offences WHERE source = ?", [name]).fetchone()[0]:
            con.execute(
                f"""
                CREATE OR REPLACE TEMP TABLE load_duplicates AS
                SELECT r.file_index, r.line, r.cell, arg_min(o.file, (o.file, o.row_number)) AS other_file,
                       arg_min(o.row_number, (o.file, o.row_number)) AS other_line
                FROM {records} r JOIN offences o ON o.source = ? AND o.record_id = r.record_id AND o.file < r.file
                WHERE r.reason IS NULL GROUP BY ALL""",
                [name],
            )
            batch = f"""(SELECT r.*, d.other_file, d.other_line FROM {records} r LEFT JOIN load_duplicates d
                         ON d.file_index = r.file_index AND d.line = r.line AND d.cell IS NOT DISTINCT FROM r.cell)"""
        else:
            con.execute("CREATE OR REPLACE TEMP TABLE load_duplicates (other_file VARCHAR)")
            batch = f"(SELECT *, NULL::VARCHAR AS other_file, NULL::BIGINT AS other_line FROM {records})"
        if src.level == "incident":
            given = ", ".join(v if v in src.disaggregations else f"NULL AS {v}" for v in VARIABLES)
            con.execute(
                f"""
                INSERT INTO offences (source, country, record_id, occurred_on, national_code, iccs_code, area,
                                      latitude, longitude, unit, stage, file, row_number, {", ".join(VARIABLES)})
                SELECT ?, country, record_id, occurred_on, national_code, iccs_code, area, latitude, longitude, ?, ?,
                       file, line, {given}
                FROM {batch} WHERE reason IS NULL AND other_file IS NULL""",
                [name, src.unit, src.stage],
            )
        counts, counts_params = counts_sql(src, batch, "reason IS NULL AND other_file IS NULL"), []
        if src.disaggregations:
            con.execute(
                f"""
                INSERT INTO {DISAGGREGATED_COUNTS} (source, country, area, iccs_code, national_code, year, month,
                                                   unit, stage, {", ".join(VARIABLES)}, count, file, flag)
                SELECT ?, country, area, iccs_code, national_code, year, month, ?, ?, {", ".join(VARIABLES)},
                       count, file, flag
                FROM ({disaggregated_sql(src, batch, "reason IS NULL AND other_file IS NULL")})""",
                [name, src.unit, src.stage],
            )
            # the totals from the cells just written, not from the records grouped a second time
            counts = totals_sql(src, f"(SELECT * FROM {DISAGGREGATED_COUNTS} WHERE source = ? AND {FILE_MATCH})")
            counts_params = [name, *file_params(file)]
        con.execute(
            f"""
            INSERT INTO offence_counts (source, country, area, iccs_code, national_code, year, month, unit, stage,
                                        count, file, flag)
            SELECT ?, country, area, iccs_code, national_code, year, month, ?, ?, count, file, flag
            FROM ({counts})""",
            [name, src.unit, src.stage, *counts_params],
        )
        record_load(con, src, file, batch, "reason IS NULL AND other_file IS NULL")
        con.execute(
            f"""
            INSERT INTO quarantine (source, file, row_number, reason, detail, raw, run_id, national_code, exclusion,
                                    exclusion_note)
            SELECT ?, file, line, reason, detail, raw, ?, national_code, exclusion, exclusion_note
            FROM {records} WHERE reason IS NOT NULL
            UNION ALL
            SELECT ?, file, line, 'duplicate_record_id',
                   'record id ''' || record_id || ''' already loaded from ' || parse_filename(other_file)
                       || ' line ' || other_line::VARCHAR,
                   to_json({{record_id: record_id, occurred_on: occurred_on, national_code: national_code,
                             area: area, latitude: latitude, longitude: longitude}})::VARCHAR, ?,
                   national_code, NULL, NULL
            FROM {batch} WHERE reason IS NULL AND other_file IS NOT NULL
            UNION ALL
            SELECT ?, file, line, 'malformed_line', error_type || ': ' || message, csv_line, ?, NULL, NULL, NULL
            FROM {rejects}""",
            [name, run_id, name, run_id, name, run_id],
        )
        records_in, loaded = con.execute(f"""
            SELECT (SELECT count(*) FROM {records_table(name)}) + (SELECT count(*) FROM {rejects}),
                   (SELECT count(*) FROM {records_table(name)} WHERE reason IS NULL)
                   - (SELECT count(*) FROM load_duplicates)""").fetchone()
        reasons = dict(
            con.execute(
                f"SELECT reason, count(*) FROM quarantine WHERE source = ? AND {FILE_MATCH} GROUP BY reason "
                "ORDER BY 2 DESC, 1",
                [name, *file_params(file)],
            ).fetchall()
        )
        quarantined = sum(reasons.values())
        seconds = time.perf_counter() - clock
        con.execute(
            "INSERT INTO runs (run_id, source, file, started_at, finished_at, records_in, records_loaded, "
            "records_quarantined, records_filtered, files, status) "
            "VALUES (?, ?, ?, ?, now()::TIMESTAMP, ?, ?, ?, ?, 1, ?)",
            [run_id, name, file, started_at, records_in, loaded, quarantined, records_filtered, "loaded"],
        )
        con.execute("DROP TABLE load_duplicates")
        failures = verify(con) if verify is not None else []
        if failures:
            raise LoadBlocked(f"{file}: " + "; ".join(failures) + " (rolled back: the warehouse is unchanged)")
        if before_commit is not None:
            before_commit(file)
    return LoadSummary(
        run_id=run_id,
        file=file,
        records_in=records_in,
        records_loaded=loaded,
        records_quarantined=quarantined,
        reasons=reasons,
        seconds=seconds,
        records_filtered=records_filtered,
    )


_LANDED = """(SELECT file AS landed FROM runs WHERE source = $source GROUP BY file
                HAVING arg_max(status, finished_at) = 'loaded')"""
# A per-row list test, not a correlated subquery: DuckDB 1.5.5 plans ``EXISTS (… unnest(list) …)`` as a join
# holding every row's ``file`` in a hash table it cannot spill (Out of Memory at 10M rows; bench/README.md).
_IN_LIST = "(coalesce(len(list_filter({files}::VARCHAR[], lambda f: starts_with({column} || '/', f || '/'))), 0) > 0)"


def stale_files(con: duckdb.DuckDBPyConnection, src: SourceConfig, changed: list[str]) -> list[str]:
    """The landed files of ``src`` (as `runs` names them, in path order) whose rows break the cross-file
    duplicate rule now that the ``changed`` files were loaded or removed: a loaded record whose id a ``changed``
    file also loads from a path sorting earlier, or a record quarantined as a cross-file duplicate whose id no
    earlier file loads any more. Reloading them, first to last, gives the state a clean run would give."""
    if not cross_file_ids(src):
        return []
    params = {"source": src.name, "changed": changed}
    in_changed = _IN_LIST.format(files="$changed", column="file")
    # The common case, one file or files that share no id, is settled by two probes that stop at the first row.
    others, held = con.execute(
        f"""
        SELECT EXISTS (SELECT 1 FROM offences WHERE source = $source AND NOT {in_changed}),
               EXISTS (SELECT 1 FROM quarantine WHERE source = $source AND {CROSS_FILE_DUPLICATE})""",
        params,
    ).fetchone()
    if not others and not held:
        return []
    return [
        row[0]
        for row in con.execute(
            f"""
        WITH changed_ids AS (
            SELECT DISTINCT record_id FROM offences WHERE source = $source AND {in_changed}),
        wrong AS (
            SELECT o.file FROM offences o SEMI JOIN changed_ids c ON c.record_id = o.record_id
            WHERE o.source = $source
              AND EXISTS (SELECT 1 FROM offences p WHERE p.source = $source AND p.record_id = o.record_id
                          AND p.file < o.file)
            UNION ALL
            SELECT q.file FROM quarantine q
            WHERE q.source = $source AND {CROSS_FILE_DUPLICATE}
              AND NOT EXISTS (SELECT 1 FROM offences p WHERE p.source = $source
                              AND p.record_id = json_extract_string(q.raw, '$.record_id') AND p.file < q.file))
        SELECT DISTINCT l.landed FROM wrong w JOIN {_LANDED} l ON starts_with(w.file || '/', l.landed || '/')
        ORDER BY 1""",
            params,
        ).fetchall()
    ]


def prune_files(con: duckdb.DuckDBPyConnection, source: str, keep: list[str]) -> list[str]:
    """Remove the rows of landed files that are not in ``keep`` (the files the source's pattern matches now), and
    record each in `runs` with status 'pruned' (no longer its last 'loaded' state); returns the files removed."""
    with transaction(con):
        params = {"source": source, "keep": keep}
        gone = [
            row[0]
            for row in con.execute(
                f"""
            WITH stored AS (SELECT file FROM offence_counts WHERE source = $source
                            UNION SELECT file FROM quarantine WHERE source = $source)
            SELECT DISTINCT coalesce(l.landed, s.file) FROM stored s
            LEFT JOIN {_LANDED} l ON starts_with(s.file || '/', l.landed || '/')
            WHERE s.file IS NOT NULL AND NOT {_IN_LIST.format(files="$keep", column="s.file")}
            UNION SELECT landed FROM {_LANDED} WHERE NOT {_IN_LIST.format(files="$keep", column="landed")}
            ORDER BY 1""",
                params,
            ).fetchall()
        ]
        con.execute(
            """
            INSERT INTO runs (run_id, source, file, started_at, finished_at, records_in, records_loaded,
                              records_quarantined, records_filtered, files, status)
            SELECT 'prune-' || strftime(now(), '%Y%m%dT%H%M%S'), $source, unnest($gone::VARCHAR[]),
                   now()::TIMESTAMP, now()::TIMESTAMP, 0, 0, 0, 0, 0, 'pruned'""",
            {"source": source, "gone": gone},
        )
        for table in (
            "offences",
            "offence_counts",
            DISAGGREGATED_COUNTS,
            "quarantine",
            "nested_shortfalls",
            "contract_checks",
        ):
            con.execute(
                f"DELETE FROM {table} WHERE source = $source AND file IS NOT NULL "
                f"AND NOT {_IN_LIST.format(files='$keep', column='file')}",
                params,
            )
    return gone


def register_source(con: duckdb.DuckDBPyConnection, src: SourceConfig, config_path: str) -> None:
    """The source's row of `sources`, as configured now."""
    values = {
        "source": src.name,
        "country": src.country,
        "level": src.level,
        "unit": src.unit,
        "stage": src.stage,
        "period": src.period,
        "description": src.description,
        "files": src.files,
        "correspondence": str(src.correspondence),
        "config": config_path,
    }
    select = "SELECT " + ", ".join(f"${name}::VARCHAR AS {name}" for name in values)
    replace_rows(con, "sources", "source = $source", select, values)
