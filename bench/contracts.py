"""Time and peak memory of one contract checked two ways over the same warehouse table: compiled to SQL
(``warehouse.contracts.validate_table``) and pandera on pandas (the table brought to pandas first).

Each measurement runs in its own process so that peak memory (``ru_maxrss``) is that engine's alone:

    iccs demo-data --records 1000000 --out /tmp/demo1m
    iccs run --config /tmp/demo1m/sources.yaml --no-reports --warehouse /tmp/demo1m/w.duckdb
    python -m bench.contracts /tmp/demo1m/w.duckdb

The warehouse is opened read-only; nothing is written.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

# (contract, table, rows to check): the same rows for both engines. The classified records are a load step's
# scratch (temp) tables, gone when it ends, so the stored facts are what is measured.
CASES: dict[str, tuple[str, str, str]] = {
    "offences": ("OffenceRow", "offences", "true"),
}


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def _pandas(table: pa.Table) -> pd.DataFrame:
    """What a pandas pipeline would hold: DECIMAL as float64 and every integer as int64 (pandera's dtypes);
    the SQL engine compares type families, so it needs no such conversion."""
    for i, field in enumerate(table.schema):
        if pa.types.is_decimal(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.float64()))
        elif pa.types.is_integer(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(pa.int64()))
    return table.to_pandas()


def _measure(warehouse: str, case: str, engine: str) -> dict[str, object]:
    """One engine over one case, in this process."""
    import pandera.errors

    import schemas
    from warehouse.contracts import validate_table

    model_name, table, where = CASES[case]
    model = getattr(schemas, model_name)
    con = duckdb.connect(warehouse, read_only=True)
    rows = con.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchall()[0][0]
    baseline = _peak_mb()
    started = time.perf_counter()
    load_seconds = 0.0
    if engine == "sql":
        outcomes = validate_table(con, model, table, where)
        failed = sum(o.failures for o in outcomes)
        rules = len(outcomes)
    else:
        frame = _pandas(con.sql(f"SELECT * FROM {table} WHERE {where}").to_arrow_table())
        load_seconds = time.perf_counter() - started
        try:
            model.validate(frame, lazy=True)
            failed = 0
        except pandera.errors.SchemaErrors as exc:
            failed = len(exc.failure_cases)
        rules = None
    seconds = time.perf_counter() - started
    return {
        "case": case,
        "contract": model_name,
        "engine": engine,
        "rows": rows,
        "seconds": round(seconds, 3),
        "load_seconds": round(load_seconds, 3),
        "peak_mb": round(_peak_mb(), 1),
        "peak_above_baseline_mb": round(_peak_mb() - baseline, 1),
        "failures": failed,
        "rules": rules,
    }


def run(warehouse: Path) -> list[dict[str, object]]:
    """Every case with both engines, each in a fresh interpreter."""
    results = []
    for case in CASES:
        for engine in ("sql", "pandas"):
            proc = subprocess.run(
                [sys.executable, "-m", "bench.contracts", str(warehouse), "--one", case, engine],
                capture_output=True,
                text=True,
                check=True,
            )
            results.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("warehouse", type=Path)
    parser.add_argument("--one", nargs=2, metavar=("CASE", "ENGINE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(_measure(str(args.warehouse), args.one[0], args.one[1])))
        return 0
    header = (
        f"{'contract':<16} {'engine':<7} {'rows':>10} {'seconds':>8} {'of which load':>14} {'peak MB':>8} "
        f"{'above baseline':>15} {'failures':>9}"
    )
    print(header)
    for r in run(args.warehouse):
        print(
            f"{r['contract']:<16} {r['engine']:<7} {r['rows']:>10,} {r['seconds']:>8.2f} {r['load_seconds']:>14.2f} "
            f"{r['peak_mb']:>8.0f} {r['peak_above_baseline_mb']:>15.0f} {r['failures']:>9,}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
