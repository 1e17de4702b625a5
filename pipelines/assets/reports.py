"""Report layer: the HTML reports analysts publish, regenerated from the warehouse after every load."""


import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.assets.reference import population
from pipelines.resources import ReportsFolder
from reports import build_reports


def build_report_asset(upstream: dg.AssetsDefinition) -> dg.AssetsDefinition:
    """The reports asset, downstream of every source's facts (``upstream``) and the population."""

    @dg.asset(group_name="reports", deps=[upstream, population], kinds={"html", "plotly"},
              description="trends.html, hotspots.html, sdg16.html, quality.html and index.html, offline HTML.")
    def html_reports(duckdb: DuckDBResource, reports: ReportsFolder) -> dg.MaterializeResult:
        out_dir = reports.directory()
        with duckdb.get_connection() as con:
            written = build_reports(con, out_dir)
        return dg.MaterializeResult(metadata={
            "folder": dg.MetadataValue.path(str(out_dir.resolve())),
            **{kind: dg.MetadataValue.path(str(path.resolve())) for kind, path in written.items()},
        })

    return html_reports
