"""Completeness checks on a hand-built warehouse with one planted problem of each kind, and a clean source that
must pass every check (a check that always warns is as useless as one that never does)."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

from schemas import CompletenessRow, SeriesBreakRow
from warehouse import completeness
from warehouse.contracts import failures_text, validate_table
from warehouse.ddl import ensure_schema
from warehouse.reference import load_classification

CODES = ("0101", "0501", "0502", "07041")


def _counts(
    con: duckdb.DuckDBPyConnection,
    source: str,
    where: str = "true",
    count: str = "50",
    areas: tuple[str | None, ...] = ("N", "S"),
    years: tuple[int, ...] = (2020, 2021),
    monthly: bool = True,
    codes: tuple[str, ...] = CODES,
) -> None:
    month = "m" if monthly else "NULL"
    con.execute(
        f"""
        INSERT INTO offence_counts (source, country, area, iccs_code, national_code, year, month, unit, stage, count)
        SELECT ?, 'XTS', a, code, 'n' || code, y, {month}, 'offences', 'police', {count}
        FROM (SELECT unnest(?::VARCHAR[]) AS a), (SELECT unnest(?::INTEGER[]) AS y),
             (SELECT unnest(range(1, {13 if monthly else 2})) AS m), (SELECT unnest(?::VARCHAR[]) AS code)
        WHERE {where}""",
        [source, list(areas), list(years), list(codes)],
    )


def _offences(
    con: duckdb.DuckDBPyConnection,
    source: str,
    n: int,
    date: str = "DATE '2020-01-01' + (i % 700)::INTEGER",
    point: str = "40 + (i % 997) / 1000, 10 + (i % 991) / 1000",
) -> None:
    con.execute(
        f"""
        INSERT INTO offences (source, country, record_id, occurred_on, national_code, iccs_code, area, latitude,
                              longitude, unit, stage)
        SELECT ?, 'XTS', ? || i, {date}, 'x', '0101', 'N', {point}, 'offences', 'police' FROM range(?) t(i)""",
        [source, f"{source}-{date[:4]}-", n],
    )


@pytest.fixture(scope="module")
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ensure_schema(con)
    load_classification(con)
    for source, period in (
        ("clean", "day"),
        ("gappy", "day"),
        ("national", "month"),
        ("annual", "year"),
        ("rare", "month"),
        ("mixed", "year"),
    ):
        con.execute(
            "INSERT INTO sources (source, country, level, unit, stage, period) "
            "VALUES (?, 'XTS', 'incident', 'offences', 'police', ?)",
            [source, period],
        )
    _counts(con, "clean")
    _offences(con, "clean", 5000)
    # gappy: area S sends nothing for 2021-03; area N's 2021-09 is a fifth of usual (a partial extract);
    # 0502 stops and 0501 starts in 2021-06 (a recording change); 400 records dated 2020-01-01 at one point.
    _counts(
        con,
        "gappy",
        "NOT (a = 'S' AND y = 2021 AND m = 3) AND NOT (code = '0502' AND y * 12 + m >= 2021 * 12 + 6)"
        " AND NOT (code = '0501' AND y * 12 + m < 2021 * 12 + 6)",
        count="CASE WHEN a = 'N' AND y = 2021 AND m = 9 THEN 10 ELSE 50 END",
    )
    _offences(con, "gappy", 5000)
    _offences(con, "gappy", 400, date="DATE '2020-01-01'", point="40.5, 10.5")
    # national: no areas, the whole of 2020-07 missing; the months around the gap must not read as breaks
    _counts(con, "national", "NOT (y = 2020 AND m = 7)", areas=(None,))
    # annual: years 2015-2021 without 2018; monthly dates are first days and must not read as placeholders
    _counts(con, "annual", "y <> 2018", areas=("N",), years=tuple(range(2015, 2022)), monthly=False)
    # rare: 07041 only every other month and 0201 at one a month with a quiet quarter (rare offences, not
    # breaks); tiny counts never read as drops
    _counts(con, "rare", "code <> '07041' OR m % 2 = 0", count="CASE WHEN m = 5 THEN 1 ELSE 4 END", areas=("N",))
    _counts(con, "rare", "NOT (y = 2020 AND m >= 10)", count="1", areas=("N",), codes=("0201",))
    # mixed: national rows (no area) every year, one region only in 2015-2016 (a mostly national table with a
    # region, like Eurostat's UK parts)
    _counts(con, "mixed", areas=(None,), years=tuple(range(2015, 2019)), monthly=False)
    _counts(con, "mixed", areas=("R",), years=(2015, 2016), monthly=False)
    con.execute("""INSERT INTO runs (run_id, source, file, started_at, finished_at, records_in, records_loaded,
                                     records_quarantined, files, status) VALUES
        ('r1', 'gappy', 'land/a.csv', NULL, TIMESTAMP '2024-01-01', 1000, 1000, 0, 1, 'loaded'),
        ('r2', 'gappy', 'land/a.csv', NULL, TIMESTAMP '2024-02-01', 500, 450, 50, 1, 'loaded'),
        ('r1', 'gappy', 'land/b.csv', NULL, TIMESTAMP '2024-01-01', 100, 100, 0, 1, 'loaded'),
        ('r1', 'clean', 'land/c.csv', NULL, TIMESTAMP '2024-01-01', 100, 100, 0, 1, 'loaded'),
        ('r2', 'clean', 'land/c.csv', NULL, TIMESTAMP '2024-02-01', 100, 95, 5, 1, 'loaded')""")
    return con


def _by_name(findings: list[completeness.Finding]) -> dict[str, completeness.Finding]:
    return {f.name: f for f in findings}


def test_a_clean_source_passes_every_check(con) -> None:
    found = completeness.assess_source(con, "clean")
    assert [f.name for f in found] == list(completeness.FINDINGS)
    assert all(f.passed and f.severity == "warn" for f in found), [f for f in found if not f.passed]


def test_every_planted_problem_is_found_with_where_to_look(con) -> None:
    found = _by_name(completeness.assess_source(con, "gappy"))
    assert [name for name, f in found.items() if f.passed] == ["single_unit"]
    periods = found["periods_complete"].metadata
    assert (periods["missing_cells"], periods["cells"], periods["missing_by_area"]) == (1, 48, {"S": ["2021-03"]})
    drop = found["drop_vs_previous_period"].metadata
    # 2021-03 (area S missing) is compared like for like over area N and is not a drop; 2021-09 is
    assert drop["periods"] == ["2021-09"]
    assert drop["drops"][0]["previous_period"] == "2021-08"
    rerun = found["drop_vs_previous_run"].metadata["drops"]
    assert [(d["loaded_from"], d["records_loaded"], d["previous_records_loaded"]) for d in rerun] == [
        ("land/a.csv", 450, 1000)
    ]
    assert [v["value"] for v in found["placeholder_date"].metadata["values"]] == ["2020-01-01"]
    assert [v["value"] for v in found["placeholder_coordinates"].metadata["values"]] == ["40.50000, 10.50000"]
    breaks = {(b["iccs_code"], b["period"], b["kind"]) for b in found["series_breaks"].metadata["breaks"]}
    assert breaks == {("0501", "2021-06", "appeared"), ("0502", "2021-06", "vanished")}


def test_tables_hold_every_cell_and_break_and_reruns_replace_them(con) -> None:
    completeness.assess_source(con, "gappy")
    completeness.assess_source(con, "gappy")
    cells = con.execute(
        "SELECT count(*), count(*) FILTER (NOT present), sum(records) FROM completeness WHERE source = 'gappy'"
    ).fetchall()[0]
    expected_total = con.execute("SELECT sum(count) FROM offence_counts WHERE source = 'gappy'").fetchall()[0][0]
    assert cells == (48, 1, expected_total)
    assert con.execute(
        "SELECT area, period, records FROM completeness WHERE source = 'gappy' AND NOT present"
    ).fetchall() == [("S", "2021-03", 0.0)]
    rows = con.execute(
        "SELECT iccs_code, period, kind, detail FROM series_breaks WHERE source = 'gappy' ORDER BY iccs_code"
    ).fetchall()
    assert [r[:3] for r in rows] == [("0501", "2021-06", "appeared"), ("0502", "2021-06", "vanished")]
    assert rows[1][3].startswith("0502 Theft: records in each of the 3 periods before")
    assert "national codes: n0502" in rows[1][3]
    for model, table in ((CompletenessRow, "completeness"), (SeriesBreakRow, "series_breaks")):
        outcomes = validate_table(con, model, table)
        assert all(o.passed for o in outcomes), failures_text(outcomes)


def test_a_source_without_areas_lists_the_months_missing_everywhere(con) -> None:
    found = _by_name(completeness.assess_source(con, "national"))
    assert found["periods_complete"].metadata["missing_everywhere"] == ["2020-07"]
    assert "no records at all in 2020-07" in found["periods_complete"].description
    assert found["series_breaks"].passed, "a month missing from the whole feed is not a recording change"
    assert found["drop_vs_previous_period"].passed
    cov = completeness.coverage(con, "national")
    assert cov["area"].isna().all() and len(cov) == 24


def test_a_period_only_the_areas_miss_is_not_said_to_have_no_records_at_all(con) -> None:
    """Before: a mostly national source whose one region stopped read "no records at all in 2017, 2018", false
    for years holding every national row."""
    found = _by_name(completeness.findings(con, "mixed"))["periods_complete"]
    assert not found.passed
    assert found.metadata["missing_everywhere"] == [] and found.metadata["no_area_reported"] == ["2017", "2018"]
    assert "no records at all" not in found.description
    assert "no area reported in 2017, 2018 (the source's records there have no area)" in found.description


def test_annual_sources_use_years_and_never_judge_dates(con) -> None:
    cov = completeness.coverage(con, "annual")
    assert cov["period"].tolist() == [str(y) for y in range(2015, 2022)]
    assert cov.loc[~cov["present"], "period"].tolist() == ["2018"]
    found = _by_name(completeness.findings(con, "annual"))
    assert found["placeholder_date"].passed and found["series_breaks"].passed


def test_rare_categories_and_small_counts_are_not_flagged(con) -> None:
    found = _by_name(completeness.findings(con, "rare"))
    assert found["series_breaks"].passed
    loose = completeness.series_breaks(con, "rare", alpha=0.5)  # at one a month, a quiet quarter has p = 0.05
    assert loose[["iccs_code", "period", "kind"]].values.tolist() == [
        ["0201", "2020-10", "vanished"],
        ["0201", "2021-01", "appeared"],
    ]
    assert found["drop_vs_previous_period"].passed
    assert not completeness.period_drops(con, "rare", min_records=0).empty, "without the floor, May is a drop"


def test_thresholds_are_the_callers(con) -> None:
    assert _by_name(completeness.findings(con, "gappy", placeholder_threshold=0.2))["placeholder_date"].passed
    assert _by_name(completeness.findings(con, "gappy", drop_threshold=0.9))["drop_vs_previous_run"].passed
    assert not _by_name(completeness.findings(con, "clean", drop_threshold=0.01))["drop_vs_previous_run"].passed


@pytest.mark.parametrize(
    ("point", "found"),
    [
        ("40 + (i % 997) / 1000, 10 + (i % 991) / 1000", False),  # spread out: the full grouping is skipped
        (
            "CASE WHEN i % 10 = 0 THEN 0.0 ELSE 40 + (i % 997) / 1000 END, "  # 10 % at (0, 0), some at -0.0
            "CASE WHEN i % 10 = 0 THEN (CASE WHEN i % 20 = 0 THEN -0.000001 ELSE 0.0 END) "
            "ELSE 10 + (i % 991) / 1000 END",
            True,
        ),
        ("CASE WHEN i % 3 = 0 THEN 'nan'::DOUBLE ELSE 40 + (i % 97) / 100 END, 10", True),  # NaN, busy points
    ],
)
def test_placeholders_are_the_same_with_the_bucket_shortcut(monkeypatch, point, found) -> None:
    con = duckdb.connect()
    ensure_schema(con)
    load_classification(con)
    _counts(con, "p")
    _offences(con, "p", 5000, point=point)
    fast = completeness.placeholders(con, "p")
    monkeypatch.setattr(completeness, "_point_can_qualify", lambda *_: True)
    full = completeness.placeholders(con, "p")
    pd.testing.assert_frame_equal(fast, full)
    assert fast.empty != found
    for threshold in (0.0, 0.01, 0.2):
        monkeypatch.undo()
        fast = completeness.placeholders(con, "p", threshold)
        monkeypatch.setattr(completeness, "_point_can_qualify", lambda *_: True)
        pd.testing.assert_frame_equal(fast, completeness.placeholders(con, "p", threshold))


def test_the_findings_are_stored_for_the_quality_page_and_a_rerun_replaces_them(con) -> None:
    for _ in range(2):
        found = completeness.assess_source(con, "gappy")
    stored = completeness.stored_findings(con, "gappy")
    assert [(f.name, f.passed, f.description, f.severity) for f in stored] == [
        (f.name, f.passed, f.description, f.severity) for f in found
    ]
    assert stored[-1].metadata["breaks"] == json.loads(json.dumps(found[-1].metadata["breaks"], default=str))
    assert completeness.source_findings(con, "gappy") == stored
    # a source the quality job never assessed: nothing stored, the page computes its findings
    assert completeness.stored_findings(con, "mixed") is None
    assert [f.name for f in completeness.source_findings(con, "mixed")] == list(completeness.FINDINGS)


def test_a_month_only_the_areas_miss_is_not_said_to_have_no_records_at_all() -> None:
    """The monthly form of the test above. Before: the recorded months were labelled '24241-24241' (the period
    expression went unbracketed into the label's arithmetic), so every silent month read "no records at all"."""
    con = duckdb.connect()
    ensure_schema(con)
    con.execute(
        "INSERT INTO sources (source, country, level, unit, stage, period) "
        "VALUES ('monthly_mixed', 'XTS', 'aggregate', 'offences', 'police', 'month')"
    )
    _counts(con, "monthly_mixed", areas=(None,), years=(2020,))
    _counts(con, "monthly_mixed", "m <= 6", areas=("R",), years=(2020,))
    found = _by_name(completeness.findings(con, "monthly_mixed"))["periods_complete"]
    assert found.metadata["missing_everywhere"] == []
    assert found.metadata["no_area_reported"] == [f"2020-{m:02d}" for m in range(7, 13)]
    con.execute("DELETE FROM offence_counts WHERE month = 9")  # now September has no record at all
    found = _by_name(completeness.findings(con, "monthly_mixed"))["periods_complete"]
    assert found.metadata["missing_everywhere"] == ["2020-09"]
    assert "no records at all in 2020-09" in found.description
