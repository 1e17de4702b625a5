"""Why a landed file gave (almost) nothing: one line naming the reason, with a hint to fix it.

A file whose records are nearly all quarantined for one reason is almost always a configuration mistake (a
``date_format`` that matches none of the dates, the wrong offence column, a wrong delimiter), not bad data: the
run must fail and say so, even though every record is safe in quarantine.

Threshold: at least ``MIN_SHARE`` of a file's records quarantined for one reason, in a file of at least
``MIN_RECORDS`` records; or any file with records of which none loaded. ``excluded_offence`` is a deliberate
choice of the correspondence table, so it does not count towards the rule; a file where every record is
excluded is only a warning (an extract of offences outside ICCS is legitimate, but worth a look).
``missing_count`` is the publisher's choice: a cell published empty or suppressed ('..', ':', 'x') is how many
official tables mark small or unreleased figures, so a table of mostly suppressed cells (a year not yet
released, small areas) is a warning too, never a failed run.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from schemas.source_config import SourceConfig
from warehouse.staging import files_table, raw_table

MIN_SHARE = 0.99
MIN_RECORDS = 20
DELIBERATE = "excluded_offence"
SUPPRESSED = "missing_count"  # the source's own choice, like DELIBERATE: never counts towards failing the file
SHOWN_VALUES = 3


@dataclass(frozen=True)
class Diagnosis:
    """``text`` is one line; ``fatal`` False means a warning."""

    text: str
    fatal: bool


def _first_values(con: duckdb.DuckDBPyConnection, src: SourceConfig, field: str, file: str) -> list[str]:
    """The first distinct staged values of ``field`` in ``file`` (in file order), as read."""
    column = f"{field}_raw"
    table = raw_table(src.name)
    present = {r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()}
    if column not in present:
        return []
    rows = con.execute(
        f"""
        SELECT {column} FROM {table} WHERE {column} IS NOT NULL AND file_index IN (
            SELECT file_index FROM {files_table(src.name)} WHERE file = ? OR starts_with(file, ? || '/'))
        GROUP BY 1 ORDER BY min(file_index), min(ordinal) LIMIT {SHOWN_VALUES}""",
        [file, file],
    ).fetchall()
    return [str(r[0]) for r in rows]


def _hint(con: duckdb.DuckDBPyConnection, src: SourceConfig, file: str, reason: str, example: str) -> str:
    if reason == "invalid_date":
        seen = _first_values(con, src, "date", file)
        return (
            f"date_format '{src.date_format}' matches none of the values of column "
            f"'{src.columns.get('date', 'date')}'; first values seen: {', '.join(seen) or 'none'}"
        )
    if reason == "unmapped_offence":
        seen = _first_values(con, src, "offence", file)
        return (
            f"{src.correspondence.name} maps none of the codes of column '{src.columns.get('offence')}'; "
            f"first codes seen: {', '.join(seen) or 'none'} (is it the right column and table?)"
        )
    if reason == "malformed_line":
        return f"no line could be parsed (check 'delimiter', 'encoding' and quoting); e.g. {example}"
    if reason == "duplicate_record_id":
        return f"its record ids are already loaded (is this file a copy of another?); e.g. {example}"
    return f"e.g. {example}"


def diagnose(
    con: duckdb.DuckDBPyConnection,
    src: SourceConfig,
    file: str,
    records_in: int,
    records_loaded: int,
    reasons: dict[str, int],
) -> Diagnosis | None:
    """The diagnosis of one loaded file (its quarantine rows must be in place), or None when it is healthy."""
    if records_in == 0:
        return None
    judged = {reason: n for reason, n in reasons.items() if reason not in (DELIBERATE, SUPPRESSED)}
    top, count = max(judged.items(), key=lambda kv: kv[1], default=(None, 0))
    single = records_in >= MIN_RECORDS and count >= MIN_SHARE * records_in
    if top is not None and (single or (records_loaded == 0 and count == sum(judged.values()))):
        example = con.execute(
            "SELECT 'line ' || row_number || ': ' || detail FROM quarantine "
            "WHERE source = ? AND (file = ? OR starts_with(file, ? || '/')) AND reason = ? "
            "ORDER BY file, row_number LIMIT 1",
            [src.name, file, file, top],
        ).fetchone()
        hint = _hint(con, src, file, top, example[0] if example else "no detail")
        return Diagnosis(f"{count:,} of {records_in:,} records quarantined as {top}: {hint}", True)
    if records_loaded == 0 and judged:
        shown = ", ".join(f"{k} {v:,}" for k, v in sorted(reasons.items()))
        return Diagnosis(f"none of {records_in:,} records loaded ({shown})", True)
    if records_loaded == 0 and reasons.get(DELIBERATE) == records_in:
        return Diagnosis(
            f"all {records_in:,} records are excluded_offence: the correspondence table places every "
            "offence of this file outside ICCS",
            False,
        )
    missing = reasons.get(SUPPRESSED, 0)
    if missing and (
        (records_in >= MIN_RECORDS and missing >= MIN_SHARE * records_in)
        or (records_loaded == 0 and missing + reasons.get(DELIBERATE, 0) == records_in)
    ):
        return Diagnosis(
            f"{missing:,} of {records_in:,} cells have no usable count (missing or suppressed in the "
            f"file, kept in quarantine as {SUPPRESSED}); {records_loaded:,} loaded",
            False,
        )
    return None
