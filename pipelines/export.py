"""`iccs export`: the warehouse's figures as SDMX-CSV, SDMX-ML, Parquet or CSV (``warehouse.exchange``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.progress import Steps, wanted
from warehouse.connection import CONNECTION_CONFIG, Warehouse, connect
from warehouse.exchange.progress import Progress

# The statements of warehouse.exchange that start a part of an export, as the live line names them.


def add_parser(sub, warehouse_help: str, locate) -> None:
    export = sub.add_parser(
        "export",
        help="write the warehouse's figures as SDMX-CSV, SDMX-ML, Parquet or CSV (aggregates; records on request)",
    )
    export.add_argument(
        "--format",
        required=True,
        choices=("sdmx-csv", "sdmx-ml", "parquet", "csv"),
        help="SDMX-CSV or SDMX-ML (one file of observations), Parquet (hive-partitioned folders) or CSV (a file a "
        "table)",
    )
    export.add_argument(
        "--dataset",
        default="iccs",
        choices=("iccs", "sdg"),
        help="iccs: counts and rates by ICCS category (Eurostat crim_off_cat's layout); sdg: the SDG global "
        "database's series (VC_IHR_PSRC …) (default: iccs)",
    )
    export.add_argument(
        "--out",
        type=Path,
        required=True,
        help="SDMX: a file, or a folder to write iccs.sdmx.csv / sdg.sdmx.xml … in; Parquet and CSV: a folder",
    )
    export.add_argument(
        "--sdmx-version", type=int, choices=(1, 2), default=2, help="SDMX-CSV 2.0 (default) or 1.0 (Eurostat's)"
    )
    export.add_argument("--source", action="append", default=[], help="only this source (repeatable)")
    export.add_argument("--country", action="append", default=[], help="only this ISO alpha-3 country (repeatable)")
    export.add_argument("--from", dest="first_year", type=int, metavar="YEAR", help="from this year on")
    export.add_argument("--to", dest="last_year", type=int, metavar="YEAR", help="up to this year")
    export.add_argument(
        "--iccs-level", action="append", type=int, default=[], help="only ICCS codes of this level, 1-4 (repeatable)"
    )
    export.add_argument(
        "--unit", action="append", default=[], help="only this counting unit: offences, victims … (repeatable)"
    )
    export.add_argument("--national", action="store_true", help="national figures only, no area's")
    export.add_argument(
        "--freq",
        action="append",
        choices=("A", "M"),
        help="iccs SDMX: A (years, the default) and/or M (months, for sources dated by month)",
    )
    export.add_argument(
        "--levels",
        choices=("all", "stored"),
        default="all",
        help="iccs SDMX: all = each figure also in every ICCS ancestor, as Eurostat publishes (default); stored = "
        "each cell once, in the code it was loaded in (a file whose figures add up, to load elsewhere)",
    )
    export.add_argument(
        "--records",
        action="store_true",
        help="Parquet/CSV: add the incident-level records (the offences table); never without this flag",
    )
    export.add_argument(
        "--structure",
        type=Path,
        metavar="FILE",
        help="iccs dataset: also write its SDMX-ML 2.1 structure message (concepts, code lists, data structure, "
        "dataflow) to FILE, for a receiver to load or check the data with",
    )
    export.add_argument("--warehouse", type=locate, help=warehouse_help)
    export.add_argument(
        "--quiet", action="store_true", help="no progress line on stderr (it is shown on a terminal only anyway)"
    )


def _fail(message: str, code: int = 1) -> int:
    print(f"iccs: export: {message}", file=sys.stderr)
    return code


def run_export(args: argparse.Namespace, warehouse: Warehouse) -> int:
    """Write the export; one line per file written (path and rows) on stdout, one per thing left out on stderr."""
    import duckdb

    from schemas.sdmx import iccs_schema
    from warehouse.exchange import ExportError, Selection, export
    from warehouse.exchange.sdmx_files import write_structure_file
    from warehouse.exchange.tables import TABLES

    ignored = [
        flag
        for flag, given, applies in (
            ("--freq", bool(args.freq), args.dataset == "iccs" and args.format.startswith("sdmx")),
            ("--levels", args.levels != "all", args.dataset == "iccs" and args.format.startswith("sdmx")),
            ("--sdmx-version", args.sdmx_version != 2, args.format == "sdmx-csv"),
            ("--unit", bool(args.unit), args.dataset == "iccs"),
            ("--structure", args.structure is not None, args.dataset == "iccs"),
        )
        if given and not applies
    ]
    if ignored:  # said, not silently ignored: the file would not be what was asked for
        return _fail(
            f"{ignored[0]} does not apply to --format {args.format} --dataset {args.dataset} "
            "(--freq and --levels: the iccs dataset as SDMX; --sdmx-version: SDMX-CSV; --unit: the iccs dataset, "
            "the SDG series have their own counting units; --structure: the iccs dataset, the SDG database's structure "
            "is the IAEG-SDGs')",
            2,
        )

    selection = Selection(
        sources=tuple(args.source),
        countries=tuple(c.upper() for c in args.country),
        first_year=args.first_year,
        last_year=args.last_year,
        iccs_levels=tuple(args.iccs_level),
        units=tuple(args.unit),
        national_only=args.national,
    )
    # the parts the progress line counts: SDMX: (the SDG figures,) the observations, the file; else one a table
    parts = len(TABLES[args.dataset]) + int(args.records)
    if args.format.startswith("sdmx"):
        parts = 3 if args.dataset == "sdg" else 2
    try:
        with (
            Steps(wanted(args.quiet), parts + int(args.structure is not None)) as steps,
            connect(warehouse, read_only=True, settings=dict(CONNECTION_CONFIG)) as con,
        ):
            done = export(
                con,
                args.format,
                args.dataset,
                args.out,
                selection,
                sdmx_version=args.sdmx_version,
                frequencies=tuple(dict.fromkeys(args.freq or ["A"])),
                levels=args.levels,
                records=args.records,
                progress=export_progress(steps),
            )
            if args.structure is not None:
                steps.start(f"writing {args.structure.name}")
                write_structure_file(iccs_schema(), args.structure)
                done.files[args.structure] = 0
    except ExportError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot write {exc.filename or args.out}: {exc.strerror or exc}")
    except duckdb.Error as exc:
        return _fail(str(exc).splitlines()[0])
    for note in done.left_out:
        print(f"iccs: export: {note}", file=sys.stderr)
    for path, rows in done.files.items():
        print(f"{path.resolve()}\t{f'{rows} rows' if path != args.structure else 'structure'}")
    return 0


def export_progress(steps: Steps) -> Progress:
    """The export's progress on the line: a step counted as it starts, a part of one named without counting."""

    def told(text: str, part: bool = False) -> None:
        (steps.say if part else steps.start)(text)

    return told
