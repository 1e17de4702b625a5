"""`iccs report --png DIR`: every chart and map of the written pages as an image (reports/png.py).

The images are drawn from the pages themselves, so these tests check that every chart div of a page becomes one
file, of the size asked, and that a machine without Chromium is told so in one line.
"""

from __future__ import annotations

import struct
from pathlib import Path

import plotly.graph_objects as go
import pytest
from browser import needs_browser
from reports_fixture import XSS_AREA, build_warehouse, plotly_figures

from pipelines.cli import main
from reports import build, page
from reports.png import ImageError, page_charts, write_images

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk (it follows the 8-byte signature and the chunk's length/type)."""
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_MAGIC, f"{path} is not a PNG"
    return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def reports_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every page of the synthetic reports warehouse (trends, hot spots with their maps, SDG 16, quality)."""
    folder = tmp_path_factory.mktemp("png")
    con = build_warehouse(folder / "warehouse.duckdb")
    try:
        build.build_reports(con, folder / "reports")
    finally:
        con.close()
    return folder


def _two_charts(out: Path) -> Path:
    """A page of two charts: one whose layout sets its height, one with a label plotly would read as HTML."""
    tall = go.Figure(go.Bar(x=["a", "b"], y=[1, 2]), layout={"height": 300, "title": {"text": "tall"}})
    label = go.Figure(go.Scatter(x=[2020, 2021], y=[5, 7], name=f'{XSS_AREA} "quoted"'), layout={"showlegend": True})
    body = page.figure_html(tall, div_id="tall") + page.figure_html(label, div_id="label")
    return page.write_page(out, "two.html", "Two charts", [page.section_html("Charts", body)])


def test_every_chart_of_every_page_is_read_back(reports_dir: Path):
    pages = sorted((reports_dir / "reports").glob("*.html"))
    assert {p.stem for p in pages} >= {"trends", "hotspots", "sdg16", "quality", "index"}
    for path in pages:
        expected = plotly_figures(path.read_text(encoding="utf-8"))
        charts = page_charts(path)
        assert [c.div_id for c in charts] == [div for div, _, _ in expected], path.name
        assert [c.figure["data"] for c in charts] == [data for _, data, _ in expected], path.name
        assert all(c.page == path.stem for c in charts)
    assert page_charts(reports_dir / "reports" / "hotspots.html"), "the hot spot maps are charts too"


def test_labels_and_layout_come_back_as_written(tmp_path: Path):
    charts = page_charts(_two_charts(tmp_path))
    assert [c.div_id for c in charts] == ["tall", "label"]
    assert charts[0].figure["layout"]["height"] == 300
    assert charts[1].figure["data"][0]["name"] == '&lt;script&gt;alert(1)&lt;/script&gt; "quoted"'


def test_without_chromium_one_line_and_a_failing_exit(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-such-chromium"))
    with pytest.raises(ImageError, match="images need Chromium or Chrome"):
        write_images([_two_charts(tmp_path)], tmp_path / "img")
    code = main(["report", "--png", str(tmp_path / "img"), "--warehouse", str(tmp_path / "none.duckdb")])
    err = capsys.readouterr().err
    assert code != 0
    assert err.startswith("iccs: --png: images need Chromium or Chrome") and err.count("\n") == 1, err
    assert "Traceback" not in err
    assert not (tmp_path / "img").exists()


def test_image_options_need_png(tmp_path: Path, capsys):
    assert main(["report", "--svg", "--warehouse", str(tmp_path / "w.duckdb")]) == 2
    assert "options of --png" in capsys.readouterr().err


@pytest.mark.browser
@needs_browser
def test_one_png_per_chart_div_of_every_page_at_the_width_asked(reports_dir: Path, tmp_path: Path):
    pages = [reports_dir / "reports" / f"{kind}.html" for kind in ("trends", "hotspots")]
    told: list[tuple[str, int, int]] = []
    written = write_images(
        pages, tmp_path / "img", width=640, progress=lambda path, n, total: told.append((path.name, n, total))
    )
    for path in pages:
        ids = [c.div_id for c in page_charts(path)]
        folder = tmp_path / "img" / path.stem
        assert sorted(p.name for p in folder.iterdir()) == sorted(f"{i}.png" for i in ids), path.name
    assert len(written) == len(told) == sum(len(page_charts(p)) for p in pages)
    assert [n for _, n, _ in told] == list(range(1, len(written) + 1))
    for path in written:
        width, height = _png_size(path)
        assert width == 640 and height > 100, path
        assert path.stat().st_size > 5_000, f"{path} looks empty"


@pytest.mark.browser
@needs_browser
def test_svg_beside_png_and_heights(tmp_path: Path):
    written = write_images([_two_charts(tmp_path)], tmp_path / "img", formats=("png", "svg"), width=500)
    assert [p.name for p in written] == ["tall.png", "tall.svg", "label.png", "label.svg"]
    assert _png_size(tmp_path / "img" / "two" / "tall.png") == (500, 300)  # the chart's own height
    assert _png_size(tmp_path / "img" / "two" / "label.png") == (500, 500)  # none set: the default
    svg = (tmp_path / "img" / "two" / "label.svg").read_text(encoding="utf-8")
    assert svg.lstrip().startswith("<svg") and "alert(1)" in svg and "<script" not in svg
    again = write_images([_two_charts(tmp_path)], tmp_path / "again", width=400, height=250, scale=2)
    assert {_png_size(p) for p in again} == {(800, 500)}


@pytest.mark.browser
@needs_browser
def test_iccs_report_png_prints_pages_then_images(reports_dir: Path, tmp_path: Path, capsys):
    args = ["--warehouse", str(reports_dir / "warehouse.duckdb"), "--reports", str(tmp_path / "r")]
    code = main(["report", "--kind", "quality", "--png", str(tmp_path / "img"), "--width", "700", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert err == ""  # no progress line: stderr is not a terminal here
    lines = out.splitlines()
    assert lines[:2] == [str((tmp_path / "r" / name).resolve()) for name in ("quality.html", "index.html")]
    charts = page_charts(tmp_path / "r" / "quality.html")
    assert lines[2:] == [str((tmp_path / "img" / "quality" / f"{c.div_id}.png").resolve()) for c in charts]
    assert charts and all(_png_size(Path(line))[0] == 700 for line in lines[2:])


def test_a_chromium_that_does_not_start_is_one_line(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("BROWSER_PATH", "/bin/false")
    with pytest.raises(ImageError, match=r"^Chromium \(/bin/false\) did not start, or stopped: [^\n]+$"):
        write_images([_two_charts(tmp_path)], tmp_path / "img")
    assert capsys.readouterr().err == ""  # the browser library's own warnings are kept off stderr


@pytest.mark.browser
@needs_browser
def test_a_chart_plotly_cannot_draw_is_named(tmp_path: Path):
    bad = page.figure_html({"data": [{"type": "bar", "y": [1]}], "layout": {"yaxis": "not an axis"}}, div_id="bad")
    path = page.write_page(tmp_path, "broken.html", "Broken", [bad])
    with pytest.raises(ImageError, match=r"^chart bad of broken could not be drawn: [^\n]+$"):
        write_images([path], tmp_path / "img")
    assert not (tmp_path / "img" / "broken" / "bad.png").exists()
