"""The throwaway PostgreSQL of tests/postgres.py answers, and holds a DuckLake catalog DuckDB 1.5.5 can share."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import duckdb

from tests.postgres import Server, parse_conninfo


def _connect(extensions: Path) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with ducklake and postgres loaded from their pip packages, offline."""
    connection = duckdb.connect(config={"extension_directory": str(extensions), "autoinstall_known_extensions": False})
    for name in ("ducklake", "postgres"):
        package = Path(importlib.util.find_spec(f"duckdb_extension_{name}").origin).parent
        (binary,) = package.glob(f"extensions/v{duckdb.__version__}/{name}.duckdb_extension")
        connection.execute(f"INSTALL '{binary}'")
        connection.execute(f"LOAD {name}")
    return connection


def test_the_server_answers(postgres_dsn: str, postgres_server_for_tests: Server) -> None:
    fields = parse_conninfo(postgres_dsn)
    assert fields["dbname"] == "postgres" and fields["host"] and int(fields["port"]) > 0
    assert postgres_server_for_tests.query("SELECT 6 * 7") == "42"


def test_each_test_gets_a_new_empty_database(postgres_database: str, postgres_server_for_tests: Server) -> None:
    name = parse_conninfo(postgres_database)["dbname"]
    assert name.startswith("iccs_test_")
    tables = (
        "SELECT count(*) FROM information_schema.tables WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
    )
    assert postgres_server_for_tests.query(tables, dbname=name) == "0"


def test_a_ducklake_catalog_in_postgres_is_shared_by_two_connections(
    lake_catalog: str, postgres_database: str, postgres_server_for_tests: Server, tmp_path: Path
) -> None:
    assert lake_catalog == f"ducklake:postgres:{postgres_database}"
    # No inlining: even two rows go to Parquet under DATA_PATH, not into the catalog's tables.
    attach = f"ATTACH '{lake_catalog}' AS lake (DATA_PATH '{tmp_path / 'lake'}', DATA_INLINING_ROW_LIMIT 0)"
    writer = _connect(tmp_path / "extensions")
    writer.execute(attach)
    writer.execute("CREATE TABLE lake.counts (country VARCHAR, offences BIGINT)")
    writer.execute("INSERT INTO lake.counts VALUES ('AT', 12), ('BE', 30)")
    writer.close()

    reader = _connect(tmp_path / "extensions")
    reader.execute(attach)
    assert reader.execute("SELECT country, offences FROM lake.counts ORDER BY country").fetchall() == [
        ("AT", 12),
        ("BE", 30),
    ]
    assert list((tmp_path / "lake").rglob("*.parquet")), "the rows are Parquet files under DATA_PATH"
    reader.close()
    catalog = parse_conninfo(postgres_database)["dbname"]
    assert postgres_server_for_tests.query("SELECT table_name FROM ducklake_table", dbname=catalog) == "counts"
