"""`iccs sql` is bounded: memory, spill disk and time are capped, the configuration is locked, only the rows shown
are fetched, CSV/JSON stream, and spill folders of readers that no longer run are removed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main

ROOT = Path(__file__).resolve().parents[1]
SORT = "SELECT range AS n, range::VARCHAR || repeat('x', 40) AS t FROM range(20000000) ORDER BY hash(range)"


@pytest.fixture()
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT range AS n FROM range(10)")
    con.close()
    return path


def _sql(warehouse: Path, *args: str) -> int:
    return main(["sql", "--warehouse", str(warehouse), *args])


def test_the_table_format_fetches_only_the_rows_it_shows(warehouse: Path, capsys) -> None:
    started = time.monotonic()
    assert _sql(warehouse, "--max-rows", "5", "SELECT * FROM range(10000000000)") == 0
    out = capsys.readouterr().out
    assert "first 5 rows shown; the query has more" in out
    assert time.monotonic() - started < 30  # materialising 10^10 rows would never end


def test_csv_streams_rows_until_the_time_limit_stops_the_query(warehouse: Path, capsys) -> None:
    assert _sql(warehouse, "--timeout", "2", "--format", "csv", "SELECT * FROM range(10000000000)") == 1
    captured = capsys.readouterr()
    assert captured.out.startswith('"range"\n0\n1\n2\n')  # rows were written while the query ran
    assert captured.err.strip().splitlines() == [
        "iccs: the query ran longer than the 2 s `iccs sql` allows and was stopped (--timeout or ICCS_SQL_TIMEOUT; "
        "while it runs, loads wait for the file)"
    ]


def test_json_streams_batches_into_one_valid_document(warehouse: Path, capsys) -> None:
    assert _sql(warehouse, "--format", "json", "SELECT range AS n FROM range(25000)") == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 25000 and rows[-1] == {"n": 24999}


def test_a_query_over_the_memory_cap_is_one_line(warehouse: Path, capsys) -> None:
    assert _sql(warehouse, "--memory-limit", "64MB", "SELECT list(range) FROM range(100000000)") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs more than the 64MB of memory `iccs sql` may use (--memory-limit" in err[0]


def test_a_sort_over_the_spill_cap_is_one_line_and_leaves_no_spill(warehouse: Path, capsys) -> None:
    assert _sql(warehouse, "--memory-limit", "64MB", "--temp-limit", "16MB", SORT) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "needs more than the 16MB of disk `iccs sql` may spill to (--temp-limit" in err[0]
    assert not list(warehouse.parent.glob("*.tmp*"))


@pytest.mark.parametrize(
    "statement",
    [
        "SET memory_limit = '100GB'",
        "RESET memory_limit",
        "SET max_temp_directory_size = '1TB'",
        "SET lock_configuration = false",
        "SET temp_directory = '/tmp'",
    ],
)
def test_the_limits_cannot_be_lifted_from_sql(warehouse: Path, capsys, statement: str) -> None:
    assert _sql(warehouse, statement) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "`iccs sql` cannot change DuckDB settings" in err[0], err


def test_limits_come_from_flags_then_environment(warehouse: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("ICCS_SQL_MEMORY", "300MB")
    monkeypatch.setenv("ICCS_SQL_TEMP", "50MB")
    query = "SELECT current_setting('memory_limit') AS m, current_setting('max_temp_directory_size') AS t"
    assert _sql(warehouse, "--format", "json", query) == 0
    assert json.loads(capsys.readouterr().out) == [{"m": "286.1 MiB", "t": "47.6 MiB"}]
    assert _sql(warehouse, "--format", "json", "--memory-limit", "200MB", query) == 0
    assert json.loads(capsys.readouterr().out)[0]["m"] == "190.7 MiB"


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["--timeout", "0"], {}, "--timeout/ICCS_SQL_TIMEOUT: 0.0 must be a positive number of seconds"),
        ([], {"ICCS_SQL_TIMEOUT": "soon"}, "--timeout/ICCS_SQL_TIMEOUT: 'soon' is not a number of seconds"),
        (["--memory-limit", "lots"], {}, "--memory-limit/ICCS_SQL_MEMORY: 'lots' is not a size such as 500MB or 2GB"),
        ([], {"ICCS_SQL_TEMP": "-1GB"}, "--temp-limit/ICCS_SQL_TEMP: '-1GB' is not a size such as 500MB or 2GB"),
    ],
)
def test_a_bad_limit_is_a_usage_error(warehouse: Path, capsys, monkeypatch, args, env, expected) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert _sql(warehouse, *args, "SELECT 1") == 2
    assert capsys.readouterr().err.strip() == f"iccs: {expected}"


def test_the_sandbox_still_refuses_other_files(warehouse: Path, capsys) -> None:
    assert _sql(warehouse, "SELECT * FROM read_csv('/etc/passwd')") == 1
    assert "`iccs sql` reads the warehouse only" in capsys.readouterr().err


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_killed_readers_spill_is_removed_on_the_next_start_a_live_ones_kept(warehouse: Path, capsys) -> None:
    reader = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "sql",
            "--warehouse",
            str(warehouse),
            "--memory-limit",
            "32MB",
            "--temp-limit",
            "4GB",
            "--timeout",
            "300",
            SORT,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    spill = warehouse.with_name(f"{warehouse.name}.sql.tmp-{reader.pid}")
    deadline = time.monotonic() + 120
    while not (spill.is_dir() and any(spill.iterdir())):
        assert reader.poll() is None and time.monotonic() < deadline, "the sort never spilled"
        time.sleep(0.05)
    reader.send_signal(signal.SIGKILL)
    reader.wait()
    assert any(spill.iterdir())  # nothing cleans up after a kill ...
    live = subprocess.Popen(["sleep", "60"])
    try:
        live_spill = warehouse.with_name(f"{warehouse.name}.sql.tmp-{live.pid}")
        live_spill.mkdir()
        (live_spill / "duckdb_temp_storage-0.tmp").write_bytes(b"in use")
        writer_spill = warehouse.with_name(f"{warehouse.name}.tmp")  # DuckDB's own, left by a killed writer
        writer_spill.mkdir()
        (writer_spill / "duckdb_temp_storage-0.tmp").write_bytes(b"stale")
        assert _sql(warehouse, "SELECT count(*) AS n FROM t") == 0  # ... until the next reader starts
        assert "10" in capsys.readouterr().out
        assert not spill.exists() and not writer_spill.exists()
        assert (live_spill / "duckdb_temp_storage-0.tmp").exists() and _alive(live.pid)
    finally:
        live.kill()
        live.wait()


@pytest.mark.parametrize("args", [["   "], [" ; "], ["--max-rows", "-1", "SELECT 1"], ["--max-rows", "0", "SELECT 1"]])
def test_blank_queries_and_bad_max_rows_are_usage_errors(warehouse: Path, capsys, args) -> None:
    assert _sql(warehouse, *args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("iccs: ")
