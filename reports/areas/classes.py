"""The classes of an area map, from ``mapclassify``.

Levels (counts, rates) are classed by **quantiles**: each class holds about the same number of areas, so every
colour is used and a single extreme area cannot wash the others into one class; ``ICCS_AREA_CLASSES=fisher_jenks``
uses Fisher-Jenks natural breaks instead (classes as internally alike as possible). Changes are classed on fixed
breaks symmetric around zero (a fall is blue, a rise red, "about the same" white), so that the same colour means
the same change on every map.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass

import numpy as np

SCHEMES = ("quantiles", "fisher_jenks")
DEFAULT_SCHEME = "quantiles"
LEVEL_CLASSES = 5
LEVEL_COLOURS = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")  # ColorBrewer YlOrRd
CHANGE_BREAKS = (-50.0, -20.0, -5.0, 5.0, 20.0, 50.0)  # per cent
CHANGE_COLOURS = ("#2166ac", "#67a9cf", "#d1e5f0", "#f7f7f7", "#fddbc7", "#ef8a62", "#b2182b")  # RdBu, reversed


@dataclass(frozen=True)
class Classes:
    index: np.ndarray  # class of each value, -1 where the value is missing
    labels: tuple[str, ...]  # one per class, lowest first
    colours: tuple[str, ...]
    scheme: str  # how they were made, for "About these data"


def scheme() -> str:
    chosen = os.environ.get("ICCS_AREA_CLASSES", DEFAULT_SCHEME).strip().lower()
    if chosen not in SCHEMES:
        raise ValueError(f"ICCS_AREA_CLASSES: '{chosen}' is not one of {', '.join(SCHEMES)}")
    return chosen


def level_classes(values: np.ndarray, fmt) -> Classes:
    """Quantile (or Fisher-Jenks) classes of counts or rates; ``fmt`` writes a bound."""
    import mapclassify

    values = np.asarray(values, dtype=float)
    ok = np.isfinite(values)
    index = np.full(len(values), -1)
    distinct = np.unique(values[ok])
    if not len(distinct):
        return Classes(index, (), (), "no values")
    k = min(LEVEL_CLASSES, len(distinct))
    name = scheme()
    if k < 2:
        index[ok] = 0
        return Classes(index, (f"{fmt(distinct[0])}",), (LEVEL_COLOURS[-1],), "one value")
    with warnings.catch_warnings():  # mapclassify warns when ties merge classes; fewer classes are then drawn
        warnings.simplefilter("ignore")
        classifier = (
            mapclassify.Quantiles(values[ok], k=k) if name == "quantiles" else mapclassify.FisherJenks(values[ok], k=k)
        )
    bins = np.asarray(classifier.bins, dtype=float)
    index[ok] = classifier.yb
    lows = [float(values[ok].min()), *bins[:-1]]
    labels = tuple(f"{fmt(lo)} – {fmt(hi)}" for lo, hi in zip(lows, bins, strict=True))
    colours = tuple(LEVEL_COLOURS[round(i * (LEVEL_CLASSES - 1) / max(len(bins) - 1, 1))] for i in range(len(bins)))
    described = (
        f"{len(bins)} quantile classes (about the same number of areas in each; mapclassify.Quantiles)"
        if name == "quantiles"
        else f"{len(bins)} Fisher-Jenks natural-break classes (mapclassify.FisherJenks)"
    )
    return Classes(index, labels, colours, described)


def change_classes(percent: np.ndarray) -> Classes:
    """Fixed classes of a change in per cent, symmetric around no change."""
    percent = np.asarray(percent, dtype=float)
    ok = np.isfinite(percent)
    index = np.full(len(percent), -1)
    index[ok] = np.searchsorted(np.asarray(CHANGE_BREAKS), percent[ok], side="right")
    b = CHANGE_BREAKS
    labels = (
        f"fell by more than {-b[0]:g}%",
        f"fell {-b[1]:g}–{-b[0]:g}%",
        f"fell {-b[2]:g}–{-b[1]:g}%",
        f"within ±{b[3]:g}%",
        f"rose {b[3]:g}–{b[4]:g}%",
        f"rose {b[4]:g}–{b[5]:g}%",
        f"rose by more than {b[5]:g}%",
    )
    described = "fixed classes of the change in per cent: " + ", ".join(labels)
    return Classes(index, labels, CHANGE_COLOURS, described)
