"""Per-source layer, one partition per source: read files → map to ICCS and check each record → load facts.

State lives in DuckDB (staging schema, then the fact tables), so the assets hand nothing through Dagster's IO:
each step reads and writes the warehouse and reports what it did as metadata.
"""


import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.assets.reference import WRITER_POOL, iccs_reference
from pipelines.checks import fact_check_specs, fact_checks
from pipelines.resources import SourcesConfig
from schemas.source_config import SourceConfig
from warehouse.classify import classify_source
from warehouse.correspondence import load_correspondence
from warehouse.ddl import ensure_schema
from warehouse.load import load_source, register_source
from warehouse.staging import stage_source


def _source(context: dg.AssetExecutionContext, sources: SourcesConfig) -> SourceConfig:
    config = sources.load()
    name = context.partition_key
    if name not in config.sources:
        raise dg.Failure(f"source '{name}' is not in {config.path} (sources: {', '.join(sorted(config.sources))})")
    return config.sources[name]


def build_source_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    """The per-source assets over ``partitions`` (built per configuration, since partitions are its sources)."""

    @dg.asset(group_name="ingest", partitions_def=partitions, pool=WRITER_POOL, kinds={"duckdb"},
              deps=[iccs_reference],
              description="The source's correspondence table (national code → ICCS), checked and loaded.")
    def correspondence(context: dg.AssetExecutionContext, duckdb: DuckDBResource,
                       sources: SourcesConfig) -> dg.MaterializeResult:
        src = _source(context, sources)
        with duckdb.get_connection() as con:
            ensure_schema(con)
            codes = load_correspondence(con, src.name, src.correspondence)
            levels = dict(con.execute(
                "SELECT 'level_' || i.level, count(*) FROM correspondence c JOIN iccs_categories i "
                "ON i.code = c.iccs_code WHERE c.source = ? GROUP BY 1 ORDER BY 1", [src.name]).fetchall())
        return dg.MaterializeResult(metadata={"file": str(src.correspondence), "national_codes": codes, **levels})

    @dg.asset(group_name="ingest", partitions_def=partitions, pool=WRITER_POOL, kinds={"duckdb"},
              description="The source's files read as text into staging, line numbers kept, malformed lines set aside.")
    def staged_records(context: dg.AssetExecutionContext, duckdb: DuckDBResource,
                       sources: SourcesConfig) -> dg.MaterializeResult:
        src = _source(context, sources)
        with duckdb.get_connection() as con:
            ensure_schema(con)
            staged = stage_source(con, src)
        return dg.MaterializeResult(metadata={
            "files": len(staged.files), "rows": staged.rows, "malformed_lines": staged.rejected_lines,
            "records_in": staged.records_in, "paths": "\n".join(staged.files),
        })

    @dg.asset(group_name="mapping", partitions_def=partitions, pool=WRITER_POOL, kinds={"duckdb"},
              deps=[staged_records, correspondence],
              description="Each record typed, checked and mapped to ICCS; a failing record gets its quarantine reason.")
    def mapped_records(context: dg.AssetExecutionContext, duckdb: DuckDBResource,
                       sources: SourcesConfig) -> dg.MaterializeResult:
        src = _source(context, sources)
        with duckdb.get_connection() as con:
            summary = classify_source(con, src)
        return dg.MaterializeResult(metadata={
            "records": summary.records, "valid": summary.valid,
            "mapped_share": dg.MetadataValue.float(round(summary.mapped_share, 6)),
            "quarantined": summary.records - summary.valid,
            **{f"reason_{reason}": count for reason, count in summary.reasons.items()},
        })

    @dg.asset(group_name="warehouse", partitions_def=partitions, pool=WRITER_POOL, kinds={"duckdb"},
              deps=[mapped_records], check_specs=fact_check_specs("source_facts"),
              description="The source's rows of offences, offence_counts, quarantine and runs, replaced in one "
                          "transaction.")
    def source_facts(context: dg.AssetExecutionContext, duckdb: DuckDBResource,
                     sources: SourcesConfig) -> dg.MaterializeResult:
        src = _source(context, sources)
        config = sources.load()
        with duckdb.get_connection() as con:
            register_source(con, src, str(config.path))
            summary = load_source(con, src, context.run.run_id)
            counts = con.execute("SELECT count(*), coalesce(sum(count), 0) FROM offence_counts WHERE source = ?",
                                 [src.name]).fetchone()
            check_results = fact_checks(con, "source_facts", src.name, context.run.run_id, src.level == "incident")
        context.log.info(f"{src.name}: {summary.records_in} in, {summary.records_loaded} loaded, "
                         f"{summary.records_quarantined} quarantined {summary.reasons}")
        return dg.MaterializeResult(check_results=check_results, metadata={
            "records_in": summary.records_in, "records_loaded": summary.records_loaded,
            "records_quarantined": summary.records_quarantined, "files": summary.files,
            "count_rows": counts[0], "count_total": float(counts[1]),
            "loaded_share": dg.MetadataValue.float(
                round(summary.records_loaded / summary.records_in, 6) if summary.records_in else 0.0),
            **{f"reason_{reason}": count for reason, count in summary.reasons.items()},
        })

    return [correspondence, staged_records, mapped_records, source_facts]
