"""The figures of areas.html: choropleths on the areas' shapes (plain plotly fills on an equal-area projection,
nothing fetched online) and, where a source names no boundaries, ranked dot plots with 95% intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from reports import page
from reports.areas.classes import Classes
from reports.geo import basemap
from reports.geo.axes import degree_axes, extent_lonlat
from reports.geo.labels import free_labels, label_annotations
from reports.geo.shapes import fill_trace, ring_xy

MAP_HEIGHT = 640
MAP_SIZE_PX = (800, 540)  # the plot area, for labels and for the detail worth drawing
LABELS_SHOWN = 15
NO_FIGURE = "#d9d9d9"
DOTS_TOP, DOTS_BOTTOM = 30, 10  # a dot plot of more areas shows the highest and the lowest, the table all


def choropleth(
    geoms_xy: np.ndarray,
    proj4: str,
    areas: pd.DataFrame,
    classes: Classes,
    hover: list[str],
    title: str,
    flagged: np.ndarray,
    flag_name: str,
    priority: np.ndarray,
    others: np.ndarray,
) -> dict:
    """Each area's shape filled with its class; ``areas`` (aligned with the shapes) has ``label``, ``x``, ``y``
    and the ``hover`` columns (already formatted text); ``flagged`` areas get a dashed outline; the names of
    the areas of highest ``priority`` are written where they do not collide; ``others`` are the shapes no area
    of the table names, drawn grey."""
    x_min, y_min, x_max, y_max = shapely.total_bounds(np.concatenate([geoms_xy, others]))
    pad = 0.03 * max(x_max - x_min, y_max - y_min, 1.0)
    extent = (x_min - pad, x_max + pad, y_min - pad, y_max + pad)
    per_px = max((extent[1] - extent[0]) / MAP_SIZE_PX[0], (extent[3] - extent[2]) / MAP_SIZE_PX[1])
    tolerance = per_px / 2
    data = []
    for i, (name, colour) in enumerate(zip(classes.labels, classes.colours, strict=True)):
        members = classes.index == i
        if members.any():
            data.append(fill_trace(None, geoms_xy[members], colour, name, legendrank=100 + i, tolerance=tolerance))
    missing = classes.index < 0
    if missing.any():
        data.append(fill_trace(None, geoms_xy[missing], NO_FIGURE, "no figure", legendrank=99, tolerance=tolerance))
    if len(others):
        data.append(
            fill_trace(None, others, "#f2f2f2", "not in the table (no records)", legendrank=98, tolerance=tolerance)
        )
    if flagged.any():
        x, y = ring_xy(geoms_xy[flagged], tolerance)
        data.append(
            {
                "type": "scatter",
                "mode": "lines",
                "x": [None if np.isnan(v) else float(v) for v in x],
                "y": [None if np.isnan(v) else float(v) for v in y],
                "line": {"color": "#111", "width": 1.2, "dash": "dot"},
                "hoverinfo": "skip",
                "name": flag_name,
                "legendrank": 200,
            }
        )
    lines = "<br>".join(f"{c}: %{{customdata[{i + 1}]}}" for i, c in enumerate(hover))
    data.append(
        {
            "type": "scatter",
            "mode": "markers",
            "x": areas["x"].round(1).tolist(),
            "y": areas["y"].round(1).tolist(),
            "marker": {"size": 8, "color": "#000", "opacity": 0.01},
            "customdata": areas[["label", *hover]].astype(str).to_numpy().tolist(),
            "hovertemplate": "<b>%{customdata[0]}</b><br>" + lines + "<extra></extra>",
            "showlegend": False,
            "name": "areas",
        }
    )
    ranked = areas.assign(_p=priority).sort_values("_p", ascending=False, kind="stable")
    shown = free_labels(
        ranked["x"].to_numpy(float),
        ranked["y"].to_numpy(float),
        ranked["label"].tolist(),
        extent,
        MAP_SIZE_PX,
        limit=LABELS_SHOWN,
    )
    part = ranked.iloc[shown]
    labels = label_annotations(part["x"].to_numpy(), part["y"].to_numpy(), part["label"].tolist())
    lon, lat = extent_lonlat(proj4, extent)
    xaxis, yaxis, graticule = degree_axes(proj4, lon, lat)
    return basemap.maybe(
        {
            "data": [graticule, *data],
            "layout": {
                "template": page.template(),
                "title": {"text": page.plot_text(title)},
                "height": MAP_HEIGHT,
                "margin": {"l": 80, "r": 20, "t": 60, "b": 40},
                "xaxis": {**xaxis, "range": [extent[0], extent[1]]},
                "yaxis": {**yaxis, "range": [extent[2], extent[3]]},
                "legend": {"title": {"text": page.plot_text(classes_title(classes))}, "traceorder": "normal"},
                "plot_bgcolor": "#ffffff",
                "annotations": labels,
            },
        },
        proj4,
    )


def classes_title(classes: Classes) -> str:
    return "classes" if not classes.labels else "classes (lowest first)"


def dot_plot(areas: pd.DataFrame, value: str, value_title: str, title: str, flag_name: str) -> dict:
    """Areas ranked by ``value`` (highest at the top), with the 95% interval where ``rate_low``/``rate_high``
    are given; hollow dots where ``small``. More than DOTS_TOP + DOTS_BOTTOM areas: the highest and the lowest
    (the table lists every area)."""
    ranked = areas.dropna(subset=[value]).sort_values(value, ascending=False).reset_index(drop=True)
    cut = len(ranked) > DOTS_TOP + DOTS_BOTTOM
    if cut:
        ranked = pd.concat([ranked.head(DOTS_TOP), ranked.tail(DOTS_BOTTOM)], ignore_index=True)
    names = ranked["label"].tolist()
    if cut:
        names = names[:DOTS_TOP] + [f"{n} " for n in names[DOTS_TOP:]]  # keep the two groups distinct
    traces = []
    for small, name in ((False, "areas"), (True, flag_name)):
        part = ranked[ranked["small"] == small]
        if part.empty:
            continue
        trace = {
            "type": "scatter",
            "mode": "markers",
            "x": part[value].round(3).tolist(),
            "y": [names[i] for i in part.index],
            "marker": {
                "size": 9,
                "color": "#ffffff" if small else "#08519c",
                "line": {"color": "#08519c", "width": 1.5},
            },
            "customdata": part[["hover"]].to_numpy().tolist(),
            "hovertemplate": "<b>%{y}</b><br>%{customdata[0]}<extra></extra>",
            "name": name,
        }
        if "rate_low" in part and part["rate_low"].notna().any():
            trace["error_x"] = {
                "type": "data",
                "symmetric": False,
                "array": (part["rate_high"] - part[value]).round(3).tolist(),
                "arrayminus": (part[value] - part["rate_low"]).round(3).tolist(),
                "color": "#9ecae1",
                "thickness": 1.2,
                "width": 0,
            }
        traces.append(trace)
    shapes = []
    if cut:
        shapes.append(
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "yref": "y",
                "y0": DOTS_TOP - 0.5,
                "y1": DOTS_TOP - 0.5,
                "line": {"color": "#999", "dash": "dash", "width": 1},
            }
        )
    height = 140 + 20 * len(ranked)
    return {
        "data": traces,
        "layout": {
            "template": page.template(),
            "title": {"text": page.plot_text(title)},
            "height": height,
            "margin": {"l": 200, "r": 20, "t": 60, "b": 50},
            "xaxis": {"title": {"text": page.plot_text(value_title)}, "rangemode": "tozero"},
            "yaxis": {"categoryorder": "array", "categoryarray": names[::-1], "automargin": True},
            "shapes": shapes,
            "legend": {"orientation": "h", "y": -40 / height},
        },
    }
