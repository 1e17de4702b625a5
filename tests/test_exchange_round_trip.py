"""SDMX-CSV written by `iccs export` and read back with `format: sdmx-csv` gives an identical warehouse: every
figure the reports and users read (the national and area counts by ICCS code and period, the roll-ups, the rates,
the SDG 16 figures) is the same, to the last decimal.

Here the synthetic demo (incident records of 50 districts, by month; exported with ``--levels stored --freq M``,
each cell once) and a hand-made table with flags and a split correspondence; the Eurostat source (annual tables
with nested totals, every ICCS level exported) is read back in ``test_exchange_real``.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from pipelines.runner import run_pipeline
from tests.exchange_fixture import EXAMPLE, ICCS_COLUMNS, assert_identical, read_back
from warehouse.exchange import export


def test_the_demo_exported_as_sdmx_csv_and_read_back_is_identical(demo_run, tmp_path) -> None:
    manifest, result = demo_run
    with duckdb.connect(str(result.warehouse), read_only=True) as con:
        done = export(con, "sdmx-csv", "iccs", tmp_path / "demo.csv", frequencies=("M",), levels="stored")
    assert list(done.files.values())[0] > 10_000
    demo = yaml.safe_load(Path(manifest.config_path).read_text())
    population = demo["population"]
    for entry in population:
        entry["files"] = str(Path(manifest.config_path).parent / entry["files"])
    source = {
        "level": "aggregate",
        "unit": "offences",
        "stage": "police",
        "files": str(tmp_path / "demo.csv"),
        "format": "sdmx-csv",
        "filter": {"UNIT": "NR", "FREQ": "M"},
        "columns": ICCS_COLUMNS,
        "date_format": "%Y-%m",
        "total_area": "_T",
        "correspondence": str(EXAMPLE / "correspondence.csv"),
    }
    again = read_back(tmp_path, source, population)
    rows = assert_identical(result.warehouse, again)
    assert rows["v_rates unrated"] == []
    assert rows["v_area_counts"] > 10_000 and rows["v_rates"] > 1_000 and rows["v_sdg16"] > 0


@pytest.mark.parametrize("version", [1, 2])
def test_flags_and_allocated_counts_survive_the_round_trip(tmp_path, version) -> None:
    """The flags a cell carries (a publisher's, allocated) come back in offence_counts.flag."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "counts.csv").write_text(
        "region,offence,year,n,flag\nNorth,HOM,2020,3,p\nNorth,ASL,2020,10,\nSouth,HOM,2020,4,e\n"
    )
    (folder / "correspondence.csv").write_text(
        "national_code,iccs_code,correspondence,share\nHOM,0101,full,\nASL,02011,split,0.5\nASL,02012,split,0.5\n"
    )
    config = {
        "sources": {
            "police": {
                "country": "NZL",
                "level": "aggregate",
                "unit": "offences",
                "files": "counts.csv",
                "columns": {"area": "region", "offence": "offence", "date": "year", "count": "n", "flag": "flag"},
                "date_format": "%Y",
                "correspondence": "correspondence.csv",
            }
        }
    }
    (folder / "sources.yaml").write_text(yaml.safe_dump(config))
    assert run_pipeline(folder / "sources.yaml", tmp_path / "w.duckdb", tmp_path / "r", with_reports=False).ok
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        export(con, "sdmx-csv", "iccs", tmp_path / "out.csv", sdmx_version=version, levels="stored")
    source = {
        "level": "aggregate",
        "unit": "offences",
        "files": str(tmp_path / "out.csv"),
        "format": "sdmx-csv",
        "filter": {"UNIT": "NR"},
        "columns": ICCS_COLUMNS,
        "date_format": "%Y",
        "total_area": "_T",
        "correspondence": str(EXAMPLE / "correspondence.csv"),
    }
    again = read_back(tmp_path / "again", source, [])
    query = "SELECT area, iccs_code, count, flag FROM offence_counts WHERE area IS NOT NULL ORDER BY ALL"
    with duckdb.connect(str(again), read_only=True) as con:
        assert con.execute(query).fetchall() == [
            ("North", "0101", 3.0, "p"),
            ("North", "02011", 5.0, "allocated"),
            ("North", "02012", 5.0, "allocated"),
            ("South", "0101", 4.0, "e"),
        ]
    assert_identical(tmp_path / "w.duckdb", again)
