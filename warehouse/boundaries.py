"""The shapes of a source's areas (``boundaries:`` in its configuration), kept in ``area_boundaries`` so that the
reports draw places without reading files.

Each shape is stored as GeoJSON in longitude/latitude (EPSG:4326), simplified to what a map can show: at most a
three-thousandth of the whole map's extent and a twentieth of the area's own size, so that thousands of small
urban areas keep their form while a page stays a few megabytes. Features repeating an area (a multi-part area
written as several features) are merged into one shape. ``lon``/``lat`` is a point inside the shape (where its
label goes), not its centroid, which can fall outside a crescent-shaped area.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from schemas.boundaries_config import Boundaries, BoundariesError
from schemas.source_config import SourceConfig
from warehouse.replace import replace_rows
from warehouse.transaction import transaction

TABLE = "area_boundaries"
EXTENT_FRACTION = 1 / 3000  # simplification tolerance, as a fraction of the map's extent ...
SIZE_FRACTION = 1 / 20  # ... and at most this fraction of the area's own size (the square root of its area)
PRECISION = 1e-6  # degrees (about 0.1 m): coordinates are rounded to this


@dataclass(frozen=True)
class LoadedBoundaries:
    source: str
    file: str
    shapes: int  # areas with a shape, after merging repeated ones
    features: int  # features read
    without_area: int  # features whose area property is empty: left out


def load_boundaries(con: duckdb.DuckDBPyConnection, sources: dict[str, SourceConfig]) -> list[LoadedBoundaries]:
    """Make ``area_boundaries`` hold the shapes of every source that names a boundary file, and only those;
    raises BoundariesError (one line naming the file and what is wrong) when a file cannot be used."""
    loaded = []
    for name, source in sorted(sources.items()):
        if source.boundaries is None:
            continue
        frame, result = read_boundaries(name, source)
        con.register("_boundaries_frame", frame)
        try:
            replace_rows(con, TABLE, "source = $source", "SELECT * FROM _boundaries_frame", {"source": name})
        finally:
            con.unregister("_boundaries_frame")
        loaded.append(result)
    keep = [r.source for r in loaded]
    with transaction(con):
        con.execute(f"DELETE FROM {TABLE} WHERE NOT list_contains($keep, source)", {"keep": keep})
    return loaded


def read_boundaries(name: str, source: SourceConfig) -> tuple[pd.DataFrame, LoadedBoundaries]:
    """The source's shapes as rows of ``area_boundaries`` (a small frame: one row per area)."""
    import geopandas as gpd
    import shapely

    spec: Boundaries = source.boundaries  # type: ignore[assignment]
    where = f"source '{name}': boundaries file {spec.file}"
    try:
        frame = gpd.read_file(spec.file, layer=spec.layer) if spec.layer else gpd.read_file(spec.file)
    except Exception as exc:  # pyogrio/GDAL raise many types; the user needs the one line, not a traceback
        raise BoundariesError(f"{where}: cannot be read ({str(exc).splitlines()[0]})") from None
    wanted = [p for p in (spec.area, spec.label, spec.country) if p]
    missing = [p for p in wanted if p not in frame.columns]
    if missing:
        present = ", ".join(str(c) for c in frame.columns if c != "geometry")
        raise BoundariesError(f"{where}: no feature property {missing[0]!r}; the features have: {present}")
    if not source.country and not spec.country:
        raise BoundariesError(
            f"{where}: the source has several countries, so boundaries.country must name the property holding "
            "each shape's ISO3 code"
        )
    frame = _in_degrees(frame, where)
    features = len(frame)
    area = frame[spec.area].astype("string").str.strip()
    keep = area.notna() & (area != "") & frame.geometry.notna() & ~frame.geometry.is_empty
    frame = frame.assign(
        area=area,
        label=frame[spec.label].astype("string").str.strip() if spec.label else area,
        country=frame[spec.country].astype("string").str.strip().str.upper() if spec.country else source.country,
    )[keep]
    frame = frame[["country", "area", "label", "geometry"]].dissolve(by=["country", "area"], aggfunc="first")
    frame = frame.reset_index()
    geometry = frame.geometry.to_numpy()
    invalid = ~shapely.is_valid(geometry)  # repaired only where needed: make_valid is slow on detailed shapes
    geometry[invalid] = shapely.make_valid(geometry[invalid])
    geometry = shapely.simplify(geometry, _tolerance(geometry), preserve_topology=True)
    geometry = shapely.set_precision(geometry, PRECISION)
    points = shapely.point_on_surface(geometry)
    rows = pd.DataFrame(
        {
            "source": name,
            "country": frame["country"].astype(str),
            "area": frame["area"].astype(str),
            "label": frame["label"].fillna(frame["area"]).astype(str),
            "geometry": shapely.to_geojson(geometry),
            "lon": shapely.get_x(points),
            "lat": shapely.get_y(points),
            "file": str(spec.file),
        }
    )
    result = LoadedBoundaries(name, str(spec.file), len(rows), features, int((~keep).sum()))
    return rows, result


def _in_degrees(frame, where: str):
    """The frame in longitude/latitude. A file without a CRS is taken as longitude/latitude (GeoJSON's rule, which
    GDAL applies to every GeoJSON); coordinates that cannot be degrees are refused rather than placed at sea."""
    frame = frame.set_crs(4326) if frame.crs is None else frame.to_crs(4326)
    minx, miny, maxx, maxy = frame.total_bounds
    if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise BoundariesError(
            f"{where}: its coordinates are not longitude/latitude and it names no other coordinate reference "
            "system (a shapefile needs its .prj beside it in the zip; a GeoJSON must be in longitude/latitude)"
        )
    return frame


def _tolerance(geometry: np.ndarray) -> np.ndarray:
    import shapely

    bounds = shapely.total_bounds(geometry)
    extent = max(bounds[2] - bounds[0], bounds[3] - bounds[1])
    return np.minimum(extent * EXTENT_FRACTION, np.sqrt(shapely.area(geometry)) * SIZE_FRACTION)


def area_shapes(con: duckdb.DuckDBPyConnection, source: str) -> pd.DataFrame:
    """The shapes of a source's areas: country, area, label, geometry (GeoJSON text), lon, lat; empty when the
    source names no boundary file."""
    return con.execute(
        f"SELECT country, area, label, geometry, lon, lat FROM {TABLE} WHERE source = ? ORDER BY country, area",
        [source],
    ).df()
