"""Read a source's files into a staging table as text, line numbers kept, malformed lines set aside.

DuckDB's CSV reader stores the lines it cannot parse (wrong number of fields, broken quoting, bad encoding, an
over-long line) in its rejects tables; they are kept too, so every input record is either a staged row or a
rejected line. Files are made readable by ``warehouse.files`` and read by ``warehouse.readers``.
"""

from __future__ import annotations

import re
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import duckdb

from schemas.source_config import DEFAULT_JOINER, JOINERS, STANDARD_FIELDS, SourceConfig
from warehouse.disaggregation import raw_column
from warehouse.files import Readable, SourceError, blank_lines, readable_files, tail_file
from warehouse.readers import delimiter_hint, filter_sql, read_header, relation_sql
from warehouse.sql import ident, literal, scratch


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


# The rules of the RawRecordRow contract that staging guarantees by the SELECT it writes the raw table with
# (``_insert_pass``), so its check does not scan them: they are about the reading itself. The column types are
# still checked (they come from the table's description, no scan).
RAW_PROVED = {
    "not_null(file_index)": "the file's position, a constant of the SELECT",
    "greater_than_or_equal_to(file_index)": "the file's position, a constant of the SELECT",
    **dict.fromkeys(
        ("not_null(ordinal)", "greater_than_or_equal_to(ordinal)"),
        "row_number() (or the Parquet row number + 1) plus the rows before a re-read tail",
    ),
    **{
        f"coercible({field}_raw)": "every field is selected as ::VARCHAR"
        for field in ("record_id", "date", "offence", "latitude", "longitude", "area", "count")
    },
    "unique(file_index, ordinal)": "numbered by row_number() over each pass; a re-read tail continues after the rows "
    "it keeps of the pass before, and a reshaped file is renumbered over all its rows",
}


def raw_table(source: str) -> str:
    return scratch(f"raw_{source}")


def rejects_table(source: str) -> str:
    return scratch(f"rejects_{source}")


def files_table(source: str) -> str:
    """(file_index, file): the path of each staged file, numbered 0, 1, … in reading order. The staged and
    classified rows carry only the index, and the path is joined where a row is written or named: a path on
    each of 10M rows made those scratch tables a third larger and their writing as much slower."""
    return scratch(f"files_{source}")


def skipped_table(source: str) -> str:
    """Blank lines: not records, but lines, so they count when a row's physical line is worked out."""
    return scratch(f"skipped_{source}")


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


def _check_columns(src: SourceConfig, item: Readable, present: list[str]) -> None:
    needed = [(f"columns.{field}", col) for field in src.columns for col in src.source_columns(field)]
    needed += [("filter", col) for col, _ in src.read.filters] + [("exclude", col) for col, _ in src.read.excludes]
    needed += [(f"disaggregations.{v}", d.column) for v, d in src.disaggregations.items() if d.column is not None]
    missing = [(key, col) for key, col in needed if col not in present]
    if missing:
        key, column = missing[0]
        shown = [c for c in present if c != "ordinal"]  # the readers' line number, not a column of the file
        raise SourceError(
            f"{item.shown}: source '{src.name}': field '{key}': column '{column}' not in the file "
            f"(columns: {', '.join(shown)}){delimiter_hint(shown, src.read)}"
        )


def stage_source(con: duckdb.DuckDBPyConnection, src: SourceConfig) -> StageSummary:
    """Replace the source's staging tables with the current content of its files."""
    paths = src.paths()
    if not paths:
        unset = re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)", src.files)
        hint = f"; environment variable {unset[0]} is not set" if unset else ""
        raise SourceError(
            f"{src.files}: source '{src.name}': field 'files' matches no file (relative to {src.base_dir}){hint}"
        )
    table, rejects, skipped = raw_table(src.name), rejects_table(src.name), skipped_table(src.name)
    con.execute(f"DROP TABLE IF EXISTS {table}; DROP TABLE IF EXISTS {rejects}; DROP TABLE IF EXISTS {skipped}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {files_table(src.name)} (file_index INTEGER, file VARCHAR)")
    con.execute(
        f"CREATE TEMP TABLE {rejects} (file_index INTEGER, file VARCHAR, line BIGINT, error_type VARCHAR, "
        "message VARCHAR, csv_line VARCHAR)"
    )
    con.execute(f"CREATE TEMP TABLE {skipped} (file_index INTEGER, line BIGINT)")
    shown: list[str] = []
    filtered = 0
    index = 0
    unused: dict[str, None] = {}
    totals: dict[tuple[str, str, str], None] = {}
    label = f"source '{src.name}'"
    for path in paths:
        with readable_files(path, src.read, label) as items:
            for item in items:
                filtered += _stage_file(con, src, item, index, table, rejects, skipped, first=index == 0, unused=unused)
                totals.update(dict.fromkeys(unread_total_values(con, src, item)))
                con.execute(f"INSERT INTO {files_table(src.name)} VALUES (?, ?)", [index, item.shown])
                shown.append(item.shown)
                index += 1
    rows = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    rejected = con.execute(f"SELECT count(*) FROM {rejects}").fetchone()[0]
    return StageSummary(
        files=tuple(shown),
        rows=rows,
        rejected_lines=rejected,
        filtered_rows=filtered,
        unused_columns=tuple(unused),
        unread_totals=tuple(totals),
    )


# Values that name the total of a breakdown (case and surrounding spaces ignored).
TOTAL_VALUES = (
    "total",
    "totals",
    "todos",
    "todas",
    "all",
    "ambos sexos",
    "both sexes",
    "all ages",
    "all persons",
    "total general",
    "gesamt",
    "insgesamt",
    "ensemble",
    "tous",
    "totaal",
    "totale",
    "_t",  # SDMX's code for the total of a breakdown (SEX, AGE, URBANISATION ... = _T)
)
MAX_BREAKDOWN_VALUES = 50


def disaggregation_columns(src: SourceConfig) -> set[str]:
    """The file columns the source's disaggregations read."""
    return {d.column for d in src.disaggregations.values() if d.column is not None}


def unread_total_values(
    con: duckdb.DuckDBPyConnection, src: SourceConfig, item: Readable
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
    used |= disaggregation_columns(src)
    candidates = [c for c in present if c not in used]
    if not candidates:
        return []
    lists = ", ".join(
        f"list(DISTINCT trim({ident(c)}::VARCHAR)) FILTER (WHERE {ident(c)} IS NOT NULL)[:{MAX_BREAKDOWN_VALUES + 1}]"
        for c in candidates
    )
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
    used |= {"ordinal", src.read.names_to, src.read.values_to} | disaggregation_columns(src)
    return [c for c in present if c not in used]


def _stage_file(
    con: duckdb.DuckDBPyConnection,
    src: SourceConfig,
    item: Readable,
    index: int,
    table: str,
    rejects: str,
    skipped: str,
    first: bool,
    unused: dict[str, None] | None = None,
) -> int:
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
        raise SourceError(
            f"{item.shown}: source '{src.name}': cannot be read to the end: {exc} (a truncated or "
            "damaged compressed file? download it again)"
        ) from None
    if blanks:
        con.execute(f"INSERT INTO {skipped} SELECT {index}, unnest(?::BIGINT[])", [blanks])
    with tempfile.TemporaryDirectory(prefix="iccs-tail-") as work:
        current, header, line_base, ordinal_base = item, None, 0, 0
        while True:
            names = _insert_pass(
                con, src, current, index, table, first and header is None, header, ordinal_base, unused
            )
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
                [index, first_data, broken, index, first_data, broken],
            ).fetchone()[0]
            before = broken - first_data - not_rows
            con.execute(f"DELETE FROM {table} WHERE file_index = ? AND row_ordinal > ?", [index, ordinal_base + before])
            con.execute(f"DELETE FROM {rejects} WHERE file_index = ? AND line > ?", [index, broken])
            current, line_base, ordinal_base = tail_file(item, broken, Path(work)), broken, ordinal_base + before
    filtered = 0
    if src.read.filters or src.read.excludes:
        filtered = con.execute(f"SELECT count(*) FROM {table} WHERE file_index = ? AND NOT kept", [index]).fetchone()[0]
        con.execute(f"DELETE FROM {table} WHERE file_index = ? AND NOT kept", [index])
    if src.read.reshaped:
        # A reshaped row gives several records: ``ordinal`` numbers the records, ``row_ordinal`` (the parsed row,
        # which locates the physical line) stays shared by the cells of one row.
        con.execute(
            f"""
            UPDATE {table} SET ordinal = numbered.position
            FROM (SELECT row_ordinal AS r, cell AS c, row_number() OVER (ORDER BY row_ordinal, cell) AS position
                  FROM {table} WHERE file_index = ?) numbered
            WHERE file_index = ? AND row_ordinal = numbered.r AND cell IS NOT DISTINCT FROM numbered.c""",
            [index, index],
        )
    return filtered


def _insert_pass(
    con: duckdb.DuckDBPyConnection,
    src: SourceConfig,
    item: Readable,
    index: int,
    table: str,
    create: bool,
    header: list[str] | None,
    ordinal_base: int,
    unused: dict[str, None] | None = None,
) -> list[str]:
    """Read ``item`` into the raw table; returns the file's column names (before reshaping). ``header`` is given
    for the rest of a file after a broken line, which has no header line of its own."""
    is_csv = src.read.format != "parquet"
    label = f"source '{src.name}'"
    body, present = relation_sql(con, item, src.read, label, rejects=is_csv, header=header, ordinal_base=ordinal_base)
    header = header or (read_header(item, src.read, label) if is_csv else None)
    _check_columns(src, item, present)
    if unused is not None:
        unused.update(dict.fromkeys(unused_wide_columns(src, present)))
    fields = [f for f in STANDARD_FIELDS if field_sql(src, f) is not None]
    if src.read.format == "eurostat" and "flag" not in fields:
        fields.append("flag")
    selected = ", ".join(f"{field_sql(src, f) or ident(f)} AS {f}_raw" for f in fields)
    selected += "".join(
        f", {ident(d.column)}::VARCHAR AS {raw_column(v)}" for v, d in src.disaggregations.items() if d.column
    )
    cell = f"{ident(src.read.names_to)}::VARCHAR" if src.read.layout == "wide" else "NULL::VARCHAR"
    if src.read.format == "eurostat":
        cell = f"{ident(present[-3])}::VARCHAR"
    select = f"""
        SELECT {index} AS file_index, ordinal, ordinal AS row_ordinal,
               {cell} AS cell, {selected}, {filter_sql(src.read)} AS kept
        FROM ({body})"""
    if is_csv:
        # The rejects tables persist on the connection and accumulate across scans: start each pass empty.
        con.execute("DROP TABLE IF EXISTS iccs_reject_errors; DROP TABLE IF EXISTS iccs_reject_scans")
    try:
        con.execute(f"{'CREATE TEMP TABLE ' + table + ' AS' if create else 'INSERT INTO ' + table} {select}")
    except duckdb.Error as exc:
        raise SourceError(
            f"{item.shown}: {label}: cannot be read as {src.read.format}: {str(exc).splitlines()[0]}"
        ) from None
    return header or []


def _store_rejects(con: duckdb.DuckDBPyConnection, rejects: str, index: int, shown: str, line_base: int) -> int | None:
    """Keep this pass's rejected lines (at their physical line); returns the line of an unterminated quote.

    DuckDB's parallel reader may report one line several times, in any order: the messages are joined in sorted
    order so that a rerun writes the same quarantine row (a kill-and-rerun test found them in another order)."""
    con.execute(f"""
        INSERT INTO {rejects}
        SELECT {index}, {literal(shown)}, line + {int(line_base)},
               string_agg(DISTINCT error_type::VARCHAR, '; ' ORDER BY error_type::VARCHAR),
               string_agg(DISTINCT error_message, '; ' ORDER BY error_message),
               CASE WHEN bool_or(error_type::VARCHAR = 'UNQUOTED VALUE')
                    THEN split_part(ltrim(min(csv_line), chr(10) || chr(13)), chr(10), 1)
                    ELSE min(csv_line) END
        FROM iccs_reject_errors GROUP BY line""")
    return con.execute(
        "SELECT min(line) + ? FROM iccs_reject_errors WHERE error_type::VARCHAR = 'UNQUOTED VALUE'", [line_base]
    ).fetchone()[0]


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
