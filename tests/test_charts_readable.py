"""Charts that cannot be misread (issue 16, item 3): minus signs that show, axes from zero, rates rounded by one
rule and flagged on small counts, breaks naming their category, titles in the source's words, a log scale where
lines differ by orders of magnitude, plural words, and the synthetic-data notice on every page.

Frames here are shaped unlike the demo: other countries, eleven sections with a tiny one, counts under 20,
falls as well as rises, five breaks at one date.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from reports_fixture import build_warehouse, plotly_figures

from iccs import classification
from reports import charts, names, numbers, page, tables
from reports.breaks import add_breaks, menu_series
from reports.build import build_reports

SECTIONS = [f"{i:02d}" for i in range(1, 12)]


def _sections(sizes: dict[str, float], *, country: str = "ZZB") -> pd.DataFrame:
    """Counts per section and year 2015-2020; a section's size is its count in 2015 (it grows 10% a year)."""
    rows = [
        {"menu": country, "section": code, "source": "s", "year": y, "v": size * 1.1 ** (y - 2015)}
        for code, size in sizes.items()
        for y in range(2015, 2021)
    ]
    return pd.DataFrame(rows)


def _args(**kw):
    return dict(menu="menu", trace="section", x="year", y="v", title=str, x_title="Year", y_title="count", **kw)


def test_numbers_follow_one_documented_rule():
    assert [numbers.rate(v) for v in (4761.51, 47.615, 4.7615, 0.476, 0.004, 0.0, 99.96)] == [
        "4,762",
        "47.6",
        "4.76",
        "0.48",
        "<0.01",
        "0",
        "100",
    ]
    assert numbers.rate(None) == "" and numbers.rate(float("nan")) == ""
    assert numbers.signed_pct(-12.34) == "\u221212.3 %" and numbers.signed_pct(8) == "+8.0 %"
    assert numbers.signed_pct(-0.01) == "0.0 %"  # no sign on what rounds to nothing
    assert numbers.rate_with_caution(4.5, 3) == "4.50 †" and numbers.rate_with_caution(4.5, 20) == "4.50"
    words = [numbers.plural(n, w) for n, w in ((1, "source"), (2, "country"), (3, "category"), (0, "area"))]
    assert words == ["1 source", "2 countries", "3 categories", "0 areas"]
    assert numbers.plural(1204, "record") == "1,204 records" and numbers.plural(1, "national code") == "1 national code"


def test_negative_bar_labels_keep_their_minus_sign_outside_the_bar():
    frame = pd.DataFrame(
        {
            "menu": ["ZZB (2019 to 2020)"] * 3,
            "category": ["01 Homicide", "05 Property", "07 Fraud"],
            "value": [-12.34, 3.0, -80.0],
        }
    )
    frame["text"] = frame["value"].map(numbers.signed_pct)
    fig = charts.menu_bars(
        frame, menu="menu", category="category", value="value", title=str, value_title="%", text="text"
    )
    trace = fig["data"][0]
    assert "\u221280.0 %" in trace["text"] and "\u221212.3 %" in trace["text"]
    assert trace["textposition"] == "outside" and trace["constraintext"] == "none"
    assert trace["textfont"]["color"] == charts.INK  # ink, not the bar's colour: legible beside red or blue
    assert "\u221280.0 %" in trace["customdata"] and "%{customdata}" in trace["hovertemplate"]
    lo, hi = fig["layout"]["xaxis"]["range"]
    assert lo < -80 and hi > 3  # room beyond the bar ends for the labels


def test_count_and_rate_axes_start_at_zero(tmp_path: Path):
    html, _ = charts.line_chart(_sections({"01": 900, "02": 1000}), **_args())
    (fig,) = [(d, lay) for _, d, lay in plotly_figures(html)]
    assert fig[1]["yaxis"]["rangemode"] == "tozero"
    bars = charts.menu_grouped_bars(
        _sections({"01": 900}), menu="menu", category="year", group="section", value="v", title=str,
        x_title="", y_title="",
    )  # fmt: skip
    assert bars["layout"]["yaxis"]["rangemode"] == "tozero"


def test_a_log_scale_is_offered_where_a_tiny_section_sits_beside_big_ones():
    sizes = dict.fromkeys(SECTIONS, 5000.0) | {"09": 3.0}
    html, _ = charts.line_chart(_sections(sizes), **_args())
    layout = plotly_figures(html)[0][2]
    scale = [m for m in layout["updatemenus"] if m.get("name") == "scale"]
    assert scale and [b["args"][0]["yaxis.type"] for b in scale[0]["buttons"]] == ["linear", "log"]
    assert charts.LOG_NOTE.split(":")[0] in html  # the caption says why the log axis does not start at zero
    even, _ = charts.line_chart(_sections(dict.fromkeys(SECTIONS, 5000.0)), **_args())
    assert "updatemenus" not in plotly_figures(even)[0][2] and charts.LOG_NOTE.split(":")[0] not in even


def test_a_log_scale_menu_is_not_taken_for_the_dropdown_of_entries():
    frame = pd.concat([_sections({"01": 5000, "09": 2}, country=c) for c in ("ZZB", "ZZC")])
    fig = charts.menu_lines(frame, **_args())
    breaks = pd.DataFrame(
        {"source": ["s"], "iccs_code": ["09"], "period": ["2018"], "kind": ["appeared"], "detail": ["new code"]}
    )
    add_breaks(fig, breaks, x_of=int, entries=menu_series(frame, "menu", "source", "section", "section"))
    entries, scale = fig["layout"]["updatemenus"]
    assert scale["name"] == "scale" and all(len(b["args"]) == 1 for b in scale["buttons"])
    assert [len(b["args"][1]["shapes"]) for b in entries["buttons"]] == [1, 1]


def test_rates_on_few_records_carry_a_caution_on_hover_and_under_the_chart():
    frame = _sections({"01": 4.0, "05": 400.0}).assign(count=lambda f: f["v"])
    frame["small"] = frame["count"] < numbers.SMALL_COUNT
    html, _ = charts.line_chart(frame, **_args(y_format=charts.RATE, small="small"))
    data = plotly_figures(html)[0][1]
    small = next(t for t in data if t["name"] == "01")
    big = next(t for t in data if t["name"] == "05")
    assert all(numbers.SMALL_MARK in c[1] for c, y in zip(small["customdata"], small["y"], strict=True) if y < 20)
    assert not any(c[1] for c in big["customdata"])
    assert [c[0] for c in big["customdata"]][:2] == ["400", "440"]  # the rate rule, not 400.00
    assert numbers.SMALL_NOTE in page.paragraph(numbers.SMALL_NOTE) and "fewer than 20 records" in html
    calm, _ = charts.line_chart(frame[frame["section"] == "05"], **_args(y_format=charts.RATE, small="small"))
    assert "fewer than 20 records" not in calm


def test_tables_flag_rates_on_few_records():
    frame = pd.DataFrame({"country": ["ZZB", "ZZC"], "count": [7, 3000], "rate_per_100k": [0.123456, 4761.51]})
    html = tables.table_html(frame, caption="c", csv_name="t")
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    assert cells == ["ZZB", "7", "0.12 †", "ZZC", "3,000", "4,762"]
    assert numbers.SMALL_NOTE.split(":")[0] in html
    assert numbers.SMALL_MARK not in tables.table_html(frame.iloc[1:], caption="c", csv_name="t")


def test_break_marks_name_the_category_that_broke_and_when():
    frame = pd.concat([_sections(dict.fromkeys(["01", "02"], 100.0), country=c) for c in ("ZZB",)])
    codes = ["02041", "0201", "02011", "02012", "0202"]
    breaks = pd.DataFrame(
        {
            "source": "s",
            "iccs_code": codes,
            "period": ["2018-11"] * 5,
            "kind": ["appeared"] * 5,
            "detail": [f"code {c} split" for c in codes],
        }
    )
    fig = charts.menu_lines(frame, **_args())
    add_breaks(
        fig, breaks, x_of=lambda p: int(p[:4]), entries=menu_series(frame, "menu", "source", "section", "section")
    )
    (note,) = [a for a in fig["layout"]["annotations"] if a["text"].startswith("series break")]
    assert (
        note["text"]
        == "series break: 0201 appeared 2018-11; 02011 appeared 2018-11; 02012 appeared 2018-11; and 2 more"
    )
    assert f"02041 {classification.get('02041').label}: code 02041 split [marked on 02]" in note["hovertext"]


def test_source_names_come_from_descriptions_and_notices_from_their_capitals():
    demo = (
        "SYNTHETIC DATA: Synthetica (XSY) is a fictional country invented to demonstrate the pipeline; none of "
        "these records, places or populations is real. Incident-level police records of Synthetica."
    )
    assert names.source_name("demo_police", demo) == "Incident-level police records of Synthetica"
    assert names.notices(demo) == [demo.split(" Incident")[0]]
    long = "Aggravated assaults recorded by the Chicago Police Department, 2010-2019 (gzip CSV); the extract has no"
    assert names.source_name("chicago", long) == "Aggravated assaults recorded by the Chicago Police Department"
    unodc = "UNODC intentional homicide victims by country and year (dataUNODC, 2019-2023): all victims, and by sex"
    assert names.source_name("unodc", unodc) == "UNODC intentional homicide victims by country and year"
    words = "Recorded offences of every kind across all the police forces of the whole Republic of Borduria in full"
    assert names.source_name("b", words).endswith("…") and len(names.source_name("b", words)) <= names.MAX_NAME + 1
    assert names.source_name("bare_key", "") == "bare_key"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Every page of the fixture warehouse, whose three sources call themselves synthetic."""
    folder = tmp_path_factory.mktemp("readable")
    con = build_warehouse(folder / "warehouse.duckdb")
    written = build_reports(con, folder / "reports")
    yield con, {kind: path.read_text() for kind, path in written.items()}
    con.close()


def test_no_chart_title_carries_an_internal_key(built):
    _, pages = built
    keys = ("alpha_police", "alpha_victims", "beta_stats")
    for kind in ("trends", "sdg16", "quality"):
        for _, _data, layout in plotly_figures(pages[kind]):
            titles = [layout.get("title", {}).get("text", "")]
            menus = [m for m in layout.get("updatemenus", []) if m.get("name") != "scale"]
            titles += [b["args"][1].get("title.text", "") for m in menus for b in m["buttons"]]
            titles += [b["label"] for m in layout.get("updatemenus", []) for b in m["buttons"]]
            assert not any(k in t for t in titles for k in keys), (kind, titles)
    assert "Alpha national police, recorded offences (synthetic) — offences (police)" in pages["trends"]


def test_the_synthetic_data_notice_is_on_every_page_i_render(built):
    con, pages = built
    notice = names.data_notice(con)
    assert notice.startswith("SYNTHETIC DATA: alpha_police") and "beta_stats" in notice
    for kind in ("index", "trends", "sdg16", "quality"):
        banner = re.search(r'<div class="data-notice" role="note">(.*?)</div>', pages[kind])
        assert banner and "SYNTHETIC DATA" in banner.group(1), kind
    con.execute("UPDATE sources SET description = 'National police, recorded offences'")
    assert names.data_notice(con) == ""
    con.execute("UPDATE sources SET description = 'TEST DATA: invented. Alpha police.' WHERE source = 'alpha_police'")
    assert names.data_notice(con) == "TEST DATA: invented."


def test_pages_write_counted_things_as_words(built):
    _, pages = built
    for kind, text in pages.items():
        # the pages' own words (table cells may quote the warehouse's stored findings)
        visible = re.sub(r"<script.*?</script>|<style.*?</style>|<table.*?</table>", "", text, flags=re.S)
        assert not re.search(r"\b1 (sources|countries|areas|categories|rows|records)\b", visible), kind
        assert "(s)" not in visible and "(y/ies)" not in visible, kind
    assert json.dumps("−")  # the pages are UTF-8: a true minus travels


def test_a_long_title_wraps_after_the_dataset_name_instead_of_being_cut():
    long = "Beta statistical office, recorded offences (synthetic) — offences (police): change in the count of <x>"
    head = "Beta statistical office, recorded offences (synthetic) — offences (police)"
    assert charts.title_text(long) == f"{head}:<br>change in the count of &lt;x&gt;"
    assert charts.title_text("ZZB: short") == "ZZB: short"
    fig = charts.menu_lines(_sections({"01": 5.0}), **(_args() | {"title": lambda m: long}))
    assert fig["layout"]["margin"]["t"] > charts.menu_lines(_sections({"01": 5.0}), **_args())["layout"]["margin"]["t"]
