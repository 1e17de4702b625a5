"""Coverage windows: the inference rule on series shaped unlike the demo, configured windows, and every statistic
computed inside the window (trend headline, chart axis, emerging hot spots, completeness, series breaks)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import duckdb
import numpy as np
import pytest

from pipelines.runner import run_pipeline
from reports.hotspots.analysis import analyse_grid
from reports.hotspots.data import category_labels, grid_records
from reports.stats.hotspot_grid import local_proj4, project
from schemas.source_config import ConfigError, load_config
from tests.coverage_fixture import DOWNTOWN, FIRST_YEAR, LAST_YEAR, write_annual, write_city
from warehouse import completeness, coverage
from warehouse.connection import connect
from warehouse.ddl import ensure_schema
from warehouse.reference import load_classification

# --- the inference rule on small warehouses -------------------------------------------------------------------


def _warehouse(level: str = "incident") -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ensure_schema(con)
    load_classification(con)
    con.execute(
        "INSERT INTO sources (source, country, level, unit, stage, period) "
        "VALUES ('s', 'XTS', ?, 'offences', 'police', 'month')",
        [level],
    )
    return con


def _monthly(con: duckdb.DuckDBPyConnection, volumes: dict[tuple[int, int], float], code: str = "0502") -> None:
    """One national offence_counts row per (year, month) with the given volume (0 = no row)."""
    rows = [
        ("s", "XTS", None, code, "n" + code, y, m, "offences", "police", float(n), "f.csv", None)
        for (y, m), n in volumes.items()
        if n
    ]
    con.executemany("INSERT INTO offence_counts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _months(first: int, last: int, n: float = 100.0) -> dict[tuple[int, int], float]:
    return {(y, m): n for y in range(first, last + 1) for m in range(1, 13)}


def _window(con: duckdb.DuckDBPyConnection, configured: dict | None = None) -> tuple:
    coverage.compute(con, configured)
    return con.execute(
        "SELECT first_period, last_period, basis, records_inside, records_before, records_after "
        "FROM v_coverage WHERE source = 's'"
    ).fetchall()[0]


def test_a_sparse_tail_of_late_reports_falls_outside_the_window() -> None:
    con = _warehouse()
    volumes = _months(2016, 2023)
    # late reports: one or two in scattered months over fifty years, and one in each month of 2015
    volumes |= {(y, 6): 1 for y in range(1966, 2014, 3)} | {(2015, m): 2 for m in range(1, 13)}
    _monthly(con, volumes)
    tail = sum(n for (y, _), n in volumes.items() if y < 2016)
    assert _window(con) == ("2016-01", "2023-12", "inferred", 96 * 100.0, tail, 0.0)
    inside = con.execute("SELECT min(year), sum(count) FROM v_offence_counts_in_window").fetchall()
    assert inside == [(2016, 9600.0)]
    # the raw table and v_counts keep every record
    assert con.execute("SELECT sum(count) FROM v_counts WHERE area IS NULL AND iccs_code = '05'").fetchall() == [
        (9600.0 + tail,)
    ]


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [
        ("one bad month", {(2019, 5): 1}, ("2016-01", "2023-12")),
        ("a missing quarter", {(2019, 5): 0, (2019, 6): 0, (2019, 7): 0}, ("2016-01", "2023-12")),
        ("a pandemic dip", {(2020, m): 40 for m in range(3, 7)}, ("2016-01", "2023-12")),
        ("a partial last month", {(2023, 12): 30}, ("2016-01", "2023-12")),
        ("a last month cut after a day", {(2023, 12): 3}, ("2016-01", "2023-11")),
    ],
)
def test_gaps_and_dips_inside_do_not_cut_a_genuine_series(name, change, expected) -> None:
    con = _warehouse()
    _monthly(con, _months(2016, 2023) | change)
    assert _window(con)[:2] == expected, name


def test_a_series_that_starts_small_and_grows_is_whole() -> None:
    con = _warehouse()  # tenfold growth over eight years: the first months are a seventh of the typical one
    _monthly(con, {(y, m): 50.0 + 4.7 * ((y - 2016) * 12 + m) for y in range(2016, 2024) for m in range(1, 13)})
    assert _window(con)[:2] == ("2016-01", "2023-12")


def test_two_halves_around_a_long_outage_are_both_in() -> None:
    con = _warehouse()
    _monthly(con, _months(2010, 2014) | _months(2017, 2021))
    first, last, *_, before, after = _window(con)
    assert (first, last, before, after) == ("2010-01", "2021-12", 0.0, 0.0)


@pytest.mark.parametrize(
    ("periods", "expected"),
    [
        ({(2022, 3): 5}, ("2022-03", "2022-03", 5.0, 0.0)),
        ({(2022, 3): 5, (2022, 4): 1}, ("2022-03", "2022-04", 6.0, 0.0)),
        ({(2022, 3): 1, (2022, 4): 40}, ("2022-04", "2022-04", 40.0, 1.0)),  # a first month of 2.5%: a tail
        ({(2022, 4): 40, (2022, 5): 1}, ("2022-04", "2022-04", 40.0, 0.0)),  # a last month of 2.5%: after it
    ],
)
def test_one_or_two_periods(periods, expected) -> None:
    con = _warehouse()
    _monthly(con, periods)
    first, last, _, inside, before, _ = _window(con)
    assert (first, last, inside, before) == expected


def test_annual_aggregate_table_counts_cells_and_offences(tmp_path: Path) -> None:
    con = _warehouse("aggregate")
    rows = [
        ("s", "XTS", area, "0502", "THF", y, None, "offences", "police", 100.0, "t.csv", None)
        for y in range(2019, 2024)
        for area in ("N", "S")
    ]
    rows.append(("s", "XTS", "N", "0502", "THF", 2013, None, "offences", "police", 2.0, "t.csv", None))
    con.executemany("INSERT INTO offence_counts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    query = (
        "SELECT first_period, last_period, records_inside, records_before, count_inside, "
        "count_before, records_are FROM v_coverage"
    )
    coverage.compute(con)  # stored without its cells per period (loaded before loaded_records): says so
    assert con.execute(query).fetchall() == [("2019", "2023", 10.0, 1.0, 1000.0, 2.0, "offence_counts rows")]
    con.execute(
        "INSERT INTO loaded_records SELECT source, file, unit, year, month, 1 FROM offence_counts"
    )  # one input cell per stored row, as a load records them
    coverage.compute(con)
    assert con.execute(query).fetchall() == [("2019", "2023", 10.0, 1.0, 1000.0, 2.0, "cells")]
    # completeness expects the window's years only: 2014-2018 are not "missing"
    cov = completeness.coverage(con, "s")
    assert (cov["period"].min(), cov["period"].max(), int((~cov["present"]).sum())) == ("2019", "2023", 0)


def test_counts_of_a_table_with_a_total_row_are_the_national_figure_not_twice_it() -> None:
    # a region x year table that lists the country itself as a region (detected as the total): the cells are
    # all counted, but the offences inside the window are the national figure once (found on SESNSP's table)
    con = _warehouse("aggregate")
    rows = [
        ("s", "XTS", area, "0502", "THF", y, None, "offences", "police", n, "t.csv", None)
        for y in range(2019, 2024)
        for area, n in (("A", 100.0), ("B", 50.0), ("C", 25.0), ("Nacional", 175.0))
    ]
    con.executemany("INSERT INTO offence_counts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    coverage.compute(con)
    assert con.execute("SELECT records_inside, count_inside FROM v_coverage").fetchall() == [(20.0, 5 * 175.0)]
    assert con.execute("SELECT sum(count) FROM v_national_counts").fetchall() == [(5 * 175.0,)]


def _annual(con: duckdb.DuckDBPyConnection, volumes: dict[int, float]) -> None:
    con.executemany(
        "INSERT INTO offence_counts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            ("s", "XTS", None, "0502", "THF", y, None, "offences", "police", n, "t.csv", None)
            for y, n in volumes.items()
        ],
    )


@pytest.mark.parametrize(
    ("name", "volumes", "last"),
    [
        # SESNSP's annual table: 2025 is January to June (-52% on 2024), with no month to say so
        ("a year to date", {2015: 1657.0, 2019: 2071.0, 2020: 1841.0, 2024: 2092.0, 2025: 1012.0}, "2024"),
        ("a real fall of a third", {2019: 1000.0, 2020: 1000.0, 2021: 1000.0, 2022: 670.0}, "2022"),
        ("a pandemic year inside", {2018: 1000.0, 2019: 1000.0, 2020: 450.0, 2021: 1000.0}, "2021"),
        ("three years only", {2021: 1000.0, 2022: 1000.0, 2023: 400.0}, "2023"),
        # a small series halves by chance (a country's 8 then 4 homicides): its last year stays in
        ("a small series", {2019: 9.0, 2020: 8.0, 2021: 8.0, 2022: 4.0}, "2022"),
        ("a large year to date", {2019: 5000.0, 2020: 5000.0, 2021: 5000.0, 2022: 2400.0}, "2021"),
    ],
)
def test_an_annual_last_year_under_sixty_percent_of_the_one_before_is_a_year_to_date(name, volumes, last) -> None:
    con = _warehouse("aggregate")
    _annual(con, volumes | {y: volumes[min(volumes)] for y in range(min(volumes), max(volumes)) if y not in volumes})
    first, got, basis, _, _, after = _window(con)
    assert (got, basis) == (last, "inferred"), name
    assert after == (1.0 if last != str(max(volumes)) else 0.0), name  # the cut year is loaded, counted after
    configured = _window(con, {"s": (None, str(max(volumes)))})
    assert configured[1] == str(max(volumes))  # configuring the window keeps it


def test_a_configured_window_overrides_inference_and_an_open_bound_is_the_data() -> None:
    con = _warehouse()
    _monthly(con, _months(2016, 2023) | {(1990, 1): 1})
    assert _window(con, {"s": ("2017-01", "2022-06")})[:3] == ("2017-01", "2022-06", "configured")
    assert _window(con, {"s": ("1985", None)})[:3] == ("1985-01", "2023-12", "configured")
    first, last, basis, inside, before, after = _window(con, {"s": (None, "2020")})
    assert (first, last, basis, before, after) == ("1990-01", "2020-12", "configured", 0.0, 3 * 1200.0)
    # a configured window wider than the data: its empty months are missing, the data's own months are not
    cov = completeness.coverage(con, "s")
    assert (cov["period"].min(), cov["period"].max()) == ("1990-01", "2020-12")


def test_a_series_break_at_the_edge_of_a_tail_is_not_reported() -> None:
    con = _warehouse()
    _monthly(con, _months(2016, 2023) | {(2015, m): 1 for m in range(1, 13)})  # thefts, with a tail
    _monthly(con, _months(2016, 2023), code="0501")  # burglaries: none among the late reports
    # never assessed (no windows yet), every period is judged: burglary "appears" at the edge of the tail
    assert completeness.series_breaks(con, "s")[["iccs_code", "period", "kind"]].values.tolist() == [
        ["0501", "2016-01", "appeared"]
    ]
    coverage.compute(con)
    assert con.execute("SELECT records_before FROM v_coverage").fetchall() == [(12.0,)]
    assert completeness.series_breaks(con, "s").empty


# --- configuration -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("coverage_line", "message"),
    [
        ("    coverage: {from: 2016-13}\n", "field 'coverage.from': '2016-13' is not a year"),
        ("    coverage: {from: 2020, to: 2019}\n", "field 'coverage': from 2020 is after to 2019"),
        ("    coverage: {start: 2016}\n", "field 'coverage' must be a mapping with 'from' and/or 'to'"),
        ("    coverage: 2016\n", "field 'coverage' must be a mapping"),
        ("    coverage: {from: 2016-01-01}\n", "quote it if YAML reads it as a date"),
    ],
)
def test_a_bad_coverage_setting_is_one_line_naming_file_source_and_field(tmp_path, coverage_line, message) -> None:
    config = write_annual(tmp_path, coverage=coverage_line)
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    line = str(caught.value)
    assert "\n" not in line and str(config) in line and "source 'annual'" in line and message in line, line


def test_coverage_bounds_are_read_at_their_precision(tmp_path: Path) -> None:
    annual = write_annual(tmp_path / "a", coverage="    coverage: {from: 2019}\n")
    assert load_config(annual).sources["annual"].coverage == ("2019", None)
    with pytest.raises(ConfigError, match="names a month, but the source's date_format gives years only"):
        load_config(write_annual(tmp_path / "b", coverage="    coverage: {to: 2023-06}\n"))
    city, _ = write_city(tmp_path / "c", coverage="    coverage: {from: 2016-01, to: 2023}\n", per_month=1)
    assert load_config(city).sources["city"].coverage == ("2016-01", "2023")


# --- end to end: the city with fifty years of late reports ----------------------------------------------------


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("city")
    config, records = write_city(folder / "input")
    result = run_pipeline(config, folder / "w.duckdb", folder / "reports")
    assert result.ok, result
    return result, records


def _text(path: Path) -> str:
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", path.read_text(encoding="utf-8"), flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_city_window_is_the_eight_years_and_the_tail_is_counted(city) -> None:
    result, records = city
    tail = int((records["date"] < f"{FIRST_YEAR}-01-01").sum())
    assert tail == round(0.004 * len(records)) and tail > 0
    with connect(result.warehouse, read_only=True) as con:
        rows = con.execute("SELECT * EXCLUDE (count_inside, count_before, count_after) FROM v_coverage").fetchall()
        assert rows == [
            (
                "city",
                "offences",
                f"{FIRST_YEAR}-01",
                f"{LAST_YEAR}-12",
                "inferred",
                float(len(records) - tail),
                float(tail),
                0.0,
                "records",
            )
        ]
        # loaded, not quarantined
        assert con.execute("SELECT count(*) FROM offences").fetchall() == [(len(records),)]
        assert con.execute("SELECT count(*) FROM quarantine").fetchall() == [(0,)]
        missing = con.execute(
            "SELECT min(period), max(period), count(*) FILTER (NOT present) FROM completeness"
        ).fetchall()
        assert missing == [(f"{FIRST_YEAR}-01", f"{LAST_YEAR}-12", 0)]
        assert con.execute("SELECT count(*) FROM series_breaks").fetchall() == [(0,)]
        rec = grid_records(con, "city", "offences")
        grid = analyse_grid(rec, category_labels(con))
    assert (int(grid.years[0]), int(grid.years[-1])) == (FIRST_YEAR, LAST_YEAR)
    x, y = project(local_proj4(rec.lon, rec.lat), np.array([DOWNTOWN[0]]), np.array([DOWNTOWN[1]]))
    category = grid.emerging.frame["category"].iloc[int(grid.grid.cell_of(x, y)[0])]
    # hot in every year of the window: one of the "hot throughout" classes, never new or consecutive
    assert category in ("persistent hot spot", "intensifying hot spot", "diminishing hot spot"), category


def test_city_reports_stay_inside_the_window(city) -> None:
    result, records = city
    tail = int((records["date"] < f"{FIRST_YEAR}-01-01").sum())
    trends = _text(result.reports["trends"])
    # "rose 1% from 697 in 2016 to 704 in 2023": every compared year lies inside the window
    changes = re.findall(r"(?:rose|fell|was unchanged)[^.;]*? from [\d,.]+ in (\d{4}) to [\d,.]+ in (\d{4})", trends)
    assert changes and all(int(a) >= FIRST_YEAR and int(b) <= LAST_YEAR for a, b in changes), changes
    assert not re.search(r"rose \d{3,}[\d,]*%", trends)
    assert f"city: {FIRST_YEAR}-01 to {LAST_YEAR}-12 (inferred; {tail} records before it" in trends
    raw = result.reports["trends"].read_text(encoding="utf-8")
    starts = [int(m.group(1)) for m in re.finditer(r'"x":\[\s*"?(\d{4})', raw)]
    assert starts and min(starts) >= FIRST_YEAR, sorted(set(starts))[:5]
    quality = _text(result.reports["quality"])
    assert f"{tail} records occurred before the coverage window (late reports)" in quality
    for page in ("sdg16", "hotspots"):
        assert f"{FIRST_YEAR}-01 to {LAST_YEAR}-12 (inferred" in _text(result.reports[page]), page


def test_a_configured_window_through_the_pipeline(tmp_path: Path) -> None:
    config, records = write_city(tmp_path / "in", coverage="    coverage: {from: 2017-01, to: 2022}\n", per_month=8)
    result = run_pipeline(config, tmp_path / "w.duckdb", tmp_path / "r", with_reports=False)
    assert result.ok, result
    before = int((records["date"] < "2017-01-01").sum())
    after = int((records["date"] >= "2023-01-01").sum())
    with connect(result.warehouse, read_only=True) as con:
        assert con.execute(
            "SELECT first_period, last_period, basis, records_before, records_after FROM v_coverage"
        ).fetchall() == [("2017-01", "2022-12", "configured", before, after)]
        assert con.execute("SELECT min(period), max(period) FROM completeness").fetchall() == [("2017-01", "2022-12")]


def test_the_demo_infers_its_whole_span(demo_run) -> None:
    _, result = demo_run
    with connect(result.warehouse, read_only=True) as con:
        rows = con.execute(
            "SELECT source, first_period, last_period, basis, records_before, records_after "
            "FROM v_coverage ORDER BY source"
        ).fetchall()
    assert rows and all(r[1:] == ("2019-01", "2024-12", "inferred", 0.0, 0.0) for r in rows), rows


def test_an_annual_table_through_the_pipeline(tmp_path: Path) -> None:
    result = run_pipeline(write_annual(tmp_path / "in"), tmp_path / "w.duckdb", tmp_path / "r", with_reports=False)
    assert result.ok, result
    with connect(result.warehouse, read_only=True) as con:
        assert con.execute(
            "SELECT first_period, last_period, basis, records_inside, records_before, count_before, "
            "records_are FROM v_coverage"
        ).fetchall() == [("2019", "2023", "inferred", 5 * 5 * 2.0, 1.0, 2.0, "cells")]
        assert con.execute("SELECT count(*) FILTER (NOT present), min(period) FROM completeness").fetchall() == [
            (0, "2019")
        ]


def test_a_month_loaded_after_the_assessment_counts_until_the_next_one() -> None:
    con = _warehouse()
    _monthly(con, _months(2016, 2023))
    coverage.compute(con)
    _monthly(con, {(2024, 1): 100})  # a monthly extract landed; data_quality has not run again yet
    newest = "SELECT max(year * 12 + month - 1) = 2024 * 12 FROM v_offence_counts_in_window"
    assert con.execute(newest).fetchall() == [(True,)]
    coverage.compute(con, {"s": ("2016-01", "2023-12")})  # a configured end is kept, whatever lands after it
    _monthly(con, {(2024, 2): 100})
    assert con.execute(newest.replace("= 2024 * 12", "= 2023 * 12 + 11")).fetchall() == [(True,)]
