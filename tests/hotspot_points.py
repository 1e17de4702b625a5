"""Synthetic points with known truth for the hot spot statistics tests: a 30 x 30 km city of uniform noise with
planted clusters, and the grid analysis of points as `reports.hotspots.analysis.analyse_grid` runs it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyproj

from reports.stats.hotspot_grid import Grid, grid_frame, local_proj4, make_grid, project

LON0, LAT0 = 2.17, 41.39  # synthetic city; the analysis must not care where it is
HALF = 15_000.0  # 30 x 30 km
CLUSTERS = ((-8_000.0, -6_000.0), (5_000.0, 7_000.0), (9_000.0, -9_000.0))
RADIUS = 1_500.0
FDR = 0.10


def to_lonlat(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    crs = pyproj.CRS.from_proj4(f"+proj=aeqd +lat_0={LAT0} +lon_0={LON0} +ellps=WGS84 +units=m")
    lon, lat = pyproj.Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    return np.asarray(lon), np.asarray(lat)


def disc_points(rng: np.random.Generator, centre: tuple[float, float], n: int, radius: float = RADIUS):
    r = radius * np.sqrt(rng.uniform(0, 1, n))
    a = rng.uniform(0, 2 * np.pi, n)
    return centre[0] + r * np.cos(a), centre[1] + r * np.sin(a)


def city_points(seed: int, noise: int = 9_000, extra: int = 400, clusters=CLUSTERS) -> tuple[np.ndarray, ...]:
    """Uniform noise over 30 x 30 km (10 points per km2) plus `extra` points in a 1.5 km disc per cluster."""
    rng = np.random.default_rng(seed)
    xs = [rng.uniform(-HALF, HALF, noise)]
    ys = [rng.uniform(-HALF, HALF, noise)]
    for centre in clusters:
        cx, cy = disc_points(rng, centre, extra)
        xs.append(cx)
        ys.append(cy)
    return to_lonlat(np.concatenate(xs), np.concatenate(ys))


def planted_cells(grid: Grid, frame, clusters=CLUSTERS) -> np.ndarray:
    """Cells whose centre lies inside a planted disc."""
    cx, cy = to_lonlat(np.array([c[0] for c in clusters]), np.array([c[1] for c in clusters]))
    gx, gy = project(grid.proj4, cx, cy)
    x = frame["x"].to_numpy()[:, None]
    y = frame["y"].to_numpy()[:, None]
    return (np.hypot(x - gx[None, :], y - gy[None, :]) <= RADIUS).any(axis=1)


def cell_counts(grid: Grid, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """Records per cell of the rectangle (points outside it are left out), zeros included."""
    cell = grid.cell_of(x, y)
    inside = cell >= 0
    w = None if weights is None else np.asarray(weights, dtype=float)[inside]
    return np.bincount(cell[inside], weights=w, minlength=grid.n_cells).astype(float)


def grid_of_points(lon: np.ndarray, lat: np.ndarray, **gi_options) -> tuple[Grid, pd.DataFrame]:
    """Gi* of points counted on the default grid, with the steps `analyse_grid` takes: the local projection, the
    grid around the points, the counts per cell and `grid_frame` over the study area."""
    proj4 = local_proj4(lon, lat)
    x, y = project(proj4, np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    grid = make_grid(x, y, proj4)
    return grid, grid_frame(grid, cell_counts(grid, x, y), **gi_options)
