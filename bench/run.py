"""The benchmark: floor, ours and baseline side by side on the same demo data, each in its own process.

    python -m bench.run [--sizes 1000000,10000000] [--formats csv,parquet] [--skip-baseline] [--skip-reports]
                        [--repeat N]
    python -m bench.run scale [--volumes 1000000,2000000,4000000] …   (bench/scale.py: growing volumes, file
                                                                       backend and DuckLake with 1, 2, 4 workers)

For every size and format: the cached demo data (generated on first use, bench/cache/), then
- floor: DuckDB's bare load of the same file into a table of a new file database (bench/floor.py);
- ours: ``iccs run --config … --no-reports --warehouse <tmp>``, as a user runs it (through bench/ours.py,
  which calls the same ``pipelines.cli.main``), cut into stages from the Dagster event log (bench/stages.py);
- reports: ``iccs report --warehouse <tmp> --reports <tmp>`` over the warehouse ours just wrote;
- baseline: pandas + merge + pandera + DuckDB (bench/baseline.py).
Each process's peak RSS comes from ``os.wait4``. Wall seconds are the median over ``--repeat`` runs, peak RSS
the maximum. The table is printed and the whole result written to bench/results/bench-<time>.json (and
latest.json). The machine is shared: the load average before each process is recorded next to its figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.data import CACHE_DIR, cache_key, demo_data, generator_version
from bench.measure import Measured, run_measured
from bench.stages import Stage, prepare_home, summarise, warehouse_runs

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
GB = 1024**3
# The targets, checked on the largest CSV size measured.
TARGETS = {
    "ours_over_floor_max": 1.5,
    "baseline_over_ours_min": 4.0,
    "ours_peak_rss_gb_max": 1.5,
    "rss_growth_max": 1.5,
    "reports_seconds_max": 15.0,
}


def _sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=[1_000_000, 10_000_000],
        help="records per input, comma-separated (default 1000000,10000000)",
    )
    parser.add_argument("--formats", default="csv,parquet", help="csv, parquet or both (default csv,parquet)")
    parser.add_argument("--repeat", type=int, default=1, help="measure each case N times (median seconds)")
    parser.add_argument("--skip-baseline", action="store_true", help="do not run the pandas + pandera baseline")
    parser.add_argument("--skip-reports", action="store_true", help="do not time `iccs report`")
    parser.add_argument(
        "--dagster-home",
        choices=("ephemeral", "persistent"),
        default="ephemeral",
        help="ephemeral: `iccs run` without DAGSTER_HOME (default); persistent: a DAGSTER_HOME "
        "with SQLite storage, as `make run` gives (about 1.7 s more here)",
    )
    parser.add_argument("--cache", type=Path, default=CACHE_DIR, help="demo data cache (default bench/cache)")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR, help="JSON folder (default bench/results)")
    return parser


# ---------------------------------------------------------------------------------------------------------------
# The measured processes


def _iccs() -> list[str]:
    """The `iccs` command (the console script calls the same ``pipelines.cli.main``), run from this checkout so
    the benchmark measures the code beside it, not whichever copy is installed."""
    return [sys.executable, "-m", "pipelines.cli"]


def _warm(path: Path) -> None:
    """Read the input once so every contender starts with it in the page cache, not only the second one."""
    with path.open("rb") as handle:
        while handle.read(16 * 1024 * 1024):
            pass


def _figures(m: Measured, records: int) -> dict[str, object]:
    return {
        "seconds": round(m.seconds, 3),
        "records_per_second": round(records / m.seconds) if m.seconds else None,
        "cpu_seconds": round(m.user_seconds + m.system_seconds, 3),
        "peak_rss_bytes": m.peak_rss_bytes,
        "returncode": m.returncode,
    }


def _json_line(m: Measured) -> dict[str, object]:
    lines = [line for line in m.stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else {}


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def measure_floor(data: Path, work: Path, records: int) -> dict[str, object]:
    load = _load()
    m = run_measured(
        [sys.executable, "-m", "bench.floor", str(data), str(work / "floor.duckdb")], cwd=ROOT, log=work / "floor"
    )
    if not m.ok:
        raise RuntimeError(m.failure())
    inner = _json_line(m)
    return {
        **_figures(m, records),
        "load_average": load,
        "load_seconds": round(inner["seconds"], 3),
        "rows": inner["rows"],
        "reader": inner["reader"],
    }


def measure_ours(config: Path, work: Path, records: int, dagster_home: str) -> dict[str, object]:
    """`iccs run --no-reports` through bench/ours.py, which also returns the Dagster stages of the run."""
    warehouse, stages_path = work / "warehouse.duckdb", work / "stages.json"
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}
    if dagster_home == "persistent":
        env["DAGSTER_HOME"] = str(prepare_home(work / "dagster_home"))
    load = _load()
    m = run_measured(
        [
            sys.executable,
            "-m",
            "bench.ours",
            str(stages_path),
            "run",
            "--config",
            str(config),
            "--no-reports",
            "--warehouse",
            str(warehouse),
        ],
        env=env,
        cwd=ROOT,
        log=work / "ours",
    )
    if not m.ok:
        raise RuntimeError(m.failure())
    found = json.loads(stages_path.read_text())
    stages = [Stage(**s) for s in found["stages"]]
    # Reading the event log happened inside the measured process, after the command: not the command's time.
    seconds = m.seconds - found["extraction_seconds"]
    m = dataclasses.replace(m, seconds=seconds)
    runs = warehouse_runs(warehouse)
    return {
        **_figures(m, records),
        "load_average": load,
        "dagster_home": dagster_home,
        "stages": summarise(stages, seconds),
        "stage_detail": [s.as_dict() for s in stages],
        "records_in": sum(r["records_in"] for r in runs),
        "records_loaded": sum(r["records_loaded"] for r in runs),
        "records_quarantined": sum(r["records_quarantined"] for r in runs),
        "runs": runs,
        "summary": m.stdout.strip().splitlines(),
    }


def measure_reports(work: Path, records: int) -> dict[str, object]:
    load = _load()
    m = run_measured(
        [*_iccs(), "report", "--warehouse", str(work / "warehouse.duckdb"), "--reports", str(work / "reports")],
        cwd=ROOT,
        log=work / "reports",
    )
    if not m.ok:
        raise RuntimeError(m.failure())
    return {
        **_figures(m, records),
        "load_average": load,
        "pages": sorted(p.name for p in (work / "reports").glob("*.html")),
    }


def measure_baseline(config: Path, work: Path, records: int) -> dict[str, object]:
    load = _load()
    m = run_measured(
        [sys.executable, "-m", "bench.baseline", str(config), str(work / "baseline.duckdb")],
        cwd=ROOT,
        log=work / "baseline",
    )
    if not m.ok:
        raise RuntimeError(m.failure())
    inner = _json_line(m)
    return {
        **_figures(m, records),
        "load_average": load,
        "stages": inner["seconds"],
        "rows": inner["rows"],
        "records_loaded": inner["loaded"],
        "records_quarantined": inner["quarantined"],
        "reasons": inner["reasons"],
    }


def measure_imports() -> dict[str, object]:
    """What importing the pipeline costs a process before it reads a byte (included in every `iccs run`)."""
    m = run_measured([sys.executable, "-c", "import pipelines.cli, pipelines.runner"], cwd=ROOT)
    bare = run_measured([sys.executable, "-c", "import duckdb"], cwd=ROOT)
    return {
        "pipeline_import_seconds": round(m.seconds, 3),
        "pipeline_import_peak_rss_bytes": m.peak_rss_bytes,
        "python_duckdb_import_seconds": round(bare.seconds, 3),
    }


# ---------------------------------------------------------------------------------------------------------------
# One case (size x format), repeated


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def _combine(reps: list[dict[str, object]], records: int) -> dict[str, object]:
    """Median seconds and maximum peak RSS over the repeats; the first repeat's other details."""
    first = dict(reps[0])
    seconds = _median([r["seconds"] for r in reps])
    first.update(
        seconds=seconds,
        records_per_second=round(records / seconds) if seconds else None,
        cpu_seconds=_median([r["cpu_seconds"] for r in reps]),
        peak_rss_bytes=max(r["peak_rss_bytes"] for r in reps),
        seconds_each=[r["seconds"] for r in reps],
    )
    if "stages" in first:
        names = list(first["stages"])
        first["stages"] = {n: _median([r["stages"].get(n, 0.0) for r in reps]) for n in names}
    return first


def run_case(records: int, fmt: str, args: argparse.Namespace, work_root: Path) -> dict[str, object]:
    manifest, generated = demo_data(records, fmt, cache_dir=args.cache)
    data, config = manifest.incidents_path, manifest.config_path
    _warm(data)
    parts: dict[str, list[dict[str, object]]] = {"floor": [], "ours": [], "reports": [], "baseline": []}
    for _ in range(args.repeat):
        work = Path(tempfile.mkdtemp(prefix="run-", dir=work_root))
        try:
            parts["floor"].append(measure_floor(data, work, manifest.records))
            parts["ours"].append(measure_ours(config, work, manifest.records, args.dagster_home))
            if not args.skip_reports:
                parts["reports"].append(measure_reports(work, manifest.records))
            if not args.skip_baseline:
                parts["baseline"].append(measure_baseline(config, work, manifest.records))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    case: dict[str, object] = {
        "records": records,
        "format": fmt,
        "input_bytes": data.stat().st_size,
        "input_records": manifest.records,
        "expected_loaded": manifest.valid_records,
        "expected_quarantined": sum(manifest.expected_quarantine.values()),
        "cache_key": cache_key(records, fmt),
        "generated_now": generated,
        "repeat": args.repeat,
    }
    for name, reps in parts.items():
        case[name] = _combine(reps, manifest.records) if reps else None
    floor, ours, baseline = case["floor"], case["ours"], case["baseline"]
    case["ratios"] = {
        "ours_over_floor": round(ours["seconds"] / floor["seconds"], 2),
        "baseline_over_ours": round(baseline["seconds"] / ours["seconds"], 2) if baseline else None,
        "ours_rss_over_floor_rss": round(ours["peak_rss_bytes"] / floor["peak_rss_bytes"], 2),
    }
    return case


# ---------------------------------------------------------------------------------------------------------------
# Targets, table, JSON


def evaluate(cases: list[dict[str, object]]) -> dict[str, object]:
    """The issue's targets on the largest CSV case (and the RSS growth from the smallest CSV case)."""
    csv = sorted((c for c in cases if c["format"] == "csv"), key=lambda c: c["records"])
    if not csv:
        return {}
    big, small = csv[-1], csv[0]
    ours_gb = big["ours"]["peak_rss_bytes"] / GB
    growth = big["ours"]["peak_rss_bytes"] / small["ours"]["peak_rss_bytes"]
    checks = {
        "ours_over_floor": (
            big["ratios"]["ours_over_floor"],
            f"<= {TARGETS['ours_over_floor_max']}",
            big["ratios"]["ours_over_floor"] <= TARGETS["ours_over_floor_max"],
        ),
        "ours_peak_rss_gb": (
            round(ours_gb, 2),
            f"<= {TARGETS['ours_peak_rss_gb_max']}",
            ours_gb <= TARGETS["ours_peak_rss_gb_max"],
        ),
        "ours_peak_rss_growth": (
            round(growth, 2),
            f"<= {TARGETS['rss_growth_max']} ({big['records']:,} vs {small['records']:,} records)",
            growth <= TARGETS["rss_growth_max"] if big is not small else None,
        ),
    }
    if big["ratios"]["baseline_over_ours"] is not None:
        ratio = big["ratios"]["baseline_over_ours"]
        checks["baseline_over_ours"] = (
            ratio,
            f">= {TARGETS['baseline_over_ours_min']}",
            ratio >= TARGETS["baseline_over_ours_min"],
        )
    if big["reports"] is not None:
        seconds = big["reports"]["seconds"]
        checks["reports_seconds"] = (
            seconds,
            f"<= {TARGETS['reports_seconds_max']}",
            seconds <= TARGETS["reports_seconds_max"],
        )
    return {
        "records": big["records"],
        "format": "csv",
        "checks": {k: {"value": v, "target": t, "met": met} for k, (v, t, met) in checks.items()},
    }


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() + ("+uncommitted" if dirty.stdout.strip() else "") if out.returncode == 0 else None


def machine() -> dict[str, object]:
    import duckdb

    memory = None
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
    return {
        "cpus": os.cpu_count(),
        "memory_bytes": memory,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "load_average": _load(),
    }


def _rate(value: float | None) -> str:
    return "" if not value else f"{value / 1e6:6.2f} M/s"


def _row(label: str, part: dict[str, object] | None) -> str:
    if part is None:
        return f"  {label:<30} (skipped)"
    return (
        f"  {label:<30} {part['seconds']:8.2f} s {_rate(part['records_per_second']):>11} "
        f"{part['peak_rss_bytes'] / GB:7.2f} GB   (cpu {part['cpu_seconds']:.1f} s, load {part['load_average']})"
    )


def _stages_line(stages: dict[str, float]) -> str:
    return "; ".join(f"{name} {seconds:.2f}" for name, seconds in stages.items())


def table(result: dict[str, object]) -> str:
    lines = []
    for case in result["cases"]:
        lines.append(
            f"{case['records']:,} records, {case['format']} ({case['input_bytes'] / 1e6:,.0f} MB)"
            f"{'  x' + str(case['repeat']) if case['repeat'] > 1 else ''}"
        )
        lines.append(_row("floor (DuckDB bare load)", case["floor"]))
        lines.append(_row("ours (iccs run --no-reports)", case["ours"]))
        lines.append("      stages (s): " + _stages_line(case["ours"]["stages"]))
        lines.append(
            f"      loaded {case['ours']['records_loaded']:,} (expected {case['expected_loaded']:,}), "
            f"quarantined {case['ours']['records_quarantined']:,} "
            f"(expected {case['expected_quarantined']:,})"
        )
        lines.append(_row("reports (iccs report)", case["reports"]))
        lines.append(_row("baseline (pandas + pandera)", case["baseline"]))
        if case["baseline"]:
            lines.append("      stages (s): " + _stages_line(case["baseline"]["stages"]))
        ratios = case["ratios"]
        lines.append(
            f"  ours/floor {ratios['ours_over_floor']:.2f}x"
            + (f", baseline/ours {ratios['baseline_over_ours']:.2f}x" if ratios["baseline_over_ours"] else "")
        )
        lines.append("")
    targets = result.get("targets") or {}
    if targets:
        lines.append(f"targets at {targets['records']:,} records (csv):")
        for name, check in targets["checks"].items():
            mark = {True: "met", False: "NOT MET", None: "n/a (one size)"}[check["met"]]
            lines.append(f"  {name:<22} {check['value']!s:>8}  target {check['target']:<40} {mark}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["scale"]:  # the scale benchmark (bench/scale.py): `make bench BENCH_ARGS="scale …"`
        from bench import scale

        return scale.main(argv[1:])
    args = _parser().parse_args(argv)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = sorted(set(formats) - {"csv", "parquet"})
    if unknown or not formats or not args.sizes or args.repeat < 1:
        _parser().error(f"bad options: formats {formats}, sizes {args.sizes}, repeat {args.repeat}")
    started = dt.datetime.now()
    result: dict[str, object] = {
        "started": started.isoformat(timespec="seconds"),
        "git": _git_commit(),
        "generator_version": generator_version(),
        "machine": machine(),
        "options": {
            "sizes": args.sizes,
            "formats": formats,
            "repeat": args.repeat,
            "dagster_home": args.dagster_home,
            "skip_baseline": args.skip_baseline,
            "skip_reports": args.skip_reports,
        },
        "imports": measure_imports(),
        "cases": [],
    }
    args.cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="work-", dir=args.cache) as work_root:
        for records in args.sizes:
            for fmt in formats:
                print(f"measuring {records:,} records, {fmt} ...", file=sys.stderr, flush=True)
                result["cases"].append(run_case(records, fmt, args, Path(work_root)))
    result["targets"] = evaluate(result["cases"])
    result["seconds"] = round((dt.datetime.now() - started).total_seconds(), 1)
    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"bench-{started:%Y%m%d-%H%M%S}.json"
    text = json.dumps(result, indent=1)
    path.write_text(text + "\n")
    (args.results / "latest.json").write_text(text + "\n")
    print(table(result))
    print(
        f"\nimports: pipeline {result['imports']['pipeline_import_seconds']:.2f} s, "
        f"python + duckdb {result['imports']['python_duckdb_import_seconds']:.2f} s"
    )
    print(f"results: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
