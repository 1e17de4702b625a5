"""The maps of hotspots.html: plain plotly heatmaps and scatters on the grid's equal-area projection, with
longitude/latitude axes, the source's area boundaries and the names of the areas under the hot spots (no tile
server, nothing fetched online)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from reports import page
from reports.geo import basemap
from reports.geo.axes import degree_axes
from reports.geo.labels import free_labels, label_annotations
from reports.geo.shapes import fill_trace, outline_trace
from reports.hotspots.analysis import MixResult
from reports.hotspots.places import MAP_SIZE_PX, Places
from reports.hotspots.text import MIX_NAME
from reports.stats.hotspot_emerging import NO_PATTERN, NO_RECORDS, EmergingResult
from reports.stats.hotspot_grid import Grid

MAP_HEIGHT = 620
GROUP_LABELS_SHOWN = 15
AREA_LABELS_SHOWN = 20
MARKER_LABEL_OFFSET_PX = 12
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


def _frame(data: list[dict], places: Places, title: str, labels: list[dict]) -> dict:
    """The map: the graticule and the area boundaries under the data, the labels (annotations) over it."""
    xaxis, yaxis, graticule = degree_axes(places.proj4, *places.corners_lonlat())
    under = [graticule]
    if not places.shapes.empty:
        under.append(outline_trace(places.proj4, places.geoms))
    x_min, x_max, y_min, y_max = places.extent
    layout = {
        "template": page.template(),
        "title": {"text": page.plot_text(title)},
        "height": MAP_HEIGHT,
        "margin": {"l": 80, "r": 20, "t": 60, "b": 50},
        "xaxis": {**xaxis, "range": [x_min, x_max]},
        "yaxis": {**yaxis, "range": [y_min, y_max]},
        "legend": {"orientation": "h", "y": -0.12},
        "annotations": labels,
    }
    return basemap.maybe({"data": under + data, "layout": layout}, places.proj4)


def _area_names(places: Places, lon: np.ndarray, lat: np.ndarray, weight: np.ndarray) -> pd.DataFrame:
    """The names of the areas under the given points, the heaviest first, that fit without colliding (x, y,
    text): the places a reader looks for, so they are placed before the markers' ids."""
    if places.shapes.empty or not len(lon):
        return NO_LABELS
    named = places.named_under(lon, lat, weight)
    if named.empty:
        return NO_LABELS
    x, y = named["x"].to_numpy(float), named["y"].to_numpy(float)
    shown = free_labels(x, y, named["label"].tolist(), places.extent, MAP_SIZE_PX, limit=AREA_LABELS_SHOWN)
    return pd.DataFrame({"x": x[shown], "y": y[shown], "text": named["label"].to_numpy()[shown]})


def _marker_text(places: Places, groups: pd.DataFrame, id_column: str, names: pd.DataFrame) -> pd.DataFrame:
    """The marker labels that fit beside the area ``names`` (x, y, text; others blank): the group's id, and where
    no boundaries name the places, the area its records name most ("HS1 Leeds")."""
    head = groups.head(GROUP_LABELS_SHOWN)
    if places.shapes.empty and "Near" in head:
        text = (head[id_column] + " " + head["Near"].where(~head["Near"].str.startswith("("), "")).str.strip()
    else:
        text = head[id_column].astype(str)
    x, y = head["x"].to_numpy(float), head["y"].to_numpy(float)
    shown = free_labels(
        np.concatenate([names["x"].to_numpy(float), x]),
        np.concatenate([names["y"].to_numpy(float), y]),
        [*names["text"].tolist(), *text.tolist()],
        places.extent,
        MAP_SIZE_PX,
        limit=len(names) + len(head),
        offset_px=np.r_[np.zeros(len(names)), np.full(len(head), MARKER_LABEL_OFFSET_PX)],
    )
    shown = shown[shown >= len(names)] - len(names)
    out = pd.DataFrame({"x": x, "y": y, "text": ""})
    out.loc[shown, "text"] = text.iloc[shown].to_numpy()
    return out


def _annotations(names: pd.DataFrame) -> list[dict]:
    return label_annotations(names["x"].to_numpy(), names["y"].to_numpy(), names["text"].tolist())


def _heatmap(grid: Grid, z: np.ndarray, colours: list[str], ticktext: list[str], counts: np.ndarray, hover: str):
    """A grid heatmap of category codes 0..len(colours)-1 (NaN = transparent); only counts in the hover, as
    80,000 per-cell strings would double the page."""
    x = grid.x0 + (np.arange(grid.ncols) + 0.5) * grid.cell_size
    y = grid.y0 + (np.arange(grid.nrows) + 0.5) * grid.cell_size
    return {
        "type": "heatmap",
        "x": np.round(x, 1),
        "y": np.round(y, 1),
        "z": z.reshape(grid.nrows, grid.ncols),
        "zmin": -0.5,
        "zmax": len(colours) - 0.5,
        "colorscale": _discrete_scale(colours),
        "colorbar": {"tickvals": list(range(len(colours))), "ticktext": ticktext, "len": 0.8},
        "customdata": counts.astype(np.int64).reshape(grid.nrows, grid.ncols),
        "hoverongaps": False,
        "hovertemplate": "%{customdata:,} " + hover + "<extra></extra>",
        "name": "cells",
    }


def _markers(
    places: Places, groups: pd.DataFrame, id_column: str, hover: list[str], name: str, names: pd.DataFrame
) -> dict:
    """Labelled circles at the count-weighted centres of places (hot spot groups, changes, mix groups), their
    ids written where the area ``names`` leave room; the hover shows `hover` columns (the first is the id)."""
    lines = "<br>".join(f"{column}: %{{customdata[{i}]}}" for i, column in enumerate(hover) if i > 0)
    labels = _marker_text(places, groups, id_column, names)
    text = labels["text"].tolist() + [""] * (len(groups) - len(labels))
    trace = {
        "type": "scatter",
        "mode": "markers+text",
        "x": groups["x"].round(1).tolist(),
        "y": groups["y"].round(1).tolist(),
        "text": text,
        "textposition": "top center",
        "textfont": {"size": 11, "color": "#111", "shadow": "1px 1px 2px #fff, -1px -1px 2px #fff"},
        "marker": {"size": 9, "color": "rgba(0,0,0,0)", "line": {"color": "#111", "width": 1.5}},
        "customdata": groups[hover].astype(str).to_numpy().tolist(),
        "hovertemplate": "<b>%{customdata[0]}</b><br>" + lines + "<extra></extra>",
        "name": name,
        "showlegend": True,
    }
    return trace


def _present(codes: np.ndarray, style: tuple) -> tuple[np.ndarray, list[str], list[str]]:
    """Codes renumbered 0..k-1 over the classes present (NaN stays NaN), with their colours and names: a legend
    lists only what the map shows."""
    ok = ~np.isnan(codes)
    found = set(np.unique(codes[ok]).astype(int).tolist())
    kept = [(code, text, colour) for code, text, colour in style if code in found]
    known = np.array([code for code, _, _ in kept], dtype=float)  # in style order, which is ascending
    renumbered = np.full(len(codes), np.nan)
    renumbered[ok] = np.searchsorted(known, codes[ok])
    return renumbered, [c for _, _, c in kept], [t for _, t, _ in kept]


def _cell_lonlat(grid: Grid, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y = grid.centres()
    return grid.to_lonlat(x[mask], y[mask])


NO_LABELS = pd.DataFrame({"x": [], "y": [], "text": []})


def gi_map(grid: Grid, cells: pd.DataFrame, groups: pd.DataFrame, title: str, places: Places) -> dict:
    codes = cells["gi_bin"].to_numpy()
    counts = cells["count"].to_numpy()
    shown = (counts > 0) | (codes != 0)  # empty, unremarkable cells stay transparent
    z, colours, names = _present(np.where(shown, codes, np.nan).astype(float), BIN_STYLE)
    data = [_heatmap(grid, z, colours, names, counts, "records")]
    hot = codes > 0
    names = _area_names(places, *_cell_lonlat(grid, hot), counts[hot] * codes[hot])
    if not groups.empty:
        hover = ["Hot spot", "Near", "Cells", "Records", "Top ICCS categories (level 2)"]
        data.append(_markers(places, groups, "Hot spot", hover, "hot spot groups", names))
    return _frame(data, places, title, _annotations(names))


def pattern_map(
    grid: Grid, counts: np.ndarray, emerging: EmergingResult, changes: pd.DataFrame, title: str, places: Places
) -> dict:
    category = emerging.frame["category"].to_numpy().astype(str)
    shown = category != NO_RECORDS  # never a record there: left transparent
    found = set(np.unique(category[shown]).tolist())
    present = [c for c in PATTERN_COLOUR if c in found]
    code = pd.Categorical(category, categories=present).codes.astype(float)
    z = np.where(shown, code, np.nan)
    data = [_heatmap(grid, z, [PATTERN_COLOUR[c] for c in present], present, counts, "records in all years")]
    hot = np.char.find(category.astype(str), "hot spot") >= 0
    names = _area_names(places, *_cell_lonlat(grid, hot), counts[hot])
    if not changes.empty:
        hover = ["Place", "Change", "Near", "Cells", "Hot in (half its cells or more)"]
        head = changes.head(GROUP_LABELS_SHOWN)  # the largest; the table lists them all
        data.append(_markers(places, head, "Place", hover, f"largest places that changed ({len(head)})", names))
    return _frame(data, places, title, _annotations(names))


def mix_map(grid: Grid, counts: np.ndarray, mix: MixResult, title: str, places: Places) -> dict:
    confidence = mix.cells["confidence"].to_numpy()
    level = np.select([confidence == 99, confidence == 95, confidence == 90], [3, 2, 1], 0)
    shown = (counts > 0) | (level > 0)
    style = tuple((i, text, colour) for i, (text, colour) in enumerate(MIX_STYLE))
    z, colours, names = _present(np.where(shown, level, np.nan).astype(float), style)
    window = mix.cells["k_window"].to_numpy()
    hover = f"{MIX_NAME} records in the cell and its neighbours"
    data = [_heatmap(grid, z, colours, names, window, hover)]
    higher = level > 0
    names = _area_names(places, *_cell_lonlat(grid, higher), window[higher].astype(float))
    if not mix.groups.empty:
        hover_columns = ["Place", "Near", "Cells", f"{MIX_NAME} share", f"{MIX_NAME} offences"]
        data.append(_markers(places, mix.groups, "Place", hover_columns, f"{MIX_NAME} places", names))
    return _frame(data, places, title, _annotations(names))


def area_map(areas: pd.DataFrame, title: str, places: Places) -> dict:
    """Gi* by area: each area's shape filled with its class where the source's boundaries give one (its position
    is then a point of that shape, which is how they are matched), else a circle sized by its records."""
    size = 8 + 30 * np.sqrt(areas["count"] / max(float(areas["count"].max()), 1.0))
    data = []
    shape_of = _shape_index(areas, places)
    for code, text, colour in BIN_STYLE:
        part = areas[areas["gi_bin"] == code]
        if part.empty:
            continue
        drawn = shape_of[part.index] >= 0
        if drawn.any():
            geoms = places.geoms[shape_of[part.index][drawn]]
            data.append(fill_trace(places.proj4, geoms, colour, text))
            data.append(_hover_points(part[drawn], colour, text))
        part = part[~drawn]
        if part.empty:
            continue
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": part["x"].round(1).tolist(),
                "y": part["y"].round(1).tolist(),
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
    ranked = areas.assign(strength=areas["gi_bin"].abs() * 1e12 + areas["count"]).sort_values(
        "strength", ascending=False
    )
    x, y = ranked["x"].to_numpy(float), ranked["y"].to_numpy(float)
    shown = free_labels(x, y, ranked["label"].tolist(), places.extent, MAP_SIZE_PX, limit=AREA_LABELS_SHOWN)
    labels = []
    if len(shown):
        part = ranked.iloc[shown]
        labels = label_annotations(part["x"].to_numpy(), part["y"].to_numpy(), part["label"].tolist())
    return _frame(data, places, title, labels)


def _shape_index(areas: pd.DataFrame, places: Places) -> np.ndarray:
    """For each area, the row of its shape in ``places.shapes`` (-1: none): an area placed from its shape has
    exactly that shape's point as its position."""
    if places.shapes.empty:
        return np.full(len(areas), -1)
    key = pd.MultiIndex.from_arrays([places.shapes["lon"].round(9), places.shapes["lat"].round(9)])
    found = pd.Series(np.arange(len(places.shapes)), index=key)
    found = found[~found.index.duplicated()]
    wanted = pd.MultiIndex.from_arrays([areas["lon"].round(9), areas["lat"].round(9)])
    return found.reindex(wanted).fillna(-1).to_numpy(dtype=np.int64)


def _hover_points(part: pd.DataFrame, colour: str, name: str) -> dict:
    """Invisible points inside filled shapes, so that hovering an area names it and its records."""
    return {
        "type": "scatter",
        "mode": "markers",
        "x": part["x"].round(1).tolist(),
        "y": part["y"].round(1).tolist(),
        "marker": {"size": 6, "color": colour, "opacity": 0.01},
        "text": part["label"].tolist(),
        "customdata": part[["count"]].to_numpy().tolist(),
        "hovertemplate": "<b>%{text}</b><br>%{customdata[0]:,} records<extra></extra>",
        "name": name,
        "showlegend": False,
    }
