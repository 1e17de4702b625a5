"""The reports' breakdowns (issue 14): sdg16.html by sex and age group, trends.html by the victim's sex, and
hotspots.html's firearm-related offences, on an incident source that records the victim's sex and age and the weapon
(with a plain source beside it), on the synthetic report warehouse that has no breakdown at all, and on the real
UNODC homicide source (skipped where ../shared/data is absent)."""

from __future__ import annotations

import csv
import html as html_lib
import re

import duckdb
import pandas as pd
import pytest
from browser import chart_divs, needs_browser, render
from disaggregations_fixture import COUNTRY, HOT, POPULATION, write_fixture
from reports_fixture import build_warehouse

from pipelines.runner import run_pipeline
from reports import tables
from reports.hotspots import data as hotspots_data
from reports.hotspots import render_hotspots
from reports.numbers import rate
from reports.sdg16 import data as sdg16_data
from reports.sdg16 import render_sdg16
from reports.sdg16.breakdowns import sex_table, with_partial
from reports.trends import data as trends_data
from reports.trends import render_trends
from tests.conftest import ROOT, SHARED_DATA, requires_shared_data

RENDERERS = {"sdg16": render_sdg16, "trends": render_trends, "hotspots": render_hotspots}


def _text(page: str) -> str:
    """The page's words: no scripts, no tags, entities decoded, spaces collapsed."""
    page = re.sub(r"<script.*?</script>", " ", page, flags=re.S)
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


def _section(page: str, start: str, end: str | None = None) -> str:
    i = page.index(start)
    return page[i : page.index(end, i) if end else None]


@pytest.fixture(scope="module")
def tagged(tmp_path_factory):
    """The fixture's two sources through the pipeline; its warehouse (read-only) and the three pages."""
    folder = tmp_path_factory.mktemp("disagg")
    fixture = write_fixture(folder / "input")
    assert run_pipeline(fixture.config, folder / "w.duckdb", folder / "reports", with_reports=False).ok
    con = duckdb.connect(str(folder / "w.duckdb"), read_only=True)
    pages = {kind: write(con, folder / "reports").read_text() for kind, write in RENDERERS.items()}
    yield con, pages, folder / "reports"
    con.close()


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    """The synthetic report warehouse (no source configures a breakdown) and its pages by sex."""
    folder = tmp_path_factory.mktemp("plain")
    con = build_warehouse(folder / "warehouse.duckdb")
    out = folder / "reports"
    pages = {"sdg16": render_sdg16(con, out).read_text(), "trends": render_trends(con, out).read_text()}
    yield con, pages
    con.close()


def _homicides_by_sex(con, year: int) -> dict[str, float]:
    """The fixture's homicide offences of a year by the victim's sex, straight from the incident records."""
    rows = con.execute(
        "SELECT victim_sex, count(*) FROM offences WHERE source = 'xdi_police' AND iccs_code = '0101' "
        "AND year(occurred_on) = ? GROUP BY ALL",
        [year],
    ).fetchall()
    return {sex: float(n) for sex, n in rows}


def test_sdg16_by_sex_gives_the_rates_over_the_same_sex(tagged):
    con, pages, _ = tagged
    rows = sdg16_data.indicator_by_sex_age(con)
    homicide = rows[rows["indicator"] == "16.1.1"]
    annual = sdg16_data.indicator_annual(con)
    table = sex_table(with_partial(homicide, annual[annual["indicator"] == "16.1.1"]))
    assert set(table["country"]) == {COUNTRY}  # the plain source has no breakdown
    for year in (2021, 2022, 2023):
        counts = _homicides_by_sex(con, year)
        row = table[table["year"] == year].iloc[0]
        assert row["count_M"] == counts["M"] and row["count_F"] == counts["F"] and row["count__U"] == counts["_U"]
        assert row["rate_per_100k_M"] == pytest.approx(counts["M"] * 1e5 / POPULATION["M"])
        assert row["rate_per_100k_F"] == pytest.approx(counts["F"] * 1e5 / POPULATION["F"])
        assert row["rate_per_100k__T"] == pytest.approx(sum(counts.values()) * 1e5 / POPULATION["_T"])
        assert row["sex_known_share"] == pytest.approx((counts["M"] + counts["F"]) / sum(counts.values()))
    page = pages["sdg16"]
    block = _section(page, "By sex and age group", "16.2.2 ")
    counts = _homicides_by_sex(con, 2023)
    male, female = counts["M"] * 1e5 / POPULATION["M"], counts["F"] * 1e5 / POPULATION["F"]
    known = (counts["M"] + counts["F"]) / sum(counts.values())
    words = _text(block)
    assert f"2023: {rate(male)} male and {rate(female)} female offences per 100,000 of the same sex" in words
    assert f"sex known for {known:.0%} of the offences ({1 - known:.0%} recorded as not known)" in words
    assert f'<td class="num">{rate(male)}</td><td class="num">{rate(female)}</td>' in block
    assert "No breakdown by sex or age for 1 of 2 countries with 16.1.1: XPL." in words
    assert "16.1.1 by age group and sex" in block  # ages without a population by age: shares, not rates
    assert "% of the victims of the same sex" in block
    assert "Definition (by sex)" in block and "population of the same sex" in words


def test_trends_split_a_category_by_the_victims_sex(tagged):
    con, pages, _ = tagged
    sexes = trends_data.national_by_sex(con)
    assert set(sexes["source"]) == {"xdi_police"}
    (male, female, unknown) = con.execute(
        "SELECT count(*) FILTER (victim_sex = 'M'), count(*) FILTER (victim_sex = 'F'), "
        "count(*) FILTER (victim_sex = '_U') FROM offences "
        "WHERE source = 'xdi_police' AND iccs_code = '0401' AND year(occurred_on) = 2023"
    ).fetchall()[0]
    section = _section(pages["trends"], ">By sex<", "</section>")
    words = _text(section)
    assert f"XDI Robbery: {female / (male + female):.0%} of the offences whose victim's sex is known" in words
    row = f"XDI 0401 Robbery 2023 {male + female + unknown} {male} {female} {unknown}"
    assert row in words
    assert "xpl_police" not in section


def test_firearm_hot_spots_need_the_weapon_tag(tagged):
    con, pages, _ = tagged
    records, known, firearm = con.execute(
        "SELECT count(*), count(*) FILTER (weapon NOT IN ('_U', '_Z', 'UNKNOWN_MEANS')), "
        "count(*) FILTER (weapon = 'FIREARM') FROM offences WHERE source = 'xdi_police'"
    ).fetchall()[0]
    words = _text(pages["hotspots"])
    title = "Hot spots: synthetic incidents with victim sex and age and weapon (offences), firearm-related"
    assert title in words
    assert "Hot spots: xpl_police (offences), firearm-related" not in words  # no weapon tag: nothing added
    assert "A signal for SDG target 16.4" in words
    shown = tables.percent(100 * known / records)
    assert f"The weapon is known for {shown} of the {records:,} records of xdi_police" in words
    assert f"{firearm:,} were committed with a firearm" in words
    firearms = words[words.index(title) :]
    found = re.search(r"HS1 near \(no area recorded\) \((\d+\.\d+)° N, (\d+\.\d+)° E\)", firearms)
    assert found, firearms[:2000]
    assert abs(float(found.group(1)) - HOT[1]) < 0.01 and abs(float(found.group(2)) - HOT[0]) < 0.01


@pytest.mark.browser
@needs_browser
def test_the_breakdown_charts_render(tagged):
    _, pages, folder = tagged
    for kind in ("sdg16", "trends"):
        path = folder / f"{kind}.html"
        rendered = render(path)
        assert rendered.plotly_svgs >= chart_divs(pages[kind]), kind
        assert rendered.console_errors == [], kind


def test_without_breakdowns_the_pages_add_nothing(plain):
    con, pages = plain
    assert sdg16_data.indicator_by_sex_age(con).empty and trends_data.national_by_sex(con).empty
    assert "By sex and age group" not in pages["sdg16"] and "No breakdown by sex" not in pages["sdg16"]
    assert ">By sex<" not in pages["trends"] and "by the victim's sex" not in pages["trends"]
    assert hotspots_data.weapon_datasets(con, "FIREARM").empty  # no firearm section (the page's test: above)


@pytest.fixture(scope="module")
def unodc(tmp_path_factory):
    if not SHARED_DATA.is_dir():
        pytest.skip(f"{SHARED_DATA} is absent (real public data is provided beside the repository)")
    folder = tmp_path_factory.mktemp("unodc")
    config = ROOT / "pipelines" / "sources" / "unodc_homicide" / "sources.yaml"
    assert run_pipeline(config, folder / "w.duckdb", folder / "reports", with_reports=False).ok
    con = duckdb.connect(str(folder / "w.duckdb"), read_only=True)
    sdg16 = render_sdg16(con, folder / "reports").read_text()
    csv_rows = pd.read_csv(folder / "reports" / "sdg_16.1.1_by_sex.csv")  # the table shows 200 rows, the CSV all
    yield con, sdg16, csv_rows, render_trends(con, folder / "reports").read_text()
    con.close()


def _published(country: str, year: int, sex: str, age: str) -> float:
    """UNODC's own rate per 100,000 for a cell of its file."""
    with (SHARED_DATA / "unodc_homicide_wpp" / "unodc_main.csv").open(encoding="utf-8-sig") as handle:
        for row in csv.DictReader(handle):
            if (row["iso3"], int(row["year"]), row["sex"], row["age_group"]) == (country, year, sex, age):
                return float(row["rate_per_100k"])
    raise KeyError((country, year, sex, age))


@requires_shared_data()
def test_unodc_homicide_by_sex_and_age(unodc):
    con, sdg16, csv_rows, trends = unodc
    rows = sdg16_data.indicator_by_sex_age(con)
    homicide = rows[rows["indicator"] == "16.1.1"]
    annual = sdg16_data.indicator_annual(con)
    table = sex_table(with_partial(homicide, annual[annual["indicator"] == "16.1.1"])).set_index(["country", "year"])
    male, female, pop_m, pop_f = con.execute(
        """
        SELECT sum(count) FILTER (victim_sex = 'M'), sum(count) FILTER (victim_sex = 'F'),
               (SELECT population FROM population WHERE country = 'MEX' AND year = 2022 AND area IS NULL
                AND sex = 'M' AND age = '_T'),
               (SELECT population FROM population WHERE country = 'MEX' AND year = 2022 AND area IS NULL
                AND sex = 'F' AND age = '_T')
        FROM disaggregated_counts
        WHERE source = 'unodc_homicide' AND country = 'MEX' AND year = 2022 AND victim_age = '_T'
        """
    ).fetchall()[0]
    row = table.loc[("MEX", 2022)]
    assert row["rate_per_100k_M"] == pytest.approx(male * 1e5 / pop_m)
    assert row["rate_per_100k_F"] == pytest.approx(female * 1e5 / pop_f)
    assert row["rate_per_100k_M"] == pytest.approx(_published("MEX", 2022, "Мужчины", "Все"), abs=0.05)
    assert row["rate_per_100k_F"] == pytest.approx(_published("MEX", 2022, "Женщины", "Все"), abs=0.05)
    ages = homicide[(homicide["country"] == "MEX") & (homicide["year"] == 2022) & (homicide["sex"] == "F")]
    young = ages.set_index("age").loc["Y15T17", "rate_per_100k"]
    assert young == pytest.approx(_published("MEX", 2022, "Женщины", "15-17"), abs=0.05)
    shown = csv_rows[(csv_rows["country"] == "MEX") & (csv_rows["year"] == 2022)].iloc[0]
    assert shown["rate_per_100k_M"] == pytest.approx(male * 1e5 / pop_m)
    assert shown["sex_known_share"] == pytest.approx((male + female) / shown["count__T"])
    block = _section(sdg16, "By sex and age group", "16.2.2 ")
    words = _text(block)
    assert "16.1.1 by age group and sex" in block and "per 100,000 of the same sex and age group" in block
    assert re.search(r"partial in \d+: AFG 2019: sex known for 8\.8% of victims \(91% not broken down", words)
    assert re.search(r"No breakdown by sex or age for \d+ of \d+ countries with 16\.1\.1", words)
    assert "UNODC intentional homicide victims by country and year — victims (police): by the victim's sex" in _text(
        trends
    )
