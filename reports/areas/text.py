"""The words of areas.html: figures rounded to what they can bear, and the sentences under each map."""

from __future__ import annotations

import pandas as pd

from reports import numbers
from reports.areas.data import SMALL_POPULATION
from reports.numbers import SMALL_COUNT

INTRO = (
    "Recorded crime by area: the count and, where the area's population is known, the rate per 100,000 "
    "residents in the latest full year of each source's coverage window, and how it changed since the first "
    "full year of that window. Areas are drawn on the shapes of the source's boundaries file; a source "
    "without one gets ranked dot plots of its areas instead.\n\n"
    f"A rate resting on fewer than {SMALL_COUNT} records moves a lot by chance: such areas are outlined "
    "(dotted) on the maps, drawn hollow on the dot plots and flagged in the tables, and every rate has its "
    "95% interval in the table. Counts are police-recorded crime: they also reflect reporting and recording."
)
FLAG = f"fewer than {SMALL_COUNT} records: rate unreliable"
POPULATION_FLAG = f"population under {SMALL_POPULATION:,}: each record weighs 20 or more per 100,000"
FLAGGED = "rate unreliable (few records or a small population)"


def rounded(value: float | None) -> str:
    """A rate or class bound by the reports' one rule (`numbers.rate`), '–' for none."""
    text = numbers.rate(value)
    return text or "–"


def percent(value: float | None) -> str:
    """A change with its sign always visible and a true minus ('+12 %', '−40 %'), '–' for none."""
    text = numbers.signed_pct(value, decimals=0)
    return text or "–"


def latest_text(g: pd.DataFrame) -> str:
    """The year the figures are of: '2023'; '2018 (3 months only)' where the source has no full year; each
    country's own where a table mixes countries whose latest years differ."""
    years = sorted({int(y) for y in g["latest"]})
    text = str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]} (each country's latest)"
    partial = g[g["partial"].fillna(False).astype(bool)]
    if len(partial):
        months = sorted({int(m) for m in partial["months"].dropna()})
        covered = "/".join(map(str, months)) or "some"
        text += f" ({covered} month{'' if months == [1] else 's'} with records only: not a full year)"
    return text


def first_text(g: pd.DataFrame) -> str | None:
    """The first full year the change is measured from, or None where there is none before the latest."""
    years = sorted({int(y) for y in g["first"].dropna()})
    if not years:
        return None
    return str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]} (each country's first)"


def level_sentence(g: pd.DataFrame, value: str, unit: str, per: str) -> str:
    """The highest and lowest areas among those whose figure is reliable, and how many rest on small counts."""
    figured = g.dropna(subset=[value])
    if figured.empty:
        return f"No area has a figure in {per}."
    latest = latest_text(g)
    flagged = figured["small"] | figured["small_population"]
    reliable = figured[~flagged] if value == "rate_per_100k" else figured
    parts = [f"In {latest}, {numbers.plural(len(figured), 'area')} have a figure."]
    if len(reliable):
        ranked = reliable.sort_values(value, ascending=False)
        top, low = ranked.iloc[0], ranked.iloc[-1]
        among = " among the reliable rates" if len(reliable) < len(figured) else ""
        parts.append(
            f"The highest{among} is {top['label']} ({rounded(top[value])} {per}), "
            f"the lowest {low['label']} ({rounded(low[value])})."
        )
        if len(ranked) > 1 and low[value] > 0 and value == "rate_per_100k":  # counts of unequal areas: no ratio
            parts.append(f"The highest is {top[value] / low[value]:,.1f} times the lowest.")
    small = int(figured["small"].sum())
    if small and value == "rate_per_100k":
        parts.append(
            f"{numbers.plural(small, 'area')} recorded fewer than {SMALL_COUNT} {unit}: "
            "their rates are unreliable, flagged and left out of the highest and lowest."
        )
    tiny = int((figured["small_population"] & ~figured["small"]).sum())
    if tiny and value == "rate_per_100k":
        parts.append(
            f"{numbers.plural(tiny, 'area')} more with {POPULATION_FLAG[0].lower()}{POPULATION_FLAG[1:]}: flagged too."
        )
    missing = int(g["population"].isna().sum())
    if missing and value == "rate_per_100k":
        parts.append(f"{numbers.plural(missing, 'area')} without a population for {latest} get no rate.")
    return " ".join(parts)


def change_sentence(g: pd.DataFrame, measure: str) -> str:
    ok = g.dropna(subset=["change_pct"])
    if ok.empty:
        return "The coverage window has a single full year: no change is shown."
    first, latest = first_text(g), latest_text(g)
    rose, fell = int((ok["change_pct"] > 5).sum()), int((ok["change_pct"] < -5).sum())
    steady = len(ok) - rose - fell
    return (
        f"From {first} to {latest}, the {measure} rose by more than 5% in {numbers.plural(rose, 'area')}, fell by more "
        f"than 5% in {numbers.plural(fell, 'area')} and stayed within ±5% in {numbers.plural(steady, 'area')}. "
        "A change between small counts is mostly chance: read it with the counts in the table."
    )
