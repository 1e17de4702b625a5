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


def _percent(level: int) -> str:
    return f"{level}%"


def group_table(
    cells: pd.DataFrame,
    record_cell: np.ndarray,
    code: np.ndarray,
    area: np.ndarray,
    n: np.ndarray,
    labels: Mapping[str, str],
    patterns: np.ndarray | None,
) -> pd.DataFrame:
    """One row per hot spot group, most records first: where it is, its size, and what happens there.

    `cells` is the per-cell frame with a `group` column; `record_cell`, `code`, `area`, `n` describe the
    aggregated record rows (cell id, ICCS level-2 code, area, records); `patterns` the emerging category per cell.
    Keeps the count-weighted projected centre in `x`, `y` for the map.
    """
    hot = cells[cells["group"] > 0]
    if hot.empty:
        return pd.DataFrame()
    record_group = cells["group"].to_numpy()[record_cell]
    grouped = record_group > 0
    mix = top_mix(record_group[grouped], code[grouped], n[grouped], labels)
    near = modal(record_group[grouped], area[grouped], n[grouped])
    weighted = hot.assign(wx=hot["x"] * hot["count"], wy=hot["y"] * hot["count"])
    table = weighted.groupby("group").agg(
        cells=("cell", "size"),
        records=("count", "sum"),
        confidence=("confidence", "max"),
        wx=("wx", "sum"),
        wy=("wy", "sum"),
        mx=("x", "mean"),
        my=("y", "mean"),
        lon=("lon", "mean"),
        lat=("lat", "mean"),
    )
    has_records = table["records"] > 0
    safe = table["records"].where(has_records, 1.0)
    out = pd.DataFrame(
        {
            "Hot spot": [f"HS{g}" for g in table.index],
            "Near": [near.get(g) or "(no area recorded)" for g in table.index],
            "Centre": [lonlat_text(lo, la) for lo, la in zip(table["lon"], table["lat"], strict=True)],
            "Cells": table["cells"].to_numpy(),
            "Records": table["records"].to_numpy().astype(np.int64),
            "Share of records": (table["records"] / max(float(cells["count"].sum()), 1.0)).map("{:.1%}".format),
            "Highest confidence": table["confidence"].map(_percent).to_numpy(),
        }
    )
    if patterns is not None:
        per_cell = pd.Series(np.asarray(patterns)[hot.index], index=hot.index)
        majority = per_cell.groupby(hot["group"]).agg(lambda s: s.value_counts().index[0])
        out["Pattern over the years (most cells)"] = majority.reindex(table.index).to_numpy()
    out["Top ICCS categories (level 2)"] = [mix.get(g, "") for g in table.index]
    out["x"] = np.where(has_records, table["wx"] / safe, table["mx"])
    out["y"] = np.where(has_records, table["wy"] / safe, table["my"])
    return out.sort_values("Records", ascending=False, kind="stable").reset_index(drop=True)


def hot_cell_table(
    cells: pd.DataFrame,
    record_cell: np.ndarray,
    code: np.ndarray,
    area: np.ndarray,
    n: np.ndarray,
    labels: Mapping[str, str],
    patterns: np.ndarray | None,
) -> pd.DataFrame:
    """One row per hot cell, strongest first, with its main area and offence mix."""
    hot = cells[cells["hot"]]
    if hot.empty:
        return pd.DataFrame()
    is_hot = cells["hot"].to_numpy()[record_cell]
    mix = top_mix(record_cell[is_hot], code[is_hot], n[is_hot], labels)
    main_area = modal(record_cell[is_hot], area[is_hot], n[is_hot])
    hot = hot.sort_values("z", ascending=False)
    out = pd.DataFrame(
        {
            "Cell": hot["cell"].to_numpy(),
            "Centre": [lonlat_text(lo, la) for lo, la in zip(hot["lon"], hot["lat"], strict=True)],
            "Area (most records)": [main_area.get(c) or "" for c in hot["cell"]],
            "Records": hot["count"].to_numpy().astype(np.int64),
            "Gi* z": hot["z"].round(2).to_numpy(),
            "FDR-adjusted p": hot["p_fdr"].to_numpy(),
            "Confidence": hot["confidence"].map(_percent).to_numpy(),
            "Group": [f"HS{g}" for g in hot["group"]],
        }
    )
    if patterns is not None:
        out["Pattern over the years"] = np.asarray(patterns)[hot.index]
    out["Top ICCS categories (level 2)"] = [mix.get(c, "") for c in hot["cell"]]
    return out


def pattern_table(patterns: np.ndarray, records: np.ndarray, meaning: Mapping[str, str]) -> pd.DataFrame:
    """Locations and records per emerging pattern, in the order of `meaning`."""
    frame = pd.DataFrame({"Pattern": patterns, "records": records})
    table = frame.groupby("Pattern", as_index=False).agg(Cells=("records", "size"), Records=("records", "sum"))
    table["Records"] = table["Records"].astype(np.int64)
    table["Meaning"] = table["Pattern"].map(meaning)
    order = {c: i for i, c in enumerate(meaning)}
    return table.sort_values("Pattern", key=lambda s: s.map(order)).reset_index(drop=True)
