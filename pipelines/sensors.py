"""The sensors that keep the warehouse and the reports current when the daemon runs (`dg dev`).

`landing_sensor`: a file added to or changed in a source's folder triggers the load of that file (whose run
first removes the rows of its source's files that left, as every load does). The cursor keeps each file's size,
modification time and content hash. Size and time decide whether the file is read at all; the hash decides
whether it changed, so a file that is only touched or copied again with the same content triggers nothing. A
file that left the folder (removed, renamed, moved) triggers the mirror job, which removes its rows, and its
partition is deleted. On a new warehouse it first requests the reference job, and loads nothing until that
succeeded (a load fails on empty reference tables).

`reports_sensor` (on by default): once loads or mirror runs succeeded and none is queued or running, one reports
job, so the daemon's path ends with fresh reports as `iccs run` does.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import dagster as dg

from pipelines.assets.reference import iccs_reference
from pipelines.jobs import (
    MIRROR_JOB,
    QUALITY_JOB,
    REFERENCE_JOB,
    REPORTS_JOB,
    SOURCES_JOB,
    mirror_job,
    reference_job,
    reports_job,
    sources_job,
)
from pipelines.partitions import LANDED_FILES, SOURCE_TAG, all_files, source_of
from pipelines.resources import SourcesConfig, WarehouseResource
from warehouse.connection import Warehouse, exists, locate

CHUNK = 1 << 20


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def landed_changes(files: dict[str, Path], cursor: dict[str, list]) -> tuple[list[tuple[str, str]], dict[str, list]]:
    """(partition key, content hash) of the new or changed files, and the cursor to store."""
    changed: list[tuple[str, str]] = []
    updated: dict[str, list] = {}
    for key, path in files.items():
        stat = path.stat()
        before = cursor.get(key)
        if before and before[0] == stat.st_size and before[1] == stat.st_mtime_ns:
            updated[key] = before
            continue
        digest = content_hash(path)
        if not before or before[2] != digest:
            changed.append((key, digest))
        updated[key] = [stat.st_size, stat.st_mtime_ns, digest]
    return changed, updated


PENDING = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def _pending(instance: dg.DagsterInstance, job: str) -> bool:
    return bool(instance.get_run_records(dg.RunsFilter(job_name=job, statuses=PENDING), limit=1))


def _reference_missing(instance: dg.DagsterInstance, warehouse: Warehouse) -> bool:
    """No reference tables to load against: a new warehouse file, or an instance that never materialized them
    (reading the warehouse itself could meet a writer's lock)."""
    return not exists(warehouse) or instance.get_latest_materialization_event(iccs_reference.key) is None


@dg.sensor(
    name="landing_sensor",
    jobs=[sources_job, mirror_job, reference_job],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Loads each new or changed file matching a configured source's `files` pattern; removes "
    "the rows of files that left; loads the reference tables first into a new warehouse.",
)
def landing_sensor(
    context: dg.SensorEvaluationContext, sources: SourcesConfig, duckdb: WarehouseResource
) -> dg.SensorResult | dg.SkipReason:
    if _reference_missing(context.instance, locate(duckdb.database)):
        if _pending(context.instance, REFERENCE_JOB):
            return dg.SkipReason("waiting for reference_job: loads need the ICCS reference tables")
        # The cursor stays: every file is still new when the reference tables are in.
        return dg.SensorResult(run_requests=[dg.RunRequest(job_name=REFERENCE_JOB)])
    cursor = json.loads(context.cursor) if context.cursor else {}
    files = all_files(sources.load())
    changed, updated = landed_changes(files, cursor)
    known = set(context.instance.get_dynamic_partitions(LANDED_FILES.name))
    new_keys = sorted({key for key, _ in changed} - known)
    gone = sorted(set(cursor) - set(files))
    # No run key: Dagster's daemon never launches a run key twice, and the same file with the same content must
    # load again after it left and came back (renamed away and back) or after a change was reverted. The cursor
    # already keeps an unchanged file from triggering anything; a request repeated after a failed tick only
    # reloads the file, which replaces its own rows.
    requests = [
        dg.RunRequest(
            job_name=SOURCES_JOB,
            partition_key=key,
            tags={"iccs/content_sha256": digest, SOURCE_TAG: source_of(key)},
        )
        for key, digest in changed
    ]
    if gone:  # no run key: the same set of files may leave again later (renamed back and forth)
        requests.insert(0, dg.RunRequest(job_name=MIRROR_JOB))
    partitions = [LANDED_FILES.build_add_request(new_keys)] if new_keys else []
    partitions += [LANDED_FILES.build_delete_request(sorted(set(gone) & known))] if set(gone) & known else []
    return dg.SensorResult(
        run_requests=requests, dynamic_partitions_requests=partitions, cursor=json.dumps(updated, sort_keys=True)
    )


@dg.sensor(
    name="reports_sensor",
    jobs=[reports_job],
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Regenerates the reports (with population and completeness) after loads or mirror runs "
    "succeeded, once none is queued or running. Inert until something loads.",
)
def reports_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
    instance = context.instance
    done = [
        record
        for job in (SOURCES_JOB, MIRROR_JOB)
        for record in instance.get_run_records(
            dg.RunsFilter(job_name=job, statuses=[dg.DagsterRunStatus.SUCCESS]), limit=1
        )
    ]
    latest = max((record.end_time or 0.0 for record in done), default=0.0)
    # Covered: loads up to the cursor (the last request), and those before the start of the last reports run
    # that succeeded (`iccs run` makes its own).
    reports = instance.get_run_records(
        dg.RunsFilter(job_name=REPORTS_JOB, statuses=[dg.DagsterRunStatus.SUCCESS]), limit=1
    )
    covered = max([float(context.cursor or 0.0), *(record.start_time or 0.0 for record in reports)])
    if latest <= covered:
        return dg.SkipReason("no load succeeded since the last reports run")
    if any(_pending(instance, job) for job in (SOURCES_JOB, MIRROR_JOB, QUALITY_JOB, REPORTS_JOB)):
        return dg.SkipReason("loads or reports are queued or running: the reports follow once they are done")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(job_name=REPORTS_JOB, run_key=f"reports@{latest}")], cursor=str(latest)
    )


def build_sensors() -> list[dg.SensorDefinition]:
    return [landing_sensor, reports_sensor]
