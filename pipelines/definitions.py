"""The one Dagster entry point: `dagster dev -m pipelines.definitions` and `iccs run` load these definitions.

Partitions are the configured sources, so the definitions are built from a configuration file (``ICCS_CONFIG``,
the synthetic demo by default); loading is lazy so importing this module never generates or reads data.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from pipelines import settings
from pipelines.assets.reference import iccs_reference, population
from pipelines.assets.reports import build_report_asset
from pipelines.assets.sources import build_source_assets
from pipelines.jobs import build_jobs
from pipelines.partitions import source_partitions
from pipelines.resources import build_resources
from schemas.source_config import load_config


def build_definitions(config: Path | None = None, warehouse: Path | None = None,
                      reports: Path | None = None) -> dg.Definitions:
    config = Path(config) if config is not None else settings.config_path()
    partitions = source_partitions(load_config(config))
    source_assets = build_source_assets(partitions)
    facts = source_assets[-1]
    return dg.Definitions(
        assets=[iccs_reference, population, *source_assets, build_report_asset(facts)],
        jobs=build_jobs(),
        resources=build_resources(config, warehouse or settings.warehouse_path(), reports or settings.reports_path()),
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
