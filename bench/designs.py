"""The load designs issue 19 asked about, measured against each other on one input in one process.

    python -m bench.designs SHAPE_DIR [--warehouse DIR]     # SHAPE_DIR from `python -m bench.shapes`

Each design writes the same facts (the valid records' ``offences`` rows and their ``offence_counts`` cells), and
the script checks that every design wrote the same row counts. It times, under the pipeline's own connection
settings (``warehouse.connection.connect``: memory limit, spill directory):

- ``floor``: DuckDB's bare load of the file (``read_csv`` into a table of the file database).
- ``read numbered`` / ``read unnumbered``: the file into a temp table with and without ``row_number() OVER ()``
  (the record's position, which gives its line). The window makes DuckDB run the reading pipeline on one
  thread (a ``STREAMING_WINDOW``): this is what a typed pass straight from the file also pays.
- ``typed pass from the file``: ``read_csv`` → typed, numbered → a persisted table, in one statement (one typed
  pass with no raw-text copy), against ``typed from a raw copy``: the numbered text copy, then the typed insert.
- ``classified records``: the pipeline's classification (``warehouse.classify``) over the staged file, then the
  writes the load makes from it: as a temp table (what the pipeline does: one typed scratch copy) and as a view
  (no typed copy: every write the load makes evaluates the classification again). The small tables the
  classification joins (correspondence keys, duplicate ids) are prepared before either is timed.

Prints one line per step (seconds) and a total per design.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from schemas.source_config import load_config
from warehouse.classify import classified_sql, records_table
from warehouse.connection import connect
from warehouse.correspondence import load_correspondence
from warehouse.ddl import ensure_schema
from warehouse.sql import literal
from warehouse.staging import stage_source

_TYPED = """
    SELECT incident_id AS record_id, try_strptime(date_occurred, '%Y-%m-%d')::DATE AS occurred_on,
           offence_code AS national_code, TRY_CAST(latitude AS DOUBLE) AS latitude,
           TRY_CAST(longitude AS DOUBLE) AS longitude, area, ordinal
    FROM {relation}"""
# The writes a load makes from the classified records: the accepted records, their cells, the rejected records,
# and the per-code tally the step's metadata and checks read.
_LOAD = {
    "offences": """CREATE OR REPLACE TABLE design_offences AS
        SELECT country, record_id, occurred_on, national_code, iccs_code, area, latitude, longitude, line
        FROM {records} WHERE reason IS NULL""",
    "offence_counts": """CREATE OR REPLACE TABLE design_counts AS
        SELECT country, area, iccs_code, national_code, year(occurred_on) AS year, month(occurred_on) AS month,
               sum(count) AS count, file_index
        FROM {records} WHERE reason IS NULL GROUP BY ALL""",
    "quarantine": "CREATE OR REPLACE TEMP TABLE design_rejected AS SELECT * FROM {records} WHERE reason IS NOT NULL",
    "tally": """CREATE OR REPLACE TEMP TABLE design_tally AS
        SELECT national_code, reason, mapping, iccs_code, count(*) AS records, sum(count) AS count
        FROM {records} GROUP BY ALL""",
}

# the load writes whose row counts the two classified designs must agree on
_COUNTED = {"offences": "design_offences", "offence_counts": "design_counts"}


def measure(shape_dir: Path, warehouse_dir: Path, say: Callable[[str], None] = print) -> dict[str, dict[str, float]]:
    """Seconds per step of each design; raises when two designs wrote different row counts."""
    config = load_config(shape_dir / "sources.yaml")
    src = next(iter(config.sources.values()))
    csv = shape_dir / "incidents.csv"
    reader = f"read_csv({literal(str(csv))}, header = true, all_varchar = true)"
    con = connect(warehouse_dir / "designs.duckdb")
    ensure_schema(con)
    times: dict[str, dict[str, float]] = {}
    rows: dict[str, int] = {}

    def step(design: str, name: str, sql: str, table: str | None = None) -> None:
        started = time.perf_counter()
        con.execute(sql)
        times.setdefault(design, {})[name] = time.perf_counter() - started
        if table is not None:
            rows[f"{design}: {name}"] = con.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        say(f"  {design:32s} {name:22s} {times[design][name]:7.2f} s")

    step("floor", "read + write", f"CREATE OR REPLACE TABLE design_floor AS SELECT * FROM {reader}", "design_floor")
    numbered = f"SELECT *, row_number() OVER () AS ordinal FROM {reader}"
    step("read numbered", "temp table", f"CREATE OR REPLACE TEMP TABLE design_raw AS {numbered}", "design_raw")
    step("read unnumbered", "temp table", f"CREATE OR REPLACE TEMP TABLE design_plain AS SELECT * FROM {reader}")
    con.execute("DROP TABLE design_plain")
    typed_file = _TYPED.format(relation=f"({numbered})")
    step(
        "typed pass from the file", "offences", f"CREATE OR REPLACE TABLE design_typed AS {typed_file}", "design_typed"
    )
    step("typed from a raw copy", "raw copy", f"CREATE OR REPLACE TEMP TABLE design_raw AS {numbered}")
    typed_raw = _TYPED.format(relation="design_raw")
    step("typed from a raw copy", "offences", f"CREATE OR REPLACE TABLE design_typed AS {typed_raw}", "design_typed")
    con.execute("DROP TABLE design_raw")

    load_correspondence(con, src.name, src.correspondence)
    stage_source(con, src)
    records = records_table(src.name)
    step(
        "classified records: table",
        "typed copy",
        f"CREATE OR REPLACE TEMP TABLE {records} AS {classified_sql(con, src)}",
    )
    for name, sql in _LOAD.items():
        step("classified records: table", name, sql.format(records=records), _COUNTED.get(name))
    con.execute(f"DROP TABLE {records}")
    view = "design_records_view"
    step("classified records: view", "view", f"CREATE OR REPLACE TEMP VIEW {view} AS {classified_sql(con, src)}")
    for name, sql in _LOAD.items():
        step("classified records: view", name, sql.format(records=f"temp.{view}"), _COUNTED.get(name))
    con.close()

    for design in ("typed pass from the file", "typed from a raw copy"):
        if rows[f"{design}: offences"] != rows["floor: read + write"]:
            raise AssertionError(
                f"{design}: {rows[f'{design}: offences']} rows, the floor {rows['floor: read + write']}"
            )
    for name in ("offences", "offence_counts"):
        if rows[f"classified records: table: {name}"] != rows[f"classified records: view: {name}"]:
            raise AssertionError(f"{name}: the table and the view gave different row counts")
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.designs", description=__doc__.splitlines()[0])
    parser.add_argument("shape_dir", type=Path, help="a directory written by `python -m bench.shapes`")
    parser.add_argument("--warehouse", type=Path, help="where the scratch database goes (default: a temp dir)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="iccs-designs-") as tmp:
        times = measure(args.shape_dir, args.warehouse or Path(tmp))
    print("\ntotals (seconds):")
    for design, steps in times.items():
        print(f"  {design:32s} {sum(steps.values()):7.2f}  ({', '.join(steps)})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
