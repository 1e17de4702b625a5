"""The benchmark: floor, ours and the pandas and Polars baselines side by side, per shape, each in its own process.

    python -m bench.run [--shapes 50x40,5000x300,50000x300,demo] [--sizes 1000000,10000000]
                        [--formats csv,parquet] [--skip-baseline] [--skip-polars] [--skip-reports] [--repeat N]
    python -m bench.run table RESULT.json [RESULT.json …]               (the table of earlier results, merged)
    python -m bench.run scale [--volumes 1000000,2000000,4000000] …   (bench/scale.py: growing volumes, file
                                                                       backend and DuckLake with 1, 2, 4 workers)

For every shape, size and format: the cached input (generated on first use, bench/cache/): a shape
``AREASxCODES`` is N records over that many areas and national codes (bench/shapes.py), ``demo`` the demo
country of ``pipelines/demo`` (bench/data.py); then
- floor: DuckDB's bare load of the same file into a table of a new file database (bench/floor.py);
- ours: ``iccs run --config … --no-reports --warehouse <tmp>``, as a user runs it (through bench/ours.py,
  which calls the same ``pipelines.cli.main``), cut into stages from the Dagster event log (bench/stages.py);
- reports: ``iccs report --warehouse <tmp> --reports <tmp>`` over the warehouse ours just wrote;
- baseline: pandas + merge + pandera + DuckDB (bench/baseline.py);
- polars: Polars + join + pandera's Polars backend + DuckDB through Arrow (bench/baseline_polars.py).
Each process's peak RSS comes from ``os.wait4``. Wall seconds are the median over ``--repeat`` runs, peak RSS
the maximum. The table is printed and the whole result written to bench/results/bench-<time>.json (and
latest.json). The machine is shared: the load average before each process is recorded next to its figures.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import importlib.util
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import shapes
from bench.data import CACHE_DIR, cache_key, demo_data, generator_version
from bench.measure import Measured, run_measured
from bench.stages import Stage, prepare_home, summarise, warehouse_runs

ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = Path(__file__).resolve().parent / "results"
GB = 1024**3
DEFAULT_SHAPES = "50x40,5000x300,50000x300"
# The targets, checked for every shape on the largest CSV size measured.
TARGETS = {
    "ours_over_floor_max": 1.5,
    "baseline_over_ours_min": 4.0,
    "polars_over_ours_min": 1.0,
    "ours_peak_rss_gb_max": 1.5,
    "rss_growth_max": 1.5,
    "reports_seconds_max": 15.0,
}


def _sizes(text: str) -> list[int]:
    return [int(part.replace("_", "")) for part in text.split(",") if part.strip()]


def _shapes(text: str) -> list[str]:
    labels = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        labels.append("demo" if part == "demo" else shapes.Shape.parse(part).label)
    return labels


def polars_missing() -> str | None:
    """Why the Polars baseline cannot run here, or None."""
    for module in ("polars", "pandera.polars"):
        try:
            if importlib.util.find_spec(module) is None:
                return f"{module} is not installed (pip install polars 'pandera[polars]')"
        except ImportError as exc:
            return f"{module} cannot be imported: {exc}"
    return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shapes",
        type=_shapes,
        default=_shapes(DEFAULT_SHAPES),
        help=f"AREASxCODES inputs (bench/shapes.py) and/or 'demo' (the demo country), comma-separated "
        f"(default {DEFAULT_SHAPES})",
    )
    parser.add_argument(
        "--sizes",
        type=_sizes,
        default=[1_000_000, 10_000_000],
        help="records per input, comma-separated (default 1000000,10000000)",
    )
    parser.add_argument("--formats", default="csv,parquet", help="csv, parquet or both (default csv,parquet)")
    parser.add_argument("--repeat", type=int, default=1, help="measure each case N times (median seconds)")
    parser.add_argument("--skip-baseline", action="store_true", help="do not run the pandas + pandera baseline")
    parser.add_argument("--skip-polars", action="store_true", help="do not run the Polars + pandera baseline")
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
        # A failed contender is recorded, not fatal: the run goes on and the table says FAILED.
        "failure": None if m.ok else m.failure(),
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
    inner = _json_line(m) if m.ok else {}
    return {
        **_figures(m, records),
        "load_average": load,
        "load_seconds": round(inner["seconds"], 3) if inner else None,
        "rows": inner.get("rows"),
        "reader": inner.get("reader"),
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
    # bench/ours.py writes the stages whatever the command's exit code (a failed check still ran its jobs).
    found = json.loads(stages_path.read_text()) if stages_path.is_file() else {"stages": [], "extraction_seconds": 0}
    stages = [Stage(**s) for s in found["stages"]]
    # Reading the event log happened inside the measured process, after the command: not the command's time.
    seconds = m.seconds - found["extraction_seconds"]
    m = dataclasses.replace(m, seconds=seconds)
    try:
        runs = warehouse_runs(warehouse)
    except Exception:  # noqa: BLE001 - a run that failed before writing `runs`: nothing loaded to count
        runs = []
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
    return {
        **_figures(m, records),
        "load_average": load,
        "pages": sorted(p.name for p in (work / "reports").glob("*.html")),
    }


def measure_baseline(config: Path, work: Path, records: int, module: str = "bench.baseline") -> dict[str, object]:
    """A baseline script (pandas: bench.baseline, Polars: bench.baseline_polars) in its own process."""
    load = _load()
    name = module.rsplit(".", 1)[-1]
    m = run_measured(
        [sys.executable, "-m", module, str(config), str(work / f"{name}.duckdb")],
        cwd=ROOT,
        log=work / name,
    )
    inner = _json_line(m) if m.ok else {}
    return {
        **_figures(m, records),
        "load_average": load,
        "stages": inner.get("seconds", {}),
        "rows": inner.get("rows"),
        "records_loaded": inner.get("loaded"),
        "records_quarantined": inner.get("quarantined"),
        "reasons": inner.get("reasons"),
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


@dataclasses.dataclass(frozen=True)
class Input:
    """One benchmark input: the file, the sources YAML that reads it and what a correct load gives."""

    shape: str
    path: Path
    config: Path
    records: int
    expected_loaded: int
    expected_quarantined: int
    cells: int | None
    cache_key: str
    generated_now: bool


def prepare_input(shape: str, records: int, fmt: str, cache: Path) -> Input:
    if shape == "demo":
        manifest, generated = demo_data(records, fmt, cache_dir=cache)
        return Input(
            shape,
            manifest.incidents_path,
            manifest.config_path,
            manifest.records,
            manifest.valid_records,
            sum(manifest.expected_quarantine.values()),
            None,
            cache_key(records, fmt),
            generated,
        )
    parsed = shapes.Shape.parse(shape)
    data, generated = shapes.shape_data(records, parsed, fmt, cache_dir=cache)
    return Input(
        shape,
        data.incidents_path,
        data.config_path,
        data.records,
        data.valid_records,
        data.quarantined_records,
        data.details["cells"],
        shapes.cache_key(records, parsed, fmt),
        generated,
    )


def _ratio(numerator: dict[str, object] | None, denominator: dict[str, object] | None) -> float | None:
    if not numerator or not denominator or not denominator["seconds"]:
        return None
    if numerator.get("failure") or denominator.get("failure"):
        return None
    return round(numerator["seconds"] / denominator["seconds"], 2)


def run_case(shape: str, records: int, fmt: str, args: argparse.Namespace, work_root: Path) -> dict[str, object]:
    data = prepare_input(shape, records, fmt, args.cache)
    _warm(data.path)
    parts: dict[str, list[dict[str, object]]] = {"floor": [], "ours": [], "reports": [], "baseline": [], "polars": []}
    for _ in range(args.repeat):
        work = Path(tempfile.mkdtemp(prefix="run-", dir=work_root))
        try:
            parts["floor"].append(measure_floor(data.path, work, data.records))
            parts["ours"].append(measure_ours(data.config, work, data.records, args.dagster_home))
            if not args.skip_reports:
                parts["reports"].append(measure_reports(work, data.records))
            if not args.skip_baseline:
                parts["baseline"].append(measure_baseline(data.config, work, data.records))
            if not args.skip_polars:
                parts["polars"].append(measure_baseline(data.config, work, data.records, "bench.baseline_polars"))
        finally:
            shutil.rmtree(work, ignore_errors=True)
    case: dict[str, object] = {
        "shape": shape,
        "records": records,
        "format": fmt,
        "input_bytes": data.path.stat().st_size,
        "input_records": data.records,
        "expected_loaded": data.expected_loaded,
        "expected_quarantined": data.expected_quarantined,
        "cells": data.cells,
        "cache_key": data.cache_key,
        "generated_now": data.generated_now,
        "repeat": args.repeat,
    }
    for name, reps in parts.items():
        case[name] = _combine(reps, data.records) if reps else None
    floor, ours = case["floor"], case["ours"]
    ours["stage_columns"] = stage_columns(ours["stages"])
    case["ratios"] = {
        "ours_over_floor": _ratio(ours, floor),
        "baseline_over_ours": _ratio(case["baseline"], ours),
        "polars_over_ours": _ratio(case["polars"], ours),
        "ours_rss_over_floor_rss": round(ours["peak_rss_bytes"] / floor["peak_rss_bytes"], 2),
    }
    return case


# The table's stage columns: which of bench/stages.py's stage names each one adds up.
STAGE_COLUMNS = (
    ("staged", ("staged_records",)),
    ("mapped", ("mapped_records",)),
    ("facts", ("source_facts",)),
    ("checks", ("landed_file checks",)),
    ("quality", ("quality_job",)),
    ("outside", ("outside dagster runs",)),
)


def stage_columns(stages: dict[str, float]) -> dict[str, float]:
    """Ours' stages in the table's columns; everything else (reference job, checks, Dagster overhead) is 'other'."""
    columns = {name: 0.0 for name, _ in STAGE_COLUMNS} | {"other": 0.0}
    for stage, seconds in stages.items():
        column = next((name for name, keys in STAGE_COLUMNS if any(k in stage for k in keys)), "other")
        columns[column] += seconds
    return {name: round(seconds, 2) for name, seconds in columns.items()}


# ---------------------------------------------------------------------------------------------------------------
# Targets, table, JSON


def _check(value: float | None, target: str, met: bool | None) -> dict[str, object]:
    return {"value": value, "target": target, "met": met if value is not None else None}


def evaluate(cases: list[dict[str, object]]) -> dict[str, object]:
    """The issue's targets for every shape, on its largest CSV case (RSS growth: against its smallest CSV case)."""
    per_shape = []
    for shape in dict.fromkeys(c["shape"] for c in cases):
        csv = sorted((c for c in cases if c["shape"] == shape and c["format"] == "csv"), key=lambda c: c["records"])
        if not csv:
            continue
        big, small = csv[-1], csv[0]
        ratios = big["ratios"]
        ours_gb = round(big["ours"]["peak_rss_bytes"] / GB, 2)
        growth = round(big["ours"]["peak_rss_bytes"] / small["ours"]["peak_rss_bytes"], 2)
        reports = big["reports"]["seconds"] if big["reports"] else None
        checks = {
            "ours_over_floor": _check(
                ratios["ours_over_floor"],
                f"<= {TARGETS['ours_over_floor_max']}",
                (ratios["ours_over_floor"] or 0) <= TARGETS["ours_over_floor_max"],
            ),
            "baseline_over_ours": _check(
                ratios["baseline_over_ours"],
                f">= {TARGETS['baseline_over_ours_min']}",
                (ratios["baseline_over_ours"] or 0) >= TARGETS["baseline_over_ours_min"],
            ),
            "polars_over_ours": _check(
                ratios["polars_over_ours"],
                f"> {TARGETS['polars_over_ours_min']} (ours faster than Polars)",
                (ratios["polars_over_ours"] or 0) > TARGETS["polars_over_ours_min"],
            ),
            "ours_peak_rss_gb": _check(
                ours_gb, f"<= {TARGETS['ours_peak_rss_gb_max']}", ours_gb <= TARGETS["ours_peak_rss_gb_max"]
            ),
            "ours_peak_rss_growth": _check(
                growth,
                f"<= {TARGETS['rss_growth_max']} ({big['records']:,} vs {small['records']:,} records)",
                growth <= TARGETS["rss_growth_max"] if big is not small else None,
            ),
            "reports_seconds": _check(
                reports,
                f"<= {TARGETS['reports_seconds_max']}",
                reports is not None and reports <= TARGETS["reports_seconds_max"],
            ),
        }
        failed = {n: big[n].get("failure") for n in ("floor", "ours", "reports", "baseline", "polars") if big.get(n)}
        failed = {n: f for n, f in failed.items() if f}
        if failed.get("ours"):  # nothing of ours can be met when it did not finish
            checks = {n: {**c, "met": False} for n, c in checks.items()}
        per_shape.append(
            {"shape": shape, "records": big["records"], "format": "csv", "checks": checks, "failed": sorted(failed)}
        )
    return {"format": "csv", "per_shape": per_shape}


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


def _s(part: dict[str, object] | None) -> str:
    if part is None:
        return "—"
    return f"FAILED after {part['seconds']:.1f}" if part.get("failure") else f"{part['seconds']:.1f}"


def _x(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def _loaded(case: dict[str, object]) -> str:
    ours = case["ours"]
    if ours.get("failure"):
        return "ours FAILED: " + _failure_reason(ours)
    if (ours["records_loaded"], ours["records_quarantined"]) == (case["expected_loaded"], case["expected_quarantined"]):
        return "ok"
    return (
        f"MISMATCH {ours['records_loaded']:,}/{ours['records_quarantined']:,} "
        f"(expected {case['expected_loaded']:,}/{case['expected_quarantined']:,})"
    )


def _failure_reason(part: dict[str, object]) -> str:
    """The command's own error line (`✗ …`) if it printed one, else the tail of its output; one table cell."""
    crosses = [line.strip() for line in part.get("summary") or [] if line.strip().startswith("✗")]
    text = crosses[0] if crosses else part["failure"].split(" exited with ", 1)[-1]
    return text.replace("|", "/")[:160]


TABLE_HEADER = (
    "| shape | records | format | MB | floor s | ours s | ours/floor | pandas s | pandas/ours | polars s "
    "| polars/ours | ours RSS GB | reports s | staged | mapped | facts | checks | quality | outside | other "
    "| loaded/quarantined |"
)


def _table_row(case: dict[str, object]) -> str:
    ours, ratios = case["ours"], case["ratios"]
    stages = ours.get("stage_columns") or stage_columns(ours["stages"])
    cells = [
        case["shape"],
        f"{case['records']:,}",
        case["format"],
        f"{case['input_bytes'] / 1e6:,.{0 if case['input_bytes'] >= 1e7 else 1}f}",
        _s(case["floor"]),
        _s(ours),
        _x(ratios["ours_over_floor"]),
        _s(case["baseline"]),
        _x(ratios["baseline_over_ours"]),
        _s(case.get("polars")),
        _x(ratios.get("polars_over_ours")),
        f"{ours['peak_rss_bytes'] / GB:.2f}",
        _s(case["reports"]),
        *(f"{stages[name]:.1f}" for name in ("staged", "mapped", "facts", "checks", "quality", "outside", "other")),
        _loaded(case),
    ]
    return "| " + " | ".join(cells) + " |"


def _detail(label: str, part: dict[str, object] | None, why: str = "skipped") -> str:
    if part is None:
        return f"    {label:<8} ({why})"
    if part.get("failure"):
        gb = part["peak_rss_bytes"] / GB
        return f"    {label:<8} FAILED after {part['seconds']:.2f} s, {gb:.2f} GB: {_failure_reason(part)}"
    return (
        f"    {label:<8} {part['seconds']:7.2f} s  cpu {part['cpu_seconds']:6.1f} s  "
        f"{part['peak_rss_bytes'] / GB:5.2f} GB  load {part['load_average']}"
        + (f"  stages: {_stages_line(part['stages'])}" if label in ("pandas", "polars") else "")
    )


def _stages_line(stages: dict[str, float]) -> str:
    return "; ".join(f"{name} {seconds:.2f}" for name, seconds in stages.items())


def table(result: dict[str, object]) -> str:
    """ONE table, a row per case (markdown), then each contender's CPU, RSS and load, then the targets."""
    lines = [TABLE_HEADER, "|" + "---|" * TABLE_HEADER.count(" | ") + "---|"]
    lines += [_table_row(case) for case in result["cases"]]
    lines.append(
        "\nseconds are wall time (median of the repeats); ours' stages (s) from its Dagster event log: staged = "
        "reading (staged_records), mapped = classification (mapped_records), facts = load (source_facts), "
        "checks = the load step's checks (contracts, conservation), quality = the quality job, outside = "
        "interpreter, imports, config, summary; other = the reference job and Dagster overhead"
    )
    polars_why = result.get("options", {}).get("polars_skipped_because") or "skipped"
    for case in result["cases"]:
        cells = f", {case['cells']:,} area x code x month cells" if case["cells"] is not None else ""
        repeat = f", x{case['repeat']}" if case["repeat"] > 1 else ""
        lines.append(f"  {case['shape']} {case['records']:,} {case['format']}{cells}{repeat}")
        lines.append(_detail("floor", case["floor"]))
        lines.append(_detail("ours", case["ours"]))
        lines.append(_detail("reports", case["reports"]))
        lines.append(_detail("pandas", case["baseline"]))
        lines.append(_detail("polars", case.get("polars"), polars_why))
    targets = result.get("targets") or {}
    for entry in targets.get("per_shape", []):
        failed = f"  (FAILED: {', '.join(entry['failed'])})" if entry["failed"] else ""
        lines.append(f"\ntargets, shape {entry['shape']}, {entry['records']:,} records (csv):{failed}")
        for name, check in entry["checks"].items():
            mark = {True: "met", False: "NOT MET", None: "n/a"}[check["met"]]
            lines.append(f"  {name:<22} {check['value']!s:>8}  target {check['target']:<44} {mark}")
    return "\n".join(lines)


def print_table(paths: list[Path]) -> int:
    """The table of one or more result files (their cases in order, the targets over all of them)."""
    docs = [json.loads(path.read_text()) for path in paths]
    cases = [case for doc in docs for case in doc["cases"]]
    for case in cases:
        case.setdefault("shape", "demo")
        case.setdefault("cells", None)
        case.setdefault("polars", None)
        case["ratios"].setdefault("polars_over_ours", None)
    print(table({"cases": cases, "targets": evaluate(cases), "options": docs[-1].get("options", {})}))
    for path, doc in zip(paths, docs, strict=True):
        after = doc.get("load_average_after")
        print(
            f"{path.name}: git {doc.get('git')}, load average {doc['machine']['load_average']} before"
            + (f", {after} after" if after is not None else "")
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["scale"]:  # the scale benchmark (bench/scale.py): `make bench BENCH_ARGS="scale …"`
        from bench import scale

        return scale.main(argv[1:])
    if argv[:1] == ["table"]:  # the table of earlier results: python -m bench.run table RESULT.json [...]
        return print_table([Path(a) for a in argv[1:]])
    args = _parser().parse_args(argv)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    unknown = sorted(set(formats) - {"csv", "parquet"})
    if unknown or not formats or not args.sizes or not args.shapes or args.repeat < 1:
        _parser().error(
            f"bad options: shapes {args.shapes}, formats {formats}, sizes {args.sizes}, repeat {args.repeat}"
        )
    polars_why = None if args.skip_polars else polars_missing()
    if polars_why:
        print(f"the Polars baseline is skipped: {polars_why}", file=sys.stderr)
        args.skip_polars = True
    started = dt.datetime.now()
    result: dict[str, object] = {
        "started": started.isoformat(timespec="seconds"),
        "git": _git_commit(),
        "generator_version": generator_version(),
        "shape_generator_version": shapes.generator_version(),
        "machine": machine(),
        "options": {
            "shapes": args.shapes,
            "sizes": args.sizes,
            "formats": formats,
            "repeat": args.repeat,
            "dagster_home": args.dagster_home,
            "skip_baseline": args.skip_baseline,
            "skip_polars": args.skip_polars,
            "polars_skipped_because": polars_why,
            "skip_reports": args.skip_reports,
        },
        "imports": measure_imports(),
        "cases": [],
    }
    args.cache.mkdir(parents=True, exist_ok=True)
    args.results.mkdir(parents=True, exist_ok=True)
    path = args.results / f"bench-{started:%Y%m%d-%H%M%S}.json"
    with tempfile.TemporaryDirectory(prefix="work-", dir=args.cache) as work_root:
        for records in args.sizes:
            for shape in args.shapes:
                for fmt in formats:
                    print(f"measuring {shape} {records:,} records, {fmt} ...", file=sys.stderr, flush=True)
                    case = run_case(shape, records, fmt, args, Path(work_root))
                    result["cases"].append(case)
                    print(_table_row(case), file=sys.stderr, flush=True)
                    # Written after every case: a long run stopped part way keeps what it measured.
                    path.write_text(json.dumps(result, indent=1) + "\n")
    result["targets"] = evaluate(result["cases"])
    result["load_average_after"] = _load()
    result["seconds"] = round((dt.datetime.now() - started).total_seconds(), 1)
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
