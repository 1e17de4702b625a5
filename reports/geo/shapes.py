"""Area shapes (GeoJSON text from ``area_boundaries``) as projected plotly line and fill traces, and which areas
lie under given points."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely


def geometries(shapes: pd.DataFrame) -> np.ndarray:
    """The shapes' geometries (longitude/latitude) from their GeoJSON text."""
    return shapely.from_geojson(shapes["geometry"].to_numpy())


def projected(proj4: str, geoms: np.ndarray) -> np.ndarray:
    """The shapes in the map's projection (metres)."""
    import pyproj

    transformer = pyproj.Transformer.from_crs("EPSG:4326", pyproj.CRS.from_proj4(proj4), always_xy=True)
    return shapely.transform(geoms, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def ring_xy(geoms_xy: np.ndarray, tolerance: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Every ring (outer and holes) of projected polygons, one after another with NaN between rings: the form
    plotly draws as separate lines, or fills as separate shapes with ``fill: toself``. ``tolerance`` (metres)
    drops detail below what the map can show (half a pixel), which bounds a page's size by its pixels rather
    than by the boundary file's detail."""
    if tolerance > 0:
        geoms_xy = shapely.simplify(geoms_xy, tolerance, preserve_topology=True)
    parts = shapely.get_parts(geoms_xy)
    rings = shapely.get_rings(parts[shapely.get_type_id(parts) == 3])  # 3 = Polygon
    coords, index = shapely.get_coordinates(rings, return_index=True)
    if not len(coords):
        return np.array([]), np.array([])
    breaks = np.flatnonzero(np.diff(index)) + 1  # where a new ring starts
    x = np.insert(np.round(coords[:, 0], 1), breaks, np.nan)
    y = np.insert(np.round(coords[:, 1], 1), breaks, np.nan)
    return x, y


def ring_coordinates(proj4: str, geoms: np.ndarray, tolerance: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``ring_xy`` of shapes in longitude/latitude, projected first."""
    return ring_xy(projected(proj4, geoms), tolerance)


def _listed(values: np.ndarray) -> list:
    return [None if np.isnan(v) else float(v) for v in values]


def outline_trace(
    proj4: str, geoms: np.ndarray, name: str = "area boundaries", colour: str = "#555", tolerance: float = 0.0
) -> dict:
    x, y = ring_coordinates(proj4, geoms, tolerance)
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


def fill_trace(
    proj4: str | None, geoms: np.ndarray, colour: str, name: str, legendrank: int | None = None, tolerance: float = 0.0
) -> dict:
    """The shapes filled with one colour (one class of a choropleth), thin white borders between them; ``proj4``
    None: the shapes are projected already."""
    x, y = ring_xy(geoms, tolerance) if proj4 is None else ring_coordinates(proj4, geoms, tolerance)
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
    # a point on a shared border lies within neither shape (``within``), so no point counts twice
    summed = hits.groupby("shape").agg(weight=("weight", "sum"), points=("weight", "size"))
    found = shapes.iloc[summed.index].assign(weight=summed["weight"].to_numpy(), points=summed["points"].to_numpy())
    return found.sort_values(["weight", "points"], ascending=False).reset_index(drop=True)
