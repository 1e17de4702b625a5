"""reports.stats.hotspot_grid: the grid, its queen weights and study area, and Gi* on it: planted clusters are found,
noise stays within the FDR."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
from hotspot_points import (
    CLUSTERS,
    FDR,
    HALF,
    LAT0,
    LON0,
    RADIUS,
    cell_counts,
    city_points,
    grid_of_points,
    planted_cells,
    to_lonlat,
)
from libpysal.weights import lat2SW, lat2W

from reports.stats.hotspot_grid import (
    grid_frame,
    grid_weights,
    make_grid,
    project,
    queen_adjacency,
    study_area,
)

# --- grid ---------------------------------------------------------------------------------------------------


def test_grid_counts_every_point_and_keeps_empty_cells():
    lon, lat = city_points(1, noise=500, extra=100)
    grid, frame = grid_of_points(lon, lat, permutations=99)
    assert grid.cell_size == 1000.0 and grid.dropped == 0
    assert len(frame) == grid.nrows * grid.ncols >= 30 * 30
    assert frame["count"].sum() == len(lon)
    assert (frame["count"] == 0).sum() > 100  # the empty cells are there, as zeros
    # cell centres are 1 km apart on the ground
    first = frame.iloc[0]
    east = frame.iloc[1]
    geod = pyproj.Geod(ellps="WGS84")
    assert abs(geod.inv(first.lon, first.lat, east.lon, east.lat)[2] - 1000) < 2


def test_grid_weights_and_stray_points():
    rng = np.random.default_rng(2)
    x = rng.uniform(0, 10_000, 2_000)
    y = rng.uniform(0, 10_000, 2_000)
    x[0], y[0] = 5e6, 5e6  # a record geocoded to the other side of the world
    grid = make_grid(x, y, "", cell_size=1000)
    assert grid.dropped == 1 and grid.ncols == grid.nrows == 10
    counts = cell_counts(grid, x, y, np.full(x.size, 2.0))
    assert counts.sum() == 2 * (x.size - 1)
    weights = grid_weights(grid)
    assert weights.cardinality.max() == 8 and weights.cardinality.min() == 3
    assert weights.star.sparse.diagonal().tolist() == [1.0] * grid.n_cells


def test_queen_adjacency_is_libpysals_lattice():
    ours = queen_adjacency(7, 9)
    assert (ours != lat2SW(7, 9, criterion="queen").tocsr()).nnz == 0
    for nrows, ncols in ((1, 4), (2, 2), (3, 1), (2, 5)):  # sizes where lat2SW itself fails
        ref = lat2W(nrows, ncols, rook=False).full()[0]
        np.testing.assert_array_equal(queen_adjacency(nrows, ncols).toarray(), ref)
    assert queen_adjacency(1, 1).nnz == 0  # one cell, no neighbour


def test_cell_size_grows_rather_than_exceed_max_cells():
    x = np.array([0.0, 300_000.0])
    y = np.array([0.0, 300_000.0])
    grid = make_grid(np.repeat(x, 1000), np.repeat(y, 1000), "", cell_size=1000, max_cells=10_000)
    assert grid.cell_size == 5000 and grid.requested_cell_size == 1000
    assert grid.n_cells <= 10_000


def test_study_area_leaves_out_what_lies_far_from_any_record():
    # a city on a diagonal coast: records only south-west of the diagonal, open sea to the north-east
    rng = np.random.default_rng(6)
    x = rng.uniform(-HALF, HALF, 30_000)
    y = rng.uniform(-HALF, HALF, 30_000)
    land = x + y < 0
    x, y = x[land], y[land]
    grid = make_grid(x, y, f"+proj=laea +lat_0={LAT0} +lon_0={LON0} +units=m", cell_size=1000)
    counts = cell_counts(grid, x, y)
    area = study_area(grid, counts)
    recorded = counts > 0
    # every recorded cell and every cell touching one is in; nothing farther out is
    assert area[recorded].all() and area.sum() < 0.7 * grid.n_cells
    touching = (queen_adjacency(grid.nrows, grid.ncols) @ recorded.astype(float)) > 0
    np.testing.assert_array_equal(area, recorded | touching)
    frame = grid_frame(grid, counts, permutations=1999, seed=2)
    assert frame.attrs["tested"] == area.sum() and frame["tested"].tolist() == area.tolist()
    assert not (frame["hot"] | frame["cold"])[~area].any() and frame.loc[~area, "gi"].isna().all()
    # over the whole rectangle the open sea is a "cold spot" of hundreds of cells; over the study area only the
    # one-cell fringe along the coast can be (the ring of empty cells and the half-empty cells they touch)
    rectangle = grid_frame(grid, counts, area=np.ones(grid.n_cells, dtype=bool), permutations=1999, seed=2)
    assert rectangle["cold"][~area].sum() > 100
    coast = ~recorded | ((queen_adjacency(grid.nrows, grid.ncols) @ (~recorded).astype(float)) > 0)
    assert frame["cold"].sum() < rectangle["cold"].sum() / 3
    assert not (frame["cold"] & ~coast).any()
    # neighbours are taken within the study area only: an edge cell has fewer than 8
    weights = grid_weights(grid, area)
    assert weights.n == area.sum() and weights.cardinality.min() < 8
    with pytest.raises(ValueError, match="weights cover"):
        grid_frame(grid, counts, weights=grid_weights(grid))
    assert study_area(grid, counts, ring=0).tolist() == recorded.tolist()


# --- detection power and false discoveries ------------------------------------------------------------------


@pytest.mark.parametrize("seed", [7, 8])
def test_planted_clusters_are_found(seed):
    lon, lat = city_points(seed)
    grid, frame = grid_of_points(lon, lat, fdr=FDR, seed=seed)
    planted = planted_cells(grid, frame)
    assert planted.sum() >= 15
    recall = (frame["hot"] & planted).sum() / planted.sum()
    assert recall >= 0.9, recall
    # what is flagged is the planted clusters and their immediate surroundings, not the noise far away
    x = frame["x"].to_numpy()
    y = frame["y"].to_numpy()
    cx, cy = to_lonlat(np.array([c[0] for c in CLUSTERS]), np.array([c[1] for c in CLUSTERS]))
    gx, gy = project(grid.proj4, cx, cy)
    near = (np.hypot(x[:, None] - gx, y[:, None] - gy) <= RADIUS + 1500).any(axis=1)
    far_hot = (frame["hot"] & ~near).sum()
    assert far_hot <= 0.1 * frame["hot"].sum()


def test_pure_noise_stays_within_the_fdr():
    flagged = []
    for seed in range(5):
        lon, lat = city_points(100 + seed, extra=0, clusters=())
        _, frame = grid_of_points(lon, lat, fdr=FDR, seed=seed)
        flagged.append(int(frame["hot"].sum() + frame["cold"].sum()))
    # every flag is false here, so the false-discovery proportion is 1 when anything is flagged: BH bounds
    # its expectation (= the chance of any flag) by the FDR level
    fdp = np.mean([f > 0 for f in flagged])
    assert fdp <= FDR + 0.1, flagged
    assert sorted(flagged)[len(flagged) // 2] == 0, flagged
