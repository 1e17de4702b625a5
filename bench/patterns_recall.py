"""Recall of the demo's planted patterns and false flags of demos with nothing planted, through `iccs run`'s path.

    .venv/bin/python -m bench.patterns_recall --sizes 20000,200000 --seeds 1,2,3 [--out DIR]

For every size and seed: one demo with its plants (four outlying months, a level shift, a mix change; the hotspots
too) and one with nothing planted (``plant=False``: every hypothesis null), each run through the pipeline without
reports. Prints one JSON line per run: per planted anomaly whether the warehouse's ``anomalies`` at the FDR name it,
and the flags per kind; for the null demos every flag is a false one. Ends with a summary line: recall over all
planted anomalies, and per kind the share of null runs with any flag (Benjamini-Hochberg at 10 % promises at most
10 % when every hypothesis is null).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from pipelines.demo import generate_demo
from pipelines.demo.recall import found_plants
from pipelines.runner import run_pipeline
from warehouse.connection import connect

KINDS = ("outlying_month", "level_shift", "mix_change")


def one_run(folder: Path, records: int, seed: int, plant: bool) -> dict[str, object]:
    manifest = generate_demo(folder / "in", records=records, seed=seed, plant=plant)
    result = run_pipeline(manifest.config_path, folder / "w.duckdb", folder / "r", with_reports=False)
    if not result.ok:
        raise SystemExit(f"run failed: {result.errors}")
    with connect(folder / "w.duckdb", read_only=True) as con:
        anomalies = con.execute("SELECT * FROM anomalies").fetch_df()
        tests = dict(con.execute("SELECT kind, sum(tests) FROM anomaly_tests GROUP BY kind").fetchall())
    row: dict[str, object] = {
        "records": records,
        "seed": seed,
        "planted": plant,
        "flags": {kind: int((anomalies["kind"] == kind).sum()) for kind in KINDS},
        "tests": {kind: int(tests.get(kind, 0)) for kind in KINDS},
    }
    if plant:
        row["found"] = found_plants(manifest.details["patterns"], anomalies)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.patterns_recall", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,200000", help="demo sizes in records, comma-separated")
    parser.add_argument("--seeds", default="1,2,3", help="demo seeds, comma-separated")
    parser.add_argument("--out", type=Path, default=None, help="keep the demos and warehouses here")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-recall-") as scratch:
        base = args.out or Path(scratch)
        for records in (int(s) for s in args.sizes.split(",")):
            for seed in (int(s) for s in args.seeds.split(",")):
                for plant in (True, False):
                    row = one_run(base / f"{records}-{seed}-{'planted' if plant else 'null'}", records, seed, plant)
                    print(json.dumps(row), flush=True)
                    rows.append(row)
    found = [hit for row in rows if row["planted"] for hit in row["found"].values()]
    null = [row for row in rows if not row["planted"]]
    summary = {
        "recall": round(sum(found) / len(found), 3) if found else None,
        "planted_anomalies": len(found),
        "null_runs": len(null),
        "null_runs_with_a_flag": {kind: sum(row["flags"][kind] > 0 for row in null) for kind in KINDS},
        "null_flags": {kind: sum(row["flags"][kind] for row in null) for kind in KINDS},
        "null_tests": {kind: sum(row["tests"][kind] for row in null) for kind in KINDS},
    }
    print(json.dumps({"summary": summary}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
