"""One writer at a time, readers never see a traceback: a second writer waits with a message, a reader during a
write says in one line who holds the warehouse, and a reader holds it for one query only."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pipelines.cli import main
from warehouse.connection import WarehouseBusyError, connect

HOLD = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from warehouse.connection import connect, writing
    path = Path(sys.argv[1])
    con = connect(path)
    con.execute("CREATE TABLE IF NOT EXISTS t AS SELECT 1 AS x")
    with writing(path, "a test write"):
        Path(sys.argv[2]).write_text("holding")
        time.sleep(float(sys.argv[3]))
    con.close()
""")


def _hold(warehouse: Path, tmp_path: Path, seconds: float) -> subprocess.Popen:
    ready = tmp_path / "ready"
    process = subprocess.Popen([sys.executable, "-c", HOLD, str(warehouse), str(ready), str(seconds)])
    deadline = time.monotonic() + 60
    while not ready.exists():
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    return process


def test_a_reader_during_a_write_gets_one_line_naming_the_writer(tmp_path: Path, capsys) -> None:
    warehouse = tmp_path / "w.duckdb"
    connect(warehouse).close()
    writer = _hold(warehouse, tmp_path, 60)
    try:
        with pytest.raises(WarehouseBusyError, match=r"busy: a pipeline run \(pid \d+, since .*a test write"):
            connect(warehouse, read_only=True)
        assert main(["sql", "--warehouse", str(warehouse), "SELECT 1"]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "retry in a few seconds" in err
    finally:
        writer.kill()
        writer.wait(30)
    assert main(["sql", "--warehouse", str(warehouse), "SELECT x FROM t"]) == 0


def test_a_second_writer_waits_with_a_message_then_proceeds(tmp_path: Path, capsys) -> None:
    warehouse = tmp_path / "w.duckdb"
    connect(warehouse).close()
    writer = _hold(warehouse, tmp_path, 1.5)
    started = time.monotonic()
    con = connect(warehouse, wait_seconds=60)
    waited = time.monotonic() - started
    con.execute("INSERT INTO t VALUES (2)")
    con.close()
    writer.wait(30)
    assert waited > 0.5
    assert "waiting for the warehouse" in capsys.readouterr().err


def test_a_writer_gives_up_with_a_clear_message(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    connect(warehouse).close()
    writer = _hold(warehouse, tmp_path, 60)
    try:
        with pytest.raises(WarehouseBusyError, match="gave up after waiting 0 s for the warehouse, held by process"):
            connect(warehouse, wait_seconds=0.3)
    finally:
        writer.kill()
        writer.wait(30)


def test_sql_refuses_writes_and_names_a_missing_warehouse(tmp_path: Path, capsys) -> None:
    assert main(["sql", "--warehouse", str(tmp_path / "none.duckdb"), "SELECT 1"]) == 1
    assert "no warehouse yet; run `iccs run` first" in capsys.readouterr().err
    warehouse = tmp_path / "w.duckdb"
    connect(warehouse).close()
    assert main(["sql", "--warehouse", str(warehouse), "CREATE TABLE x (a INT)"]) == 1
    assert "read-only" in capsys.readouterr().err


def test_sql_reads_the_warehouse_and_no_other_file(mini_run, tmp_path: Path, capsys) -> None:
    target = tmp_path / "leak.csv"
    assert main(["sql", "--warehouse", str(mini_run.warehouse), f"COPY offences TO '{target}'"]) == 1
    assert not target.exists()
    assert "reads the warehouse only" in capsys.readouterr().err
    assert main(["sql", "--warehouse", str(mini_run.warehouse), "SELECT * FROM read_csv('/etc/hostname')"]) == 1
    assert (
        main(["sql", "--warehouse", str(mini_run.warehouse), "--format", "csv", "SELECT count(*) AS n FROM offences"])
        == 0
    )
    assert capsys.readouterr().out.split() == ['"n"', "9"]
