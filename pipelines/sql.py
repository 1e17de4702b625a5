"""Ad-hoc SQL on the warehouse, read-only and bounded: a table, CSV or JSON on stdout, one clear line for every
refusal.

A query typed by a user must not take the machine or the warehouse with it: it runs with a memory cap, a cap on
the disk it may spill to, and a time limit (a timer interrupts it), with DuckDB's configuration locked so that
``SET memory_limit`` cannot lift them. Rows are streamed in batches, never materialised: the table format fetches
only the rows it shows, CSV and JSON write each batch as it arrives. A running query keeps the file from writers
(DuckDB allows no writer beside a reader), so the time limit also bounds how long a load waits.
"""

from __future__ import annotations

import base64
import json
import math
import os
import re
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv

from warehouse.connection import Warehouse, WarehouseBusyError, connect, shown, spill_dir
from warehouse.sql import ident

BATCH_ROWS = 10_000
_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*$", re.IGNORECASE)
# Types written as they are; anything else (LIST, STRUCT, MAP, INTERVAL, UNION, BIT, ...) is turned into text for
# CSV, which has no nested values. JSON keeps lists and structs; the types JSON cannot hold become text.
_CSV_SCALARS = {
    "boolean",
    "tinyint",
    "smallint",
    "integer",
    "bigint",
    "utinyint",
    "usmallint",
    "uinteger",
    "ubigint",
    "hugeint",
    "float",
    "double",
    "decimal",
    "varchar",
    "date",
    "timestamp",
    "timestamp_s",
    "timestamp_ms",
    "timestamp_ns",
    "timestamp with time zone",
    "time",
    "uuid",
}
_AS_TEXT_IN_JSON = {"interval", "map", "union", "bit", "uhugeint", "bignum", "time with time zone", "enum"}


class UsageError(ValueError):
    """A limit given on the command line or in the environment is not a valid value."""


@dataclass(frozen=True)
class Limits:
    """What one ad-hoc query may use. Environment: ICCS_SQL_MEMORY, ICCS_SQL_TEMP, ICCS_SQL_TIMEOUT."""

    memory: str = "1GB"
    temp: str = "4GB"
    seconds: float = 60.0

    @classmethod
    def from_env(cls, memory: str | None = None, temp: str | None = None, seconds: float | None = None) -> Limits:
        """Flags first, then the environment, then the defaults; raises UsageError naming a bad value."""
        env = os.environ
        limits = cls(
            memory=memory or env.get("ICCS_SQL_MEMORY") or cls.memory,
            temp=temp or env.get("ICCS_SQL_TEMP") or cls.temp,
            seconds=_seconds(seconds if seconds is not None else env.get("ICCS_SQL_TIMEOUT", cls.seconds)),
        )
        for name, value in (
            ("--memory-limit/ICCS_SQL_MEMORY", limits.memory),
            ("--temp-limit/ICCS_SQL_TEMP", limits.temp),
        ):
            if not _SIZE.match(value):
                raise UsageError(f"{name}: {value!r} is not a size such as 500MB or 2GB")
        return limits

    def settings(self, spill: Path) -> dict[str, object]:
        return {
            "memory_limit": self.memory,
            "max_temp_directory_size": self.temp,
            "temp_directory": str(spill),
            "lock_configuration": True,
        }


def _seconds(value: object) -> float:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise UsageError(f"--timeout/ICCS_SQL_TIMEOUT: {value!r} is not a number of seconds") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise UsageError(f"--timeout/ICCS_SQL_TIMEOUT: {value!r} must be a positive number of seconds")
    return seconds


def _fail(message: str) -> int:
    print(f"iccs: {message}", file=sys.stderr)
    return 1


def _open(warehouse: Warehouse, limits: Limits) -> duckdb.DuckDBPyConnection | str:
    """A read-only, sandboxed, bounded connection (the query can read the warehouse and nothing else), or the
    one-line reason there is none."""
    try:
        return connect(warehouse, read_only=True, sandboxed=True, settings=limits.settings(spill_dir(warehouse)))
    except (FileNotFoundError, WarehouseBusyError) as exc:
        return str(exc)
    except duckdb.Error as exc:
        text = str(exc).splitlines()[0]
        return text if text.startswith(shown(warehouse)) else f"{shown(warehouse)}: {text}"


@contextmanager
def _deadline(con: duckdb.DuckDBPyConnection, seconds: float) -> Iterator[threading.Event]:
    """Interrupt the connection's query after ``seconds``; the event tells that it was the timer that stopped it."""
    fired = threading.Event()

    def stop() -> None:
        fired.set()
        con.interrupt()

    timer = threading.Timer(seconds, stop)
    timer.daemon = True
    timer.start()
    try:
        yield fired
    finally:
        timer.cancel()


# Statements that write or read files, or load code, whatever the file: refused before DuckDB runs them (on a lake
# the data folder must stay readable, so the sandbox alone would let COPY TO write there).
_FILES = {
    duckdb.StatementType.COPY,
    duckdb.StatementType.COPY_DATABASE,
    duckdb.StatementType.EXPORT,
    duckdb.StatementType.ATTACH,
    duckdb.StatementType.DETACH,
    duckdb.StatementType.LOAD,
}


def _refusal(text: str, limits: Limits) -> str:
    """DuckDB's refusal or limit, said in terms of `iccs sql` and how to change it."""
    lowered = text.lower()
    if "read-only" in text or "read_only" in text:
        return f"the warehouse is read-only from `iccs sql`: the pipeline alone writes it (refused: {text})"
    if "disabled by config" in text or "external access" in lowered:
        return (
            "`iccs sql` reads the warehouse only: no other files, no extensions (use --format csv and redirect "
            f"to export) (refused: {text})"
        )
    if "configuration has been locked" in lowered:
        return (
            "`iccs sql` cannot change DuckDB settings: its limits are fixed for the query; change them with "
            f"--memory-limit, --temp-limit and --timeout (or ICCS_SQL_MEMORY, ICCS_SQL_TEMP, ICCS_SQL_TIMEOUT) "
            f"(refused: {text})"
        )
    if "max_temp_directory_size" in lowered or "temp directory" in lowered or "offload" in lowered:
        return (
            f"the query needs more than the {limits.temp} of disk `iccs sql` may spill to (--temp-limit or "
            f"ICCS_SQL_TEMP; a LIMIT or a narrower query needs less) ({text})"
        )
    if "out of memory" in lowered:
        return (
            f"the query needs more than the {limits.memory} of memory `iccs sql` may use (--memory-limit or "
            f"ICCS_SQL_MEMORY; a LIMIT or a narrower query needs less) ({text})"
        )
    return text


def print_query(
    warehouse: Warehouse,
    query: str,
    fmt: str = "table",
    max_rows: int = 100,
    params: list[object] | None = None,
    max_width: int = 60,
    limits: Limits | None = None,
) -> int:
    """Run one query and print its rows; 0 on success, 1 with one line on stderr otherwise."""
    limits = limits or Limits.from_env()
    con = _open(warehouse, limits)
    if isinstance(con, str):
        return _fail(con)
    try:
        kinds = {statement.type for statement in con.extract_statements(query)}
    except duckdb.Error:
        kinds = set()  # DuckDB says what is wrong with it when it runs
    if kinds & _FILES:
        con.close()
        return _fail(
            "`iccs sql` reads the warehouse only: no other files, no extensions (use --format csv and redirect to "
            f"export) (refused: {', '.join(sorted(k.name for k in kinds & _FILES))})"
        )
    try:
        with con, _deadline(con, limits.seconds) as fired:
            try:
                relation = con.sql(query, params=params or None)
                if relation is None:
                    return 0
                relation = _printable(relation, fmt)
                reader = relation.to_arrow_reader(BATCH_ROWS)
                if fmt == "csv":
                    _write_csv(reader)
                elif fmt == "json":
                    _write_json(reader)
                else:
                    _print_table(reader, max_rows, max_width)
            except (duckdb.Error, pa.ArrowException, OSError) as exc:
                if isinstance(exc, BrokenPipeError):
                    raise
                if fired.is_set():
                    return _fail(
                        f"the query ran longer than the {limits.seconds:g} s `iccs sql` allows and was "
                        "stopped (--timeout or ICCS_SQL_TIMEOUT; while it runs, loads wait for the file)"
                    )
                return _fail(_refusal(str(exc).splitlines()[0], limits))
    finally:
        shutil.rmtree(spill_dir(warehouse), ignore_errors=True)
    return 0


def _printable(relation: duckdb.DuckDBPyRelation, fmt: str) -> duckdb.DuckDBPyRelation:
    """The relation with the columns the output cannot hold as they are cast to text (done by DuckDB)."""
    exprs, changed = [], False
    for name, kind in zip(relation.columns, relation.types, strict=True):
        quoted = ident(name)
        as_text = kind.id not in _CSV_SCALARS if fmt == "csv" else kind.id in _AS_TEXT_IN_JSON
        exprs.append(f"CAST({quoted} AS VARCHAR) AS {quoted}" if as_text else quoted)
        changed |= as_text
    return relation.project(", ".join(exprs)) if changed else relation


def _write_csv(reader: pa.RecordBatchReader) -> None:
    writer = None
    for batch in reader:
        if writer is None:
            writer = pacsv.CSVWriter(sys.stdout.buffer, batch.schema)
        writer.write_batch(batch)
    if writer is None:  # no rows: the header alone
        pacsv.write_csv(reader.schema.empty_table(), sys.stdout.buffer)
    else:
        writer.close()
    sys.stdout.buffer.flush()


def _json_value(value: object) -> object:
    """A value JSON can hold: NaN and infinities are null (JSON has no such numbers), bytes are base64."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


def _write_json(reader: pa.RecordBatchReader) -> None:
    """A JSON array of row objects, written batch by batch."""
    out = sys.stdout
    out.write("[")
    first = True
    for batch in reader:
        for row in batch.to_pylist():
            out.write(
                ("\n " if first else ",\n ")
                + json.dumps(_json_value(row), default=str, ensure_ascii=False, allow_nan=False)
            )
            first = False
    out.write("\n]\n")
    out.flush()


def _cell(value: object) -> str:
    """Display text: whole numbers without '.0', other numbers to 4 decimals (--format csv/json keep full values)."""
    if value is None:
        return ""
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.0f}" if value.is_integer() else f"{value:.4f}".rstrip("0")
    return str(value).replace("\n", " ")


def _head(reader: pa.RecordBatchReader, rows: int) -> tuple[dict[str, list[object]], bool]:
    """The first ``rows`` rows, and whether there are more; stops reading as soon as it knows."""
    columns: dict[str, list[object]] = {name: [] for name in reader.schema.names}
    taken = 0
    for batch in reader:
        part = batch.slice(0, rows + 1 - taken).to_pydict()
        for name in columns:
            columns[name].extend(part[name])
        taken += min(batch.num_rows, rows + 1 - taken)
        if taken > rows:
            break
    more = taken > rows
    return {name: values[:rows] for name, values in columns.items()}, more


def _print_table(reader: pa.RecordBatchReader, max_rows: int, max_width: int = 60) -> None:
    """Aligned plain text; long cells are cut so a row stays on one line. Only the rows shown are fetched."""
    columns, more = _head(reader, max_rows)
    names = list(columns)
    shown = len(columns[names[0]]) if names else 0
    cells = {n: [_cell(v) for v in columns[n]] for n in names}
    cells = {n: [c if len(c) <= max_width else c[: max_width - 3] + "..." for c in vals] for n, vals in cells.items()}
    widths = {n: max([len(n), *map(len, cells[n])]) for n in names}
    print("  ".join(n.ljust(widths[n]) for n in names))
    print("  ".join("-" * widths[n] for n in names))
    for i in range(shown):
        print("  ".join(cells[n][i].ljust(widths[n]) for n in names))
    if more:
        print(
            f"(first {shown:,} rows shown; the query has more: add a LIMIT, raise --max-rows, or export all with "
            "--format csv)"
        )
    else:
        print(f"({shown:,} row{'s' if shown != 1 else ''})")


def print_tables(warehouse: Warehouse) -> int:
    """Tables and views of the main schema with the descriptions the warehouse carries as comments."""
    query = """
        SELECT table_name AS name, 'table' AS kind, comment AS description FROM duckdb_tables()
        WHERE database_name = current_database() AND schema_name = 'main'
        UNION ALL
        SELECT view_name, 'view', comment FROM duckdb_views()
        WHERE database_name = current_database() AND schema_name = 'main' AND NOT internal
        ORDER BY kind, name"""
    return print_query(warehouse, query, "table", 1000, max_width=200)
