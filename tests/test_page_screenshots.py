"""Every page of the demo report, rendered in Chromium at 1,400 pixels wide and kept as a PNG for a person to
review (not compared pixel by pixel): `build/screenshots/<page>.png`, or under $ICCS_SCREENSHOTS."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from browser import needs_browser, render, screenshot

ROOT = Path(__file__).resolve().parents[1]
WIDTH, HEIGHT = 1400, 6000
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("ICCS_SCREENSHOTS") or ROOT / "build" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.mark.browser
@needs_browser
def test_every_demo_page_renders_its_maps_and_is_kept_as_a_screenshot(demo_run):
    manifest, result = demo_run
    districts = json.loads((Path(manifest.config_path).parent / "districts.geojson").read_text(encoding="utf-8"))
    names = {f["properties"]["name"] for f in districts["features"]}
    pages = sorted(Path(result.reports_dir).glob("*.html"))
    assert {p.stem for p in pages} >= {"index", "trends", "hotspots", "areas", "sdg16", "quality"}
    folder = screenshot_dir()
    for page in pages:
        rendered = render(page)
        assert rendered.console_errors == [], page.name
        if page.stem in ("hotspots", "areas"):  # maps with places: the demo names its districts' boundaries
            assert rendered.plotly_svgs > 0 and any(name in rendered.dom for name in names), page.name
        png = screenshot(page, folder / f"demo_{page.stem}.png", width=WIDTH, height=HEIGHT)
        assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 20_000, page.name
