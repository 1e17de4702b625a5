"""Where an `iccs run` spends its time: every SQL statement timed, and optionally a pyinstrument profile.

    python -m bench.profile --records 1000000 [--format csv] [--shape 5000x300] [--pyinstrument] [--reports]

Runs the `iccs run` command in this process (``pipelines.cli.main``, so exactly what a user runs) with a fresh
``DAGSTER_HOME``, after wrapping ``warehouse.connection.connect`` so that every connection it hands out times
each ``execute``/``sql`` call and remembers the calling function. Writes to bench/results/:
``profile-<records>-<format>-sql.txt`` (statements by total time, with caller and the statement's start) and,
with ``--pyinstrument``, ``…-pyinstrument.txt``/``.html`` (wall-clock call tree, Python and time inside DuckDB).
"""

from __future__ import annotations

import time

PROCESS_START = time.perf_counter()

import argparse  # noqa: E402  (the line above times the imports below)
import os  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

RESULTS_DIR = Path(__file__).resolve().parent / "results"
_ROOT = str(Path(__file__).resolve().parent.parent) + "/"
_OURS = ("/warehouse/", "/pipelines/", "/reports/")


@dataclass
class Statement:
    caller: str
    sql: str
    seconds: float


@dataclass
class SqlLog:
    statements: list[Statement] = field(default_factory=list)

    def add(self, sql: str, seconds: float) -> None:
        self.statements.append(Statement(_caller(), " ".join(str(sql).split()), seconds))


def _caller() -> str:
    """The innermost function of ours on the stack (file:line function), skipping this module."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if any(part in name for part in _OURS):
            short = name[len(_ROOT) :] if name.startswith(_ROOT) else Path(name).name
            return f"{short}:{frame.f_lineno} {frame.f_code.co_name}"
        frame = frame.f_back
    return "?"


class TimedConnection:
    """A DuckDB connection that times its statements; everything else is the real connection's."""

    def __init__(self, con, log: SqlLog) -> None:
        self._con, self._log = con, log

    def execute(self, query, parameters=None, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self._con.execute(query, parameters, *args, **kwargs)
        finally:
            self._log.add(query, time.perf_counter() - started)

    def sql(self, query, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self._con.sql(query, *args, **kwargs)
        finally:
            self._log.add(query, time.perf_counter() - started)

    def __getattr__(self, name):
        return getattr(self._con, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._con.close()


def _install(log: SqlLog) -> None:
    """Wrap ``connect`` before any module of the pipeline binds it with ``from … import connect``."""
    import warehouse.connection as connection

    real = connection.connect

    def connect(*args, **kwargs):
        return TimedConnection(real(*args, **kwargs), log)

    connection.connect = connect


def _label(sql: str) -> str:
    """A statement's start, with literals folded so the same statement from different files groups together."""
    text = re.sub(r"'(?:[^']|'')*'", "'…'", sql)
    return text[:150]


def sql_report(log: SqlLog, total: float) -> str:
    groups: dict[tuple[str, str], list[float]] = {}
    for s in log.statements:
        groups.setdefault((s.caller, _label(s.sql)), []).append(s.seconds)
    rows = sorted(groups.items(), key=lambda kv: -sum(kv[1]))
    in_sql = sum(s.seconds for s in log.statements)
    lines = [
        f"{len(log.statements)} statements, {in_sql:.2f} s in DuckDB of {total:.2f} s for the command",
        "",
        f"{'seconds':>8} {'calls':>5}  caller / statement",
    ]
    for (caller, label), times in rows:
        if sum(times) < 0.005:
            continue
        lines.append(f"{sum(times):8.3f} {len(times):5d}  {caller}")
        lines.append(f"{'':15}{label}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    parser.add_argument("--pyinstrument", action="store_true", help="also profile the Python call tree")
    parser.add_argument("--reports", action="store_true", help="profile `iccs report` after the run")
    parser.add_argument("--results", type=Path, default=RESULTS_DIR)
    parser.add_argument("--shape", help="AREASxCODES: a bench/shapes.py input instead of the demo country's")
    args = parser.parse_args(argv)

    from bench.data import demo_data
    from bench.shapes import Shape, shape_data
    from bench.stages import prepare_home

    if args.shape:
        data, _ = shape_data(args.records, Shape.parse(args.shape), args.format)
        config, records = data.config_path, data.details["records"]
    else:
        manifest, _ = demo_data(args.records, args.format)
        config, records = manifest.config_path, manifest.records
    log = SqlLog()
    _install(log)
    profiler = None
    if args.pyinstrument:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.005)
        profiler.start()
    with tempfile.TemporaryDirectory(prefix="iccs-profile-") as work:
        os.environ["DAGSTER_HOME"] = str(prepare_home(Path(work) / "dagster_home"))
        warehouse = Path(work) / "warehouse.duckdb"
        started = time.perf_counter()
        from pipelines.cli import main as iccs

        imported = time.perf_counter()
        code = iccs(["run", "--config", str(config), "--no-reports", "--warehouse", str(warehouse)])
        ran = time.perf_counter()
        if args.reports and code == 0:
            code = iccs(["report", "--warehouse", str(warehouse), "--reports", str(Path(work) / "reports")])
        finished = time.perf_counter()
    if profiler is not None:
        profiler.stop()
    stem = f"profile-{args.records}-{args.format}" + (f"-{args.shape}" if args.shape else "")
    args.results.mkdir(parents=True, exist_ok=True)
    header = (
        f"iccs run over {records:,} records ({args.format}): imports before the command "
        f"{imported - PROCESS_START:.2f} s (of which pipelines.cli {imported - started:.2f} s), "
        f"run {ran - imported:.2f} s" + (f", reports {finished - ran:.2f} s" if args.reports else "")
    )
    report = header + "\n" + sql_report(log, finished - imported)
    (args.results / f"{stem}-sql.txt").write_text(report + "\n")
    print(report)
    if profiler is not None:
        (args.results / f"{stem}-pyinstrument.txt").write_text(profiler.output_text(unicode=True, color=False))
        (args.results / f"{stem}-pyinstrument.html").write_text(profiler.output_html())
    print(f"written: {args.results / stem}-*")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
