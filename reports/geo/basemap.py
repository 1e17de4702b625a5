"""An optional street-map background (`iccs report --basemap osm`): the maps redrawn on OpenStreetMap tiles.

Off by default, because tiles are fetched from the network when the page is opened: a page mailed to a ministry
or opened offline must not depend on a tile server. With the option, every projected map (shapes, markers,
labels, and the grid's cells outside the neutral class) is converted to plotly's MapLibre traces in longitude/
latitude; the neutral cells ("not significant") are left out so the streets show through. The tiles carry their
own attribution (© OpenStreetMap contributors).
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pyproj

BASEMAPS = {"osm": "open-street-map"}
NEUTRAL = "#e8e8e8"  # the grid maps' colour of "nothing to see here": left off the tiles
_CHOSEN: contextvars.ContextVar[str | None] = contextvars.ContextVar("basemap", default=None)
MAP_WIDTH_PX = 900


@contextmanager
def using(name: str | None) -> Iterator[None]:
    """Draw the maps made inside on the named basemap (None: plain maps, nothing fetched)."""
    if name is not None and name not in BASEMAPS:
        raise ValueError(f"unknown basemap '{name}'; choose from {', '.join(BASEMAPS)}")
    token = _CHOSEN.set(name)
    try:
        yield
    finally:
        _CHOSEN.reset(token)


def maybe(figure: dict, proj4: str) -> dict:
    """The figure as it is, or on the chosen basemap."""
    name = _CHOSEN.get()
    return figure if name is None else on_basemap(figure, proj4, BASEMAPS[name])


def on_basemap(figure: dict, proj4: str, style: str) -> dict:
    back = pyproj.Transformer.from_crs(pyproj.CRS.from_proj4(proj4), "EPSG:4326", always_xy=True)
    layout = dict(figure["layout"])
    data = []
    for trace in figure["data"]:
        if trace.get("type") == "heatmap":
            data += _cells(trace, back)
        elif trace.get("type") == "scatter" and trace.get("name") != "meridians and parallels":
            data.append(_scatter(trace, back))
    data += _labels(layout.pop("annotations", []), back)
    x0, x1 = layout["xaxis"]["range"]
    y0, y1 = layout["yaxis"]["range"]
    lon, lat = back.transform([x0, x1, (x0 + x1) / 2], [y0, y1, (y0 + y1) / 2])
    span = max(abs(lon[1] - lon[0]), 1e-6)
    zoom = max(0.0, min(18.0, math.log2(360 * MAP_WIDTH_PX / (512 * span))))  # MapLibre: 512-pixel tiles
    for axis in ("xaxis", "yaxis"):
        layout.pop(axis, None)
    layout["map"] = {"style": style, "center": {"lon": lon[2], "lat": lat[2]}, "zoom": round(zoom, 2)}
    layout["margin"] = {"l": 10, "r": 10, "t": 60, "b": 10}
    return {"data": data, "layout": layout}


def _to_lonlat(back, x: list, y: list) -> tuple[list, list]:
    xs = np.array([np.nan if v is None else v for v in x], dtype=float)
    ys = np.array([np.nan if v is None else v for v in y], dtype=float)
    lon, lat = back.transform(xs, ys)
    return (
        [None if not np.isfinite(v) else round(float(v), 6) for v in lon],
        [None if not np.isfinite(v) else round(float(v), 6) for v in lat],
    )


def _scatter(trace: dict, back) -> dict:
    lon, lat = _to_lonlat(back, list(trace["x"]), list(trace["y"]))
    out = {k: v for k, v in trace.items() if k not in ("x", "y", "type", "textposition", "textfont", "error_x")}
    out.update(type="scattermap", lon=lon, lat=lat)
    if "line" in out:
        out["line"] = {k: v for k, v in out["line"].items() if k in ("color", "width")}
    if "marker" in out:
        out["marker"] = {k: v for k, v in out["marker"].items() if k in ("size", "color", "opacity")}
        if out["marker"].get("color") == "rgba(0,0,0,0)":
            out["marker"]["color"] = "#111"  # a ring marker cannot be drawn on a map: a dot instead
    if "fillcolor" in out:
        out["opacity"] = 0.75  # the streets stay readable under the classes
    return out


def _cells(trace: dict, back) -> list[dict]:
    """The heatmap's cells as filled squares, one trace per class, the neutral class left out."""
    x = np.asarray(trace["x"], dtype=float)
    y = np.asarray(trace["y"], dtype=float)
    z = np.asarray(trace["z"], dtype=float)
    half = (x[1] - x[0]) / 2 if len(x) > 1 else (y[1] - y[0]) / 2 if len(y) > 1 else 500.0
    scale = trace["colorscale"]
    names = trace.get("colorbar", {}).get("ticktext", [])
    out = []
    for code, name in enumerate(names):
        colour = scale[2 * code][1]
        if colour == NEUTRAL:
            continue
        rows, cols = np.nonzero(z == code)
        if not len(rows):
            continue
        cx, cy = x[cols], y[rows]
        corners_x = np.stack([cx - half, cx + half, cx + half, cx - half, cx - half, np.full(len(cx), np.nan)], 1)
        corners_y = np.stack([cy - half, cy - half, cy + half, cy + half, cy - half, np.full(len(cy), np.nan)], 1)
        lon, lat = _to_lonlat(back, corners_x.ravel().tolist(), corners_y.ravel().tolist())
        out.append(
            {
                "type": "scattermap",
                "mode": "lines",
                "lon": lon,
                "lat": lat,
                "fill": "toself",
                "fillcolor": colour,
                "line": {"color": colour, "width": 0.5},
                "opacity": 0.75,
                "hoverinfo": "skip",
                "name": name,
            }
        )
    return out


def _labels(notes: list[dict], back) -> list[dict]:
    if not notes:
        return []
    lon, lat = _to_lonlat(back, [n["x"] for n in notes], [n["y"] for n in notes])
    return [
        {
            "type": "scattermap",
            "mode": "text",
            "lon": lon,
            "lat": lat,
            "text": [n["text"] for n in notes],
            "textfont": {"size": 12, "color": "#111"},
            "hoverinfo": "skip",
            "name": "area names",
        }
    ]
