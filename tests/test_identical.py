"""bench.identical compare on tiny hand-made warehouses: what counts as the same output and what does not."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from bench.identical import main, shipped_configs

TABLES = """
CREATE TABLE offence_counts (source VARCHAR, year INTEGER, count DOUBLE, file VARCHAR);
CREATE TABLE runs (run_id VARCHAR, source VARCHAR, started_at TIMESTAMP, records_in BIGINT);
CREATE VIEW v_total AS SELECT source, sum(count) AS count FROM offence_counts GROUP BY source;
"""


def _warehouse(folder: Path, counts: list[tuple[str, int, float]], run_id: str, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps({"commit": run_id, "out": str(folder), "runs": {}}))
    con = duckdb.connect(str(folder / "demo.duckdb"))
    con.execute(TABLES + extra)
    # The file column holds a path inside the output folder: the same file on both sides once normalised.
    con.executemany("INSERT INTO offence_counts VALUES (?, ?, ?, ?)", [(*row, f"{folder}/in.csv") for row in counts])
    con.execute("INSERT INTO runs VALUES (?, 'demo', now()::TIMESTAMP, 3)", [run_id])
    con.close()
    return folder


COUNTS = [("demo", 2020, 1.0), ("demo", 2021, 0.1 + 0.2), ("demo", 2021, 0.1 + 0.2)]


def test_identical_pair_and_float_noise_are_the_same(tmp_path: Path, capsys) -> None:
    a = _warehouse(tmp_path / "a", COUNTS, "run-1")
    b = _warehouse(tmp_path / "b", COUNTS, "run-2")  # another run id, another time: left out
    assert main(["compare", str(a), str(b)]) == 0
    assert capsys.readouterr().out.strip().endswith("all same")
    noisy = [("demo", 2020, 1.0 + 4e-15), ("demo", 2021, 0.3), ("demo", 2021, 0.30000000000000004)]
    assert 1.0 + 4e-15 != 1.0  # differs in the 15th digit
    c = _warehouse(tmp_path / "c", noisy, "run-3")
    assert main(["compare", str(a), str(c)]) == 0
    out = capsys.readouterr().out
    assert "offence_counts" in out and "v_total" in out and "DIFFERENT" not in out


def test_a_missing_row_a_vanished_table_and_a_real_float_change_differ(tmp_path: Path, capsys) -> None:
    a = _warehouse(tmp_path / "a", COUNTS, "run-1", extra="CREATE TABLE quarantine (source VARCHAR);")
    b = _warehouse(tmp_path / "b", COUNTS[:2], "run-2", extra="CREATE TABLE brand_new (x INTEGER);")
    assert main(["compare", str(a), str(b)]) == 1
    lines = capsys.readouterr().out.splitlines()
    line = {(parts[0], parts[1]): " ".join(parts[2:]) for parts in (x.split() for x in lines) if len(parts) > 2}
    assert line["demo", "offence_counts"].startswith("1 rows only in A, 0 only in B")
    assert line["demo", "v_total"].startswith("1 rows only in A, 1 only in B")
    assert line["demo", "runs"] == "same (1 rows)"
    assert line["demo", "quarantine"].startswith("only in A")
    assert line["demo", "brand_new"].startswith("only in B (new; not a difference)")
    d = _warehouse(tmp_path / "d", COUNTS, "run-4")
    c = _warehouse(tmp_path / "c", [("demo", 2020, 1.000001), *COUNTS[1:]], "run-3")  # the 7th digit: a change
    assert main(["compare", str(d), str(c)]) == 1
    assert "1 rows only in A, 1 only in B" in capsys.readouterr().out


def test_every_shipped_yaml_is_built() -> None:
    configs, skipped = shipped_configs()
    names = {c.name: c.command for c in configs}
    assert names["chile_cnp"] == "map-check" and names["unodc_homicide.sources_gsh2019"] == "run"
    assert sum(command == "run" for command in names.values()) == 14 and not skipped
