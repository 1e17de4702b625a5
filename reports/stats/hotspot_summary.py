"""Describing hot spots for people: contiguous groups of hot cells, their offence mix and where they are.

A map of 900 flagged cells is read as a handful of places. Hot cells that touch (including diagonally, the
same queen neighbourhood Gi* uses) form one group; each group is described by its records, its most common
ICCS categories and the area name most of its records carry. Everything is vectorised over record rows.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import ndimage

_QUEEN = np.ones((3, 3), dtype=int)


def label_groups(mask: np.ndarray, nrows: int, ncols: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Group id per cell id (0 = not in a group), numbered 1, 2, ... by decreasing total `weights` of the group
    (its records; by default its number of cells), ties by position."""
    labels, count = ndimage.label(np.asarray(mask, dtype=bool).reshape(nrows, ncols), structure=_QUEEN)
    flat = labels.ravel()
    if count == 0:
        return flat
    w = None if weights is None else np.asarray(weights, dtype=float)
    sizes = np.bincount(flat, weights=w, minlength=count + 1)[1:]
    order = np.argsort(-sizes, kind="stable")
    rank = np.zeros(count + 1, dtype=np.int64)
    rank[order + 1] = np.arange(1, count + 1)
    return rank[flat]


def top_mix(
    keys: np.ndarray, codes: np.ndarray, weights: np.ndarray, labels: Mapping[str, str], top: int = 3
) -> pd.Series:
    """For each key (cell or group), its `top` ICCS codes by records as 'Label 45 %; Label 20 %'."""
    frame = pd.DataFrame({"key": keys, "code": codes, "n": weights})
    frame = frame.groupby(["key", "code"], as_index=False, sort=False)["n"].sum()
    if frame.empty:
        return pd.Series(dtype=object)
    frame["share"] = frame["n"] / frame.groupby("key")["n"].transform("sum")
    frame = frame.sort_values(["key", "n", "code"], ascending=[True, False, True])
    frame = frame.groupby("key", sort=False).head(top)
    frame["text"] = [
        f"{labels.get(code, code)} ({code}) {share:.0%}"
        for code, share in zip(frame["code"], frame["share"], strict=True)
    ]
    return frame.groupby("key", sort=False)["text"].agg("; ".join)


def modal(keys: np.ndarray, values: np.ndarray, weights: np.ndarray) -> pd.Series:
    """The value with the most records per key (ties: alphabetical); missing values are ignored."""
    frame = pd.DataFrame({"key": keys, "value": values, "n": weights}).dropna(subset=["value"])
    if frame.empty:
        return pd.Series(dtype=object)
    frame = frame.groupby(["key", "value"], as_index=False, sort=False)["n"].sum()
    frame = frame.sort_values(["key", "n", "value"], ascending=[True, False, True])
    return frame.groupby("key", sort=False)["value"].first()


def lonlat_text(lon: float, lat: float) -> str:
    """'36.955° N, 149.954° W' for a point."""
    ns = "N" if lat >= 0 else "S"
    ew = "E" if lon >= 0 else "W"
    return f"{abs(lat):.3f}° {ns}, {abs(lon):.3f}° {ew}"
