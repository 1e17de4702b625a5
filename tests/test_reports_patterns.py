"""patterns.html over a warehouse of hand-written findings (tests/patterns_fixture.py): the sentences with their
numbers, labels and q-values, the ranking, the recording changes shown apart, escaping, the CSVs, the empty states
and the page in a browser."""

from __future__ import annotations

import html
import io
import re
import urllib.parse
from pathlib import Path

import duckdb
import pandas as pd
import patterns_fixture as fx
import pytest
from browser import chart_divs, needs_browser, render

from reports import build_reports, page
from reports.patterns import render_patterns
from reports.patterns.text import TOP, q_text, times


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("patterns")
    con = fx.build(folder)
    path = render_patterns(con, folder / "out")
    con.close()
    return path.read_text(encoding="utf-8"), path


def _has(html_text: str, sentence: str) -> bool:
    return page.esc(sentence) in html_text


def _csv(html_text: str, name: str, folder: Path) -> pd.DataFrame:
    """The CSV a download link of the page holds: a data: URI, or a file beside the page."""
    href = re.search(rf'download="{re.escape(name)}" href="([^"]+)"', html_text)
    assert href, name
    target = html.unescape(href.group(1))
    if target.startswith("data:"):
        return pd.read_csv(io.StringIO(urllib.parse.unquote(target.split(",", 1)[1])))
    return pd.read_csv(folder / urllib.parse.unquote(target))


def test_each_finding_is_one_plain_sentence_with_its_numbers_label_and_q(rendered):
    text, _ = rendered
    for sentence in (
        "In Ashby Vale (D23), Burglary (0501) recorded in 2023-03 was 98 offences, 2.4× the expected 41 (q < 0.001).",
        "Nationally, Robbery (0401) recorded in 2022-11 was 12 offences, 0.3× the expected 40 — unusually low "
        "(q = 0.03).",
        "From 2022-07, Burglary (0501) in Ashby Vale (D23) stepped up from 41 to 74 offences a month "
        "(+80 %; q < 0.001).",
        "In Ashby Vale (D23), Burglary (0501) made up 21 % of recorded offences in 2024 against 12 % in 2019; had "
        "the mix changed as in the rest of the country it would have been 235, not 410 (q < 0.001). Also moved: "
        "0401 Robbery 9% → 6%.",
    ):
        assert _has(text, sentence), sentence
    assert _has(text, "z = \u22124.8")  # a true minus
    assert _has(
        text, "Intentional homicide (0101) recorded in 2021-06 was 30 offences, 1.5× the expected 20 (q = 0.004)"
    )


def test_a_shift_at_a_declared_break_is_a_likely_recording_change_shown_apart(rendered):
    text, _ = rendered
    sentence = (
        "From 2022-01, Robbery (0401) nationally stepped down from 60 to 30 offences a month (\u221250 %; q < 0.001) "
        f"— likely a recording change: {fx.RECORDING_NOTE}."
    )
    assert _has(text, sentence)
    apart = text.index("<h3>Likely recording changes</h3>")
    assert text.index("<h3>Shifts in the recorded figures</h3>") < text.index("stepped up from 41") < apart
    assert apart < text.index(page.esc(sentence))
    card = text[apart : text.index("</div>", text.index(page.esc(sentence)))]
    assert "crime rose" not in card and "crime fell" not in card
    assert _has(text, "2 level shifts flagged at FDR 10 % among 120 series tested (1 likely a recording change).")


def test_findings_are_ranked_by_q_then_by_the_size_of_the_score(rendered):
    text, _ = rendered
    order = [
        "Theft (0502) recorded in 2022-02",  # q 0.0004, |z| 7.0
        "Burglary (0501) recorded in 2023-03",  # q 0.0004, |z| 6.2
        "Intentional homicide (0101) recorded in 2021-06",  # q 0.004
        "Robbery (0401) recorded in 2022-11",  # q 0.03 (|z| 4.8 > 3.5 does not matter)
    ]
    positions = [text.index(s) for s in order]
    assert positions == sorted(positions)
    ranks = re.findall(r'id="patterns-outlying_month-(\d+)-card"', text)
    assert ranks == ["1", "2", "3", "4"]


def test_the_summary_says_what_was_tested_per_source_and_why_not(rendered):
    text, _ = rendered
    assert _has(
        text,
        "Police records of Ashby (offences) — unusual months: 120 series and 4,320 months tested, 4 flagged at "
        "FDR 10 %; level shifts: 120 series and 35 candidate shifts tested, 2 flagged at FDR 10 %; offence mix "
        "changes: 24 areas tested, 1 flagged at FDR 10 %.",
    )
    assert _has(
        text, "Annual statistics of Ashby (offences) — unusual months: not tested (annual data: no monthly tests)."
    )
    about = text[text.index('id="unusual-months"') :]
    about = about[about.index("About these data") : about.index("</details>")]
    assert "STL" in about and "annual data: no monthly tests" in about and "pointer to look" in about
    assert "SYNTHETIC DATA: nothing here is real." in text  # the data notice


def test_data_labels_are_escaped_everywhere(rendered):
    text, _ = rendered
    assert "<script>alert(" not in text
    assert page.esc(fx.EVIL) + " (D99)" in text  # in the sentence and the table, as text
    assert "Ashby Vale (D23)" in text  # the boundaries' label, with the area's code


def test_every_kind_has_a_csv_of_all_its_findings(rendered):
    text, path = rendered
    months = _csv(text, "patterns_outlying_month.csv", path.parent)
    assert len(months) == len(fx.OUTLYING)
    assert months["iccs_code"].astype(str).str.zfill(4).tolist() == ["0502", "0501", "0101", "0401"]
    assert fx.EVIL + " (D99)" in months["area_name"].tolist()
    shifts = _csv(text, "patterns_level_shift.csv", path.parent)
    assert shifts["recording_change"].tolist() == [False, True]
    mix = _csv(text, "patterns_mix_change.csv", path.parent)
    assert mix[["observed", "expected", "baseline_period", "period"]].values.tolist() == [[410.0, 235.0, 2019, 2024]]
    assert len(_csv(text, "patterns_tested.csv", path.parent)) == 4


def test_more_findings_than_cards_are_counted_and_all_in_the_csv(tmp_path: Path):
    con = fx.build(tmp_path)
    extra = TOP + 5
    con.execute(
        """INSERT INTO anomalies (source, unit, country, area, iccs_code, period, kind, observed, expected, score,
                                  q_value)
        SELECT ?, 'offences', 'XAS', 'A' || i, '0502', '2023-01', 'outlying_month', 50, 20, 3 + i / 100, 0.05
        FROM range(?) r(i)""",
        [fx.SOURCE, extra],
    )
    path = render_patterns(con, tmp_path / "out")
    con.close()
    text = path.read_text(encoding="utf-8")
    total = extra + len(fx.OUTLYING)
    assert len(re.findall(r'id="patterns-outlying_month-\d+-card"', text)) == TOP
    assert f"The {TOP} strongest of {total} unusual months" in text and f"and {total - TOP} more in the CSV" in text
    assert len(_csv(text, "patterns_outlying_month.csv", path.parent)) == total


def test_tables_with_nothing_flagged_say_so(tmp_path: Path):
    con = fx.build(tmp_path, findings=False)
    text = render_patterns(con, tmp_path / "out").read_text(encoding="utf-8")
    con.close()
    assert _has(text, "Nothing flagged at FDR 10 % among 120 series tested.")
    assert _has(text, "Nothing flagged at FDR 10 % among 24 areas tested.")
    assert 'class="card"' not in text and chart_divs(text) == 0


def test_a_warehouse_without_the_tables_opened_read_only_gets_a_sentence(tmp_path: Path):
    fx.build(tmp_path, tables=False).close()
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    text = render_patterns(con, tmp_path / "out").read_text(encoding="utf-8")
    con.close()
    assert "This warehouse holds no patterns" in text
    assert 'class="card"' not in text


def test_the_index_links_the_patterns_page(tmp_path: Path):
    con = fx.build(tmp_path)
    written = build_reports(con, tmp_path / "out", ["patterns"])
    con.close()
    index = written["index"].read_text(encoding="utf-8")
    assert 'href="patterns.html"' in index and set(written) == {"patterns", "index"}


def test_number_rules():
    assert times(98, 41) == "2.4×" and times(300, 20) == "15×" and times(5, 0) == ""
    assert q_text(0.0004) == "q < 0.001" and q_text(0.004) == "q = 0.004" and q_text(0.031) == "q = 0.03"
    assert q_text(float("nan")) == ""


@pytest.mark.browser
@needs_browser
def test_the_patterns_page_renders_every_chart_in_a_browser(rendered):
    text, path = rendered
    result = render(path)
    assert result.console_errors == []
    assert result.plotly_svgs >= chart_divs(text) == len(fx.OUTLYING) + 2 + 1
