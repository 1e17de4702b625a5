"""The shared page frame: offline pages, escaping of data labels, CSV downloads, build_reports and index.html."""

from __future__ import annotations

import io
import json
import re
import urllib.parse
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest
from reports_fixture import XSS_AREA, build_warehouse

import reports
from reports import build, page, tables

ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


def _plot_json(html: str) -> list:
    """The data array passed to Plotly.newPlot in a figure div."""
    match = re.search(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*(\[.*?\]),\s*\{", html, re.S)
    assert match, "no Plotly.newPlot call found"
    return json.loads(match.group(1))


def test_figure_html_escapes_trace_text_and_leaves_numbers_and_dates():
    fig = go.Figure(
        go.Scatter(
            x=pd.to_datetime(["2020-01-01", "2020-02-01"]),
            y=[1.5, 2.5],
            name=XSS_AREA,
            text=[XSS_AREA, "plain"],
        )
    )
    html = page.figure_html(fig, div_id="chart-1")
    assert "cdn.plot.ly" not in html and "<script src" not in html  # plotly.js is loaded by the page
    assert len(html) < 20_000  # no inlined plotly.js (4.8 MB)
    trace = _plot_json(html)[0]
    assert trace["name"] == ESCAPED
    assert trace["text"] == [ESCAPED, "plain"]
    assert trace["y"] == [1.5, 2.5]
    assert str(trace["x"][0]).startswith("2020-01-01")
    assert "<script>alert(1)" not in html


def test_figure_html_accepts_plain_dicts():
    spec = {"data": [{"type": "bar", "x": [XSS_AREA], "y": [3]}], "layout": {"title": {"text": "t"}}}
    trace = _plot_json(page.figure_html(spec))[0]
    assert trace["x"] == [ESCAPED] and trace["y"] == [3]
    assert spec["data"][0]["x"] == [XSS_AREA]  # the caller's figure is not modified


def test_table_html_escapes_cells_and_csv_holds_every_row(tmp_path):
    frame = pd.DataFrame({"area": [XSS_AREA, "North", "South"], "count": [12345.0, 7.0, None], "year": [2019] * 3})
    html = tables.table_html(frame, caption="Areas <b>", csv_name="areas", max_rows=2)
    assert ESCAPED in html and "<script>alert" not in html
    assert "Areas &lt;b&gt;" in html
    assert "12,345" in html and ">2019<" in html  # years are not given thousands separators
    assert "First 2 of 3 rows shown" in html
    # A table longer than it is shown links its CSV as a file written beside the page, not embedded.
    assert 'href="areas.csv"' in html and "data:text/csv" not in html
    assert page.write_csv_files(tmp_path) == [tmp_path / "areas.csv"]
    back = pd.read_csv(tmp_path / "areas.csv")
    assert back["area"].tolist() == frame["area"].tolist()
    assert back["count"].iloc[0] == 12345.0 and pd.isna(back["count"].iloc[2])
    assert 'download="areas.csv"' in html


def test_section_and_block_escape_their_text():
    html = page.section_html(XSS_AREA, "<p>body</p>", summary=XSS_AREA, metadata={XSS_AREA: XSS_AREA})
    assert "<p>body</p>" in html
    assert html.count(ESCAPED) == 4 and "<script>alert" not in html
    block = page.block_html("t", "<i>b</i>", summary=XSS_AREA)
    assert ESCAPED in block and "<i>b</i>" in block


def test_write_page_is_offline_with_nav_and_escaped_intro(tmp_path: Path):
    path = page.write_page(tmp_path, "trends.html", "Trends <x>", ["<section>s</section>"], intro=XSS_AREA)
    html = path.read_text()
    assert (tmp_path / "plotly.min.js").stat().st_size > 1_000_000
    assert '<script src="plotly.min.js"></script>' in html
    assert not re.search(r'<script[^>]+src="(https?:)?//', html) and "cdn.plot.ly" not in html
    # written alone into an empty folder, the page links itself only: no link to a page that is not there
    assert re.findall(r'href="(\w+\.html)"', html) == ["trends.html"]
    assert 'href="trends.html" class="current"' in html
    pages = ("index.html", "trends.html", "hotspots.html", "sdg16.html", "quality.html")
    with page.planned_pages(pages):  # as build_reports writes it: the pages of the build are linked
        built = page.write_page(tmp_path / "built", "trends.html", "Trends", ["<section>s</section>"]).read_text()
    for target in pages:
        assert f'href="{target}"' in built
    assert "Trends &lt;x&gt;" in html and ESCAPED in html


def test_a_standalone_page_carries_plotly_js_itself(tmp_path: Path):
    with page.standalone_pages():
        html = page.write_page(tmp_path, "trends.html", "Trends", ["<section>s</section>"]).read_text()
    assert not (tmp_path / "plotly.min.js").exists() and 'src="plotly.min.js"' not in html
    script = re.search(r'<script type="text/javascript">(.*?)</script>', html, re.S)
    assert script and len(script.group(1)) > 1_000_000 and "Plotly" in script.group(1)
    # the setting ends with its block: the next page links the shared file again
    assert '<script src="plotly.min.js"></script>' in page.write_page(tmp_path, "x.html", "X", []).read_text()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    con = build_warehouse(tmp_path_factory.mktemp("wh") / "warehouse.duckdb")
    yield con
    con.close()


def test_build_reports_rejects_unknown_kinds(warehouse, tmp_path: Path):
    with pytest.raises(ValueError, match="unknown report kind"):
        reports.build_reports(warehouse, tmp_path, ["trends", "maps"])


def test_every_report_kind_has_its_renderer():
    assert build.REPORT_KINDS == ("trends", "hotspots", "areas", "patterns", "sdg16", "quality")
    assert reports.REPORT_KINDS == build.REPORT_KINDS
    assert {kind: render.__name__ for kind, render in build.RENDERERS.items()} == {
        kind: f"render_{kind}" for kind in build.REPORT_KINDS
    }


def test_index_links_present_reports_and_shows_vintage(warehouse, tmp_path: Path):
    written = reports.build_reports(warehouse, tmp_path, ["sdg16"])
    assert set(written) == {"sdg16", "index"}
    html = (tmp_path / "index.html").read_text()
    listing = html[html.index('<ul class="reports">') : html.index("</ul>")]
    assert 'href="sdg16.html"' in listing and 'href="trends.html"' not in listing
    for source in ("alpha_police", "alpha_victims", "beta_stats"):
        assert source in html
    assert "2024-05-01 10:00" in html  # latest run time from the runs table
    assert "2010" in html and "2023" in html


def test_chart_titles_dropdowns_and_traces_escape_data_labels():
    from reports import charts

    frame = pd.DataFrame(
        {
            "menu": [XSS_AREA, XSS_AREA, "B", "B"],
            "trace": [XSS_AREA, XSS_AREA, "t", "t"],
            "year": [2020, 2022, 2020, 2021],
            "value": [1.0, 2.0, 3.0, 4.0],
        }
    )
    fig = charts.menu_lines(
        frame,
        menu="menu",
        trace="trace",
        x="year",
        y="value",
        title=lambda m: f"Areas: {m}",
        x_title="Year",
        y_title=lambda m: m,
    )
    html = page.figure_html(fig)
    assert "<script>alert(1)" not in html and "\\u003cscript\\u003ealert" not in html
    assert fig["layout"]["title"]["text"] == f"Areas: {ESCAPED}"
    assert fig["layout"]["updatemenus"][0]["buttons"][0]["label"] == ESCAPED
    first = _plot_json(html)[0]
    assert first["name"] == ESCAPED
    assert first["x"] == [2020, 2021, 2022] and first["y"] == [1.0, None, 2.0]  # the missing year is a gap


def test_figure_ids_are_stable_so_the_same_data_gives_the_same_page():
    spec = {"data": [{"type": "bar", "x": ["a"], "y": [1]}], "layout": {}}
    other = {"data": [{"type": "bar", "x": ["a"], "y": [2]}], "layout": {}}
    assert page.figure_html(spec) == page.figure_html(spec)
    assert page.figure_html(spec) != page.figure_html(other)


def test_tables_show_plain_headers_and_formatted_numbers_while_the_csv_stays_raw():
    frame = pd.DataFrame(
        {
            "records_in": [200_000, 1_426],
            "quarantined_share": [0.00713, 0.000255],
            "share_pct": [0.0937, 12.5],
            "rate_per_100k": [4.2, 1234.5678],
            "change_pct": [15.0, -0.5],
            "first_year": [2019, 2020],
            "slope_per_year": [1.25, -3.0],
            "p_value": [0.0491, 0.0004],
        }
    )
    html = tables.table_html(frame, caption="c", csv_name="t")
    head = re.search(r"<thead>(.*)</thead>", html).group(1)
    assert "_" not in head  # no snake_case header
    assert ">records in<" in head and ">Sen&#x27;s slope per year<" in head and ">first year<" in head
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", html)
    assert cells[:8] == ["200,000", "0.71%", "0.09%", "4.20", "+15.0%", "2019", "1.25", "0.049"]
    assert cells[8:] == ["1,426", "0.03%", "12.5%", "1,235", "-0.50%", "2020", "-3", "&lt;0.001"]
    href = re.search(r'href="data:text/csv;charset=utf-8,([^"]+)"', html).group(1)
    back = pd.read_csv(io.StringIO(urllib.parse.unquote(href.replace("&amp;", "&"))))
    assert list(back.columns) == list(frame.columns)
    assert back["quarantined_share"].tolist() == [0.00713, 0.000255]  # raw values for machines
    assert 'class="data wide"' not in html  # 8 columns fit at the normal size
    wide = tables.table_html(frame.assign(extra=1), caption="c", csv_name="t")
    assert 'class="data wide"' in wide


def test_an_empty_table_is_one_line_saying_so():
    html = tables.table_html(pd.DataFrame(columns=["a", "b"]), caption="Level-2 changes", csv_name="t", empty="why")
    assert "<table" not in html and "0 rows" not in html and "Level-2 changes: why" in html


def test_charts_skip_what_has_nothing_to_draw_and_never_go_negative():
    from reports import charts

    frame = pd.DataFrame({"menu": ["a", "a", "b", "b"], "year": [2021, 2022, 2021, 2022], "v": [0.0, 0.0, None, None]})
    kept, why = charts.drawable(frame, menu="menu", x="year", y="v")
    assert why == "" and set(kept["menu"]) == {"a"}  # the entry without values is dropped
    _, why = charts.drawable(frame.assign(v=None), menu="menu", x="year", y="v")
    assert why.startswith("Nothing to chart")
    _, why = charts.drawable(frame[frame["year"] == 2022].assign(v=3.0), menu="menu", x="year", y="v")
    assert why.startswith("One year of data (2022)")
    fig = charts.menu_lines(
        kept, menu="menu", trace="menu", x="year", y="v", title=str, x_title="Year", y_title="count"
    )
    assert fig["layout"]["yaxis"]["rangemode"] == "tozero"  # all zeros: no axis from -1


def test_line_chart_says_why_instead_of_an_empty_chart_and_marks_breaks():
    from reports import charts
    from reports.breaks import menu_series

    frame = pd.DataFrame(
        {
            "menu": ["a", "a"],
            "source": ["s", "s"],
            "code": ["05", "05"],
            "year": [2021, 2022],
            "v": [1.0, 2.0],
            "partial": [False, False],
        }
    )
    args = dict(menu="menu", trace="menu", x="year", y="v", title=str, x_title="Year", y_title="count")
    html, drawn = charts.line_chart(frame.assign(v=None), **args, no_values="No rates: no population.")
    assert html == page.paragraph("No rates: no population.", cls="note") and drawn is None
    one_year = frame[frame["year"] == 2022]
    assert "One year of data" in charts.line_chart(one_year, **args)[0]
    assert "<div" in charts.line_chart(one_year, **args, one_year_chart=True)[0]
    breaks = pd.DataFrame(
        {"source": ["s"], "iccs_code": ["0501"], "period": ["2022"], "kind": ["recoding"], "detail": [""]}
    )
    html, drawn = charts.line_chart(
        frame,
        **args,
        breaks=breaks,
        x_of=int,
        entries=lambda rows: menu_series(rows, "menu", "source", "code", "code"),
        partial_note=True,
    )
    assert "series break: 0501 recoding 2022" in html and list(drawn["period"]) == ["2022"]
    assert charts.PARTIAL_ONLY not in html
    html, _ = charts.line_chart(frame.assign(partial=True, note="n"), **args, partial="partial", partial_note=True)
    assert charts.PARTIAL_ONLY in html
