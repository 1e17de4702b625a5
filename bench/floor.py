"""The floor: DuckDB's bare load of the input file into a table of a new file database, and nothing else.

``read_csv`` sniffs the dialect and types itself; ``ignore_errors`` is the one option added, because the demo
feed carries malformed lines on purpose and a strict read stops at the first. Parquet is ``read_parquet``.
Prints one JSON line: the load's seconds and rows (the process's wall time and memory are measured outside).

    python -m bench.floor INPUT WAREHOUSE
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import duckdb

from warehouse.sql import literal


def load(path: Path, warehouse: Path) -> dict[str, object]:
    reader = (
        f"read_parquet({literal(str(path))})"
        if path.suffix == ".parquet"
        else f"read_csv({literal(str(path))}, ignore_errors = true)"
    )
    warehouse.unlink(missing_ok=True)
    started = time.perf_counter()
    con = duckdb.connect(str(warehouse))
    con.execute("SET enable_progress_bar = false")
    con.execute(f"CREATE TABLE records AS SELECT * FROM {reader}")
    rows = con.execute("SELECT count(*) FROM records").fetchone()[0]
    con.close()
    return {"seconds": time.perf_counter() - started, "rows": rows, "reader": reader, "duckdb": duckdb.__version__}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__.splitlines()[0])
    parser.add_argument("input", type=Path)
    parser.add_argument("warehouse", type=Path)
    args = parser.parse_args(argv)
    print(json.dumps(load(args.input, args.warehouse)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
