"""The demo's planted victim sex, age group and weapon, through the whole pipeline: the warehouse must give back
exactly the counts the manifest says were planted, rates by sex must divide by the residents of that sex, and the
planted invalid sex values must be quarantined, never counted."""

from __future__ import annotations

import csv
from collections import Counter

import duckdb
import pytest

from warehouse.connection import connect

PLANTED = ("victim_sex", "victim_age", "weapon")


@pytest.fixture(scope="module")
def warehouse(demo_run) -> duckdb.DuckDBPyConnection:
    _, result = demo_run
    with connect(result.warehouse, read_only=True) as con:
        yield con


def _offences(manifest) -> dict[str, dict]:
    return manifest.details["disaggregations"]["offences"]


def test_homicide_victims_by_sex_add_up_to_the_total_each_year(demo_run, warehouse) -> None:
    manifest, _ = demo_run
    by_year = {o["national_code"]: o["valid_records_by_year"] for o in manifest.details["offences"]}["101"]
    for view, where in (("v_sdg16_by_sex_age", "indicator = '16.1.1'"), ("v_counts_by_sex_age", "iccs_code = '0101'")):
        rows = warehouse.execute(
            f"SELECT year, sex, count FROM {view} WHERE {where} AND age = '_T' AND unit = 'offences'"
        ).fetchall()
        totals = {str(y): c for y, s, c in rows if s == "_T"}
        parts = Counter()
        for y, s, c in rows:
            if s != "_T":
                assert s in ("M", "F", "_U"), (view, s)  # homicide always has a person victim
                parts[str(y)] += c
        assert totals == {y: n for y, n in by_year.items() if n}, view
        assert dict(parts) == totals, view


def test_counts_by_sex_and_by_age_are_the_planted_counts(demo_run, warehouse) -> None:
    manifest, _ = demo_run
    for column, other in (("sex", "age"), ("age", "sex")):
        rows = warehouse.execute(
            f"""SELECT national_code, {column}, sum(count) FROM v_national_counts_by_sex_age
                WHERE {other} = '_T' AND {column} <> '_T' AND source = 'demo_police' GROUP BY ALL"""
        ).fetchall()
        stored: dict[str, dict[str, int]] = {}
        for code, value, n in rows:
            stored.setdefault(code, {})[value] = int(n)
        variable = f"victim_{column}"
        assert stored == {code: entry[variable] for code, entry in _offences(manifest).items() if entry[variable]}


def test_weapons_and_the_capitals_gun_violence_are_the_planted_counts(demo_run, warehouse) -> None:
    manifest, _ = demo_run
    rows = warehouse.execute(
        "SELECT national_code, weapon, sum(count) FROM disaggregated_counts WHERE source = 'demo_police' GROUP BY ALL"
    ).fetchall()
    stored: dict[str, dict[str, int]] = {}
    for code, weapon, n in rows:
        stored.setdefault(code, {})[weapon] = int(n)
    assert stored == {code: entry["weapon"] for code, entry in _offences(manifest).items() if entry["weapon"]}
    for signal in manifest.details["disaggregations"]["weapon_signals"]:
        if signal["district"] is None:
            continue
        inside = dict(
            warehouse.execute(
                "SELECT weapon, count(*) FROM offences WHERE national_code = ? AND area = ? GROUP BY ALL",
                [signal["national_code"], signal["district"]],
            ).fetchall()
        )
        assert inside == signal["inside"], signal["id"]


def test_rates_by_sex_divide_by_the_residents_of_that_sex(demo_run, warehouse) -> None:
    manifest, _ = demo_run
    residents = manifest.details["population_by_sex"]
    rows = warehouse.execute(
        """SELECT year, sex, count, population, rate_per_100k FROM v_counts_by_sex_age
           WHERE iccs_code = '0101' AND age = '_T' AND sex IN ('M', 'F')"""
    ).fetchall()
    assert rows
    for year, sex, count, population, rate in rows:
        assert population == residents[str(year)][sex]
        assert rate == pytest.approx(count * 100_000 / population)
    male = warehouse.execute(
        "SELECT sum(population) FROM v_population_by_sex_age WHERE area IS NULL AND sex = 'M' AND age <> '_T'"
    ).fetchone()[0]
    assert male == sum(r["M"] for r in residents.values())  # the age groups of men add up to all men


def test_invalid_victim_sex_is_quarantined_and_counted(demo_run, warehouse) -> None:
    manifest, result = demo_run
    expected = manifest.expected_quarantine["invalid_disaggregation"]
    assert result.by_source()["demo_police"].reasons["invalid_disaggregation"] == expected
    with manifest.bad_rows_path.open(encoding="utf-8", newline="") as handle:
        planted = {
            int(r["line"]): r["value"] for r in csv.DictReader(handle) if r["reason"] == "invalid_disaggregation"
        }
    rows = warehouse.execute(
        "SELECT row_number, detail FROM quarantine WHERE reason = 'invalid_disaggregation' AND source = 'demo_police'"
    ).fetchall()
    assert len(planted) == len(rows) == expected >= 3
    assert {line for line, _ in rows} == set(planted)
    assert all(f"'{planted[line]}' is not a value of victim_sex" in detail for line, detail in rows)
    assert set(planted.values()) == {"X", "Femal", "Hombre?"}
