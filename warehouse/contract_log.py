"""The contract results of each landed file's load, kept beside its rows: the quality page shows them instead of
validating whole tables again.

A file's rows of ``contract_checks`` are replaced with its load, inside the load's transaction, and removed
with its other rows when it leaves the landing folder (``warehouse.load.prune_files``).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from warehouse.contracts import CheckOutcome
from warehouse.sql import ident

TABLE = "contract_checks"
COLUMNS = ["table", "contract", "rule", "column", "failures", "severity", "proved", "example"]


def record(
    con: duckdb.DuckDBPyConnection,
    source: str,
    file: str,
    run_id: str,
    checked: list[tuple[str, str, list[CheckOutcome]]],
) -> None:
    """Replace ``file``'s results with ``checked``: (contract, table, outcomes over the file's rows of the table).
    One DELETE and one INSERT whatever the number of contracts: on a lake every statement is a catalog commit."""
    rows = [(contract, table, o) for contract, table, outcomes in checked for o in outcomes]
    con.execute(f"DELETE FROM {TABLE} WHERE source = ? AND file = ?", [source, file])
    if not rows:
        return
    con.execute(
        f"""INSERT INTO {TABLE} (source, file, run_id, contract, "table", rule, "column", failures, severity, proved,
                                 example)
            SELECT ?, ?, ?, unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]),
                   unnest(?::BIGINT[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[]), unnest(?::VARCHAR[])""",
        [
            source,
            file,
            run_id,
            [contract for contract, _, _ in rows],
            [table for _, table, _ in rows],
            [o.check for _, _, o in rows],
            [o.column for _, _, o in rows],
            [o.failures for _, _, o in rows],
            [o.severity for _, _, o in rows],
            [o.proved for _, _, o in rows],
            [str(o.examples[0]) if o.examples else "" for _, _, o in rows],
        ],
    )


def unrecorded_sources(con: duckdb.DuckDBPyConnection, tables: list[str]) -> list[str]:
    """Sources with rows in ``tables`` but no recorded contract results (loaded before they were recorded)."""
    stored = " UNION ".join(f"SELECT DISTINCT source FROM {ident(t)}" for t in tables)
    return [
        row[0]
        for row in con.execute(
            f"SELECT source FROM ({stored}) EXCEPT SELECT DISTINCT source FROM {TABLE} ORDER BY 1"
        ).fetchall()
    ]


def summary(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per table, contract and rule: failures summed over the landed files, how many files were checked,
    and the proof where no file's load needed to scan the rule."""
    return con.execute(
        f"""
        SELECT "table", contract, rule, "column", sum(failures)::BIGINT AS failures, any_value(severity) AS severity,
               CASE WHEN bool_and(proved IS NOT NULL) THEN any_value(proved) END AS proved,
               coalesce(max(nullif(example, '')), '') AS example, count(DISTINCT source || '|' || file) AS files
        FROM {TABLE} GROUP BY "table", contract, rule, "column" ORDER BY "table", contract, rule, "column"
        """
    ).df()
