"""Words that match the numbers: headlines, change labels, excluded rows, aggregate units, bounded pages.

Each test builds its own small warehouse or fixture with the trait it checks (a category growing from a tiny base,
a rate that changes unlike its count, rises and falls together, rows a correspondence table places outside ICCS,
table cells of an aggregate source with suppressed counts, a hundred thousand unclassified codes).
"""

from __future__ import annotations

import contextlib
import html as html_lib
import io
import json
import re
import urllib.parse
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from reports import trend_tables
from reports.quality import render_quality
from reports.quality.sections import TOP_CODES
from reports.trends import render_trends
from warehouse.ddl import ensure_schema
from warehouse.reference import load_classification

YEARS = list(range(2016, 2024))
# Per ICCS code, counts 2016..2023: a clear rise, two clear falls, and a rise from a base of 3 records.
SERIES = {
    "0502": [1000, 1080, 1150, 1230, 1300, 1390, 1480, 1570],
    "0501": [900, 850, 790, 720, 660, 610, 560, 500],
    "0401": [400, 380, 350, 330, 300, 280, 260, 240],
    "0101": [3, 60, 150, 300, 500, 700, 950, 1200],
}
POPULATION = [1_000_000 + 30_000 * i for i in range(len(YEARS))]  # grows, so rates change unlike counts


def _summaries(html: str) -> list[str]:
    return [html_lib.unescape(m) for m in re.findall(r'<p class="summary">(.*?)</p>', html, re.S)]


def _csv(html: str, name: str) -> pd.DataFrame:
    match = re.search(rf'download="{re.escape(name)}" href="data:text/csv;charset=utf-8,([^"]+)"', html)
    assert match, f"no embedded CSV named {name}"
    text = urllib.parse.unquote(match.group(1).replace("&amp;", "&"))
    return pd.read_csv(io.StringIO(text), dtype={"iccs_code": str})


@pytest.fixture(scope="module")
def trends_page(tmp_path_factory) -> str:
    con = duckdb.connect()
    ensure_schema(con)
    load_classification(con)
    rows = [
        ("s", "XSY", None, code, "n" + code, year, None, "offences", "police", float(v))
        for code, values in SERIES.items()
        for year, v in zip(YEARS, values, strict=True)
    ]
    con.executemany(
        "INSERT INTO offence_counts (source, country, area, iccs_code, national_code, year, month, unit, "
        "stage, count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    con.executemany(
        "INSERT INTO population (country, area, year, population) VALUES (?, ?, ?, ?)",
        [("XSY", None, y, p) for y, p in zip(YEARS, POPULATION, strict=True)],
    )
    out = tmp_path_factory.mktemp("words_trends")
    text = render_trends(con, out).read_text()
    con.close()
    return text


# --- sentences on their own ---------------------------------------------------------------------------------


def test_no_percent_from_a_base_below_the_minimum_and_both_counts_always():
    assert trend_tables.change_words(312, 1204, 2016, 2023, 312) == "rose 286% from 312 in 2016 to 1,204 in 2023"
    tiny = trend_tables.change_words(3, 12, 2016, 2023, 3, unit="offences")
    assert tiny == "rose from 3 offences in 2016 to 12 offences in 2023"  # base 3 < MIN_BASE: no percent
    assert trend_tables.MIN_BASE == 20
    assert "%" not in trend_tables.change_words(19, 30, 2016, 2023, 19)
    assert "%" in trend_tables.change_words(20, 30, 2016, 2023, 20)
    # A big base does not license an absurd percent either: +39,408% is said in words, with both counts.
    absurd = trend_tables.change_words(38, 15_013, 1975, 2023, 38)
    assert absurd == "rose more than tenfold from 38 in 1975 to 15,013 in 2023" and "%" not in absurd
    assert trend_tables.change_words(500, 200, 2016, 2023, 500) == "fell 60% from 500 in 2016 to 200 in 2023"


def test_a_rate_change_is_told_with_the_rates_and_the_count_change_with_the_counts():
    row = {
        "first_year": 2016,
        "last_year": 2023,
        "first_value": 10.0,
        "last_value": 23.1,
        "first_count": 1000,
        "last_count": 2410,
        "records": 3410,
        "change_measure": "rate per 100,000",
        "test": "Mann-Kendall",
        "p_value": 0.002,
        "significant": True,
        "change_pct": 131.0,
    }
    sentence = trend_tables.change_sentence("Theft", row)
    assert sentence == (
        "Theft: the rate per 100,000 rose 131% from 10.0 in 2016 to 23.1 in 2023 (Mann-Kendall "
        "p=0.002, significant; the count rose 141% from 1,000 in 2016 to 2,410 in 2023)."
    )


# --- trends.html --------------------------------------------------------------------------------------------


def test_the_trend_headline_names_the_strongest_rise_and_the_strongest_fall(trends_page: str):
    summary = next(s for s in _summaries(trends_page) if "tested categories" in s)
    assert "Strongest rise: XSY Category" not in summary  # labels are the ICCS labels
    rise = re.search(r"Strongest rise: (.*?)\.(?: Strongest| \d|$)", summary)
    fall = re.search(r"Strongest fall: (.*?)\.(?: \d|$)", summary)
    assert rise and fall, summary
    assert " rose " in rise.group(1) and " fell " in fall.group(1)


def test_no_headline_names_a_percent_from_a_tiny_base_or_an_absurd_one(trends_page: str):
    text = " ".join(_summaries(trends_page))
    assert not re.search(r"\d{4,}%", text.replace(",", ""))  # never +39408%
    # Homicide grew from 3 records: told with both counts (and rates) and their years, never as a percent.
    assert "the count rose more than tenfold from 3 in 2016 to 1,200 in 2023" in text
    assert "the rate per 100,000 rose more than tenfold from 0.30 in 2016 to 99.2 in 2023" in text
    assert not re.search(r"\d% from (3|0\.30) in 2016", text)


def test_mann_kendall_tables_put_each_change_beside_its_own_figures(trends_page: str):
    assert ">change in rate per 100,000, first to last year<" in trends_page
    assert ">change in count, first to last year<" in trends_page
    assert ">rate per 100,000, first year<" in trends_page and ">measure tested<" in trends_page
    table = _csv(trends_page, "trends_mann_kendall_s-offences-police.csv").set_index("iccs_code")
    assert "change_pct" not in table.columns and {"count_change_pct", "rate_change_pct"} <= set(table.columns)
    theft = table.loc["0502"]
    assert theft["count_change_pct"] == pytest.approx((1570 / 1000 - 1) * 100)
    rates = np.array(SERIES["0502"]) * 1e5 / np.array(POPULATION)
    assert theft["rate_per_100k_first"] == pytest.approx(rates[0]) and theft["rate_per_100k_last"] == pytest.approx(
        rates[-1]
    )
    assert theft["rate_change_pct"] == pytest.approx((rates[-1] / rates[0] - 1) * 100)
    assert theft["rate_change_pct"] != pytest.approx(theft["count_change_pct"])  # two different changes
    yoy = _csv(trends_page, "trends_yoy_s-offences-police.csv")
    assert "change_pct" not in yoy.columns and {"count_change_pct", "rate_change_pct"} <= set(yoy.columns)


# --- outside ICCS, aggregate units: end to end through `iccs run` ------------------------------------------

SOURCES_YAML = """\
description: words fixture (hand-made)
sources:
  w_police:
    country: XTS
    level: incident
    unit: offences
    files: incidents.csv
    columns: {record_id: id, date: date, offence: code}
    date_format: "%Y-%m-%d"
    correspondence: correspondence.csv
  w_table:
    country: XTS
    level: aggregate
    unit: victims
    files: table.csv
    columns: {date: year, offence: offence, count: persons}
    date_format: "%Y"
    correspondence: correspondence.csv
"""
CORRESPONDENCE = """\
national_code,national_label,iccs_code,correspondence,note
THF,Theft,0502,full,
HOM,Murder,0101,full,
ASB,Anti-social behaviour,,excluded,not a crime
TOT,All offences,,excluded,a total of the other rows
"""
# 1,200 + 3 victims loaded in 2 cells; 2 cells outside ICCS (1,203 + 4,100 victims); 2 cells quarantined, whose
# counts ('..' suppressed, -3) are not usable.
TABLE = "year,offence,persons\n2023,THF,1200\n2023,HOM,3\n2023,TOT,1203\n2024,THF,..\n2024,HOM,-3\n2024,TOT,4100\n"


@pytest.fixture(scope="module")
def words_run(tmp_path_factory):
    from pipelines.cli import main

    folder = tmp_path_factory.mktemp("words_run")
    (folder / "sources.yaml").write_text(SOURCES_YAML)
    (folder / "correspondence.csv").write_text(CORRESPONDENCE)
    lines = ["id,date,code"] + [f"t{i},2023-01-{i + 1:02d},THF" for i in range(25)]
    lines += [f"a{i},2023-02-{i + 1:02d},ASB" for i in range(5)] + ["bad,2023-13-01,THF"]
    (folder / "incidents.csv").write_text("\n".join(lines) + "\n")
    (folder / "table.csv").write_text(TABLE)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(
            [
                "run",
                "--config",
                str(folder / "sources.yaml"),
                "--warehouse",
                str(folder / "w.duckdb"),
                "--reports",
                str(folder / "reports"),
            ]
        )
    return folder, code, out.getvalue()


def test_iccs_run_counts_excluded_rows_apart_and_never_as_not_mapped(words_run):
    _, code, printed = words_run
    assert code == 0, printed
    police = next(line for line in printed.splitlines() if line.startswith("✓ w_police"))
    assert police == (
        "✓ w_police: 31 records in, 25 loaded, 5 outside ICCS by the correspondence table, 1 "
        "quarantined (invalid_date 1); mapped to ICCS 100.0% of what ICCS can place"
    )
    assert "not mapped" not in printed and "excluded_offence" not in printed
    assert "mapped_share" not in printed  # the check passes: excluded rows are not a mapping gap


def test_the_mapped_share_check_is_of_placeable_records(words_run):
    folder, _, _ = words_run
    import dagster as dg

    from pipelines.checks import mapped_share_check
    from warehouse.classify import records_table

    con = duckdb.connect()
    con.execute(
        f"CREATE TEMP TABLE {records_table('x')} AS SELECT * FROM (VALUES ('0502', 'full'), ('0502', 'full'), "
        "(NULL, 'excluded'), (NULL, 'excluded'), (NULL, NULL)) t(iccs_code, mapping)"
    )
    result = mapped_share_check(con, dg.AssetKey("facts"), "x")
    assert not result.passed  # one placeable record of three is not mapped
    assert result.description.startswith(
        "66.7% of the 3 records ICCS can place mapped to ICCS (1 not mapped; 2 "
        "outside ICCS by the correspondence table, counted apart;"
    )
    con.execute(f"DELETE FROM {records_table('x')} WHERE mapping IS NULL")
    result = mapped_share_check(con, dg.AssetKey("facts"), "x")
    assert result.passed and result.metadata["outside_iccs"].value == 2
    assert result.metadata["mapped_share"].value == 1.0


def test_an_aggregate_source_is_counted_in_its_unit_with_cells_named_as_cells(words_run):
    folder, _, printed = words_run
    table = next(line for line in printed.splitlines() if line.startswith("✓ w_table"))
    assert table == (
        "✓ w_table: 6 table cells in: 1,203 victims in 2 cells loaded; 2 cells (≈ 5,303 victims where "
        "known) outside ICCS by the correspondence table; 2 cells (no usable count) quarantined "
        "(invalid_count 1, missing_count 1); mapped to ICCS 100.0% of what ICCS can place"
    )
    quality = (folder / "reports" / "quality.html").read_text()
    loads = _summaries(quality)[0]
    assert (
        "w_table: 1,203 victims in 2 table cells loaded; 2 cells (≈ 5,303 victims where known) outside ICCS by "
        "the correspondence table; 2 cells (no usable count) quarantined."
    ) in loads
    assert "37 records in (6 of them table cells of aggregate sources)" in loads


def test_quality_page_shows_excluded_rows_as_a_neutral_category(words_run):
    folder, _, _ = words_run
    quality = (folder / "reports" / "quality.html").read_text()
    chart = re.search(r'Plotly\.newPlot\(\s*"loads-chart",\s*(\[.*?\]),\s*\{"', quality, re.S).group(1)
    bars = {trace["name"]: trace for trace in json.loads(chart)}
    assert list(bars) == ["loaded", "outside ICCS by the correspondence table", "quarantined"]
    assert bars["outside ICCS by the correspondence table"]["x"] == [5, 2]
    assert bars["quarantined"]["x"] == [1, 2]
    assert bars["outside ICCS by the correspondence table"]["marker"]["color"] != bars["quarantined"]["marker"]["color"]
    loads = _summaries(quality)[0]
    assert "27 loaded, 7 outside ICCS by the correspondence table (left out on purpose) and 3 quarantined" in loads
    trends = html_lib.unescape((folder / "reports" / "trends.html").read_text())
    assert (
        "w_police: 5 records outside ICCS by the correspondence table, not counted here (left out on purpose; "
        "quality.html lists them)"
    ) in trends
    assert "w_table: 2 table cells outside ICCS by the correspondence table" in trends
    assert "unmapped" not in trends.lower() and "not mapped" not in trends.lower()
    reasons = _summaries(quality)[1]
    # one invalid count, one invalid date and one empty count (missing_count since missing counts have a reason
    # of their own): a tie, named as such
    assert reasons.startswith(
        "3 records in quarantine; all 3 reasons are tied at 1 record each (invalid_count, "
        "invalid_date and missing_count). 7 records are outside ICCS by the correspondence table"
    )


# --- bounded pages ------------------------------------------------------------------------------------------


def test_quality_page_stays_small_with_a_hundred_thousand_unclassified_codes(tmp_path: Path):
    codes = 100_000
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    ensure_schema(con)
    con.execute(
        "INSERT INTO runs (run_id, source, file, started_at, finished_at, records_in, records_loaded, "
        "records_quarantined, files, status) VALUES ('r', 'big', 'f.csv', now(), now(), ?, 0, ?, 1, 'loaded')",
        [codes + 50, codes + 50],
    )
    # Code c0 has 51 records, every other code one: the page lists the top ones and counts the rest.
    con.execute(f"""INSERT INTO quarantine (source, file, row_number, reason, detail, raw, run_id, national_code,
                                        exclusion)
        SELECT 'big', 'f.csv', i + 2, 'unmapped_offence', 'offence: national code ''' || code || ''' is not in t.csv',
               '{{}}', 'r', code, 'unmapped'
        FROM (SELECT i, 'c' || (CASE WHEN i < 51 THEN 0 ELSE i - 50 END) AS code FROM range({codes + 50}) t(i))""")
    out = tmp_path / "reports"
    path = render_quality(con, out)
    con.close()
    text = path.read_text()
    assert path.stat().st_size < 1_000_000, path.stat().st_size
    assert "data:text/csv" not in text.split("quality_unmapped_codes.csv")[0][-300:]  # linked, not embedded
    assert 'href="quality_unmapped_codes.csv"' in text
    rest = codes - TOP_CODES
    assert (
        f"… and {rest:,} more codes ({rest:,} records, {rest / (codes + 50):.1%} of the unclassified records)"
        in html_lib.unescape(text)
    )
    full = pd.read_csv(out / "quality_unmapped_codes.csv")
    assert len(full) == codes and full["records"].sum() == codes + 50
    assert full.iloc[0]["national_code"] == "c0" and full.iloc[0]["records"] == 51


def test_a_rise_is_named_even_when_the_three_largest_changes_are_falls():
    # The case: "2 rose and 3 fell" named only the falls, leaving out a +57% rise with p = 0.002.
    t = pd.DataFrame(
        {
            "iccs_code": ["a", "b", "c", "d", "e"],
            "direction": ["decreasing", "decreasing", "decreasing", "increasing", "increasing"],
            "significant": [True, True, True, True, False],
            "relative_slope_pct": [-12.0, -10.0, -9.0, 6.0, 20.0],
            "p_value": [0.001, 0.001, 0.001, 0.002, 0.2],
        }
    )
    picked = trend_tables.strongest_both_ways(t)
    assert picked["iccs_code"].tolist() == ["d", "a"]  # the significant rise first, then the strongest fall


def test_quarantined_cells_are_never_given_an_invented_count():
    from reports.quality import cells_text

    assert cells_text(312, 4100.0, 0, "offences") == "312 cells (≈ 4,100 offences where known)"
    assert cells_text(312, 4100.0, 12, "offences") == (
        "312 cells (≈ 4,100 offences where known; 12 with no usable count)"
    )
    assert cells_text(2, 0.0, 2, "victims") == "2 cells (no usable count)"
    assert cells_text(2, 0.0, 2, "victims", count_read=False) == (
        "2 cells (counts not read: the source's configuration is not readable)"
    )
