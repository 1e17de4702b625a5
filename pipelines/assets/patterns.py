"""Patterns layer: what deserves a look in every source's series, computed after the quality layer because every
statistic runs inside the coverage windows and labels shifts at the series breaks it finds."""

import time

import dagster as dg
import pandera.errors

from pipelines.assets.quality import QUALITY
from pipelines.assets.reference import WRITER_POOL
from pipelines.resources import WarehouseResource
from schemas.anomalies import AnomalyRow
from warehouse import anomalies as tables
from warehouse.ddl import ensure_schema

ANOMALIES = dg.AssetKey("anomalies")


@dg.asset(
    key=ANOMALIES,
    group_name="quality",
    deps=[QUALITY],
    pool=WRITER_POOL,
    kinds={"duckdb"},
    check_specs=[
        dg.AssetCheckSpec(
            "anomalies_contract",
            asset=ANOMALIES,
            description="every finding satisfies schemas.anomalies.AnomalyRow",
            blocking=False,
        )
    ],
    description="Tables `anomalies`, `anomaly_series` and `anomaly_tests`: outlying months, level shifts and "
    "changed offence mixes per source, area and ICCS category, at a false discovery rate of 10 %.",
)
def anomalies(duckdb: WarehouseResource) -> dg.MaterializeResult:
    # Imported here: statsmodels, ruptures and scipy cost every process that loads the definitions ~2 s.
    from reports.stats.anomaly_months import MIN_COUNT
    from reports.stats.patterns import FDR, detect

    started = time.perf_counter()
    with duckdb.get_connection() as con:
        ensure_schema(con)
        found = detect(**tables.inputs(con, MIN_COUNT))
        try:
            AnomalyRow.validate(found.anomalies, lazy=True)
            passed, description = True, None
        except pandera.errors.SchemaErrors as errors:
            passed, description = False, str(errors.failure_cases.head(5).to_dict("records"))
        tables.replace(con, found.anomalies, found.series, found.tests)
    return dg.MaterializeResult(
        check_results=[
            # a warning, like the quality layer's: `iccs run` tells it in its summary (an error would be silent there)
            dg.AssetCheckResult(
                check_name="anomalies_contract",
                asset_key=ANOMALIES,
                passed=passed,
                severity=dg.AssetCheckSeverity.WARN,
                description=description,
            )
        ],
        metadata={
            **found.figures,
            "fdr": FDR,
            "by_kind": dg.MetadataValue.json(found.tests.to_dict("records")),
            "seconds": round(time.perf_counter() - started, 2),
        },
    )
