"""SIGKILL at several moments of a real run (reference tables, the mirror, staging, classification, a load's
transaction, completeness and windows): whatever the moment, the next run gives exactly the warehouse of a clean run.

The moments are fractions of the measured length of an uninterrupted run of the same input, so the kills land in
different steps on a fast or a slow machine; test_crash_safety.py pins the one moment between a load's inserts and
its commit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.demo import generate_demo

ROOT = Path(__file__).resolve().parents[1]
FRACTIONS = (0.5, 0.7, 0.9)
# Every table a run writes, compared row for row (run ids and times left out: they differ by design).
COMPARED = {
    "offences": "*",
    "offence_counts": "*",
    "disaggregated_counts": "*",
    "quarantine": "* EXCLUDE (run_id)",
    "population": "*",
    "completeness": "*",
    "coverage_windows": "*",
}


def _split_demo(folder: Path, parts: int = 4) -> Path:
    """The demo's incidents as ``parts`` files (a source with several landed files), its config pointing at them."""
    manifest = generate_demo(folder, records=20_000)
    incidents = folder / "incidents.csv"
    header, *lines = incidents.read_text(encoding="utf-8").splitlines(keepends=True)
    size = len(lines) // parts + 1
    for index in range(parts):
        chunk = lines[index * size : (index + 1) * size]
        (folder / f"incidents_{index}.csv").write_text(header + "".join(chunk), encoding="utf-8")
    incidents.unlink()
    config = manifest.config_path
    text = config.read_text(encoding="utf-8")
    assert "incidents.csv" in text
    config.write_text(text.replace("incidents.csv", "incidents_*.csv"), encoding="utf-8")
    return config


def _run(config: Path, warehouse: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DAGSTER_HOME", None)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "run",
            "--config",
            str(config),
            "--warehouse",
            str(warehouse),
            "--no-reports",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _complete(config: Path, warehouse: Path) -> float:
    started = time.perf_counter()
    process = _run(config, warehouse)
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 0, output
    return time.perf_counter() - started


def _differences(clean: Path, other: Path) -> dict[str, object]:
    """Per table, the rows only one of the two warehouses holds (a few of each side, to diagnose a failure)."""
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{clean}' AS a (READ_ONLY); ATTACH '{other}' AS b (READ_ONLY)")
        found: dict[str, object] = {}
        for table, columns in COMPARED.items():
            a, b = f"SELECT {columns} FROM a.{table}", f"SELECT {columns} FROM b.{table}"
            only_clean = con.execute(f"{a} EXCEPT ALL {b} LIMIT 3").fetchall()
            only_other = con.execute(f"{b} EXCEPT ALL {a} LIMIT 3").fetchall()
            if only_clean or only_other:
                found[table] = {"only_in_clean_run": only_clean, "only_after_kill_and_rerun": only_other}
        # and the latest load of every file conserves its records
        found["runs_not_conserved"] = con.execute("""
            SELECT count(*) FROM b.v_latest_runs
            WHERE status = 'loaded' AND records_in <> records_loaded + records_quarantined""").fetchone()[0]
        return {k: v for k, v in found.items() if v}
    finally:
        con.close()


@pytest.mark.slow
def test_a_run_killed_at_any_moment_then_rerun_equals_a_clean_run(tmp_path: Path) -> None:
    config = _split_demo(tmp_path / "in")
    clean = tmp_path / "clean.duckdb"
    length = _complete(config, clean)
    for fraction in FRACTIONS:
        warehouse = tmp_path / f"killed_{int(fraction * 100)}.duckdb"
        process = _run(config, warehouse)
        time.sleep(length * fraction)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.communicate(timeout=60)
        _complete(config, warehouse)
        assert _differences(clean, warehouse) == {}, f"killed at {fraction:.0%} of {length:.1f} s"
