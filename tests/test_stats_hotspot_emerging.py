"""reports.stats.hotspot_emerging: Gi* per year, the Mann-Kendall trend and the emerging hot spot classes."""

from __future__ import annotations

import numpy as np
import pymannkendall
import pytest
from hotspot_points import (
    CLUSTERS,
    HALF,
    cell_counts,
    disc_points,
    to_lonlat,
)

from reports.stats.hotspot_emerging import CATEGORIES, classify, emerging_hotspots, mann_kendall
from reports.stats.hotspot_grid import (
    grid_weights,
    local_proj4,
    make_grid,
    project,
)

# --- emerging hot spots -------------------------------------------------------------------------------------


def _cube(seed: int, schedule: dict[tuple[float, float], list[int] | dict[int, int]], years: int = 5):
    """Counts per period on one grid: noise every year, plus a cluster in the years its schedule lists (400
    points each, or {year: points})."""
    rng = np.random.default_rng(seed)
    xs, ys, ts = [], [], []
    for t in range(years):
        x = rng.uniform(-HALF, HALF, 9_000)
        y = rng.uniform(-HALF, HALF, 9_000)
        xs.append(x)
        ys.append(y)
        ts.append(np.full(x.size, t))
        for centre, active in schedule.items():
            if t in active:
                cx, cy = disc_points(rng, centre, active[t] if isinstance(active, dict) else 400)
                xs.append(cx)
                ys.append(cy)
                ts.append(np.full(cx.size, t))
    lon, lat = to_lonlat(np.concatenate(xs), np.concatenate(ys))
    t = np.concatenate(ts)

    proj4 = local_proj4(lon, lat)
    px, py = project(proj4, lon, lat)
    grid = make_grid(px, py, proj4)
    counts = np.stack([cell_counts(grid, px[t == k], py[t == k]) for k in range(years)])
    cx, cy = grid.centres()
    return grid, counts, cx, cy


def _cells_near(grid, cx, cy, centre, radius=1000.0):
    lon, lat = to_lonlat(np.array([centre[0]]), np.array([centre[1]]))
    px, py = project(grid.proj4, lon, lat)
    return np.hypot(cx - px[0], cy - py[0]) <= radius


def test_emerging_new_consecutive_and_persistent():
    persistent, new, consecutive = CLUSTERS
    schedule = {persistent: [0, 1, 2, 3, 4], new: [4], consecutive: [3, 4]}
    grid, counts, cx, cy = _cube(21, schedule)
    result = emerging_hotspots(counts, [2019, 2020, 2021, 2022, 2023], grid_weights(grid), seed=5)
    category = result.frame["category"].to_numpy()

    def share(centre, wanted):
        cells = _cells_near(grid, cx, cy, centre)
        return np.isin(category[cells], wanted).mean()

    assert share(persistent, ["persistent hot spot"]) >= 0.8
    assert share(new, ["new hot spot"]) >= 0.8
    assert share(consecutive, ["consecutive hot spot"]) >= 0.8
    assert set(category) <= set(CATEGORIES)
    # far from every cluster nothing but "no pattern" (or the odd noise flag) shows up
    far = ~np.any([_cells_near(grid, cx, cy, c, 4000) for c in CLUSTERS], axis=0)
    assert (category[far] == "no pattern").mean() >= 0.95


@pytest.mark.parametrize("seed", [23, 24])
def test_a_cluster_that_stopped_is_historical_and_its_neighbour_stays_persistent(seed):
    # six yearly maps, a cluster in the first three only: ESRI's 90 % rule can never call it historical. When it
    # stops, the map's variance falls and the steady cluster's z-scores rise (a trend of z called it
    # "intensifying" in 3 and 2 of its 4 cells on these seeds); its share of the map (Gi) does not move.
    stopped, steady = CLUSTERS[0], CLUSTERS[1]
    grid, counts, cx, cy = _cube(seed, {stopped: [0, 1, 2], steady: [0, 1, 2, 3, 4, 5]}, years=6)
    result = emerging_hotspots(counts, list(range(2019, 2025)), grid_weights(grid), seed=5)
    category = result.frame["category"].to_numpy()
    assert (category[_cells_near(grid, cx, cy, stopped)] == "historical hot spot").mean() >= 0.75
    assert (category[_cells_near(grid, cx, cy, steady)] == "persistent hot spot").all()
    z_trend = classify(result.z, result.hot, result.cold)["category"].to_numpy()  # ESRI's trend of z-scores
    assert (z_trend[_cells_near(grid, cx, cy, steady)] == "intensifying hot spot").any()
    far = ~np.any([_cells_near(grid, cx, cy, c, 4000) for c in (stopped, steady)], axis=0)
    assert (category[far] == "no pattern").mean() >= 0.95


def test_a_growing_cluster_is_intensifying_a_shrinking_one_diminishing():
    growing, shrinking = CLUSTERS[0], CLUSTERS[1]
    sizes = [250, 350, 450, 550, 650, 750]
    schedule = {growing: dict(enumerate(sizes)), shrinking: dict(enumerate(sizes[::-1]))}
    grid, counts, cx, cy = _cube(25, schedule, years=6)
    result = emerging_hotspots(counts, list(range(2019, 2025)), grid_weights(grid), seed=5)
    category = result.frame["category"].to_numpy()
    assert (category[_cells_near(grid, cx, cy, growing)] == "intensifying hot spot").mean() >= 0.75
    assert (category[_cells_near(grid, cx, cy, shrinking)] == "diminishing hot spot").mean() >= 0.75


def test_a_period_without_data_is_excluded_not_zero():
    persistent = CLUSTERS[0]
    grid, counts, cx, cy = _cube(22, {persistent: [0, 1, 2, 3, 4]}, years=5)
    with_gap = np.insert(counts, 2, 0.0, axis=0)  # 2021: the source sent nothing
    result = emerging_hotspots(with_gap, [2019, 2020, 2021, 2022, 2023, 2024], grid_weights(grid), seed=5)
    assert result.excluded_periods == (2021,) and result.periods == (2019, 2020, 2022, 2023, 2024)
    cells = _cells_near(grid, cx, cy, persistent)
    assert (result.frame.loc[cells, "category"] == "persistent hot spot").mean() >= 0.8
    with pytest.raises(ValueError, match="at least 3 periods"):
        emerging_hotspots(with_gap[:3], [2019, 2020, 2021], grid_weights(grid))


def _classes(hot_rows, cold_rows=None, z=None):
    hot = np.array(hot_rows, dtype=bool).T
    cold = np.zeros_like(hot) if cold_rows is None else np.array(cold_rows, dtype=bool).T
    z = np.zeros(hot.shape) if z is None else np.array(z, dtype=float).T
    return classify(z, hot, cold)


def test_classification_rules():
    up = [[1, 2, 3, 4, 5]]
    down = [[5, 4, 3, 2, 1]]
    flat = [[3, 1, 4, 1, 5]]
    assert _classes([[1, 1, 1, 1, 1]], z=up)["category"][0] == "intensifying hot spot"
    assert _classes([[1, 1, 1, 1, 1]], z=down)["category"][0] == "diminishing hot spot"
    assert _classes([[1, 1, 1, 1, 1]], z=flat)["category"][0] == "persistent hot spot"
    assert _classes([[0, 0, 0, 0, 1]])["category"][0] == "new hot spot"
    assert _classes([[0, 0, 1, 1, 1]])["category"][0] == "consecutive hot spot"
    assert _classes([[1, 0, 1, 0, 1]])["category"][0] == "sporadic hot spot"
    assert _classes([[0, 1, 0, 0, 1]], [[1, 0, 0, 0, 0]])["category"][0] == "oscillating hot spot"
    # no longer hot: ESRI's rule (>= 90 % of periods, not the last) and its short-series mirror of "consecutive"
    assert _classes([[1] * 9 + [0]], z=[list(range(10))])["category"][0] == "historical hot spot"
    assert _classes([[1, 1, 0, 0, 0]])["category"][0] == "historical hot spot"
    assert _classes([[1, 1, 1, 1, 0]])["category"][0] == "historical hot spot"
    assert _classes([[1, 0, 0, 0, 0]])["category"][0] == "no pattern"  # one period, as "new" needs the last
    assert _classes([[0, 1, 1, 0, 0]])["category"][0] == "no pattern"  # only in the middle
    assert _classes([[1, 1, 0, 1, 0]])["category"][0] == "no pattern"  # hot again after the run
    assert _classes([[0] * 5], [[1, 1, 1, 0, 0]])["category"][0] == "historical cold spot"
    # cold spots mirror hot spots; a falling z-score intensifies a cold spot
    assert _classes([[0] * 5], [[1, 1, 1, 1, 1]], z=down)["category"][0] == "intensifying cold spot"
    assert _classes([[0] * 5], [[0, 0, 0, 0, 1]])["category"][0] == "new cold spot"
    assert _classes([[0] * 5], [[1, 0, 0, 1, 1]])["category"][0] == "sporadic cold spot"
    # hot in 9 of 10 periods but a cold spot now: the current state decides
    assert _classes([[1] * 9 + [0]], [[0] * 9 + [1]], z=[[1] * 9 + [-3]])["category"][0] == "new cold spot"
    result = _classes([[1, 1, 1, 1, 1]], z=up)
    assert result["trend"][0] == "increasing" and result["trend_p"][0] < 0.05


def test_vectorised_mann_kendall_equals_pymannkendall():
    rng = np.random.default_rng(12)
    series = np.column_stack(
        [
            rng.normal(size=(7, 40)),
            np.round(rng.normal(size=(7, 40))),  # many ties
            np.arange(7.0)[:, None] + rng.normal(0, 0.3, size=(7, 20)),  # clear upward trends
            np.array([[1.0, 1, 2, 2, 2, 3, 1]]).T,
            np.full((7, 1), 4.0),  # no variation at all
        ]
    )
    ours = mann_kendall(series, alpha=0.05)
    for i in range(series.shape[1] - 1):
        ref = pymannkendall.original_test(series[:, i], alpha=0.05)
        assert ours["s"][i] == ref.s
        np.testing.assert_allclose(ours["var_s"][i], ref.var_s)
        np.testing.assert_allclose(ours["z"][i], ref.z)
        np.testing.assert_allclose(ours["p"][i], ref.p)
        assert ours["direction"][i] == {"increasing": 1, "decreasing": -1, "no trend": 0}[ref.trend]
    assert (ours["direction"][80:100] == 1).all()
    assert ours["p"].iloc[-1] == 1.0 and ours["direction"].iloc[-1] == 0
