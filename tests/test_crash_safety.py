"""A run killed with SIGKILL in the middle of a load leaves the warehouse as it was before that load; the next run
completes it, with the same rows as a clean run and no duplicates. Done for real: a subprocess, a kill, a rerun."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from pipelines.runner import run_pipeline
from tests.conftest import MINI_CONFIG
from warehouse.load import CRASH_TEST_PAUSE

TABLES = {
    "offences": "SELECT * EXCLUDE (file) FROM offences ORDER BY ALL",
    "offence_counts": "SELECT * EXCLUDE (file) FROM offence_counts ORDER BY ALL",
    "quarantine": "SELECT * EXCLUDE (file, run_id) FROM quarantine ORDER BY ALL",
}


def _start(config: Path, warehouse: Path, env: dict[str, str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "pipelines.cli", "run", "--config", str(config), "--no-reports",
               "--warehouse", str(warehouse)]
    return subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _state(warehouse: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {name: con.execute(sql).fetchall() for name, sql in TABLES.items()}


def test_sigkill_mid_load_keeps_the_previous_state_and_a_rerun_completes(tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    shutil.copytree(MINI_CONFIG.parent, folder)
    config, warehouse = folder / "sources.yaml", tmp_path / "w.duckdb"
    assert run_pipeline(config, warehouse, tmp_path / "r", with_reports=False).ok
    before = _state(warehouse)

    # The courts correct their file; the reload is killed after its deletes and inserts, before the commit.
    (folder / "convictions.csv").write_text("year,offence,region,persons\n2023,HOM,North,3\n2023,THF,South,41\n")
    marker = tmp_path / "paused"
    process = _start(config, warehouse, {CRASH_TEST_PAUSE: str(marker)})
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert process.poll() is None, process.stdout.read()
        assert time.monotonic() < deadline, "the load never reached the pause point"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    assert _state(warehouse) == before

    assert run_pipeline(config, warehouse, tmp_path / "r", with_reports=False).ok
    clean = tmp_path / "clean.duckdb"
    assert run_pipeline(config, clean, tmp_path / "r", with_reports=False).ok
    assert _state(warehouse) == _state(clean)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT sum(count) FROM offence_counts WHERE source = 'mini_courts'").fetchone() == (44.0,)
