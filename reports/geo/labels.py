"""Place names on a map that do not overlap one another: the most important first, each kept only where its box
is free. Boxes are estimated in screen pixels from the map's extent and size, so a label dropped here is one
that would have collided in the figure as drawn."""

from __future__ import annotations

import numpy as np

from reports import page

CHAR_WIDTH_PX = 6.6  # average width of a character at plotly's 11-px map label font
LINE_HEIGHT_PX = 14
PADDING_PX = 3


def free_labels(
    x: np.ndarray,
    y: np.ndarray,
    text: list[str],
    extent: tuple[float, float, float, float],
    size_px: tuple[int, int],
    limit: int = 25,
    offset_px: float | np.ndarray = 0.0,
) -> np.ndarray:
    """Indexes of the labels to show, in the given order of importance: at most ``limit``, none overlapping an
    earlier one. ``extent`` is (x_min, x_max, y_min, y_max) of the plot area in data units, ``size_px`` its
    (width, height) in pixels; a label is centred ``offset_px`` (one for all, or one each) above its point (text
    over a marker)."""
    x_min, x_max, y_min, y_max = extent
    width_px, height_px = size_px
    # one scale for both axes: the maps keep their aspect ratio (scaleanchor), so the tighter axis rules
    per_px = max((x_max - x_min) / max(width_px, 1), (y_max - y_min) / max(height_px, 1), 1e-12)
    offsets = np.broadcast_to(np.asarray(offset_px, dtype=float), (len(text),))
    shown: list[int] = []
    boxes: list[tuple[float, float, float, float]] = []
    for i, label in enumerate(text):
        if len(shown) >= limit:
            break
        if not label or not np.isfinite(x[i]) or not np.isfinite(y[i]):
            continue
        half_w = (len(label) * CHAR_WIDTH_PX / 2 + PADDING_PX) * per_px
        half_h = (LINE_HEIGHT_PX / 2 + PADDING_PX) * per_px
        centre_y = y[i] + offsets[i] * per_px
        box = (x[i] - half_w, x[i] + half_w, centre_y - half_h, centre_y + half_h)
        if box[0] < x_min or box[1] > x_max or box[2] < y_min or box[3] > y_max:
            continue  # it would be cut by the frame
        if any(box[0] < b[1] and b[0] < box[1] and box[2] < b[3] and b[2] < box[3] for b in boxes):
            continue
        shown.append(i)
        boxes.append(box)
    return np.array(shown, dtype=int)


def label_annotations(x: np.ndarray, y: np.ndarray, text: list[str]) -> list[dict]:
    """Names on a translucent white box, legible over any fill colour (plotly annotations; at most a few dozen)."""
    return [
        {
            "x": round(float(xi), 1),
            "y": round(float(yi), 1),
            "xref": "x",
            "yref": "y",
            "text": page.plot_text(t),  # a name from a boundaries file is data: shown as text, never markup
            "showarrow": False,
            "font": {"size": 11, "color": "#111"},
            "bgcolor": "rgba(255,255,255,0.78)",
            "borderpad": 1,
        }
        for xi, yi, t in zip(np.asarray(x, dtype=float), np.asarray(y, dtype=float), text, strict=True)
    ]
