"""Map axes in degrees: the maps are drawn in a Lambert azimuthal equal-area projection centred on the data (so
cells and areas keep their true size), and their axes are labelled with the longitude and latitude people know.

The x ticks give longitude along the map's horizontal centre line, the y ticks latitude along its vertical centre
line; away from those lines a meridian or parallel bends slightly, which is why the grid lines are the projected
meridians and parallels themselves, drawn as a trace, not the axes' straight grid lines.
"""

from __future__ import annotations

import math

import numpy as np

from reports.stats.hotspot_grid import project

_STEPS = (1.0, 2.0, 2.5, 5.0)
TARGET_LINES = 6  # about this many meridians and parallels across a map


def nice_step(span: float, target: int = TARGET_LINES) -> float:
    """A round step in degrees (1, 2, 2.5 or 5 times a power of ten) giving about ``target`` lines over ``span``."""
    raw = max(span, 1e-9) / target
    power = 10 ** math.floor(math.log10(raw))
    return next((s * power for s in _STEPS if s * power >= raw), 10 * power)


def degree_text(value: float, positive: str, negative: str, step: float) -> str:
    """'53.80° N' with as many decimals as the step needs."""
    decimals = max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0
    if step < 1 and round(step * 10**decimals, 6) % 1:
        decimals += 1
    hemisphere = positive if value >= 0 else negative
    return f"{abs(value):.{decimals}f}° {hemisphere}"


def degree_axes(proj4: str, lon: np.ndarray, lat: np.ndarray) -> tuple[dict, dict, dict]:
    """The x and y axis settings (ticks in degrees, no straight grid) and a graticule trace for a map whose
    content spans these longitudes and latitudes."""
    lon_min, lon_max = float(np.nanmin(lon)), float(np.nanmax(lon))
    lat_min, lat_max = float(np.nanmin(lat)), float(np.nanmax(lat))
    step = nice_step(max(lon_max - lon_min, lat_max - lat_min))
    lons = np.arange(math.floor(lon_min / step) * step, lon_max + step, step)
    lats = np.arange(math.floor(lat_min / step) * step, lat_max + step, step)
    lon_c, lat_c = (lon_min + lon_max) / 2, (lat_min + lat_max) / 2
    x_ticks, _ = project(proj4, lons, np.full(len(lons), lat_c))
    _, y_ticks = project(proj4, np.full(len(lats), lon_c), lats)
    xaxis = {
        "tickvals": np.round(x_ticks, 1).tolist(),
        "ticktext": [degree_text(v, "E", "W", step) for v in lons],
        "showgrid": False,
        "zeroline": False,
        "constrain": "domain",
    }
    yaxis = {
        "tickvals": np.round(y_ticks, 1).tolist(),
        "ticktext": [degree_text(v, "N", "S", step) for v in lats],
        "showgrid": False,
        "zeroline": False,
        "scaleanchor": "x",
        "scaleratio": 1,
    }
    return xaxis, yaxis, _graticule(proj4, lons, lats)


def _graticule(proj4: str, lons: np.ndarray, lats: np.ndarray) -> dict:
    """Meridians and parallels as one thin line trace (each line sampled, so that it bends as projected)."""
    samples = 24
    xs, ys = [], []
    for lon in lons:
        x, y = project(proj4, np.full(samples, lon), np.linspace(lats[0], lats[-1], samples))
        xs += [*x, None]
        ys += [*y, None]
    for lat in lats:
        x, y = project(proj4, np.linspace(lons[0], lons[-1], samples), np.full(samples, lat))
        xs += [*x, None]
        ys += [*y, None]
    return {
        "type": "scatter",
        "mode": "lines",
        "x": [None if v is None else round(float(v), 1) for v in xs],
        "y": [None if v is None else round(float(v), 1) for v in ys],
        "line": {"color": "rgba(0,0,0,0.12)", "width": 0.6},
        "hoverinfo": "skip",
        "showlegend": False,
        "name": "meridians and parallels",
    }


def extent_lonlat(proj4: str, extent: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes along the frame of a projected extent (x_min, x_max, y_min, y_max): what its
    degree axes must span, the frame's edges bending as they are projected."""
    import pyproj

    x_min, x_max, y_min, y_max = extent
    edge = np.linspace(0.0, 1.0, 9)
    xs = np.concatenate([x_min + edge * (x_max - x_min), np.full(9, x_max), x_min + edge * (x_max - x_min)])
    ys = np.concatenate([np.full(9, y_min), y_min + edge * (y_max - y_min), np.full(9, y_max)])
    transformer = pyproj.Transformer.from_crs(pyproj.CRS.from_proj4(proj4), "EPSG:4326", always_xy=True)
    lon, lat = transformer.transform(xs, ys)
    return np.asarray(lon), np.asarray(lat)
