"""Dagster resources: the DuckDB warehouse, the source configuration and the reports folder.

Assets receive these instead of reading the environment, so a test can point a whole run at a temporary folder.
Building them touches no file: the warehouse's folder is made when a step first opens it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_duckdb import DuckDBResource

from schemas.source_config import PipelineConfig, load_config
from warehouse.connection import CONNECTION_CONFIG, Warehouse, locate, write_step


class WarehouseResource(DuckDBResource):
    """dagster-duckdb's resource, opening the file exactly as every other part of the project does.

    One connection configuration for the whole process (DuckDB refuses a second, different one on the same file),
    and the connection is closed even when the step fails, so a failed source never keeps the file locked.
    """

    @contextmanager
    def get_connection(self) -> Iterator[duckdb.DuckDBPyConnection]:
        with write_step(locate(self.database), "a pipeline step") as con:
            yield con


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


def build_resources(
    config: Path | dg.EnvVar, warehouse: Warehouse | dg.EnvVar, reports: Path | dg.EnvVar
) -> dict[str, dg.ConfigurableResource]:
    """The three resources, each path given as is or as a ``dg.EnvVar`` read when a run or a tick starts."""

    def value(path: Path | dg.EnvVar) -> str | dg.EnvVar:
        return path if isinstance(path, dg.EnvVar) else str(path)

    return {
        "duckdb": WarehouseResource(database=value(warehouse), connection_config=dict(CONNECTION_CONFIG)),
        "sources": SourcesConfig(path=value(config)),
        "reports": ReportsFolder(path=value(reports)),
    }
