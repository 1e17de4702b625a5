"""`iccs run` and the benchmark: select the Dagster jobs, launch them in process, and collect their results.

The jobs do all the work, exactly as the daemon's sensor and schedule runs do: reference_job, then sources_job
for each landed file (each run first removes the rows of its source's files that left the landing folder), then
quality_job and pages_job (the reports alone: the daemon's reports_job also refreshes the reference data and
quality, which `iccs run` has just done). This module only chooses the partitions, launches the runs and reads back
what they did. Every run shows up in the Dagster UI with its metadata and checks when ``DAGSTER_HOME`` is set
(`make run` sets it); without it an ephemeral instance keeps the run cheap.
"""

from __future__ import annotations

import functools
import multiprocessing
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb

from pipelines import settings
from pipelines.assets.reference import WRITER_POOL
from pipelines.definitions import build_definitions
from pipelines.jobs import PAGES_JOB, QUALITY_JOB, REFERENCE_JOB, SOURCES_JOB
from pipelines.partitions import LANDED_FILES, source_files
from pipelines.progress import Steps
from schemas.source_config import PipelineConfig, load_config
from warehouse.connection import Warehouse, WarehouseBusyError, concurrent_writers, connect
from warehouse.load import FILE_MATCH, cross_file_ids, file_params

# Bad input, bad configuration, an unreadable or locked file: told in one line. Anything else is a bug and keeps
# its traceback.
EXPECTED_ERRORS = (dg.DagsterError, dg.Failure, ValueError, OSError, duckdb.Error, WarehouseBusyError)


class PipelineError(RuntimeError):
    """A step failed or a blocking check failed; the message says which, in one line per problem."""


def mapped_share(mapped: int, placeable: int, records_in: int) -> float:
    """The share of the records ICCS can place that are mapped, about mapping only (as the mapped_share check and
    `iccs map-check`): a record whose code the correspondence table excludes is left out of it even when it was
    quarantined for another reason first (a country missing from a lookup: missing_field)."""
    if placeable:
        return min(mapped / placeable, 1.0)
    return 1.0 if records_in else 0.0  # every record excluded by the table: nothing left to map


@dataclass
class SourceResult:
    """One landed file's load (a source with several files has several results)."""

    source: str
    file: str
    run_id: str
    records_in: int = 0
    records_loaded: int = 0
    records_quarantined: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    # From the mapped_share check (mapping only): records mapped to ICCS, and the records whose national code ICCS
    # can place (every record but those whose code the correspondence table excludes, whatever their reason).
    mapped_records: int = 0
    placeable_records: int = 0
    error: str | None = None
    failed_checks: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failed_checks

    @property
    def mapped_share(self) -> float:
        return mapped_share(self.mapped_records, self.placeable_records, self.records_in)


@dataclass
class PipelineResult:
    sources: list[SourceResult]
    reports: dict[str, Path]
    warehouse: Warehouse
    reports_dir: Path
    errors: list[str]
    quality_warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and all(s.ok for s in self.sources)

    def by_source(self) -> dict[str, SourceTotals]:
        """The file results added up per source, for summaries."""
        totals: dict[str, SourceTotals] = {}
        for r in self.sources:
            t = totals.setdefault(r.source, SourceTotals(r.source))
            t.files += 1
            t.records_in += r.records_in
            t.records_loaded += r.records_loaded
            t.records_quarantined += r.records_quarantined
            t.mapped_records += r.mapped_records
            t.placeable_records += r.placeable_records
            for reason, count in r.reasons.items():
                t.reasons[reason] = t.reasons.get(reason, 0) + count
            t.problems += [r.error] if r.error else []  # errors name their file already
            t.problems += [f"{Path(r.file).name}: check failed: {text}" for text in r.failed_checks]
            t.warnings += [f"{Path(r.file).name}: {text}" for text in r.warnings]
        return totals


@dataclass
class SourceTotals:
    source: str
    files: int = 0
    records_in: int = 0
    records_loaded: int = 0
    records_quarantined: int = 0
    mapped_records: int = 0
    placeable_records: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def mapped_share(self) -> float:
        return mapped_share(self.mapped_records, self.placeable_records, self.records_in)


@functools.cache
def _ephemeral_instance() -> dg.DagsterInstance:
    """One in-memory instance per process: creating one costs over a second, and runs do not share state."""
    return dg.DagsterInstance.ephemeral()


def _instance() -> dg.DagsterInstance:
    if os.environ.get("DAGSTER_HOME"):
        Path(os.environ["DAGSTER_HOME"]).mkdir(parents=True, exist_ok=True)
        return dg.DagsterInstance.get()
    return _ephemeral_instance()


def _error_text(exc: BaseException) -> str:
    """The user's error without Dagster's wrapping: config and input errors are already one clear line."""
    inner = getattr(exc, "user_exception", None) or exc
    text = str(inner).strip() or type(inner).__name__
    return text.splitlines()[0]


def _execute(
    defs: dg.Definitions, job: str, instance: dg.DagsterInstance, partition_key: str | None = None
) -> dg.ExecuteInProcessResult:
    """One in-process run; Dagster's console log is kept to ``ICCS_LOG_LEVEL`` (default: errors are ours to tell)."""
    level = os.environ.get("ICCS_LOG_LEVEL", "CRITICAL").upper()
    run_config = {"loggers": {"console": {"config": {"log_level": level}}}}
    return defs.resolve_job_def(job).execute_in_process(
        run_config=run_config, instance=instance, partition_key=partition_key
    )


def _check_failures(result: dg.ExecuteInProcessResult) -> tuple[list[str], list[str]]:
    errors, warnings = [], []
    for evaluation in result.get_asset_check_evaluations():
        if evaluation.passed:
            continue
        text = f"{evaluation.check_name}: {evaluation.description or dict(evaluation.metadata)}"
        (warnings if evaluation.severity == dg.AssetCheckSeverity.WARN else errors).append(text)
    return errors, warnings


def run_pipeline(
    config: Path,
    warehouse: Warehouse,
    reports_dir: Path,
    with_reports: bool = True,
    only: Sequence[str] | None = None,
    workers: int = 1,
    progress: Steps | None = None,
) -> PipelineResult:
    """Load every file of every configured source (or of ``only`` those) and, unless told not to, the reports.

    Each file is its own sources_job run, so one bad file does not stop the others; each run first removes the
    rows of its source's files that no longer match the source's pattern, so the warehouse mirrors the landing
    folders and a renamed file's records are not judged against its old rows. On a warehouse that takes several
    writers (a lake), up to ``workers`` runs go at once, each in a process of its own. ``progress`` is told each
    job as it starts (files by name), for the live line of a terminal.
    """
    steps = progress or Steps(False)
    pipeline_config = load_config(config)
    names = sorted(pipeline_config.sources)
    unknown = sorted(set(only or ()) - set(names))
    if unknown:
        raise PipelineError(f"{config}: no source named {', '.join(unknown)} (sources: {', '.join(names)})")
    defs = build_definitions(config, warehouse, reports_dir)
    instance = _instance()
    errors: list[str] = []
    steps.plan(2 + int(with_reports))  # reference, quality, reports; the files once they are known
    steps.start("reference tables")
    try:
        reference = _execute(defs, REFERENCE_JOB, instance)
        failed, _ = _check_failures(reference)
        errors += [f"reference: {text}" for text in failed]
    except EXPECTED_ERRORS as exc:
        errors.append(f"reference: {_error_text(exc)}")
    results: list[SourceResult] = []
    landed: list[tuple[str, str, Path]] = []
    for name in [] if errors else (only or names):
        files = source_files(pipeline_config, pipeline_config.sources[name])
        if not files:
            src = pipeline_config.sources[name]
            results.append(
                SourceResult(
                    source=name,
                    file="",
                    run_id="",
                    error=(f"{src.files}: source '{name}': field 'files' matches no file (relative to {src.base_dir})"),
                )
            )
            continue
        instance.add_dynamic_partitions(
            LANDED_FILES.name, sorted(set(files) - set(instance.get_dynamic_partitions(LANDED_FILES.name)))
        )
        landed += [(name, key, path) for key, path in files.items()]
    steps.plan(2 + int(with_reports) + len(landed))
    if workers > 1 and concurrent_writers(warehouse) and len(landed) > 1:
        with _writer_slots(instance, workers):
            results += _run_files_in_parallel(
                config, warehouse, reports_dir, _batches(pipeline_config, landed), workers, steps
            )
    else:
        for number, (name, key, path) in enumerate(landed, 1):
            steps.start(f"loading {number}/{len(landed)} {path.name}")
            results.append(_run_file(defs, instance, name, key, path))
    _fill_from_warehouse(warehouse, results)
    quality: list[str] = []
    loaded = any(r.run_id for r in results)
    # completeness is assessed after loads, and before the reports even when nothing was loaded (they read it); its
    # warnings are told when this run loaded something, as before
    if (loaded or (with_reports and all(r.ok for r in results))) and not errors:
        steps.start("data quality")
        try:
            warned = _check_failures(_execute(defs, QUALITY_JOB, instance))[1]
            quality = warned if loaded else []
        except EXPECTED_ERRORS as exc:
            errors.append(f"data quality: {_error_text(exc)}")
    written: dict[str, Path] = {}
    if with_reports and not errors and all(r.ok for r in results):
        steps.start("reports")
        try:  # the pages alone: this run refreshed the reference data and completeness just before
            _execute(defs, PAGES_JOB, instance)
            written = {p.stem: p for p in sorted(reports_dir.glob("*.html"))}
        except Exception as exc:  # the warehouse is loaded and stays so; a report failure is told, not raised
            errors.append(
                f"reports: {type(getattr(exc, 'user_exception', exc)).__name__}: {_error_text(exc)} "
                f"(run `iccs report{settings.named_paths(warehouse, reports_dir)}` for the details)"
            )
    return PipelineResult(results, written, warehouse, reports_dir, errors, quality)


def _run_file(defs: dg.Definitions, instance: dg.DagsterInstance, name: str, key: str, path: Path) -> SourceResult:
    try:
        result = _execute(defs, SOURCES_JOB, instance, partition_key=key)
    except EXPECTED_ERRORS as exc:
        return SourceResult(source=name, file=str(path), run_id="", error=_error_text(exc))
    failed, warnings = _check_failures(result)
    figures = {
        key: int(evaluation.metadata[key].value)
        for evaluation in result.get_asset_check_evaluations()
        if evaluation.check_name == "mapped_share"
        for key in ("mapped", "placeable_records")
        if key in evaluation.metadata
    }
    return SourceResult(
        source=name,
        file=str(path),
        run_id=result.run_id,
        failed_checks=failed,
        warnings=warnings,
        mapped_records=figures.get("mapped", 0),
        placeable_records=figures.get("placeable_records", 0),
    )


# The definitions and instance of a worker process (``_run_files_in_parallel``), made once per process.
_worker: tuple[dg.Definitions, dg.DagsterInstance] | None = None


def _start_worker(config: Path, warehouse: Warehouse, reports_dir: Path) -> None:
    global _worker
    _worker = (build_definitions(config, warehouse, reports_dir), _instance())


def _run_in_worker(batch: list[tuple[str, str, Path]]) -> list[SourceResult]:
    assert _worker is not None, "a worker process starts with _start_worker"
    defs, instance = _worker
    results = []
    for name, key, path in batch:
        if key not in instance.get_dynamic_partitions(LANDED_FILES.name):  # an ephemeral instance of this process
            instance.add_dynamic_partitions(LANDED_FILES.name, [key])
        results.append(_run_file(defs, instance, name, key, path))
    return results


def _batches(config: PipelineConfig, landed: list[tuple[str, str, Path]]) -> list[list[tuple[str, str, Path]]]:
    """The files grouped into what may load at once: every file alone, except that the files of a source whose
    record ids mean something across files load one after another (each load reads the others' ids)."""
    batches: dict[str, list[tuple[str, str, Path]]] = {}
    for item in landed:
        name, key, _ = item
        batches.setdefault(name if cross_file_ids(config.sources[name]) else key, []).append(item)
    return list(batches.values())


@contextmanager
def _writer_slots(instance: dg.DagsterInstance, workers: int) -> Iterator[None]:
    """At least ``workers`` slots in the writers' pool of a persistent instance (``DAGSTER_HOME``) while the
    parallel loads run: its limit (1 in pipelines/dagster.yaml, for a DuckDB file) would otherwise make them wait
    for each other. The limit is set back afterwards; an ephemeral instance enforces no pool."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        yield
        return
    before = storage.get_concurrency_info(WRITER_POOL)
    if before.slot_count >= workers:
        yield
        return
    storage.set_concurrency_slots(WRITER_POOL, workers)
    try:
        yield
    finally:  # back to the instance's default limit, or to the limit set for the pool
        if before.using_default_limit:
            storage.delete_concurrency_limit(WRITER_POOL)
        else:
            storage.set_concurrency_slots(WRITER_POOL, before.slot_count)


def _run_files_in_parallel(
    config: Path,
    warehouse: Warehouse,
    reports_dir: Path,
    batches: list[list[tuple[str, str, Path]]],
    workers: int,
    steps: Steps,
) -> list[SourceResult]:
    """The batches' sources_job runs, up to ``workers`` batches at once, each in a worker process (started fresh:
    Dagster and DuckDB do not survive a fork); results in the order of the batches. With ``DAGSTER_HOME`` set,
    every run is recorded in that instance as a serial run's is."""
    total = sum(len(batch) for batch in batches)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=min(workers, len(batches)),
        mp_context=context,
        initializer=_start_worker,
        initargs=(config, warehouse, reports_dir),
    ) as pool:
        futures = [pool.submit(_run_in_worker, batch) for batch in batches]
        results: list[SourceResult] = []
        for batch, future in zip(batches, futures, strict=True):
            done = len(results)
            steps.start(f"loading {total} files, {workers} at a time: {done}/{total} done", len(batch))
            try:
                results += future.result()
            except BrokenProcessPool:  # a worker was killed (out of memory, a signal): its files are not loaded
                results += [
                    SourceResult(
                        source=name,
                        file=str(path),
                        run_id="",
                        error=f"{path}: the worker process loading it died (killed, or out of memory?); its "
                        "transaction was rolled back: run again, with fewer --workers if memory is short",
                    )
                    for name, _, path in batch
                ]
        return results


def _fill_from_warehouse(warehouse: Warehouse, results: list[SourceResult]) -> None:
    """Figures come from the warehouse's own `runs` and `quarantine` tables, the same ones users query."""
    loaded = [r for r in results if r.run_id]
    if not loaded:
        return
    with connect(warehouse) as con:
        for result in loaded:
            row = con.execute(
                "SELECT records_in, records_loaded, records_quarantined FROM runs WHERE source = ? AND file = ? "
                "AND run_id = ?",
                [result.source, result.file, result.run_id],
            ).fetchone()
            if row is None:
                continue
            result.records_in, result.records_loaded, result.records_quarantined = row
            result.reasons = dict(
                con.execute(
                    f"SELECT reason, count(*) FROM quarantine WHERE source = ? AND {FILE_MATCH} GROUP BY 1 "
                    "ORDER BY 2 DESC, 1",
                    [result.source, *file_params(result.file)],
                ).fetchall()
            )
