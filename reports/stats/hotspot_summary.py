"""Describing hot spots for people: contiguous groups of hot cells, their offence mix and where they are.

A map of 900 flagged cells is read as a handful of places. Hot cells that touch (including diagonally, the
same queen neighbourhood Gi* uses) form one group; each group is described by its records, its most common
ICCS categories and the area name most of its records carry. Everything is vectorised over record rows.

A group of the map of all years is a contiguous hot area, and a planted emerging cluster 6 km from a town joins
the town's group when the hot cells between them touch: naming a group after the pattern of most of its cells
called such a cluster "a persistent hot spot" (on the demo, the 20 consecutive cells around the retail park
planted in 2022 among the 117 of their town's group, 81 of them persistent). Groups therefore report their
mix of patterns, and the places that changed (cells of an emerging or a no-longer-hot pattern) are grouped
apart, each family on its own (`change_table`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

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


def _share_text(share: float) -> str:
    return "<1%" if 0 < share < 0.005 else f"{share:.0%}"


def top_mix(
    keys: np.ndarray,
    codes: np.ndarray,
    weights: np.ndarray,
    labels: Mapping[str, str],
    top: int = 3,
    *,
    show_code: bool = True,
) -> pd.Series:
    """For each key (cell or group), its `top` codes by records as 'Label (code) 45%; Label (code) 20%'."""
    frame = pd.DataFrame({"key": keys, "code": codes, "n": weights})
    frame = frame.groupby(["key", "code"], as_index=False, sort=False)["n"].sum()
    if frame.empty:
        return pd.Series(dtype=object)
    frame["share"] = frame["n"] / frame.groupby("key")["n"].transform("sum")
    frame = frame.sort_values(["key", "n", "code"], ascending=[True, False, True])
    frame = frame.groupby("key", sort=False).head(top)
    frame["text"] = [
        f"{labels.get(code, code)} ({code}) {_share_text(share)}"
        if show_code
        else f"{labels.get(code, code)} {_share_text(share)}"
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


EMERGING: tuple[str, ...] = ("new hot spot", "consecutive hot spot", "intensifying hot spot")
FADING: tuple[str, ...] = ("historical hot spot", "diminishing hot spot")
CHANGES: dict[str, tuple[str, tuple[str, ...]]] = {"E": ("emerging", EMERGING), "F": ("no longer hot", FADING)}


def short_pattern(category: str) -> str:
    """'persistent hot spot' -> 'persistent'; cold spots and 'no pattern' keep their name."""
    return category.removesuffix(" hot spot")


def pattern_mix(keys: np.ndarray, patterns: np.ndarray) -> pd.Series:
    """For each key (a group), its cells by pattern, most common first: 'persistent 95, sporadic 15, new 2'."""
    frame = pd.DataFrame({"key": keys, "pattern": patterns})
    counts = frame.groupby(["key", "pattern"], sort=False).size().reset_index(name="cells")
    counts = counts.sort_values(["key", "cells", "pattern"], ascending=[True, False, True])
    counts["text"] = [f"{short_pattern(p)} {c:,}" for p, c in zip(counts["pattern"], counts["cells"], strict=True)]
    return counts.groupby("key", sort=False)["text"].agg(", ".join)


# tally(key per cell, column, category_only) -> (key, value, records) rows over the records of the cells whose
# key is > 0: `reports.hotspots.binning.Tally`, summed in DuckDB or over record rows in Python
Tally = Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]]


def group_table(
    cells: pd.DataFrame, tally: Tally, labels: Mapping[str, str], patterns: np.ndarray | None
) -> pd.DataFrame:
    """One row per hot spot group, most records first: where it is, its size, and what happens there.

    `cells` is the per-cell frame with a `group` column; `tally` sums the records of the groups' cells per ICCS
    level-2 code and per area; `patterns` the emerging category per cell. Keeps the count-weighted projected
    centre in `x`, `y` for the map.
    """
    hot = cells[cells["group"] > 0]
    if hot.empty:
        return pd.DataFrame()
    group = cells["group"].to_numpy()
    mix = top_mix(*tally(group, "code"), labels)
    near = modal(*tally(group, "area"))
    table = place_frame(cells.drop(columns="group"), cells["group"].to_numpy(), hot.index.to_numpy())
    confidence = hot.groupby("group")["confidence"].max().reindex(table.index)
    out = pd.DataFrame(
        {
            "Hot spot": [f"HS{g}" for g in table.index],
            "Near": [near.get(g) or "(no area recorded)" for g in table.index],
            "Centre": [lonlat_text(lo, la) for lo, la in zip(table["lon"], table["lat"], strict=True)],
            "Cells": table["cells"].to_numpy(),
            "Records": table["records"].to_numpy().astype(np.int64),
            "Share of records": (table["records"] / max(float(cells["count"].sum()), 1.0)).map("{:.1%}".format),
            "Highest confidence": confidence.map(_percent).to_numpy(),
        }
    )
    if patterns is not None:
        mix_of = pattern_mix(hot["group"].to_numpy(), np.asarray(patterns)[hot.index])
        out["Patterns over the years (cells)"] = mix_of.reindex(table.index).to_numpy()
    out["Top ICCS categories (level 2)"] = [mix.get(g, "") for g in table.index]
    out["x"] = table["x"].to_numpy()
    out["y"] = table["y"].to_numpy()
    return out.sort_values("Records", ascending=False, kind="stable").reset_index(drop=True)


def hot_cell_table(
    cells: pd.DataFrame, tally: Tally, labels: Mapping[str, str], patterns: np.ndarray | None
) -> pd.DataFrame:
    """One row per hot cell, strongest first, with its main area and offence mix."""
    hot = cells[cells["hot"]]
    if hot.empty:
        return pd.DataFrame()
    key = np.where(cells["hot"].to_numpy(), cells["cell"].to_numpy() + 1, 0)  # cell id + 1: 0 is "not hot"
    keys, codes, n = tally(key, "code")
    mix = top_mix(keys - 1, codes, n, labels)
    keys, areas, n = tally(key, "area")
    main_area = modal(keys - 1, areas, n)
    hot = hot.sort_values("z", ascending=False)
    out = pd.DataFrame(
        {
            "Cell": hot["cell"].astype(str).to_numpy(),  # an identifier: no thousands separator
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


def change_table(
    cells: pd.DataFrame,
    patterns: np.ndarray,
    periods: tuple,
    hot_by_period: np.ndarray,
    per_year: np.ndarray,
    years: np.ndarray,
    tally: Tally,
    nrows: int,
    ncols: int,
) -> pd.DataFrame:
    """One row per place that changed, emerging places first, largest (cells, then records) first in each family.

    A place is a contiguous set of cells (queen) whose pattern is in one family: emerging (new, consecutive,
    intensifying) or no longer hot (historical, diminishing). `periods` and `hot_by_period` (periods x cells)
    are the yearly Gi* flags; `per_year` (years x cells) the records per year; `tally` sums the records of a
    place's cells per area. "Hot in" lists the periods in which at least half of the place's cells were hot.
    Keeps the count-weighted projected centre in `x`, `y` for the map.
    """
    patterns = np.asarray(patterns)
    counts = cells["count"].to_numpy()
    parts = []
    for change, family in CHANGES.values():
        member = np.isin(patterns, family)
        if not member.any():
            continue
        place = label_groups(member, nrows, ncols, weights=counts)
        idx = np.flatnonzero(member)
        ids = place[idx]
        table = place_frame(cells, place, idx)
        keys = table.index.to_numpy()
        size = table["cells"].to_numpy()
        near = modal(*tally(np.where(member, place, 0), "area"))
        mix_of = pattern_mix(ids, patterns[idx])
        hot_cells = np.stack([np.bincount(ids, weights=h[idx], minlength=keys.max() + 1)[keys] for h in hot_by_period])
        yearly = np.stack([np.bincount(ids, weights=c[idx], minlength=keys.max() + 1)[keys] for c in per_year])
        hot_years = 2 * hot_cells >= size[None, :]
        period_text = np.array([str(p) for p in periods], dtype=object)
        parts.append(
            pd.DataFrame(
                {
                    "Place": "",
                    "Change": change,
                    "Near": [near.get(k) or "(no area recorded)" for k in keys],
                    "Centre": [lonlat_text(lo, la) for lo, la in zip(table["lon"], table["lat"], strict=True)],
                    "Cells": size,
                    "Patterns (cells)": [mix_of.get(k, "") for k in keys],
                    "Hot in (half its cells or more)": [
                        ", ".join(period_text[hot_years[:, j]]) or "no single year" for j in range(keys.size)
                    ],
                    f"Records by year {years[0]}–{years[-1]}": [
                        " / ".join(f"{int(v):,}" for v in yearly[:, j]) for j in range(keys.size)
                    ],
                    "Records": table["records"].to_numpy().astype(np.int64),
                    "Within hot spot group": table["within"].to_numpy(),
                    "x": table["x"].to_numpy(),
                    "y": table["y"].to_numpy(),
                }
            )
        )
    if not parts:
        return pd.DataFrame()
    out = pd.concat(parts, ignore_index=True)
    order = {change: i for i, (change, _) in enumerate(CHANGES.values())}
    out = out.assign(_rank=out["Change"].map(order))
    out = out.sort_values(["_rank", "Cells", "Records"], ascending=[True, False, False], kind="stable")
    out = out.drop(columns="_rank").reset_index(drop=True)
    prefix = {change: key for key, (change, _) in CHANGES.items()}
    out["Place"] = out["Change"].map(prefix) + (out.groupby("Change").cumcount() + 1).astype(str)  # in table order
    return out


def place_frame(cells: pd.DataFrame, place: np.ndarray, idx: np.ndarray) -> pd.DataFrame:
    """Per place id (index): cells, records, mean lon/lat, the count-weighted projected centre `x`, `y` (the
    plain mean where a place has no record) and `within`, the hot spot groups (HS ids) its cells lie in.
    `place` is the place id per cell of `cells`, `idx` the cells that belong to a place."""
    count = cells["count"].to_numpy()[idx]
    x = cells["x"].to_numpy()[idx]
    y = cells["y"].to_numpy()[idx]
    frame = pd.DataFrame(
        {
            "place": place[idx],
            "count": count,
            "wx": x * count,
            "wy": y * count,
            "x": x,
            "y": y,
            "lon": cells["lon"].to_numpy()[idx],
            "lat": cells["lat"].to_numpy()[idx],
        }
    )
    table = frame.groupby("place").agg(
        cells=("count", "size"),
        records=("count", "sum"),
        wx=("wx", "sum"),
        wy=("wy", "sum"),
        mx=("x", "mean"),
        my=("y", "mean"),
        lon=("lon", "mean"),
        lat=("lat", "mean"),
    )
    has_records = table["records"] > 0
    safe = table["records"].where(has_records, 1.0)
    table["x"] = np.where(has_records, table["wx"] / safe, table["mx"])
    table["y"] = np.where(has_records, table["wy"] / safe, table["my"])
    within = pd.Series("none", index=table.index, dtype=object)
    if "group" in cells:
        pairs = pd.DataFrame({"place": place[idx], "group": cells["group"].to_numpy()[idx]})
        pairs = pairs[pairs["group"] > 0].drop_duplicates().sort_values(["place", "group"])
        if not pairs.empty:
            text = ("HS" + pairs["group"].astype(str)).groupby(pairs["place"]).agg(", ".join)
            within.loc[text.index] = text
    table["within"] = within
    return table.drop(columns=["wx", "wy", "mx", "my"])


def mix_group_table(
    cells: pd.DataFrame,
    mix_group: np.ndarray,
    tally: Tally,
    kind_name: Callable[[str], str],
    overall_share: float,
    name: str,
) -> pd.DataFrame:
    """One row per contiguous group of cells where the category `name` is over-represented, most category
    records first.

    `mix_group` is the group id per cell (0 = none); `tally` sums the category's records of the groups' cells per
    sub-category (e.g. the Target 16.4 component, named by `kind_name`) and per area. Shares are over the group's
    own cells. Keeps the count-weighted projected centre in `x`, `y` for the map.
    """
    mix_group = np.asarray(mix_group)
    if not (mix_group > 0).any():
        return pd.DataFrame()
    table = place_frame(cells, mix_group, np.flatnonzero(mix_group > 0))
    keys = table.index.to_numpy()
    groups, kinds, n = tally(mix_group, "component", True)
    k = np.bincount(groups, weights=n, minlength=keys.max() + 1)[keys]
    share = k / table["records"].where(table["records"] > 0, 1.0).to_numpy()
    near = modal(*tally(mix_group, "area", True))
    names = {c: kind_name(c) for c in pd.unique(kinds)}
    mix = top_mix(groups, kinds, n, names, show_code=False)
    out = pd.DataFrame(
        {
            "Place": [f"M{g}" for g in keys],
            "Near": [near.get(g) or "(no area recorded)" for g in keys],
            "Centre": [lonlat_text(lo, la) for lo, la in zip(table["lon"], table["lat"], strict=True)],
            "Cells": table["cells"].to_numpy(),
            "Records": table["records"].to_numpy().astype(np.int64),
            f"{name} records": k.astype(np.int64),
            f"{name} share": [f"{v:.1%}" for v in share],
            "Times the overall share": np.round(share / overall_share, 1) if overall_share > 0 else np.nan,
            f"{name} offences": [mix.get(g, "") for g in keys],
            "Within hot spot group": table["within"].to_numpy(),
            "x": table["x"].to_numpy(),
            "y": table["y"].to_numpy(),
        }
    )
    return out.sort_values(f"{name} records", ascending=False, kind="stable").reset_index(drop=True)
