"""Emerging hot spots: how each location's Gi* significance and intensity changed over the periods.

esda has no emerging-hot-spot analysis, so it is built the way ESRI's Emerging Hot Spot Analysis is
described: Gi* per period (here a purely spatial neighbourhood per period, not ESRI's space-time
neighbourhood), BH-controlled significance per period, and a Mann-Kendall trend test on each location's series
of Gi values (ESRI uses the z-scores; see "Trends" below; vectorised, identical to pymannkendall's
`original_test`, which the tests check).
Categories, checked in this order for hot spots (cold spots mirror them with hot and cold swapped and the trend
reversed):

- intensifying / persistent / diminishing: hot in >= 90 % of periods including the last one, with a
  significant increasing / no / a significant decreasing trend of Gi;
- historical: not hot in the last period, and either hot in >= 90 % of periods (ESRI's rule, possible only with
  10 or more periods) or hot in one uninterrupted run of >= 2 periods from the first period and never after
  (our addition, the time-reverse of "consecutive"; see below);
- new: hot in the last period and never before;
- consecutive: one uninterrupted run of >= 2 hot periods ending with the last, never hot before the run;
- sporadic: hot in the last period and in some earlier ones, with gaps, and never a cold spot;
- oscillating: hot in the last period and in some earlier ones, and a cold spot in at least one period;
- no pattern: none of these (including locations hot only in some middle periods).
A location matching a hot and a cold pattern (only possible with 10+ periods) takes the pattern of its state
in the last period. As in ESRI's tool, only locations with at least one record in some period are classified;
the others ("no records", e.g. the empty ring at the edge of a grid's study area) still count as zeros in
their neighbours' Gi*, but a place where nothing was ever recorded is not called an intensifying cold spot just
because records grew elsewhere.

Why "historical" is extended: ESRI's classes describe a place that *started* being hot (new, consecutive) at
any series length, but a place that *stopped* only through the 90 % rule, which a series of fewer than ten
periods can never meet ("diminishing" needs the place still hot in the last period). On six yearly maps a
cluster hot in 2019-2021 and gone since, whose Gi* z-scores fall from ~25 to ~1, was "no pattern". Its mirror
image in time, hot from the first period in one run and never since, is the same evidence as "consecutive" read
backwards, so it takes the class that means "no longer hot". A place hot only in some middle years stays "no
pattern", as one hot only in some middle years does for the emerging classes.

Trends: ESRI tests a Mann-Kendall trend of the yearly Gi* z-scores. A z-score says how surprising a
neighbourhood is on that year's map, so it moves whenever the rest of the map changes: when one cluster stops,
the map's variance falls and every other hot spot's z rises. On synthetic maps of a steady cluster beside one
that stops after three of six years, the z-score trend called the steady cluster "intensifying" in 6 of its 20
cells over five seeds. The trend is therefore tested on Gi itself, the neighbourhood's share of the map's total
(on the transformed scale): unchanged when the whole map grows or shrinks in proportion, up only when the place
gains on the rest; 0 of 20 steady cells got a trend, and a cluster that grows every year is still
"intensifying" (tests/test_hotspot_stats.py). The test runs at `trend_alpha` per location without a
multiple-testing correction, as ESRI's does, so a few percent of steady hot spots get a trend by chance (35 of
the demo's ~1,530 nearly-always-hot cells).

Missing periods: a period in which the source has no record at all is *excluded* from the series (its
absence says the data are missing, not that no crime happened); it is not treated as a map of zeros, which
would read as a sudden cold spot everywhere. Gi* compares a cell with the map of the same period, so a period
that is only partly covered (a year that starts in June) still gives comparable z-scores. Periods outside the
source's coverage window (``warehouse.coverage``: e.g. the decades of late-reported old offences before an
extract) are not passed in at all: they are absent, not cold, so a place hot throughout the window is persistent,
not "new" or "consecutive".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm

from reports.stats.hotspot import (
    DEFAULT_FDR,
    DEFAULT_SEED,
    DEFAULT_TRANSFORM,
    Engine,
    Transform,
    gi_star,
    prepare_weights,
)

DEFAULT_TREND_ALPHA = 0.05
MIN_PERIODS = 3
NO_PATTERN = "no pattern"
NO_RECORDS = "no records"
_PATTERNS = ("new", "consecutive", "intensifying", "persistent", "diminishing", "sporadic", "oscillating", "historical")
MEANING: dict[str, str] = {
    NO_PATTERN: "no significant pattern over the periods",
    NO_RECORDS: "no record in any period: not classified",
    "new hot spot": "hot in the last period only",
    "consecutive hot spot": "hot in an unbroken run of recent periods only",
    "intensifying hot spot": "hot in >= 90% of periods, getting hotter",
    "persistent hot spot": "hot in >= 90% of periods, no trend",
    "diminishing hot spot": "hot in >= 90% of periods, cooling",
    "sporadic hot spot": "hot now and on and off before, never cold",
    "oscillating hot spot": "hot now, a cold spot in an earlier period",
    "historical hot spot": "no longer hot: hot in >= 90% of periods, or in one run from the first, not in the last",
    "new cold spot": "cold in the last period only",
    "consecutive cold spot": "cold in an unbroken run of recent periods only",
    "intensifying cold spot": "cold in >= 90% of periods, getting colder",
    "persistent cold spot": "cold in >= 90% of periods, no trend",
    "diminishing cold spot": "cold in >= 90% of periods, warming",
    "sporadic cold spot": "cold now and on and off before, never hot",
    "oscillating cold spot": "cold now, a hot spot in an earlier period",
    "historical cold spot": "no longer cold: cold in >= 90% of periods, or in one run from the first, not in the last",
}
CATEGORIES: tuple[str, ...] = (
    *(f"{p} hot spot" for p in _PATTERNS),
    *(f"{p} cold spot" for p in _PATTERNS),
    NO_PATTERN,
)


@dataclass(frozen=True)
class EmergingResult:
    """Per-location classes (`frame`) plus the per-period z-scores and significance they came from."""

    frame: pd.DataFrame
    periods: tuple
    excluded_periods: tuple
    permutations: int
    z: np.ndarray
    hot: np.ndarray
    cold: np.ndarray


def _mostly(sig: np.ndarray) -> np.ndarray:
    # ">= 90 % of periods" in integers, so 9 of 10 counts and float rounding never decides a class.
    return sig.sum(axis=0) * 10 >= 9 * sig.shape[0]


def _pattern(sig: np.ndarray, other: np.ndarray, trend: np.ndarray) -> np.ndarray:
    """The pattern name (without 'hot/cold spot') of each location for one side; '' when none applies."""
    final = sig[-1]
    n_sig = sig.sum(axis=0)
    run = np.cumprod(sig[::-1], axis=0).sum(axis=0)  # length of the significant run ending in the last period
    lead = np.cumprod(sig, axis=0).sum(axis=0)  # length of the significant run starting in the first period
    mostly = _mostly(sig)
    ever_other = other.any(axis=0)
    return np.select(
        [
            mostly & final & (trend > 0),
            mostly & final & (trend < 0),
            mostly & final,
            mostly & ~final,
            ~final & (lead >= 2) & (n_sig == lead),
            final & (n_sig == 1),
            final & (run >= 2) & (n_sig == run),
            final & ~ever_other,
            final & ever_other,
        ],
        [
            "intensifying",
            "diminishing",
            "persistent",
            "historical",
            "historical",
            "new",
            "consecutive",
            "sporadic",
            "oscillating",
        ],
        "",
    )


def mann_kendall(z: np.ndarray, alpha: float = DEFAULT_TREND_ALPHA) -> pd.DataFrame:
    """Mann-Kendall trend test of every column of `z` (periods x locations) at once.

    The same statistic, tie-corrected variance, continuity correction and two-sided normal p-value as
    `pymannkendall.original_test` (the tests compare them column by column), computed for thousands of
    locations in numpy instead of one Python call per location (~0.7 ms each). Columns without any variation
    get p = 1 and no trend.
    """
    z = np.asarray(z, dtype=float)
    t_len = z.shape[0]
    s = np.zeros(z.shape[1])
    for i in range(t_len - 1):  # pairs of periods, a few dozen at most
        s += np.sign(z[i + 1 :] - z[i]).sum(axis=0)
    ordered = np.sort(z, axis=0)
    ties = np.zeros(z.shape[1])
    run = np.ones(z.shape[1])
    for i in range(1, t_len + 1):  # close each group of equal values: t(t-1)(2t+5)
        same = ordered[i] == ordered[i - 1] if i < t_len else np.zeros(z.shape[1], dtype=bool)
        ties += np.where(same, 0.0, run * (run - 1) * (2 * run + 5))
        run = np.where(same, run + 1, 1.0)
    var_s = (t_len * (t_len - 1) * (2 * t_len + 5) - ties) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(s > 0, (s - 1) / np.sqrt(var_s), np.where(s < 0, (s + 1) / np.sqrt(var_s), 0.0))
    score = np.where(var_s > 0, score, 0.0)
    p = 2 * norm.sf(np.abs(score))
    significant = np.abs(score) > norm.ppf(1 - alpha / 2)
    direction = np.where(significant, np.sign(score), 0).astype(np.int64)
    return pd.DataFrame({"s": s, "var_s": var_s, "z": score, "p": p, "direction": direction})


def classify(
    z: np.ndarray,
    hot: np.ndarray,
    cold: np.ndarray,
    *,
    trend_alpha: float = DEFAULT_TREND_ALPHA,
    trend_values: np.ndarray | None = None,
) -> pd.DataFrame:
    """Categories from per-period z-scores and hot/cold flags (arrays of shape periods x locations); the trend
    is tested on `trend_values` (same shape) when given, else on the z-scores."""
    z = np.asarray(z, dtype=float)
    hot = np.asarray(hot, dtype=bool)
    cold = np.asarray(cold, dtype=bool)
    needs_trend = (_mostly(hot) & hot[-1]) | (_mostly(cold) & cold[-1])
    trend_test = mann_kendall(z if trend_values is None else np.asarray(trend_values, dtype=float), trend_alpha)
    direction = np.where(needs_trend, trend_test["direction"].to_numpy(), 0)
    trend_p = np.where(needs_trend, trend_test["p"].to_numpy(), np.nan)
    hot_pattern = _pattern(hot, cold, direction)
    cold_pattern = _pattern(cold, hot, -direction)  # a falling Gi intensifies a cold spot
    use_cold = (cold_pattern != "") & ((hot_pattern == "") | cold[-1])
    category = np.where(
        use_cold,
        np.char.add(cold_pattern.astype(str), " cold spot"),
        np.where(hot_pattern != "", np.char.add(hot_pattern.astype(str), " hot spot"), NO_PATTERN),
    )
    trend = np.where(direction > 0, "increasing", np.where(direction < 0, "decreasing", "no trend"))
    trend = np.where(needs_trend, trend, "not tested")
    return pd.DataFrame(
        {
            "category": category.astype(object),
            "periods_hot": hot.sum(axis=0),
            "periods_cold": cold.sum(axis=0),
            "trend": trend.astype(object),
            "trend_p": trend_p,
            "z_last": z[-1],
        }
    )


def emerging_hotspots(
    counts: np.ndarray,
    periods: Sequence,
    graph,
    *,
    permutations: int | None = None,
    fdr: float = DEFAULT_FDR,
    seed: int = DEFAULT_SEED,
    trend_alpha: float = DEFAULT_TREND_ALPHA,
    engine: Engine = "shared",
    transform: Transform = DEFAULT_TRANSFORM,
) -> EmergingResult:
    """Classify each location from `counts` (periods x locations) on binary weights `graph`.

    Periods whose counts are all zero (or missing) are excluded; at least MIN_PERIODS must remain.
    Each period's permutations use their own seed (`seed` + position) so periods are independent draws.
    """
    counts = np.asarray(counts, dtype=float)
    periods = tuple(periods)
    if counts.ndim != 2 or counts.shape[0] != len(periods):
        raise ValueError("counts must be a periods x locations array with one row per period")
    present = np.isfinite(counts).all(axis=1) & (counts.sum(axis=1) > 0)
    used = tuple(p for p, ok in zip(periods, present, strict=True) if ok)
    excluded = tuple(p for p, ok in zip(periods, present, strict=True) if not ok)
    if len(used) < MIN_PERIODS:
        raise ValueError(f"emerging hot spots need at least {MIN_PERIODS} periods with data, got {len(used)}")
    rows = counts[present]
    weights = prepare_weights(graph)
    z = np.empty_like(rows)
    gi = np.empty_like(rows)
    hot = np.zeros(rows.shape, dtype=bool)
    cold = np.zeros(rows.shape, dtype=bool)
    for t in range(rows.shape[0]):  # one Gi* per period (a handful), never per location
        stats = gi_star(
            rows[t], weights, permutations=permutations, fdr=fdr, seed=seed + t, engine=engine, transform=transform
        )
        permutations = stats.attrs["permutations"]
        z[t] = stats["z"].to_numpy()
        gi[t] = stats["gi"].to_numpy()
        hot[t] = stats["hot"].to_numpy()
        cold[t] = stats["cold"].to_numpy()
    frame = classify(z, hot, cold, trend_alpha=trend_alpha, trend_values=gi)
    empty = rows.sum(axis=0) == 0
    frame.loc[empty, "category"] = NO_RECORDS
    frame.loc[empty, "trend"] = "not tested"
    frame.loc[empty, "trend_p"] = np.nan
    return EmergingResult(frame, used, excluded, permutations, z, hot, cold)


def on_all_locations(result: EmergingResult, locations: np.ndarray, n: int) -> EmergingResult:
    """A result computed on some `locations` (indices into n, e.g. the study area's cells) spread over all n:
    the others had no record in any period, so they are NO_RECORDS, never hot or cold, z 0."""
    locations = np.asarray(locations, dtype=np.int64)
    frame = pd.DataFrame(
        {
            "category": np.full(n, NO_RECORDS, dtype=object),
            "periods_hot": np.zeros(n, dtype=np.int64),
            "periods_cold": np.zeros(n, dtype=np.int64),
            "trend": np.full(n, "not tested", dtype=object),
            "trend_p": np.full(n, np.nan),
            "z_last": np.zeros(n),
        }
    )
    for column in frame.columns:
        values = frame[column].to_numpy(copy=True)
        values[locations] = result.frame[column].to_numpy()
        frame[column] = values

    def spread(values: np.ndarray, fill) -> np.ndarray:
        out = np.full((values.shape[0], n), fill, dtype=values.dtype)
        out[:, locations] = values
        return out

    return EmergingResult(
        frame,
        result.periods,
        result.excluded_periods,
        result.permutations,
        spread(result.z, 0.0),
        spread(result.hot, False),
        spread(result.cold, False),
    )
