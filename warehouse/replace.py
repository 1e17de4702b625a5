"""Replace a slice of a table (a source's rows) only when its content changes.

Every load of a file rewrites its source's rows of small shared tables (the correspondence table, the source's
description, its declared total area). Unchanged, they are left alone: on a DuckLake warehouse a delete is a
write to the data files holding those rows, and two loads of the same source at once would conflict over rows
neither of them changes.
"""

from __future__ import annotations

import re

import duckdb

from warehouse.sql import ident
from warehouse.transaction import transaction


def replace_rows(
    con: duckdb.DuckDBPyConnection, table: str, where: str, select: str, params: dict[str, object]
) -> bool:
    """Make the rows of ``table`` matching ``where`` exactly the rows of ``select`` (whose columns name columns
    of the table), comparing as multisets; both may use the named ``params``. Returns whether anything was
    written."""

    def run(sql: str) -> duckdb.DuckDBPyConnection:  # DuckDB refuses parameters a statement does not use
        return con.execute(sql, {k: v for k, v in params.items() if re.search(rf"\${k}\b", sql)})

    columns = ", ".join(ident(c[0]) for c in run(f"SELECT * FROM ({select}) LIMIT 0").description)
    stored = f"SELECT {columns} FROM {table} WHERE {where}"
    wanted = f"SELECT {columns} FROM ({select})"
    differs = run(f"SELECT EXISTS ({stored} EXCEPT ALL {wanted}) OR EXISTS ({wanted} EXCEPT ALL {stored})").fetchone()[
        0
    ]
    if differs:
        with transaction(con):
            run(f"DELETE FROM {table} WHERE {where}")
            run(f"INSERT INTO {table} BY NAME {wanted}")
    return bool(differs)
