"""Partitions: one per landed file, keyed ``<source>/<file path relative to the configuration>``.

Why files rather than source × month: a landed extract is what arrives, what can be corrected and re-sent, and
what a crash can interrupt; loading it replaces exactly its own rows. A monthly feed gives one partition per
month; a backfill is the set of files that cover it. The keys are dynamic because files land while the
definitions are loaded: `iccs run` and the landing sensor add them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import dagster as dg

from schemas.source_config import PipelineConfig, SourceConfig

LANDED_FILES = dg.DynamicPartitionsDefinition(name="landed_files")


class PartitionKeyError(ValueError):
    """A partition key that names no configured source or no existing file."""


def file_key(config: PipelineConfig, src: SourceConfig, path: Path) -> str:
    base = config.path.parent
    try:
        shown = path.resolve().relative_to(base)
    except ValueError:
        shown = path.resolve()
    return f"{src.name}/{shown.as_posix()}"


def source_files(config: PipelineConfig, src: SourceConfig) -> dict[str, Path]:
    """The files the source's pattern matches now, by partition key."""
    return {file_key(config, src, path): path.resolve() for path in src.paths()}


# The run tag naming a landed file's source: a deployment limits runs per value of it to one at a time
# (pipelines/deploy/dagster.yaml), because the cross-file duplicate rule reads the source's other files.
SOURCE_TAG = "iccs/source"


def source_of(key: str) -> str:
    """The source a partition key belongs to (keys are ``<source>/<path>``)."""
    return key.split("/", 1)[0]


def all_files(config: PipelineConfig) -> dict[str, Path]:
    return {key: path for src in config.sources.values() for key, path in source_files(config, src).items()}


def resolve(config: PipelineConfig, key: str) -> tuple[SourceConfig, Path]:
    """The source and the file of a partition key, with the source narrowed to that one file."""
    name, _, relative = key.partition("/")
    if name not in config.sources:
        raise PartitionKeyError(
            f"partition '{key}': no source '{name}' in {config.path} (sources: {', '.join(sorted(config.sources))})"
        )
    path = Path(relative)
    path = (path if path.is_absolute() else config.path.parent / path).resolve()
    if not path.is_file():
        raise PartitionKeyError(f"partition '{key}': file not found: {path}")
    return dataclasses.replace(config.sources[name], files=str(path)), path
