"""trends.html and the frames behind it: gaps, partial years, units, rates without population, escaping, offline
rendering and series breaks (the statistics themselves: test_stats_trend.py, test_stats_seasonal.py)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from browser import chart_divs, needs_browser, render
from reports_fixture import (
    BETA_MISSING_POPULATION_YEAR,
    MISSING_MONTH,
    NO_POPULATION_AREA,
    PARTIAL_YEAR,
    VICTIMS_MISSING_YEAR,
    break_labels,
    build_warehouse,
    declared_breaks,
    plotly_figures,
)
from scipy import stats

from reports import breaks, numbers, trend_tables
from reports.sdg16 import render_sdg16
from reports.stats import trend
from reports.trends import data as trend_data
from reports.trends import render_trends
from reports.trends.text import changes_sentence

ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


# --- warehouse frames --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    con = build_warehouse(tmp_path_factory.mktemp("wh") / "warehouse.duckdb")
    yield con
    con.close()


@pytest.fixture(scope="module")
def annual(warehouse):
    return trend_data.annual_national(warehouse)


def test_a_missing_month_is_a_gap_not_a_zero(warehouse):
    monthly = trend_data.monthly_national(warehouse)
    alpha = monthly[monthly["source"] == "alpha_police"]
    assert not ((alpha["year"] == MISSING_MONTH[0]) & (alpha["month"] == MISSING_MONTH[1])).any()
    grid = trend.monthly_grid(alpha[alpha["iccs_code"] == "05"].set_index(["year", "month"])["count"])
    assert np.isnan(grid[pd.Period(f"{MISSING_MONTH[0]}-{MISSING_MONTH[1]:02d}", "M")])


def test_missing_year_of_annual_data_is_null_and_partial_years_are_flagged(annual):
    victims = annual[(annual["source"] == "alpha_victims") & (annual["iccs_code"] == "01")].set_index("year")
    assert pd.isna(victims.loc[VICTIMS_MISSING_YEAR, "count"])
    police = annual[(annual["source"] == "alpha_police") & (annual["iccs_code"] == "05")].set_index("year")
    assert police.loc[PARTIAL_YEAR, "partial"] and police.loc[MISSING_MONTH[0], "partial"]
    assert not police.loc[2018, "partial"]
    latest = trend_tables.latest_full_year(annual).set_index("source")
    assert latest.loc["alpha_police", "latest"] == 2022  # 2023 has 6 months: not a full year
    yoy = trend_tables.yoy_table(annual)
    alpha = yoy[yoy["source"] == "alpha_police"]
    assert set(alpha["year_latest"]) == {2022} and set(alpha["year_previous"]) == {2021}


def test_units_are_never_added_together(warehouse, annual):
    # AAA homicide has offences (alpha_police) and victims (alpha_victims): each row keeps its own unit.
    rows = annual[(annual["country"] == "AAA") & (annual["iccs_code"] == "0101") & (annual["year"] == 2018)]
    assert sorted(rows["unit"]) == ["offences", "victims"]
    truth = dict(
        warehouse.execute(
            "SELECT unit, sum(count) FROM offence_counts WHERE country = 'AAA' AND iccs_code = '0101' "
            "AND year = 2018 GROUP BY unit"
        ).fetchall()
    )
    assert dict(zip(rows["unit"], rows["count"], strict=True)) == truth
    assert annual.groupby(["source", "country", "iccs_code", "year"])["unit"].nunique().max() == 1


def test_rates_use_same_year_population_and_are_absent_without_it(warehouse, annual):
    beta = annual[(annual["country"] == "BBB") & (annual["iccs_code"] == "05")].set_index("year")
    assert pd.isna(beta.loc[BETA_MISSING_POPULATION_YEAR, "rate_per_100k"])
    pop_2016 = warehouse.execute(
        "SELECT population FROM population WHERE country = 'BBB' AND area IS NULL AND year = 2016"
    ).fetchall()[0][0]
    assert beta.loc[2016, "rate_per_100k"] == pytest.approx(beta.loc[2016, "count"] * 1e5 / pop_2016)
    areas = trend_data.area_totals(warehouse)
    nowhere = areas[areas["area"] == NO_POPULATION_AREA]
    assert nowhere["count"].gt(0).all() and nowhere["rate_per_100k"].isna().all()


def test_trend_table_ranks_significant_changes_first(annual, warehouse):
    table = trend_tables.trend_table(annual, trend_data.monthly_national(warehouse))
    alpha = table[table["source"] == "alpha_police"].set_index("iccs_code")
    assert alpha.loc["0502", "direction"] == "increasing" and alpha.loc["0502", "significant"]
    assert alpha.loc["0501", "direction"] == "decreasing" and alpha.loc["0501", "significant"]
    assert alpha.loc["0502", "test"] == "Seasonal Mann-Kendall"
    assert table[table["source"] == "beta_stats"]["test"].eq("Mann-Kendall").all()
    assert not table["significant"].iloc[: table["significant"].sum()].eq(False).any()
    assert alpha.loc["0502", "last_year"] == 2022  # the partial year is not an endpoint
    sentence = trend_tables.change_sentence("Theft", alpha.loc["0502"])
    assert sentence.startswith("Theft: the rate per 100,000 rose") and "Mann-Kendall p<0.001" in sentence
    assert "; the count rose" in sentence  # the count's own change beside the rate's, never mistaken for it


# --- the page ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pages(warehouse, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    started = time.perf_counter()
    trends_page = render_trends(warehouse, out)
    middle = time.perf_counter()
    sdg_page = render_sdg16(warehouse, out)
    ended = time.perf_counter()
    print(f"\nrender_trends {middle - started:.2f} s, render_sdg16 {ended - middle:.2f} s on the fixture")
    return {"trends": trends_page, "sdg16": sdg_page, "seconds": ended - started}


def test_trends_page_is_offline_and_escapes_labels(pages):
    html = pages["trends"].read_text()
    assert "cdn.plot.ly" not in html and 'src="http' not in html
    assert (pages["trends"].parent / "plotly.min.js").exists()
    assert "<script>alert(1)" not in html
    assert ESCAPED in html  # the area shows as text in the table, the summary and the chart data


def test_trends_page_says_where_rates_are_missing_and_labels_units(pages):
    html = pages["trends"].read_text()
    assert f"rates are absent for BBB {BETA_MISSING_POPULATION_YEAR}" in html
    assert f"No population for 1 area ({NO_POPULATION_AREA})" in html
    for dataset in (ALPHA_POLICE, "Alpha homicide and trafficking victims (synthetic) — victims (police)"):
        assert dataset in html
    assert "partial year" in html and f"{PARTIAL_YEAR} (6 months)" in html
    assert "Seasonal Mann-Kendall" in html
    assert html.count('class="plotly-graph-div"') >= 10


def test_countries_of_one_source_are_compared_by_rate(pages, annual):
    html = pages["trends"].read_text()
    assert "Beta statistical office, recorded offences (synthetic) — offences (police): countries compared" in html
    latest = annual[(annual["source"] == "beta_stats") & (annual["year"] == 2023) & (annual["iccs_code"] == "05")]
    top = latest.sort_values("rate_per_100k", ascending=False).iloc[0]
    assert f"the highest rate in the latest full year is {top['country']} ({numbers.rate(top['rate_per_100k'])}" in html


def test_rendering_is_fast_on_the_fixture(pages):
    assert pages["seconds"] < 20  # a guard against per-record Python work; measured ~2 s


# charts and blocks name a dataset by its source's description (reports.names), not by its key
ALPHA_POLICE = "Alpha national police, recorded offences (synthetic) — offences (police)"
BREAKS = (
    ("alpha_police", None, "2020", "new recording system", "crime recording standard changed"),
    ("alpha_police", "05022", "2021-07", "reclassification", "theft codes remapped"),
    ("alpha_police", "02011", "2020-03", "appeared", "assault codes split"),
)


def test_a_break_concerns_its_own_category_and_its_ancestors_only():
    assert breaks.concerns("02041", "02041") and breaks.concerns("02041", "0204") and breaks.concerns("02041", "02")
    assert not breaks.concerns("02041", "0205") and not breaks.concerns("02041", "05")
    assert not breaks.concerns("0204", "02041")  # a descendant's series does not hold the parent's records
    assert breaks.concerns(None, "05")  # a break of the whole source


def test_series_breaks_mark_only_the_entries_that_draw_their_category(warehouse, tmp_path: Path):
    with declared_breaks(warehouse, BREAKS) as cursor:
        html = render_trends(cursor, tmp_path).read_text()
    assert "2021-07 reclassification (05022): theft codes remapped" in html  # listed in the metadata
    marks = {
        layout["title"]["text"].replace("<br>", " "): break_labels(layout) for _, _, layout in plotly_figures(html)
    }

    def chart(start: str) -> dict[str, list[str]]:
        return next(v for k, v in marks.items() if k.startswith(start))

    monthly = chart(f"{ALPHA_POLICE}: monthly offences")
    property_, harm = (next(v for k, v in monthly.items() if k.startswith(f"AAA — {c} ")) for c in ("05", "02"))
    assert "series break: 05022 reclassification 2021-07" in property_
    assert not any("appeared" in t for t in property_)
    assert "series break: 02011 appeared 2020-03" in harm and not any("reclassification" in t for t in harm)
    assert "series break: whole source new recording system 2020" in property_
    assert "series break: whole source new recording system 2020" in harm
    level2 = chart(f"{ALPHA_POLICE}: level-2 categories")
    property_, harm = (next(v for k, v in level2.items() if k.startswith(f"AAA — {c} ")) for c in ("05", "02"))
    assert "series break: 05022 reclassification 2021-07" in property_
    assert not any("appeared" in t for t in property_)
    # 2020 and 2020-03: one year mark, naming both
    assert "series break: whole source new recording system 2020; 02011 appeared 2020-03" in harm
    sections = chart(f"{ALPHA_POLICE}: AAA — offences (count)")
    assert "series break: 05022 reclassification 2021-07" in sections["AAA — offences (count)"]
    assert (
        "series break: whole source new recording system 2020; 02011 appeared 2020-03"
        in sections["AAA — offences (count)"]
    )
    assert "AAA Theft: the rate per 100,000 rose" in html
    assert "A series break lies in this period (05022 reclassification 2021-07; new recording system 2020)" in html
    others = [labels for title, entries in marks.items() if ALPHA_POLICE not in title for labels in entries.values()]
    assert others and not any(others)  # other sources' charts carry none of alpha_police's breaks


@pytest.mark.browser
@needs_browser
def test_trends_renders_every_chart_in_a_browser_without_errors(pages):
    path = pages["trends"]
    rendered = render(path)
    divs = chart_divs(path.read_text())
    assert divs > 0
    assert rendered.plotly_svgs >= divs, f"{rendered.plotly_svgs} plotly svgs for {divs} charts"
    assert rendered.console_errors == [], rendered.console_errors
    assert "<script>alert(1)" not in rendered.dom
    assert ESCAPED in rendered.dom  # shown as text in the rendered page


def test_a_source_with_only_partial_years_is_shown_flagged_never_compared(tmp_path: Path):
    import duckdb

    from warehouse.ddl import ensure_schema
    from warehouse.reference import load_classification

    con = duckdb.connect()
    ensure_schema(con)
    load_classification(con)
    con.execute(
        "INSERT INTO offence_counts (source, country, area, iccs_code, national_code, year, month, unit, stage, count) "
        "SELECT 'july_only', 'GBR', 'LSOA ' || a, c, 'n', y, 7, 'offences', 'police', 5 + a % 7 "
        "FROM range(2016, 2019) t(y), range(12) s(a), (VALUES ('05022'), ('0401')) v(c)"
    )
    html = render_trends(con, tmp_path).read_text()
    con.close()
    assert "GBR has no full year: 2018 covers 1 of 12 months" in html
    assert "No full year (every year has fewer than 12 months with records): no year-over-year change" in html
    assert "<span>0 rows" not in html  # no empty level-2 or year-over-year table
    assert "Not decomposed (fewer than 24 usable months)" in html


def _annual(counts: dict[str, list[float]], first_year: int) -> pd.DataFrame:
    """An annual_national-shaped frame: one series, one row per category and full year, no population."""
    rows = [
        {
            "source": "s",
            "unit": "offences",
            "stage": "police",
            "country": "XSY",
            "iccs_code": code,
            "level": 2,
            "label": f"Category {code}",
            "section": code[:2],
            "monthly": False,
            "months": 0,
            "partial": False,
            "year": first_year + i,
            "count": float(v),
            "population": np.nan,
        }
        for code, values in counts.items()
        for i, v in enumerate(values)
    ]
    frame = pd.DataFrame(rows)
    return frame.assign(rate_per_100k=frame["count"] * 1e5 / frame["population"])


def test_a_trend_on_a_handful_of_records_is_never_called_significant():
    annual = _annual({"0101": [0, 1, 1, 2, 3, 4], "0502": [100, 110, 120, 130, 140, 150]}, 2019)
    table = trend_tables.trend_table(annual, pd.DataFrame()).set_index("iccs_code")
    assert table.loc["0101", "p_value"] < 0.05  # the test alone would call it significant
    assert not table.loc["0101", "significant"] and table.loc["0101", "verdict"] == "too few records (n=4)"
    assert table.loc["0502", "significant"] and table.loc["0502", "verdict"] == "significant rise"
    assert (table.loc["0502", "first_count"], table.loc["0502", "last_count"]) == (100, 150)
    tiny = trend_tables.change_sentence("Homicide", table.loc["0101"])
    assert tiny == (
        f"Homicide: too few records to judge a trend (n=4 in 2019 and 2024 together; at least "
        f"{trend_tables.MIN_RECORDS} needed)."
    )
    assert "significant" not in tiny and "%" not in tiny
    big = trend_tables.change_sentence("Theft", table.loc["0502"])
    assert big.startswith("Theft rose 50% from 100 in 2019 to 150 in 2024 (Mann-Kendall p=")
    assert trend_tables.trend_table(annual, pd.DataFrame()).iloc[0]["iccs_code"] == "0502"  # ranked first


def test_year_over_year_changes_are_tested_and_small_ones_are_not_headlines():
    annual = _annual({"0101": [19, 13], "0201": [40, 46], "0502": [400, 470], "0601": [2, 9]}, 2023)
    yoy = trend_tables.yoy_table(annual)
    assert yoy["iccs_code"].tolist()[0] == "0502"  # the most significant change first
    row = yoy.set_index("iccs_code")
    assert row.loc["0502", "p_value"] == pytest.approx(stats.binomtest(470, 870, 0.5).pvalue)
    assert row.loc["0502", "significant"] and row.loc["0502", "verdict"] == "significant rise"
    assert not row.loc["0101", "significant"] and row.loc["0101", "verdict"] == "within chance"  # 19 -> 13
    assert not row.loc["0201", "significant"]  # +15% from 40 to 46 is within chance
    assert row.loc["0601", "verdict"] == "too few records"  # +350% from 2 to 9
    sentence = changes_sentence(yoy, "offences", lead="", with_country=False)
    assert sentence.startswith(
        "2023 to 2024: the clearest rise is Category 0502 (rose 18% from 400 offences in 2023 to 470 offences in 2024)."
    )
    assert "0101" not in sentence and "fall" not in sentence
    calm = changes_sentence(yoy[yoy["iccs_code"] != "0502"], "offences", lead="", with_country=False)
    assert calm.startswith("2023 to 2024: no change goes beyond chance")


def _one_source(rows_sql: str, population_sql: str | None = None):
    import duckdb

    from warehouse.ddl import ensure_schema
    from warehouse.reference import load_classification

    con = duckdb.connect()
    ensure_schema(con)
    load_classification(con)
    con.execute(
        "INSERT INTO offence_counts (source, country, area, iccs_code, national_code, year, month, unit, stage, count) "
        + rows_sql
    )
    if population_sql:
        con.execute("INSERT INTO population (country, area, year, population) " + population_sql)
    return con


def test_a_source_with_one_year_says_so_instead_of_drawing_points_and_empty_tables(tmp_path: Path):
    con = _one_source(
        "SELECT 'one_year', 'ISL', NULL, c, 'n', 2023, m, 'offences', 'police', 3 "
        "FROM range(1, 13) t(m), (VALUES ('0101'), ('0502'), ('02011')) v(c)",
        "VALUES ('ISL', NULL, 2023, 150000)",
    )
    html = render_trends(con, tmp_path).read_text()
    con.close()
    assert "One year of data (2023): no chart over time; the table has the figures." in html
    assert "One year of data (2023): no year-over-year change." in html
    assert "<span>0 rows" not in html and "No data for this table" not in html
    for _, data, layout in plotly_figures(html):  # what is still drawn (monthly series) spans more than one x
        xs = {x for trace in data for x in trace.get("x") or [] if x is not None}
        assert len(xs) > 1, layout["title"]["text"]
