"""The words of hotspots.html: the fixed explanations and the sentences that summarise each map."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from reports.stats.hotspot_emerging import MEANING, NO_PATTERN, EmergingResult
from reports.stats.hotspot_grid import Grid

if TYPE_CHECKING:
    from reports.hotspots.analysis import MixResult

CAVEAT = (
    "A hot spot is a place where recorded offences concentrate relative to the rest of the same map. Counts "
    "are not divided by population or footfall, so town centres are expected to stand out; recorded crime "
    "also reflects reporting and recording practice."
)
FOLLOWS_PEOPLE = (
    "Gi* on counts finds where most offences are recorded, which mostly follows where people live, work and go "
    "out: a hot spot is a busy place, not necessarily a place of unusual crime."
)
MIX_NAME = "Target 16.4"
MIX_WHAT = "Target 16.4 offences (trafficking of drugs, arms, persons and wildlife, migrant smuggling, "
MIX_WHAT += "organised crime, money laundering, corruption, terrorism financing)"
MIX_METHOD = (
    "Random labelling: where records are is taken as given, and the Target 16.4 records are compared with a random "
    "draw of as many records among all of them (exact hypergeometric p-value of each cell's neighbourhood, the cell"
    " and its 8 neighbours in the study area: the permutation test of Gi* when record labels are shuffled); one-"
    "sided (higher share only); Benjamini-Hochberg over the cells with a record in their neighbourhood; a flagged "
    "cell also needs at least {min} Target 16.4 records in its neighbourhood (one incident recorded as several "
    "offences is not several independent labels), a share there at least {ratio:g} times the overall one (with "
    "thousands of records a trivially higher share is significant) and a Target 16.4 record of its own. Gi* on each"
    " cell's share is not used: a cell with one record has a share of 0 or 1, so the sparse countryside would make "
    "the hot spots. Records count under their own ICCS code when it is on the Target 16.4 code list (sub-categories"
    " included), as on the SDG 16 page."
)
SIGNIFICANCE = (
    "Significance comes from conditional permutations (the cell keeps its own value, its neighbours' values are "
    "drawn at random from the map), which stay exact however skewed the counts are; Benjamini-Hochberg keeps "
    "the expected share of false hot spots among those flagged at the chosen rate."
)
VALUES = {
    "sqrt": "Gi* is computed on the square root of the records per {unit} (the variance-stabilising transform of "
    "counts): on raw counts a random neighbourhood that happens to include one very busy {unit} reaches the total "
    "of a consistently busy one, so smaller clusters near towns could not be told from chance.",
    "none": "Gi* is computed on the records per {unit} as they are (the classic statistic).",
}
HOT_PATTERNS = tuple(c for c in MEANING if c.endswith("hot spot"))


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def emerging_note(emerging: EmergingResult | None, reason: str, trend_alpha: float) -> str:
    if emerging is None:
        return reason
    excluded = ""
    if emerging.excluded_periods:
        years = ", ".join(str(p) for p in emerging.excluded_periods)
        excluded = f"; years without any record are left out, not read as zero: {years}"
    return (
        f"Gi* per year ({emerging.periods[0]}–{emerging.periods[-1]}, {len(emerging.periods)} years{excluded}), "
        f"{emerging.permutations:,} permutations each; ESRI's emerging hot spot categories with two changes: the "
        f"Mann-Kendall trend (at {trend_alpha:.0%} per place, so a few percent of steady hot spots get one by "
        "chance) is tested on each year's Gi, the neighbourhood's share of the map's total, not on its z-score, "
        "which rises for every other hot spot when one cluster stops; and 'historical' is also given to places hot "
        "from the first year in one unbroken run and not since (ESRI's rule, hot in 90% of the years but not the "
        "last, needs 10 or more years); places never recorded are not classified"
    )


def pattern_sentence(emerging: EmergingResult, unit_word: str, locations: np.ndarray | None = None) -> str:
    """Counts of hot spot patterns over `locations` (a mask; all locations by default)."""
    frame = emerging.frame if locations is None else emerging.frame[locations]
    last_hot = emerging.hot[-1] if locations is None else emerging.hot[-1][locations]
    counts = frame["category"].value_counts()
    parts = [plural(int(counts[c]), c) for c in HOT_PATTERNS if counts.get(c, 0)]
    span = f"{emerging.periods[0]}–{emerging.periods[-1]}"
    text = f"Year by year ({span}): " + (", ".join(parts) if parts else "no hot spot pattern") + f" ({unit_word})."
    formerly = int(((frame["periods_hot"] > 0).to_numpy() & ~last_hot & (frame["category"] == NO_PATTERN)).sum())
    if formerly:
        text += (
            f" {plural(formerly, unit_word.removesuffix('s'))} "
            f"{'was a hot spot' if formerly == 1 else 'were hot spots'} "
            f"in some earlier years but not in {emerging.periods[-1]}, "
            "neither in nearly all years nor in one run from the first year, so they count as no pattern."
        )
    return text


def changes_sentence(changes: pd.DataFrame, shown: int = 3) -> str:
    if changes.empty:
        return "No place has an emerging or a no-longer-hot pattern."
    records_by_year = next(c for c in changes.columns if c.startswith("Records by year"))
    span = records_by_year.removeprefix("Records by year ")
    parts = []
    for change, rows in changes.groupby("Change", sort=False):
        listed = "; ".join(
            f"{row['Place']} near {row['Near']} ({plural(int(row['Cells']), 'cell')}, hot in "
            f"{row['Hot in (half its cells or more)']}; records {span}: {row[records_by_year]})"
            for _, row in rows.head(shown).iterrows()
        )
        more = f" and {len(rows) - shown:,} more" if len(rows) > shown else ""
        parts.append(f"{plural(len(rows), 'place')} {change}: {listed}{more}.")
    return (
        "Places whose cells share an emerging pattern (new, consecutive, intensifying) or a no-longer-hot one "
        "(historical, diminishing), grouped apart from the hot spot groups above, which can join them to a "
        "neighbouring busy place. " + " ".join(parts)
    )


def mix_sentence(mix: MixResult, fdr: float, shown: int = 3) -> str:
    text = (
        f"{MIX_WHAT} are {mix.share:.1%} of the mapped records ({mix.records:,}). This map asks where they make up "
        "more of the records than that, whatever the number of records, so busy town centres do not stand out "
        "for being busy."
    )
    if mix.groups.empty:
        return text + f" Nowhere is their share significantly higher at a false discovery rate of {fdr:.0%}."
    n_cells = int(mix.cells["hot"].sum())
    listed = "; ".join(
        f"{row['Place']} near {row['Near']} ({row[f'{MIX_NAME} share']}, {row['Times the overall share']:g} times "
        f"the overall share: {row[f'{MIX_NAME} offences']})"
        for _, row in mix.groups.head(shown).iterrows()
    )
    more = f" and {len(mix.groups) - shown:,} more" if len(mix.groups) > shown else ""
    return (
        text + f" Their share is significantly higher (false discovery rate {fdr:.0%}) in {plural(n_cells, 'cell')} "
        f"forming {plural(len(mix.groups), 'place')}: {listed}{more}."
    )


def grid_summary(grid: Grid, cells: pd.DataFrame, groups: pd.DataFrame, fdr: float) -> str:
    size = f"{grid.cell_size / 1000:g} km"
    n_hot = int(cells["hot"].sum())
    if n_hot == 0:
        text = (
            f"No {size} cell is a hot spot at a false discovery rate of {fdr:.0%}: the records are not "
            "concentrated more than random placement would produce on this map."
        )
    else:
        first = groups.iloc[0]
        mix = str(first["Top ICCS categories (level 2)"]).split("; ")[0]
        text = (
            f"{n_hot:,} of the {int(cells['tested'].sum()):,} cells of the study area ({size} cells) are hot spots at "
            f"a false discovery rate of {fdr:.0%}, forming {plural(len(groups), 'group')} of touching cells. The "
            f"largest by records, {first['Hot spot']} near {first['Near']} ({first['Centre']}), covers "
            f"{first['Cells']:,} cells and {first['Records']:,} records ({first['Share of records']} of all)"
            + (f", mostly {mix}." if mix else ".")
        )
        if "Patterns over the years (cells)" in groups:
            text += (
                " Cells by pattern over the years: "
                + "; ".join(
                    f"{row['Hot spot']} (near {row['Near']}) {row['Patterns over the years (cells)']}"
                    for _, row in groups.head(3).iterrows()
                )
                + "."
            )
        text += " " + FOLLOWS_PEOPLE
    n_cold = int(cells["cold"].sum())
    if n_cold:
        empty = int((cells["cold"] & (cells["count"] == 0)).sum())
        text += (
            f" {plural(n_cold, 'cell')} {'is a cold spot' if n_cold == 1 else 'are cold spots'} (far fewer "
            f"records around them than on the map as a whole), {empty:,} of them without a single record."
        )
    return text


def area_summary(areas: pd.DataFrame, fdr: float, no_grid: str, with_points: int) -> str:
    """The hot and cold areas; with geocoded records too few for a grid (`with_points` > 0), why the page falls
    back to areas."""
    hot = areas[areas["hot"]].sort_values("z", ascending=False)
    if hot.empty:
        summary = f"No area is a hot spot at a false discovery rate of {fdr:.0%} among {len(areas)} areas."
    else:
        names = ", ".join(hot["label"].head(5)) + (" and others" if len(hot) > 5 else "")
        summary = f"{len(hot)} of {len(areas)} areas are hot spots at a false discovery rate of {fdr:.0%}: {names}."
    n_cold = int(areas["cold"].sum())
    if n_cold:
        summary += f" {plural(n_cold, 'area')} {'is a cold spot' if n_cold == 1 else 'are cold spots'}."
    if with_points > 0:
        summary = f"{no_grid[0].upper()}{no_grid[1:]}, so the records are analysed by area. {summary}"
    return summary
