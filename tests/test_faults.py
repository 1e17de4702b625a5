"""Faults that used to lose data silently (issue 11): renamed, moved or removed landed files, zip archives,
blocking checks after the commit, runs that load nothing, wide columns nobody reads, hints that damage,
rows a filter drops without a trace. Each test failed before its fix."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import zipfile
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines import cli
from pipelines.assets.sources import load_verified, reevaluate
from pipelines.definitions import build_definitions
from pipelines.partitions import LANDED_FILES
from pipelines.resources import SourcesConfig
from pipelines.runner import run_pipeline
from pipelines.sensors import landing_sensor
from schemas.source_config import load_config
from warehouse.classify import classify_source
from warehouse.connection import connect
from warehouse.correspondence import load_correspondence
from warehouse.ddl import ensure_schema
from warehouse.load import LoadBlocked, load_file, prune_files
from warehouse.reference import load_classification
from warehouse.staging import stage_source

CORRESPONDENCE = "national_code,iccs_code\nTHF,0502\nASS,02011\n"
CONFIG = """
sources:
  s:
    country: XTS
    level: incident
    unit: offences
    files: {files}
    columns: {{record_id: id, date: date, offence: code}}
    date_format: "{date_format}"
    correspondence: corr.csv
"""


def _folder(root: Path, files: str = "landing/*.csv", date_format: str = "%Y-%m-%d") -> Path:
    (root / "landing").mkdir(parents=True, exist_ok=True)
    (root / "corr.csv").write_text(CORRESPONDENCE)
    (root / "sources.yaml").write_text(CONFIG.format(files=files, date_format=date_format))
    return root / "sources.yaml"


def _csv(ids: list[str], bad_dates: frozenset[int] = frozenset()) -> str:
    rows = [f"{rid},{'2024-13-01' if i in bad_dates else f'2024-01-{i % 28 + 1:02d}'},{'THF' if i % 3 else 'ASS'}"
            for i, rid in enumerate(ids)]
    return "id,date,code\n" + "".join(row + "\n" for row in rows)


STATE = {
    "offences": "SELECT parse_filename(file), row_number, record_id, occurred_on, iccs_code FROM offences ORDER BY ALL",
    "offence_counts": "SELECT parse_filename(file), iccs_code, year, month, count FROM offence_counts ORDER BY ALL",
    "quarantine": "SELECT parse_filename(file), row_number, reason FROM quarantine ORDER BY ALL",
}


def _state(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {name: con.execute(sql).fetchall() for name, sql in STATE.items()}


def _state_of(warehouse: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return _state(con)


# ---------------------------------------------------------------------------------------------------------------
# 1. Renamed / moved / removed files: the warehouse equals a clean run on the folder as it is


def _load(con: duckdb.DuckDBPyConnection, config_path: Path, path: Path, run_id: str) -> None:
    """What the `landed_file` asset does for one file, without Dagster (the asset calls the same functions; it
    reloads the correspondence table too, which never changes here and is loaded once by ``_warehouse``)."""
    config = load_config(config_path)
    src = dataclasses.replace(config.sources["s"], files=str(path))
    staged = stage_source(con, src)
    classify_source(con, src)
    load_verified(con, config, src, path, run_id, staged.filtered_rows)
    reevaluate(con, config, "s", [str(path)], run_id)


def _mirror(con: duckdb.DuckDBPyConnection, config_path: Path, run_id: str) -> None:
    """What the `landing_mirror` asset does."""
    config = load_config(config_path)
    gone = prune_files(con, "s", [str(p) for p in config.sources["s"].paths()])
    if gone:
        reevaluate(con, config, "s", gone, run_id)


def _warehouse(config_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ensure_schema(con)
    load_classification(con)
    load_correspondence(con, "s", load_config(config_path).sources["s"].correspondence)
    return con


def _clean(config_path: Path) -> dict[str, list[tuple]]:
    with _warehouse(config_path) as con:
        for path in load_config(config_path).sources["s"].paths():
            _load(con, config_path, path, "clean")
        return _state(con)


NAMES = ["a.csv", "b.csv", "c.csv", "d.csv"]
CONTENTS = st.builds(lambda ids, bad: (ids, bad),
                     st.lists(st.sampled_from(["r0", "r1", "r2", "r3", "r4", "r5"]), min_size=1, max_size=6),
                     st.frozensets(st.integers(0, 5), max_size=1))
OPERATIONS = st.lists(st.tuples(st.sampled_from(["write", "rename", "remove"]), st.sampled_from(NAMES),
                                st.sampled_from(NAMES), CONTENTS, st.booleans()), min_size=1, max_size=6)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations=OPERATIONS)
def test_any_sequence_of_file_changes_leaves_the_warehouse_a_clean_run_would(operations) -> None:
    """Add / change / rename / remove files sharing record ids, in any order; after each step, loading the new or
    changed files and mirroring the folder (in either order, as the sensor's runs may come) gives exactly the
    rows, counts and quarantine reasons of a clean run on the folder as it is."""
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        config = _folder(root)
        landing = root / "landing"
        with _warehouse(config) as con:
            for step, (kind, name, other, (ids, bad), mirror_first) in enumerate(operations):
                touched: list[Path] = []
                if kind == "write":
                    (landing / name).write_text(_csv(ids, bad))
                    touched.append(landing / name)
                elif kind == "rename" and (landing / name).exists() and name != other:
                    (landing / name).replace(landing / other)
                    touched.append(landing / other)
                elif kind == "remove" and (landing / name).exists():
                    (landing / name).unlink()
                if len(list(landing.glob("*.csv"))) > 4:
                    continue
                if mirror_first:
                    _mirror(con, config, f"step{step}")
                for path in touched:
                    _load(con, config, path.resolve(), f"step{step}")
                if not mirror_first:
                    _mirror(con, config, f"step{step}")
                if not list(landing.glob("*.csv")):
                    continue  # a source matching no file is left as it is (iccs run reports it)
                assert _state(con) == _clean(config), (step, operations[: step + 1])


def test_a_renamed_file_keeps_its_records_through_iccs_run(tmp_path: Path) -> None:
    """Before: load v1.csv, rename it v2.csv, run again → 0 offences, 50 quarantined as duplicates, exit 0."""
    config = _folder(tmp_path / "cfg")
    landing = tmp_path / "cfg" / "landing"
    (landing / "v1.csv").write_text(_csv([f"r{i}" for i in range(50)]))
    warehouse = tmp_path / "w.duckdb"
    assert run_pipeline(config, warehouse, tmp_path / "r", with_reports=False).ok
    (landing / "v1.csv").rename(landing / "v2.csv")
    result = run_pipeline(config, warehouse, tmp_path / "r", with_reports=False)
    assert result.ok, result
    state = _state_of(warehouse)
    assert len(state["offences"]) == 50 and {row[0] for row in state["offences"]} == {"v2.csv"}
    assert state["quarantine"] == []
    assert state == _clean(config)

    # The whole landing folder moves (the configuration follows it): the same records, from the new path.
    shutil.move(str(landing), str(tmp_path / "cfg" / "moved"))
    config.write_text(CONFIG.format(files="moved/*.csv", date_format="%Y-%m-%d"))
    assert run_pipeline(config, warehouse, tmp_path / "r", with_reports=False).ok
    with duckdb.connect(str(warehouse), read_only=True) as con:
        files = con.execute("SELECT DISTINCT file FROM offences").fetchall()
    assert files == [(str((tmp_path / "cfg" / "moved" / "v2.csv").resolve()),)]
    assert _state_of(warehouse) == _clean(config)


def test_a_file_removed_through_the_sensor_leaves_the_warehouse_and_frees_its_duplicates(tmp_path: Path) -> None:
    """The landing sensor's path prunes too (issue 12): a.csv and b.csv share r1; a.csv wins it; a.csv is removed,
    the sensor runs the mirror job, a.csv's rows go and b.csv's r1 is loaded from b.csv."""
    config = _folder(tmp_path)
    (tmp_path / "landing" / "a.csv").write_text(_csv(["r0", "r1"]))
    (tmp_path / "landing" / "b.csv").write_text(_csv(["r1", "r2"]))
    defs = build_definitions(config, tmp_path / "w.duckdb", tmp_path / "reports")
    instance = dg.DagsterInstance.ephemeral()
    cursor = None

    def tick() -> list[str]:
        nonlocal cursor
        context = dg.build_sensor_context(instance=instance, cursor=cursor,
                                          resources={"sources": SourcesConfig(path=str(config))})
        result = landing_sensor(context)
        for request in result.dynamic_partitions_requests:
            if isinstance(request, dg.AddDynamicPartitionsRequest):
                instance.add_dynamic_partitions(LANDED_FILES.name, list(request.partition_keys))
            else:
                for key in request.partition_keys:
                    instance.delete_dynamic_partition(LANDED_FILES.name, key)
        cursor = result.cursor
        assert defs.resolve_job_def("reference_job").execute_in_process(instance=instance).success
        for request in result.run_requests:
            job = defs.resolve_job_def(request.job_name)
            assert job.execute_in_process(instance=instance, partition_key=request.partition_key).success
        return [request.job_name for request in result.run_requests]

    assert tick() == ["sources_job", "sources_job"]
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT parse_filename(file), record_id FROM offences ORDER BY 2").fetchall() == [
            ("a.csv", "r0"), ("a.csv", "r1"), ("b.csv", "r2")]
    (tmp_path / "landing" / "a.csv").unlink()
    assert tick() == ["mirror_job"]
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT parse_filename(file), record_id FROM offences ORDER BY 2").fetchall() == [
            ("b.csv", "r1"), ("b.csv", "r2")]
        assert con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
    assert instance.get_dynamic_partitions(LANDED_FILES.name) == ["s/landing/b.csv"]
