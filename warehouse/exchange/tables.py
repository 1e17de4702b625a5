"""Tables and views of the warehouse as Parquet (a folder per table, partitioned by source and year) or CSV (a
file per table), written by DuckDB itself: no frame in between, whatever their size."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from warehouse.exchange.progress import Progress, silent
from warehouse.exchange.selection import Selection
from warehouse.sql import ident, literal

# What each dataset exports: aggregates only. Incident records (``offences``) only when asked for by name.
TABLES = {
    "iccs": ("offence_counts", "v_rates", "disaggregated_counts"),
    "sdg": ("v_sdg16", "v_sdg16_by_sex_age"),
}
RECORDS = "offences"


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {ident(table)}").fetchall()]


def select_sql(con: duckdb.DuckDBPyConnection, table: str, selection: Selection) -> str:
    """The table's selected rows, with a ``year`` column (incident records are dated, not yeared)."""
    columns = _columns(con, table)
    relation = ident(table)
    if "year" not in columns and "occurred_on" in columns:
        relation = f"(SELECT *, year(occurred_on) AS year FROM {relation})"
        columns.append("year")
    return f"SELECT * FROM {relation} WHERE {selection.where(set(columns))}"


def write_tables(
    con: duckdb.DuckDBPyConnection,
    tables: tuple[str, ...],
    fmt: str,
    out: Path,
    selection: Selection,
    progress: Progress = silent,
) -> dict[str, tuple[Path, int]]:
    """Each table to ``out``: ``<table>/source=<s>/year=<y>/*.parquet`` (hive partitions, read back by DuckDB,
    pandas, Polars and Spark) or ``<table>.csv``; a table's earlier export there is replaced. Returns, per table,
    its path and rows; ``progress`` is told each file or folder before it is written."""
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for table in tables:
        query = select_sql(con, table, selection)
        if fmt == "parquet":
            path = out / table
            options = "FORMAT parquet, PARTITION_BY (source, year), OVERWRITE"
        else:
            path = out / f"{table}.csv"
            options = "FORMAT csv, HEADER"
        progress(f"writing {path.name}")
        # COPY says how many rows it wrote: the view is computed once; unsorted, so that it streams (sorting 21M
        # rows of v_rates held 7.8 GB)
        rows = con.execute(f"COPY ({query}) TO {literal(str(path))} ({options})").fetchone()[0]
        if not rows:  # nothing selected: no empty file or folder passes for an export
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        written[table] = (path, rows)
    return written
