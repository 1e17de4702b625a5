"""Unattended operation: monthly files land one after another; the sensor loads each new or changed file once,
and the warehouse totals grow by exactly what landed."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import duckdb

from pipelines.definitions import build_definitions
from pipelines.partitions import LANDED_FILES
from pipelines.resources import SourcesConfig
from pipelines.sensors import landing_sensor

CONFIG = """
sources:
  monthly:
    country: XTS
    level: incident
    unit: offences
    files: landing/*.csv
    columns: {record_id: id, date: date, offence: code}
    date_format: "%Y-%m-%d"
    correspondence: correspondence.csv
"""


def _month(folder: Path, month: int, records: int) -> Path:
    rows = "".join(
        f"m{month}-{i},2024-{month:02d}-{i % 28 + 1:02d},{'THF' if i % 3 else 'ASS'}\n" for i in range(records)
    )
    path = folder / "landing" / f"2024-{month:02d}.csv"
    path.write_text("id,date,code\n" + rows)
    return path


class Landing:
    """A config, its warehouse, one Dagster instance and the sensor's cursor, as a deployment keeps them."""

    def __init__(self, root: Path) -> None:
        (root / "landing").mkdir()
        (root / "correspondence.csv").write_text("national_code,iccs_code\nTHF,0502\nASS,02011\n")
        (root / "sources.yaml").write_text(CONFIG)
        self.root, self.warehouse = root, root / "w.duckdb"
        self.defs = build_definitions(root / "sources.yaml", self.warehouse, root / "reports")
        self.instance = dg.DagsterInstance.ephemeral()
        self.cursor: str | None = None
        self.runs: list[str] = []
        # What the sensor's first tick on a new warehouse requests: the reference tables every load needs.
        assert self.defs.resolve_job_def("reference_job").execute_in_process(instance=self.instance).success

    def tick(self) -> list[str]:
        """One sensor evaluation, its requested runs executed as the daemon would."""
        context = dg.build_sensor_context(
            instance=self.instance,
            cursor=self.cursor,
            resources={
                "sources": SourcesConfig(path=str(self.root / "sources.yaml")),
                "duckdb": self.defs.resources["duckdb"],
            },
        )
        result = landing_sensor(context)
        for request in result.dynamic_partitions_requests:
            self.instance.add_dynamic_partitions(LANDED_FILES.name, list(request.partition_keys))
        self.cursor = result.cursor
        job = self.defs.resolve_job_def("sources_job")
        keys = [request.partition_key for request in result.run_requests]
        for key in keys:
            assert job.execute_in_process(instance=self.instance, partition_key=key).success
            self.runs.append(key)
        return keys

    def total(self) -> int:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return con.execute("SELECT coalesce(sum(count), 0)::INT FROM offence_counts").fetchone()[0]


def test_three_monthly_files_give_three_incremental_runs(tmp_path: Path) -> None:
    landing = Landing(tmp_path)
    assert landing.tick() == []
    _month(tmp_path, 1, 30)
    assert landing.tick() == ["monthly/landing/2024-01.csv"]
    assert landing.total() == 30
    _month(tmp_path, 2, 20)
    assert landing.tick() == ["monthly/landing/2024-02.csv"]
    assert landing.total() == 50
    assert landing.tick() == []  # nothing new
    _month(tmp_path, 3, 25)
    assert landing.tick() == ["monthly/landing/2024-03.csv"]
    assert landing.total() == 75
    with duckdb.connect(str(landing.warehouse), read_only=True) as con:
        runs = con.execute("SELECT parse_filename(file), records_in, records_loaded FROM runs ORDER BY 1").fetchall()
    assert runs == [("2024-01.csv", 30, 30), ("2024-02.csv", 20, 20), ("2024-03.csv", 25, 25)]


def test_a_touched_file_triggers_nothing_and_a_corrected_file_replaces_its_rows(tmp_path: Path) -> None:
    landing = Landing(tmp_path)
    first = _month(tmp_path, 1, 30)
    _month(tmp_path, 2, 20)
    assert len(landing.tick()) == 2
    stat = first.stat()
    os.utime(first, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    assert landing.tick() == []
    _month(tmp_path, 1, 10)  # the January extract is re-sent with fewer, corrected records
    assert landing.tick() == ["monthly/landing/2024-01.csv"]
    assert landing.total() == 30
