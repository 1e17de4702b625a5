"""Jobs, one per layer: partitioned and unpartitioned assets cannot share a run, and each layer runs on its own
schedule (sources monthly, reports daily)."""

from __future__ import annotations

import dagster as dg

REFERENCE_JOB = "reference_job"
SOURCES_JOB = "sources_job"
REPORTS_JOB = "reports_job"


def build_jobs() -> list[dg.UnresolvedAssetJobDefinition]:
    return [
        dg.define_asset_job(REFERENCE_JOB, selection=dg.AssetSelection.groups("reference"),
                            description="ICCS reference tables and population."),
        dg.define_asset_job(SOURCES_JOB, selection=dg.AssetSelection.groups("ingest", "mapping", "warehouse"),
                            description="One source: read, map to ICCS, check and load (one partition per source)."),
        dg.define_asset_job(REPORTS_JOB, selection=dg.AssetSelection.groups("reports"),
                            description="Regenerate the HTML reports from the warehouse."),
    ]
