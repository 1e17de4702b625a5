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
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from schemas.source_config import DEFAULT_JOINER, JOINERS, ReadOptions, SourceConfig
from warehouse.sql import ident, literal, to_number

# DuckDB's default maximum line is 2 MB; a longer line is rejected (quarantined), not fatal, but real
# free-text fields can be long, so allow more before calling a line malformed.
MAX_LINE_BYTES = 16 * 1024 * 1024
_CHUNK = 16 * 1024 * 1024
MAX_HEADER_BYTES = 1024 * 1024
_MEMBER_SUFFIXES = {"csv": (".csv",), "tsv": (".tsv", ".tab", ".txt"), "eurostat": (".tsv",),
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
    # wide layout: columns of the file neither matched by the pattern nor read by a field, filter or exclude
    unused_columns: tuple[str, ...] = ()
    # aggregate long tables: (column, value, other values) where a column nothing reads holds a total-like value
    # ('Total' beside 'Hombre' and 'Mujer'): its rows are added to the parts they total
    unread_totals: tuple[tuple[str, str, str], ...] = ()

    @property
    def records_in(self) -> int:
        return self.rows + self.rejected_lines


@dataclass(frozen=True)
class Readable:
    """A file DuckDB can read: ``path`` on disk, ``shown`` as users know it (``data.zip/2020.csv``); ``utf8`` when
    ``path`` is a UTF-8 copy of a file in another encoding."""

    shown: str
    path: Path
    utf8: bool = False


def _encoding(item: Readable, opts: ReadOptions) -> str:
    return "utf-8" if item.utf8 else opts.encoding


def raw_table(source: str) -> str:
    return f"staging.raw_{source}"


def rejects_table(source: str) -> str:
    return f"staging.rejects_{source}"


def skipped_table(source: str) -> str:
    """Blank lines: not records, but lines, so they count when a row's physical line is worked out."""
    return f"staging.skipped_{source}"


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
        if _duckdb_encoding(opts.encoding) == "utf-16" and opts.format != "parquet":
            return [Readable(shown, _to_utf8(path, opts, work / f"utf8_{len(list(work.iterdir()))}.csv"), utf8=True)]
    except (OSError, EOFError, zipfile.BadZipFile, ValueError, zlib.error) as exc:
        if isinstance(exc, SourceError):
            raise
        kind = {".bz2": "bzip2", ".zip": "zip", ".gz": "gzip"}.get(suffix, opts.format)
        raise SourceError(f"{shown}: {label}: cannot be read as {kind}: {exc}".splitlines()[0]) from None
    return [Readable(shown, path)]


def _to_utf8(path: Path, opts: ReadOptions, target: Path) -> Path:
    """A UTF-8 copy of a UTF-16 text file (in large chunks): every later step reads lines as bytes split at
    0x0A, which in UTF-16 is half of a character."""
    with _open_text(path, _python_encoding(opts.encoding)) as source, target.open("w", encoding="utf-8",
                                                                                 newline="") as sink:
        shutil.copyfileobj(source, sink, _CHUNK)
    return target


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


def _first_line(item: Readable) -> bytes:
    opener = gzip.open if item.path.suffix.lower() == ".gz" else open
    with opener(item.path, "rb") as handle:
        line = handle.readline(MAX_HEADER_BYTES + 1)
    if len(line) > MAX_HEADER_BYTES:
        raise ValueError(f"no line break in the first {MAX_HEADER_BYTES // 1024} KB: not a delimited text file")
    return line


def read_header(item: Readable, opts: ReadOptions, label: str) -> list[str]:
    """The header line, read directly: DuckDB's dialect sniffer gives up on small files with a malformed line,
    so the columns are given to it explicitly and nothing is sniffed. Only line 1 is decoded here, so a badly
    encoded later line is DuckDB's to reject (and quarantine) at its own line."""
    try:
        raw = _first_line(item)
        text = raw.decode(_python_encoding(_encoding(item, opts)))
        header = next(csv.reader([text.rstrip("\r\n")], delimiter=opts.delimiter), None)
    except UnicodeDecodeError as exc:
        raise SourceError(f"{item.shown}: {label}: line 1: not {opts.encoding} text ({exc.reason} at byte "
                          f"{exc.start}); set 'encoding' (e.g. latin-1) or check that this is a text file") from None
    except (OSError, EOFError, ValueError, csv.Error) as exc:
        raise SourceError(f"{item.shown}: {label}: line 1: cannot read the header line: {exc}") from None
    if "\x00" in text:
        raise SourceError(f"{item.shown}: {label}: line 1: contains NUL bytes: not a delimited text file")
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


def _csv_reader(item: Readable, opts: ReadOptions, header: list[str], rejects: bool, has_header: bool = True) -> str:
    columns = "{" + ", ".join(f"{literal(name)}: 'VARCHAR'" for name in header) + "}"
    options = [
        f"header = {str(has_header).lower()}", "auto_detect = false", f"columns = {columns}",
        f"delim = {literal(opts.delimiter)}",
        "quote = '\"'", "escape = '\"'", f"encoding = {literal(_duckdb_encoding(_encoding(item, opts)))}",
        "strict_mode = true", "null_padding = false", f"max_line_size = {MAX_LINE_BYTES}",
    ]
    # Only the empty cell is NULL here: missing-value markers ('..', 'x', '-') are judged per numeric field in SQL
    # (warehouse.classify, population), so an area or offence code spelt like a marker stays a name.
    if rejects:
        options += ["store_rejects = true", "rejects_table = 'iccs_reject_errors'",
                    "rejects_scan = 'iccs_reject_scans'"]
    return f"read_csv({literal(str(item.path))}, {', '.join(options)})"


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
    split = ", ".join(f"trim(string_split({ident(key)}, ',')[{i + 1}]) AS {ident(d)}" for i, d in enumerate(dims))
    renamed = ", ".join(f"{ident(p)} AS {ident(p.strip())}" for p in periods)
    on = ", ".join(ident(p.strip()) for p in periods)
    cell = "trim(cell)"
    sql = f"""
        SELECT * EXCLUDE (cell), nullif(split_part({cell}, ' ', 1), ':') AS value,
               nullif(trim(regexp_replace({cell}, '^\\S+', '')), '') AS flag
        FROM (UNPIVOT (SELECT {split}, {renamed}, ordinal FROM ({base})) ON {on}
              INTO NAME {ident(time_name)} VALUE cell)
        WHERE {cell} <> ':'"""
    return sql, [*dims, time_name, "value", "flag"]


def _wide_sql(base: str, columns: list[str], opts: ReadOptions, item: Readable, label: str) -> tuple[str, list[str]]:
    pattern = re.compile(opts.wide_columns or "")
    wide = [c for c in columns if c != "ordinal" and pattern.search(c)]
    if not wide:
        shown = ", ".join(c for c in columns if c != "ordinal")
        raise SourceError(f"{item.shown}: {label}: field 'wide.columns': '{opts.wide_columns}' matches no column "
                          f"(columns: {shown})")
    kept = [c for c in columns if c not in wide]
    for name in (opts.names_to, opts.values_to):
        if name in kept:
            raise SourceError(f"{item.shown}: {label}: field 'wide': '{name}' is already a column of the file; "
                              "choose other names_to/values_to")
    on = ", ".join(ident(c) for c in wide)
    sql = (f"SELECT * FROM (UNPIVOT ({base}) ON {on} INTO NAME {ident(opts.names_to)} "
           f"VALUE {ident(opts.values_to)})")
    return sql, [*kept, opts.names_to, opts.values_to]


def relation_sql(con: duckdb.DuckDBPyConnection, item: Readable, opts: ReadOptions, label: str,
                 rejects: bool = False, header: list[str] | None = None, ordinal_base: int = 0
                 ) -> tuple[str, list[str]]:
    """A SELECT over the file giving its columns as text plus ``ordinal`` (the record's position in the file,
    1 = first data row), reshaped for wide and Eurostat layouts; and the column names it gives.

    With ``header`` given, the file has no header line (the rest of a file after a broken line) and its rows are
    numbered from ``ordinal_base`` + 1."""
    if opts.format == "parquet":
        reader = f"read_parquet({literal(str(item.path))}, file_row_number = true)"
        try:
            described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
        except duckdb.Error as exc:
            raise SourceError(f"{item.shown}: {label}: cannot be read as parquet: {str(exc).splitlines()[0]}") from None
        names = [row[0] for row in described if row[0] != "file_row_number"]
        cast = ", ".join(f"{ident(n)}::VARCHAR AS {ident(n)}" for n in names)
        base = f"SELECT {cast}, file_row_number + 1 AS ordinal FROM {reader}"
        header = names
    else:
        has_header = header is None
        header = read_header(item, opts, label) if header is None else header
        reader = _csv_reader(item, opts, header, rejects, has_header)
        base = f"SELECT *, row_number() OVER () + {int(ordinal_base)} AS ordinal FROM {reader}"
    if opts.format == "eurostat":
        return _eurostat_sql(base, header, item, label)
    if opts.layout == "wide":
        return _wide_sql(base, [*header, "ordinal"], opts, item, label)
    return base, header


def blank_lines(item: Readable) -> list[int]:
    """Line numbers of empty lines, which DuckDB skips: without them a later row's line would be off by one.

    Found from the positions of the newlines of large chunks (numpy), not by iterating over lines: a line is blank
    when the byte before its newline is a newline, or a carriage return after a newline."""
    opener = gzip.open if item.path.suffix.lower() == ".gz" else open
    found: list[int] = []
    line = 1  # the line that the chunk's first new byte belongs to
    tail = b""  # the last two bytes before the chunk, to see blank lines across a chunk boundary
    with opener(item.path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            data = np.frombuffer(tail + chunk, dtype=np.uint8)
            ends = np.flatnonzero(data == 10)
            ends = ends[ends >= len(tail)]
            before = ends >= 1
            blank = np.zeros(len(ends), dtype=bool)
            blank[before] = data[ends[before] - 1] == 10
            two = ends >= 2
            blank[two] |= (data[ends[two] - 1] == 13) & (data[ends[two] - 2] == 10)
            found.extend((line + np.flatnonzero(blank)).tolist())
            line += len(ends)
            tail = (tail + chunk)[-2:]
    return found


# ---------------------------------------------------------------------------------------------------------------
# Staging a source


def field_sql(src: SourceConfig, name: str) -> str | None:
    """The text of a standard field: a column, several columns joined, or a constant; None when not given."""
    if name in src.constants:
        return f"{literal(src.constants[name])}::VARCHAR"
    columns = src.source_columns(name)
    if not columns:
        return None
    if len(columns) == 1:
        return f"{ident(columns[0])}::VARCHAR"
    parts = ", ".join(f"nullif(trim({ident(c)}::VARCHAR), '')" for c in columns)
    return f"concat_ws({literal(JOINERS.get(name, DEFAULT_JOINER))}, {parts})"


def _filter_sql(opts: ReadOptions, prefix: str = "") -> str:
    """TRUE for the rows the configuration keeps (``filter``) and does not drop (``exclude``)."""
    def values(vals: tuple[str, ...]) -> str:
        return ", ".join(literal(v) for v in vals)
    kept = [f"coalesce(trim({prefix}{ident(c)}::VARCHAR) IN ({values(v)}), false)" for c, v in opts.filters]
    kept += [f"coalesce(trim({prefix}{ident(c)}::VARCHAR) NOT IN ({values(v)}), true)" for c, v in opts.excludes]
    return " AND ".join(kept) or "true"


def _check_columns(src: SourceConfig, item: Readable, present: list[str]) -> None:
    needed = [(f"columns.{field}", col) for field in src.columns for col in src.source_columns(field)]
    needed += [("filter", col) for col, _ in src.read.filters] + [("exclude", col) for col, _ in src.read.excludes]
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
    unused: dict[str, None] = {}
    totals: dict[tuple[str, str, str], None] = {}
    label = f"source '{src.name}'"
    for path in paths:
        with readable_files(path, src.read, label) as items:
            for item in items:
                filtered += _stage_file(con, src, item, index, table, rejects, skipped, first=index == 0,
                                        unused=unused)
                totals.update(dict.fromkeys(unread_total_values(con, src, item)))
                shown.append(item.shown)
                index += 1
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    rejected = con.execute(f"SELECT count(*) FROM {rejects}").fetchone()[0]
    return StageSummary(files=tuple(shown), rows=rows, rejected_lines=rejected, filtered_rows=filtered,
                        unused_columns=tuple(unused), unread_totals=tuple(totals))


# Values that name the total of a breakdown (case and surrounding spaces ignored).
TOTAL_VALUES = ("total", "totals", "todos", "todas", "all", "ambos sexos", "both sexes", "all ages", "all persons",
                "total general", "gesamt", "insgesamt", "ensemble", "tous", "totaal", "totale")
MAX_BREAKDOWN_VALUES = 50


def unread_total_values(con: duckdb.DuckDBPyConnection, src: SourceConfig, item: Readable
                        ) -> list[tuple[str, str, str]]:
    """(column, value, other values) for each column of an aggregate long table that no field, filter or exclude
    reads, has at most ``MAX_BREAKDOWN_VALUES`` values and holds one named like a total ('Total' beside
    'Hombre', 'Mujer'). Each cell is loaded, so the total's rows are added to the parts they total (SESNSP's
    victims by sex: 555,156 victims in 2015 for a published 295,890). One scan of the file."""
    if src.level != "aggregate" or src.read.layout == "wide" or src.read.format == "eurostat":
        return []
    body, present = relation_sql(con, item, src.read, f"source '{src.name}'")
    used = {col for field in src.columns for col in src.source_columns(field)}
    used |= {col for col, _ in src.read.filters} | {col for col, _ in src.read.excludes} | {"ordinal"}
    candidates = [c for c in present if c not in used]
    if not candidates:
        return []
    lists = ", ".join(f"list(DISTINCT trim({ident(c)}::VARCHAR)) FILTER (WHERE {ident(c)} IS NOT NULL)[:"
                      f"{MAX_BREAKDOWN_VALUES + 1}]" for c in candidates)
    try:
        values = con.execute(f"SELECT {lists} FROM ({body})").fetchone()
    except duckdb.Error:
        return []
    found = []
    for column, seen in zip(candidates, values, strict=True):
        seen = sorted(v for v in (seen or []) if v)
        if len(seen) < 2 or len(seen) > MAX_BREAKDOWN_VALUES:
            continue
        for value in seen:
            if value.lower() in TOTAL_VALUES:
                others = [v for v in seen if v != value]
                found.append((column, value, ", ".join(others[:5]) + (" ..." if len(others) > 5 else "")))
    return found


def unused_wide_columns(src: SourceConfig, present: list[str]) -> list[str]:
    """Columns a wide layout leaves behind: not matched by ``wide.columns``, not read by any field, filter or
    exclude. A value column whose name the pattern misses (a case mismatch, a renamed year) would otherwise
    vanish without a word."""
    if src.read.layout != "wide":
        return []
    used = {col for field in src.columns for col in src.source_columns(field)}
    used |= {col for col, _ in src.read.filters} | {col for col, _ in src.read.excludes}
    used |= {"ordinal", src.read.names_to, src.read.values_to}
    return [c for c in present if c not in used]


def _tail(item: Readable, after_line: int, work: Path) -> Readable:
    """The lines after ``after_line`` as a file of their own (found by counting newlines in large chunks)."""
    opener = gzip.open if item.path.suffix.lower() == ".gz" else open
    target = work / f"tail_{after_line}.csv"
    seen = 0
    with opener(item.path, "rb") as source, target.open("wb") as sink:
        while chunk := source.read(_CHUNK):
            if seen < after_line:
                newlines = chunk.count(b"\n")
                if seen + newlines < after_line:
                    seen += newlines
                    continue
                position = -1
                for _ in range(after_line - seen):
                    position = chunk.index(b"\n", position + 1)
                seen = after_line
                chunk = chunk[position + 1:]
            sink.write(chunk)
    return Readable(item.shown, target)


def _stage_file(con: duckdb.DuckDBPyConnection, src: SourceConfig, item: Readable, index: int, table: str,
                rejects: str, skipped: str, first: bool, unused: dict[str, None] | None = None) -> int:
    """Append one file's records to the raw table; returns the rows the configuration's filter left out.

    An unterminated quote makes DuckDB read on to the next quote character (often the end of the file) as one
    value and reject it as one 'line'. The records after it are not lost: the lines after the broken one are
    read again as a file of their own (same columns, line numbers carried on), so only the broken line is
    quarantined. A quoted value that legitimately spans lines is not affected: its quote is closed.
    """
    is_csv = src.read.format != "parquet"
    try:
        blanks = blank_lines(item) if is_csv else []
    except (OSError, EOFError, zlib.error) as exc:  # a truncated or damaged .gz
        raise SourceError(f"{item.shown}: source '{src.name}': cannot be read to the end: {exc} (a truncated or "
                          "damaged compressed file? download it again)") from None
    if blanks:
        con.execute(f"INSERT INTO {skipped} SELECT {index}, unnest(?::BIGINT[])", [blanks])
    with tempfile.TemporaryDirectory(prefix="iccs-tail-") as work:
        current, header, line_base, ordinal_base = item, None, 0, 0
        while True:
            names = _insert_pass(con, src, current, index, table, first and header is None, header, ordinal_base,
                                 unused)
            if not is_csv:
                break
            header = header or names
            broken = _store_rejects(con, rejects, index, item.shown, line_base)
            if broken is None:
                break
            # Everything before the broken line was parsed as usual: its rows are the first ``before`` of this
            # pass. What this pass made of the lines after it (a quote closed by a later line's quote, say) is
            # dropped and those lines are read again on their own.
            first_data = line_base + (2 if line_base == 0 else 1)
            not_rows = con.execute(
                f"""SELECT (SELECT count(*) FROM {rejects} WHERE file_index = ? AND line >= ? AND line < ?)
                         + (SELECT count(*) FROM {skipped} WHERE file_index = ? AND line >= ? AND line < ?)""",
                [index, first_data, broken, index, first_data, broken]).fetchone()[0]
            before = broken - first_data - not_rows
            con.execute(f"DELETE FROM {table} WHERE file_index = ? AND row_ordinal > ?",
                        [index, ordinal_base + before])
            con.execute(f"DELETE FROM {rejects} WHERE file_index = ? AND line > ?", [index, broken])
            current, line_base, ordinal_base = _tail(item, broken, Path(work)), broken, ordinal_base + before
    filtered = 0
    if src.read.filters or src.read.excludes:
        filtered = con.execute(f"SELECT count(*) FROM {table} WHERE file_index = ? AND NOT kept", [index]
                               ).fetchone()[0]
        con.execute(f"DELETE FROM {table} WHERE file_index = ? AND NOT kept", [index])
    if src.read.reshaped:
        # A reshaped row gives several records: ``ordinal`` numbers the records, ``row_ordinal`` (the parsed row,
        # which locates the physical line) stays shared by the cells of one row.
        con.execute(f"""
            UPDATE {table} SET ordinal = numbered.position
            FROM (SELECT row_ordinal AS r, cell AS c, row_number() OVER (ORDER BY row_ordinal, cell) AS position
                  FROM {table} WHERE file_index = ?) numbered
            WHERE file_index = ? AND row_ordinal = numbered.r AND cell IS NOT DISTINCT FROM numbered.c""",
                    [index, index])
    return filtered


def _insert_pass(con: duckdb.DuckDBPyConnection, src: SourceConfig, item: Readable, index: int, table: str,
                 create: bool, header: list[str] | None, ordinal_base: int,
                 unused: dict[str, None] | None = None) -> list[str]:
    """Read ``item`` into the raw table; returns the file's column names (before reshaping). ``header`` is given
    for the rest of a file after a broken line, which has no header line of its own."""
    is_csv = src.read.format != "parquet"
    label = f"source '{src.name}'"
    body, present = relation_sql(con, item, src.read, label, rejects=is_csv, header=header,
                                 ordinal_base=ordinal_base)
    header = header or (read_header(item, src.read, label) if is_csv else None)
    _check_columns(src, item, present)
    if unused is not None:
        unused.update(dict.fromkeys(unused_wide_columns(src, present)))
    fields = [f for f in ("record_id", "date", "offence", "latitude", "longitude", "area", "count", "country", "flag")
              if field_sql(src, f) is not None]
    if src.read.format == "eurostat" and "flag" not in fields:
        fields.append("flag")
    selected = ", ".join(f"{field_sql(src, f) or ident(f)} AS {f}_raw" for f in fields)
    cell = f"{ident(src.read.names_to)}::VARCHAR" if src.read.layout == "wide" else "NULL::VARCHAR"
    if src.read.format == "eurostat":
        cell = f"{ident(present[-3])}::VARCHAR"
    select = f"""
        SELECT {index} AS file_index, {literal(item.shown)} AS file, ordinal, ordinal AS row_ordinal,
               {cell} AS cell, {selected}, {_filter_sql(src.read)} AS kept
        FROM ({body})"""
    if is_csv:
        # The rejects tables persist on the connection and accumulate across scans: start each pass empty.
        con.execute("DROP TABLE IF EXISTS iccs_reject_errors; DROP TABLE IF EXISTS iccs_reject_scans")
    try:
        con.execute(f"{'CREATE TABLE ' + table + ' AS' if create else 'INSERT INTO ' + table} {select}")
    except duckdb.Error as exc:
        raise SourceError(f"{item.shown}: {label}: cannot be read as {src.read.format}: "
                          f"{str(exc).splitlines()[0]}") from None
    return header or []


def _store_rejects(con: duckdb.DuckDBPyConnection, rejects: str, index: int, shown: str, line_base: int
                   ) -> int | None:
    """Keep this pass's rejected lines (at their physical line); returns the line of an unterminated quote."""
    con.execute(f"""
        INSERT INTO {rejects}
        SELECT {index}, {literal(shown)}, line + {int(line_base)}, string_agg(DISTINCT error_type::VARCHAR, '; '),
               string_agg(DISTINCT error_message, '; '),
               CASE WHEN bool_or(error_type::VARCHAR = 'UNQUOTED VALUE')
                    THEN split_part(ltrim(any_value(csv_line), chr(10) || chr(13)), chr(10), 1)
                    ELSE any_value(csv_line) END
        FROM iccs_reject_errors GROUP BY line""")
    return con.execute("SELECT min(line) + ? FROM iccs_reject_errors WHERE error_type::VARCHAR = 'UNQUOTED VALUE'",
                       [line_base]).fetchone()[0]


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


# ---------------------------------------------------------------------------------------------------------------
# Population files: the same readers, for the denominators

POPULATION_STAGED = "population_staged"


def _lookup_table(lookup, alias: str) -> str:
    """A lookup file as (key, value) pairs, one value per key."""
    encoding = literal(_duckdb_encoding(lookup.encoding))
    return f"""(SELECT trim({ident(lookup.key)}::VARCHAR) AS {alias}_key,
                       min(trim({ident(lookup.value)}::VARCHAR)) AS {alias}_value
                FROM read_csv({literal(str(lookup.file))}, header = true, all_varchar = true,
                              delim = {literal(lookup.delimiter)}, encoding = {encoding})
                WHERE nullif(trim({ident(lookup.value)}::VARCHAR), '') IS NOT NULL GROUP BY 1)"""


def _population_columns(spec, item: Readable, present: list[str]) -> dict[str, str]:
    """The file column of each population field: as configured, or (``spec.implicit``) the column named like
    the field, case-insensitively; an absent implicit area means the file has national rows only."""
    col = dict(spec.columns)
    folded = {name.strip().lower(): name for name in present}
    for field in spec.implicit:
        if field in folded:
            col[field] = folded[field]
        elif field != "area":
            constant = " or give a constant" if field in ("country", "year") else ""
            raise SourceError(f"{item.shown}: population: field 'columns.{field}': no column named '{field}' in "
                              f"the file (columns: {', '.join(present)}){_delimiter_hint(present, spec.read)}; "
                              f"name its column with columns.{field}{constant}")
    needed = [(f"columns.{f}", c) for f, c in col.items()] + [("filter", c) for c, _ in spec.read.filters]
    needed += [("exclude", c) for c, _ in spec.read.excludes]
    missing = [(key, c) for key, c in needed if c not in present]
    if missing:
        key, column = missing[0]
        raise SourceError(f"{item.shown}: population: field '{key}': column '{column}' not in the file "
                          f"(columns: {', '.join(present)}){_delimiter_hint(present, spec.read)}")
    return col


def _line_sql(item: Readable, opts: ReadOptions) -> str:
    """A population row's physical line (header = line 1) from its ordinal: blank lines skipped by the reader
    are counted back in (the k-th blank line, at line L, comes after L - k - 1 rows)."""
    if opts.format == "parquet":
        return "ordinal + 1"
    thresholds = [line - k - 1 for k, line in enumerate(blank_lines(item), start=1)]
    if not thresholds:
        return "ordinal + 1"
    return f"ordinal + 1 + len(list_filter({thresholds}::BIGINT[], lambda t: t < ordinal))"


def _population_problem(spec, col: dict[str, str], country_problem: str) -> str:
    """SQL: what is wrong with a typed population row (the field and the value), NULL for a usable row."""
    def shown(field: str) -> str:
        return literal(col.get(field, f"{field} (constant)"))
    markers = ", ".join(literal(m) for m in spec.read.missing_markers)
    population = shown("population")
    return f"""CASE
        WHEN country IS NULL OR NOT regexp_full_match(country, '^[A-Z]{{3}}$')
            THEN {shown('country')} || ': ' || coalesce('''' || country_txt || ''' ', 'empty: ') || {country_problem}
        WHEN year IS NULL OR year NOT BETWEEN 1900 AND 2100
            THEN {shown('year')} || ': ' || coalesce('''' || year_txt || '''', 'empty') || ' is not a year'
        WHEN pop_txt IS NULL OR lower(pop_txt) IN ({markers})
            THEN {population} || ': ' || coalesce('''' || nullif(pop_txt, '') || '''', 'empty') || ' (missing)'
        WHEN population IS NULL THEN {population} || ': ''' || pop_txt || ''' is not a number'
        WHEN NOT isfinite(population) THEN {population} || ': ''' || pop_txt || ''' is not a finite number'
        WHEN population <= 0 THEN {population} || ': ''' || pop_txt || ''' is not a positive number'
    END"""


def _population_select(spec, item: Readable, body: str, present: list[str]) -> str:
    """Each row of one population file typed and judged: (country, area, year, population, file, line, reason,
    detail, raw). A row is rejected (``invalid_population``) when its country or year cannot be read or its
    figure is not a positive finite number (a missing marker, text, NaN, infinity, zero or negative); a row whose
    fields are all empty (a spacer row of a sheet) is not a row at all."""
    col = _population_columns(spec, item, present)
    joins = []
    if spec.country_lookup is not None:
        joins.append(f"LEFT JOIN {_lookup_table(spec.country_lookup, 'cl')} cl "
                     f"ON cl.cl_key = trim(p.{ident(col['country'])}::VARCHAR)")
        country = "upper(cl.cl_value)"
        country_problem = literal(f"is not in {spec.country_lookup.file.name} (country_lookup)")
    elif "country" in col:
        country = f"upper(trim(p.{ident(col['country'])}::VARCHAR))"
        country_problem = literal("is not an ISO 3166-1 alpha-3 code")
    else:
        country = literal(spec.country or "")
        country_problem = literal("is not an ISO 3166-1 alpha-3 code")
    country_txt = f"nullif(trim(p.{ident(col['country'])}::VARCHAR), '')" if "country" in col else country
    area = f"nullif(trim(p.{ident(col['area'])}::VARCHAR), '')" if "area" in col else "NULL::VARCHAR"
    filters = _filter_sql(spec.read, "p.")
    if spec.area_lookup is not None and "area" in col:
        # A small area the lookup does not place is left out: it must not become a national (NULL area) row.
        joins.append(f"LEFT JOIN {_lookup_table(spec.area_lookup, 'al')} al ON al.al_key = {area}")
        filters += f" AND ({area} IS NULL OR al.al_value IS NOT NULL)"
        area = "al.al_value"
    year_txt = f"nullif(trim(p.{ident(col['year'])}::VARCHAR), '')" if "year" in col else f"'{int(spec.year)}'"
    pop_txt = f"nullif(trim(p.{ident(col['population'])}::VARCHAR), '')"
    columns = list(dict.fromkeys(col.values()))
    raw = "to_json({" + ", ".join(f"{literal(c)}: p.{ident(c)}::VARCHAR" for c in columns) + "})::VARCHAR"
    anything = "coalesce(" + ", ".join(f"nullif(trim(p.{ident(c)}::VARCHAR), '')" for c in columns) + ")"
    return f"""
        SELECT country, area, year, CASE WHEN detail IS NULL THEN population END AS population, file, line,
               CASE WHEN detail IS NOT NULL THEN 'invalid_population' END AS reason, detail, raw
        FROM (
            SELECT *, {_population_problem(spec, col, country_problem)} AS detail
            FROM (
                SELECT {country} AS country, {country_txt} AS country_txt, {area} AS area,
                       TRY_CAST({year_txt} AS INTEGER) AS year, {year_txt} AS year_txt, {pop_txt} AS pop_txt,
                       {to_number(pop_txt, spec.read.decimal, spec.read.thousands)} * {spec.multiplier} AS population,
                       {literal(item.shown)} AS file, {_line_sql(item, spec.read)} AS line, {raw} AS raw
                FROM ({body}) p {' '.join(joins)}
                WHERE {filters} AND {anything} IS NOT NULL))"""


def stage_population(con: duckdb.DuckDBPyConnection, specs) -> str:
    """Read every population file (any format or layout the sources accept) into the temporary table
    ``population_staged(country, area, year, population, file, line, reason, detail, raw)``, rows as given (not
    yet summed): ``reason`` is NULL for a usable row, else ``invalid_population`` with the field and the value
    in ``detail`` (its ``population`` is then NULL: never a denominator). Returns the table's name.

    ``multiplier`` scales the figures (1000 for a table in thousands), ``thousands`` and ``decimal`` read
    formatted numbers ('1,563'), ``filter`` keeps e.g. the both-sexes rows, ``country_lookup`` turns names into
    ISO3 codes and ``area_lookup`` maps small areas to the reporting areas whose population they sum to.
    """
    con.execute(f"CREATE OR REPLACE TEMP TABLE {POPULATION_STAGED} (country VARCHAR, area VARCHAR, year INTEGER, "
                "population DOUBLE, file VARCHAR, line BIGINT, reason VARCHAR, detail VARCHAR, raw VARCHAR)")
    for spec in specs:
        paths = spec.paths()
        if not paths:
            raise SourceError(f"{spec.files}: population: field 'files' matches no file (relative to {spec.base_dir})")
        for path in paths:
            with readable_files(path, spec.read, "population") as items:
                for item in items:
                    body, present = relation_sql(con, item, spec.read, "population")
                    select = _population_select(spec, item, body, present)
                    try:
                        con.execute(f"INSERT INTO {POPULATION_STAGED} {select}")
                    except duckdb.Error as exc:
                        raise SourceError(f"{item.shown}: population: cannot be read: "
                                          f"{str(exc).splitlines()[0]}") from None
                    _national_rows_once(con, spec, item, present)
    return POPULATION_STAGED


def _national_rows_once(con: duckdb.DuckDBPyConnection, spec, item: Readable, present: list[str]) -> None:
    """A file read without an area column holds national rows: one per country and year. Several (London's 624
    ward rows of a year, in a file whose area column is 'Ward_Name') would be summed into a national population
    that is not the country's; stop with the columns to choose from instead."""
    if "area" in _population_columns(spec, item, present) or spec.area_lookup is not None:
        return
    rows = con.execute(f"""SELECT country, year, count(*) AS n FROM {POPULATION_STAGED}
                           WHERE file = ? AND reason IS NULL GROUP BY ALL HAVING count(*) > 1
                           ORDER BY n DESC, country, year LIMIT 1""", [item.shown]).fetchall()
    if rows:
        country, year, n = rows[0]
        raise SourceError(f"{item.shown}: population: {n} rows for {country} {year} and no area column (no "
                          f"columns.area and no column named 'area'; columns: {', '.join(present)}): a file "
                          "without areas has one national row per country and year; name the area column with "
                          "columns.area, or keep the national rows with filter")
