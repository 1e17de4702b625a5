"""reports.stats.hotspot_areas: Gi* on area centroids with k-nearest-neighbour weights."""

from __future__ import annotations

import numpy as np
import pytest
from hotspot_points import (
    FDR,
    to_lonlat,
)

from reports.stats.hotspot_areas import area_hotspots

# --- areas --------------------------------------------------------------------------------------------------


def test_area_hotspots_with_knn_weights():
    rng = np.random.default_rng(4)
    # 64 districts on an 8 x 8 km lattice, jittered; four adjacent districts have three times the crime
    gx, gy = np.meshgrid(np.arange(8) * 1000.0, np.arange(8) * 1000.0)
    x = gx.ravel() + rng.normal(0, 100, 64)
    y = gy.ravel() + rng.normal(0, 100, 64)
    counts = rng.poisson(50, 64).astype(float)
    high = [0, 1, 8, 9]
    counts[high] = rng.poisson(150, 4)
    lon, lat = to_lonlat(x, y)
    names = [f"district <{i}>" for i in range(64)]
    frame = area_hotspots(names, counts, lon, lat, fdr=FDR)
    assert frame.loc[high, "hot"].all()
    assert frame["hot"].sum() <= 12
    assert frame["k"].iloc[0] == 8 and frame.attrs["permutations"] == 9_999
    with pytest.raises(ValueError, match="at least"):
        area_hotspots(names[:5], counts[:5], lon[:5], lat[:5])
