"""The benchmark harness end to end on a tiny input: every figure is in the JSON, and the runs did real work.

No timing is asserted (the benchmark is for `make bench`, on an idle machine); this only keeps the harness
working as the pipeline changes around it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.data import demo_data

ROOT = Path(__file__).resolve().parent.parent
MEASURED = {"seconds", "records_per_second", "cpu_seconds", "peak_rss_bytes", "load_average", "returncode"}


def test_demo_data_is_generated_once_then_read_from_the_cache(tmp_path: Path) -> None:
    first, generated = demo_data(2_000, "csv", cache_dir=tmp_path)
    again, generated_again = demo_data(2_000, "csv", cache_dir=tmp_path)
    assert generated and not generated_again
    assert again.incidents_path == first.incidents_path and again.incidents_path.is_file()
    assert [p.name for p in tmp_path.iterdir()] == [first.out_dir.name]  # no partial folder left behind


def test_bench_run_writes_every_field(tmp_path: Path) -> None:
    results = tmp_path / "results"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.run",
            "--sizes",
            "5000",
            "--formats",
            "csv",
            "--cache",
            str(tmp_path / "cache"),
            "--results",
            str(results),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ours/floor" in done.stdout and "targets at 5,000 records" in done.stdout
    doc = json.loads((results / "latest.json").read_text())
    assert len(list(results.glob("bench-*.json"))) == 1
    assert {
        "started",
        "git",
        "generator_version",
        "machine",
        "options",
        "imports",
        "cases",
        "targets",
        "seconds",
    } <= set(doc)
    assert {"cpus", "memory_bytes", "python", "duckdb", "load_average"} <= set(doc["machine"])
    assert doc["imports"]["pipeline_import_seconds"] > 0

    (case,) = doc["cases"]
    assert case["records"] == 5000 and case["format"] == "csv" and case["input_bytes"] > 0
    for part in ("floor", "ours", "reports", "baseline"):
        assert set(case[part]) >= MEASURED, part
        assert case[part]["returncode"] == 0 and case[part]["peak_rss_bytes"] > 0, part

    floor, ours, baseline = case["floor"], case["ours"], case["baseline"]
    assert 0 < floor["rows"] <= case["input_records"]
    assert ours["records_in"] == case["input_records"]
    assert ours["records_loaded"] == case["expected_loaded"]
    assert ours["records_quarantined"] == case["expected_quarantined"]
    stages = " ".join(ours["stages"])
    for asset in ("staged_records", "mapped_records", "source_facts", "dagster overhead", "outside dagster runs"):
        assert asset in stages, asset
    assert sum(ours["stages"].values()) <= ours["seconds"] * 1.05
    assert {"read", "type", "map", "validate", "split_and_aggregate", "write"} == set(baseline["stages"])
    assert baseline["records_loaded"] + baseline["records_quarantined"] == baseline["rows"]
    assert "index.html" in case["reports"]["pages"]
    assert {"ours_over_floor", "baseline_over_ours", "ours_rss_over_floor_rss"} == set(case["ratios"])
    assert {
        "ours_over_floor",
        "ours_peak_rss_gb",
        "ours_peak_rss_growth",
        "baseline_over_ours",
        "reports_seconds",
    } == set(doc["targets"]["checks"])
