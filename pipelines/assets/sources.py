"""Per-file layer, one partition per landed file: read it → map to ICCS and check each record → load the facts.

The three layers are three assets, each with its own metadata, computed in one step: the staging tables they
hand on are per source, so no other partition may run between them, and one step also costs Dagster's
overhead once instead of three times. The source's correspondence table is checked and reloaded first: a bad
table stops the load (naming file, line and problem) rather than misclassifying silently.

Every file's run first mirrors its source (the rows of the source's files that left the landing folder are
removed), so `iccs run`, the landing sensor and the monthly schedule all keep the warehouse a mirror of the
landing folders; ``landing_mirror`` does the same for sources none of whose files changed.

A record id repeated across files is loaded from the file whose path sorts first (``warehouse.load``): after a
load, and after files vanished, the files whose duplicates that change decides are reloaded in the same step and
the same transaction, so the warehouse equals a clean run whatever order files arrived, changed or left in, and
wherever a run was killed.
"""

import dataclasses
import datetime as dt
import json
from pathlib import Path

import dagster as dg
import duckdb as duckdb_lib

from pipelines.assets.reference import WRITER_POOL, iccs_reference
from pipelines.checks import (
    fact_check_specs,
    fact_checks,
    layer_check,
    layer_check_specs,
    unused_columns_check,
    usable_check,
)
from pipelines.partitions import LANDED_FILES, resolve, source_files
from pipelines.resources import SourcesConfig, WarehouseResource
from schemas import MappedRecordRow, RawRecordRow
from schemas.source_config import PipelineConfig, SourceConfig
from warehouse import coverage
from warehouse.classify import MAPPED_PROVED, classify_source, records_table
from warehouse.connection import concurrent_writers, locate
from warehouse.correspondence import load_correspondence
from warehouse.ddl import ensure_schema
from warehouse.load import LoadBlocked, LoadSummary, load_file, prune_files, register_source, stale_files
from warehouse.mapping_coverage import coverage_metadata, source_coverage
from warehouse.staging import RAW_PROVED, raw_table, stage_source
from warehouse.transaction import retrying, transaction

STAGED = dg.AssetKey("staged_records")
MAPPED = dg.AssetKey("mapped_records")
FACTS = dg.AssetKey("source_facts")


def _metadata(values: dict[str, object]) -> dict[str, object]:
    """Plain Python values for Dagster (the coverage figures come from numpy), markdown where it is a table."""
    plain = json.loads(json.dumps(values, default=str))
    return {k: dg.MetadataValue.md(v) if k.endswith("_md") else v for k, v in plain.items() if v is not None}


def _one_line(text: str | None) -> str:
    return "; ".join(line.strip() for line in (text or "").splitlines() if line.strip())


def _stop_unless(check: dg.AssetCheckResult, key: str) -> None:
    """A broken contract stops the load before the warehouse is touched: the previous state stays."""
    if not check.passed:
        raise dg.Failure(f"{key}: blocking check {check.check_name} failed: {_one_line(check.description)}")


def load_verified(
    con: duckdb_lib.DuckDBPyConnection,
    config: PipelineConfig,
    src: SourceConfig,
    path: Path,
    run_id: str,
    filtered: int = 0,
    started: dt.datetime | None = None,
) -> tuple[LoadSummary, list[dg.AssetCheckResult]]:
    """Load the classified records of ``path``; the fact checks run inside the load transaction, so a failing
    blocking check (conservation, a contract) rolls it back and fails the step naming the check."""
    results: list[dg.AssetCheckResult] = []

    def verify(con: duckdb_lib.DuckDBPyConnection) -> list[str]:
        results[:] = fact_checks(con, FACTS, src.name, str(path), run_id, src.level == "incident", str(config.path))
        return [
            f"blocking check {r.check_name} failed: {_one_line(r.description) or dict(r.metadata)}"
            for r in results
            if not r.passed and r.severity == dg.AssetCheckSeverity.ERROR
        ]

    try:
        loaded = load_file(con, src, str(path), run_id, started_at=started, records_filtered=filtered, verify=verify)
    except LoadBlocked as exc:
        raise dg.Failure(str(exc)) from None
    return loaded, [*results, usable_check(con, FACTS, src, loaded)]


def reevaluate(
    con: duckdb_lib.DuckDBPyConnection, config: PipelineConfig, name: str, changed: list[str], run_id: str
) -> list[str]:
    """Reload, in path order, the files of source ``name`` whose cross-file duplicates the ``changed`` files
    (loaded or removed) decide differently now; returns them. Each reload may decide later files in turn."""
    full = config.sources[name]
    current = {str(path.resolve()) for path in full.paths()}  # a file that left is the mirror's to remove
    changed, done = list(changed), []
    while stale := [f for f in stale_files(con, full, changed) if f not in done and f in current]:
        target = Path(stale[0])
        if not done:  # the table as it is now, as the load of any file of the source would use it
            load_correspondence(con, name, full.correspondence)
        done.append(str(target))
        src = dataclasses.replace(full, files=str(target))
        staged = stage_source(con, src)
        _stop_unless(
            layer_check(con, "raw_records_contract", STAGED, RawRecordRow, raw_table(name), proved=RAW_PROVED),
            str(target),
        )
        classify_source(con, src)
        _stop_unless(
            layer_check(
                con,
                "mapped_records_contract",
                MAPPED,
                MappedRecordRow,
                records_table(name),
                "reason IS NULL",
                proved=MAPPED_PROVED,
            ),
            str(target),
        )
        load_verified(con, config, src, target, run_id, staged.filtered_rows)
        changed.append(str(target))
    return done


def load_landed(
    con: duckdb_lib.DuckDBPyConnection,
    config: PipelineConfig,
    src: SourceConfig,
    path: Path,
    run_id: str,
    filtered: int = 0,
    started: dt.datetime | None = None,
) -> tuple[LoadSummary, list[dg.AssetCheckResult], list[str]]:
    """Load ``path`` and reload the files whose cross-file duplicates it decides, in one transaction: a crash
    between the two would leave an id loaded twice, or nowhere, and a rerun that sees ``path`` loaded already
    (the sensor's) would never repair it. Returns the load, its checks and the files reloaded."""
    with transaction(con):
        loaded, checks = load_verified(con, config, src, path, run_id, filtered, started)
        reloaded = reevaluate(con, config, src.name, [str(path)], run_id)
    return loaded, checks, reloaded


def recheck(
    con: duckdb_lib.DuckDBPyConnection, config: PipelineConfig, name: str, path: Path, run_id: str
) -> list[str]:
    """After ``path``'s load committed: reload, in one transaction, the files whose cross-file duplicates are wrong
    now. Only where several processes write (a lake): a file of the same source another process committed while
    this one loaded (a deployment runs one load per source at a time, but two machines may overlap) may hold an id
    this file also loaded: whichever load commits last finds and settles it."""
    with transaction(con):
        return reevaluate(con, config, name, [str(path)], run_id)


def mirror_source(
    con: duckdb_lib.DuckDBPyConnection, config: PipelineConfig, name: str, keep: list[str], run_id: str
) -> list[str]:
    """Remove the rows of source ``name``'s files not in ``keep`` and reload the files whose duplicates the
    removal decides, in one transaction (as ``load_landed``); returns the files removed."""
    with transaction(con):
        gone = prune_files(con, name, keep)
        if gone:
            reevaluate(con, config, name, gone, run_id)
    return gone


def mirror_sources(
    con: duckdb_lib.DuckDBPyConnection, config: PipelineConfig, names: list[str], run_id: str
) -> tuple[dict[str, list[str]], list[str]]:
    """Mirror each source of ``names`` in one transaction, and assess the coverage windows again when files were
    removed (their periods may have been a window's edge). A source matching no file at all is left as it is:
    more likely a mistyped path than an empty feed. Returns the files removed by source, and the sources left."""
    removed: dict[str, list[str]] = {}
    skipped: list[str] = []
    with transaction(con):
        for name in names:
            files = source_files(config, config.sources[name])
            if not files:
                skipped.append(name)
                continue
            gone = mirror_source(con, config, name, [str(p) for p in files.values()], run_id)
            if gone:
                removed[name] = gone
        if removed:
            coverage.compute(con, {n: src.coverage for n, src in config.sources.items()})
    return removed, skipped


class ReferenceMissing(dg.Failure):
    """The ICCS reference tables are empty: `reference_job` (the `iccs_reference` asset) loads them."""


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            STAGED,
            group_name="ingest",
            partitions_def=LANDED_FILES,
            kinds={"duckdb"},
            description="The landed file read as text into staging, line numbers kept, malformed lines set aside.",
        ),
        dg.AssetSpec(
            MAPPED,
            group_name="mapping",
            partitions_def=LANDED_FILES,
            kinds={"duckdb"},
            deps=[STAGED],
            description="Each record typed, checked and mapped to ICCS; a failing record gets its quarantine reason.",
        ),
        dg.AssetSpec(
            FACTS,
            group_name="warehouse",
            partitions_def=LANDED_FILES,
            kinds={"duckdb"},
            deps=[MAPPED, iccs_reference.key],
            description="The file's rows of offences, offence_counts and quarantine, and its runs row, "
            "replaced in one transaction.",
        ),
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
            raise ReferenceMissing(
                f"{context.partition_key}: the ICCS reference tables of {duckdb.database} are "
                "empty: materialize iccs_reference first (reference_job; `iccs run` does)"
            )
        removed, _ = retrying(
            lambda: mirror_sources(con, config, [src.name], context.run.run_id), f"{path}: mirroring {src.name}"
        )
        # The correspondence table is reloaded with every file: an edited table takes effect on the next load.
        codes = retrying(lambda: load_correspondence(con, src.name, src.correspondence), str(src.correspondence))
        staged = stage_source(con, src)
        raw_check = layer_check(
            con, "raw_records_contract", STAGED, RawRecordRow, raw_table(src.name), proved=RAW_PROVED
        )
        yield dg.MaterializeResult(
            asset_key=STAGED,
            check_results=[raw_check, unused_columns_check(STAGED, staged)],
            metadata={
                "file": dg.MetadataValue.path(str(path)),
                "rows": staged.rows,
                "correspondence_codes": codes,
                "malformed_lines": staged.rejected_lines,
                "records_in": staged.records_in,
                "records_filtered": staged.filtered_rows,
                **({"unused_columns": ", ".join(staged.unused_columns)} if staged.unused_columns else {}),
            },
        )
        _stop_unless(raw_check, context.partition_key)
        mapped = classify_source(con, src)
        mapped_check = layer_check(
            con,
            "mapped_records_contract",
            MAPPED,
            MappedRecordRow,
            records_table(src.name),
            "reason IS NULL",
            proved=MAPPED_PROVED,
        )
        coverage = _metadata(coverage_metadata(source_coverage(con, src.name)))
        yield dg.MaterializeResult(
            asset_key=MAPPED,
            check_results=[mapped_check],
            metadata={
                **coverage,
                "records": mapped.records,
                "valid": mapped.valid,
                # Records outside ICCS by the correspondence table are left out on purpose: counted apart, not as
                # faults.
                "outside_iccs": mapped.reasons.get("excluded_offence", 0),
                "quarantined": mapped.records - mapped.valid - mapped.reasons.get("excluded_offence", 0),
                "mapped_share": dg.MetadataValue.float(round(mapped.mapped_share, 6)),
                **{f"reason_{reason}": count for reason, count in mapped.reasons.items()},
            },
        )

        _stop_unless(mapped_check, context.partition_key)
        # as configured (its files pattern), not as narrowed to this file: the row changes only with the configuration
        configured = config.sources[src.name]
        retrying(lambda: register_source(con, configured, str(config.path)), f"{config.path}: source {src.name}")
        loaded, checks, reloaded = retrying(
            lambda: load_landed(con, config, src, path, context.run.run_id, staged.filtered_rows, started), str(path)
        )
        if concurrent_writers(locate(duckdb.database)):  # a lone writer settled every duplicate in load_landed
            reloaded += retrying(lambda: recheck(con, config, src.name, path, context.run.run_id), str(path))
    context.log.info(
        f"{context.partition_key}: {loaded.records_in} in, {loaded.records_loaded} loaded, "
        f"{loaded.records_quarantined} quarantined {loaded.reasons}; reloaded {reloaded}; "
        f"removed {removed}"
    )
    yield dg.MaterializeResult(
        asset_key=FACTS,
        check_results=checks,
        metadata={
            "source": src.name,
            "records_in": loaded.records_in,
            "records_loaded": loaded.records_loaded,
            "records_filtered": loaded.records_filtered,
            **({"reloaded_files": ", ".join(reloaded)} if reloaded else {}),
            **({"removed_files": ", ".join(removed[src.name])} if removed else {}),
            "records_quarantined": loaded.records_quarantined,
            "load_seconds": round(loaded.seconds, 3),
            "loaded_share": dg.MetadataValue.float(
                round(loaded.records_loaded / loaded.records_in, 6) if loaded.records_in else 0.0
            ),
            **{f"reason_{reason}": count for reason, count in loaded.reasons.items()},
        },
    )


class MirrorConfig(dg.Config):
    """Which sources to mirror (all configured sources when empty)."""

    sources: list[str] = []


@dg.asset(
    group_name="landing",
    pool=WRITER_POOL,
    kinds={"duckdb"},
    deps=[iccs_reference.key],
    description="The warehouse mirrors the landing folders: rows of files that no longer match a source's "
    "`files` pattern are removed (a source matching no file at all is left as it is: more "
    "likely a mistyped path than an empty feed), the files whose duplicates they decided "
    "are reloaded, and the coverage windows are assessed again. Each file's load does the same "
    "for its own source; the landing sensor runs this when files left.",
)
def landing_mirror(
    context: dg.AssetExecutionContext, config: MirrorConfig, duckdb: WarehouseResource, sources: SourcesConfig
) -> dg.MaterializeResult:
    pipeline = sources.load()
    with duckdb.get_connection() as con:
        ensure_schema(con)
        names = config.sources or sorted(pipeline.sources)
        removed, skipped = retrying(
            lambda: mirror_sources(con, pipeline, names, context.run.run_id), "mirroring the landing folders"
        )
    context.log.info(f"removed {removed}; sources matching no file (left as they are): {skipped}")
    return dg.MaterializeResult(
        metadata={
            "files_removed": sum(len(v) for v in removed.values()),
            **({"removed": dg.MetadataValue.json(removed)} if removed else {}),
            **({"sources_matching_no_file": ", ".join(skipped)} if skipped else {}),
        }
    )
