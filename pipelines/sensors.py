"""The landing-folder sensor: a file added to or changed in a source's folder triggers the load of that file.

The cursor keeps each file's size, modification time and content hash. Size and time decide whether the file
is read at all; the hash decides whether it changed, so a file that is only touched or copied again with the
same content triggers nothing. A file that left the folder (removed, renamed, moved) triggers the mirror job,
which removes its rows, as `iccs run` does, and its partition is deleted.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import dagster as dg

from pipelines.jobs import MIRROR_JOB, SOURCES_JOB, mirror_job, sources_job
from pipelines.partitions import LANDED_FILES, all_files
from pipelines.resources import SourcesConfig

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


@dg.sensor(name="landing_sensor", jobs=[sources_job, mirror_job], minimum_interval_seconds=60,
           default_status=dg.DefaultSensorStatus.STOPPED,
           description="Loads each new or changed file matching a configured source's `files` pattern; removes "
                       "the rows of files that left.")
def landing_sensor(context: dg.SensorEvaluationContext, sources: SourcesConfig) -> dg.SensorResult:
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
    requests = [dg.RunRequest(job_name=SOURCES_JOB, partition_key=key, tags={"iccs/content_sha256": digest})
                for key, digest in changed]
    if gone:  # no run key: the same set of files may leave again later (renamed back and forth)
        requests.insert(0, dg.RunRequest(job_name=MIRROR_JOB))
    partitions = [LANDED_FILES.build_add_request(new_keys)] if new_keys else []
    partitions += [LANDED_FILES.build_delete_request(sorted(set(gone) & known))] if set(gone) & known else []
    return dg.SensorResult(run_requests=requests, dynamic_partitions_requests=partitions,
                           cursor=json.dumps(updated, sort_keys=True))
