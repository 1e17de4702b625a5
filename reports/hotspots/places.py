"""What a hot spot map needs to show places: the projection of its grid, the shapes of the source's areas (when
its configuration names a boundaries file) and the map's extent."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from reports.geo.axes import extent_lonlat
from reports.geo.shapes import areas_under, geometries
from reports.stats.hotspot_grid import Grid, project
from warehouse.boundaries import area_shapes

MAP_SIZE_PX = (900, 500)  # the plot area of a map on the page, for placing labels


@dataclass(frozen=True)
class Places:
    proj4: str
    shapes: pd.DataFrame  # the source's area_boundaries rows; empty when it names no boundaries file
    extent: tuple[float, float, float, float]  # x_min, x_max, y_min, y_max in projected metres

    @property
    def geoms(self) -> np.ndarray:
        return geometries(self.shapes)

    def corners_lonlat(self) -> tuple[np.ndarray, np.ndarray]:
        """Longitudes and latitudes along the map's frame (for its degree axes)."""
        return extent_lonlat(self.proj4, self.extent)

    def named_under(self, lon: np.ndarray, lat: np.ndarray, weight: np.ndarray) -> pd.DataFrame:
        """The areas under these points, heaviest first, with their label position projected (x, y)."""
        found = areas_under(self.shapes, lon, lat, weight)
        x, y = project(self.proj4, found["lon"].to_numpy(), found["lat"].to_numpy())
        return found.assign(x=x, y=y)


def grid_places(con: duckdb.DuckDBPyConnection, source: str, grid: Grid) -> Places:
    extent = (grid.x0, grid.x0 + grid.ncols * grid.cell_size, grid.y0, grid.y0 + grid.nrows * grid.cell_size)
    return _framed(Places(grid.proj4, area_shapes(con, source), extent))


def _framed(places: Places) -> Places:
    """Only the shapes whose label point lies in (or near) the frame: a national boundary file behind a city's
    records would otherwise put every area of the country in the page."""
    if places.shapes.empty:
        return places
    x, y = project(places.proj4, places.shapes["lon"].to_numpy(), places.shapes["lat"].to_numpy())
    x_min, x_max, y_min, y_max = places.extent
    pad = 0.25 * max(x_max - x_min, y_max - y_min)
    inside = (x >= x_min - pad) & (x <= x_max + pad) & (y >= y_min - pad) & (y <= y_max + pad)
    return Places(places.proj4, places.shapes[inside].reset_index(drop=True), places.extent)


def point_places(shapes: pd.DataFrame, proj4: str, x: np.ndarray, y: np.ndarray) -> Places:
    """Places for a map of points (areas drawn at positions) with the source's ``shapes`` (``area_shapes``),
    framed on the points with a margin."""
    pad = max(float(np.ptp(x)), float(np.ptp(y)), 1000.0) * 0.06
    extent = (float(x.min()) - pad, float(x.max()) + pad, float(y.min()) - pad, float(y.max()) + pad)
    return _framed(Places(proj4, shapes, extent))
