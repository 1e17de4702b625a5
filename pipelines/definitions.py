"""The one Dagster entry point: `dg dev`, `dg check defs` and `iccs run` load these definitions.

Loading them has no side effect: nothing is generated and no folder is made. The module's definitions read
their paths through resources: ``ICCS_CONFIG``, ``ICCS_WAREHOUSE`` and ``ICCS_REPORTS`` as ``dg.EnvVar`` when
set (resolved when a run or a tick starts), else the defaults (the demo's sources.yaml, which `iccs run` and
`iccs demo-data` write, data/warehouse.duckdb, data/reports). Partitions are the landed files, added by `iccs run`,
the landing sensor and the monthly schedule.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from pipelines import settings
from pipelines.assets.exchange import exchange_files
from pipelines.assets.patterns import anomalies
from pipelines.assets.quality import data_quality
from pipelines.assets.reference import boundaries, iccs_reference, population
from pipelines.assets.reports import html_reports
from pipelines.assets.sources import landed_file, landing_mirror
from pipelines.jobs import build_jobs
from pipelines.resources import build_resources
from pipelines.schedules import build_schedules
from pipelines.sensors import build_sensors
from warehouse.connection import Warehouse


def _path(name: str, default: Path) -> Path | dg.EnvVar:
    return dg.EnvVar(name) if os.environ.get(name) else default


def build_definitions(
    config: Path | dg.EnvVar | None = None,
    warehouse: Warehouse | dg.EnvVar | None = None,
    reports: Path | dg.EnvVar | None = None,
) -> dg.Definitions:
    """The definitions with explicit paths (`iccs run`, tests), or with those of the environment."""
    return dg.Definitions(
        assets=[
            iccs_reference,
            population,
            boundaries,
            landed_file,
            landing_mirror,
            data_quality,
            anomalies,
            html_reports,
            exchange_files,
        ],
        jobs=build_jobs(),
        schedules=build_schedules(),
        sensors=build_sensors(),
        resources=build_resources(
            config or _path("ICCS_CONFIG", settings.demo_dir() / "sources.yaml"),
            warehouse or _path("ICCS_WAREHOUSE", settings.warehouse_path()),
            reports or _path("ICCS_REPORTS", settings.reports_path()),
        ),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
