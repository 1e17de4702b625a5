"""Render the requested reports and the index that links them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb

from reports import page
from reports.areas import render_areas
from reports.geo.basemap import using as using_basemap
from reports.hotspots import render_hotspots
from reports.index import render_index
from reports.patterns import render_patterns
from reports.quality import render_quality
from reports.sdg16 import render_sdg16
from reports.trends import render_trends

Renderer = Callable[[duckdb.DuckDBPyConnection, Path], Path]
# Every report kind and the function that writes its page, in the order `iccs report` renders them.
RENDERERS: dict[str, Renderer] = {
    "trends": render_trends,
    "hotspots": render_hotspots,
    "areas": render_areas,
    "patterns": render_patterns,
    "sdg16": render_sdg16,
    "quality": render_quality,
}
REPORT_KINDS: tuple[str, ...] = tuple(RENDERERS)


def build_reports(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    kinds: Sequence[str] | None = None,
    standalone: bool = False,
    progress: Callable[[str], None] | None = None,
    basemap: str | None = None,
) -> dict[str, Path]:
    """Render `kinds` (all by default) into `out_dir`, then index.html; returns kind -> page path. `standalone`:
    each page carries plotly.js itself, to be sent or copied on its own (``page.standalone_pages``). `progress` is
    told each page's kind before it is rendered (`iccs report`'s live line). `basemap` ('osm'): maps on street tiles
    fetched when a page is opened (``reports.geo.basemap``); None: plain maps that need no network."""
    told = progress or (lambda kind: None)
    requested = tuple(REPORT_KINDS if kinds is None else kinds)
    unknown = [k for k in requested if k not in RENDERERS]
    if unknown:
        raise ValueError(f"unknown report kind(s) {unknown}; choose from {list(REPORT_KINDS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # every page's nav bar links the pages of this build and those already in the folder, never a missing one
    pages = [f"{kind}.html" for kind in requested] + ["index.html"]
    with page.planned_pages(pages), page.standalone_pages(standalone), using_basemap(basemap):
        written: dict[str, Path] = {}
        for kind in requested:
            told(kind)
            written[kind] = RENDERERS[kind](con, out_dir)
        told("index")
        written["index"] = render_index(con, out_dir)
    return written
