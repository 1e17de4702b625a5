"""The four reports as the pipeline writes them, opened in headless Chromium: on the synthetic demo and on a real
source with coordinates, every chart renders and no JavaScript error is logged."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from browser import chart_divs, needs_browser, render

from tests.conftest import ROOT, requires_shared_data

PAGES = ("trends", "hotspots", "areas", "sdg16", "quality")


def _assert_renders(folder: Path, pages: tuple[str, ...] = PAGES) -> None:
    for name in pages:
        page = folder / f"{name}.html"
        assert page.is_file(), page
        rendered = render(page)
        assert rendered.console_errors == [], (name, rendered.console_errors)
        assert rendered.plotly_svgs >= chart_divs(page.read_text()), name


@pytest.mark.browser
@needs_browser
def test_demo_reports_render_in_a_browser(demo_run) -> None:
    _, result = demo_run
    assert result.ok, result.errors
    # sdg16 and quality on the demo are rendered by their own tests' fixtures; these two carry the most charts.
    _assert_renders(result.reports_dir, ("trends", "hotspots"))


@pytest.mark.browser
@needs_browser
def test_a_standalone_page_renders_alone_in_an_empty_folder(demo_run, tmp_path: Path) -> None:
    """`iccs report --standalone`: a page copied on its own, with no plotly.min.js beside it, draws its charts."""
    from pipelines.cli import main

    _, result = demo_run
    built = tmp_path / "built"
    assert (
        main(
            ["report", "--standalone", "--kind", "sdg16", "--warehouse", str(result.warehouse), "--reports", str(built)]
        )
        == 0
    )
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(built / "sdg16.html", alone / "sdg16.html")
    _assert_renders(alone, ("sdg16",))


@pytest.mark.browser
@needs_browser
@requires_shared_data()
def test_a_real_source_with_coordinates_renders_in_a_browser(tmp_path: Path) -> None:
    from pipelines.runner import run_pipeline

    config = ROOT / "pipelines" / "sources" / "san_francisco_robbery" / "sources.yaml"
    result = run_pipeline(config, tmp_path / "w.duckdb", tmp_path / "reports")
    assert result.ok, (result.errors, [(s.error, s.failed_checks) for s in result.sources])
    hotspots = (tmp_path / "reports" / "hotspots.html").read_text()
    assert "san_francisco_robbery" in hotspots and "Not analysed" not in hotspots
    _assert_renders(tmp_path / "reports")
