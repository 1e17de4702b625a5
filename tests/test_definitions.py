"""The Dagster definitions load, and every job, schedule and sensor a deployment relies on is there."""

from __future__ import annotations

import dagster as dg

from pipelines.definitions import build_definitions, defs
from tests.conftest import MINI_CONFIG


def test_definitions_load_with_jobs_schedules_and_sensors(tmp_path) -> None:
    definitions = build_definitions(MINI_CONFIG, tmp_path / "w.duckdb", tmp_path / "reports")
    repo = definitions.get_repository_def()
    assert {job.name for job in repo.get_all_jobs()} >= {
        "reference_job",
        "sources_job",
        "mirror_job",
        "quality_job",
        "reports_job",
        "pages_job",
    }
    assert {s.name: s.cron_schedule for s in repo.schedule_defs} == {
        "monthly_all_sources": "0 2 1 * *",
        "daily_reports": "0 6 * * *",
    }
    assert [s.name for s in repo.sensor_defs] == ["landing_sensor", "reports_sensor"]
    keys = {key.to_user_string() for key in definitions.resolve_asset_graph().get_all_asset_keys()}
    assert keys == {
        "iccs_reference",
        "population",
        "boundaries",
        "staged_records",
        "mapped_records",
        "source_facts",
        "data_quality",
        "html_reports",
        "exchange_files",
        "landing_mirror",
        "anomalies",
    }


def test_every_writer_shares_one_pool_and_the_facts_carry_their_contracts(tmp_path) -> None:
    definitions = build_definitions(MINI_CONFIG, tmp_path / "w.duckdb", tmp_path / "reports")
    graph = definitions.resolve_asset_graph()
    writers = [
        graph.get(dg.AssetKey(name)) for name in ("iccs_reference", "population", "source_facts", "landing_mirror")
    ]
    assert {node.pools and tuple(node.pools) for node in writers} == {("iccs_writer",)}
    checks = {key.name for key in graph.asset_check_keys}
    assert checks >= {
        "records_conserved",
        "offences_contract",
        "offence_counts_contract",
        "quarantine_contract",
        "mapped_share",
        "iccs_categories_contract",
        "population_contract",
    }


def test_the_module_entry_point_is_lazy_and_loads(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("ICCS_CONFIG", str(MINI_CONFIG))
    monkeypatch.setenv("ICCS_WAREHOUSE", str(tmp_path / "w.duckdb"))
    assert not (tmp_path / "w.duckdb").exists()
    loaded = defs()
    assert isinstance(loaded, dg.Definitions)
    assert loaded.resolve_job_def("sources_job").partitions_def.name == "landed_files"


def test_the_shipped_instance_settings_limit_the_writer_pool_to_one(tmp_path) -> None:
    from pathlib import Path

    (tmp_path / "dagster.yaml").write_text((Path(__file__).parents[1] / "pipelines" / "dagster.yaml").read_text())
    instance = dg.DagsterInstance.from_config(str(tmp_path))
    try:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
    finally:
        instance.dispose()
