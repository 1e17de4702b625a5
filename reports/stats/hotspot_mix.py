"""Category-mix hot spots: where one kind of offence makes up more of the recorded crime than on the whole map.

Gi* on counts finds where most crime is recorded, which mostly follows where people live, work and go out: on the
200k-record demo every one of its 67 hot spot groups is centred within 1.5 km of a town centre, and each of the
five planted clusters merges into the hot spot group of its town. To ask where a *kind* of offence (e.g. the
Target 16.4 offences: trafficking, organised crime, corruption) is over-represented, the question is about its
share among all records. Gi* on each cell's share is not sound: a cell with one record has a share of 0 or 1, a
cell with 1,000 records a share known to a percent, and no transform makes such values exchangeable, so the sparse
countryside would make the hot spots.

The test used instead conditions on where the records are (random labelling, the case-control null of spatial
epidemiology, as in Kulldorff's Bernoulli model). The N records stay where they are; under the null the K of the
category are a random K of them. A cell's neighbourhood (the cell and its queen neighbours in the study area:
Gi*'s window) holds n_i records, k_i of the category, and under the null k_i is hypergeometric(N, K, n_i)
*exactly*: this is the permutation distribution of Gi*'s neighbourhood sum of the category's counts when the
labels of records, rather than the values of cells, are shuffled. So the one-sided p-value P(X >= k_i) needs no
permutations and no normal approximation, and a neighbourhood with 3 records cannot look extreme because its share
is 100 %: P(3 of 3) = (K/N)^3 is small, but nowhere near what Benjamini-Hochberg over 80,000 cells needs unless
several such places agree. BH runs over the cells whose neighbourhood holds a record; the tests of overlapping
windows are positively dependent, the case in which BH is proven to hold, and those of disjoint windows slightly
negatively (sampling without replacement), which the null simulations below show is harmless. Three safeguards, all
stated on the page, which only ever remove flags: a flagged cell needs at least MIN_CATEGORY_RECORDS of the
category in its neighbourhood, as one incident recorded as several offences is not several independent labels;
a share at least MIN_RATIO times the overall one there, as with 10,000 records in a town centre a share of 5.2 %
against 4.7 % is "significant" and means nothing; and a record of the category in the cell itself, so that the
empty cells around a flagged one, whose neighbourhood is mostly that cell, are not called places with a high
share of anything. The result says where the category is over-represented *among recorded offences*, so a place
where other offences are rarely recorded (little footfall) can show a high share of a rare category without
much of it.

Measured on the 200k-record demo (three seeds): with the Target 16.4 labels dealt at random among the demo's own
records (exact random labelling, every flag false) no cell is flagged in 20 of 20 maps per seed; on the real
labels exactly the two planted clusters made of Target 16.4 offences are flagged (drug and firearms trafficking at
the docks, H1: 7 of 7 cells; trafficking in persons on a waterfront, H4: 11 of 11), as two places of 14-24 cells
where the share is 32-50 times the overall 1.7 %, and nothing else: not the towns, not the other clusters
(assault, theft, burglary). The minimum count and ratio removed no cell there; requiring a record of the category
in the cell removed 29 of 64 (cells around the clusters holding none). On synthetic maps with three towns of ten
times the records, 0 of 50 maps with random labels had a flag, and a planted disc where half the records are of
the category was found whole in 5 of 5 (tests/test_hotspot_stats.py).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import hypergeom

from reports.stats.hotspot import DEFAULT_FDR, Weights, bh_adjust, confidence_of

MIN_CATEGORY_RECORDS = 10
MIN_RATIO = 1.5


def mix_hotspots(
    total: np.ndarray,
    category: np.ndarray,
    weights: Weights,
    *,
    fdr: float = DEFAULT_FDR,
    min_records: int = MIN_CATEGORY_RECORDS,
    min_ratio: float = MIN_RATIO,
) -> pd.DataFrame:
    """Over-representation of a category among records, per location (same order as `total`).

    `total` is all records per location, `category` those of the category (<= total), `weights` the binary
    neighbours (e.g. `grid_weights(grid, area)`). Returns the neighbourhood counts `n_window`, `k_window`, the
    neighbourhood `share`, its `ratio` to the overall share, the one-sided random-labelling `p`, the BH-adjusted
    `p_fdr`, the `confidence` (0/90/95/99) and the `hot` flag (significant, and with `min_records` of the category
    and `min_ratio` times the overall share in the neighbourhood, and a record of the category in the location);
    attrs hold the overall `share`, `records` (N), `category_records` (K) and `tested` (locations with a record in
    their neighbourhood).
    """
    total = np.asarray(total, dtype=float)
    category = np.asarray(category, dtype=float)
    if total.shape != category.shape or (category > total).any() or (category < 0).any():
        raise ValueError("category counts must be non-negative and no larger than the totals, location by location")
    n_all = int(round(total.sum()))
    k_all = int(round(category.sum()))
    n_window = np.rint(weights.adjacency @ total + total).astype(np.int64)
    k_window = np.rint(weights.adjacency @ category + category).astype(np.int64)
    p = np.ones(total.size)
    if n_all > 0 and k_all > 0:
        some = k_window > 0  # P(X >= 0) = 1
        p[some] = hypergeom.sf(k_window[some] - 1, n_all, k_all, n_window[some])
    tested = n_window > 0
    p_fdr = np.ones(total.size)
    p_fdr[tested] = bh_adjust(p[tested])
    overall = k_all / n_all if n_all else 0.0
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(n_window > 0, k_window / np.maximum(n_window, 1), np.nan)
        ratio = share / overall if overall > 0 else np.full(total.size, np.nan)
    confidence = confidence_of(p_fdr, fdr)
    hot = (confidence > 0) & (k_window >= min_records) & (np.nan_to_num(ratio) >= min_ratio) & (category > 0)
    confidence[~hot] = 0
    frame = pd.DataFrame(
        {
            "n_window": n_window,
            "k_window": k_window,
            "share": share,
            "ratio": ratio,
            "p": p,
            "p_fdr": p_fdr,
            "confidence": confidence,
            "hot": hot,
        }
    )
    frame.attrs.update(
        share=overall,
        records=n_all,
        category_records=k_all,
        tested=int(tested.sum()),
        min_records=min_records,
        min_ratio=min_ratio,
    )
    return frame
