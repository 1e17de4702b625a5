"""Dagster resources: the DuckDB warehouse, the source configuration and the reports folder.

Assets receive these instead of reading the environment, so a test can point a whole run at a temporary folder.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from schemas.source_config import PipelineConfig, load_config
from warehouse.connection import CONNECTION_CONFIG


class SourcesConfig(dg.ConfigurableResource):
    """The sources YAML the run loads; read anew by each step so an edited file is picked up."""

    path: str

    def load(self) -> PipelineConfig:
        return load_config(self.path)


class ReportsFolder(dg.ConfigurableResource):
    """Where the HTML reports are written."""

    path: str

    def directory(self) -> Path:
        folder = Path(self.path)
        folder.mkdir(parents=True, exist_ok=True)
        return folder


def build_resources(config: Path, warehouse: Path, reports: Path) -> dict[str, dg.ConfigurableResource]:
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    return {
        "duckdb": DuckDBResource(database=str(warehouse), connection_config=dict(CONNECTION_CONFIG)),
        "sources": SourcesConfig(path=str(config)),
        "reports": ReportsFolder(path=str(reports)),
    }
