"""quality.html: every record accounted for, reasons and unmapped codes, coverage holes drawn as holes, data
labels escaped, and the page renders offline in a real browser."""

from __future__ import annotations

import json
import re
import urllib.parse
from io import StringIO
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from browser import needs_browser, render
from reports_fixture import MISSING_MONTH, XSS_AREA, build_warehouse

from reports import build
from reports.quality import render_quality
from warehouse import completeness, quality
from warehouse.connection import connect
from warehouse.ddl import ensure_schema


def _csv(html: str, name: str) -> pd.DataFrame:
    """The frame behind a table's CSV download link."""
    match = re.search(rf'download="{re.escape(name)}" href="data:text/csv;charset=utf-8,([^"]+)"', html)
    assert match, f"no CSV download named {name}"
    return pd.read_csv(StringIO(urllib.parse.unquote(match.group(1).replace("&amp;", "&"))))


def _plots(html: str) -> dict[str, list]:
    """div id -> the data array of its Plotly.newPlot call."""
    found = re.findall(r'Plotly\.newPlot\(\s*"([^"]+)",\s*(\[.*?\]),\s*\{"', html, re.S)
    return {div: json.loads(data) for div, data in found}


@pytest.fixture(scope="module")
def mini_page(mini_run, tmp_path_factory) -> tuple[Path, str]:
    out = tmp_path_factory.mktemp("quality_mini")
    with connect(mini_run.warehouse, read_only=True) as con:  # the report reads; it never writes
        path = render_quality(con, out)
    return path, path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def fixture_page(tmp_path_factory) -> tuple[Path, str]:
    folder = tmp_path_factory.mktemp("quality_fixture")
    con = build_warehouse(folder / "w.duckdb")
    try:
        path = render_quality(con, folder / "reports")
    finally:
        con.close()
    return path, path.read_text(encoding="utf-8")


def test_every_record_is_accounted_for_per_source(mini_run, mini_page) -> None:
    _, html = mini_page
    loads = _csv(html, "quality_loads.csv").set_index("source")
    for result in mini_run.by_source().values():
        row = loads.loc[result.source]
        assert (row.records_in, row.records_loaded, row.records_quarantined) == (
            result.records_in,
            result.records_loaded,
            result.records_quarantined,
        )
        assert bool(row.balanced) and row.quarantine_rows == result.records_quarantined
    assert "Every record is accounted for" in html


def test_reasons_and_unmapped_codes_name_file_and_line(mini_run, mini_page) -> None:
    _, html = mini_page
    reasons = _csv(html, "quality_reasons.csv")
    police = reasons[reasons["source"] == "mini_police"].set_index("reason")["records"].to_dict()
    assert police == mini_run.by_source()["mini_police"].reasons
    unmapped = _csv(html, "quality_unmapped_codes.csv")
    assert unmapped[["source", "national_code", "records", "first_at"]].values.tolist() == [
        ["mini_police", "XXX", 1, "incidents_2023.csv:8"]
    ]
    assert unmapped["why"].tolist() == ["not in the correspondence table"]


def test_contract_rules_hold_over_the_loaded_tables(mini_run) -> None:
    with connect(mini_run.warehouse, read_only=True) as con:
        results = quality.contract_results(con)
    assert set(results["table"]) == {"offences", "offence_counts", "disaggregated_counts", "population", "quarantine"}
    assert results["failures"].sum() == 0, results[results["failures"] > 0]


def test_contract_results_come_from_the_loads_not_a_second_validation(mini_run) -> None:
    """The fact tables' rules as each file's load recorded them (files counted, proofs named); only population is
    validated whole. A source loaded before results were recorded sends its tables back to whole validation."""
    with connect(mini_run.warehouse, read_only=True) as con:
        results = quality.contract_results(con)
        files = con.execute("SELECT count(DISTINCT source || file) FROM contract_checks").fetchone()[0]
    facts = results[results["table"] != "population"]
    assert files >= 1 and (facts["files"] >= 1).all()
    assert facts["proved"].notna().any(), "the rules a load proves are named with their proof"
    assert facts.loc[facts["rule"] == "str_matches", "proved"].isna().any(), "country is still scanned"
    assert results.loc[results["table"] == "population", "files"].isna().all()
    copy = duckdb.connect()
    copy.execute(f"ATTACH '{mini_run.warehouse}' AS w (READ_ONLY)")
    copy.execute("CREATE TABLE offences AS SELECT * FROM w.offences")
    for table in ("offence_counts", "quarantine", "population", "contract_checks"):
        copy.execute(f"CREATE TABLE {table} AS SELECT * FROM w.{table}")
    copy.execute("CREATE TABLE iccs_categories AS SELECT * FROM w.iccs_categories")
    copy.execute("DELETE FROM contract_checks WHERE source = (SELECT min(source) FROM offence_counts)")
    whole = quality.contract_results(copy)
    assert whole["files"].isna().all() and whole["proved"].isna().all()
    assert set(whole["table"]) == {"offences", "offence_counts", "population", "quarantine"}


def test_coverage_heat_map_draws_the_missing_month_as_a_hole(fixture_page) -> None:
    _, html = fixture_page
    plots = _plots(html)
    assert {"heatmap-alpha-police", "heatmap-alpha-victims", "heatmap-beta-stats"} <= set(plots)
    records, holes = plots["heatmap-alpha-police"]
    missing = f"{MISSING_MONTH[0]}-{MISSING_MONTH[1]:02d}"
    column = records["x"].index(missing)
    assert [row[column] for row in holes["z"]] == [1] * len(records["y"]), "every area is missing that month"
    assert all(row[column] is None for row in records["z"])
    assert sum(v == 1 for row in holes["z"] for v in row) == len(records["y"]), "and no other cell is a hole"
    checks = _csv(html, "quality_completeness_checks.csv")
    found = checks[(checks["source"] == "alpha_police") & (checks["check"] == "periods_complete")]
    assert f"no records at all in {missing}" in found["finding"].iloc[0]


def test_data_labels_are_escaped(fixture_page) -> None:
    _, html = fixture_page
    assert XSS_AREA not in html
    heat = _plots(html)["heatmap-alpha-police"][0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in heat["y"]


def test_stored_completeness_tables_are_what_the_page_shows(tmp_path) -> None:
    con = build_warehouse(tmp_path / "w.duckdb")
    try:
        completeness.assess_source(con, "alpha_police")
        con.execute(
            "UPDATE completeness SET present = false, records = 0 WHERE source = 'alpha_police' AND period = '2016-01'"
        )
        html = render_quality(con, tmp_path / "reports").read_text(encoding="utf-8")
    finally:
        con.close()
    records, holes = _plots(html)["heatmap-alpha-police"]
    column = records["x"].index("2016-01")
    assert all(row[column] == 1 for row in holes["z"]), "the stored table, not a fresh computation, is drawn"


def test_an_empty_warehouse_gives_a_page_not_an_error(tmp_path) -> None:
    from warehouse.ddl import ensure_schema

    with connect(tmp_path / "empty.duckdb") as con:
        ensure_schema(con)
        html = render_quality(con, tmp_path / "reports").read_text(encoding="utf-8")
    assert "No source has been loaded yet" in html


def test_build_reports_writes_quality_and_links_it(mini_run, tmp_path) -> None:
    with connect(mini_run.warehouse, read_only=True) as con:
        written = build.build_reports(con, tmp_path, kinds=["quality"])
    assert written["quality"] == tmp_path / "quality.html"
    assert 'href="quality.html"' in written["index"].read_text(encoding="utf-8")


@pytest.mark.browser
@needs_browser
def test_quality_page_renders_offline_in_a_browser(fixture_page) -> None:
    path, html = fixture_page
    rendered = render(path)
    assert rendered.console_errors == []
    assert rendered.plotly_svgs >= len(_plots(html)), "every chart drew its SVG"
    assert "Plotly is not defined" not in rendered.stderr


def test_excluded_codes_are_told_apart_from_unmapped_ones_and_show_their_code(tmp_path) -> None:
    """An excluded code (old loads: reason unmapped_offence with an 'is excluded' detail; new loads:
    excluded_offence, whose detail may not quote the code) is 'outside ICCS by the correspondence table', with its
    code read from the detail or the raw record; a code missing from the table is 'not in' it. Such rows, written
    before the quarantine had columns for these facts, get them from ``ensure_schema``."""
    con = build_warehouse(tmp_path / "w.duckdb")
    try:
        con.execute("""
            INSERT INTO quarantine (source, file, row_number, reason, detail, raw, run_id) VALUES
            ('alpha_police', 'a.csv', 5, 'unmapped_offence',
             'offence: national code ''X9'' is excluded from ICCS by alpha.csv: traffic offence',
             '{"offence": "X9"}', 'r'),
            ('alpha_police', 'a.csv', 6, 'unmapped_offence',
             'offence: national code ''X9'' is excluded from ICCS by alpha.csv: traffic offence',
             '{"offence": "X9"}', 'r'),
            ('alpha_police', 'a.csv', 7, 'excluded_offence', 'offence: outside ICCS by alpha.csv (civil matter)',
             '{"offence": "T1", "date": "2020-01-01"}', 'r'),
            ('alpha_police', 'a.csv', 9, 'unmapped_offence', 'offence: national code ''Q1'' is not in alpha.csv',
             '{"offence": "Q1"}', 'r')
        """)
        # Such rows come with a warehouse last brought up by older code (no fingerprint of this code's tables): the
        # next run's ensure_schema fills them in.
        con.execute("DELETE FROM warehouse_schema")
        ensure_schema(con)
        html = render_quality(con, tmp_path / "reports").read_text(encoding="utf-8")
    finally:
        con.close()
    codes = _csv(html, "quality_unmapped_codes.csv").set_index("national_code")
    assert codes.loc["X9", "why"] == "outside ICCS by the correspondence table"
    assert codes.loc["X9", "note"] == "traffic offence" and codes.loc["X9", "records"] == 2
    assert codes.loc["T1", "why"] == "outside ICCS by the correspondence table"  # code from the raw record
    assert codes.loc["Q1", "why"] == "not in the correspondence table"
    reasons = _csv(html, "quality_reasons.csv")
    unmapped = reasons[reasons["reason"] == "unmapped_offence"]
    assert dict(zip(unmapped["meaning"], unmapped["records"], strict=True)) == {
        "the national offence code is outside ICCS by the correspondence table": 2,
        "the national offence code is not in the correspondence table": 1,
    }
    excluded = reasons[reasons["reason"] == "excluded_offence"]
    assert excluded["meaning"].tolist() == ["the national offence code is outside ICCS by the correspondence table"]
    assert "3 records outside ICCS by the correspondence table; 1 record not in the correspondence table" in html


def test_a_tie_between_reasons_is_called_a_tie() -> None:
    from reports.quality.text import most_common

    def frame(counts: dict[str, int]) -> pd.DataFrame:
        return pd.DataFrame({"source": "s", "reason": list(counts), "records": list(counts.values())})

    assert most_common(frame({"a": 1, "b": 1, "c": 1})) == "all 3 reasons are tied at 1 record each (a, b and c)"
    tied = "the most common reasons are tied at 5 records each: a and b"
    assert most_common(frame({"a": 5, "b": 5, "c": 1})) == tied
    assert most_common(frame({"a": 2, "b": 5})) == "the most common reason is b (5 in s)"


def test_an_older_warehouse_gets_the_quarantine_facts_from_the_detail(tmp_path) -> None:
    """A warehouse written before the quarantine had national_code, exclusion and exclusion_note: ensure_schema
    adds the columns and reads them once from each row's detail, so the report reads as before."""
    con = connect(tmp_path / "old.duckdb")
    try:
        con.execute(
            "CREATE TABLE quarantine (source VARCHAR NOT NULL, file VARCHAR, row_number BIGINT, "
            "reason VARCHAR NOT NULL, detail VARCHAR, raw VARCHAR, run_id VARCHAR)"
        )
        con.execute("""
            INSERT INTO quarantine VALUES
            ('s', 'a.csv', 2, 'excluded_offence',
             'offence: national code ''X9'' is excluded from ICCS by c.csv: traffic', '{}', 'r'),
            ('s', 'a.csv', 3, 'unmapped_offence',
             'offence: national code ''Q1'' has no row in c.csv valid on 2020-01-01', '{}', 'r'),
            ('s', 'a.csv', 4, 'invalid_date', 'date: ''x'' does not match %Y', '{}', 'r')""")
        ensure_schema(con)
        rows = con.execute(
            "SELECT national_code, exclusion, exclusion_note FROM quarantine ORDER BY row_number"
        ).fetchall()
        codes = quality.unmapped_codes(con)
    finally:
        con.close()
    assert rows == [("X9", "excluded", "traffic"), ("Q1", "no_row_on_date", None), (None, None, None)]
    assert codes[["national_code", "why", "note"]].values.tolist() == [
        ["Q1", "in the correspondence table, but with no row valid on the record's date", None],
        ["X9", "outside ICCS by the correspondence table", "traffic"],
    ]


def test_the_coverage_map_draws_the_areas_with_most_holes_and_counts_the_whole_grid() -> None:
    """Thousands of areas would be a map nobody reads and millions of cells in the page: the map keeps the areas
    with the most missing cells; the figures are the whole grid's, counted in SQL."""
    from reports.quality import data

    con = duckdb.connect()
    con.execute(
        "CREATE TABLE completeness (source VARCHAR, area VARCHAR, period VARCHAR, present BOOLEAN, records DOUBLE)"
    )
    con.execute("""INSERT INTO completeness
        SELECT 's', 'A' || a, '2020-0' || p, NOT (p <= a - 1), 5.0 FROM range(1, 6) t(a), range(1, 5) u(p)""")
    drawn, whole = data.completeness_grid(con, "s", max_areas=2)
    assert whole == {"cells": 20, "missing": 0 + 1 + 2 + 3 + 4, "areas": 5}
    assert sorted(drawn["area"].unique()) == ["A4", "A5"], "the two areas with the most missing cells"
    assert len(drawn) == 8 and int((~drawn["present"]).sum()) == 3 + 4
