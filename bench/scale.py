"""The scale benchmark: the warehouse grown 1M → 2M → 4M → … records, one 1M-record file per source, loaded
incrementally (each volume step loads only the new files into the existing warehouse), on the DuckDB file (serial)
and on a DuckLake (catalog in PostgreSQL, data in a local folder) with 1, 2 and 4 worker processes.

    python -m bench.run scale [--volumes 1000000,2000000,4000000] [--file-records 1000000]
                              [--configs file,lake1,lake2,lake4] [--full-reload VOLUME] [--reader-interval 0.5]

Every file is a copy of one cached demo file (`pipelines/demo`, bench/cache/) in a source of its own (`s00`,
`s01`, …): record ids stay unique per source, and `_batches` (pipelines/runner.py) lets different sources load
at once on a lake. A step is ``iccs run --config … --source sNN … --no-reports --warehouse …`` in its own process
(in-memory Dagster instance), with the steps of the configurations interleaved (file, lake1, lake2, lake4 for one
volume, then the next volume) so that the figures compared were taken minutes apart on this shared machine.

Per step: wall and CPU seconds (``os.wait4``, workers included), records/s and seconds per 1M new records; the
peak RSS of the main process and of the largest worker (``VmHWM`` of every process of the tree, sampled from
/proc every 0.2 s); the span of the files' loads and the mean seconds per file from the warehouse's own `runs`
table (the rest of the wall time is interpreter start, the reference job and the data-quality job over the whole
warehouse); and a reader process that, during the step, opens a read-only connection, runs the two report
queries below and closes it, every ``--reader-interval`` seconds: their latency (median, max) and how many
attempts found the warehouse busy. The PostgreSQL server is started by the benchmark (tests/postgres.py's
throwaway server, or the one ``ICCS_TEST_POSTGRES`` names) and removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import yaml

from bench.data import CACHE_DIR, demo_data

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
MB = 1024**2
CONFIGS = {"file": 1, "lake1": 1, "lake2": 2, "lake4": 4}  # configuration -> workers
QUERIES = {
    "section_year": "SELECT * FROM v_counts_by_section_year",
    "area_rates": "SELECT * FROM v_rates WHERE area = ? AND level = 1 ORDER BY year, iccs_code, source",
}


def _ints(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.run scale", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--volumes",
        type=_ints,
        default=[1_000_000, 2_000_000, 4_000_000],
        help="total records after each step, multiples of --file-records (default 1000000,2000000,4000000)",
    )
    parser.add_argument("--file-records", type=int, default=1_000_000, help="records per file (default 1000000)")
    parser.add_argument("--configs", default="file,lake1,lake2,lake4", help=f"some of {', '.join(CONFIGS)}")
    parser.add_argument(
        "--full-reload",
        type=_ints,
        default=[],
        help="volumes also loaded whole into a fresh warehouse per configuration (comma-separated)",
    )
    parser.add_argument("--reader-interval", type=float, default=0.5, help="seconds between reader attempts")
    parser.add_argument("--no-reader", action="store_true", help="no reader during the loads")
    parser.add_argument("--cache", type=Path, default=CACHE_DIR, help="demo data cache (default bench/cache)")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="JSON folder (default bench/results)")
    parser.add_argument("--work", type=Path, help="work folder (default: a temporary folder under --cache)")
    return parser


# ---------------------------------------------------------------------------------------------------------------
# Landing folders and configuration


def source_name(index: int) -> str:
    return f"s{index:02d}"


def prepare_landing(demo_dir: Path, work: Path, files: int) -> Path:
    """``files`` sources of one file each under work/landing (copies of the demo's incidents), the demo's
    correspondence, population and district boundaries beside them, and a sources.yaml naming them all; its path."""
    base = yaml.safe_load((demo_dir / "sources.yaml").read_text(encoding="utf-8"))
    demo = base["sources"].pop("demo_police")
    for name in ("correspondence.csv", "population.csv", "districts.geojson"):
        if not (work / name).exists():
            shutil.copyfile(demo_dir / name, work / name)
    sources = {}
    for i in range(files):
        name = source_name(i)
        target = work / "landing" / name / f"incidents_{name}.csv"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".partial")
            shutil.copyfile(demo_dir / "incidents.csv", partial)
            partial.rename(target)
        sources[name] = {**demo, "description": f"{demo['description']} (copy {i})", "files": f"landing/{name}/*.csv"}
    config = {**base, "sources": sources}
    path = work / "sources.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def first_area(demo_dir: Path) -> str:
    for line in (demo_dir / "population.csv").read_text(encoding="utf-8").splitlines()[1:]:
        area = line.split(",")[1]
        if area:
            return area
    raise RuntimeError(f"{demo_dir / 'population.csv'}: no area")


# ---------------------------------------------------------------------------------------------------------------
# The reader (its own process: `python -m bench.scale reader WAREHOUSE AREA INTERVAL OUT`)


def reader(warehouse: str, area: str, interval: float, out: Path) -> None:
    """Until SIGTERM: open a read-only connection, run the report queries, close; one JSON line per attempt."""
    from warehouse.connection import WarehouseBusyError, connect, locate

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    target = locate(warehouse)
    with out.open("a", encoding="utf-8") as handle:
        while not stop.is_set():
            line: dict[str, object] = {"at": time.time()}
            started = time.perf_counter()
            try:
                with contextlib.closing(connect(target, read_only=True)) as con:
                    line["connect"] = round(time.perf_counter() - started, 4)
                    for name, sql in QUERIES.items():
                        t = time.perf_counter()
                        rows = con.execute(sql, [area] if "?" in sql else []).fetchall()
                        line[name] = round(time.perf_counter() - t, 4)
                        line[f"{name}_rows"] = len(rows)
                line["total"] = round(time.perf_counter() - started, 4)
            except WarehouseBusyError:
                line["busy"] = round(time.perf_counter() - started, 4)
            except Exception as exc:  # not there yet (first step), or a real failure: kept, told in the result
                line["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]
            handle.write(json.dumps(line) + "\n")
            handle.flush()
            stop.wait(interval)


def _reader_summary(path: Path) -> dict[str, object]:
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()] if path.exists() else []
    done = [x for x in lines if "total" in x]
    # before the first step has made the warehouse (its tables, a lake's catalog) a reader finds nothing: not ready
    ready = next((i for i, x in enumerate(lines) if "error" not in x), len(lines))
    errors = [x["error"] for x in lines[ready:] if "error" in x]
    summary: dict[str, object] = {
        "attempts": len(lines) - ready,
        "not_ready": ready,
        "not_ready_examples": sorted({x["error"] for x in lines[:ready]})[:2],
        "answered": len(done),
        "busy": sum(1 for x in lines if "busy" in x),
        "errors": len(errors),
        "error_examples": sorted(set(errors))[:3],
    }
    for name in ("connect", *QUERIES, "total"):
        values = [x[name] for x in done]
        summary[name] = (
            {"median": round(statistics.median(values), 3), "max": round(max(values), 3)} if values else None
        )
    return summary


# ---------------------------------------------------------------------------------------------------------------
# One step: `iccs run` for some sources, with the process tree's memory sampled and a reader running


def _children_of(pid: int) -> set[int]:
    """Every descendant of ``pid`` (from /proc)."""
    parents: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="utf-8", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat[stat.rfind(")") + 2 :].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _hwm_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class TreeSampler(threading.Thread):
    """The peak RSS (VmHWM) of a process and of each of its descendants, sampled every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peaks: dict[int, int] = {}
        self.done = threading.Event()

    def _sample(self) -> None:
        for pid in {self.pid, *_children_of(self.pid)}:
            hwm = _hwm_kib(pid)
            if hwm is not None:
                self.peaks[pid] = max(self.peaks.get(pid, 0), hwm)

    def run(self) -> None:
        while not self.done.is_set():
            self._sample()
            self.done.wait(self.interval)

    def stop(self) -> None:
        self.done.set()
        self.join()


_STEP = re.compile(r" - (\w+) - [0-9a-f-]{36} - \d+ - .*STEP_SUCCESS - Finished execution of step \"(\w+)\" in (.+)\.$")
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h)(?![a-z])")  # 440ms, 38.33s, 2m55s
_UNIT = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


_STAMP = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) [+-]\d{4} - dagster - \w+ - (\w+) - ")


def job_seconds(stderr: list[str]) -> dict[str, object]:
    """Seconds per Dagster job from the runs' console log (``ICCS_LOG_LEVEL=DEBUG``): the reference job, the
    files' loads (``sources_job``, added up over the files and workers) and the data-quality job over the whole
    warehouse; and the span of the loads, first to last line of a ``sources_job`` (1 s resolution)."""
    jobs: dict[str, float] = {}
    steps = 0
    stamps: list[dt.datetime] = []
    for line in stderr:
        stamp = _STAMP.match(line)
        if stamp is not None and stamp.group(2) == "sources_job":
            stamps.append(dt.datetime.strptime(stamp.group(1), "%Y-%m-%d %H:%M:%S"))
        match = _STEP.search(line)
        if match is None:
            continue
        job, _, text = match.groups()
        seconds = sum(float(n) * _UNIT[u] for n, u in _DURATION.findall(text))
        jobs[job] = round(jobs.get(job, 0.0) + seconds, 2)
        steps += 1
    span = (max(stamps) - min(stamps)).total_seconds() if stamps else None
    return {"job_seconds": jobs, "steps_logged": steps, "load_span_seconds": span}


def derive(step: dict[str, object], files: int) -> None:
    """The figures computed from the measured ones: per 1M new records, per file, and the rest of the wall time
    (interpreter start, imports, Dagster, the summary: outside every job's steps)."""
    new = step["new_records"]
    step["records_per_second"] = round(new / step["seconds"]) if step["seconds"] else None
    step["seconds_per_million"] = round(step["seconds"] / (new / 1e6), 2)
    jobs = step.get("job_seconds") or {}
    load = jobs.get("sources_job")
    step["load_seconds_per_file"] = round(load / files, 2) if load and files else None
    span = step.get("load_span_seconds")
    if span is not None:
        rest = jobs.get("reference_job", 0) + span + jobs.get("quality_job", 0)
        step["other_seconds"] = round(step["seconds"] - rest, 1)


def _env(lake_data: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "ICCS_WAREHOUSE", "ICCS_WORKERS")}
    env["PYTHONPATH"] = str(ROOT)
    env["ICCS_LOG_LEVEL"] = "DEBUG"  # each step's duration, read back by job_seconds
    if lake_data is not None:
        env["ICCS_LAKE_DATA"] = str(lake_data)
    return env


def run_step(
    config: Path,
    warehouse: str,
    sources: list[str],
    workers: int,
    log: Path,
    lake_data: Path | None,
    reader_args: tuple[str, float] | None,
) -> dict[str, object]:
    """``iccs run`` loading ``sources`` into ``warehouse``; its figures (see the module's docstring)."""
    command = [sys.executable, "-m", "pipelines.cli", "run", "--config", str(config), "--no-reports"]
    command += ["--warehouse", warehouse, "--workers", str(workers)]
    for name in sources:
        command += ["--source", name]
    env = _env(lake_data)
    reader_out = log.with_suffix(".reader.jsonl")
    reader_proc = None
    if reader_args is not None:
        area, interval = reader_args
        reader_proc = subprocess.Popen(
            [sys.executable, "-m", "bench.scale", "reader", warehouse, area, str(interval), str(reader_out)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.with_suffix(".reader.err").open("w"),
        )
    load_before = round(os.getloadavg()[0], 2)
    with log.with_suffix(".out").open("w") as out, log.with_suffix(".err").open("w") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:  # the benchmark was stopped: so is the step, workers included
            workers = _children_of(proc.pid)
            proc.terminate()
            for pid in workers:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGTERM)
            proc.wait()
            if reader_proc is not None:
                reader_proc.kill()
            raise
        seconds = time.perf_counter() - started
        sampler.stop()
    if reader_proc is not None:
        reader_proc.send_signal(signal.SIGTERM)
        try:
            reader_proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            reader_proc.kill()
            reader_proc.wait()
    returncode = os.waitstatus_to_exitcode(status)
    workers_peak = [kib for pid, kib in sampler.peaks.items() if pid != proc.pid]
    stderr = log.with_suffix(".err").read_text(errors="replace").strip().splitlines()
    stdout = log.with_suffix(".out").read_text(errors="replace").strip().splitlines()
    problems = [x for x in stderr if "STEP_FAILURE" in x or "Error" in x or x.startswith("iccs")][:3]
    return {
        **job_seconds(stderr),
        "command": " ".join(command),
        "returncode": returncode,
        "failure": None if returncode == 0 else [*problems, *(stdout or ["(no output)"])[-3:]],
        "seconds": round(seconds, 2),
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
        "load_average_before": load_before,
        "peak_rss_main_mb": round(sampler.peaks.get(proc.pid, 0) / 1024),
        "peak_rss_largest_worker_mb": round(max(workers_peak) / 1024) if workers_peak else None,
        "worker_processes": len(workers_peak),
        "peak_rss_tree_max_mb": round(usage.ru_maxrss / 1024),  # wait4: max of the process and its reaped children
        "reader": _reader_summary(reader_out) if reader_args is not None else None,
    }


def warehouse_figures(warehouse: str, sources: list[str]) -> dict[str, object]:
    """The step's file loads from the warehouse's `runs` table and the totals it holds now."""
    from warehouse.connection import connect, locate

    marks = ", ".join(f"'{s}'" for s in sources)
    with contextlib.closing(connect(locate(warehouse), read_only=True)) as con:
        runs = con.execute(
            f"""SELECT source, status, records_in, records_loaded, records_quarantined,
                       epoch(finished_at) - epoch(started_at), epoch(started_at), epoch(finished_at)
                FROM v_latest_runs WHERE source IN ({marks}) ORDER BY source"""
        ).fetchall()
        offences = con.execute("SELECT count(*) FROM offences").fetchone()[0]
        quarantine = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    durations = [r[5] for r in runs]
    return {
        "files_loaded": sum(1 for r in runs if r[1] == "loaded"),
        "statuses": sorted({r[1] for r in runs}),
        "records_in": sum(r[2] or 0 for r in runs),
        "records_loaded": sum(r[3] or 0 for r in runs),
        "file_seconds_mean": round(statistics.mean(durations), 2) if durations else None,
        "file_seconds_max": round(max(durations), 2) if durations else None,
        "files_span_seconds": round(max(r[7] for r in runs) - min(r[6] for r in runs), 2) if runs else None,
        "warehouse_offences": offences,
        "warehouse_quarantine": quarantine,
    }


def storage_figures(name: str, target: dict[str, object], server: object | None) -> dict[str, object]:
    """How big the warehouse is now: the DuckDB file; or the lake's Parquet files and its catalog database."""
    if name == "file":
        path = Path(str(target["warehouse"]))
        size = path.stat().st_size if path.exists() else 0
        return {"file_mb": round(size / MB)}
    data = Path(str(target["lake_data"]))
    files = [p for p in data.rglob("*") if p.is_file()] if data.exists() else []
    figures: dict[str, object] = {
        "data_files": len(files),
        "data_mb": round(sum(p.stat().st_size for p in files) / MB),
    }
    if server is not None:
        dbname = str(target["dbname"])
        with contextlib.suppress(Exception):
            figures["catalog_mb"] = round(int(server.query(f"SELECT pg_database_size('{dbname}')")) / MB, 1)
            figures["snapshots"] = int(
                server.query("SELECT count(*) FROM ducklake_snapshot", dbname=dbname)  # the catalog's own table
            )
    return figures


# ---------------------------------------------------------------------------------------------------------------
# The whole benchmark


def _new_target(name: str, work: Path, server: object | None, label: str) -> dict[str, object]:
    if name == "file":
        return {"warehouse": str(work / f"{label}.duckdb"), "lake_data": None}
    conninfo = server.create_database(prefix=f"iccs_bench_{label}")
    from tests.postgres import parse_conninfo

    return {
        "warehouse": f"ducklake:postgres:{conninfo}",
        "lake_data": str(work / f"{label}-data"),
        "dbname": parse_conninfo(conninfo)["dbname"],
    }


def _step_record(
    name: str,
    target: dict[str, object],
    server: object | None,
    config: Path,
    sources: list[str],
    file_records: int,
    log: Path,
    reader_args: tuple[str, float] | None,
) -> dict[str, object]:
    lake_data = Path(str(target["lake_data"])) if target["lake_data"] else None
    step = run_step(config, str(target["warehouse"]), sources, CONFIGS[name], log, lake_data, reader_args)
    if step["returncode"] == 0:
        try:
            step.update(warehouse_figures(str(target["warehouse"]), sources))
        except Exception as exc:  # the figures are a by-product: a failure to read them is told, not fatal
            step["figures_error"] = f"{type(exc).__name__}: {exc}"
    step["storage"] = storage_figures(name, target, server)
    step["new_records"] = len(sources) * file_records
    step["new_files"] = len(sources)
    derive(step, len(sources))
    return step


def run_scale(args: argparse.Namespace) -> dict[str, object]:
    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    bad = [n for n in names if n not in CONFIGS]
    volumes = sorted(set(args.volumes))
    if bad or not names or not volumes or any(v % args.file_records or v <= 0 for v in volumes):
        raise SystemExit(
            f"bad options: configs {names} (known: {', '.join(CONFIGS)}), volumes {volumes} must be positive "
            f"multiples of --file-records {args.file_records}"
        )
    manifest, _ = demo_data(args.file_records, "csv", cache_dir=args.cache)
    demo_dir = manifest.incidents_path.parent
    started = dt.datetime.now(dt.UTC)
    result: dict[str, object] = {
        "started": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "options": {
            "volumes": volumes,
            "file_records": args.file_records,
            "configs": names,
            "full_reload": args.full_reload,
            "reader_interval": None if args.no_reader else args.reader_interval,
        },
        "file_valid_records": manifest.valid_records,
        "steps": [],
        "full_reloads": [],
    }
    reader_args = None if args.no_reader else (first_area(demo_dir), args.reader_interval)
    with contextlib.ExitStack() as stack:
        if args.work is not None:
            work = args.work
            work.mkdir(parents=True, exist_ok=True)
        else:
            args.cache.mkdir(parents=True, exist_ok=True)
            work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="scale-", dir=args.cache)))
        server = None
        if any(n != "file" for n in names):
            from tests.postgres import postgres_server

            server = stack.enter_context(postgres_server())
            result["machine"]["postgresql"] = server.query("SHOW server_version")
        logs = work / "logs"
        logs.mkdir(exist_ok=True)
        # every step's console log (Dagster's step lines with their times) is kept beside the JSON, even if stopped
        stack.callback(shutil.copytree, logs, args.results / f"scale-{started:%Y%m%d-%H%M%S}-logs", dirs_exist_ok=True)
        config = prepare_landing(demo_dir, work, max(volumes) // args.file_records)
        targets = {name: _new_target(name, work, server, name) for name in names}
        loaded = 0
        for volume in volumes:
            files = volume // args.file_records
            sources = [source_name(i) for i in range(loaded, files)]
            if not sources:
                continue
            for name in names:
                print(
                    f"scale: {name} -> {volume:,} records ({len(sources)} new files) ...", file=sys.stderr, flush=True
                )
                step = _step_record(
                    name,
                    targets[name],
                    server,
                    config,
                    sources,
                    args.file_records,
                    logs / f"{name}-{volume}",
                    reader_args,
                )
                result["steps"].append({"config": name, "workers": CONFIGS[name], "volume": volume, **step})
                _save(result, args.results, started)
                print("scale:   " + _brief(step), file=sys.stderr, flush=True)
            loaded = files
        for volume in sorted(set(args.full_reload)):
            sources = [source_name(i) for i in range(volume // args.file_records)]
            for name in names:
                print(f"scale: full reload {name} {volume:,} records ...", file=sys.stderr, flush=True)
                target = _new_target(name, work, server, f"{name}_full{volume}")
                step = _step_record(
                    name, target, server, config, sources, args.file_records, logs / f"{name}-full{volume}", reader_args
                )
                result["full_reloads"].append({"config": name, "workers": CONFIGS[name], "volume": volume, **step})
                _save(result, args.results, started)
                print("scale:   " + _brief(step), file=sys.stderr, flush=True)
                if name == "file":
                    Path(str(target["warehouse"])).unlink(missing_ok=True)
                else:
                    shutil.rmtree(str(target["lake_data"]), ignore_errors=True)
    result["seconds"] = round((dt.datetime.now(dt.UTC) - started).total_seconds(), 1)
    result["flatness"] = flatness(result["steps"])
    _save(result, args.results, started)
    return result


def _brief(step: dict[str, object]) -> str:
    if step["returncode"] != 0:
        return f"FAILED ({step['returncode']}): {' | '.join(step['failure'] or [])}"
    return f"{step['seconds']} s, {step['seconds_per_million']} s/1M, main {step['peak_rss_main_mb']} MB"


def flatness(steps: list[dict[str, object]]) -> dict[str, object]:
    """Seconds per 1M new records at the largest step over the first, per configuration (1.0 = flat)."""
    out: dict[str, object] = {}
    for name in dict.fromkeys(s["config"] for s in steps):
        ok = [s for s in steps if s["config"] == name and s["returncode"] == 0]
        if len(ok) >= 2:
            first, last = ok[0], ok[-1]
            out[name] = {
                "from_volume": first["volume"],
                "to_volume": last["volume"],
                "ratio": round(last["seconds_per_million"] / first["seconds_per_million"], 2),
            }
    return out


def machine() -> dict[str, object]:
    import platform

    import duckdb

    memory = None
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
    disk = shutil.disk_usage(ROOT)
    return {
        "cpus": os.cpu_count(),
        "memory_bytes": memory,
        "disk_free_bytes": disk.free,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "load_average": round(os.getloadavg()[0], 2),
    }


def _save(result: dict[str, object], folder: Path, started: dt.datetime) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result, indent=1, default=str)
    (folder / f"scale-{started:%Y%m%d-%H%M%S}.json").write_text(text + "\n")
    (folder / "scale-latest.json").write_text(text + "\n")


# ---------------------------------------------------------------------------------------------------------------
# The table


def _ms(part: dict[str, float] | None) -> str:
    return "—" if not part else f"{part['median'] * 1000:.0f} / {part['max'] * 1000:.0f}"


def _row(s: dict[str, object], label: str) -> str:
    if s["returncode"] != 0:
        return f"| {label} | {s['volume'] / 1e6:g}M | FAILED: {' '.join(s['failure'] or [])[:200]} |"
    r = s.get("reader") or {}
    worker = s["peak_rss_largest_worker_mb"]  # None: the files loaded in the main process
    jobs = s.get("job_seconds") or {}
    files = f"{s.get('load_seconds_per_file', '—')} / {s.get('load_span_seconds', '—')}"
    split = f"{jobs.get('reference_job', 0):.1f} / {jobs.get('quality_job', 0):.1f} / {s.get('other_seconds', '—')}"
    return (
        f"| {label} | {s['volume'] / 1e6:g}M | +{s['new_records'] / 1e6:g}M | {s['seconds']:.1f} | "
        f"{s['cpu_seconds']:.0f} | {s['records_per_second'] / 1e3:.0f}k | {s['seconds_per_million']:.1f} | "
        f"{files} | {split} | {s['peak_rss_main_mb']} | {worker if worker else '—'} | "
        f"{_ms(r.get('section_year'))} | {_ms(r.get('area_rates'))} | "
        f"{r.get('answered', '—')}/{r.get('attempts', '—')}, busy {r.get('busy', '—')}, err {r.get('errors', '—')} |"
    )


HEADER = (
    "| config | volume | new | wall s | CPU s | records/s | s per 1M new | load s per file / load span s "
    "| reference / quality job / other s | RSS main MB | "
    "RSS largest worker MB | section×year ms med / max | area rates ms med / max | reader answered/attempts |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def table(result: dict[str, object]) -> str:
    lines = [HEADER]
    for s in sorted(result["steps"], key=lambda s: (list(CONFIGS).index(s["config"]), s["volume"])):
        lines.append(_row(s, s["config"]))
    for s in result["full_reloads"]:
        lines.append(_row(s, f"{s['config']} full reload"))
    flat = result.get("flatness") or {}
    if flat:
        lines.append("")
        lines.append(
            "seconds per 1M new records, largest step / first step: "
            + "; ".join(
                f"{k} {v['ratio']}× ({v['from_volume'] / 1e6:g}M → {v['to_volume'] / 1e6:g}M)" for k, v in flat.items()
            )
        )
    return "\n".join(lines)


def rederive(path: Path) -> dict[str, object]:
    """A saved result with its derived figures computed again from the step logs kept beside it."""
    result = json.loads(path.read_text(encoding="utf-8"))
    logs = path.with_name(path.stem + "-logs")
    for kind, steps in (("", result["steps"]), ("full", result["full_reloads"])):
        for step in steps:
            log = logs / f"{step['config']}-{kind}{step['volume']}.err"
            if log.exists():
                step.update(job_seconds(log.read_text(errors="replace").splitlines()))
            files = step.get("new_files") or step["new_records"] // result["options"]["file_records"]
            step.setdefault("new_files", files)
            derive(step, files)
    result["flatness"] = flatness(result["steps"])
    return result


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["reader"]:
        warehouse, area, interval, out = argv[1:5]
        reader(warehouse, area, float(interval), Path(out))
        return 0
    if argv[:1] == ["table"]:  # `table RESULT.json`: the table again, figures derived anew from the kept logs
        print(table(rederive(Path(argv[1]))))
        return 0
    args = _parser().parse_args(argv)

    def stopped(*_: object) -> None:  # SIGTERM: leave through the finally blocks (PostgreSQL stopped, work removed)
        raise SystemExit(f"scale: stopped by SIGTERM; the steps measured so far are in {args.results}")

    signal.signal(signal.SIGTERM, stopped)
    result = run_scale(args)
    print(table(result))
    failed = [s for s in [*result["steps"], *result["full_reloads"]] if s["returncode"] != 0]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
