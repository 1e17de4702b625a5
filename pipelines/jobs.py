"""Jobs, one per layer: partitioned and unpartitioned assets cannot share a run, and the layers run on their own
triggers (files as they land or leave, all sources monthly, reports after loads and daily). `iccs run` launches
the same jobs."""

from __future__ import annotations

import dagster as dg

REFERENCE_JOB = "reference_job"
SOURCES_JOB = "sources_job"
MIRROR_JOB = "mirror_job"
QUALITY_JOB = "quality_job"
REPORTS_JOB = "reports_job"
PAGES_JOB = "pages_job"


# The jobs the sensors target (a sensor with several jobs needs their definitions, not names).
reference_job = dg.define_asset_job(
    REFERENCE_JOB,
    selection=dg.AssetSelection.groups("reference"),
    description="ICCS reference tables, population and area boundaries.",
)
sources_job = dg.define_asset_job(
    SOURCES_JOB,
    selection=dg.AssetSelection.groups("ingest", "mapping", "warehouse"),
    description="One landed file: remove the rows of its source's files that left the "
    "landing folder, then read, map to ICCS, check and load (a "
    "partition per file).",
)
mirror_job = dg.define_asset_job(
    MIRROR_JOB,
    selection=dg.AssetSelection.groups("landing"),
    description="Remove the rows of files that left the landing folders (and reload "
    "the files whose duplicates they decided).",
)
reports_job = dg.define_asset_job(
    REPORTS_JOB,
    selection=dg.AssetSelection.groups("reference", "quality", "reports"),
    description="Refresh reference data, population and completeness, then the HTML reports.",
)


def build_jobs() -> list[dg.UnresolvedAssetJobDefinition]:
    return [
        reference_job,
        sources_job,
        mirror_job,
        dg.define_asset_job(
            QUALITY_JOB,
            selection=dg.AssetSelection.groups("quality"),
            description="Completeness of every loaded source: gaps, drops, placeholders, breaks.",
        ),
        reports_job,
        dg.define_asset_job(
            PAGES_JOB,
            selection=dg.AssetSelection.groups("reports"),
            description="The HTML reports and exchange files alone: `iccs run` has refreshed the reference data and "
            "completeness in its own jobs just before.",
        ),
    ]
