"""reports.stats.hotspot: Gi*, conditional-randomisation p-values, Benjamini-Hochberg and the permutation floor,
checked against esda and the textbook formula."""

from __future__ import annotations

import warnings

import esda
import numpy as np
from libpysal.weights import lat2W

from reports.stats.hotspot import (
    bh_adjust,
    conditional_p,
    confidence_of,
    default_permutations,
    gi_star,
    smallest_detectable,
)
from reports.stats.hotspot_grid import (
    Grid,
    grid_weights,
)

# --- the reference library is called correctly -------------------------------------------------------------


def test_gi_star_equals_esda_and_the_textbook_formula():
    rng = np.random.default_rng(3)
    y = rng.poisson(4, 25).astype(float)
    y[12] = 30.0
    lattice = grid_weights(Grid("", 1.0, 0.0, 0.0, 5, 5, 1.0))
    ours = gi_star(y, lattice, permutations=499, seed=11, transform="none")
    default = gi_star(y, lattice, permutations=499, seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = esda.G_Local(y, lat2W(5, 5, rook=False), transform="B", star=True, permutations=499, seed=11)
        ref_sqrt = esda.G_Local(np.sqrt(y), lat2W(5, 5, rook=False), transform="B", star=True, permutations=0)
    np.testing.assert_allclose(ours["gi"], ref.Gs)
    np.testing.assert_allclose(ours["z"], ref.Zs)
    # by default the statistic is esda's on the square roots of the counts
    assert default.attrs["transform"] == "sqrt" and ours.attrs["transform"] == "none"
    np.testing.assert_allclose(default["gi"], ref_sqrt.Gs)
    np.testing.assert_allclose(default["z"], ref_sqrt.Zs)
    # Gi* = sum of y over the cell and its queen neighbours / sum of y
    padded = np.pad(y.reshape(5, 5), 1)
    window = sum(padded[1 + dr : 6 + dr, 1 + dc : 6 + dc] for dr in (-1, 0, 1) for dc in (-1, 0, 1))
    np.testing.assert_allclose(ours["gi"], (window / y.sum()).ravel())
    assert ours.loc[12, "z"] > 1  # the planted high value lifts its own neighbourhood


def test_esda_engine_p_values_are_esdas_own_on_continuous_data():
    # without ties our tail counting is esda's directed p-value, doubled for two sides
    y = np.random.default_rng(4).gamma(2.0, 3.0, 36)
    lattice = grid_weights(Grid("", 1.0, 0.0, 0.0, 6, 6, 1.0))
    ours = gi_star(y, lattice, permutations=999, seed=7, engine="esda", transform="none")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = esda.G_Local(y, lat2W(6, 6, rook=False), transform="B", star=True, permutations=999, seed=7)
    np.testing.assert_allclose(ours["p_sim"], np.minimum(1, 2 * ref.p_sim))
    np.testing.assert_allclose(ours["z"], ref.Zs)


def test_ties_count_in_both_tails():
    # mostly empty cells: an empty cell among empty neighbours is ordinary, not a 99 % cold spot
    y = np.zeros(400)
    y[np.random.default_rng(5).choice(400, 60, replace=False)] = 1.0
    lattice = grid_weights(Grid("", 1.0, 0.0, 0.0, 20, 20, 1.0))
    ours = gi_star(y, lattice, permutations=4_999, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = esda.G_Local(y, lat2W(20, 20, rook=False), transform="B", star=True, permutations=4_999, seed=3)
    empty_neighbourhood = (ours["gi"] == 0).to_numpy()
    assert empty_neighbourhood.sum() > 20
    # esda's directed p puts every such cell at the extreme; about a quarter of random draws are empty too
    assert np.all(ref.p_sim[empty_neighbourhood] == 1 / 5_000)
    assert ours.loc[empty_neighbourhood, "p_sim"].min() > 0.2
    assert not ours["cold"].any()


def test_shared_engine_agrees_with_esda_conditional_randomisation():
    rng = np.random.default_rng(9)
    side = 20
    y = rng.poisson(5, side * side).astype(float)
    y.reshape(side, side)[3:6, 3:6] += 12  # one clear hot spot
    y.reshape(side, side)[14:17, 12:15] = 0  # one clear cold spot
    lattice = grid_weights(Grid("", 1.0, 0.0, 0.0, side, side, 1.0))
    shared = gi_star(y, lattice, permutations=9_999, seed=1)
    reference = gi_star(y, lattice, permutations=9_999, seed=1, engine="esda")
    # two Monte Carlo estimates of the same exact two-sided p-values, each with a standard error <= 0.01: their
    # difference has sd <= 0.014, so a mean absolute difference <= 0.011 and no cell beyond ~4 sd
    diff = np.abs(shared["p_sim"] - reference["p_sim"])
    assert diff.mean() < 0.015 and diff.max() < 0.06, (diff.mean(), diff.max())
    assert (shared["hot"] == reference["hot"]).mean() >= 0.99
    assert (shared["cold"] == reference["cold"]).mean() >= 0.99
    assert shared["hot"].sum() >= 6 and shared["cold"].sum() >= 3


def test_conditional_p_is_exact_on_a_tiny_case():
    # 4 cells with one neighbour each: cell i's reference set is the 3 *other* values, equally likely
    y = np.array([0.0, 1.0, 2.0, 10.0])
    neighbours = np.array([20.0, 2.0, 1.0, 0.0])
    p = conditional_p(y, neighbours, np.ones(4, dtype=int), 60_000, seed=3)
    # cell 0: others {1, 2, 10}, observed 20 is beyond all of them -> p = 1 / (usable draws + 1)
    assert p[0] < 1e-4
    # cell 1: others {0, 2, 10}, observed 2: P(>= 2) = 2/3, P(<= 2) = 2/3 (the tie counts in both tails)
    np.testing.assert_allclose(p[1], 2 / 3, atol=0.01)
    # cell 3: others {0, 1, 2}, observed 0: P(<= 0) = 1/3, not "more extreme than every draw"
    np.testing.assert_allclose(p[3], 1 / 3, atol=0.01)


def test_bh_flags_the_same_cells_as_esda_fdr():
    rng = np.random.default_rng(5)
    p = np.concatenate([rng.uniform(0, 1, 400), rng.uniform(0, 0.002, 40)])
    for alpha in (0.01, 0.05, 0.1):
        ours = bh_adjust(p) <= alpha
        theirs = p <= esda.fdr(p, alpha)
        assert ours.sum() > 0
        np.testing.assert_array_equal(ours, theirs)


def test_confidence_never_looser_than_the_fdr_level():
    q = np.array([0.005, 0.02, 0.07, 0.2])
    assert confidence_of(q, 0.10).tolist() == [99, 95, 90, 0]
    assert confidence_of(q, 0.05).tolist() == [99, 95, 0, 0]


def test_permutation_floor_and_choice():
    # 999 permutations: p >= 0.002; over 1000 cells BH at 10 % needs 20 equally extreme cells
    assert smallest_detectable(1000, 999, 0.1) == 20
    assert default_permutations(900) == 9_999
    assert default_permutations(81_000) == 99_999
    assert smallest_detectable(81_000, default_permutations(81_000), 0.1) <= 20


def test_constant_values_are_not_significant():
    frame = gi_star(np.full(25, 3.0), grid_weights(Grid("", 1.0, 0.0, 0.0, 5, 5, 1.0)))
    assert not frame["hot"].any() and not frame["cold"].any()
