"""Read a source's files into a staging table as text, line numbers kept, malformed lines set aside.

Every value is read as VARCHAR so that nothing is lost to type inference: typing, checks and mapping happen
afterwards in SQL, where each failure becomes a quarantine reason. DuckDB's CSV reader stores the lines it
cannot parse (wrong number of fields, broken quoting, bad encoding, an over-long line) in its rejects tables;
they are kept too, so every input record is either a staged row or a rejected line.

DuckDB reads csv, tsv, parquet and gzip directly. What it cannot read is first turned into a temporary plain
file, removed when staging ends: ``.bz2`` is decompressed and ``.zip`` members extracted (by the standard
library, in C-speed chunks), and an ``.xlsx`` sheet is written as CSV with openpyxl (the one per-row step;
DuckDB's excel extension would need a download). Reshaping happens in SQL: a ``wide`` layout is an UNPIVOT,
Eurostat's bulk TSV is split with string functions.
"""

from __future__ import annotations

import bz2
import contextlib
import csv
import datetime as dt
import gzip
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from schemas.source_config import DEFAULT_JOINER, JOINERS, ReadOptions, SourceConfig

# DuckDB's default maximum line is 2 MB; a longer line is rejected (quarantined), not fatal, but real
# free-text fields can be long, so allow more before calling a line malformed.
MAX_LINE_BYTES = 16 * 1024 * 1024
_CHUNK = 16 * 1024 * 1024
_MEMBER_SUFFIXES = {"csv": (".csv", ".txt"), "tsv": (".tsv", ".tab", ".txt"), "eurostat": (".tsv",),
                    "parquet": (".parquet",), "xlsx": (".xlsx",)}
_DELIMITER_HINTS = (",", ";", "\t", "|")


class SourceError(ValueError):
    """A source cannot be read at all (missing file, missing column): one line naming file and field."""


@dataclass(frozen=True)
class StageSummary:
    files: tuple[str, ...]
    rows: int
    rejected_lines: int
    filtered_rows: int = 0

    @property
    def records_in(self) -> int:
        return self.rows + self.rejected_lines


@dataclass(frozen=True)
class Readable:
    """A file DuckDB can read: ``path`` on disk, ``shown`` as users know it (``data.zip/2020.csv``)."""

    shown: str
    path: Path


def raw_table(source: str) -> str:
    return f"staging.raw_{source}"


def rejects_table(source: str) -> str:
    return f"staging.rejects_{source}"


def skipped_table(source: str) -> str:
    """Blank lines: not records, but lines, so they count when a row's physical line is worked out."""
    return f"staging.skipped_{source}"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _duckdb_encoding(encoding: str) -> str:
    folded = encoding.lower().replace("_", "-")
    if folded in ("utf-8", "utf8", "utf-8-sig"):
        return "utf-8"
    if folded in ("latin-1", "latin1", "iso-8859-1", "windows-1252", "cp1252"):
        return "latin-1"
    return folded


def _python_encoding(encoding: str) -> str:
    folded = _duckdb_encoding(encoding)
    return "utf-8-sig" if folded == "utf-8" else folded


# ---------------------------------------------------------------------------------------------------------------
# Making a file readable


def _member_suffixes(opts: ReadOptions) -> tuple[str, ...]:
    return _MEMBER_SUFFIXES.get(opts.format, (".csv",))


@contextlib.contextmanager
def readable_files(path: Path, opts: ReadOptions, label: str) -> Iterator[list[Readable]]:
    """The plain files behind ``path`` (itself, a decompressed copy, zip members, a sheet as CSV), removed after."""
    if not path.is_file():
        raise SourceError(f"{path}: {label}: file not found")
    with tempfile.TemporaryDirectory(prefix="iccs-stage-") as work:
        yield _materialise(path, str(path), opts, Path(work), label)


def _materialise(path: Path, shown: str, opts: ReadOptions, work: Path, label: str) -> list[Readable]:
    suffix = path.suffix.lower()
    try:
        if suffix == ".bz2":
            target = work / path.stem
            with bz2.open(path, "rb") as source, target.open("wb") as sink:
                shutil.copyfileobj(source, sink, _CHUNK)
            return _materialise(target, shown, opts, work, label)
        if suffix == ".zip":
            return _unzip(path, shown, opts, work, label)
        if opts.format == "xlsx" and suffix != ".gz":
            return [Readable(shown, _xlsx_to_csv(path, opts, work / (path.stem + ".csv"), shown, label))]
    except (OSError, EOFError, zipfile.BadZipFile, ValueError) as exc:
        if isinstance(exc, SourceError):
            raise
        kind = {".bz2": "bzip2", ".zip": "zip"}.get(suffix, opts.format)
        raise SourceError(f"{shown}: {label}: cannot be read as {kind}: {exc}".splitlines()[0]) from None
    return [Readable(shown, path)]


def _unzip(path: Path, shown: str, opts: ReadOptions, work: Path, label: str) -> list[Readable]:
    suffixes = _member_suffixes(opts)
    found: list[Readable] = []
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
        wanted = sorted(n for n in names if n.lower().endswith(suffixes) or n.lower().endswith(
            tuple(s + c for s in suffixes for c in (".gz", ".bz2"))))
        if not wanted:
            raise SourceError(f"{shown}: {label}: the zip archive has no {'/'.join(suffixes)} member "
                              f"(members: {', '.join(names) or 'none'})")
        for index, name in enumerate(wanted):
            target = work / f"zip{index}" / Path(name).name
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(name) as source, target.open("wb") as sink:
                shutil.copyfileobj(source, sink, _CHUNK)
            found += _materialise(target, f"{shown}/{name}", opts, work, label)
    return found


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time(0) else value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _xlsx_to_csv(path: Path, opts: ReadOptions, target: Path, shown: str, label: str) -> Path:
    """One sheet as a UTF-8 CSV, row for row, so sheet row numbers stay the line numbers."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a file that is not a workbook
        raise SourceError(f"{shown}: {label}: cannot be read as xlsx: {type(exc).__name__}: {exc}".splitlines()[0]
                          ) from None
    try:
        if opts.sheet is not None and opts.sheet not in book.sheetnames:
            raise SourceError(f"{shown}: {label}: field 'sheet': no sheet '{opts.sheet}' "
                              f"(sheets: {', '.join(book.sheetnames)})")
        sheet = book[opts.sheet] if opts.sheet is not None else book.worksheets[0]
        with target.open("w", encoding="utf-8", newline="") as sink:
            writer = csv.writer(sink, delimiter=opts.delimiter, lineterminator="\n")
            pending = 0  # empty rows are written only when a non-empty row follows (trailing ones are formatting)
            for row in sheet.iter_rows(values_only=True):
                cells = [_cell_text(v) for v in row]
                if not any(cells):
                    pending += 1
                    continue
                writer.writerows([[""] * len(cells)] * pending)
                pending = 0
                writer.writerow(cells)
    finally:
        book.close()
    return target


# ---------------------------------------------------------------------------------------------------------------
# Reading one plain file as a relation of text columns


def _open_text(path: Path, encoding: str):
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rt", encoding=encoding, newline="")
    return path.open(encoding=encoding, newline="")


def _dedupe(header: list[str]) -> list[str]:
    """Unique column names the way pandas makes them ('Persons', 'Persons.1'; empty -> 'Unnamed: 8')."""
    seen: dict[str, int] = {}
    names = []
    for index, raw in enumerate(header):
        name = raw if raw.strip() else f"Unnamed: {index}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        names.append(name)
    return names


def read_header(item: Readable, opts: ReadOptions, label: str) -> list[str]:
    """The header line, read directly: DuckDB's dialect sniffer gives up on small files with a malformed line,
    so the columns are given to it explicitly and nothing is sniffed."""
    try:
        with _open_text(item.path, _python_encoding(opts.encoding)) as handle:
            header = next(csv.reader(handle, delimiter=opts.delimiter), None)
    except UnicodeDecodeError as exc:
        raise SourceError(f"{item.shown}: {label}: line 1: not {opts.encoding} text ({exc.reason} at byte "
                          f"{exc.start}); set 'encoding' (e.g. latin-1) or check that this is a text file") from None
    except (OSError, EOFError, csv.Error) as exc:
        raise SourceError(f"{item.shown}: {label}: line 1: cannot read the header line: {exc}") from None
    if not header or not any(h.strip() for h in header):
        raise SourceError(f"{item.shown}: {label}: line 1: the file is empty or has no header line")
    return _dedupe(header)


def _delimiter_hint(header: list[str], opts: ReadOptions) -> str:
    if len(header) != 1:
        return ""
    for other in _DELIMITER_HINTS:
        if other != opts.delimiter and other in header[0]:
            return f"; the header has a single column: is the delimiter {other!r} rather than {opts.delimiter!r}?"
    return ""


def _csv_reader(item: Readable, opts: ReadOptions, header: list[str], rejects: bool) -> str:
    columns = "{" + ", ".join(f"{_quote(name)}: 'VARCHAR'" for name in header) + "}"
    options = [
        "header = true", "auto_detect = false", f"columns = {columns}", f"delim = {_quote(opts.delimiter)}",
        "quote = '\"'", "escape = '\"'", f"encoding = {_quote(_duckdb_encoding(opts.encoding))}",
        "strict_mode = true", "null_padding = false", f"max_line_size = {MAX_LINE_BYTES}",
    ]
    if rejects:
        options += ["store_rejects = true", "rejects_table = 'iccs_reject_errors'",
                    "rejects_scan = 'iccs_reject_scans'"]
    return f"read_csv({_quote(str(item.path))}, {', '.join(options)})"


def _eurostat_sql(base: str, header: list[str], item: Readable, label: str) -> tuple[str, list[str]]:
    """Split the key column into its dimensions and turn each period column into rows of (value, flag).

    ``12.5 p`` gives value 12.5 and flag p; ``: c`` gives no value and flag c (kept: the flag says why); a bare
    ``:`` (not available) is not a record.
    """
    key, *periods = header
    dims_part, _, time_name = key.partition("\\")
    dims = [d.strip() for d in dims_part.split(",")]
    if not time_name or not periods or not all(dims):
        raise SourceError(f"{item.shown}: {label}: line 1: not a Eurostat bulk TSV header (expected "
                          f"'dim1,dim2,...\\TIME_PERIOD' then one column per period, got {key!r})")
    time_name = time_name.strip()
    split = ", ".join(f"trim(string_split({_ident(key)}, ',')[{i + 1}]) AS {_ident(d)}" for i, d in enumerate(dims))
    renamed = ", ".join(f"{_ident(p)} AS {_ident(p.strip())}" for p in periods)
    on = ", ".join(_ident(p.strip()) for p in periods)
    cell = "trim(cell)"
    sql = f"""
        SELECT * EXCLUDE (cell), nullif(split_part({cell}, ' ', 1), ':') AS value,
               nullif(trim(regexp_replace({cell}, '^\\S+', '')), '') AS flag
        FROM (UNPIVOT (SELECT {split}, {renamed}, ordinal FROM ({base})) ON {on}
              INTO NAME {_ident(time_name)} VALUE cell)
        WHERE {cell} <> ':'"""
    return sql, [*dims, time_name, "value", "flag"]


def _wide_sql(base: str, columns: list[str], opts: ReadOptions, item: Readable, label: str) -> tuple[str, list[str]]:
    pattern = re.compile(opts.wide_columns or "")
    wide = [c for c in columns if c != "ordinal" and pattern.search(c)]
    if not wide:
        raise SourceError(f"{item.shown}: {label}: field 'wide.columns': {opts.wide_columns!r} matches no column "
                          f"(columns: {', '.join(columns)})")
    kept = [c for c in columns if c not in wide]
    for name in (opts.names_to, opts.values_to):
        if name in kept:
            raise SourceError(f"{item.shown}: {label}: field 'wide': '{name}' is already a column of the file; "
                              "choose other names_to/values_to")
    on = ", ".join(_ident(c) for c in wide)
    sql = (f"SELECT * FROM (UNPIVOT ({base}) ON {on} INTO NAME {_ident(opts.names_to)} "
           f"VALUE {_ident(opts.values_to)})")
    return sql, [*kept, opts.names_to, opts.values_to]


def relation_sql(con: duckdb.DuckDBPyConnection, item: Readable, opts: ReadOptions, label: str,
                 rejects: bool = False) -> tuple[str, list[str]]:
    """A SELECT over the file giving its columns as text plus ``ordinal`` (the record's position in the file,
    1 = first data row), reshaped for wide and Eurostat layouts; and the column names it gives."""
    if opts.format == "parquet":
        reader = f"read_parquet({_quote(str(item.path))}, file_row_number = true)"
        try:
            described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
        except duckdb.Error as exc:
            raise SourceError(f"{item.shown}: {label}: cannot be read as parquet: {str(exc).splitlines()[0]}") from None
        names = [row[0] for row in described if row[0] != "file_row_number"]
        cast = ", ".join(f"{_ident(n)}::VARCHAR AS {_ident(n)}" for n in names)
        base = f"SELECT {cast}, file_row_number + 1 AS ordinal FROM {reader}"
        header = names
    else:
        header = read_header(item, opts, label)
        base = f"SELECT *, row_number() OVER () AS ordinal FROM {_csv_reader(item, opts, header, rejects)}"
    if opts.format == "eurostat":
        return _eurostat_sql(base, header, item, label)
    if opts.layout == "wide":
        return _wide_sql(base, [*header, "ordinal"], opts, item, label)
    return base, header


def blank_lines(item: Readable) -> list[int]:
    """Line numbers of empty lines, which DuckDB skips: without them a later row's line would be off by one.

    Found with bytes.find over large chunks (C speed), not by iterating over lines."""
    opener = gzip.open if item.path.suffix.lower() == ".gz" else open
    found: list[int] = []
    line = 1
    tail = b""
    with opener(item.path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            data = tail + chunk
            start = 0
            for pattern in (b"\n\n", b"\n\r\n"):
                pos = data.find(pattern, start)
                while pos != -1:
                    found.append(line + data.count(b"\n", 0, pos + 1))
                    pos = data.find(pattern, pos + 1)
            keep = 2 if len(data) >= 2 else len(data)
            line += data.count(b"\n", 0, len(data) - keep)
            tail = data[len(data) - keep:]
    return sorted(set(found))


# ---------------------------------------------------------------------------------------------------------------
# Staging a source


def field_sql(src: SourceConfig, name: str) -> str | None:
    """The text of a standard field: a column, several columns joined, or a constant; None when not given."""
    if name in src.constants:
        return f"{_quote(src.constants[name])}::VARCHAR"
    columns = src.source_columns(name)
    if not columns:
        return None
    if len(columns) == 1:
        return f"{_ident(columns[0])}::VARCHAR"
    parts = ", ".join(f"nullif(trim({_ident(c)}::VARCHAR), '')" for c in columns)
    return f"concat_ws({_quote(JOINERS.get(name, DEFAULT_JOINER))}, {parts})"


def _filter_sql(src: SourceConfig) -> str:
    if not src.filters:
        return "true"
    return " AND ".join(f"trim({_ident(col)}::VARCHAR) IN ({', '.join(_quote(v) for v in values)})"
                        for col, values in src.filters)


def _check_columns(src: SourceConfig, item: Readable, present: list[str]) -> None:
    needed = [(f"columns.{field}", col) for field in src.columns for col in src.source_columns(field)]
    needed += [("filter", col) for col, _ in src.filters]
    missing = [(key, col) for key, col in needed if col not in present]
    if missing:
        key, column = missing[0]
        raise SourceError(f"{item.shown}: source '{src.name}': field '{key}': column '{column}' not in the file "
                          f"(columns: {', '.join(present)}){_delimiter_hint(present, src.read)}")


def stage_source(con: duckdb.DuckDBPyConnection, src: SourceConfig) -> StageSummary:
    """Replace the source's staging tables with the current content of its files."""
    paths = src.paths()
    if not paths:
        unset = re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", src.files)
        hint = f"; environment variable {unset[0]} is not set" if unset else ""
        raise SourceError(f"{src.files}: source '{src.name}': field 'files' matches no file "
                          f"(relative to {src.base_dir}){hint}")
    table, rejects, skipped = raw_table(src.name), rejects_table(src.name), skipped_table(src.name)
    con.execute("CREATE SCHEMA IF NOT EXISTS staging")
    con.execute(f"DROP TABLE IF EXISTS {table}; DROP TABLE IF EXISTS {rejects}; DROP TABLE IF EXISTS {skipped}")
    con.execute(f"CREATE TABLE {rejects} (file_index INTEGER, file VARCHAR, line BIGINT, error_type VARCHAR, "
                "message VARCHAR, csv_line VARCHAR)")
    con.execute(f"CREATE TABLE {skipped} (file_index INTEGER, line BIGINT)")
    shown: list[str] = []
    filtered = 0
    index = 0
    label = f"source '{src.name}'"
    for path in paths:
        with readable_files(path, src.read, label) as items:
            for item in items:
                filtered += _stage_file(con, src, item, index, table, rejects, skipped, first=index == 0)
                shown.append(item.shown)
                index += 1
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    rejected = con.execute(f"SELECT count(*) FROM {rejects}").fetchone()[0]
    return StageSummary(files=tuple(shown), rows=rows, rejected_lines=rejected, filtered_rows=filtered)


def _stage_file(con: duckdb.DuckDBPyConnection, src: SourceConfig, item: Readable, index: int, table: str,
                rejects: str, skipped: str, first: bool) -> int:
    """Append one file's records to the raw table; returns the rows the configuration's filter left out."""
    is_csv = src.format != "parquet"
    label = f"source '{src.name}'"
    body, present = relation_sql(con, item, src.read, label, rejects=is_csv)
    _check_columns(src, item, present)
    fields = [f for f in ("record_id", "date", "offence", "latitude", "longitude", "area", "count", "country", "flag")
              if field_sql(src, f) is not None]
    if src.format == "eurostat" and "flag" not in fields:
        fields.append("flag")
    selected = ", ".join(f"{field_sql(src, f) or _ident(f)} AS {f}_raw" for f in fields)
    cell = f"{_ident(src.names_to)}::VARCHAR" if src.layout == "wide" else "NULL::VARCHAR"
    if src.format == "eurostat":
        cell = f"{_ident(present[-3])}::VARCHAR"
    select = f"""
        SELECT {index} AS file_index, {_quote(item.shown)} AS file, ordinal, {cell} AS cell, {selected},
               {_filter_sql(src)} AS kept
        FROM ({body})"""
    if is_csv:
        # The rejects tables persist on the connection and accumulate across scans: start each file empty.
        con.execute("DROP TABLE IF EXISTS iccs_reject_errors; DROP TABLE IF EXISTS iccs_reject_scans")
    try:
        con.execute(f"{'CREATE TABLE ' + table + ' AS' if first else 'INSERT INTO ' + table} {select}")
    except duckdb.Error as exc:
        raise SourceError(f"{item.shown}: {label}: cannot be read as {src.format}: "
                          f"{str(exc).splitlines()[0]}") from None
    filtered = 0
    if src.filters:
        filtered = con.execute(f"SELECT count(*) FROM {table} WHERE file_index = ? AND NOT kept", [index]
                               ).fetchone()[0]
        con.execute(f"DELETE FROM {table} WHERE file_index = ? AND NOT kept", [index])
    if is_csv:
        con.execute(f"""
            INSERT INTO {rejects}
            SELECT {index}, {_quote(item.shown)}, line, string_agg(DISTINCT error_type::VARCHAR, '; '),
                   string_agg(DISTINCT error_message, '; '), any_value(csv_line)
            FROM iccs_reject_errors GROUP BY line""")
        blanks = blank_lines(item)
        if blanks:
            con.execute(f"INSERT INTO {skipped} SELECT {index}, unnest(?::BIGINT[])", [blanks])
    return filtered


def line_offsets_sql(source: str) -> str:
    """Thresholds that turn a parsed row's ordinal into its physical line (header = line 1).

    Lines that are not parsed rows are the rejected lines and the blank lines. The k-th such line of a file (in
    file order), at line L, comes after L - k - 1 parsed rows; so parsed row n is at line n + 1 + (number of such
    lines whose threshold is below n). Join with ASOF on ordinal > threshold.
    """
    return f"""
        SELECT file_index, line - row_number() OVER (PARTITION BY file_index ORDER BY line) - 1 AS threshold,
               row_number() OVER (PARTITION BY file_index ORDER BY line) AS skipped
        FROM (SELECT file_index, line FROM {rejects_table(source)}
              UNION ALL SELECT file_index, line FROM {skipped_table(source)})"""
