"""Local Moran's I of area rates (reports.stats.local_moran) against the statistic computed by hand."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from reports.stats.local_moran import (
    NO_NEIGHBOURS,
    NOT_SIGNIFICANT,
    NOT_TESTED,
    QUADRANTS,
    contiguity,
    local_moran,
)


def _lattice(n: int, side: float = 1000.0, gap: float = 0.0) -> np.ndarray:
    """n x n squares in metres, row by row; ``gap`` leaves slivers between them (simplified boundaries)."""
    return np.array(
        [
            shapely.box(c * side + gap, r * side + gap, (c + 1) * side - gap, (r + 1) * side - gap)
            for r in range(n)
            for c in range(n)
        ]
    )


def test_neighbours_are_queen_contiguity_even_across_slivers():
    w = contiguity(_lattice(3, gap=5.0))  # 10 m slivers between 1 km squares: still neighbours
    assert sorted(w.neighbors[4]) == [0, 1, 2, 3, 5, 6, 7, 8]  # the centre touches all eight
    assert sorted(w.neighbors[0]) == [1, 3, 4]  # a corner touches three (queen: corners too)


def test_local_i_equals_the_formula_on_counts():
    """Without population the counts are tested: I_i = (n - 1) z_i sum_j w_ij z_j / sum_k z_k^2 with
    row-standardised weights and z the deviations from the mean (Anselin 1995 with esda's n - 1)."""
    rng = np.random.default_rng(5)
    counts = rng.poisson(40, 25).astype(float)
    geoms = _lattice(5)
    out = local_moran(counts, None, geoms, permutations=99)
    w = contiguity(geoms)
    z = counts - counts.mean()
    m2 = (z**2).sum() / (len(z) - 1)
    expected = [z[i] / m2 * np.mean([z[j] for j in w.neighbors[i]]) for i in range(25)]
    np.testing.assert_allclose(out["I"].to_numpy(), expected, rtol=1e-9)


def test_a_corner_of_high_rates_is_a_cluster_and_nothing_else_is():
    counts = np.full(100, 100.0)
    population = np.full(100, 100_000.0)
    rng = np.random.default_rng(11)
    counts += rng.integers(-10, 10, 100)
    block = [r * 10 + c for r in range(3) for c in range(3)]
    counts[block] = 400.0
    out = local_moran(counts, population, _lattice(10), permutations=999)
    high = set(np.flatnonzero(out["cluster"] == QUADRANTS[1]).tolist())
    assert high and high <= set(block)
    assert not (out["cluster"] == QUADRANTS[3]).loc[block].any()
    assert (out.loc[~out.index.isin(block), "cluster"].isin([NOT_SIGNIFICANT, QUADRANTS[2], QUADRANTS[3]])).all()


def test_islands_and_areas_without_a_rate_are_not_tested():
    geoms = _lattice(4)
    geoms = np.append(geoms, shapely.box(50_000, 50_000, 51_000, 51_000))  # far away: no neighbour
    counts = np.append(np.arange(16, dtype=float) * 10 + 50, 80.0)
    population = np.full(17, 10_000.0)
    population[3] = np.nan  # no population: no rate
    out = local_moran(counts, population, geoms, permutations=99)
    assert out.loc[16, "cluster"] == NO_NEIGHBOURS and np.isnan(out.loc[16, "p_fdr"])
    assert out.loc[3, "cluster"] == NOT_TESTED
    assert out["p_fdr"].notna().sum() == 15


def test_too_few_areas_are_not_tested():
    out = local_moran(np.arange(4, dtype=float), None, _lattice(2))
    assert (out["cluster"] == NOT_TESTED).all()


def test_the_adjusted_p_values_are_benjamini_hochberg_of_the_permutation_ones():
    rng = np.random.default_rng(2)
    out = local_moran(rng.poisson(30, 36).astype(float), None, _lattice(6), permutations=199)
    p = out["p_sim"].to_numpy()
    order = np.argsort(p)
    ranked = p[order] * len(p) / np.arange(1, len(p) + 1)
    adjusted = np.minimum.accumulate(ranked[::-1])[::-1]
    expected = np.empty_like(p)
    expected[order] = np.minimum(adjusted, 1)
    np.testing.assert_allclose(out["p_fdr"].to_numpy(), expected)


@pytest.mark.parametrize("seed", [1, 2])
def test_the_same_seed_gives_the_same_clusters(seed):
    counts = np.random.default_rng(seed).poisson(30, 49).astype(float)
    first = local_moran(counts, None, _lattice(7), seed=seed)
    again = local_moran(counts, None, _lattice(7), seed=seed)
    assert first.equals(again)
