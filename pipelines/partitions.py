"""One partition per configured source, so each source can be loaded, reloaded or backfilled alone."""

from __future__ import annotations

import dagster as dg

from schemas.source_config import PipelineConfig


def source_partitions(config: PipelineConfig) -> dg.StaticPartitionsDefinition:
    return dg.StaticPartitionsDefinition(sorted(config.sources))
