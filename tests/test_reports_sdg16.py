"""sdg16.html: exact-code matching (no double counting, no coarser codes), victims vs offences, shares within a
unit, coverage, 16.4.2 without a source and from sources of seized and traced arms, escaping and offline
rendering."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from browser import chart_divs, needs_browser, render
from reports_fixture import VICTIMS_MISSING_YEAR, break_labels, build_warehouse, declared_breaks, plotly_figures

from pipelines.runner import run_pipeline
from reports.sdg16 import data as sdg16_data
from reports.sdg16 import render_sdg16


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    con = build_warehouse(tmp_path_factory.mktemp("wh") / "warehouse.duckdb")
    yield con
    con.close()


@pytest.fixture(scope="module")
def annual(warehouse):
    return sdg16_data.indicator_annual(warehouse)


@pytest.fixture(scope="module")
def html(warehouse, tmp_path_factory) -> str:
    return render_sdg16(warehouse, tmp_path_factory.mktemp("reports")).read_text()


def _value(frame: pd.DataFrame, **where) -> float:
    rows = frame
    for column, value in where.items():
        rows = rows[rows[column] == value]
    assert len(rows) == 1, rows
    return float(rows["count"].iloc[0])


def _sql_sum(con, codes: tuple[str, ...], year: int, source: str) -> float:
    placeholders = ", ".join("?" for _ in codes)
    return con.execute(
        f"SELECT sum(count) FROM offence_counts WHERE source = ? AND year = ? AND iccs_code IN ({placeholders})",
        [source, year, *codes],
    ).fetchall()[0][0]


def test_records_count_once_under_their_own_code(warehouse, annual):
    # Corruption lists both 0703 and its child 07031; the fixture has records on both codes.
    corruption = _value(annual, component="corruption", source="alpha_police", year=2018)
    assert corruption == _sql_sum(warehouse, ("0703", "07031"), 2018, "alpha_police")
    # Joining the rolled-up view instead would count each 07031 record again under 0703.
    naive = warehouse.execute(
        "SELECT sum(v.count) FROM v_counts v JOIN sdg16_codes s ON s.iccs_code = v.iccs_code "
        "WHERE s.component = 'corruption' AND v.source = 'alpha_police' AND v.year = 2018 AND v.area IS NULL"
    ).fetchall()[0][0]
    assert naive > corruption


def test_records_coded_coarser_than_the_indicator_are_not_counted(warehouse, annual):
    drugs = _value(annual, component="drug_trafficking", source="alpha_police", year=2018)
    assert drugs == _sql_sum(warehouse, ("060121",), 2018, "alpha_police")  # 0601 records are left out
    assert _sql_sum(warehouse, ("0601",), 2018, "alpha_police") > 0


def test_shares_use_all_records_of_the_same_source_and_unit(warehouse, annual):
    row = annual[(annual["component"] == "money_laundering") & (annual["source"] == "alpha_police")]
    row = row[row["year"] == 2018].iloc[0]
    total = warehouse.execute(
        "SELECT sum(count) FROM offence_counts WHERE source = 'alpha_police' AND year = 2018"
    ).fetchall()[0][0]
    assert row["share_pct"] == pytest.approx(row["count"] * 100 / total)
    assert annual.groupby(["indicator", "component", "source", "country", "year"])["unit"].nunique().max() == 1


def test_homicide_victims_and_offences_stay_apart(annual, html):
    homicide = annual[annual["indicator"] == "16.1.1"]
    assert set(homicide.loc[homicide["source"] == "alpha_victims", "unit"]) == {"victims"}
    victims = homicide[(homicide["source"] == "alpha_victims") & homicide["count"].notna()]
    assert VICTIMS_MISSING_YEAR not in set(victims["year"]) and len(victims) == 11
    assert "victims per 100,000 (the indicator)" in html
    assert "offences per 100,000 (not victims)" in html
    assert "BBB: no victim counts; offences only" in html
    assert "AAA: 0.38 victims per 100,000 in 2023" in html


def test_coverage_lists_missing_years_and_countries(html):
    assert f"AAA: {VICTIMS_MISSING_YEAR} missing" in html  # 16.1.1/16.2.2 victims lack 2016
    assert "BBB: no data" in html  # no trafficking victims for BBB


def test_target_16_4_components_and_trends(html):
    assert "5 of 9 components have recorded data" in html
    assert "No source records: Migrant smuggling, Organized criminal group, Terrorism financing" in html
    assert "Trends (Mann-Kendall)" in html and "Drug trafficking" in html
    assert "No source supplies it" in html  # 16.4.2 has no seizure/tracing counts


def test_sdg16_page_is_offline_and_escaped(html):
    assert "cdn.plot.ly" not in html and 'src="http' not in html
    assert "<script>alert(1)" not in html
    assert "Recorded crime reflects reporting and recording" in html
    assert chart_divs(html) == 4  # 16.1.1, 16.2.2, 16.4 counts/rates, 16.4 shares


def test_empty_warehouse_says_so(tmp_path: Path):
    from warehouse.connection import connect
    from warehouse.ddl import ensure_schema
    from warehouse.reference import load_classification

    con = connect(tmp_path / "empty.duckdb")
    ensure_schema(con)
    load_classification(con)
    page = render_sdg16(con, tmp_path).read_text()
    con.close()
    assert "cannot be computed" in page and "No source records any Target 16.4 component" in page


def test_a_series_break_marks_the_indicators_that_count_its_code(warehouse, tmp_path: Path):
    breaks = (
        ("alpha_victims", "02041", "2019", "appeared", "trafficking victims first recorded"),
        ("alpha_police", "02011", "2020-03", "appeared", "assault codes split"),  # in no indicator
    )
    with declared_breaks(warehouse, breaks) as cursor:
        html = render_sdg16(cursor, tmp_path).read_text()
    marks = {layout["title"]["text"]: break_labels(layout) for _, _, layout in plotly_figures(html)}
    trafficking = next(v for k, v in marks.items() if k.startswith("16.2.2"))
    assert list(trafficking.values()) == [["series break: 02041 appeared 2019"]]
    homicide = next(v for k, v in marks.items() if k.startswith("16.1.1"))
    assert not any(homicide.values())
    components = next(v for k, v in marks.items() if k.startswith("Target 16.4 components"))
    victims = [labels for entry, labels in components.items() if "Alpha homicide" in entry]
    assert victims and all(labels == ["series break: 02041 appeared 2019"] for labels in victims)
    assert not any(labels for entry, labels in components.items() if "Alpha homicide" not in entry)
    assert "assault codes split" not in html
    # The trend sentence of the trafficking rate warns that the break lies inside the years it compares.
    # From a base of 12 victims no percent is headlined: the two rates and the two counts are given instead.
    assert (
        "The rate rose from 0.24 in 2012 to 0.45 in 2023 (Mann-Kendall p&lt;0.001, significant; the count rose "
        "from 12 in 2012 to 24 in 2023)"
    ) in html
    assert "A series break lies in this period (02041 appeared 2019)" in html


@pytest.mark.browser
@needs_browser
def test_sdg16_renders_every_chart(warehouse, tmp_path: Path):
    path = render_sdg16(warehouse, tmp_path)
    rendered = render(path)
    assert rendered.plotly_svgs >= chart_divs(path.read_text())
    assert rendered.console_errors == []


def test_partial_years_only_the_summary_describes_what_the_table_shows(tmp_path: Path):
    """Every year has records in a few months only: the summary gives the latest (partial) year's rate, says it
    is partial, and does not claim that there is no population."""
    import duckdb

    from warehouse.ddl import ensure_schema
    from warehouse.reference import load_classification

    con = duckdb.connect()
    ensure_schema(con)
    load_classification(con)
    con.execute(
        "INSERT INTO offence_counts (source, country, area, iccs_code, national_code, year, month, unit, stage, count) "
        "SELECT 'sparse', 'ISL', NULL, '0101', 'H1', y, m, 'offences', 'police', 1 "
        "FROM range(2021, 2024) t(y), (VALUES (2), (8), (10)) s(m)"
    )
    con.execute(
        "INSERT INTO population (country, area, year, population) VALUES ('ISL', NULL, 2021, 150000), "
        "('ISL', NULL, 2022, 151500), ('ISL', NULL, 2023, 153000)"
    )
    html = render_sdg16(con, tmp_path).read_text()
    con.close()
    summary = html[html.index("16.1.1 Number of victims") :].split('<p class="summary">', 1)[1].split("</p>", 1)[0]
    assert "no population" not in summary
    assert (
        "ISL: no victim counts; offences only (1.96 † per 100,000 in 2023, a partial year with records in 3 of 12"
        in summary
    )
    homicide = html[html.index("16.1.1 Number of victims") : html.index("16.2.2")]
    assert "Every year shown is partial" in homicide  # why the points are not joined


def test_without_population_there_is_no_empty_rate_chart(tmp_path: Path):
    import duckdb

    from warehouse.ddl import ensure_schema
    from warehouse.reference import load_classification

    con = duckdb.connect()
    ensure_schema(con)
    load_classification(con)
    con.execute(
        "INSERT INTO offence_counts (source, country, area, iccs_code, national_code, year, month, unit, stage, count) "
        "SELECT 'no_pop', 'ISL', NULL, '0101', 'H1', y, NULL, 'offences', 'police', 4 FROM range(2019, 2022) t(y)"
    )
    html = render_sdg16(con, tmp_path).read_text()
    con.close()
    homicide = html[html.index("16.1.1 Number of victims") : html.index("16.2.2")]
    assert "Plotly.newPlot" not in homicide  # an all-empty chart would show an axis from -1 to 4
    assert "No population for these countries and years: no rate per 100,000 to chart" in homicide
    assert "ISL: no victim counts; offences only (4 in 2021; no population for a rate)" in homicide


ARMS_SOURCE = """
  arms_{unit}:
    country: XTS
    level: aggregate
    unit: {unit}
    files: {unit}.csv
    columns: {{date: year, offence: kind, count: arms}}
    date_format: "%Y"
    correspondence: correspondence.csv
"""


def test_sources_of_seized_and_traced_arms_give_16_4_2(tmp_path: Path):
    folder = tmp_path / "arms"
    folder.mkdir()
    (folder / "seized_arms.csv").write_text("year,kind,arms\n2020,FA,200\n2021,FA,250\n")
    (folder / "traced_arms.csv").write_text("year,kind,arms\n2020,FA,50\n2021,FA,100\n")
    (folder / "correspondence.csv").write_text(
        "national_code,national_label,iccs_code,note\nFA,Firearms seized or traced,090121,\n"
    )
    (folder / "sources.yaml").write_text(
        "description: arms seized and traced (test fixture)\nsources:"
        + "".join(ARMS_SOURCE.format(unit=u) for u in ("seized_arms", "traced_arms"))
    )
    result = run_pipeline(folder / "sources.yaml", tmp_path / "w.duckdb", tmp_path / "reports")
    assert result.ok
    html = (tmp_path / "reports" / "sdg16.html").read_text()
    section = html[html.index("16.4.2 ") :]
    assert "No source supplies it" not in section
    assert "16.4.2: percent of seized arms traced" in section
    assert "XTS: 40% traced in 2021." in section  # 100 of 250; 2020: 50 of 200
    table = section[section.index("<caption>16.4.2 by country and year") : section.index("</table>")]
    assert '<td class="num">200</td><td class="num">50</td><td class="num">25.0%</td>' in table
    assert '<td class="num">250</td><td class="num">100</td><td class="num">40.0%</td>' in table
