"""One orchestration path (issue 12): everything `iccs run` does is a Dagster job, so the sensors and the
schedules keep the warehouse a mirror of the landing folders and the reports fresh, as `iccs run` does; and
loading the definitions has no side effect."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.assets.reference import iccs_reference
from pipelines.assets.sources import FACTS, landed_file
from pipelines.definitions import build_definitions
from pipelines.partitions import LANDED_FILES, SOURCE_TAG
from pipelines.schedules import monthly_all_sources
from pipelines.sensors import landing_sensor, reports_sensor

CONFIG = """
sources:
  s:
    country: XTS
    level: incident
    unit: offences
    files: landing/*.csv
    columns: {record_id: id, date: date, offence: code}
    date_format: "%Y-%m-%d"
    correspondence: corr.csv
"""


def _folder(root: Path, files: dict[str, list[str]]) -> Path:
    """A one-source configuration whose landing folder holds ``files`` (name → record ids)."""
    (root / "landing").mkdir(parents=True, exist_ok=True)
    (root / "corr.csv").write_text("national_code,iccs_code\nTHF,0502\nASS,02011\n")
    (root / "sources.yaml").write_text(CONFIG)
    for name, ids in files.items():
        (root / "landing" / name).write_text(
            "id,date,code\n"
            + "".join(f"{rid},2024-01-{i % 28 + 1:02d},{'THF' if i % 3 else 'ASS'}\n" for i, rid in enumerate(ids))
        )
    return root / "sources.yaml"


def _loaded(warehouse: Path) -> list[tuple[str, str]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("SELECT parse_filename(file), record_id FROM offences ORDER BY ALL").fetchall()


def _run(defs: dg.Definitions, instance: dg.DagsterInstance, request: dg.RunRequest, job: str | None = None) -> None:
    """A requested run executed as the daemon would launch it (``job``: the target of a one-job schedule)."""
    job = defs.resolve_job_def(request.job_name or job)
    assert job.execute_in_process(
        instance=instance, partition_key=request.partition_key, tags=dict(request.tags)
    ).success


def _landing_tick(
    defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None
) -> tuple[list[dg.RunRequest], str | None]:
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=defs.resources)
    result = landing_sensor(context)
    for request in result.dynamic_partitions_requests:
        if isinstance(request, dg.AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(LANDED_FILES.name, list(request.partition_keys))
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(LANDED_FILES.name, key)
    return list(result.run_requests or []), result.cursor


def test_loading_the_definitions_in_an_empty_folder_writes_nothing(tmp_path: Path, monkeypatch) -> None:
    """As `dg dev` and `dg check defs` load them: no demo generated, no data folder made; the paths are
    resources reading the environment when a run starts."""
    from pipelines.definitions import defs

    monkeypatch.chdir(tmp_path)
    for name in ("ICCS_CONFIG", "ICCS_DEMO_DIR", "ICCS_WAREHOUSE", "ICCS_REPORTS"):
        monkeypatch.delenv(name, raising=False)
    loaded = defs()
    loaded.get_repository_def().get_all_jobs()
    loaded.resolve_asset_graph()
    assert os.listdir(tmp_path) == []
    assert loaded.resources["duckdb"].database == str(Path("data") / "warehouse.duckdb")

    monkeypatch.setenv("ICCS_WAREHOUSE", str(tmp_path / "elsewhere" / "w.duckdb"))
    monkeypatch.setenv("ICCS_CONFIG", str(tmp_path / "none" / "sources.yaml"))
    loaded = defs()
    loaded.get_repository_def().get_all_jobs()
    assert os.listdir(tmp_path) == []
    assert loaded.resources["duckdb"].database == dg.EnvVar("ICCS_WAREHOUSE")
    assert loaded.resources["sources"].path == dg.EnvVar("ICCS_CONFIG")


def test_landed_file_materializes_one_partition_and_needs_the_reference_tables(tmp_path: Path) -> None:
    """`dg.materialize` of one partition, as Dagster's course project tests its assets; on empty reference
    tables the load fails in one line saying which asset loads them, instead of loading them itself."""
    config = _folder(tmp_path, {"a.csv": ["r0", "r1", "r2"]})
    warehouse = tmp_path / "w.duckdb"
    defs = build_definitions(config, warehouse, tmp_path / "reports")
    repo = defs.get_repository_def()
    assert {"reference_job", "sources_job", "mirror_job", "quality_job", "reports_job"} <= {
        job.name for job in repo.get_all_jobs()
    }
    assert {s.name for s in repo.schedule_defs} == {"monthly_all_sources", "daily_reports"}
    assert {s.name for s in repo.sensor_defs} == {"landing_sensor", "reports_sensor"}
    key = "s/landing/a.csv"
    with dg.instance_for_test() as instance:
        instance.add_dynamic_partitions(LANDED_FILES.name, [key])
        failed = dg.materialize(
            [landed_file], partition_key=key, instance=instance, resources=defs.resources, raise_on_error=False
        )
        assert not failed.success
        [failure] = failed.get_step_failure_events()
        message = failure.step_failure_data.error.message
        assert "the ICCS reference tables" in message and "are empty" in message and "iccs_reference" in message
        assert _loaded(warehouse) == []

        assert dg.materialize([iccs_reference], instance=instance, resources=defs.resources).success
        result = dg.materialize([landed_file], partition_key=key, instance=instance, resources=defs.resources)
        assert result.success
        facts = [e.materialization.metadata for e in result.get_asset_materialization_events() if e.asset_key == FACTS]
        assert [(m["records_in"].value, m["records_loaded"].value) for m in facts] == [(3, 3)]
        assert all(check.passed for check in result.get_asset_check_evaluations())
    assert _loaded(warehouse) == [("a.csv", "r0"), ("a.csv", "r1"), ("a.csv", "r2")]


def test_the_monthly_schedule_prunes_the_files_that_left(tmp_path: Path) -> None:
    """Before: only `iccs run` pruned; the schedule reloaded the files still there and kept a removed file's rows.
    Now every load first mirrors its source."""
    config = _folder(tmp_path, {"a.csv": ["r0", "r1"], "b.csv": ["r1", "r2"]})
    warehouse = tmp_path / "w.duckdb"
    defs = build_definitions(config, warehouse, tmp_path / "reports")
    with dg.instance_for_test() as instance:
        assert defs.resolve_job_def("reference_job").execute_in_process(instance=instance).success
        for month in (1, 2):
            if month == 2:
                (tmp_path / "landing" / "a.csv").unlink()
            # As a context manager: the schedule context opens an instance of its own from the test's. Left open,
            # it is closed when garbage-collected, in some later test, and that sets Dagster's current
            # definitions-state storage back to this test's instance, gone by then: every later Definitions
            # fails with "Attempted to resolve undefined DagsterInstance weakref".
            with dg.build_schedule_context(
                instance=instance, resources=defs.resources, scheduled_execution_time=dt.datetime(2025, month, 1, 2)
            ) as context:
                requests = monthly_all_sources(context)
            assert [r.partition_key for r in requests] == (
                ["s/landing/a.csv", "s/landing/b.csv"] if month == 1 else ["s/landing/b.csv"]
            )
            assert {r.tags[SOURCE_TAG] for r in requests} == {"s"}  # a deployment runs one load per source at once
            for request in requests:
                _run(defs, instance, request, "sources_job")
    assert _loaded(warehouse) == [("b.csv", "r1"), ("b.csv", "r2")]


def test_the_daemon_path_loads_the_reference_first_prunes_and_ends_with_fresh_reports(tmp_path: Path) -> None:
    """The landing sensor on a new warehouse asks for the reference tables first and loads nothing until they are
    in; after loads (and after a removal) the reports sensor asks for one reports run, so the reports are never
    left stale as 'Upstream data'."""
    config = _folder(tmp_path, {"a.csv": ["r0", "r1"], "b.csv": ["r1", "r2"]})
    warehouse, reports = tmp_path / "w.duckdb", tmp_path / "reports"
    defs = build_definitions(config, warehouse, reports)
    with dg.instance_for_test() as instance:

        def reports_tick(cursor: str | None) -> tuple[list[dg.RunRequest], str | None]:
            result = reports_sensor(dg.build_sensor_context(instance=instance, cursor=cursor))
            if isinstance(result, dg.SkipReason):
                return [], cursor
            return list(result.run_requests or []), result.cursor

        requests, cursor = _landing_tick(defs, instance, None)
        assert [r.job_name for r in requests] == ["reference_job"] and cursor is None
        assert reports_tick(None) == ([], None)  # nothing loaded yet
        _run(defs, instance, requests[0])

        requests, cursor = _landing_tick(defs, instance, cursor)
        assert [(r.job_name, r.partition_key, r.tags[SOURCE_TAG]) for r in requests] == [
            ("sources_job", "s/landing/a.csv", "s"),
            ("sources_job", "s/landing/b.csv", "s"),
        ]
        for request in requests:
            _run(defs, instance, request)
        assert _loaded(warehouse) == [("a.csv", "r0"), ("a.csv", "r1"), ("b.csv", "r2")]

        report_requests, report_cursor = reports_tick(None)
        assert [r.job_name for r in report_requests] == ["reports_job"]
        _run(defs, instance, report_requests[0])
        assert (reports / "index.html").is_file()
        assert reports_tick(report_cursor)[0] == []  # fresh already: nothing to do
        assert reports_tick(None)[0] == []  # a reports run that started after the loads covers them (iccs run)

        (tmp_path / "landing" / "a.csv").unlink()
        requests, cursor = _landing_tick(defs, instance, cursor)
        assert [r.job_name for r in requests] == ["mirror_job"]
        _run(defs, instance, requests[0])
        assert _loaded(warehouse) == [("b.csv", "r1"), ("b.csv", "r2")]
        report_requests, report_cursor = reports_tick(report_cursor)
        assert [r.job_name for r in report_requests] == ["reports_job"]
        before = (reports / "index.html").stat().st_mtime_ns
        _run(defs, instance, report_requests[0])
        assert (reports / "index.html").stat().st_mtime_ns > before
