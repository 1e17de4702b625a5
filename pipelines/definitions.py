"""The one Dagster entry point: `dagster dev -m pipelines.definitions` and `iccs run` load these definitions.

Which sources exist comes from the configuration (``ICCS_CONFIG``, the synthetic demo by default, once `iccs run`
or `iccs demo-data` wrote it) at run time, through the `sources` resource; partitions are the landed files, added
by `iccs run` and the landing sensor.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipelines import settings
from pipelines.assets.quality import data_quality
from pipelines.assets.reference import iccs_reference, population
from pipelines.assets.reports import html_reports
from pipelines.assets.sources import landed_file, landing_mirror
from pipelines.jobs import build_jobs
from pipelines.resources import build_resources
from pipelines.schedules import build_schedules
from pipelines.sensors import landing_sensor


def build_definitions(config: Path | None = None, warehouse: Path | None = None,
                      reports: Path | None = None) -> dg.Definitions:
    if config is None:  # loading definitions never writes the demo: `iccs run` and `iccs demo-data` do
        config = settings.existing_config_path() or settings.demo_dir() / "sources.yaml"
    return dg.Definitions(
        assets=[iccs_reference, population, landed_file, landing_mirror, data_quality, html_reports],
        jobs=build_jobs(),
        schedules=build_schedules(),
        sensors=[landing_sensor],
        resources=build_resources(config, warehouse or settings.warehouse_path(), reports or settings.reports_path()),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
