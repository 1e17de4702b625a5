"""Gi* hot spots for sources that only give an area per record (district, municipality), not a point.

Without boundaries there is no contiguity, so neighbours are the k nearest areas by centroid (libpysal KNN
on projected centroids; centroids come from the coordinates of records that do have them). Each area then
has the same number of neighbours, so binary and row-standardised weights give the same Gi* z-scores.
With few areas a fixed k would make every area a neighbour of every other one, so k shrinks to a quarter of
the areas (at least 2), and fewer than MIN_AREAS areas are not analysed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from reports.stats.hotspot import (
    DEFAULT_FDR,
    DEFAULT_SEED,
    DEFAULT_TRANSFORM,
    Engine,
    Transform,
    Weights,
    gi_star,
    prepare_weights,
)
from reports.stats.hotspot_grid import local_proj4, project

DEFAULT_K = 8
MIN_AREAS = 10


def neighbours_k(n_areas: int, k: int = DEFAULT_K) -> int:
    return int(min(k, max(2, n_areas // 4), n_areas - 1))


def knn_weights(x: np.ndarray, y: np.ndarray, k: int) -> Weights:
    """Binary k-nearest-neighbour weights on projected centroids; coincident centroids become mutual neighbours."""
    from libpysal.graph import Graph  # imported here: 1-2 s, and only area sections need it

    coords = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
    return prepare_weights(Graph.build_knn(coords, k=k, coplanar="clique"))


def area_hotspots(
    areas: Sequence[str],
    counts: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    *,
    k: int = DEFAULT_K,
    permutations: int | None = None,
    fdr: float = DEFAULT_FDR,
    seed: int = DEFAULT_SEED,
    engine: Engine = "shared",
    transform: Transform = DEFAULT_TRANSFORM,
) -> pd.DataFrame:
    """One row per area: area, centroid lon/lat and projected x/y, count, k used, and the Gi* columns."""
    areas = list(areas)
    counts = np.asarray(counts, dtype=float)
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if len(areas) < MIN_AREAS:
        raise ValueError(f"Gi* on areas needs at least {MIN_AREAS} areas with a centroid, got {len(areas)}")
    x, y = project(local_proj4(lon, lat), lon, lat)
    k_used = neighbours_k(len(areas), k)
    weights = knn_weights(x, y, k_used)
    stats = gi_star(counts, weights, permutations=permutations, fdr=fdr, seed=seed, engine=engine, transform=transform)
    base = pd.DataFrame({"area": areas, "lon": lon, "lat": lat, "x": x, "y": y, "count": counts, "k": k_used})
    frame = pd.concat([base, stats], axis=1)
    frame.attrs.update(stats.attrs)
    return frame
