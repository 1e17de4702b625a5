"""pipelines/deploy/: the Dagster instance on PostgreSQL, the workspace, and the Kubernetes run launcher's settings.

The instance files are loaded as Dagster loads them, against the throwaway PostgreSQL of tests/postgres.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import pytest
import yaml
from click.testing import CliRunner
from dagster import DagsterInstance
from dagster._cli.instance import set_concurrency
from dagster._config import process_config, resolve_to_config_type
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.remote_representation.code_location import InProcessCodeLocation
from dagster._core.run_coordinator import QueuedRunCoordinator
from dagster._core.workspace.load import location_origins_from_yaml_paths

from pipelines.assets.reference import WRITER_POOL
from pipelines.partitions import SOURCE_TAG
from tests.conftest import ROOT
from tests.postgres import Server, parse_conninfo

DEPLOY = ROOT / "pipelines" / "deploy"


def _load(name: str) -> dict:
    return yaml.safe_load((DEPLOY / name).read_text())


@pytest.fixture
def dagster_pg(postgres_database: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The DAGSTER_PG_* variables of the README set to a new empty database; its name."""
    fields = parse_conninfo(postgres_database)
    monkeypatch.setenv("DAGSTER_PG_HOST", fields.get("host", "localhost"))
    monkeypatch.setenv("DAGSTER_PG_PORT", fields.get("port", "5432"))
    monkeypatch.setenv("DAGSTER_PG_USER", fields.get("user", "postgres"))
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", fields.get("password", ""))
    monkeypatch.setenv("DAGSTER_PG_DB", fields["dbname"])
    return fields["dbname"]


@pytest.fixture
def dagster_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DAGSTER_HOME holding pipelines/deploy/dagster.yaml, as the README says to make one."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@dg.asset(pool=WRITER_POOL)
def written() -> int:
    return 1


def test_the_instance_keeps_runs_events_and_pool_limits_in_postgres(
    dagster_pg: str, dagster_home: Path, postgres_server_for_tests: Server
) -> None:
    settings = _load("dagster.yaml")["concurrency"]
    with DagsterInstance.from_config(str(dagster_home)) as instance:
        storages = (instance.run_storage, instance.event_log_storage, instance.schedule_storage)
        assert [type(storage).__name__ for storage in storages] == [
            "PostgresRunStorage",
            "PostgresEventLogStorage",
            "PostgresScheduleStorage",
        ]
        assert isinstance(instance.run_coordinator, QueuedRunCoordinator)
        queue = instance.get_concurrency_config().run_queue_config
        # one load per source at a time, by the tag the sensor and the schedule put on each run
        assert queue is not None and [(limit["key"], limit["limit"]) for limit in queue.tag_concurrency_limits] == [
            (SOURCE_TAG, 1)
        ]
        assert queue.tag_concurrency_limits[0]["value"] == {"applyLimitPerUniqueValue": True}
        assert queue is not None and queue.max_concurrent_runs == settings["runs"]["max_concurrent_runs"] > 0
        assert instance.get_concurrency_config().pool_config.default_pool_limit == settings["pools"]["default_limit"]
        assert instance.telemetry_enabled is False

        # The README's command sets the writers' limit (2 here, not the default 1, to see it); PostgreSQL keeps it.
        command = CliRunner().invoke(set_concurrency, [WRITER_POOL, "2"])
        assert command.exit_code == 0, command.output
        result = dg.materialize([written], instance=instance)
        assert result.success

    with DagsterInstance.from_config(str(dagster_home)) as again:  # new connections: only PostgreSQL remembers
        run = again.get_run_by_id(result.run_id)
        assert run is not None and run.status == dg.DagsterRunStatus.SUCCESS
        assert again.get_latest_materialization_event(dg.AssetKey("written")) is not None
        assert again.event_log_storage.get_concurrency_info(WRITER_POOL).slot_count == 2
    assert postgres_server_for_tests.query(f"SELECT status FROM runs WHERE run_id = '{run.run_id}'", dagster_pg) == (
        "SUCCESS"
    )


def test_the_workspace_loads_the_pipelines_definitions() -> None:
    (origin,) = location_origins_from_yaml_paths([str(DEPLOY / "workspace.yaml")])
    assert origin.loadable_target_origin.module_name == "pipelines.definitions"
    from pipelines.jobs import build_jobs

    with DagsterInstance.ephemeral() as instance:
        location = InProcessCodeLocation(
            InProcessCodeLocationOrigin(origin.loadable_target_origin, location_name=origin.location_name), instance
        )
        (repository,) = location.get_repositories().values()
        jobs = {job.name for job in repository.get_all_jobs()}
    assert {job.name for job in build_jobs()} <= jobs


def _launcher_errors(config: dict) -> list[str]:
    """What K8sRunLauncher's own config schema says of ``config`` (env sources resolved), as Dagster checks it."""
    from dagster_k8s import K8sRunLauncher

    result = process_config(resolve_to_config_type(K8sRunLauncher.config_type()), config)
    return [error.message for error in result.errors or ()]


def test_the_kubernetes_run_launcher_settings_fit_dagster_k8s(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAGSTER_K8S_NAMESPACE", "iccs")
    monkeypatch.setenv("ICCS_JOB_IMAGE", "registry.example.org/iccs:1")
    k8s, single = _load("dagster.k8s.yaml"), _load("dagster.yaml")
    launcher = k8s.pop("run_launcher")
    assert k8s == single, "dagster.k8s.yaml is dagster.yaml plus a run launcher"
    assert (launcher["module"], launcher["class"]) == ("dagster_k8s", "K8sRunLauncher")
    assert _launcher_errors(launcher["config"]) == []
    # The check has teeth: a misspelt key, a wrong type and an unset variable are each refused.
    misspelt = {**launcher["config"], "job_namspace": launcher["config"]["job_namespace"]}
    assert any("job_namspace" in error for error in _launcher_errors(misspelt))
    assert _launcher_errors({**launcher["config"], "env_vars": "DAGSTER_PG_HOST"})
    monkeypatch.delenv("ICCS_JOB_IMAGE")
    assert any("ICCS_JOB_IMAGE" in error for error in _launcher_errors(launcher["config"]))
