"""Per-file layer, one partition per landed file: read it → map to ICCS and check each record → load the facts.

The three layers are three assets, each with its own metadata, computed in one step: the staging tables they
hand on are per source, so no other partition may run between them, and one step also costs Dagster's
overhead once instead of three times. The source's correspondence table is checked and reloaded first: a bad
table stops the load (naming file, line and problem) rather than misclassifying silently.
"""

import datetime as dt
import json

import dagster as dg

from pipelines.assets.reference import WRITER_POOL, iccs_reference
from pipelines.checks import fact_check_specs, fact_checks, layer_check, layer_check_specs
from pipelines.partitions import LANDED_FILES, resolve
from pipelines.resources import SourcesConfig, WarehouseResource
from schemas import MappedRecordRow, RawRecordRow
from warehouse.classify import classify_source, records_table
from warehouse.correspondence import load_correspondence
from warehouse.ddl import ensure_schema
from warehouse.load import load_file, register_source
from warehouse.mapping_coverage import coverage_metadata, source_coverage
from warehouse.reference import load_classification
from warehouse.staging import raw_table, stage_source

STAGED = dg.AssetKey("staged_records")
MAPPED = dg.AssetKey("mapped_records")
FACTS = dg.AssetKey("source_facts")


def _metadata(values: dict[str, object]) -> dict[str, object]:
    """Plain Python values for Dagster (the coverage figures come from numpy), markdown where it is a table."""
    plain = json.loads(json.dumps(values, default=str))
    return {k: dg.MetadataValue.md(v) if k.endswith("_md") else v for k, v in plain.items() if v is not None}


def _stop_unless(check: dg.AssetCheckResult, key: str) -> None:
    """A broken contract stops the load before the warehouse is touched: the previous state stays."""
    if not check.passed:
        raise dg.Failure(f"{key}: blocking check {check.check_name} failed: {check.description}")


@dg.multi_asset(
    specs=[
        dg.AssetSpec(STAGED, group_name="ingest", partitions_def=LANDED_FILES, kinds={"duckdb"},
                     description="The landed file read as text into staging, line numbers kept, malformed lines "
                                 "set aside."),
        dg.AssetSpec(MAPPED, group_name="mapping", partitions_def=LANDED_FILES, kinds={"duckdb"}, deps=[STAGED],
                     description="Each record typed, checked and mapped to ICCS; a failing record gets its "
                                 "quarantine reason."),
        dg.AssetSpec(FACTS, group_name="warehouse", partitions_def=LANDED_FILES, kinds={"duckdb"},
                     deps=[MAPPED, iccs_reference.key],
                     description="The file's rows of offences, offence_counts and quarantine, and its runs row, "
                                 "replaced in one transaction."),
    ],
    check_specs=[*layer_check_specs(STAGED, MAPPED), *fact_check_specs(FACTS)],
    pool=WRITER_POOL,
)
def landed_file(context: dg.AssetExecutionContext, duckdb: WarehouseResource, sources: SourcesConfig):
    started = dt.datetime.now()
    config = sources.load()
    src, path = resolve(config, context.partition_key)
    with duckdb.get_connection() as con:
        ensure_schema(con)
        if con.execute("SELECT count(*) FROM iccs_categories").fetchall()[0][0] == 0:
            load_classification(con)
        # The correspondence table is reloaded with every file: an edited table takes effect on the next load.
        codes = load_correspondence(con, src.name, src.correspondence)
        staged = stage_source(con, src)
        raw_check = layer_check(con, "raw_records_contract", STAGED, RawRecordRow, raw_table(src.name))
        yield dg.MaterializeResult(asset_key=STAGED, check_results=[raw_check], metadata={
            "file": dg.MetadataValue.path(str(path)), "rows": staged.rows, "correspondence_codes": codes,
            "malformed_lines": staged.rejected_lines, "records_in": staged.records_in,
        })
        _stop_unless(raw_check, context.partition_key)
        mapped = classify_source(con, src)
        mapped_check = layer_check(con, "mapped_records_contract", MAPPED, MappedRecordRow, records_table(src.name),
                                   "reason IS NULL")
        coverage = _metadata(coverage_metadata(source_coverage(con, src.name)))
        yield dg.MaterializeResult(asset_key=MAPPED, check_results=[mapped_check], metadata={**coverage,
            "records": mapped.records, "valid": mapped.valid,
            # Records outside ICCS by the correspondence table are left out on purpose: counted apart, not as faults.
            "outside_iccs": mapped.reasons.get("excluded_offence", 0),
            "quarantined": mapped.records - mapped.valid - mapped.reasons.get("excluded_offence", 0),
            "mapped_share": dg.MetadataValue.float(round(mapped.mapped_share, 6)),
            **{f"reason_{reason}": count for reason, count in mapped.reasons.items()},
        })

        _stop_unless(mapped_check, context.partition_key)
        register_source(con, src, str(config.path))
        loaded = load_file(con, src, str(path), context.run.run_id, started_at=started)
        checks = fact_checks(con, FACTS, src.name, str(path), context.run.run_id, src.level == "incident")
    context.log.info(f"{context.partition_key}: {loaded.records_in} in, {loaded.records_loaded} loaded, "
                     f"{loaded.records_quarantined} quarantined {loaded.reasons}")
    yield dg.MaterializeResult(asset_key=FACTS, check_results=checks, metadata={
        "source": src.name, "records_in": loaded.records_in, "records_loaded": loaded.records_loaded,
        "records_quarantined": loaded.records_quarantined, "load_seconds": round(loaded.seconds, 3),
        "loaded_share": dg.MetadataValue.float(
            round(loaded.records_loaded / loaded.records_in, 6) if loaded.records_in else 0.0),
        **{f"reason_{reason}": count for reason, count in loaded.reasons.items()},
    })
