"""A DuckLake warehouse: the catalog in PostgreSQL (or SQLite, or a DuckDB file), the data as Parquet files in a
folder or an object store. Only ``warehouse.connection`` uses this module.

Every connection is a DuckDB database in memory that attaches the lake as ``lake`` and makes it the default, so
the same SQL reads and writes both backends; temp tables (a step's scratch) stay on the connection. The DuckLake
and PostgreSQL extensions are loaded from the PyPI packages ``duckdb-extension-ducklake`` and
``duckdb-extension-postgres`` (dependencies of this project), never downloaded: air-gapped offices have no
route to DuckDB's extension server.

Several processes write one lake at once: each commit is a snapshot, and DuckLake retries a commit that lost a
race when the changes do not overlap (inserts into the same table never do). A real conflict (two transactions
inserting into a table another transaction deleted from meanwhile: replacing a file's rows while another file of
the same table is replaced) fails the commit with DuckLake's own message; ``is_conflict`` recognises it so that the
caller can redo the step.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import duckdb

PREFIX = "ducklake:"
ALIAS = "lake"
# The folder or object-store URL (s3://…, gs://…, az://…) of the Parquet files; needed when the lake is created,
# remembered by the catalog after that.
DATA_ENV = "ICCS_LAKE_DATA"
# DuckLake retries a commit that lost a race; with a dozen writers the default 10 attempts can run out.
RETRIES = {"ducklake_max_retry_count": 100, "ducklake_retry_wait_ms": 50, "ducklake_retry_backoff": 1.5}


def is_lake(target: str | Path) -> bool:
    return str(target).startswith(PREFIX)


def shown(target: str | Path) -> str:
    """The catalog named for a message: a password in the connection string is masked."""
    return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", str(target), flags=re.IGNORECASE)


# Data paths DuckDB reads through the httpfs extension (S3 and its kin, Google Cloud Storage, plain HTTP).
_OBJECT_STORES = ("s3://", "s3a://", "s3n://", "r2://", "gs://", "gcs://", "http://", "https://")


def _extensions(target: str, data: str | None) -> list[str]:
    """The extensions a lake needs: ducklake, its catalog's database, and httpfs for data in an object store."""
    kind = target[len(PREFIX) :].split(":", 1)[0]
    remote = data is not None and data.lower().startswith(_OBJECT_STORES)
    return ["ducklake", *([kind] if kind in ("postgres", "sqlite") else []), *(["httpfs"] if remote else [])]


def _packaged(name: str) -> Path | None:
    """The extension binary shipped in the ``duckdb-extension-<name>`` package for this DuckDB version."""
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(root.glob(f"extensions/v{duckdb.__version__}/{name}.duckdb_extension"))
    return found[0] if found else None


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _load(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load an extension, first installing it from its package when DuckDB does not have it yet (INSTALL copies
    it into DuckDB's extension folder; loading the packaged file by path fails for ``postgres``, whose binary is
    named ``postgres_scanner``)."""
    try:
        con.execute(f"LOAD {name}")
        return
    except duckdb.Error:
        path = _packaged(name)
        if path is None:
            raise
    con.execute(f"INSTALL {_literal(str(path))}")
    con.execute(f"LOAD {name}")


def attach(con: duckdb.DuckDBPyConnection, target: str, read_only: bool) -> None:
    """Load the extensions and attach the lake as the connection's default database."""
    data = os.environ.get(DATA_ENV)
    for name in _extensions(target, data):
        try:
            _load(con, name)
        except duckdb.Error as exc:
            raise duckdb.IOException(
                f"{shown(target)}: the DuckDB extension '{name}' cannot be loaded ({str(exc).splitlines()[0]}); "
                f"install the package duckdb-extension-{name}=={duckdb.__version__}"
            ) from None
    options = []
    if data:
        options.append(f"DATA_PATH {_literal(data)}")
    if read_only:
        options.append("READ_ONLY")
    clause = f" ({', '.join(options)})" if options else ""
    try:
        con.execute(f"ATTACH {_literal(target)} AS {ALIAS}{clause}")
    except duckdb.Error as exc:
        text = shown(" ".join(str(exc).split()))  # DuckDB's message quotes the connection string, password too
        about_data = "data_path" in text.lower() or "data path" in text.lower()
        hint = (
            f"; set {DATA_ENV} to the folder (or object-store URL) of its data files" if about_data and not data else ""
        )
        raise type(exc)(f"{shown(target)}: cannot open the DuckLake warehouse: {text}{hint}") from None
    con.execute(f"USE {ALIAS}")
    if not read_only:
        for setting, value in RETRIES.items():
            con.execute(f"SET {setting} = {value}")


def sandbox(con: duckdb.DuckDBPyConnection) -> None:
    """Let the connection read the lake and no other file: its data folder is the only one allowed once external
    access is off (DuckLake reads the Parquet files through the file system like any other file)."""
    data = con.execute(f"SELECT value FROM ducklake_options('{ALIAS}') WHERE option_name = 'data_path'").fetchone()
    if data and data[0]:
        con.execute(f"SET allowed_directories = [{_literal(data[0])}]")
    con.execute("SET enable_external_access = false")


def is_conflict(exc: BaseException) -> bool:
    """Whether ``exc`` is DuckLake refusing a commit because another writer changed the same table first
    ("Transaction conflict - attempting to insert into table … but another transaction has deleted from it")."""
    return isinstance(exc, duckdb.Error) and "transaction conflict" in str(exc).lower()
