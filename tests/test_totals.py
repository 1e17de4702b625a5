"""Total rows among areas and nested totals: the national figure counts everything once.

Fixtures are written into tmp_path: (a) a region × offence × year table whose regions include the country itself,
with one suppressed cell, undeclared (detected, WARN with evidence) and declared (``total_area``); (b) a declared
total the areas cover only 95% of; (c) a wide city table whose national total and sub-categories do not follow
the ICCS tree; (d) a nested total smaller than its parts.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import duckdb
import numpy as np
import pytest

from pipelines.runner import run_pipeline
from schemas.source_config import load_config
from warehouse.classify import classify_source
from warehouse.connection import connect
from warehouse.correspondence import CorrespondenceError, load_correspondence
from warehouse.ddl import ensure_schema
from warehouse.load import load_file
from warehouse.reference import load_classification
from warehouse.staging import stage_source
from warehouse.totals import findings

COUNTRY = "Republic of Example"
REGIONS = {"North": 1, "South": 2, "East": 3, "West": 4}
OFFENCES = {"HOM": "0101", "ASS": "0201", "THF": "0502"}
YEARS = (2020, 2021, 2022)


def _region_count(region: str, offence: str, year: int) -> int:
    return 10 * REGIONS[region] + 7 * list(OFFENCES).index(offence) + (year - 2019) * REGIONS[region]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def _region_table(folder: Path, areas_share: float = 1.0) -> None:
    """Regions plus the country as a region (its count = sum of the regions / areas_share); West's THF 2021 is
    suppressed ('..'); the country row of HOM 2022 is missing (the national figure falls back to the areas)."""
    lines = ["region,offence,year,count"]
    for year in YEARS:
        for offence in OFFENCES:
            regions = {r: _region_count(r, offence, year) for r in REGIONS}
            for region, n in regions.items():
                suppressed = (region, offence, year) == ("West", "THF", 2021)
                lines.append(f"{region},{offence},{year},{'..' if suppressed else n}")
            if (offence, year) != ("HOM", 2022):
                lines.append(f"{COUNTRY},{offence},{year},{round(sum(regions.values()) / areas_share)}")
    _write(folder / "regions.csv", "\n".join(lines) + "\n")
    pop = ["region,year,population"] + [f"{r},{y},{100000 * REGIONS[r]}" for r in REGIONS for y in YEARS]
    pop += [f"{COUNTRY},{y},{round(1000000 / areas_share)}" for y in YEARS]
    _write(folder / "population.csv", "\n".join(pop) + "\n")
    _write(folder / "corr.csv", "national_code,iccs_code\n" + "".join(f"{k},{v}\n" for k, v in OFFENCES.items()))


def _region_config(folder: Path, total_area: str | None) -> Path:
    declared = f'\n            total_area: "{total_area}"' if total_area else ""
    return _write(
        folder / "sources.yaml",
        f"""
        sources:
          example_regions:
            country: XEX
            level: aggregate
            unit: offences
            files: regions.csv
            columns: {{area: region, offence: offence, date: year, count: count}}
            date_format: "%Y"
            correspondence: corr.csv{declared}
        population:
          - files: population.csv
            columns: {{area: region, year: year, population: population}}
            country: XEX
        """,
    )


def _rows(path: Path, sql: str) -> list[tuple]:
    with connect(path, read_only=True) as con:
        return con.execute(sql).fetchall()


def _national(path: Path, code: str) -> dict[int, float]:
    return dict(_rows(path, f"SELECT year, count FROM v_counts WHERE area IS NULL AND iccs_code = '{code}'"))


def _sum_regions(offence: str, year: int) -> int:
    return sum(_region_count(r, offence, year) for r in REGIONS)


@pytest.fixture(scope="module")
def region_runs(tmp_path_factory) -> dict[str, Path]:
    """The region table run undeclared and declared (one pipeline run each, reports included once)."""
    runs = {}
    for name, declared in (("undeclared", None), ("declared", COUNTRY)):
        folder = tmp_path_factory.mktemp(name)
        _region_table(folder)
        result = run_pipeline(
            _region_config(folder, declared), folder / "w.duckdb", folder / "reports", with_reports=name == "undeclared"
        )
        assert result.ok, (result.errors, [s.error for s in result.sources])
        runs[name] = folder / "w.duckdb"
        runs[name + "_result"] = result
    return runs


@pytest.mark.parametrize("name", ["undeclared", "declared"])
def test_national_figure_is_the_total_row_not_twice_it(region_runs, name) -> None:
    path = region_runs[name]
    # THF 2021: West is suppressed, the country's row still carries the full figure.
    assert _national(path, "0502") == {y: _sum_regions("THF", y) for y in YEARS}
    # HOM 2022 has no country row: the national figure is the sum of the regions.
    assert _national(path, "0101") == {y: _sum_regions("HOM", y) for y in YEARS}
    assert _national(path, "01") == _national(path, "0101")
    areas = {r[0] for r in _rows(path, "SELECT DISTINCT area FROM v_counts WHERE area IS NOT NULL")}
    assert areas == set(REGIONS)
    # Population: the country's row is the national population, not added to the regions'.
    assert set(_rows(path, "SELECT DISTINCT population FROM v_rates WHERE area IS NULL")) == {(1000000.0,)}
    sdg = dict(_rows(path, "SELECT year, count FROM v_sdg16 WHERE indicator = '16.1.1'"))
    assert sdg == {y: _sum_regions("HOM", y) for y in YEARS}


def test_undeclared_total_area_is_a_warning_with_evidence(region_runs) -> None:
    path = region_runs["undeclared"]
    found = _rows(
        path, "SELECT area, basis, cells_compared, cells_matching, share_matching, example FROM v_total_areas"
    )
    # 3 offences x 3 years = 9 cells; THF 2021 (a region suppressed) and HOM 2022 (no country row) not compared.
    assert found == [(COUNTRY, "detected", 7, 7, 1.0, found[0][5])]
    assert found[0][5].startswith("THF (ICCS 0502) 2022: ")
    warnings = [w for w in region_runs["undeclared_result"].quality_warnings if w.startswith("total_area_detected")]
    assert len(warnings) == 1 and f"area '{COUNTRY}'" in warnings[0] and "7 of 7 cells compared" in warnings[0]
    assert f'total_area: "{COUNTRY}"' in warnings[0]
    html = (region_runs["undeclared_result"].reports_dir / "quality.html").read_text()
    assert "National totals" in html and COUNTRY in html


def test_declared_total_area_is_stored_as_national(region_runs) -> None:
    path = region_runs["declared"]
    assert _rows(path, "SELECT area, basis FROM v_total_areas") == [(COUNTRY, "declared")]
    assert _rows(path, f"SELECT count(*) FROM offence_counts WHERE area = '{COUNTRY}'") == [(0,)]
    assert not [w for w in region_runs["declared_result"].quality_warnings if w.startswith("total_area_detected")]


def test_areas_short_of_the_declared_total_national_is_the_total(tmp_path) -> None:
    _region_table(tmp_path, areas_share=0.95)
    result = run_pipeline(_region_config(tmp_path, COUNTRY), tmp_path / "w.duckdb", tmp_path / "reports")
    assert result.ok, result.errors
    path = tmp_path / "w.duckdb"
    assert _national(path, "0201") == {y: round(_sum_regions("ASS", y) / 0.95) for y in YEARS}
    cover = dict(_rows(path, "SELECT year, round(areas_share, 3) FROM v_total_coverage ORDER BY year"))
    assert cover[2020] == cover[2022] == 0.95
    assert cover[2021] < 0.9  # West's suppressed theft is missing from the areas too
    html = (tmp_path / "reports" / "quality.html").read_text()
    assert "the areas sum to 81.8% of the national total in 2021, 95.0% in 2020, 95.0% in 2022." in html


def _warehouse(counts: list[tuple]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ensure_schema(con)
    con.executemany(
        "INSERT INTO offence_counts (source, country, area, iccs_code, national_code, year, unit, stage, "
        "count) VALUES ('s', 'XEX', ?, '0101', ?, ?, 'offences', 'police', ?)",
        counts,
    )
    return con


def _cells(areas: dict[str, list[float]]) -> list[tuple]:
    return [(area, f"c{i}", 2020, n) for area, values in areas.items() for i, n in enumerate(values) if n is not None]


def test_detection_rule_edges() -> None:
    parts = {"A": [100, 200, 300, 400, 500], "B": [10, 20, 30, 40, 50], "C": [70, 0, 90, 60, 30]}
    total = [sum(v[i] for v in parts.values()) for i in range(5)]
    # Within rounding (half a unit per area): detected.
    con = _warehouse(_cells({**parts, "T": [t + 1 for t in total]}))
    assert con.execute("SELECT area, cells_compared FROM v_total_areas").fetchall() == [("T", 5)]
    # Off by 5% in 2 of 5 cells: 60% match, below "most" (80%): not detected.
    con = _warehouse(_cells({**parts, "T": [t * (1.05 if i < 2 else 1) for i, t in enumerate(total)]}))
    assert con.execute("SELECT count(*) FROM v_total_areas").fetchall() == [(0,)]
    # Two areas: one equal to "the sum of the others" is only equal to the other: nothing is detected.
    con = _warehouse(_cells({"A": [5, 6, 7, 8, 9], "B": [5, 6, 7, 8, 9]}))
    assert con.execute("SELECT count(*) FROM v_total_areas").fetchall() == [(0,)]
    # Suppressed cells (quarantined as missing_count) are not compared: with 3 of 5 cells missing a part, too few
    # cells remain.
    gappy = {**parts, "C": [None, None, None, 6, 3]}
    con = _warehouse(_cells({**gappy, "T": total}))
    con.execute("INSERT INTO quarantine (source, file, row_number, reason) VALUES ('s', 't.csv', 2, 'missing_count')")
    assert con.execute("SELECT count(*) FROM v_total_areas").fetchall() == [(0,)]
    assert [f.passed for f in findings(con, "s")] == [True, True]


def test_a_total_row_among_thousands_of_small_areas_whose_zero_cells_are_left_out_is_detected() -> None:
    # 3,000 small areas; a table of counts leaves out its zero cells, so no cell has a row for every area. Before:
    # no cell was compared, 'TOTAL' was an area, and the national figure was twice the published total.
    rng = np.random.default_rng(1)
    counts, totals = [], {}
    for i, lam in enumerate((3.0, 0.8, 1.5, 2.0)):
        n = rng.poisson(lam, 3000)
        counts += [(f"A{j:04d}", f"c{i}", 2020, int(k)) for j, k in enumerate(n) if k > 0]
        counts.append(("TOTAL", f"c{i}", 2020, int(n.sum())))
        totals[f"c{i}"] = float(n.sum())
    con = _warehouse(counts)
    assert con.execute("SELECT area, basis, cells_compared, cells_matching FROM v_total_areas").fetchall() == [
        ("TOTAL", "detected", 4, 4)
    ]
    assert dict(con.execute("SELECT national_code, count FROM v_national_counts").fetchall()) == totals


# ---------------------------------------------------------------------------------------------------------------
# Nested totals by the national hierarchy

CITY_CODES = """\
national_code,national_label,iccs_code,parent
THR,threats (several ICCS level-2 categories),02,
INJ,injury,0201,
THEFT,all theft including residential burglary,0502,
RBURG,residential burglary,05012,THEFT
VTHEFT,theft of a motor vehicle,05021,THEFT
FRAUD,fraud (all),0701,
ONLINE,online fraud (part of FRAUD),0701,FRAUD
BENEFIT,benefit fraud (published outside FRAUD),0701,
"""
CITY = """\
district,year,THR,INJ,THEFT,RBURG,VTHEFT,FRAUD,ONLINE,BENEFIT
Centre,2021,14196,14193,5000,1200,800,900,300,50
Centre,2022,13000,12000,5200,1300,900,1000,400,60
Harbour,2021,2000,1500,3000,700,400,500,100,20
Harbour,2022,2100,1600,1000,700,400,520,110,25
"""


def _city(folder: Path, codes: str = CITY_CODES) -> Path:
    _write(folder / "city.csv", CITY)
    _write(folder / "corr.csv", codes)
    return _write(
        folder / "sources.yaml",
        """
        sources:
          city:
            country: XCI
            level: aggregate
            unit: offences
            files: city.csv
            layout: wide
            wide: {columns: '^[A-Z]+$', names_to: offence, values_to: count}
            columns: {area: district, date: year, offence: offence, count: count}
            date_format: "%Y"
            nested_totals: true
            correspondence: corr.csv
        """,
    )


@pytest.fixture(scope="module")
def city_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("city")
    result = run_pipeline(_city(folder), folder / "w.duckdb", folder / "reports")
    assert result.ok, (result.errors, [s.error for s in result.sources])
    return result


def _by_code(path: Path, area: str | None, year: int) -> dict[str, float]:
    where = "area IS NULL" if area is None else f"area = '{area}'"
    return dict(_rows(path, f"SELECT iccs_code, count FROM v_counts WHERE {where} AND year = {year}"))


def test_nested_totals_follow_the_national_hierarchy(city_run) -> None:
    path = city_run.warehouse
    centre = _by_code(path, "Centre", 2021)
    assert centre["0201"] == 14193  # injury
    assert centre["02"] == 14196 + 14193  # threats beside injury: not netted by it (ICCS tree netting gave 3)
    assert centre["0502"] == 5000 - 1200  # all theft net of residential burglary (counted in 0501)
    assert centre["0501"] == centre["05012"] == 1200
    assert centre["05021"] == 800
    assert centre["05"] == 5000  # the published theft total: burglary is inside it, not beside it
    assert centre["0701"] == 900 + 50  # online fraud is inside FRAUD; benefit fraud is not, same ICCS code or not
    national = _by_code(path, None, 2022)
    assert national["02"] == 13000 + 12000 + 2100 + 1600
    assert national["0701"] == 1000 + 60 + 520 + 25
    stored = dict(_rows(path, "SELECT national_code, count FROM offence_counts WHERE area = 'Centre' AND year = 2021"))
    assert stored == {
        "THR": 14196,
        "INJ": 14193,
        "THEFT": 3000,
        "RBURG": 1200,
        "VTHEFT": 800,
        "FRAUD": 600,
        "ONLINE": 300,
        "BENEFIT": 50,
    }


def test_nested_total_below_its_parts_is_a_warning(city_run) -> None:
    path = city_run.warehouse
    # Harbour 2022 publishes all theft 1,000 but residential burglary 700 + vehicle theft 400 = 1,100.
    assert _rows(
        path,
        "SELECT count, flag FROM offence_counts WHERE area = 'Harbour' AND year = 2022 AND national_code = 'THEFT'",
    ) == [(0.0, "subcategories_exceed_total")]
    assert _rows(path, "SELECT area, year, national_code, published, parts, children FROM nested_shortfalls") == [
        ("Harbour", 2022, "THEFT", 1000.0, 1100.0, "RBURG: 700.0; VTHEFT: 400.0")
    ]
    warnings = [w for w in city_run.quality_warnings if w.startswith("nested_total_shortfall")]
    assert len(warnings) == 1 and "Harbour 2022 'THEFT' published 1,000 < parts 1,100" in warnings[0]
    html = (city_run.reports_dir / "quality.html").read_text()
    assert "Nested totals below the sum of their parts" in html


def test_nested_totals_without_a_hierarchy_is_a_configuration_error(tmp_path) -> None:
    config = _city(tmp_path, "\n".join(line.rsplit(",", 1)[0] for line in CITY_CODES.splitlines()) + "\n")
    src = load_config(config).sources["city"]
    con = duckdb.connect()
    ensure_schema(con)
    load_classification(con)
    load_correspondence(con, src.name, src.correspondence)
    stage_source(con, src)
    with pytest.raises(CorrespondenceError, match="field 'parent': source 'city' has nested_totals"):
        classify_source(con, src)


def test_parent_must_be_a_known_code_and_not_a_cycle(tmp_path) -> None:
    con = duckdb.connect()
    ensure_schema(con)
    bad = _write(tmp_path / "a.csv", "national_code,iccs_code,parent\nA,0101,Z\n")
    with pytest.raises(CorrespondenceError, match="line 2: national_code 'A': parent is not a national_code"):
        load_correspondence(con, "s", bad)
    cycle = _write(tmp_path / "b.csv", "national_code,iccs_code,parent\nA,0101,B\nB,0101,A\nC,0101,\n")
    with pytest.raises(CorrespondenceError, match="parent leads back"):
        load_correspondence(con, "s", cycle)


def test_nested_totals_by_the_path_of_an_offence_read_from_several_columns(tmp_path) -> None:
    """bien jurídico > tipo: the bien's own row (tipo blank) is the total of its tipos; no parent column needed."""
    _write(
        tmp_path / "t.csv",
        "estado,bien,tipo,year,count\nNorte,Patrimonio,,2021,100\n"
        "Norte,Patrimonio,Robo,2021,30\nNorte,Patrimonio,Fraude,2021,20\n"
        "Norte,Vida,,2021,9\n",
    )
    _write(
        tmp_path / "corr.csv",
        "national_code,iccs_code\nPatrimonio,05\nPatrimonio > Robo,0401\nPatrimonio > Fraude,0701\nVida,0101\n",
    )
    config = _write(
        tmp_path / "sources.yaml",
        """
        sources:
          mx:
            country: MEX
            level: aggregate
            unit: offences
            files: t.csv
            columns: {area: estado, offence: [bien, tipo], date: year, count: count}
            date_format: "%Y"
            nested_totals: true
            correspondence: corr.csv
        """,
    )
    src = load_config(config).sources["mx"]
    con = duckdb.connect()
    ensure_schema(con)
    load_classification(con)
    load_correspondence(con, src.name, src.correspondence)
    stage_source(con, src)
    classify_source(con, src)
    load_file(con, src, str(tmp_path / "t.csv"), "r1")
    rows = dict(con.execute("SELECT iccs_code, count FROM v_counts WHERE area IS NULL AND level = 1").fetchall())
    assert rows == {"05": 50.0, "04": 30.0, "07": 20.0, "01": 9.0}
