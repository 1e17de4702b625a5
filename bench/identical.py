"""Prove that a change to the load path leaves the warehouse outputs identical.

    python -m bench.identical build --out DIR [--demo-records N] [--demo-seed S] [--only NAME ...] [--force]
    python -m bench.identical compare DIR_A DIR_B [--verbose]

``build`` runs the CURRENT checkout's ``iccs`` (the console script of the Python running this module, i.e. the
checkout whose virtualenv runs it) in a subprocess, as a user would, once per configuration, each into a new
warehouse file of its own, ``DIR/<name>.duckdb``:

- every shipped real source configuration: every YAML under ``pipelines/sources/`` with a ``sources:`` mapping
  (``unodc_homicide`` ships two, ``sources.yaml`` and ``sources_gsh2019.yaml``: two warehouses), run with
  ``iccs run --config FILE --no-reports --warehouse DIR/<name>.duckdb`` and ``ICCS_SHARED_DATA`` set (to
  ``$ICCS_SHARED_DATA`` if set, else ``/work/shared/data``, else ``../shared/data`` beside the checkout);
- a YAML with only ``correspondences:`` (``chile_cnp``: a correspondence table without records; ``iccs run``
  has nothing to load from it and writes only the reference tables) runs ``iccs map-check --config FILE
  --warehouse DIR/<name>.duckdb`` instead, the one command that classifies it and writes tables
  (``correspondence``, ``mapping_coverage``, ``mapping_coverage_codes``);
- the demo: ``iccs demo-data --out DIR/inputs/demo --records N --seed S`` (default 200,000 records, seed
  20261127: the planted defects are part of every generated demo), then ``iccs run --config
  DIR/inputs/demo/sources.yaml --no-reports``.

Each run gets a clean environment: no ``DAGSTER_HOME`` (an ephemeral Dagster instance, as ``iccs run`` uses
without it), none of the ``ICCS_*`` path variables, a scratch working directory and reports folder. Its exit
code, seconds and output go to ``DIR/manifest.json`` and ``DIR/logs/<name>.log``; the manifest also records the
commit (and whether the tree was dirty), the checkout and output paths, and a SHA-256 of every input (shared data
files, each configuration folder but its README, the generated demo), so ``compare`` can tell a changed input
from a changed pipeline. Build refuses a non-empty ``DIR`` unless ``--force`` (a warehouse that already exists
would be loaded incrementally, not from scratch).

``compare`` attaches each pair of warehouses (same file name in both folders) read-only in one DuckDB connection
and, for every base table and view of the ``main`` schema (``duckdb_tables()``/``duckdb_views()``), counts
``(A EXCEPT ALL B)`` and ``(B EXCEPT ALL A)`` over the columns both sides have, printing one line per table:
``same``, or ``N rows only in A, M only in B``. It exits 1 when anything differs. Rules:

- **Columns left out (they legitimately differ between two runs of the same code on the same input):**

  - ``run_id`` (``runs``, ``quarantine``, and ``v_latest_runs`` which selects ``runs.*``): a new Dagster run id
    per run (a UUID; ``prune-<time>`` for pruned files);
  - ``started_at``, ``finished_at`` (``runs``, ``v_latest_runs``): wall-clock times of the load;
  - ``applied_at`` (``warehouse_schema``): when the schema was created;
  - ``computed_at`` (``mapping_coverage``): when ``map-check`` computed its figures;
  - ``seconds``, ``checked_at``, ``loaded_at``: not in the warehouse today (``seconds`` is only in ``iccs runs``'
    output and the Dagster metadata), left out should a rewrite add them;
  - any other column of a TIMESTAMP type (none today: no data column of the warehouse is a timestamp; dates
    such as ``occurred_on`` are DATE and are compared).

  Everything else is compared, including ``warehouse_schema.fingerprint`` (a hash of the DDL: it changes only
  when a table or view definition does) and every view (views bind to their own warehouse's tables).
- **Floating point:** DOUBLE and FLOAT columns are compared after rounding to 9 significant digits
  (``round(x, 8 - floor(log10(|x|)))``; 0, NULL, NaN and infinities as they are), because a rewrite may sum the
  same numbers in another order (parallel aggregation, another join order) and float addition is not
  associative: ``sum(count)`` of fractional (split, UNODC) counts or a rate may differ in the 15th-17th digit.
  Two values that round to the same 9 digits (a difference of less than one unit in the 9th digit, at most
  ~1e-8 relative) are therefore the same; and two values within a few ulps of each other but on either side of
  a rounding boundary round to different 9-digit values (a false "differs", rare; look at the rows). Floats
  inside nested types (none today) are compared exactly.
- **Paths:** text columns (``sources.config``, ``files``, the demo's ``file`` columns, details quoting a path)
  hold absolute paths of the checkout and of ``DIR``, which differ between worktrees and output folders: in
  every VARCHAR column the side's own output folder is replaced by ``<out>`` and its checkout by ``<checkout>``
  (from its manifest), and the shared data folder by ``<shared_data>``.
- **Tables or views on one side only** are listed; one missing in B that A has (an existing output that
  vanished) is a difference, one new in B is not. The same for columns, and for whole warehouses. A column whose
  type changed is a difference. Different inputs (manifest digests) or exit codes of the runs are reported and
  count as differences.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import duckdb
import yaml

ROOT = Path(__file__).resolve().parent.parent
SOURCES_DIR = ROOT / "pipelines" / "sources"
MANIFEST = "manifest.json"
DEMO = "demo"
DEMO_RECORDS = 200_000
DEMO_SEED = 20261127
SIGNIFICANT_DIGITS = 9
# Columns that differ between two runs of the same code on the same input (see the module docstring).
VOLATILE_COLUMNS = frozenset(
    {"run_id", "started_at", "finished_at", "applied_at", "computed_at", "checked_at", "loaded_at", "seconds"}
)
FLOAT_TYPES = ("DOUBLE", "FLOAT", "REAL")
# Variables that would point a run at another warehouse, config, demo or Dagster instance.
CLEARED_ENV = (
    "DAGSTER_HOME",
    "ICCS_CONFIG",
    "ICCS_WAREHOUSE",
    "ICCS_REPORTS",
    "ICCS_DEMO_DIR",
    "ICCS_LAKE_DATA",
    "ICCS_WORKERS",
)


@dataclasses.dataclass(frozen=True)
class Config:
    name: str  # the warehouse is <name>.duckdb
    path: Path
    command: str  # "run" or "map-check"


# ---------------------------------------------------------------------------------------------------- build


def shipped_configs(sources_dir: Path = SOURCES_DIR) -> tuple[list[Config], list[tuple[Path, str]]]:
    """Every YAML under pipelines/sources/ that configures sources (``iccs run``) or only correspondence tables
    (``iccs map-check``); and the YAML files that are neither, with why."""
    configs, skipped = [], []
    for path in sorted(sources_dir.rglob("*.y*ml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        name = path.parent.name if path.stem == "sources" else f"{path.parent.name}.{path.stem}"
        if isinstance(doc, dict) and doc.get("sources"):
            configs.append(Config(name, path, "run"))
        elif isinstance(doc, dict) and doc.get("correspondences"):
            configs.append(Config(name, path, "map-check"))
        else:
            skipped.append((path, "neither sources: nor correspondences:"))
    return configs, skipped


def shared_data() -> Path:
    candidates = [os.environ.get("ICCS_SHARED_DATA"), "/work/shared/data", str(ROOT.parent / "shared" / "data")]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir():
            return Path(candidate).resolve()
    raise SystemExit("bench.identical: no shared data (set ICCS_SHARED_DATA to the folder holding it)")


def digest(path: Path, skip: tuple[str, ...] = ()) -> str:
    """SHA-256 of a file, or of a folder's files (relative names and contents, sorted; names ending in ``skip``
    left out)."""
    h = hashlib.sha256()
    files = (
        [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file() and not p.name.endswith(skip))
    )
    for file in files:
        if path.is_dir():
            h.update(str(file.relative_to(path)).encode() + b"\0")
        with file.open("rb") as fh:
            for block in iter(lambda fh=fh: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _git(*args: str) -> str:
    result = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True, check=False)
    return result.stdout.strip()


def _iccs() -> list[str]:
    script = Path(sys.executable).parent / "iccs"
    return (
        [str(script)]
        if script.is_file()
        else [sys.executable, "-c", "import sys; from pipelines.cli import main; sys.exit(main())"]
    )


def _code_root(env: dict[str, str]) -> Path:
    """The checkout whose code the iccs subprocesses import (an editable install points at one checkout)."""
    probe = "import pipelines, pathlib; print(pathlib.Path(pipelines.__file__).resolve().parent.parent)"
    with tempfile.TemporaryDirectory() as cwd:
        out = subprocess.run([sys.executable, "-c", probe], env=env, cwd=cwd, capture_output=True, text=True)
    return Path(out.stdout.strip() or "?")


def _env(shared: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_ENV}
    env["ICCS_SHARED_DATA"] = str(shared)
    return env


def _run(cmd: list[str], env: dict[str, str], cwd: Path, log: Path) -> tuple[int, float]:
    started = time.perf_counter()
    with log.open("a", encoding="utf-8") as out:
        out.write(f"$ {' '.join(cmd)}\n")
        out.flush()
        rc = subprocess.run(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, check=False).returncode
        seconds = time.perf_counter() - started
        out.write(f"[exit {rc}, {seconds:.1f} s]\n")
    return rc, seconds


def build(out: Path, demo_records: int, demo_seed: int, only: Sequence[str] = (), force: bool = False) -> int:
    out = out.resolve()
    if out.exists() and any(out.iterdir()):
        if not force:
            print(f"bench.identical: {out} is not empty (use --force to clear it)", file=sys.stderr)
            return 2
        for child in out.iterdir():
            shutil.rmtree(child) if child.is_dir() else child.unlink()
    out.mkdir(parents=True, exist_ok=True)
    (out / "logs").mkdir()
    shared = shared_data()
    env = _env(shared)
    iccs = _iccs()
    code = _code_root(env)
    if code != ROOT:
        print(f"bench.identical: this Python's iccs runs the code in {code}, not this checkout {ROOT}", file=sys.stderr)
        return 2
    configs, skipped = shipped_configs()
    if only:
        configs = [c for c in configs if c.name in only]
    started = time.perf_counter()
    manifest: dict = {
        "commit": _git("rev-parse", "HEAD"),
        "branch": _git("rev-parse", "--abbrev-ref", "HEAD"),
        "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "checkout": str(ROOT),
        "out": str(out),
        "iccs": iccs,
        "python": sys.version.split()[0],
        "duckdb": duckdb.__version__,
        "shared_data": str(shared),
        "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "inputs": {"shared_data": digest(shared)},
        "skipped_yaml": {str(p.relative_to(ROOT)): why for p, why in skipped},
        "runs": {},
    }
    print(f"commit {manifest['commit'][:12]}{' (dirty)' if manifest['dirty'] else ''}, checkout {ROOT}, out {out}")
    with tempfile.TemporaryDirectory(prefix="identical-") as scratch_dir:
        scratch = Path(scratch_dir)
        jobs: list[tuple[str, list[str], Path]] = []
        for config in configs:
            manifest["inputs"][config.name] = digest(config.path.parent, skip=(".md",))  # READMEs are no input
            warehouse = out / f"{config.name}.duckdb"
            cmd = [*iccs, config.command, "--config", str(config.path), "--warehouse", str(warehouse)]
            if config.command == "run":
                cmd += ["--no-reports", "--reports", str(scratch / "reports" / config.name)]
            jobs.append((config.name, cmd, config.path))
        if not only or DEMO in only:
            demo_dir = out / "inputs" / DEMO
            log = out / "logs" / f"{DEMO}.log"
            gen = [*iccs, "demo-data", "--out", str(demo_dir), "--records", str(demo_records), "--seed", str(demo_seed)]
            rc, seconds = _run(gen, env, scratch, log)
            manifest["demo"] = {"records": demo_records, "seed": demo_seed, "generate_rc": rc, "seconds": seconds}
            if rc != 0:
                print(f"✗ demo-data failed (exit {rc}): see {log}", file=sys.stderr)
                return 1
            manifest["inputs"][DEMO] = digest(demo_dir)
            cmd = [*iccs, "run", "--config", str(demo_dir / "sources.yaml"), "--warehouse", str(out / "demo.duckdb")]
            jobs.append((DEMO, [*cmd, "--no-reports", "--reports", str(scratch / "reports" / DEMO)], demo_dir))
        for name, cmd, config_path in jobs:
            rc, seconds = _run(cmd, env, scratch, out / "logs" / f"{name}.log")
            manifest["runs"][name] = {
                "command": cmd[len(iccs)],
                "config": str(config_path),
                "returncode": rc,
                "seconds": round(seconds, 1),
            }
            mark = "✓" if rc == 0 else "✗"
            print(f"{mark} {name:<40} exit {rc}  {seconds:7.1f} s  -> {name}.duckdb", flush=True)
    manifest["seconds"] = round(time.perf_counter() - started, 1)
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    failed = [name for name, run in manifest["runs"].items() if run["returncode"] != 0]
    print(f"built {len(manifest['runs'])} warehouses in {manifest['seconds']:.0f} s into {out}")
    if failed:
        print(f"non-zero exit: {', '.join(failed)} (see {out / 'logs'}); compare checks the exit codes match")
    return 0


# -------------------------------------------------------------------------------------------------- compare


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def _relations(con: duckdb.DuckDBPyConnection, db: str) -> dict[str, str]:
    """Base tables and views of a warehouse's main schema: name -> 'table' | 'view'."""
    rows = con.execute(
        "SELECT table_name, 'table' FROM duckdb_tables() WHERE database_name = $db AND schema_name = 'main' "
        "UNION ALL SELECT view_name, 'view' FROM duckdb_views() "
        "WHERE database_name = $db AND schema_name = 'main' AND NOT internal",
        {"db": db},
    ).fetchall()
    return dict(sorted(rows))


def _columns(con: duckdb.DuckDBPyConnection, db: str, name: str) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE SELECT * FROM {db}.main.{_quote(name)}").fetchall()
    return {row[0]: row[1] for row in rows}


def volatile(column: str, type_: str) -> bool:
    return column in VOLATILE_COLUMNS or type_.upper().startswith("TIMESTAMP")


def _expression(column: str, type_: str, paths: Sequence[tuple[str, str]]) -> str:
    col = _quote(column)
    if type_.upper() in FLOAT_TYPES:
        d = SIGNIFICANT_DIGITS - 1
        return (
            f"CASE WHEN {col} IS NULL OR {col} = 0 OR isnan({col}) OR isinf({col}) THEN {col}::DOUBLE "
            f"ELSE round({col}::DOUBLE, {d} - CAST(floor(log10(abs({col}::DOUBLE))) AS INTEGER)) END AS {col}"
        )
    if type_.upper() == "VARCHAR" and paths:
        expr = col
        for path, placeholder in paths:
            expr = f"replace({expr}, {_literal(path)}, {_literal(placeholder)})"
        return f"{expr} AS {col}"
    return col


def _paths(manifest: dict) -> list[tuple[str, str]]:
    """(prefix, placeholder) pairs, longest first, so a folder inside another is replaced before it."""
    pairs = [(manifest[key], f"<{key}>") for key in ("out", "checkout", "shared_data") if manifest.get(key)]
    return sorted(pairs, key=lambda pair: -len(pair[0]))


@dataclasses.dataclass
class Outcome:
    lines: list[str] = dataclasses.field(default_factory=list)
    differs: bool = False

    def say(self, text: str, differs: bool = False) -> None:
        self.lines.append(text)
        self.differs = self.differs or differs
        print(text, flush=True)


def compare_warehouses(
    a: Path,
    b: Path,
    paths_a: Sequence[tuple[str, str]] = (),
    paths_b: Sequence[tuple[str, str]] = (),
    label: str = "",
    verbose: bool = False,
    outcome: Outcome | None = None,
) -> Outcome:
    """Every table and view of two warehouses compared with EXCEPT ALL both ways (see the module docstring)."""
    outcome = outcome or Outcome()
    label = label or a.name
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute(f"ATTACH {_literal(str(a))} AS a (READ_ONLY); ATTACH {_literal(str(b))} AS b (READ_ONLY)")
        rel_a, rel_b = _relations(con, "a"), _relations(con, "b")
        width = max((len(n) for n in rel_a | rel_b), default=10)
        for name in sorted(rel_a.keys() | rel_b.keys()):
            head = f"{label:<34} {name:<{width}}"
            if name not in rel_b:
                outcome.say(f"{head} only in A (an output vanished in B)", differs=True)
                continue
            if name not in rel_a:
                outcome.say(f"{head} only in B (new; not a difference)")
                continue
            cols_a, cols_b = _columns(con, "a", name), _columns(con, "b", name)
            notes, differs = [], False
            if rel_a[name] != rel_b[name]:
                notes.append(f"{rel_a[name]} in A, {rel_b[name]} in B")
            gone = [c for c in cols_a if c not in cols_b]
            new = [c for c in cols_b if c not in cols_a]
            retyped = [f"{c} {cols_a[c]}->{cols_b[c]}" for c in cols_a if c in cols_b and cols_a[c] != cols_b[c]]
            if gone:
                notes.append(f"columns only in A: {', '.join(gone)}")
                differs = True
            if new:
                notes.append(f"new columns in B (not compared): {', '.join(new)}")
            if retyped:
                notes.append(f"type changed: {', '.join(retyped)}")
                differs = True
            compared = [c for c in cols_a if c in cols_b and not volatile(c, cols_a[c])]
            skipped = [c for c in cols_a if c in cols_b and volatile(c, cols_a[c])]
            if verbose and skipped:
                notes.append(f"left out: {', '.join(skipped)}")
            if not compared:
                outcome.say(f"{head} no comparable column; " + "; ".join(notes), differs=differs)
                continue
            select_a = ", ".join(_expression(c, cols_a[c], paths_a) for c in compared)
            select_b = ", ".join(_expression(c, cols_b[c], paths_b) for c in compared)
            # Each side once (a view is computed once, not once per direction), then EXCEPT ALL both ways.
            con.execute(f"CREATE OR REPLACE TEMP TABLE side_a AS SELECT {select_a} FROM a.main.{_quote(name)}")
            con.execute(f"CREATE OR REPLACE TEMP TABLE side_b AS SELECT {select_b} FROM b.main.{_quote(name)}")
            only_a = con.execute("SELECT count(*) FROM (FROM side_a EXCEPT ALL FROM side_b)").fetchone()[0]
            only_b = con.execute("SELECT count(*) FROM (FROM side_b EXCEPT ALL FROM side_a)").fetchone()[0]
            rows = con.execute("SELECT count(*) FROM side_a").fetchone()[0]
            con.execute("DROP TABLE side_a; DROP TABLE side_b")
            if only_a or only_b:
                differs = True
                text = f"{only_a} rows only in A, {only_b} only in B (of {rows} in A)"
            else:
                text = f"same ({rows} rows)"
            outcome.say(f"{head} {text}" + ("; " + "; ".join(notes) if notes else ""), differs=differs)
    finally:
        con.close()
    return outcome


def compare(dir_a: Path, dir_b: Path, verbose: bool = False) -> int:
    dir_a, dir_b = dir_a.resolve(), dir_b.resolve()
    man_a, man_b = _manifest(dir_a), _manifest(dir_b)
    outcome = Outcome()
    for side, folder, man in (("A", dir_a, man_a), ("B", dir_b, man_b)):
        commit = man.get("commit", "?")[:12] + (" (dirty)" if man.get("dirty") else "")
        outcome.say(f"{side}: {folder}  commit {commit}")
    inputs_a, inputs_b = man_a.get("inputs", {}), man_b.get("inputs", {})
    for key in sorted(inputs_a.keys() & inputs_b.keys()):
        if inputs_a[key] != inputs_b[key]:
            outcome.say(f"input {key}: different on the two sides (the outputs cannot be expected equal)", True)
    runs_a, runs_b = man_a.get("runs", {}), man_b.get("runs", {})
    for key in sorted(runs_a.keys() & runs_b.keys()):
        if runs_a[key]["returncode"] != runs_b[key]["returncode"]:
            rc_a, rc_b = runs_a[key]["returncode"], runs_b[key]["returncode"]
            outcome.say(f"{key}: exit code {rc_a} in A, {rc_b} in B", differs=True)
    files_a = {p.name for p in dir_a.glob("*.duckdb")}
    files_b = {p.name for p in dir_b.glob("*.duckdb")}
    for name in sorted(files_a | files_b):
        if name not in files_b:
            outcome.say(f"{name}: warehouse only in A (vanished in B)", differs=True)
        elif name not in files_a:
            outcome.say(f"{name}: warehouse only in B (new; not a difference)")
        else:
            compare_warehouses(
                dir_a / name, dir_b / name, _paths(man_a), _paths(man_b), Path(name).stem, verbose, outcome
            )
    if not files_a and not files_b:
        outcome.say("no warehouse in either folder", differs=True)
    print("DIFFERENT" if outcome.differs else "all same")
    return 1 if outcome.differs else 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.identical", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="one warehouse per shipped configuration and the demo, into --out")
    b.add_argument("--out", type=Path, required=True)
    b.add_argument("--demo-records", type=int, default=DEMO_RECORDS)
    b.add_argument("--demo-seed", type=int, default=DEMO_SEED)
    b.add_argument("--only", action="append", default=[], help="only this configuration (repeatable; 'demo')")
    b.add_argument("--force", action="store_true", help="clear a non-empty --out first")
    c = sub.add_parser("compare", help="every table and view of every warehouse pair, EXCEPT ALL both ways")
    c.add_argument("dir_a", type=Path)
    c.add_argument("dir_b", type=Path)
    c.add_argument("--verbose", action="store_true", help="also list the columns left out of each table")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "build":
        return build(args.out, args.demo_records, args.demo_seed, args.only, args.force)
    return compare(args.dir_a, args.dir_b, args.verbose)


if __name__ == "__main__":
    sys.exit(main())
