"""Static images (PNG, SVG) of every chart and map of the written report pages, for publications.

The images are re-rendered from the pages themselves: each chart of a page is a plotly div with its figure JSON
in a ``Plotly.newPlot(id, data, layout, config)`` call (``reports.page.figure_html``), so every chart of every
page, including charts added later, is exported without touching the page code. One headless Chromium (kaleido)
draws them all, offline: plotly.js comes from the installed plotly package and MathJax is off (it would come from a
CDN).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FORMATS = ("png", "svg")
DEFAULT_WIDTH = 1000
DEFAULT_HEIGHT = 500  # a chart whose layout sets no height (the page gives it the width it has and 420 px or more)
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
_NEW_PLOT = re.compile(r"Plotly\.newPlot\(\s*")
_DECODER = json.JSONDecoder()
# Seconds one image may take: a hot-spot map of a large grid takes a few seconds on a slow machine.
RENDER_TIMEOUT = 120.0


class ImageError(RuntimeError):
    """The images cannot be made (no Chromium, a page without its charts, a chart that does not render); the
    message is one line saying what to do."""


@dataclass(frozen=True)
class Chart:
    """One chart of a page: the page's name (``trends``), the chart's div id, and its plotly figure."""

    page: str
    div_id: str
    figure: dict[str, Any]


def page_charts(path: Path) -> list[Chart]:
    """The charts of one written page, in page order, read back from its ``Plotly.newPlot`` calls."""
    text = Path(path).read_text(encoding="utf-8")
    charts = []
    for match in _NEW_PLOT.finditer(text):
        try:
            div_id, end = _value(text, match.end())
            data, end = _value(text, end)
            layout, _ = _value(text, end) if text.startswith("{", end) else ({}, end)
        except ValueError as exc:
            raise ImageError(f"{path}: a chart's figure cannot be read back ({exc})") from None
        if isinstance(div_id, str) and isinstance(data, list):
            charts.append(Chart(Path(path).stem, div_id, {"data": data, "layout": layout}))
    return charts


def _value(text: str, start: int) -> tuple[Any, int]:
    """The JSON value at ``start`` and where the next argument begins (after its comma)."""
    value, end = _DECODER.raw_decode(text, start)
    rest = re.compile(r"\s*,?\s*").match(text, end)
    return value, rest.end() if rest else end


def find_chromium() -> str | None:
    """The browser kaleido drives: ``$BROWSER_PATH`` (kaleido's own setting) or the first Chromium or Chrome on PATH."""
    explicit = os.environ.get("BROWSER_PATH")
    if explicit:
        return explicit if Path(explicit).is_file() and os.access(explicit, os.X_OK) else None
    return next((found for name in CHROMIUM_NAMES if (found := shutil.which(name))), None)


def no_chromium_message() -> str:
    where = f"at $BROWSER_PATH ({os.environ['BROWSER_PATH']})" if os.environ.get("BROWSER_PATH") else "on PATH"
    return (
        f"images need Chromium or Chrome, and none was found {where}: install it (apt-get install chromium) or set "
        "BROWSER_PATH to its executable"
    )


def image_targets(pages: Iterable[Path], out_dir: Path, formats: Sequence[str] = ("png",)) -> list[tuple[Chart, Path]]:
    """Every chart of ``pages`` with the file it becomes: ``out_dir/<page>/<div id>.<format>`` per format."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ImageError(f"image format {unknown[0]!r}: choose from {', '.join(FORMATS)}")
    return [
        (chart, Path(out_dir) / chart.page / f"{chart.div_id}.{fmt}")
        for page in pages
        for chart in page_charts(page)
        for fmt in formats
    ]


def write_images(
    pages: Iterable[Path],
    out_dir: Path,
    *,
    formats: Sequence[str] = ("png",),
    width: int = DEFAULT_WIDTH,
    height: int | None = None,
    scale: float = 1.0,
    progress: Callable[[Path, int, int], None] | None = None,
) -> list[Path]:
    """Write every chart of ``pages`` as an image per format (see ``image_targets``), ``width`` pixels wide (times
    ``scale``) and ``height`` high (default: the chart's own height, else DEFAULT_HEIGHT); returns the files in page
    order. ``progress`` is told each file before it is drawn, with its number and the number of files. One Chromium
    draws them all."""
    targets = image_targets(pages, out_dir, formats)
    if not targets:
        return []
    chromium = find_chromium()
    if chromium is None:
        raise ImageError(no_chromium_message())
    for _, path in targets:
        path.parent.mkdir(parents=True, exist_ok=True)
    with _quiet_browser_logs():
        asyncio.run(_draw(targets, {"width": width, "height": height, "scale": scale}, chromium, progress))
    return [path for _, path in targets]


@contextlib.contextmanager
def _quiet_browser_logs() -> Iterator[None]:
    """kaleido's and choreographer's warnings ("Browser is being closed by watchdog") are kept off stderr while
    drawing: what went wrong is told once, as an ImageError."""
    loggers = [logging.getLogger(name) for name in ("kaleido", "choreographer", "logistro")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


async def _draw(
    targets: list[tuple[Chart, Path]],
    opts: dict[str, Any],
    chromium: str,
    progress: Callable[[Path, int, int], None] | None,
) -> None:
    import kaleido
    from choreographer.channels import ChannelClosedError
    from kaleido.errors import BrowserClosedError, BrowserFailedError, ChromeNotFoundError, KaleidoError

    try:
        browser = kaleido.Kaleido(n=1, timeout=RENDER_TIMEOUT, mathjax=False, path=chromium)
    except ChromeNotFoundError:
        raise ImageError(no_chromium_message()) from None
    try:
        async with browser as k:
            for number, (chart, path) in enumerate(targets, 1):  # one at a time in one tab: progress follows
                if progress is not None:
                    progress(path, number, len(targets))
                own = chart.figure.get("layout", {}).get("height")
                size = {**opts, "height": opts["height"] or own or DEFAULT_HEIGHT, "format": path.suffix[1:]}
                try:
                    await k.write_fig_from_object(
                        {"fig": chart.figure, "path": path, "opts": size}, cancel_on_error=True
                    )
                except TimeoutError:
                    raise ImageError(
                        f"chart {chart.div_id} of {chart.page}: not drawn in {RENDER_TIMEOUT:.0f} s"
                    ) from None
                except KaleidoError as exc:  # plotly.js could not draw the figure
                    raise ImageError(
                        f"chart {chart.div_id} of {chart.page} could not be drawn: {_first(exc)}"
                    ) from None
    except (BrowserFailedError, BrowserClosedError, ChannelClosedError, asyncio.InvalidStateError) as exc:
        # a browser that exits at once can also surface as a closed channel, or as choreographer's own race on the
        # answer it was waiting for (InvalidStateError), depending on when it went
        raise ImageError(f"Chromium ({chromium}) did not start, or stopped: {_first(exc)}") from None


def _first(exc: BaseException) -> str:
    """The first line of an error's first argument (choreographer's carry several sentences in a tuple)."""
    text = str(exc.args[0] if exc.args else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
