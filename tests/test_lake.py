"""A DuckLake warehouse (catalog in a real, throwaway PostgreSQL; data as Parquet in a folder) holds exactly what
the DuckDB file holds, loads files in parallel, lets analysts read whole files only while it loads, and retries a
commit that lost to another writer's. Skipped where no PostgreSQL can be had (tests/postgres.py says why)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
import yaml
from conftest import MINI_CONFIG, ROOT

from pipelines.demo import generate_demo
from pipelines.runner import run_pipeline
from warehouse.connection import connect
from warehouse.transaction import WarehouseConflictError, retrying, transaction

# Columns that differ between two runs whatever the backend: run ids, clock times, the configuration's path.
VOLATILE = {"run_id", "started_at", "finished_at", "applied_at", "computed_at", "config", "fingerprint"}


@pytest.fixture
def lake(lake_catalog: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new, empty lake: its catalog in a database of its own, its data files under tmp_path."""
    monkeypatch.setenv("ICCS_LAKE_DATA", str(tmp_path / "lake-data"))
    return lake_catalog


def _objects(con: duckdb.DuckDBPyConnection, catalog: str) -> list[str]:
    return [
        row[0]
        for row in con.execute(
            f"""SELECT table_name FROM duckdb_tables() WHERE database_name = '{catalog}' AND schema_name = 'main'
                UNION ALL
                SELECT view_name FROM duckdb_views() WHERE database_name = '{catalog}' AND schema_name = 'main'
                AND NOT internal ORDER BY 1"""
        ).fetchall()
    ]


def differences(lake: str, file: Path) -> dict[str, tuple[int, int]]:
    """Every table and view of the two warehouses compared row for row (as multisets, volatile columns left
    out): name -> (rows only in the lake, rows only in the file), for those that differ or exist in one only."""
    found: dict[str, tuple[int, int]] = {}
    with connect(lake, read_only=True) as con:
        con.execute(f"ATTACH '{file}' AS file_backend (READ_ONLY)")
        names = _objects(con, "lake")
        for name in sorted(set(names) ^ set(_objects(con, "file_backend"))):
            found[name] = (-1, -1)
        for name in names:
            if name in found:
                continue
            columns = [c[0] for c in con.execute(f"SELECT * FROM lake.main.{name} LIMIT 0").description]
            kept = ", ".join(f'"{c}"' for c in columns if c not in VOLATILE)
            if not kept:
                continue
            a, b = (f"SELECT {kept} FROM {db}.main.{name}" for db in ("lake", "file_backend"))
            only = con.execute(
                f"SELECT (SELECT count(*) FROM ({a} EXCEPT ALL {b})), (SELECT count(*) FROM ({b} EXCEPT ALL {a}))"
            ).fetchone()
            if only != (0, 0):
                found[name] = only
    return found


def _tables(lake: str) -> None:
    """The lake's tables and views, so that a reader can query them before the first load commits."""
    from warehouse.ddl import ensure_schema

    with connect(lake) as con:
        ensure_schema(con)


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return con.execute(sql).fetchone()[0]


def test_the_same_run_gives_the_same_warehouse_and_reports_on_both_backends(lake: str, tmp_path: Path) -> None:
    on_file = run_pipeline(MINI_CONFIG, tmp_path / "w.duckdb", tmp_path / "file-reports")
    on_lake = run_pipeline(MINI_CONFIG, lake, tmp_path / "lake-reports")
    assert on_file.ok and on_lake.ok, (on_file.errors, on_lake.errors)
    assert differences(lake, tmp_path / "w.duckdb") == {}
    with connect(lake, read_only=True) as con:
        assert _rows(con, "SELECT count(*) FROM offences") > 0
        assert _rows(con, "SELECT count(*) FROM quarantine") > 0
        comment = (
            "SELECT comment FROM duckdb_views() WHERE database_name = current_database() AND view_name = 'v_rates'"
        )
        assert "per 100,000" in con.execute(comment).fetchone()[0]
    assert sorted(on_lake.reports) == sorted(on_file.reports) and "trends" in on_lake.reports
    # the run's figures are the warehouse's own: the same on both backends
    assert [(s.source, s.records_in, s.records_loaded, s.records_quarantined) for s in on_lake.sources] == [
        (s.source, s.records_in, s.records_loaded, s.records_quarantined) for s in on_file.sources
    ]
    # A second run over the same files changes no table or view definition (each would be a snapshot that
    # conflicts with any other writer's commit) and rewrites no reference table.
    with connect(lake, read_only=True) as con:
        before = _rows(con, "SELECT max(snapshot_id) FROM lake.snapshots()")
    assert run_pipeline(MINI_CONFIG, lake, tmp_path / "again", with_reports=False).ok
    with connect(lake, read_only=True) as con:
        changes = [
            row[0]
            for row in con.execute(f"SELECT changes FROM lake.snapshots() WHERE snapshot_id > {before}").fetchall()
        ]
        tables = {
            row[0]: row[1]
            for row in con.execute(
                "SELECT table_id::VARCHAR, table_name FROM __ducklake_metadata_lake.ducklake_table "
                "WHERE end_snapshot IS NULL"
            ).fetchall()
        }
    kinds = {kind for change in changes for kind in change}
    assert not kinds & {"tables_created", "tables_altered", "views_created", "views_altered", "views_dropped"}, changes
    written = {tables.get(t, t) for change in changes for values in change.values() for t in values}
    assert not written & {"iccs_categories", "iccs_ancestors", "sdg16_codes", "sources", "correspondence"}, changes
    _sql_reads_the_lake_and_nothing_else(lake, tmp_path)


def _sql_reads_the_lake_and_nothing_else(lake: str, tmp_path: Path) -> None:
    """`iccs sql` on the lake the mini run loaded: read-only, sandboxed (no file but the lake's data files read,
    none written, not even in its data folder)."""
    with connect(lake) as con:  # the mini run's rows are few enough to sit in the catalog: to Parquet with them
        con.execute("CALL ducklake_flush_inlined_data('lake')")
        assert _rows(con, "SELECT count(*) FROM ducklake_list_files('lake', 'quarantine')") > 0
    data = Path(os.environ["ICCS_LAKE_DATA"])
    secret = tmp_path / "secret.csv"
    secret.write_text("a\n1\n", encoding="utf-8")
    env = {**os.environ, "ICCS_WAREHOUSE": lake}

    def sql(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "sql", *args], cwd=ROOT, env=env, capture_output=True, text=True
        )

    tables = sql("--tables")
    assert tables.returncode == 0 and "v_counts_by_section_year" in tables.stdout and "per 100,000" in tables.stdout
    assert "ducklake_" not in tables.stdout  # the catalog's own tables are not the warehouse's
    counted = sql("SELECT count(*) AS n FROM offences", "--format", "csv")
    assert counted.returncode == 0 and counted.stdout.splitlines()[1] == "9"
    summary = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "quarantine", "--summary"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert summary.returncode == 0 and "duplicate_record_id" in summary.stdout, summary.stderr
    for query in (
        f"SELECT * FROM read_csv('{secret}')",
        f"COPY offences TO '{tmp_path / 'out.csv'}'",
        f"COPY offences TO '{data / 'main' / 'offences' / 'extra.parquet'}'",
        f"EXPORT DATABASE '{data / 'export'}'",
    ):
        refused = sql(query)
        assert refused.returncode != 0 and "Traceback" not in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert not (tmp_path / "out.csv").exists() and not (data / "export").exists()
    assert not list(data.rglob("extra.parquet"))
    written = sql("DELETE FROM offences")
    assert written.returncode != 0 and "read-only" in written.stderr


def test_a_current_lake_gets_no_table_definitions_again(lake: str) -> None:
    """ensure_schema writes only when the code that defines the tables changed: a step finding the lake current
    makes no snapshot, so it never conflicts with another writer's commit."""
    from warehouse.ddl import ensure_schema

    with connect(lake) as con:
        ensure_schema(con)
        before = _rows(con, "SELECT max(snapshot_id) FROM lake.snapshots()")
        assert _rows(con, "SELECT count(*) FROM duckdb_views() WHERE database_name = 'lake'") > 10
        ensure_schema(con)
        assert _rows(con, "SELECT max(snapshot_id) FROM lake.snapshots()") == before


def _two_sources(folder: Path, records: int) -> Path:
    """Two incident sources of 3 files each: `north` keeps its record ids (20 of them also in a later file:
    cross-file duplicates), `south` has none (its records are numbered by file and line, so its files are
    independent)."""
    generate_demo(folder, records=records)
    lines = (folder / "incidents.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    header, body = lines[0], lines[1:]
    half, third = len(body) // 2, len(body) // 6 + 1
    for name, part in (("north", body[:half]), ("south", body[half:])):
        for i in range(3):
            chunk = part[i * third : (i + 1) * third]
            if name == "north" and i == 2:
                chunk = chunk + part[:20]  # ids of north_0 again: loaded once, from north_0
            (folder / f"{name}_{i}.csv").write_text(header + "".join(chunk), encoding="utf-8")
    (folder / "incidents.csv").unlink()
    config = yaml.safe_load((folder / "sources.yaml").read_text(encoding="utf-8"))
    demo = config["sources"].pop("demo_police")
    config["sources"]["north"] = {**demo, "files": "north_*.csv"}
    south = {**demo, "files": "south_*.csv", "columns": dict(demo["columns"])}
    del south["columns"]["record_id"]
    config["sources"]["south"] = south
    path = folder / "sources.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


# Incident sources' files: their records are rows of offences or quarantine, one each.
_WHOLE_FILES = """
    WITH latest AS (SELECT file, records_in, records_loaded, records_quarantined FROM v_latest_runs
                    WHERE status = 'loaded' AND source IN (SELECT source FROM sources WHERE level = 'incident')),
         stored AS (SELECT file, count(*) AS n
                    FROM (SELECT file FROM offences UNION ALL SELECT file FROM quarantine
                          WHERE source IN (SELECT source FROM sources WHERE level = 'incident'))
                    GROUP BY file)
    SELECT count(*) FILTER (coalesce(l.records_in, 0) <> coalesce(s.n, 0)
                            OR l.records_in <> l.records_loaded + l.records_quarantined),
           count(l.file)
    FROM latest l FULL JOIN stored s ON s.file = l.file"""


def test_parallel_loads_give_a_serial_load_and_readers_see_only_whole_files(lake: str, tmp_path: Path) -> None:
    """Analysts query while six files load two at a time: every snapshot holds each file's rows all or not at all,
    with records in = loaded + quarantined; `iccs sql` answers every time, never "busy". The lake then holds what
    a serial load into a DuckDB file gives. With a persistent Dagster instance (`make run` sets DAGSTER_HOME),
    whose writers' pool has one slot (pipelines/dagster.yaml, for a DuckDB file), `iccs run --workers` raises it
    for the run and sets it back."""
    config = _two_sources(tmp_path / "data", 6_000)
    _tables(lake)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "pipelines" / "dagster.yaml", home / "dagster.yaml")
    env = {**os.environ, "ICCS_WAREHOUSE": lake, "ICCS_REPORTS": str(tmp_path / "r"), "DAGSTER_HOME": str(home)}
    load = subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "run", "--config", str(config), "--workers", "2", "--no-reports"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    seen_files: set[int] = set()
    answers: list[subprocess.CompletedProcess[str]] = []

    def ask() -> None:
        while load.poll() is None:
            answers.append(
                subprocess.run(
                    [sys.executable, "-m", "pipelines.cli", "sql", "SELECT count(*) FROM offences", "--format", "csv"],
                    cwd=ROOT,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
            )

    asker = threading.Thread(target=ask)
    asker.start()
    try:
        with connect(lake, read_only=True) as con:
            while load.poll() is None:
                with transaction(con):  # one snapshot for the whole check
                    broken, files = con.execute(_WHOLE_FILES).fetchone()
                assert broken == 0, f"a snapshot with {broken} file(s) partly loaded"
                seen_files.add(files)
                time.sleep(0.05)
    finally:
        output = load.communicate(timeout=600)[0]
        asker.join()
    assert load.returncode == 0, output
    assert len(seen_files) >= 3, f"the reader saw too few states to prove anything: {sorted(seen_files)}"
    assert answers and all(a.returncode == 0 and "busy" not in a.stderr for a in answers), answers[:3]
    serial = run_pipeline(config, tmp_path / "w.duckdb", tmp_path / "r1", with_reports=False)
    assert serial.ok, serial.errors
    assert differences(lake, tmp_path / "w.duckdb") == {}
    with connect(lake, read_only=True) as con:
        duplicates = "SELECT count(*) FROM quarantine WHERE source = 'north' AND reason = 'duplicate_record_id'"
        assert _rows(con, duplicates) >= 20
        assert _rows(con, "SELECT count(*) - count(DISTINCT record_id) FROM offences WHERE source = 'north'") == 0
        overlapping = """SELECT count(*) FROM runs a JOIN runs b ON a.file < b.file
                         AND a.started_at < b.finished_at AND b.started_at < a.finished_at"""
        assert _rows(con, overlapping) > 0, "no two files loaded at the same time"
    import dagster as dg

    from pipelines.assets.reference import WRITER_POOL

    with dg.DagsterInstance.from_config(str(home)) as instance:
        pool = instance.event_log_storage.get_concurrency_info(WRITER_POOL)
        assert pool.slot_count == 1 and pool.using_default_limit  # back to dagster.yaml's default_limit


def test_a_commit_that_loses_to_another_writer_is_retried_whole(lake: str) -> None:
    with connect(lake) as setup:
        setup.execute("CREATE TABLE facts (file VARCHAR, n INTEGER)")
        setup.execute("INSERT INTO facts SELECT 'a.csv', range FROM range(100)")
        setup.execute("INSERT INTO facts SELECT 'b.csv', range FROM range(100)")
    writer, other = connect(lake), connect(lake)
    attempts: list[int] = []

    def replace_a(interfere: int) -> int:
        """Replace a.csv's rows; while the first ``interfere`` attempts are open, another writer replaces b.csv."""
        attempts.append(1)
        with transaction(writer):
            writer.execute("DELETE FROM facts WHERE file = 'a.csv'")
            writer.execute("INSERT INTO facts SELECT 'a.csv', range FROM range(50)")
            if len(attempts) <= interfere:
                other.execute("DELETE FROM facts WHERE file = 'b.csv'")
                other.execute(f"INSERT INTO facts SELECT 'b.csv', range FROM range({len(attempts) * 10})")
        return len(attempts)

    assert retrying(lambda: replace_a(1), "a.csv") == 2
    counts = dict(writer.execute("SELECT file, count(*) FROM facts GROUP BY 1").fetchall())
    assert counts == {"a.csv": 50, "b.csv": 10}  # nothing half-written, nothing lost

    attempts.clear()
    with pytest.raises(WarehouseConflictError, match=r"^a\.csv: other writers kept changing the same tables .* 2 "):
        retrying(lambda: replace_a(5), "a.csv", attempts=2)
    counts = dict(writer.execute("SELECT file, count(*) FROM facts GROUP BY 1").fetchall())
    assert counts == {"a.csv": 50, "b.csv": 20}  # the failed attempts left a.csv as it was
    writer.close()
    other.close()


def test_a_lake_in_an_object_store_names_the_extension_package_it_needs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Data in s3:// needs DuckDB's httpfs extension: loaded from its PyPI package, never downloaded; where it is
    not installed, one line names the package (no server is reached before that)."""
    from warehouse import lake

    probe = duckdb.connect()
    try:
        probe.execute("LOAD httpfs")
        pytest.skip("httpfs is installed here: nothing is missing to name")
    except duckdb.Error:
        pass
    if lake._packaged("httpfs") is not None:
        pytest.skip("duckdb-extension-httpfs is installed here: nothing is missing to name")
    monkeypatch.setenv("ICCS_LAKE_DATA", "s3://bucket/iccs/")
    with pytest.raises(duckdb.IOException, match=r"install the package duckdb-extension-httpfs==1\.5\.5$") as raised:
        connect("ducklake:postgres:dbname=iccs host=127.0.0.1 password=secret")
    assert "password=***" in str(raised.value) and "secret" not in str(raised.value)


def _children(pid: int) -> list[tuple[int, float]]:
    """The child processes of ``pid`` with the CPU seconds each has used (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append((int(stat.parent.name), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")))
    return found


def test_a_worker_killed_mid_load_loses_nothing_and_is_told_in_one_line(lake: str, tmp_path: Path) -> None:
    """SIGKILL one of two load workers while it loads: its files are reported in one line each (no traceback), its
    open transaction never commits (every file in the lake is whole), and a second run loads what is missing."""
    config = _two_sources(tmp_path / "data", 6_000)
    _tables(lake)
    env = {**os.environ, "ICCS_WAREHOUSE": lake, "ICCS_REPORTS": str(tmp_path / "r")}
    command = [sys.executable, "-m", "pipelines.cli", "run", "--config", str(config), "--workers", "2", "--no-reports"]
    load = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    victim = None
    while victim is None and time.monotonic() < deadline and load.poll() is None:
        workers = [pid for pid, seconds in _children(load.pid) if seconds > 3.0]  # past their imports: loading
        victim = workers[0] if len(workers) >= 2 else None
        time.sleep(0.2)
    assert victim is not None, "no two busy workers seen"
    os.kill(victim, signal.SIGKILL)
    output = load.communicate(timeout=600)[0]
    assert load.returncode != 0 and "Traceback" not in output, output
    died = [line for line in output.splitlines() if "the worker process loading it died" in line]
    assert died, output
    with connect(lake, read_only=True) as con:
        assert con.execute(_WHOLE_FILES).fetchone()[0] == 0
    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stdout + again.stderr
    with connect(lake, read_only=True) as con:
        broken, files = con.execute(_WHOLE_FILES).fetchone()
        assert broken == 0 and files == 6  # the three files of north and the three of south


def test_a_lake_that_cannot_be_opened_is_one_line_without_its_password(postgres_dsn: str) -> None:
    from tests.postgres import parse_conninfo

    server = parse_conninfo(postgres_dsn)
    target = (
        f"ducklake:postgres:dbname=no_such_lake host={server['host']} port={server['port']} user=postgres password=pw9"
    )
    with pytest.raises(duckdb.Error) as raised:
        connect(target, read_only=True)
    text = str(raised.value)
    assert text.startswith("ducklake:postgres:dbname=no_such_lake") and "cannot open the DuckLake warehouse" in text
    assert 'database "no_such_lake" does not exist' in text and "\n" not in text
    assert "pw9" not in text and "ICCS_LAKE_DATA" not in text  # the data folder is not what is wrong
