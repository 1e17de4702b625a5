"""Where the warehouse lives and how to open it.

The file is created with storage compatibility v1.4.0 so that the DuckDB command-line client users install from
PyPI (1.x) can open it, not only the duckdb 2.x library the pipeline runs on.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

DEFAULT_WAREHOUSE = Path("data") / "warehouse.duckdb"
DEFAULT_REPORTS = Path("data") / "reports"
CONNECTION_CONFIG: dict[str, str] = {"storage_compatibility_version": "v1.4.0"}


def warehouse_path() -> Path:
    return Path(os.environ.get("ICCS_WAREHOUSE", DEFAULT_WAREHOUSE))


def reports_path() -> Path:
    return Path(os.environ.get("ICCS_REPORTS", DEFAULT_REPORTS))


def connect(path: str | Path | None = None, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the warehouse; read-only connections refuse every write with DuckDB's own message."""
    path = Path(path) if path is not None else warehouse_path()
    if read_only:
        if not path.exists():
            raise FileNotFoundError(f"{path}: no warehouse yet; run `iccs run` first")
        return duckdb.connect(str(path), read_only=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path), config=CONNECTION_CONFIG)
