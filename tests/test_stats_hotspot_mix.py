"""reports.stats.hotspot_mix: where a category is over-represented among records (random labelling), not where records
are."""

from __future__ import annotations

import numpy as np
import pytest
from hotspot_points import (
    CLUSTERS,
    FDR,
    HALF,
    disc_points,
    grid_of_points,
    planted_cells,
    to_lonlat,
)

from reports.stats.hotspot_grid import (
    Grid,
    grid_weights,
    project,
)
from reports.stats.hotspot_mix import mix_hotspots

# --- category mix ---------------------------------------------------------------------------------------------


def test_mix_p_value_is_the_permutation_distribution_of_shuffled_record_labels():
    # 16 cells with 2-9 records each, 25 of them of the category; shuffle which records carry the label
    rng = np.random.default_rng(30)
    weights = grid_weights(Grid("", 1.0, 0.0, 0.0, 4, 4, 1.0))
    total = rng.integers(2, 10, 16).astype(float)
    record_cell = np.repeat(np.arange(16), total.astype(int))
    labels = np.zeros(record_cell.size, dtype=bool)
    labels[rng.choice(record_cell.size, 25, replace=False)] = True
    labels[record_cell == 5] = True  # one cell made of the category
    category = np.bincount(record_cell[labels], minlength=16).astype(float)
    ours = mix_hotspots(total, category, weights)
    shuffles = 20_000
    order = np.argsort(rng.random((shuffles, record_cell.size)), axis=1)[:, : int(category.sum())]
    cells = record_cell[order] + 16 * np.arange(shuffles)[:, None]
    drawn = np.bincount(cells.ravel(), minlength=16 * shuffles).reshape(shuffles, 16)
    windows = drawn @ (weights.adjacency.toarray() + np.eye(16)).T  # each shuffle's neighbourhood counts
    simulated = (windows >= ours["k_window"].to_numpy()[None, :]).mean(axis=0)
    np.testing.assert_allclose(ours["p"], simulated, atol=0.01)  # Monte Carlo s.e. <= 0.0035
    assert ours["k_window"].iloc[5] == category[[0, 1, 2, 4, 5, 6, 8, 9, 10]].sum()
    with pytest.raises(ValueError, match="no larger than"):
        mix_hotspots(total, total + 1, weights)


def _mix_map(seed: int, planted: bool):
    """Uniform noise, three busy towns (3,000 records each in a 2 km disc) and, if `planted`, a 1.5 km disc of 400
    records half of which are of the category; every other record is of the category with probability 2 %."""
    rng = np.random.default_rng(seed)
    xs, ys = [rng.uniform(-HALF, HALF, 9_000)], [rng.uniform(-HALF, HALF, 9_000)]
    for centre in CLUSTERS:
        x, y = disc_points(rng, centre, 3_000, radius=2_000)
        xs.append(x)
        ys.append(y)
    x, y = np.concatenate(xs), np.concatenate(ys)
    label = rng.random(x.size) < 0.02
    if planted:
        px, py = disc_points(rng, MIX_CENTRE, 400)
        x, y = np.concatenate([x, px]), np.concatenate([y, py])
        label = np.concatenate([label, rng.random(400) < 0.5])
    lon, lat = to_lonlat(x, y)
    grid, frame = grid_of_points(lon, lat, fdr=FDR, seed=seed)
    px, py = project(grid.proj4, lon, lat)
    cell = grid.cell_of(px, py)
    area = frame["tested"].to_numpy()
    tested = np.flatnonzero(area)
    total = np.bincount(cell, minlength=grid.n_cells).astype(float)
    category = np.bincount(cell[label], minlength=grid.n_cells).astype(float)
    result = mix_hotspots(total[tested], category[tested], grid_weights(grid, area), fdr=FDR)
    hot = np.zeros(grid.n_cells, dtype=bool)
    hot[tested] = result["hot"].to_numpy()
    return grid, frame, hot, result


MIX_CENTRE = (-3_000.0, 9_000.0)


def test_mix_finds_a_planted_mix_and_not_the_busy_towns():
    grid, frame, hot, result = _mix_map(40, planted=True)
    disc = planted_cells(grid, frame, (MIX_CENTRE,))
    assert hot[disc].mean() >= 0.8
    # every flag is at the planted disc: the towns have ten times the records but the map's mix
    near = (
        planted_cells(grid, frame, (MIX_CENTRE,))
        | (
            np.hypot(frame["x"] - frame.loc[disc, "x"].mean(), frame["y"] - frame.loc[disc, "y"].mean()) < 3_000
        ).to_numpy()
    )
    assert hot.sum() > 0 and not (hot & ~near).any()
    towns = planted_cells(grid, frame, CLUSTERS)
    assert not hot[towns].any() and frame.loc[towns, "hot"].mean() > 0.9  # Gi* on counts: the towns
    assert result.attrs["category_records"] == int(result.attrs["share"] * result.attrs["records"] + 0.5)


def test_mix_flags_nothing_when_labels_are_random():
    flagged = [int(_mix_map(50 + seed, planted=False)[2].sum()) for seed in range(6)]
    # every flag is false: BH bounds the chance of any flag by the FDR level
    assert sum(f > 0 for f in flagged) <= 1, flagged


def test_mix_safeguards_only_remove_flags():
    weights = grid_weights(Grid("", 1.0, 0.0, 0.0, 30, 30, 1.0))
    total = np.full(900, 20.0)
    category = np.zeros(900)
    category[::4] = 1.0  # 1.25 % of the background
    village = np.flatnonzero(weights.adjacency[[465]].toarray()[0])
    total[village], category[village] = 0.0, 0.0
    total[465], category[465] = 4.0, 4.0  # an isolated village: 4 of its 4 records of the category
    total[100], category[100] = 30_000.0, 600.0  # 2 % of a very busy cell: significant, but not 1.5 times
    total[700], category[700] = 60.0, 40.0  # a real concentration
    result = mix_hotspots(total, category, weights)
    assert result["hot"].iloc[700]
    assert not result["hot"].iloc[465] and result["p_fdr"].iloc[465] <= FDR  # too few records, however extreme
    assert not result["hot"].iloc[100] and result["p_fdr"].iloc[100] <= FDR  # too small a difference
    assert result["ratio"].iloc[100] < 1.5 and result["k_window"].iloc[465] == 4
    around = np.flatnonzero(weights.adjacency[[700]].toarray()[0])
    empty = around[category[around] == 0]
    assert (result["p_fdr"].iloc[empty] <= FDR).any()  # their neighbourhood is mostly cell 700 ...
    assert not result["hot"].iloc[empty].any()  # ... but they hold none of the category themselves
    loose = mix_hotspots(total, category, weights, min_records=0, min_ratio=0)
    assert (loose["hot"] >= result["hot"]).all() and loose["hot"].iloc[100] and loose["hot"].iloc[465]
