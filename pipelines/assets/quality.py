"""Quality layer: coverage windows and completeness of every loaded source — gaps, drops, placeholder values,
series breaks.

These are warnings, not errors: the records are loaded and safe; an analyst should look before reading a trend.
They run once all files are in, since a window, a gap or a break is only visible across a source's periods; the
coverage windows come first, because completeness and every report statistic are computed inside them.
"""

import json

import dagster as dg

from pipelines.assets.reference import WRITER_POOL
from pipelines.assets.sources import FACTS
from pipelines.resources import SourcesConfig, WarehouseResource
from warehouse import breakdowns, coverage, totals
from warehouse.completeness import FINDINGS, Finding, assess_source
from warehouse.ddl import ensure_schema

QUALITY = dg.AssetKey("data_quality")


def _plain(value: object) -> object:
    """JSON-safe copy (numpy numbers and timestamps from the check frames become plain values)."""
    return json.loads(json.dumps(value, default=str))


def _check(name: str, by_source: dict[str, Finding]) -> dg.AssetCheckResult:
    failed = {source: f for source, f in by_source.items() if not f.passed}
    return dg.AssetCheckResult(
        check_name=name,
        asset_key=QUALITY,
        passed=not failed,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(f"{source}: {f.description}" for source, f in failed.items()) or None,
        metadata={
            source: dg.MetadataValue.json(_plain({"passed": f.passed, "description": f.description, **f.metadata}))
            for source, f in by_source.items()
        },
    )


@dg.asset(
    key=QUALITY,
    group_name="quality",
    deps=[FACTS],
    pool=WRITER_POOL,
    kinds={"duckdb"},
    check_specs=[
        dg.AssetCheckSpec(name, asset=QUALITY, description=text, blocking=False)
        for name, text in {**FINDINGS, **totals.FINDINGS, **breakdowns.FINDINGS}.items()
    ],
    description="Tables `coverage_windows` (view `v_coverage`), `completeness` (period × area present or "
    "not) and `series_breaks`, per source; total areas, nested-total shortfalls and breakdowns that do not add "
    "up to their published totals.",
)
def data_quality(duckdb: WarehouseResource, sources: SourcesConfig) -> dg.MaterializeResult:
    configured = {name: src.coverage for name, src in sources.load().sources.items()}
    with duckdb.get_connection() as con:
        ensure_schema(con)
        coverage.compute(con, configured)
        outside = con.execute("SELECT coalesce(sum(records_before + records_after), 0) FROM v_coverage").fetchall()
        names = [row[0] for row in con.execute("SELECT source FROM sources ORDER BY 1").fetchall()]
        findings = {
            source: {
                f.name: f
                for f in [*assess_source(con, source), *totals.findings(con, source), *breakdowns.findings(con, source)]
            }
            for source in names
        }
        missing, breaks = con.execute(
            "SELECT (SELECT count(*) FROM completeness WHERE NOT present), (SELECT count(*) FROM series_breaks)"
        ).fetchall()[0]
    checks = [
        _check(name, {source: found[name] for source, found in findings.items() if name in found})
        for name in {**FINDINGS, **totals.FINDINGS, **breakdowns.FINDINGS}
    ]
    return dg.MaterializeResult(
        check_results=checks,
        metadata={
            "sources": len(names),
            "missing_period_area_cells": missing,
            "series_breaks": breaks,
            "records_outside_coverage_windows": float(outside[0][0]),
        },
    )
