"""The `iccs` command: run the pipeline, browse ICCS, query the warehouse, generate demo data, make reports.

Every expected failure (bad configuration, unreadable input, busy or missing warehouse) ends in one line on
stderr naming the file and field, and a non-zero exit; tracebacks are for bugs only.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines import settings
from pipelines.export import add_parser as add_export_parser
from pipelines.sql import Limits, UsageError, print_query, print_tables
from pipelines.suggest import add_parser as add_suggest_parser
from warehouse.connection import Warehouse, WarehouseBusyError, concurrent_writers, locate, shown

if TYPE_CHECKING:
    from pipelines.progress import Steps

WAREHOUSE_HELP = (
    "warehouse: a DuckDB file or a DuckLake catalog, ducklake:postgres:… (default: $ICCS_WAREHOUSE or "
    "data/warehouse.duckdb)"
)
# The pages `iccs report` makes (reports.build.REPORT_KINDS, without importing plotly to parse the command line).
REPORT_KINDS = ("trends", "hotspots", "areas", "patterns", "sdg16", "quality")
BASEMAPS = ("osm",)  # reports.geo.basemap.BASEMAPS
FORMAT_HELP = "table (default), or csv / json for other programs"
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="iccs", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="load every configured source into the warehouse and make the reports")
    run.add_argument("--config", type=Path, help="sources YAML (default: the synthetic demo, generated if absent)")
    run.add_argument("--source", action="append", help="load only this source (repeatable)")
    run.add_argument("--no-reports", action="store_true", help="stop after the warehouse")
    run.add_argument(
        "--workers",
        type=_positive,
        default=int(os.environ.get("ICCS_WORKERS", "1")),
        help="load up to N files at once, each in a process of its own (a DuckLake warehouse; a DuckDB file has "
        "one writer and loads one file at a time) (default: $ICCS_WORKERS or 1)",
    )
    _output_options(run)
    _quiet_option(run)

    codes = sub.add_parser(
        "codes", help="show the ICCS v1.0 tree, a category with its children and Table I definition, or search labels"
    )
    codes.add_argument(
        "code",
        nargs="?",
        help="an ICCS code such as 0204: its children, then its Table I definition (description, "
        "inclusions, exclusions with the codes they point to)",
    )
    codes.add_argument("--search", metavar="TEXT", help="categories whose English or Spanish label contains TEXT")
    codes.add_argument(
        "--lang", choices=("en", "es"), default="en", help="language of the definition shown with a code (default en)"
    )

    sql = sub.add_parser("sql", help="run a read-only SQL query on the warehouse")
    sql.add_argument("query", nargs="?", help="a SELECT statement")
    sql.add_argument("--format", choices=("table", "csv", "json"), default="table", help=FORMAT_HELP)
    sql.add_argument("--tables", action="store_true", help="list the tables and views with their descriptions")
    sql.add_argument("--max-rows", type=int, default=100, help="rows shown in table format (default 100)")
    sql.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="stop the query after this long (default: $ICCS_SQL_TIMEOUT or 60)",
    )
    sql.add_argument(
        "--memory-limit", metavar="SIZE", help="memory the query may use (default: $ICCS_SQL_MEMORY or 1GB)"
    )
    sql.add_argument(
        "--temp-limit", metavar="SIZE", help="disk the query may spill to (default: $ICCS_SQL_TEMP or 4GB)"
    )
    sql.add_argument("--warehouse", type=locate, help=WAREHOUSE_HELP)

    mapcheck = sub.add_parser("map-check", help="how well each correspondence table covers its source's records")
    mapcheck.add_argument("--config", type=Path, help="sources YAML (default: the synthetic demo)")
    mapcheck.add_argument("--source", help="only this source or correspondence table")
    mapcheck.add_argument("--warehouse", type=locate, help=WAREHOUSE_HELP)

    mapdraft = sub.add_parser(
        "map-draft",
        help="write a draft correspondence table for a source's unmapped national codes, ranked ICCS candidates "
        "for a person to review",
    )
    mapdraft.add_argument("--source", required=True, help="the source to draft for")
    mapdraft.add_argument("--config", type=Path, help="sources YAML (default: $ICCS_CONFIG or the synthetic demo)")
    mapdraft.add_argument(
        "--out",
        type=Path,
        help="the draft file (default: correspondence.<source>.draft.csv beside the source's table or sources.yaml)",
    )
    mapdraft.add_argument(
        "--all", action="store_true", help="a row for every national code, mapped or not (default: unmapped only)"
    )
    mapdraft.add_argument("--limit", type=int, default=3, help="next candidates in the alternatives column (default 3)")
    mapdraft.add_argument("--force", action="store_true", help="replace an earlier draft at --out")

    quarantine = sub.add_parser("quarantine", help="list quarantined records with their reasons")
    quarantine.add_argument("--source", help="only this source")
    quarantine.add_argument("--reason", help="only this reason (see README: Nothing is lost)")
    quarantine.add_argument("--limit", type=int, default=50, help="records listed at most (default 50)")
    quarantine.add_argument("--summary", action="store_true", help="counts by source and reason only")
    quarantine.add_argument("--format", choices=("table", "csv", "json"), default="table", help=FORMAT_HELP)
    quarantine.add_argument("--warehouse", type=locate, help=WAREHOUSE_HELP)

    report = sub.add_parser("report", help="regenerate the HTML reports from the warehouse")
    report.add_argument(
        "--kind",
        action="append",
        choices=REPORT_KINDS,
        help="only this report (repeatable; default: all)",
    )
    report.add_argument(
        "--standalone",
        action="store_true",
        help="each page carries plotly.js itself (about 4.8 MB more a page), so a page sent or copied on its own "
        "still draws its charts",
    )
    report.add_argument(
        "--basemap",
        choices=BASEMAPS,
        help="draw the maps on OpenStreetMap tiles, fetched from the network when a page is opened (default: plain "
        "maps that need no network)",
    )
    _output_options(report)
    _image_options(report)
    _quiet_option(report)

    runs = sub.add_parser("runs", help="recent loads: per file, records in/loaded/quarantined and duration")
    runs.add_argument("--source", help="only this source's loads")
    runs.add_argument("--limit", type=int, default=20, help="loads listed at most, latest first (default 20)")
    runs.add_argument("--format", choices=("table", "csv", "json"), default="table", help=FORMAT_HELP)
    runs.add_argument("--warehouse", type=locate, help=WAREHOUSE_HELP)

    add_export_parser(sub, WAREHOUSE_HELP, locate)
    add_suggest_parser(sub)

    demo = sub.add_parser("demo-data", help="write the synthetic demo country (records, population, config)")
    demo.add_argument("--out", type=Path, help="folder (default: $ICCS_DEMO_DIR or data/demo)")
    demo.add_argument("--records", type=int, default=None, help="number of records (default 200,000)")
    demo.add_argument("--seed", type=int, default=None, help="random seed: the same seed writes the same data")
    demo.add_argument("--format", choices=("csv", "parquet"), default="csv", help="the records' file format")
    demo.add_argument(
        "--no-plant",
        dest="plant",
        action="store_false",
        help="plant nothing (no hotspots, outlying months, level shift or mix change): a country to find nothing in",
    )
    return parser


def _scale(text: str) -> float:
    value = float(text)
    if not 0 < value <= 10:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 10, not {value}")
    return value


def _output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--warehouse", type=locate, help=WAREHOUSE_HELP)
    parser.add_argument("--reports", type=Path, help="reports folder (default: $ICCS_REPORTS or data/reports)")


def _quiet_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quiet", action="store_true", help="no progress line on stderr (it is shown on a terminal only anyway)"
    )


def _image_options(report: argparse.ArgumentParser) -> None:
    report.add_argument(
        "--png",
        type=Path,
        metavar="DIR",
        help="also draw every chart and map of the pages made as an image, DIR/<page>/<chart id>.png, for "
        "publications (needs Chromium or Chrome: on PATH or at $BROWSER_PATH; no network)",
    )
    report.add_argument("--svg", action="store_true", help="with --png: an SVG beside each PNG (vector, for print)")
    report.add_argument(
        "--width", type=_positive, metavar="PX", help="with --png: image width in pixels (default 1000)"
    )
    report.add_argument(
        "--height",
        type=_positive,
        metavar="PX",
        help="with --png: image height in pixels (default: the chart's own, else 500)",
    )
    report.add_argument(
        "--scale", type=_scale, metavar="N", help="with --png: pixels per pixel, e.g. 2 for sharper PNGs (default 1)"
    )


def _fail(message: str, code: int = EXIT_FAILED) -> int:
    print(f"iccs: {message}", file=sys.stderr)
    return code


def _cmd_run(args: argparse.Namespace) -> int:
    from pipelines.progress import Steps, wanted
    from pipelines.runner import PipelineError, run_pipeline

    started = time.perf_counter()
    config = args.config or settings.config_path()
    warehouse = args.warehouse or settings.warehouse_path()
    reports_dir = args.reports or settings.reports_path()
    if args.workers > 1 and not concurrent_writers(warehouse):
        print(
            f"iccs: note: {shown(warehouse)} is a DuckDB file, which one process writes at a time: its files load one "
            "after another (--workers loads several at once into a DuckLake warehouse)",
            file=sys.stderr,
        )
    try:
        with Steps(wanted(args.quiet)) as steps:
            result = run_pipeline(
                config,
                warehouse,
                reports_dir,
                with_reports=not args.no_reports,
                only=args.source,
                workers=args.workers,
                progress=steps,
            )
    except PipelineError as exc:
        return _fail(str(exc))
    units = _aggregate_units(result.warehouse, [s.source for s in result.sources if s.run_id])
    for src in result.by_source().values():
        if src.problems and src.records_in == 0:  # nothing was read: the problem is the whole story
            for text in dict.fromkeys(src.problems):
                print(f"✗ {src.source}: {text}")
            continue
        mark = "✗" if src.problems else "✓"
        print(f"{mark} {src.source}: {_load_text(src, units.get(src.source))}")
        for text in src.problems:
            print(f"  {text}")
        for text in src.warnings:
            print(f"  warning: {text}")
    for text in result.quality_warnings:
        print(f"  data quality (warning): {text[:300]}{' …' if len(text) > 300 else ''}")
    for text in result.errors:
        print(f"✗ {text}")
    if any(src.records_in for src in result.sources):
        print(
            f"warehouse: {shown(result.warehouse, absolute=True)}  "
            f'(query it: iccs sql{settings.named_paths(result.warehouse)} "SELECT ...")'
        )
    if result.reports:
        print(f"reports:   {(result.reports_dir / 'index.html').resolve()}")
        for kind, path in result.reports.items():
            if kind != "index":
                print(f"           {path.resolve()}")
        if (result.reports_dir / "exchange").is_dir():
            print(
                f"exchange:  {(result.reports_dir / 'exchange').resolve()}  (national figures as SDMX and Parquet; "
                "more with iccs export)"
            )
    print(f"finished in {time.perf_counter() - started:.1f} s")
    return 0 if result.ok else EXIT_FAILED


def _aggregate_units(warehouse: Warehouse, sources: Sequence[str]) -> dict[str, tuple[str, dict[str, float | int]]]:
    """Per aggregate source: its unit and what its cells hold in that unit (reports.quality.aggregate_units);
    empty when the warehouse cannot be read (the summary then counts cells, and says so)."""
    import duckdb

    from reports.quality import count_key
    from warehouse.connection import connect
    from warehouse.quality import aggregate_units

    if not sources:
        return {}
    try:
        with connect(warehouse, read_only=True) as con:
            levels = con.execute(
                "SELECT source, unit FROM sources WHERE level = 'aggregate' AND source IN "
                "(SELECT unnest(?::VARCHAR[]))",
                [sorted(set(sources))],
            ).fetchall()
            return {s: (unit, aggregate_units(con, s, count_key(con, s))) for s, unit in levels}
    except (duckdb.Error, OSError):
        return {}


def _load_text(src, units: tuple[str, dict[str, float | int]] | None) -> str:
    """One source's run summary. Records outside ICCS by the correspondence table are counted apart from those
    quarantined by a fault, and the mapped share is of what ICCS can place (as `iccs map-check` says). For an
    aggregate source a record is a table cell: the figures are in the source's unit (offences, victims...),
    with the cells beside them, and a quarantined cell without a usable count is never given a number."""
    outside = src.reasons.get("excluded_offence", 0)
    faults = {k: v for k, v in src.reasons.items() if k != "excluded_offence"}
    quarantined = src.records_quarantined - outside
    reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(faults.items(), key=lambda kv: -kv[1])) or "none"
    share = src.mapped_share  # of the records ICCS can place, from the mapped_share check: about mapping only
    files = f" from {src.files} files" if src.files > 1 else ""
    mapped = f"mapped to ICCS {share:.1%} of what ICCS can place"
    if units is None:
        out = f", {outside:,} outside ICCS by the correspondence table" if outside else ""
        return (
            f"{src.records_in:,} records in{files}, {src.records_loaded:,} loaded{out}, {quarantined:,} "
            f"quarantined ({reasons}); {mapped}"
        )
    from reports.quality import cells_text, national_note

    unit, u = units

    def cells(n: int, prefix: str) -> str:
        return cells_text(n, u[f"{prefix}_units"], int(u[f"{prefix}_without_count"]), unit, bool(u["count_read"]))

    text = (
        f"{src.records_in:,} table cells in{files}: {u['loaded']:,.0f} {unit} in {src.records_loaded:,} cells "
        "loaded" + national_note(u, unit)
    )
    if outside:
        text += f"; {cells(outside, 'outside')} outside ICCS by the correspondence table"
    text += f"; {cells(quarantined, 'quarantined')} quarantined ({reasons})" if quarantined else "; 0 cells quarantined"
    return f"{text}; {mapped}"


def _cmd_codes(args: argparse.Namespace) -> int:
    import iccs

    try:
        print(iccs.render_tree(args.code, args.search))
    except ValueError as exc:
        return _fail(str(exc))
    if args.code is not None and args.search is None:  # one category: its Table I definition under its children
        print()
        print(iccs.render_definition(iccs.normalise_code(args.code) or args.code, args.lang))
    return 0


def _cmd_sql(args: argparse.Namespace) -> int:
    warehouse = args.warehouse or settings.warehouse_path()
    try:
        limits = Limits.from_env(args.memory_limit, args.temp_limit, args.timeout)
    except UsageError as exc:
        return _fail(str(exc), EXIT_USAGE)
    if args.tables:
        return print_tables(warehouse)
    if not (args.query or "").strip(" \t\r\n;"):
        return _fail('give a query, e.g. iccs sql "SELECT * FROM v_rates LIMIT 10", or --tables', EXIT_USAGE)
    if args.max_rows < 1:
        return _fail(f"--max-rows must be 1 or more (got {args.max_rows}); use --format csv for every row", EXIT_USAGE)
    return print_query(warehouse, args.query, args.format, args.max_rows, limits=limits)


def _cmd_map_check(args: argparse.Namespace) -> int:
    from pipelines.mapcheck import map_check

    config = args.config or settings.existing_config_path()
    if config is None:  # only `iccs demo-data` and `iccs run` write the demo
        return _fail(
            "no configuration: give --config FILE (or set ICCS_CONFIG); `iccs demo-data` writes the demo", EXIT_USAGE
        )
    return map_check(config, args.warehouse or settings.warehouse_path(), args.source)


def _cmd_map_draft(args: argparse.Namespace) -> int:
    from pipelines.mapdraft import run_map_draft

    return run_map_draft(args)


def _cmd_quarantine(args: argparse.Namespace) -> int:
    from schemas.quarantine import REASONS

    warehouse = args.warehouse or settings.warehouse_path()
    if args.reason and args.reason not in REASONS:
        return _fail(f"--reason {args.reason!r} is not a quarantine reason; reasons: {', '.join(REASONS)}", EXIT_USAGE)
    where, params = ["true"], []
    for column in ("source", "reason"):
        value = getattr(args, column)
        if value:
            where.append(f"{column} = ${len(params) + 1}")
            params.append(value)
    if args.summary:
        query = (
            f"SELECT source, reason, count(*) AS records FROM quarantine WHERE {' AND '.join(where)} "
            "GROUP BY ALL ORDER BY source, records DESC"
        )
    else:
        query = (
            f"SELECT source, parse_filename(file) AS file, row_number, reason, detail, raw FROM quarantine "
            f"WHERE {' AND '.join(where)} ORDER BY source, file, row_number LIMIT {int(args.limit)}"
        )
    code = print_query(warehouse, query, args.format, max(args.limit, 1), params=params)
    if code == 0 and not args.summary:  # say when the list was cut (on stderr: a CSV or JSON stays whole data)
        _say_cut(warehouse, f"SELECT count(*) FROM quarantine WHERE {' AND '.join(where)}", params, args.limit)
    return code


def _say_cut(warehouse: Warehouse, count_query: str, params: list, limit: int) -> None:
    import duckdb

    from warehouse.connection import connect

    try:
        with connect(warehouse, read_only=True) as con:
            total = con.execute(count_query, params).fetchone()[0]
    except (WarehouseBusyError, duckdb.Error):  # a load took the file meanwhile: the list stands, uncounted
        return
    if total > limit:
        print(f"iccs: {limit:,} of {total:,} quarantined records shown; --limit N shows more", file=sys.stderr)


def _cmd_runs(args: argparse.Namespace) -> int:
    warehouse = args.warehouse or settings.warehouse_path()
    where, params = ("source = $1", [args.source]) if args.source else ("true", [])
    query = (
        f"SELECT started_at::TIMESTAMP(0) AS started, source, parse_filename(file) AS file, records_in, "
        f"records_loaded, records_quarantined, records_filtered AS filtered_out, "
        f"round(epoch(finished_at - started_at), 2) AS seconds, status, "
        f"left(run_id, 8) AS run FROM (SELECT * FROM runs UNION ALL BY NAME "  # a warehouse from before the
        f"SELECT NULL::BIGINT AS records_filtered WHERE false) "  # column has none
        f"WHERE {where} ORDER BY started_at DESC LIMIT {int(args.limit)}"
    )
    return print_query(warehouse, query, args.format, max(args.limit, 1), params=params)


def _cmd_report(args: argparse.Namespace) -> int:
    import duckdb

    from pipelines.progress import Steps, wanted
    from reports import build_reports
    from reports.png import find_chromium, no_chromium_message
    from warehouse.connection import connect

    warehouse = args.warehouse or settings.warehouse_path()
    out_dir = args.reports or settings.reports_path()
    if args.png is None and (args.svg or args.height or args.width or args.scale):
        return _fail("--svg, --width, --height and --scale are options of --png DIR", EXIT_USAGE)
    if args.png is not None and find_chromium() is None:  # said before the pages are made, not after
        return _fail(f"--png: {no_chromium_message()}")
    kinds = args.kind or None
    with Steps(wanted(args.quiet)) as steps:
        pages = len(kinds or REPORT_KINDS) + 1  # and the index
        steps.plan(pages)
        try:
            with connect(warehouse, read_only=True) as con:
                out_dir.mkdir(parents=True, exist_ok=True)
                written = build_reports(
                    con,
                    out_dir,
                    kinds,
                    standalone=args.standalone,
                    progress=lambda kind: steps.start(f"page {kind}"),
                    basemap=args.basemap,
                )
        except OSError as exc:  # an unwritable reports folder, or no warehouse (duckdb.Error is not an OSError)
            if exc.filename is None:
                return _fail(str(exc).splitlines()[0])
            return _fail(f"cannot write the reports to {out_dir}: {exc.strerror} ({exc.filename})")
        except (duckdb.Error, ValueError) as exc:
            return _fail(str(exc).splitlines()[0])
        images = _images(args, list(written.values()), steps, pages) if args.png is not None else []
    for path in written.values():
        print(path.resolve())
    if images is None:
        return EXIT_FAILED
    for path in images:
        print(path.resolve())
    return 0


def _images(args: argparse.Namespace, pages: list[Path], steps: Steps, done: int) -> list[Path] | None:
    """The charts of the written pages as images under --png DIR; None (after one line on stderr) when they
    cannot be made."""
    from reports.png import DEFAULT_WIDTH, ImageError, write_images

    def drawing(path: Path, number: int, total: int) -> None:
        steps.plan(done + total)
        steps.start(f"image {number}/{total} {path.parent.name}/{path.name}")

    try:
        return write_images(
            pages,
            args.png,
            formats=("png", "svg") if args.svg else ("png",),
            width=args.width or DEFAULT_WIDTH,
            height=args.height,
            scale=args.scale or 1.0,
            progress=drawing,
        )
    except ImageError as exc:
        _fail(f"--png: {exc}")
    except OSError as exc:
        _fail(f"--png: cannot write the images to {args.png}: {exc.strerror or exc} ({exc.filename or args.png})")
    return None


def _cmd_suggest(args: argparse.Namespace) -> int:
    from pipelines.suggest import run_suggest

    return run_suggest(args)


def _cmd_export(args: argparse.Namespace) -> int:
    from pipelines.export import run_export

    return run_export(args, args.warehouse or settings.warehouse_path())


def _cmd_demo(args: argparse.Namespace) -> int:
    from pipelines.demo import DEFAULT_SEED, generate_demo
    from pipelines.demo.generate import MIN_RECORDS

    out = args.out or settings.demo_dir()
    kwargs: dict[str, object] = {
        "seed": args.seed if args.seed is not None else DEFAULT_SEED,
        "fmt": args.format,
        "plant": args.plant,
    }
    if args.records is not None:
        kwargs["records"] = args.records
    if args.records is not None and args.records < MIN_RECORDS:
        return _fail(f"--records must be at least {MIN_RECORDS:,} (got {args.records:,})", EXIT_USAGE)
    started = time.perf_counter()
    try:
        manifest = generate_demo(out, **kwargs)
    except OSError as exc:
        return _fail(f"cannot write the demo data to {out}: {exc.strerror or exc} ({exc.filename or out})")
    print(
        f"SYNTHETIC demo data ({manifest.records:,} records) in {out.resolve()} "
        f"({time.perf_counter() - started:.1f} s); run it: iccs run --config {manifest.config_path}"
    )
    return 0


COMMANDS = {
    "run": _cmd_run,
    "codes": _cmd_codes,
    "sql": _cmd_sql,
    "quarantine": _cmd_quarantine,
    "map-check": _cmd_map_check,
    "map-draft": _cmd_map_draft,
    "runs": _cmd_runs,
    "report": _cmd_report,
    "export": _cmd_export,
    "suggest": _cmd_suggest,
    "demo-data": _cmd_demo,
}


def main(argv: Sequence[str] | None = None) -> int:
    from schemas.source_config import ConfigError
    from warehouse.connection import WarehouseBusyError, no_space

    args = _parser().parse_args(argv)
    main_thread = threading.current_thread() is threading.main_thread()  # signals can be set there only
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    try:
        return COMMANDS[args.command](args)
    except (ConfigError, WarehouseBusyError) as exc:
        return _fail(str(exc))
    except UsageError as exc:  # a bad ICCS_SQL_* value met by `iccs quarantine` or `iccs runs`
        return _fail(str(exc), EXIT_USAGE)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:  # `iccs ... | head`: the reader has all it wants
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except BaseException as exc:
        if _interrupted(exc):
            return _fail("interrupted", EXIT_INTERRUPTED)
        if no_space(exc):
            return _fail(f"no space left on device: {no_space(exc)}")
        raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _interrupted(exc: BaseException) -> bool:
    """Ctrl-C or SIGTERM, in whatever form it surfaced: Dagster raises its own error inside a step, and DuckDB
    turns a signal that arrives during a query into 'Query interrupted'."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        if (
            isinstance(current, KeyboardInterrupt)
            or type(current).__name__ == "DagsterExecutionInterruptedError"
            or str(current).startswith(("Query interrupted", "INTERRUPT Error"))
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


def _terminate(signum: int, frame: object) -> None:
    """SIGTERM ends a command like Ctrl-C: the open transaction rolls back, one line, exit 130."""
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
