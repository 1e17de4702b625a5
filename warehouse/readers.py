"""One reader per format: a file as a SELECT of text columns plus ``ordinal``, reshaped for its layout.

Every value is read as VARCHAR so that nothing is lost to type inference: typing, checks and mapping happen
afterwards in SQL, where each failure becomes a quarantine reason. CSV and TSV are read by DuckDB's CSV reader
with the columns given (nothing sniffed), Parquet by ``read_parquet``; reshaping happens in SQL: a ``wide``
layout is an UNPIVOT, Eurostat's bulk TSV is split with string functions, SDMX-CSV's labelled columns and values
are reduced to their codes.
"""

from __future__ import annotations

import csv
import gzip
import re

import duckdb

from schemas.source_config import ReadOptions
from warehouse.files import Readable, SourceError, duckdb_encoding, item_encoding, python_encoding
from warehouse.sql import ident, literal, one_of

# DuckDB's default maximum line is 2 MB; a longer line is rejected (quarantined), not fatal, but real
# free-text fields can be long, so allow more before calling a line malformed.
MAX_LINE_BYTES = 16 * 1024 * 1024
MAX_HEADER_BYTES = 1024 * 1024
_DELIMITER_HINTS = (",", ";", "\t", "|")


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
        text = raw.decode(python_encoding(item_encoding(item, opts)))
        header = next(csv.reader([text.rstrip("\r\n")], delimiter=opts.delimiter), None)
    except UnicodeDecodeError as exc:
        raise SourceError(
            f"{item.shown}: {label}: line 1: not {opts.encoding} text ({exc.reason} at byte "
            f"{exc.start}); set 'encoding' (e.g. latin-1) or check that this is a text file"
        ) from None
    except (OSError, EOFError, ValueError, csv.Error) as exc:
        raise SourceError(f"{item.shown}: {label}: line 1: cannot read the header line: {exc}") from None
    if "\x00" in text:
        raise SourceError(f"{item.shown}: {label}: line 1: contains NUL bytes: not a delimited text file")
    if not header or not any(h.strip() for h in header):
        raise SourceError(f"{item.shown}: {label}: line 1: the file is empty or has no header line")
    return _dedupe(header)


def delimiter_hint(header: list[str], opts: ReadOptions) -> str:
    """A hint for an error message when a header read as one column holds another usual delimiter."""
    if len(header) != 1:
        return ""
    for other in _DELIMITER_HINTS:
        if other != opts.delimiter and other in header[0]:
            return f"; the header has a single column: is the delimiter {other!r} rather than {opts.delimiter!r}?"
    return ""


def filter_sql(opts: ReadOptions, prefix: str = "") -> str:
    """TRUE for the rows the configuration keeps (``filter``) and does not drop (``exclude``)."""

    kept = [f"coalesce({one_of(f'trim({prefix}{ident(c)}::VARCHAR)', v)}, false)" for c, v in opts.filters]
    kept += [f"coalesce(NOT {one_of(f'trim({prefix}{ident(c)}::VARCHAR)', v)}, true)" for c, v in opts.excludes]
    return " AND ".join(kept) or "true"


def _csv_reader(item: Readable, opts: ReadOptions, header: list[str], rejects: bool, has_header: bool = True) -> str:
    columns = "{" + ", ".join(f"{literal(name)}: 'VARCHAR'" for name in header) + "}"
    options = [
        f"header = {str(has_header).lower()}",
        "auto_detect = false",
        f"columns = {columns}",
        f"delim = {literal(opts.delimiter)}",
        "quote = '\"'",
        "escape = '\"'",
        f"encoding = {literal(duckdb_encoding(item_encoding(item, opts)))}",
        "strict_mode = true",
        "null_padding = false",
        f"max_line_size = {MAX_LINE_BYTES}",
        # DuckDB's default buffer is 16 lines of max_line_size (256 MiB here), allocated whole: under a low
        # ICCS_DUCKDB_MEMORY that was an "Out of Memory Error" for any file. Two lines' worth reads as fast.
        f"buffer_size = {2 * MAX_LINE_BYTES}",
    ]
    # Only the empty cell is NULL here: missing-value markers ('..', 'x', '-') are judged per numeric field in SQL
    # (warehouse.fields, warehouse.population_staging), so an area or offence code spelt like a marker stays a name.
    if rejects:
        options += [
            "store_rejects = true",
            "rejects_table = 'iccs_reject_errors'",
            "rejects_scan = 'iccs_reject_scans'",
        ]
    return f"read_csv({literal(str(item.path))}, {', '.join(options)})"


def _eurostat_sql(base: str, header: list[str], item: Readable, label: str) -> tuple[str, list[str]]:
    """Split the key column into its dimensions and turn each period column into rows of (value, flag).

    ``12.5 p`` gives value 12.5 and flag p; ``: c`` gives no value and flag c (the flag says why); a bare ``:``
    (not available) gives no value and no flag. Every cell of the grid is a record, so a cell without a value is
    quarantined as ``missing_count`` and counted, never silently dropped.
    """
    key, *periods = header
    dims_part, _, time_name = key.partition("\\")
    dims = [d.strip() for d in dims_part.split(",")]
    if not time_name or not periods or not all(dims):
        raise SourceError(
            f"{item.shown}: {label}: line 1: not a Eurostat bulk TSV header (expected "
            f"'dim1,dim2,...\\TIME_PERIOD' then one column per period, got {key!r})"
        )
    time_name = time_name.strip()
    split = ", ".join(f"trim(string_split({ident(key)}, ',')[{i + 1}]) AS {ident(d)}" for i, d in enumerate(dims))
    renamed = ", ".join(f"{ident(p)} AS {ident(p.strip())}" for p in periods)
    on = ", ".join(ident(p.strip()) for p in periods)
    cell = "trim(cell)"
    sql = f"""
        SELECT * EXCLUDE (cell), nullif(split_part({cell}, ' ', 1), ':') AS value,
               nullif(trim(regexp_replace({cell}, '^\\S+', '')), '') AS flag
        FROM (UNPIVOT (SELECT {split}, {renamed}, ordinal FROM ({base})) ON {on}
              INTO NAME {ident(time_name)} VALUE cell)"""
    return sql, [*dims, time_name, "value", "flag"]


# The first column of an SDMX-CSV file: DATAFLOW in version 1.0, STRUCTURE (then STRUCTURE_ID, ACTION) in 2.0/2.1.
SDMX_MARKERS = ("DATAFLOW", "STRUCTURE")
# The columns holding the structure's id (``ICCS:ICCS_CRIME(1.0)``), which holds no space.
SDMX_STRUCTURE_IDS = ("DATAFLOW", "STRUCTURE_ID")
# The column of SDMX-CSV 2.x holding what a row asks of the receiver; ``D`` (delete) rows are not observations.
SDMX_ACTION = "ACTION"
# SDMX-CSV 2.x: a value intentionally missing (non-numeric components; numeric ones use NaN, a missing marker).
SDMX_NOT_AVAILABLE = "#N/A"


def sdmx_code(name: str) -> str:
    """The code of an SDMX-CSV header or value written with labels: ``FREQ: Frequency`` -> ``FREQ``, ``A: Annual``
    -> ``A`` (SDMX ids hold no space, so the code ends at the first ': '); a name without a label is itself."""
    return name.split(": ", 1)[0].strip()


def _sdmx_sql(base: str, header: list[str], item: Readable, label: str, opts: ReadOptions) -> tuple[str, list[str]]:
    """SDMX-CSV 1.0 (``DATAFLOW``, then the components) and 2.0/2.1 (``STRUCTURE``, ``STRUCTURE_ID``, optionally
    ``ACTION``, then the components): one row per observation, already long.

    A column is named by its code (``FREQ: Frequency`` is ``FREQ``), and a labelled column's values are reduced
    to their code (``A: Annual`` -> ``A``, ``ICCS:ICCS_CRIME(1.0): ICCS crime`` -> ``ICCS:ICCS_CRIME(1.0)``).
    ``#N/A`` (intentionally missing, SDMX-CSV 2.x) is no value. ``ACTION`` is always given (NULL in 1.0) and
    upper-cased: the configuration drops its ``D`` (delete) rows as an ``exclude`` does, so they are counted as
    filtered out, never loaded and never quarantined (``schemas.source_config``)."""
    codes = _dedupe([sdmx_code(h) for h in header])
    if not any(c.upper() in SDMX_MARKERS for c in codes):
        shown = ", ".join(header[:8]) + (", ..." if len(header) > 8 else "")
        raise SourceError(
            f"{item.shown}: {label}: line 1: not SDMX-CSV: no DATAFLOW (SDMX-CSV 1.0) or STRUCTURE (2.0, 2.1) "
            f"column (columns: {shown}){delimiter_hint(header, opts)}"
        )
    selected = []
    for raw, code in zip(header, codes, strict=True):
        # the structure's id is labelled even where its header is not ('ICCS:ICCS_CRIME(1.0): ICCS crime')
        labelled = ": " in raw or code.upper() in SDMX_STRUCTURE_IDS
        value = f"split_part({ident(raw)}, ': ', 1)" if labelled else ident(raw)
        value = f"nullif(trim({value}), {literal(SDMX_NOT_AVAILABLE)})"
        if code == SDMX_ACTION:
            value = f"upper({value})"
        selected.append(f"{value} AS {ident(code)}")
    if SDMX_ACTION not in codes:
        selected.append(f"NULL::VARCHAR AS {ident(SDMX_ACTION)}")
        codes = [*codes, SDMX_ACTION]
    return f"SELECT {', '.join(selected)}, ordinal FROM ({base})", codes


def _wide_sql(base: str, columns: list[str], opts: ReadOptions, item: Readable, label: str) -> tuple[str, list[str]]:
    pattern = re.compile(opts.wide_columns or "")
    wide = [c for c in columns if c != "ordinal" and pattern.search(c)]
    if not wide:
        shown = ", ".join(c for c in columns if c != "ordinal")
        raise SourceError(
            f"{item.shown}: {label}: field 'wide.columns': '{opts.wide_columns}' matches no column (columns: {shown})"
        )
    kept = [c for c in columns if c not in wide]
    for name in (opts.names_to, opts.values_to):
        if name in kept:
            raise SourceError(
                f"{item.shown}: {label}: field 'wide': '{name}' is already a column of the file; "
                "choose other names_to/values_to"
            )
    on = ", ".join(ident(c) for c in wide)
    sql = f"SELECT * FROM (UNPIVOT ({base}) ON {on} INTO NAME {ident(opts.names_to)} VALUE {ident(opts.values_to)})"
    return sql, [*kept, opts.names_to, opts.values_to]


def _parquet_sql(con: duckdb.DuckDBPyConnection, item: Readable, label: str) -> tuple[str, list[str]]:
    """Parquet: every column cast to text, ``ordinal`` from the file's row number."""
    reader = f"read_parquet({literal(str(item.path))}, file_row_number = true)"
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()
    except duckdb.Error as exc:
        raise SourceError(f"{item.shown}: {label}: cannot be read as parquet: {str(exc).splitlines()[0]}") from None
    names = [row[0] for row in described if row[0] != "file_row_number"]
    cast = ", ".join(f"{ident(n)}::VARCHAR AS {ident(n)}" for n in names)
    return f"SELECT {cast}, file_row_number + 1 AS ordinal FROM {reader}", names


def _delimited_sql(
    item: Readable, opts: ReadOptions, label: str, rejects: bool, header: list[str] | None, ordinal_base: int
) -> tuple[str, list[str]]:
    """CSV, TSV and the text of Eurostat's bulk TSV: DuckDB's CSV reader over the header's columns."""
    has_header = header is None
    header = read_header(item, opts, label) if header is None else header
    reader = _csv_reader(item, opts, header, rejects, has_header)
    return f"SELECT *, row_number() OVER () + {int(ordinal_base)} AS ordinal FROM {reader}", header


def relation_sql(
    con: duckdb.DuckDBPyConnection,
    item: Readable,
    opts: ReadOptions,
    label: str,
    rejects: bool = False,
    header: list[str] | None = None,
    ordinal_base: int = 0,
) -> tuple[str, list[str]]:
    """A SELECT over the file giving its columns as text plus ``ordinal`` (the record's position in the file,
    1 = first data row), reshaped for wide and Eurostat layouts; and the column names it gives.

    With ``header`` given, the file has no header line (the rest of a file after a broken line) and its rows are
    numbered from ``ordinal_base`` + 1. SDMX-CSV columns are named by their codes (``_sdmx_sql``)."""
    if opts.format == "parquet":
        base, header = _parquet_sql(con, item, label)
    else:
        base, header = _delimited_sql(item, opts, label, rejects, header, ordinal_base)
    if opts.format == "eurostat":
        return _eurostat_sql(base, header, item, label)
    if opts.format == "sdmx-csv":
        return _sdmx_sql(base, header, item, label, opts)
    if opts.layout == "wide":
        return _wide_sql(base, [*header, "ordinal"], opts, item, label)
    return base, header
