"""The maps of hotspots.html: plain plotly heatmaps and scatters on projected kilometres (no tile server,
nothing fetched online)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from reports import page
from reports.hotspots.analysis import MixResult
from reports.hotspots.text import MIX_NAME
from reports.stats.hotspot_emerging import NO_PATTERN, NO_RECORDS, EmergingResult
from reports.stats.hotspot_grid import Grid

MAP_HEIGHT = 620
GROUP_LABELS_SHOWN = 15
MIX_STYLE: tuple[tuple[str, str], ...] = (
    ("records, share not significantly higher", "#e8e8e8"),
    ("higher share, 90% confidence", "#dadaeb"),
    ("higher share, 95% confidence", "#9e9ac8"),
    ("higher share, 99% confidence", "#54278f"),
)
# (Gi* bin, label, colour): ESRI's Gi_Bin -3..3
BIN_STYLE: tuple[tuple[int, str, str], ...] = (
    (-3, "cold spot, 99% confidence", "#4393c3"),
    (-2, "cold spot, 95% confidence", "#92c5de"),
    (-1, "cold spot, 90% confidence", "#d1e5f0"),
    (0, "not significant", "#e8e8e8"),
    (1, "hot spot, 90% confidence", "#fdd0a2"),
    (2, "hot spot, 95% confidence", "#f16913"),
    (3, "hot spot, 99% confidence", "#a50f15"),
)
BIN_LABEL = {code: text for code, text, _ in BIN_STYLE}
PATTERN_COLOUR: dict[str, str] = {
    NO_PATTERN: "#e8e8e8",
    NO_RECORDS: "#ffffff",
    "new hot spot": "#fee08b",
    "consecutive hot spot": "#fdae61",
    "intensifying hot spot": "#67000d",
    "persistent hot spot": "#d73027",
    "diminishing hot spot": "#f768a1",
    "sporadic hot spot": "#fcbba1",
    "oscillating hot spot": "#ae017e",
    "historical hot spot": "#8c6d31",
    "new cold spot": "#c7e9c0",
    "consecutive cold spot": "#74c476",
    "intensifying cold spot": "#08306b",
    "persistent cold spot": "#2171b5",
    "diminishing cold spot": "#9ecae1",
    "sporadic cold spot": "#c6dbef",
    "oscillating cold spot": "#41ae76",
    "historical cold spot": "#636363",
}


def _discrete_scale(colours: list[str]) -> list[list]:
    """A stepped colorscale: value i of 0..len-1 (z range -0.5..len-0.5) gets colours[i]."""
    scale = []
    for i, colour in enumerate(colours):
        scale += [[i / len(colours), colour], [(i + 1) / len(colours), colour]]
    return scale


def _layout(title: str, centre: str) -> dict:
    return {
        "template": page.template(),
        "title": {"text": page.plot_text(title)},
        "height": MAP_HEIGHT,
        "margin": {"l": 60, "r": 20, "t": 60, "b": 50},
        "xaxis": {"title": {"text": page.plot_text(f"km east of {centre}")}, "constrain": "domain"},
        "yaxis": {"title": {"text": "km north"}, "scaleanchor": "x", "scaleratio": 1},
        "legend": {"orientation": "h", "y": -0.12},
    }


def _heatmap(grid: Grid, z: np.ndarray, colours: list[str], ticktext: list[str], counts: np.ndarray, hover: str):
    """A grid heatmap of category codes 0..len(colours)-1 (NaN = transparent); only counts in the hover, as
    80,000 per-cell strings would double the page."""
    x = (grid.x0 + (np.arange(grid.ncols) + 0.5) * grid.cell_size) / 1000
    y = (grid.y0 + (np.arange(grid.nrows) + 0.5) * grid.cell_size) / 1000
    return {
        "type": "heatmap",
        "x": np.round(x, 3),
        "y": np.round(y, 3),
        "z": z.reshape(grid.nrows, grid.ncols),
        "zmin": -0.5,
        "zmax": len(colours) - 0.5,
        "colorscale": _discrete_scale(colours),
        "colorbar": {"tickvals": list(range(len(colours))), "ticktext": ticktext, "len": 0.8},
        "customdata": counts.astype(np.int64).reshape(grid.nrows, grid.ncols),
        "hoverongaps": False,
        "hovertemplate": "%{x:.1f} km E, %{y:.1f} km N<br>%{customdata:,} " + hover + "<extra></extra>",
        "name": "cells",
    }


def _markers(places: pd.DataFrame, id_column: str, hover: list[str], name: str) -> dict:
    """Labelled circles at the count-weighted centres of places (hot spot groups, changes, mix groups); the
    hover shows `hover` columns (the first is the id) as text."""
    lines = "<br>".join(f"{column}: %{{customdata[{i}]}}" for i, column in enumerate(hover) if i > 0)
    return {
        "type": "scatter",
        "mode": "markers+text",
        "x": (places["x"] / 1000).round(3).tolist(),
        "y": (places["y"] / 1000).round(3).tolist(),
        "text": [g if i < GROUP_LABELS_SHOWN else "" for i, g in enumerate(places[id_column])],
        "textposition": "top right",
        "marker": {"size": 9, "color": "rgba(0,0,0,0)", "line": {"color": "#111", "width": 1.5}},
        "customdata": places[hover].astype(str).to_numpy().tolist(),
        "hovertemplate": "<b>%{customdata[0]}</b><br>" + lines + "<extra></extra>",
        "name": name,
        "showlegend": True,
    }


def gi_map(grid: Grid, cells: pd.DataFrame, groups: pd.DataFrame, title: str, centre: str) -> dict:
    codes = cells["gi_bin"].to_numpy()
    counts = cells["count"].to_numpy()
    shown = (counts > 0) | (codes != 0)  # empty, unremarkable cells stay transparent
    z = np.where(shown, codes + 3, np.nan)
    data = [_heatmap(grid, z, [c for _, _, c in BIN_STYLE], [t for _, t, _ in BIN_STYLE], counts, "records")]
    if not groups.empty:
        hover = ["Hot spot", "Near", "Cells", "Records", "Top ICCS categories (level 2)"]
        data.append(_markers(groups, "Hot spot", hover, "hot spot groups"))
    return {"data": data, "layout": _layout(title, centre)}


def pattern_map(
    grid: Grid, counts: np.ndarray, emerging: EmergingResult, changes: pd.DataFrame, title: str, centre: str
) -> dict:
    category = emerging.frame["category"].to_numpy().astype(str)
    shown = category != NO_RECORDS  # never a record there: left transparent
    found = set(np.unique(category[shown]).tolist())
    present = [c for c in PATTERN_COLOUR if c in found]
    code = pd.Categorical(category, categories=present).codes.astype(float)
    z = np.where(shown, code, np.nan)
    data = [_heatmap(grid, z, [PATTERN_COLOUR[c] for c in present], present, counts, "records in all years")]
    if not changes.empty:
        hover = ["Place", "Change", "Near", "Cells", "Hot in (half its cells or more)"]
        shown = changes.head(GROUP_LABELS_SHOWN)  # the largest; the table lists them all
        data.append(_markers(shown, "Place", hover, f"largest places that changed ({len(shown)})"))
    return {"data": data, "layout": _layout(title, centre)}


def mix_map(grid: Grid, counts: np.ndarray, mix: MixResult, title: str, centre: str) -> dict:
    confidence = mix.cells["confidence"].to_numpy()
    level = np.select([confidence == 99, confidence == 95, confidence == 90], [3, 2, 1], 0)
    z = np.where((counts > 0) | (level > 0), level, np.nan)
    window = mix.cells["k_window"].to_numpy()
    hover = f"{MIX_NAME} records in the cell and its neighbours"
    data = [_heatmap(grid, z, [c for _, c in MIX_STYLE], [t for t, _ in MIX_STYLE], window, hover)]
    if not mix.groups.empty:
        hover_columns = ["Place", "Near", "Cells", f"{MIX_NAME} share", f"{MIX_NAME} offences"]
        data.append(_markers(mix.groups, "Place", hover_columns, f"{MIX_NAME} places"))
    return {"data": data, "layout": _layout(title, centre)}


def area_map(areas: pd.DataFrame, title: str, centre: str) -> dict:
    size = 8 + 30 * np.sqrt(areas["count"] / max(float(areas["count"].max()), 1.0))
    data = []
    for code, text, colour in BIN_STYLE:
        part = areas[areas["gi_bin"] == code]
        if part.empty:
            continue
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": (part["x"] / 1000).round(3).tolist(),
                "y": (part["y"] / 1000).round(3).tolist(),
                "marker": {
                    "size": size[part.index].round(1).tolist(),
                    "color": colour,
                    "line": {"color": "#555", "width": 0.5},
                },
                "text": part["label"].tolist(),
                "customdata": part[["count"]].to_numpy().tolist(),
                "hovertemplate": "<b>%{text}</b><br>%{customdata[0]:,} records<extra></extra>",
                "name": text,
            }
        )
    return {"data": data, "layout": _layout(title, centre)}
