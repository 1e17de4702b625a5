"""The shared frame of every report page: nav bar, sections, charts, tables with CSV downloads.

Pages must open from disk with no network: plotly.js is written once as `plotly.min.js` beside the pages and
referenced relatively (a CDN script renders a blank page offline), or, for pages that travel alone
(``standalone_pages``, `iccs report --standalone`), written inside each page. The CSVs of tables too long to embed
(`reports.tables`) are written beside the page and linked, so a page stays small whatever the data (a million
codes do not make a 100 MB page).
Everything that comes from data is HTML-escaped here: titles, summaries, metadata, and the string values inside
chart traces (plotly renders a subset of HTML in labels, so a label is escaped to show as text). Layout text of a
figure (titles, annotations, dropdown labels) is the caller's: pass data labels through `plot_text` before
putting them there.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import html
import json
import re
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import plotly.io
import plotly.offline

PLOTLY_JS = "plotly.min.js"
PLOT_TEMPLATE = "plotly_white"
NAV: tuple[tuple[str, str], ...] = (
    ("index.html", "Overview"),
    ("trends.html", "Trends"),
    ("hotspots.html", "Hot spots"),
    ("areas.html", "By area"),
    ("patterns.html", "Patterns"),
    ("sdg16.html", "SDG 16"),
    ("quality.html", "Data quality"),
)
# Trace fields whose string values plotly renders as (pseudo-)HTML text, so data labels there must be escaped.
_TRACE_TEXT_FIELDS = ("x", "y", "text", "hovertext", "name", "labels", "parents", "ids", "customdata")
# CSVs of tables longer than they are shown, written beside the page by the next `write_page` (name -> frame).
_CSV_FILES: dict[str, pd.DataFrame] = {}
_CURRENT = ' class="current" aria-current="page"'

CSS = """
:root { --ink:#1f2933; --muted:#52606d; --line:#d9e2ec; --bg:#f5f7fa; --accent:#1d4e89; --warn:#8a4b08; }
* { box-sizing: border-box; }
body { margin:0; font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
       color:var(--ink); background:var(--bg); }
nav.site { background:var(--accent); padding:0 1.5rem; display:flex; flex-wrap:wrap; gap:.25rem;
           align-items:center; }
nav.site .brand { color:#fff; font-weight:600; margin-right:1.5rem; padding:.8rem 0; }
nav.site a { color:#dbe7f5; text-decoration:none; padding:.8rem .75rem; border-bottom:3px solid transparent; }
nav.site a:hover { color:#fff; }
nav.site a.current { color:#fff; border-bottom-color:#fff; font-weight:600; }
main { max-width:1200px; margin:0 auto; padding:1.5rem; }
h1 { font-size:1.7rem; margin:.5rem 0 1rem; }
h2 { font-size:1.3rem; margin:0 0 .5rem; }
h3 { font-size:1.05rem; margin:1.25rem 0 .4rem; }
.intro p { color:var(--muted); max-width:60rem; }
section.report { background:#fff; border:1px solid var(--line); border-radius:6px; padding:1.25rem 1.5rem;
                 margin:0 0 1.5rem; }
p.summary { font-size:1.02rem; margin:.25rem 0 1rem; padding:.5rem .75rem; background:#eef4fb;
            border-left:4px solid var(--accent); }
p.note, .caveat { color:var(--warn); }
.block { margin:1.5rem 0 2rem; padding-top:.5rem; border-top:1px solid var(--line); }
.block:first-of-type { border-top:none; }
.chart { width:100%; min-height:420px; }
.table-wrap { overflow:auto; max-height:380px; margin:.5rem 0 .25rem; border:1px solid var(--line); }
table.data { border-collapse:collapse; font-size:.88rem; width:100%; }
table.data.wide { font-size:.78rem; }
table.data caption { text-align:left; font-weight:600; padding:.4rem .6rem; caption-side:top; background:#fff; }
table.data th, table.data td { border-bottom:1px solid var(--line); padding:.3rem .6rem; text-align:left;
                               overflow-wrap:break-word; }
table.data.wide th, table.data.wide td { padding:.25rem .35rem; }
table.data th { background:#f0f4f8; position:sticky; top:0; z-index:1; vertical-align:bottom; font-weight:600;
                overflow-wrap:normal; hyphens:auto; min-width:3.5em; }
table.data th.num, table.data td.num { text-align:right; }
table.data td.num { font-variant-numeric:tabular-nums; white-space:nowrap; overflow-wrap:normal; }
.table-foot { font-size:.85rem; color:var(--muted); display:flex; gap:1rem; flex-wrap:wrap; margin-bottom:1rem; }
a.csv { color:var(--accent); font-weight:600; }
details.metadata { margin-top:.75rem; font-size:.88rem; color:var(--muted); }
details.metadata summary { cursor:pointer; color:var(--accent); }
details.metadata dl { display:grid; grid-template-columns:max-content 1fr; gap:.2rem 1rem; margin:.5rem 0 0; }
details.metadata dt { font-weight:600; color:var(--ink); }
details.metadata dd { margin:0; }
ul.reports li { margin:.4rem 0; }
.muted { color:var(--muted); font-size:.9em; }
.no-plotly-warning { display:none; background:#fff3cd; border:1px solid #e0c36b; padding:.75rem 1rem;
                     margin:1rem 0; }
body.no-plotly .no-plotly-warning { display:block; }
.data-notice { background:#fff3cd; border:2px solid #b7791f; color:#5c3d00; font-weight:600; padding:.6rem 1rem;
               margin:0 0 1rem; border-radius:4px; }
footer { color:var(--muted); font-size:.8rem; text-align:center; padding:1rem 0 2rem; }
"""


def esc(value: Any) -> str:
    """Escape any value for HTML text or attribute context."""
    return html.escape("" if value is None else str(value), quote=True)


def plot_text(value: Any) -> str:
    """Escape a data label for plotly layout text (titles, annotations, menus): &lt; shows as '<'."""
    return html.escape("" if value is None else str(value), quote=False)


def slug(text: str) -> str:
    """A stable id fragment for anchors and chart divs."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "section"


def _escape_values(values: Any) -> Any:
    if isinstance(values, str):
        return plot_text(values)
    if isinstance(values, list | tuple):
        return [_escape_values(v) if isinstance(v, str | list | tuple) else v for v in values]
    return values


@functools.cache
def _template_json() -> str:
    return json.dumps(plotly.io.templates[PLOT_TEMPLATE].to_plotly_json())


def template() -> dict[str, Any]:
    """The report template as a plotly JSON dict (built once; a fresh copy per figure)."""
    return json.loads(_template_json())


def escape_figure(fig: go.Figure | Mapping[str, Any]) -> dict[str, Any]:
    """The figure as a plotly JSON dict with every string value in its traces (and axis category orders)
    HTML-escaped, so plotly shows data labels as text."""
    spec = fig.to_plotly_json() if isinstance(fig, go.Figure) else fig
    data = []
    for trace in spec.get("data", []):
        trace = dict(trace)
        for field in _TRACE_TEXT_FIELDS:
            value = trace.get(field)
            if value is None:
                continue
            if hasattr(value, "dtype"):
                if value.dtype.kind not in "OUS":  # numbers and dates stay as they are
                    continue
                value = value.tolist()
            trace[field] = _escape_values(value)
        data.append(trace)
    layout = dict(spec.get("layout", {}))
    for key, axis in list(layout.items()):
        if key.startswith(("xaxis", "yaxis")) and isinstance(axis, Mapping) and axis.get("categoryarray"):
            layout[key] = {**axis, "categoryarray": _escape_values(list(axis["categoryarray"]))}
    return {"data": data, "layout": layout}


def figure_html(fig: go.Figure | Mapping[str, Any], *, div_id: str | None = None) -> str:
    """The chart as a <div> plus its plotting call; plotly.js itself is loaded once by the page.

    Accepts a plotly Figure or a plain plotly JSON dict (much faster to build for many traces). Without
    `div_id` the id is derived from the figure's content; pass one when a page shows the same figure twice.
    """
    spec = escape_figure(fig)
    if div_id is None:
        # Derived from the content (plotly would draw a random uuid): the same data gives the same page.
        digest = hashlib.sha1(json.dumps(spec, sort_keys=True, default=str).encode("utf-8")).hexdigest()
        div_id = f"chart-{digest[:12]}"
    body = plotly.io.to_html(
        spec,
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        validate=False,
        config={"displaylogo": False, "responsive": True},
    )
    return f'<div class="chart">{body}</div>'


def metadata_html(metadata: Mapping[str, str]) -> str:
    items = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in metadata.items())
    return f'<details class="metadata"><summary>About these data</summary><dl>{items}</dl></details>'


def section_html(title: str, body: str, *, summary: str = "", metadata: Mapping[str, str] | None = None) -> str:
    """A report section: `title`, `summary`, `metadata` are text (escaped); `body` is HTML."""
    parts = [f'<section class="report" id="{esc(slug(title))}"><h2>{esc(title)}</h2>']
    if summary:
        parts.append(f'<p class="summary">{esc(summary)}</p>')
    parts.append(body)
    if metadata:
        parts.append(metadata_html(metadata))
    parts.append("</section>")
    return "".join(parts)


def block_html(title: str, body: str, *, summary: str = "", metadata: Mapping[str, str] | None = None) -> str:
    """One chart/table unit inside a section: h3 title, summary, body HTML, metadata (text is escaped)."""
    parts = [f'<div class="block" id="{esc(slug(title))}">{heading(title)}']
    if summary:
        parts.append(paragraph(summary, cls="summary"))
    parts.append(body)
    if metadata:
        parts.append(metadata_html(metadata))
    parts.append("</div>")
    return "".join(parts)


def paragraph(text: str, *, cls: str = "") -> str:
    attr = f' class="{esc(cls)}"' if cls else ""
    return f"<p{attr}>{esc(text)}</p>"


def heading(text: str) -> str:
    return f"<h3>{esc(text)}</h3>"


# The pages a build under way will write (``reports.build.build_reports``): linked before they exist, so the first
# page written links the ones written after it.
_PLANNED: contextvars.ContextVar[frozenset[str]] = contextvars.ContextVar("planned_pages", default=frozenset())


@contextlib.contextmanager
def planned_pages(filenames: Iterable[str]) -> Iterator[None]:
    """While building: the pages (file names) the build writes, which the nav bar may link before they exist."""
    token = _PLANNED.set(frozenset(filenames))
    try:
        yield
    finally:
        _PLANNED.reset(token)


def nav_html(current: str, out_dir: Path | None = None) -> str:
    """The nav bar of page ``current``: with ``out_dir``, only the pages that are there or that the build under
    way writes (a link never leads nowhere: ``iccs report --kind quality`` in a new folder links quality.html and
    index.html only); without it, every page."""
    planned = _PLANNED.get()
    shown = [
        (href, label)
        for href, label in NAV
        if out_dir is None or href == current or href in planned or (Path(out_dir) / href).exists()
    ]
    links = "".join(f'<a href="{href}"{_CURRENT if href == current else ""}>{label}</a>' for href, label in shown)
    return f'<nav class="site"><span class="brand">ICCS crime statistics</span>{links}</nav>'


# Pages written while set carry plotly.js inside them (``standalone_pages``).
_STANDALONE: contextvars.ContextVar[bool] = contextvars.ContextVar("standalone_pages", default=False)


@contextlib.contextmanager
def standalone_pages(on: bool = True) -> Iterator[None]:
    """While set, each page carries plotly.js itself (about 4.8 MB more a page), so a page mailed or copied on its
    own still draws its charts; the CSVs of long tables stay files beside it."""
    token = _STANDALONE.set(on)
    try:
        yield
    finally:
        _STANDALONE.reset(token)


def _plotly_script(out_dir: Path) -> str:
    if _STANDALONE.get():
        return f'<script type="text/javascript">{_plotly_js().decode("utf-8")}</script>'
    ensure_plotly_js(out_dir)
    return f'<script src="{PLOTLY_JS}"></script>'


@functools.cache
def _plotly_js() -> bytes:
    return plotly.offline.get_plotlyjs().encode("utf-8")


def ensure_plotly_js(out_dir: Path) -> Path:
    """Write plotly.js beside the pages once (rewritten when the installed plotly version differs)."""
    target = out_dir / PLOTLY_JS
    script = _plotly_js()
    if not target.exists() or target.stat().st_size != len(script):
        target.write_bytes(script)
    return target


def notice_html(notice: str) -> str:
    """The banner of a page whose data is not real (`names.data_notice`); '' without a notice."""
    return f'<div class="data-notice" role="note">{esc(notice)}</div>' if notice else ""


def write_page(
    out_dir: Path, filename: str, title: str, sections: Sequence[str], *, intro: str = "", notice: str = ""
) -> Path:
    """Write a complete page; `intro` is plain text (blank lines separate paragraphs), `sections` are HTML;
    `notice` (plain text, e.g. that the data are synthetic) is a banner under the title, above everything else."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    script = _plotly_script(out_dir)
    intro_html = "".join(paragraph(p.strip()) for p in intro.split("\n\n") if p.strip())
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    document = f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>{CSS}</style>
{script}
</head>
<body>
<script>if (!window.Plotly) document.body.classList.add("no-plotly");</script>
{nav_html(filename, out_dir)}
<main>
<h1>{esc(title)}</h1>
{notice_html(notice)}
<div class="no-plotly-warning">Charts need {PLOTLY_JS} in the same folder as this page; the tables below
still hold every number.</div>
<div class="intro">{intro_html}</div>
{"".join(sections)}
</main>
<footer>Generated {generated} · ICCS v1.0 crime statistics pipeline</footer>
</body>
</html>
"""
    path = out_dir / filename
    path.write_text(document, encoding="utf-8")
    write_csv_files(out_dir)
    return path


def csv_file(name: str, frame: pd.DataFrame) -> str:
    """Keep `frame` to be written as `name` beside the next page `write_page` writes; returns the link to it."""
    _CSV_FILES[name] = frame
    return urllib.parse.quote(name)


def write_csv_files(out_dir: Path) -> list[Path]:
    """Write the CSVs of the tables rendered since the last page (those too long to embed) into `out_dir`."""
    written = []
    while _CSV_FILES:
        name, frame = _CSV_FILES.popitem()
        target = Path(out_dir) / name
        frame.to_csv(target, index=False)
        written.append(target)
    return written
