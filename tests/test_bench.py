"""The benchmark harness end to end on a tiny input: every figure is in the JSON, and the runs did real work.

No timing is asserted (the benchmark is for `make bench`, on an idle machine); this only keeps the harness
working as the pipeline changes around it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from bench.data import demo_data
from bench.run import TABLE_HEADER

ROOT = Path(__file__).resolve().parent.parent
MEASURED = {"seconds", "records_per_second", "cpu_seconds", "peak_rss_bytes", "load_average", "returncode"}


def test_demo_data_is_generated_once_then_read_from_the_cache(tmp_path: Path) -> None:
    first, generated = demo_data(2_000, "csv", cache_dir=tmp_path)
    again, generated_again = demo_data(2_000, "csv", cache_dir=tmp_path)
    assert generated and not generated_again
    assert again.incidents_path == first.incidents_path and again.incidents_path.is_file()
    assert [p.name for p in tmp_path.iterdir()] == [first.out_dir.name]  # no partial folder left behind


def _polars_missing() -> str | None:
    from bench.run import polars_missing

    return polars_missing()


def test_shape_data_has_its_shape_and_is_cached(tmp_path: Path) -> None:
    from bench.shapes import Shape, shape_data

    data, generated = shape_data(3_000, Shape(50, 40), "csv", cache_dir=tmp_path)
    again, generated_again = shape_data(3_000, Shape(50, 40), "csv", cache_dir=tmp_path)
    assert generated and not generated_again and again.incidents_path == data.incidents_path
    assert [p.name for p in tmp_path.iterdir()] == [data.out_dir.name]  # no partial folder left behind
    con = duckdb.connect()
    path = str(data.incidents_path)
    ids, areas, codes, months, lo, hi = con.execute(
        "SELECT count(DISTINCT incident_id), count(DISTINCT area), count(DISTINCT offence_code), "
        "count(DISTINCT date_occurred[:7]), min(date_occurred), max(date_occurred) "
        "FROM read_csv(?, all_varchar = true)",
        [path],
    ).fetchone()
    assert ids == 3_000 and areas == 50 and codes == 40 and months > 100
    assert lo >= "2015-01-01" and hi <= "2024-12-31"
    mapped = con.execute(
        "SELECT count(*) FROM read_csv(?, all_varchar = true)", [str(data.out_dir / "correspondence.csv")]
    )
    assert mapped.fetchone()[0] == 40
    assert data.valid_records == 3_000 and data.quarantined_records == 0


def test_bench_run_writes_every_field(tmp_path: Path) -> None:
    """One run, two cases: the demo country and a shape (50 areas x 40 codes), every contender, every field."""
    results = tmp_path / "results"
    polars_missing = _polars_missing()
    command = [sys.executable, "-m", "bench.run", "--shapes", "demo,50x40", "--sizes", "3000", "--formats", "csv"]
    command += ["--cache", str(tmp_path / "cache"), "--results", str(results)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert out.startswith(TABLE_HEADER) and "targets, shape 50x40, 3,000 records (csv)" in out
    rows = [line for line in out.splitlines() if line.startswith("| demo |") or line.startswith("| 50x40 |")]
    assert len(rows) == 2 and all(row.count("|") == TABLE_HEADER.count("|") for row in rows)
    assert all(row.endswith("| ok |") for row in rows), rows
    doc = json.loads((results / "latest.json").read_text())
    assert len(list(results.glob("bench-*.json"))) == 1
    assert {
        "started",
        "git",
        "generator_version",
        "shape_generator_version",
        "machine",
        "options",
        "imports",
        "cases",
        "targets",
        "seconds",
        "load_average_after",
    } <= set(doc)
    assert {"cpus", "memory_bytes", "python", "duckdb", "load_average"} <= set(doc["machine"])
    assert doc["imports"]["pipeline_import_seconds"] > 0
    assert doc["options"]["shapes"] == ["demo", "50x40"]

    demo, shape = doc["cases"]
    assert (demo["shape"], shape["shape"]) == ("demo", "50x40")
    assert shape["expected_quarantined"] == 0 and 0 < shape["cells"] <= 3000
    contenders = ("floor", "ours", "reports", "baseline") + (() if polars_missing else ("polars",))
    for case in (demo, shape):
        assert case["records"] == 3000 and case["format"] == "csv" and case["input_bytes"] > 0
        for part in contenders:
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
        columns = ours["stage_columns"]
        assert set(columns) == {"staged", "mapped", "facts", "checks", "quality", "outside", "other"}
        assert abs(sum(columns.values()) - sum(ours["stages"].values())) < 0.1
        assert {"read", "type", "map", "validate", "split_and_aggregate", "write"} == set(baseline["stages"])
        assert baseline["records_loaded"] + baseline["records_quarantined"] == baseline["rows"]
        assert "index.html" in case["reports"]["pages"]
        assert {"ours_over_floor", "baseline_over_ours", "polars_over_ours", "ours_rss_over_floor_rss"} == set(
            case["ratios"]
        )
    # The shape has no bad row: both baselines load every generated record, as ours does.
    assert shape["baseline"]["records_loaded"] == 3000 and shape["baseline"]["records_quarantined"] == 0
    checks = {"ours_over_floor", "ours_peak_rss_gb", "ours_peak_rss_growth", "baseline_over_ours"}
    checks |= {"polars_over_ours", "reports_seconds"}
    assert [t["shape"] for t in doc["targets"]["per_shape"]] == ["demo", "50x40"]
    for target in doc["targets"]["per_shape"]:
        assert set(target["checks"]) == checks
    again = subprocess.run(
        [sys.executable, "-m", "bench.run", "table", str(results / "latest.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 0 and again.stdout.startswith(TABLE_HEADER) and rows[0] in again.stdout
    if polars_missing:
        assert shape["polars"] is None and f"({polars_missing})" in out
        pytest.skip(f"the Polars baseline was not checked: {polars_missing}")
    polars = shape["polars"]
    assert set(polars["stages"]) == {"read", "type", "map", "validate", "split_and_aggregate", "write"}
    assert polars["records_loaded"] == 3000 and polars["records_quarantined"] == 0
    assert demo["polars"]["records_loaded"] + demo["polars"]["records_quarantined"] == demo["polars"]["rows"]
    assert shape["ratios"]["polars_over_ours"] > 0


def test_scale_benchmark_grows_a_lake_and_reports_every_figure(
    tmp_path: Path, postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python -m bench.run scale` on files of 2,000 records: 1 file, then 2 more (loaded at once by 2 workers),
    on a DuckLake in the tests' PostgreSQL; every figure is there. (The DuckDB file backend runs the same steps
    without workers; the whole suite loads into files, so this smoke test spends its time on the lake.)"""
    monkeypatch.setenv("ICCS_TEST_POSTGRES", postgres_dsn)  # the benchmark uses this server instead of its own
    results = tmp_path / "results"
    command = [sys.executable, "-m", "bench.run", "scale", "--file-records", "2000", "--volumes", "2000,6000"]
    command += ["--configs", "lake2", "--cache", str(tmp_path / "cache"), "--results", str(results)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    assert "| config | volume |" in done.stdout and "largest step / first step" in done.stdout
    doc = json.loads((results / "scale-latest.json").read_text())
    assert {"started", "machine", "options", "file_valid_records", "steps", "full_reloads", "flatness"} <= set(doc)
    assert {"cpus", "memory_bytes", "duckdb", "postgresql", "disk_free_bytes"} <= set(doc["machine"])
    valid = doc["file_valid_records"]
    steps = {(s["config"], s["volume"]): s for s in doc["steps"]}
    assert set(steps) == {("lake2", 2000), ("lake2", 6000)}
    for (_, volume), step in steps.items():
        new_files = 1 if volume == 2000 else 2
        assert step["returncode"] == 0 and step["failure"] is None, step
        assert step["new_records"] == new_files * 2000 and step["files_loaded"] == new_files
        assert step["records_loaded"] == new_files * valid  # only the new files were loaded
        assert step["warehouse_offences"] == volume // 2000 * valid  # onto what the earlier steps loaded
        assert step["seconds"] > 0 and step["cpu_seconds"] > 0 and step["records_per_second"] > 0
        assert step["peak_rss_main_mb"] > 0 and step["seconds_per_million"] > 0
        assert {"reference_job", "sources_job", "quality_job"} <= set(step["job_seconds"])
        reader = step["reader"]
        assert {"attempts", "answered", "busy", "errors", "section_year", "area_rates"} <= set(reader)
        assert reader["errors"] == 0, reader["error_examples"]
        if volume == 6000:  # the warehouse exists from the first step on: every attempt answers or is busy
            assert reader["not_ready"] == 0 and reader["answered"] + reader["busy"] == reader["attempts"] > 0
    assert steps["lake2", 6000]["worker_processes"] >= 2 and steps["lake2", 6000]["peak_rss_largest_worker_mb"] > 0
    assert steps["lake2", 6000]["storage"]["data_files"] > 0
    assert set(doc["flatness"]) == {"lake2"}


def test_scale_reads_each_jobs_seconds_and_the_load_span_from_dagster_console_lines() -> None:
    from bench.scale import job_seconds

    def line(time: str, job: str, step: str, took: str) -> str:
        return (
            f"2026-12-07 {time} +0000 - dagster - DEBUG - {job} - 3fdfec10-4b6c-483c-9be5-c5cd498d17f1 - 22309 - "
            f'{step} - STEP_SUCCESS - Finished execution of step "{step}" in {took}.'
        )

    lines = [
        line("00:58:26", "reference_job", "iccs_reference", "440ms"),
        "2026-12-07 00:58:30 +0000 - dagster - DEBUG - sources_job - 0a - 1 - landed_file - STEP_START - Started",
        line("00:59:15", "sources_job", "landed_file", "38.33s"),
        line("00:59:16", "sources_job", "landed_file", "38.11s"),
        line("01:04:20", "quality_job", "data_quality", "2m55s"),
    ]
    assert job_seconds(lines) == {
        "job_seconds": {"reference_job": 0.44, "sources_job": 76.44, "quality_job": 175.0},
        "steps_logged": 4,
        "load_span_seconds": 46.0,
    }
