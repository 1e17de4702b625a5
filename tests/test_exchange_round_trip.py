"""SDMX-CSV written by `iccs export` and read back with `format: sdmx-csv` gives an identical warehouse: every
figure the reports and users read (the national and area counts by ICCS code and period, the roll-ups, the rates,
the SDG 16 figures) is the same, to the last decimal.

Two warehouses unlike each other: the synthetic demo (incident records of 50 districts, by month; exported with
``--levels stored --freq M``, each cell once) and the Eurostat source (annual national tables with nested totals
and UK parts as areas; exported with every ICCS level and read back with the shipped ``sdmx_exchange`` example,
whose ``nested_totals`` nets each level of its sub-levels again).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from pipelines.runner import run_pipeline
from tests.conftest import ROOT, requires_shared_data
from warehouse.exchange import export

EXAMPLE = ROOT / "pipelines" / "sources" / "sdmx_exchange"
# What each view is compared on: the figure's key, then its values (the source's name is not a figure).
VIEWS = {
    "v_area_counts": (["country", "area", "iccs_code", "year", "month", "unit", "stage"], ["count"]),
    "v_national_counts": (["country", "iccs_code", "year", "month", "unit", "stage"], ["count"]),
    "v_rates": (
        ["country", "area", "iccs_code", "level", "year", "unit", "stage"],
        ["count", "population", "rate_per_100k", "months"],
    ),
    "v_sdg16": (["indicator", "component", "country", "unit", "stage", "year"], ["count", "rate_per_100k"]),
}


def _figures(warehouse: Path, view: str, zeros: bool) -> pd.DataFrame:
    keys, values = VIEWS[view]
    summed = ", ".join(f"sum({v}) AS {v}" for v in values)
    having = "" if zeros else "HAVING sum(count) <> 0"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = con.execute(
            f"SELECT {', '.join(keys)}, {summed} FROM {view} GROUP BY ALL {having} ORDER BY ALL NULLS FIRST"
        ).df()
    return frame


def _assert_identical(original: Path, again: Path, stored_zeros: bool = True) -> dict[str, int]:
    """``stored_zeros`` False: cells of 0 in the views of stored cells are not compared (a file with every ICCS
    level, read back with nested_totals, stores the remainder 0 of each level the export added: ICCS01 = 0101 +
    0102 + 0); every roll-up, rate and SDG figure still is.

    A national figure the original summed from areas without populations has no rate there; read back, it is a
    published national figure (AREA _T) and has the country's rate: those rows are compared on their counts, and
    ``rows["v_rates unrated"]`` names their countries."""
    rows = {}
    for view in VIEWS:
        zeros = stored_zeros or view in ("v_rates", "v_sdg16")
        before, after = _figures(original, view, zeros), _figures(again, view, zeros)
        if view in ("v_rates", "v_sdg16"):  # the same counts; rates where the original had a population (below)
            key, rated = VIEWS[view][0], [c for c in ("population", "rate_per_100k") if c in before]
            unrated = before[before.rate_per_100k.isna()][key]
            rows[f"{view} unrated"] = sorted(set(unrated.country))
            after = after.merge(unrated, on=key, how="left", indicator=True)
            after.loc[after._merge.eq("both"), rated] = float("nan")
            after = after.drop(columns="_merge")
        pd.testing.assert_frame_equal(before, after, check_dtype=False, rtol=1e-12, atol=1e-9, obj=view)
        rows[view] = len(before)
    return rows


def _read_back(folder: Path, source: dict, population: list) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "sources.yaml"
    config.write_text(yaml.safe_dump({"sources": {"exchanged": source}, "population": population}))
    result = run_pipeline(config, folder / "again.duckdb", folder / "reports", with_reports=False)
    assert result.ok, (result.errors, [(s.error, s.failed_checks, s.reasons) for s in result.sources])
    assert sum(s.records_quarantined for s in result.sources) == 0
    return folder / "again.duckdb"


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
        "columns": {
            "offence": "ICCS",
            "country": "GEO",
            "area": "AREA",
            "date": "TIME_PERIOD",
            "count": "OBS_VALUE",
            "flag": "OBS_STATUS",
        },
        "date_format": "%Y-%m",
        "total_area": "_T",
        "correspondence": str(EXAMPLE / "correspondence.csv"),
    }
    again = _read_back(tmp_path, source, population)
    rows = _assert_identical(result.warehouse, again)
    assert rows["v_rates unrated"] == []
    assert rows["v_area_counts"] > 10_000 and rows["v_rates"] > 1_000 and rows["v_sdg16"] > 0


@requires_shared_data()
def test_eurostat_exported_with_every_level_and_read_back_by_the_shipped_example_is_identical(tmp_path) -> None:
    eurostat = ROOT / "pipelines" / "sources" / "eurostat_crim_off_cat" / "sources.yaml"
    first = run_pipeline(eurostat, tmp_path / "w.duckdb", tmp_path / "reports", with_reports=False)
    assert first.ok
    (tmp_path / "files").mkdir()
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        export(con, "sdmx-csv", "iccs", tmp_path / "files" / "eurostat.csv", sdmx_version=1)
    example = yaml.safe_load((EXAMPLE / "sources.yaml").read_text())
    source = example["sources"]["sdmx_exchange"]
    source["files"] = str(tmp_path / "files" / "eurostat.csv")
    source["correspondence"] = str(EXAMPLE / "correspondence.csv")
    again = _read_back(tmp_path / "again", source, example["population"])
    rows = _assert_identical(tmp_path / "w.duckdb", again, stored_zeros=False)
    assert rows["v_national_counts"] > 8_000
    # the UK, published in three parts (England and Wales, Scotland, Northern Ireland) that the World Bank's
    # population does not give: the original has no UK rate; read back, the UK figure has the UK's population
    assert rows["v_rates unrated"] == ["GBR"]


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
        "columns": {"offence": "ICCS", "country": "GEO", "area": "AREA", "date": "TIME_PERIOD"}
        | {"count": "OBS_VALUE", "flag": "OBS_STATUS"},
        "date_format": "%Y",
        "total_area": "_T",
        "correspondence": str(EXAMPLE / "correspondence.csv"),
    }
    again = _read_back(tmp_path / "again", source, [])
    query = "SELECT area, iccs_code, count, flag FROM offence_counts WHERE area IS NOT NULL ORDER BY ALL"
    with duckdb.connect(str(again), read_only=True) as con:
        assert con.execute(query).fetchall() == [
            ("North", "0101", 3.0, "p"),
            ("North", "02011", 5.0, "allocated"),
            ("North", "02012", 5.0, "allocated"),
            ("South", "0101", 4.0, "e"),
        ]
    _assert_identical(tmp_path / "w.duckdb", again)
