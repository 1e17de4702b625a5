"""A source file made readable by DuckDB, and the byte-level scans of a file.

DuckDB reads csv, tsv, parquet and gzip directly. What it cannot read is first turned into a temporary plain
file, removed when staging ends: ``.bz2`` is decompressed and ``.zip`` members extracted (by the standard
library, in C-speed chunks), a UTF-16 file is copied as UTF-8, and an ``.xlsx`` sheet is written as CSV with
openpyxl (the one per-row step; DuckDB's excel extension would need a download). Blank lines and the lines after
a broken one are found in large chunks of bytes, never line by line.
"""

from __future__ import annotations

import bz2
import contextlib
import csv
import datetime as dt
import gzip
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from schemas.source_config import ReadOptions

# Bytes copied or scanned at a time.
_CHUNK = 16 * 1024 * 1024
# The members of a zip archive read for each format (also compressed: .csv.gz).
_MEMBER_SUFFIXES = {
    "csv": (".csv",),
    "tsv": (".tsv", ".tab", ".txt"),
    "eurostat": (".tsv",),
    "sdmx-csv": (".csv",),
    "parquet": (".parquet",),
    "xlsx": (".xlsx",),
}


class SourceError(ValueError):
    """A source cannot be read at all (missing file, missing column): one line naming file and field."""


@dataclass(frozen=True)
class Readable:
    """A file DuckDB can read: ``path`` on disk, ``shown`` as users know it (``data.zip/2020.csv``); ``utf8`` when
    ``path`` is a UTF-8 copy of a file in another encoding."""

    shown: str
    path: Path
    utf8: bool = False


# ---------------------------------------------------------------------------------------------------------------
# Encodings


def duckdb_encoding(encoding: str) -> str:
    """The configured encoding as DuckDB's CSV reader names it (the Windows and ISO Latin-1 spellings are latin-1)."""
    folded = encoding.lower().replace("_", "-")
    if folded in ("utf-8", "utf8", "utf-8-sig"):
        return "utf-8"
    if folded in ("latin-1", "latin1", "iso-8859-1", "windows-1252", "cp1252"):
        return "latin-1"
    return folded


def python_encoding(encoding: str) -> str:
    """The configured encoding as Python decodes it (UTF-8 with an optional byte-order mark)."""
    folded = duckdb_encoding(encoding)
    return "utf-8-sig" if folded == "utf-8" else folded


def item_encoding(item: Readable, opts: ReadOptions) -> str:
    """The encoding DuckDB is to read ``item`` in: UTF-8 for a UTF-8 copy, else the configured one."""
    return "utf-8" if item.utf8 else opts.encoding


def _open_text(path: Path, encoding: str):
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rt", encoding=encoding, newline="")
    return path.open(encoding=encoding, newline="")


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
        if duckdb_encoding(opts.encoding) == "utf-16" and opts.format != "parquet":
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
    with (
        _open_text(path, python_encoding(opts.encoding)) as source,
        target.open("w", encoding="utf-8", newline="") as sink,
    ):
        shutil.copyfileobj(source, sink, _CHUNK)
    return target


def _unzip(path: Path, shown: str, opts: ReadOptions, work: Path, label: str) -> list[Readable]:
    suffixes = _member_suffixes(opts)
    found: list[Readable] = []
    with zipfile.ZipFile(path) as archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
        wanted = sorted(
            n
            for n in names
            if n.lower().endswith(suffixes)
            or n.lower().endswith(tuple(s + c for s in suffixes for c in (".gz", ".bz2")))
        )
        if not wanted:
            raise SourceError(
                f"{shown}: {label}: the zip archive has no {'/'.join(suffixes)} member "
                f"(members: {', '.join(names) or 'none'})"
            )
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
        raise SourceError(
            f"{shown}: {label}: cannot be read as xlsx: {type(exc).__name__}: {exc}".splitlines()[0]
        ) from None
    try:
        if opts.sheet is not None and opts.sheet not in book.sheetnames:
            raise SourceError(
                f"{shown}: {label}: field 'sheet': no sheet '{opts.sheet}' (sheets: {', '.join(book.sheetnames)})"
            )
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
# Scanning a file's bytes


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


def tail_file(item: Readable, after_line: int, work: Path) -> Readable:
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
                chunk = chunk[position + 1 :]
            sink.write(chunk)
    return Readable(item.shown, target)
