"""A run killed with SIGKILL in the middle of a load leaves the warehouse as it was before that load; the next run
completes it, with the same rows as a clean run and no duplicates. Done for real: a subprocess, a kill, a rerun."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from pipelines.runner import run_pipeline
from tests.conftest import MINI_CONFIG

TABLES = {
    "offences": "SELECT * EXCLUDE (file) FROM offences ORDER BY ALL",
    "offence_counts": "SELECT * EXCLUDE (file) FROM offence_counts ORDER BY ALL",
    "quarantine": "SELECT * EXCLUDE (file, run_id) FROM quarantine ORDER BY ALL",
}


# ``iccs run`` in a subprocess whose loads pause before their commit: warehouse.load.before_commit writes the
# marker file and waits to be killed.
PAUSED_RUN = """
import sys, time
from pathlib import Path
from warehouse import load
from pipelines.cli import main

def pause(file):
    Path(sys.argv[1]).write_text("loading " + file + ", not committed")
    time.sleep(600)

load.before_commit = pause
sys.exit(main(["run", "--config", sys.argv[2], "--no-reports", "--warehouse", sys.argv[3]]))
"""


def _start_paused(config: Path, warehouse: Path, marker: Path) -> subprocess.Popen:
    command = [sys.executable, "-c", PAUSED_RUN, str(marker), str(config), str(warehouse)]
    return subprocess.Popen(
        command, cwd=Path(__file__).parents[1], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )


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
    process = _start_paused(config, warehouse, marker)
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
