"""Time the patterns page's statistics (the asset ``anomalies``) over a warehouse `iccs run` wrote.

    .venv/bin/python -m bench.patterns WAREHOUSE [--write]

Prints one JSON line: the warehouse's records, what was tested (series, months, candidate shifts, areas), what
was flagged, and the seconds of each part: the SQL that brings the series (``warehouse.anomalies.inputs``), the
statistics (``reports.stats.patterns.detect``) and, with ``--write``, replacing the three tables (on a copy of
the warehouse, so the input stays as it was). Peak memory is the process's (``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from reports.stats.anomaly_months import MIN_COUNT
from reports.stats.patterns import detect
from warehouse import anomalies


def measure(warehouse: Path, write: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="bench-patterns-") as folder:
        path = warehouse
        if write:
            path = Path(folder) / warehouse.name
            shutil.copy(warehouse, path)
        con = duckdb.connect(str(path), read_only=not write)
        records = con.execute("SELECT coalesce(sum(count), 0) FROM offence_counts").fetchall()[0][0]
        started = time.perf_counter()
        inputs = anomalies.inputs(con, MIN_COUNT)
        read = time.perf_counter()
        found = detect(**inputs)
        computed = time.perf_counter()
        if write:
            anomalies.replace(con, found.anomalies, found.series, found.tests)
        written = time.perf_counter()
        con.close()
    return {
        "warehouse": str(warehouse),
        "records": int(records),
        "series_rows": len(inputs["counts"]),
        **found.figures,
        "seconds_sql": round(read - started, 2),
        "seconds_statistics": round(computed - read, 2),
        "seconds_write": round(written - computed, 2) if write else None,
        "seconds_total": round(written - started, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.patterns", description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path, help="a DuckDB warehouse file written by `iccs run`")
    parser.add_argument("--write", action="store_true", help="also replace the tables, on a copy of the warehouse")
    args = parser.parse_args(argv)
    print(json.dumps(measure(args.warehouse, args.write)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
