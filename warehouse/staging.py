"""Read a source's files into a staging table as text, line numbers kept, malformed lines set aside.

Every value is read as VARCHAR so that nothing is lost to type inference: typing, checks and mapping happen
afterwards in SQL, where each failure becomes a quarantine reason. DuckDB's CSV reader stores the lines it
cannot parse (wrong number of fields, broken quoting, bad encoding) in its rejects tables; they are kept too.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import duckdb

from schemas.source_config import SourceConfig


class SourceError(ValueError):
    """A source cannot be read at all (missing file, missing column): one line naming file and field."""


@dataclass(frozen=True)
class StageSummary:
    files: tuple[str, ...]
    rows: int
    rejected_lines: int

    @property
    def records_in(self) -> int:
        return self.rows + self.rejected_lines


def raw_table(source: str) -> str:
    return f"staging.raw_{source}"


def rejects_table(source: str) -> str:
    return f"staging.rejects_{source}"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _header(src: SourceConfig, path: Path) -> list[str]:
    """The CSV header, read directly: DuckDB's dialect sniffer gives up on small files with a malformed line, so
    the columns are given to it explicitly and nothing is sniffed."""
    encoding = "utf-8-sig" if src.encoding.lower().replace("_", "-") in ("utf-8", "utf8") else src.encoding
    try:
        with path.open(encoding=encoding, newline="") as handle:
            header = next(csv.reader(handle, delimiter=src.delimiter), None)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SourceError(f"{path}: source '{src.name}': cannot read the header line: {exc}") from None
    if not header or not any(h.strip() for h in header):
        raise SourceError(f"{path}: source '{src.name}': line 1: the file is empty or has no header line")
    return header


def _reader(src: SourceConfig, path: Path, rejects: bool) -> str:
    if src.format == "parquet":
        return f"read_parquet({_quote(str(path))}, file_row_number = true)"
    header = _header(src, path)
    columns = "{" + ", ".join(f"{_quote(name)}: 'VARCHAR'" for name in header) + "}"
    options = [
        "header = true", "auto_detect = false", f"columns = {columns}", f"delim = {_quote(src.delimiter)}",
        "quote = '\"'", "escape = '\"'", f"encoding = {_quote(src.encoding)}", "strict_mode = true",
        "null_padding = false",
    ]
    if rejects:
        options += ["store_rejects = true", "rejects_table = 'iccs_reject_errors'",
                    "rejects_scan = 'iccs_reject_scans'"]
    return f"read_csv({_quote(str(path))}, {', '.join(options)})"


def file_columns(con: duckdb.DuckDBPyConnection, src: SourceConfig, path: Path) -> list[str]:
    if src.format == "csv":
        return _header(src, path)
    try:
        return [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {_reader(src, path, False)}").fetchall()]
    except duckdb.Error as exc:
        raise SourceError(f"{path}: source '{src.name}': cannot be read as {src.format}: "
                          f"{str(exc).splitlines()[0]}") from None


def stage_source(con: duckdb.DuckDBPyConnection, src: SourceConfig) -> StageSummary:
    """Replace the source's staging tables with the current content of its files."""
    paths = src.paths()
    if not paths:
        raise SourceError(f"{src.files}: source '{src.name}': field 'files' matches no file "
                          f"(relative to {src.base_dir})")
    table, rejects = raw_table(src.name), rejects_table(src.name)
    con.execute("CREATE SCHEMA IF NOT EXISTS staging")
    con.execute(f"DROP TABLE IF EXISTS {table}; DROP TABLE IF EXISTS {rejects}")
    con.execute(f"CREATE TABLE {rejects} (file_index INTEGER, file VARCHAR, line BIGINT, error_type VARCHAR, "
                "message VARCHAR, csv_line VARCHAR)")
    for index, path in enumerate(paths):
        present = file_columns(con, src, path)
        missing = {f: c for f, c in src.columns.items() if c not in present}
        if missing:
            field, column = next(iter(missing.items()))
            raise SourceError(f"{path}: source '{src.name}': field 'columns.{field}': column '{column}' not in the "
                              f"file (columns: {', '.join(present)})")
        _stage_file(con, src, path, index, table, rejects, first=index == 0)
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    rejected = con.execute(f"SELECT count(*) FROM {rejects}").fetchone()[0]
    return StageSummary(files=tuple(str(p) for p in paths), rows=rows, rejected_lines=rejected)


def _stage_file(con: duckdb.DuckDBPyConnection, src: SourceConfig, path: Path, index: int, table: str,
                rejects: str, first: bool) -> None:
    selected = ", ".join(f"{_ident(col)} AS {field}_raw" for field, col in src.columns.items())
    if src.format == "parquet":
        ordinal = "file_row_number + 1"
        body = f"SELECT *, {ordinal} AS ordinal FROM {_reader(src, path, False)}"
    else:
        body = f"SELECT *, row_number() OVER () AS ordinal FROM {_reader(src, path, True)}"
    select = f"""
        SELECT {index} AS file_index, {_quote(str(path))} AS file, ordinal, {selected}
        FROM ({body})"""
    if src.format == "csv":
        # The rejects tables persist on the connection and accumulate across scans: start each file empty.
        con.execute("DROP TABLE IF EXISTS iccs_reject_errors; DROP TABLE IF EXISTS iccs_reject_scans")
    if first:
        con.execute(f"CREATE TABLE {table} AS {select}")
    else:
        con.execute(f"INSERT INTO {table} {select}")
    if src.format == "csv":
        con.execute(f"""
            INSERT INTO {rejects}
            SELECT {index}, {_quote(str(path))}, line, string_agg(DISTINCT error_type::VARCHAR, '; '),
                   string_agg(DISTINCT error_message, '; '), any_value(csv_line)
            FROM iccs_reject_errors GROUP BY line""")


def line_offsets_sql(source: str) -> str:
    """Thresholds that turn a parsed row's ordinal into its physical line (header = line 1).

    The k-th rejected line of a file (in file order), at line L, comes after L - k - 1 parsed rows; so parsed row n
    is at line n + 1 + (number of rejected lines whose threshold is below n). Join with ASOF on ordinal > threshold.
    """
    return f"""
        SELECT file_index, line - row_number() OVER (PARTITION BY file_index ORDER BY line) - 1 AS threshold,
               row_number() OVER (PARTITION BY file_index ORDER BY line) AS skipped
        FROM {rejects_table(source)}"""
