"""Helpers of the exchange round-trip tests: the figures two warehouses are compared on, and a configuration
written and run."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import yaml

from pipelines.runner import run_pipeline
from tests.conftest import ROOT

EXAMPLE = ROOT / "pipelines" / "sources" / "sdmx_exchange"
# Our ICCS dataset's columns as a source's fields (schemas.sdmx.iccs_schema).
ICCS_COLUMNS = {
    "offence": "ICCS",
    "country": "GEO",
    "area": "AREA",
    "date": "TIME_PERIOD",
    "count": "OBS_VALUE",
    "flag": "OBS_STATUS",
}
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


def figures(warehouse: Path, view: str, zeros: bool) -> pd.DataFrame:
    keys, values = VIEWS[view]
    summed = ", ".join(f"sum({v}) AS {v}" for v in values)
    having = "" if zeros else "HAVING sum(count) <> 0"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        frame = con.execute(
            f"SELECT {', '.join(keys)}, {summed} FROM {view} GROUP BY ALL {having} ORDER BY ALL NULLS FIRST"
        ).df()
    return frame


def assert_identical(original: Path, again: Path, stored_zeros: bool = True) -> dict[str, int]:
    """``stored_zeros`` False: cells of 0 in the views of stored cells are not compared (a file with every ICCS
    level, read back with nested_totals, stores the remainder 0 of each level the export added: ICCS01 = 0101 +
    0102 + 0); every roll-up, rate and SDG figure still is.

    A national figure the original summed from areas without populations has no rate there; read back, it is a
    published national figure (AREA _T) and has the country's rate: those rows are compared on their counts, and
    ``rows["v_rates unrated"]`` names their countries."""
    rows = {}
    for view in VIEWS:
        zeros = stored_zeros or view in ("v_rates", "v_sdg16")
        before, after = figures(original, view, zeros), figures(again, view, zeros)
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


def read_back(folder: Path, source: dict, population: list) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "sources.yaml"
    config.write_text(yaml.safe_dump({"sources": {"exchanged": source}, "population": population}))
    result = run_pipeline(config, folder / "again.duckdb", folder / "reports", with_reports=False)
    assert result.ok, (result.errors, [(s.error, s.failed_checks, s.reasons) for s in result.sources])
    assert sum(s.records_quarantined for s in result.sources) == 0
    return folder / "again.duckdb"
