"""Report layer: the HTML reports analysts publish, regenerated from the warehouse after the loads."""

import dagster as dg

from pipelines.assets.patterns import ANOMALIES
from pipelines.assets.quality import QUALITY
from pipelines.assets.reference import boundaries, population
from pipelines.assets.sources import FACTS
from pipelines.resources import ReportsFolder, WarehouseResource


@dg.asset(
    group_name="reports",
    deps=[FACTS, population, boundaries, QUALITY, ANOMALIES],
    kinds={"html", "plotly"},
    description="index.html with trends, hotspots, SDG 16 and data-quality reports: offline HTML.",
)
def html_reports(duckdb: WarehouseResource, reports: ReportsFolder) -> dg.MaterializeResult:
    # Imported here: the reports bring plotly and scipy (~2 s), which every other process that loads the
    # definitions (a load, a worker, `iccs sql`) would pay for nothing.
    from reports import build_reports

    out_dir = reports.directory()
    with duckdb.get_connection() as con:
        written = build_reports(con, out_dir)
        sources, records = con.execute("SELECT count(DISTINCT source), count(*) FROM offences").fetchone()
    return dg.MaterializeResult(
        metadata={
            "folder": dg.MetadataValue.path(str(out_dir.resolve())),
            "sources": sources,
            "incident_records": records,
            **{kind: dg.MetadataValue.path(str(path.resolve())) for kind, path in written.items()},
        }
    )
