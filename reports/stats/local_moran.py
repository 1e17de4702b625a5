"""Local Moran's I clusters of area rates: where high-rate areas sit among high-rate neighbours (a cluster) or a
high-rate area among low ones (an outlier).

Gi* on a grid needs points; area tables have none, so their spatial pattern is tested on the areas themselves.
Rates of small populations swing by chance, so the statistic is computed on empirical-Bayes standardised rates
(Assunção and Reis 1999; ``esda.Moran_Local_Rate``), which shrink a small area's rate towards the mean in
proportion to its uncertainty; with counts but no population the counts themselves are tested
(``esda.Moran_Local``). Neighbours are areas whose shapes touch (queen contiguity, up to a small tolerance, since
boundaries simplified for maps no longer share every vertex), rows standardised. p-values come from conditional
permutations and are adjusted for the number of areas tested by Benjamini-Hochberg, as the hot spot maps are;
areas without any neighbour (islands) are not tested.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from reports.stats.hotspot import DEFAULT_FDR, DEFAULT_SEED, bh_adjust

DEFAULT_PERMUTATIONS = 999
MIN_AREAS = 8  # fewer areas give too few distinct permutations for any adjusted p to pass
TOLERANCE = 0.02  # neighbours: shapes within this fraction of the median area's side of each other
QUADRANTS = {1: "high among high", 2: "low among high", 3: "low among low", 4: "high among low"}
NOT_SIGNIFICANT = "not significant"
NO_NEIGHBOURS = "no neighbours (not tested)"
NOT_TESTED = "no rate (not tested)"


def touching(geoms_xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every ordered pair (i, j), i != j, of projected shapes (metres) that touch up to the tolerance."""
    import shapely

    side = float(np.median(np.sqrt(shapely.area(geoms_xy))))
    # within a distance, not buffered shapes: buffering 3,000 detailed shapes took 109 s, this a fraction of one
    tolerance = max(side * TOLERANCE, 1e-9)
    left, right = shapely.STRtree(geoms_xy).query(geoms_xy, predicate="dwithin", distance=tolerance)
    keep = left != right
    return left[keep], right[keep]


def weights(n: int, left: np.ndarray, right: np.ndarray):
    """The binary libpysal W of ``n`` areas (ids 0..n-1) whose neighbours are the pairs (left, right)."""
    import libpysal

    listed = pd.Series(right).groupby(left).agg(list)
    neighbours = {i: listed.get(i, []) for i in range(n)}
    with warnings.catch_warnings():  # islands are reported by us, not printed by libpysal
        warnings.simplefilter("ignore")
        return libpysal.weights.W(neighbours, silence_warnings=True)


def contiguity(geoms_xy: np.ndarray):
    """Queen contiguity with a tolerance, on projected shapes (metres): a libpysal W whose ids are 0..n-1."""
    return weights(len(geoms_xy), *touching(geoms_xy))


def local_moran(
    counts: np.ndarray,
    population: np.ndarray | None,
    geoms_xy: np.ndarray,
    permutations: int = DEFAULT_PERMUTATIONS,
    fdr: float = DEFAULT_FDR,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """One row per area (in the given order): ``I``, the permutation ``p_sim``, the BH-adjusted ``p_fdr``,
    ``neighbours`` and ``cluster`` (one of QUADRANTS' names where significant at ``fdr``, else
    NOT_SIGNIFICANT, NO_NEIGHBOURS or NOT_TESTED)."""
    import esda

    n = len(counts)
    out = pd.DataFrame(
        {"I": np.nan, "p_sim": np.nan, "p_fdr": np.nan, "neighbours": 0, "cluster": NOT_TESTED}, index=range(n)
    )
    counts = np.asarray(counts, dtype=float)
    usable = np.isfinite(counts)
    if population is not None:
        population = np.asarray(population, dtype=float)
        usable &= np.isfinite(population) & (population > 0)
    idx = np.flatnonzero(usable)
    if len(idx) < MIN_AREAS:
        return out
    left, right = touching(geoms_xy[idx])  # positions in idx
    cardinality = np.bincount(left, minlength=len(idx))
    out.loc[idx, "neighbours"] = cardinality
    out.loc[idx[cardinality == 0], "cluster"] = NO_NEIGHBOURS
    has = cardinality > 0
    tested = idx[has]
    if len(tested) < MIN_AREAS:
        return out
    position = np.cumsum(has) - 1  # an area's position among those tested (an island has no pair to remap)
    w = weights(len(tested), position[left], position[right])
    w.transform = "r"
    with warnings.catch_warnings(), np.errstate(invalid="ignore", divide="ignore"):
        warnings.simplefilter("ignore")
        if population is None:
            lisa = esda.Moran_Local(counts[tested], w, permutations=permutations, seed=seed)
        else:
            lisa = esda.Moran_Local_Rate(
                counts[tested], population[tested], w, adjusted=True, permutations=permutations, seed=seed
            )
    p_fdr = bh_adjust(np.asarray(lisa.p_sim, dtype=float))
    significant = p_fdr <= fdr
    quadrant = np.asarray(lisa.q, dtype=int)
    out.loc[tested, "I"] = np.asarray(lisa.Is, dtype=float)
    out.loc[tested, "p_sim"] = np.asarray(lisa.p_sim, dtype=float)
    out.loc[tested, "p_fdr"] = p_fdr
    out.loc[tested, "cluster"] = np.where(significant, [QUADRANTS[q] for q in quadrant], NOT_SIGNIFICANT)
    return out
