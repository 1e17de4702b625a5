"""Ad-hoc SQL on the warehouse, read-only: a table, CSV or JSON on stdout, one clear line for every refusal."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
import pyarrow.csv as pacsv

from warehouse.connection import WarehouseBusyError, connect


def _fail(message: str) -> int:
    print(f"iccs: {message}", file=sys.stderr)
    return 1


def _open(warehouse: Path) -> duckdb.DuckDBPyConnection | str:
    """A read-only, sandboxed connection (the query can read the warehouse and nothing else), or the one-line
    reason there is none."""
    try:
        return connect(warehouse, read_only=True, sandboxed=True)
    except (FileNotFoundError, WarehouseBusyError) as exc:
        return str(exc)
    except duckdb.Error as exc:
        return f"{warehouse}: {str(exc).splitlines()[0]}"


def print_query(warehouse: Path, query: str, fmt: str = "table", max_rows: int = 100,
                params: list[object] | None = None, max_width: int = 60) -> int:
    con = _open(warehouse)
    if isinstance(con, str):
        return _fail(con)
    with con:
        try:
            relation = con.sql(query, params=params or None)
            if relation is None:
                return 0
            table = relation.to_arrow_table()
        except (duckdb.InvalidInputException, duckdb.PermissionException) as exc:
            text = str(exc).splitlines()[0]
            if "read-only" in text or "read_only" in text:
                return _fail("the warehouse is read-only from `iccs sql`: the pipeline alone writes it "
                             f"(refused: {text})")
            if "disabled by config" in text:
                return _fail("`iccs sql` reads the warehouse only: no other files, no extensions (use --format csv "
                             f"and redirect to export) (refused: {text})")
            return _fail(text)
        except duckdb.Error as exc:
            return _fail(str(exc).splitlines()[0])
    if fmt == "csv":
        pacsv.write_csv(table, sys.stdout.buffer)
    elif fmt == "json":
        json.dump(table.to_pylist(), sys.stdout, default=str, ensure_ascii=False, indent=1)
        print()
    else:
        _print_table(table.to_pydict(), table.num_rows, max_rows, max_width)
    return 0


def _cell(value: object) -> str:
    """Display text: whole numbers without '.0', other numbers to 4 decimals (--format csv/json keep full values)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.0f}" if value.is_integer() else f"{value:.4f}".rstrip("0")
    return str(value).replace("\n", " ")


def _print_table(columns: dict[str, list[object]], rows: int, max_rows: int, max_width: int = 60) -> None:
    """Aligned plain text; long cells are cut so a row stays on one line."""
    names = list(columns)
    shown = min(rows, max_rows)
    cells = {n: [_cell(v) for v in columns[n][:shown]] for n in names}
    cells = {n: [c if len(c) <= max_width else c[: max_width - 3] + "..." for c in vals] for n, vals in cells.items()}
    widths = {n: max([len(n), *map(len, cells[n])]) for n in names}
    print("  ".join(n.ljust(widths[n]) for n in names))
    print("  ".join("-" * widths[n] for n in names))
    for i in range(shown):
        print("  ".join(cells[n][i].ljust(widths[n]) for n in names))
    print(f"({rows:,} row{'s' if rows != 1 else ''}{f', {shown} shown' if shown < rows else ''})")


def print_tables(warehouse: Path) -> int:
    """Tables and views of the main schema with the descriptions the warehouse carries as comments."""
    query = """
        SELECT table_name AS name, 'table' AS kind, comment AS description FROM duckdb_tables()
        WHERE schema_name = 'main'
        UNION ALL
        SELECT view_name, 'view', comment FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal
        ORDER BY kind, name"""
    return print_query(warehouse, query, "table", 1000, max_width=200)
