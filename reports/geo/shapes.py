"""Area shapes (GeoJSON text from ``area_boundaries``) as projected plotly line and fill traces, and which areas
lie under given points."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from reports.stats.hotspot_grid import project


def geometries(shapes: pd.DataFrame) -> np.ndarray:
    """The shapes' geometries (longitude/latitude) from their GeoJSON text."""
    return shapely.from_geojson(shapes["geometry"].to_numpy())


def ring_coordinates(proj4: str, geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every ring (outer and holes) of the polygons, projected, one after another with NaN between rings: the
    form plotly draws as separate lines, or fills as separate shapes with ``fill: toself``."""
    parts = shapely.get_parts(geoms)
    rings = shapely.get_rings(parts[shapely.get_type_id(parts) == 3])  # 3 = Polygon
    coords, index = shapely.get_coordinates(rings, return_index=True)
    if not len(coords):
        return np.array([]), np.array([])
    x, y = project(proj4, coords[:, 0], coords[:, 1])
    breaks = np.flatnonzero(np.diff(index)) + 1  # where a new ring starts
    x = np.insert(np.round(x, 1), breaks, np.nan)
    y = np.insert(np.round(y, 1), breaks, np.nan)
    return x, y


def _listed(values: np.ndarray) -> list:
    return [None if np.isnan(v) else float(v) for v in values]


def outline_trace(proj4: str, geoms: np.ndarray, name: str = "area boundaries", colour: str = "#555") -> dict:
    x, y = ring_coordinates(proj4, geoms)
    return {
        "type": "scatter",
        "mode": "lines",
        "x": _listed(x),
        "y": _listed(y),
        "line": {"color": colour, "width": 0.7},
        "hoverinfo": "skip",
        "name": name,
        "showlegend": True,
    }


def fill_trace(proj4: str, geoms: np.ndarray, colour: str, name: str, legendrank: int | None = None) -> dict:
    """The shapes filled with one colour (one class of a choropleth), thin white borders between them."""
    x, y = ring_coordinates(proj4, geoms)
    trace = {
        "type": "scatter",
        "mode": "lines",
        "x": _listed(x),
        "y": _listed(y),
        "fill": "toself",
        "fillcolor": colour,
        "line": {"color": "#ffffff", "width": 0.5},
        "hoverinfo": "skip",
        "name": name,
    }
    if legendrank is not None:
        trace["legendrank"] = legendrank
    return trace


def areas_under(shapes: pd.DataFrame, lon: np.ndarray, lat: np.ndarray, weight: np.ndarray) -> pd.DataFrame:
    """The areas containing the points, with the summed weight of their points, heaviest first (columns of
    ``shapes`` plus ``weight`` and ``points``). A point on no shape counts nowhere."""
    if shapes.empty or not len(lon):
        return shapes.iloc[0:0].assign(weight=pd.Series(dtype=float), points=pd.Series(dtype=int))
    tree = shapely.STRtree(geometries(shapes))
    point_index, shape_index = tree.query(shapely.points(lon, lat), predicate="within")
    if not len(point_index):
        return shapes.iloc[0:0].assign(weight=pd.Series(dtype=float), points=pd.Series(dtype=int))
    hits = pd.DataFrame({"shape": shape_index, "weight": np.asarray(weight, dtype=float)[point_index]})
    hits = hits.drop_duplicates()  # a point on a shared border lies within neither (``within``), so no double count
    summed = hits.groupby("shape").agg(weight=("weight", "sum"), points=("weight", "size"))
    found = shapes.iloc[summed.index].assign(weight=summed["weight"].to_numpy(), points=summed["points"].to_numpy())
    return found.sort_values(["weight", "points"], ascending=False).reset_index(drop=True)
