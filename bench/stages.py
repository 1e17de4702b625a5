"""Per-stage seconds of an `iccs run`, read back from the Dagster event log and the warehouse's `runs` table.

`iccs run` (run through bench/ours.py) keeps every job run in its Dagster instance, in memory or under
``DAGSTER_HOME``. Within a run, the step's asset materializations mark where one layer ends and the
next begins: the landed-file step yields ``staged_records`` after reading, ``mapped_records`` after
classification and ``source_facts`` after the load, then its checks. So a stage is the time from the previous
mark to the asset's materialization, named by that asset; what is left around the steps is Dagster's own
overhead (planning, event writes, resource setup), and what lies outside every run is the process itself
(interpreter, imports, configuration, pruning, the summary).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

TELEMETRY_OFF = "telemetry:\n  enabled: false\n"


@dataclass(frozen=True)
class Stage:
    job: str
    partition: str | None
    stage: str  # an asset key, "<step> checks", "dagster overhead" ...
    seconds: float

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def prepare_home(home: Path) -> Path:
    """A Dagster instance folder with telemetry off (no network call inside a measurement), its storage already
    created, as a user's `DAGSTER_HOME` is from the second run on (creating it costs a second or more)."""
    import dagster as dg

    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(TELEMETRY_OFF)
    dg.DagsterInstance.from_config(str(home)).dispose()
    return home


def dagster_stages(instance) -> list[Stage]:
    """Every run in ``instance``, in order, cut into stages by its step and materialization events."""
    records = sorted(
        (instance.get_run_record_by_id(run.run_id) for run in instance.get_runs()),
        key=lambda rec: rec.create_timestamp.timestamp(),
    )
    stages: list[Stage] = []
    for record in records:
        stages += _run_stages(instance, record)
    return stages


def _run_stages(instance, record) -> list[Stage]:
    run = record.dagster_run
    job, partition = run.job_name, run.tags.get("dagster/partition")
    events = [
        (e.timestamp, e.dagster_event, e.step_key) for e in instance.all_logs(run.run_id) if e.dagster_event is not None
    ]
    if not events:
        return []
    begin, end = record.create_timestamp.timestamp(), events[-1][0]
    stages: list[Stage] = []
    in_steps = 0.0
    mark = None
    for timestamp, event, step in events:
        kind = event.event_type_value
        if kind == "STEP_START":
            mark = timestamp
        elif kind == "ASSET_MATERIALIZATION" and mark is not None:
            stages.append(Stage(job, partition, event.asset_key.to_user_string(), timestamp - mark))
            in_steps += timestamp - mark
            mark = timestamp
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and mark is not None:
            stages.append(Stage(job, partition, f"{step} checks and outputs", timestamp - mark))
            in_steps += timestamp - mark
            mark = None
    stages.append(Stage(job, partition, "dagster overhead", max(0.0, end - begin - in_steps)))
    return stages


def summarise(stages: list[Stage], process_seconds: float) -> dict[str, float]:
    """Seconds by stage name over all runs, plus what lies outside every run (process start, imports, ...)."""
    totals: dict[str, float] = {}
    for stage in stages:
        name = f"{stage.job}: {stage.stage}"
        totals[name] = totals.get(name, 0.0) + stage.seconds
    totals["outside dagster runs (interpreter, imports, config, prune, summary)"] = max(
        0.0, process_seconds - sum(s.seconds for s in stages)
    )
    return {name: round(seconds, 3) for name, seconds in totals.items()}


def warehouse_runs(warehouse: Path) -> list[dict[str, object]]:
    """The `runs` rows the load wrote: records in, loaded, quarantined and the load's own seconds."""
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = con.execute(
            "SELECT source, file, records_in, records_loaded, records_quarantined, "
            "epoch(finished_at - started_at) FROM runs ORDER BY started_at"
        ).fetchall()
    finally:
        con.close()
    return [
        {
            "source": s,
            "file": f,
            "records_in": n_in,
            "records_loaded": n_ok,
            "records_quarantined": n_q,
            "seconds": round(float(sec), 3),
        }
        for s, f, n_in, n_ok, n_q, sec in rows
    ]
