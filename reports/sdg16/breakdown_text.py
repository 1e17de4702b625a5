"""The words of the breakdowns by sex and age on sdg16.html: definitions, coverage and the summary sentences."""

from __future__ import annotations

import pandas as pd

from reports import numbers, tables
from reports.disaggregated import coverage_words
from reports.sdg16.breakdowns import SERIES

FULL = 0.995  # a breakdown covering at least this share of the total is called complete
SHOWN_SERIES = 5  # series named one by one in the summary; the table has the others
SHOWN_GAPS = 8  # partial or absent breakdowns listed by name


def definition_sex(codes: str) -> str:
    return (
        f"By sex: the indicator's count (ICCS {codes}, each record on its exact code, as above) by the victim's sex "
        "as the source records it (for counts of suspects, prosecuted or convicted persons, the perpetrator's): "
        "male, female, and not known where the source records victims whose sex it does not know. Each rate is "
        "per 100,000 of the population of the same sex and year (all victims over the whole population); a "
        "value with no population of its own (not known) has a count and no rate, and rates are given only where "
        "the national figure counts the whole country."
    )


DEFINITION_AGE = (
    "By age group: the count of each age group as the source groups ages (UNODC: 0-9, 10-14, 15-17, 18-19, 20-24, "
    "25-29, 30-44, 45-59, 60 and over), per 100,000 of the population of the same sex and age group; where the "
    "population is not given by age there is no rate, and the chart shows each group's share of the victims "
    "of its sex instead. The chart and table show each series' latest full year with an age breakdown."
)
COVERAGE = (
    "Sex known: male and female victims over all victims of the same source, country and year; age group known: "
    "victims in an age group (any sex) over all victims. The rest is either recorded as not known, or not broken "
    "down by the source (it publishes the total only, or its breakdown for some codes, months or ages only); a "
    "share above 100% means the source's parts add up to more than its total."
)
READ_FROM = (
    "v_sdg16_by_sex_age (each breakdown from the coarsest rows the source publishes, so no total is added to its "
    "parts), population by sex and age from v_population_by_sex_age; years inside each source's coverage window."
)


def name(row: pd.Series) -> str:
    """'MEX' or 'MEX (unodc_homicide, offences)' when the series is not the indicator's victims."""
    return row["country"] + ("" if row["unit"] == "victims" else f" ({row['source']}, {row['unit']}, not victims)")


def counted(unit: str) -> str:
    """What a count of `unit` counts, for a coverage sentence: 'victims', 'the offences'."""
    return "victims" if unit == "victims" else f"the {unit}"


def _year(row: pd.Series) -> str:
    return f"{int(row['year'])}" + (" (a partial year)" if bool(row.get("partial", False)) else "")


def absent_sentence(indicator: str, countries: list[str], total: int) -> str:
    """Which countries with the indicator have no breakdown by sex at all ('' when every one has)."""
    if not countries:
        return ""
    shown = ", ".join(countries[:SHOWN_GAPS]) + (
        f" and {len(countries) - SHOWN_GAPS} more" if len(countries) > SHOWN_GAPS else ""
    )
    return f"No breakdown by sex or age for {len(countries)} of {total} countries with {indicator}: {shown}."


def partial_sentence(coverage: pd.DataFrame, what: str) -> str:
    """Of the latest year of each series: how many breakdowns are complete, and which are partial and by how much."""
    if coverage.empty:
        return ""
    latest = coverage.sort_values("year").groupby(SERIES, as_index=False).tail(1)
    complete = latest[(latest["known_share"] >= FULL) & (latest["known_share"] <= 2 - FULL)]
    partial = latest.drop(complete.index).sort_values("known_share")
    if partial.empty:
        return (
            f"{what.capitalize()} known for at least {tables.percent(100 * FULL)} of the count in the latest year of "
            "every series."
        )
    listed = [
        f"{name(r)} {_year(r)}: "
        + coverage_words(r["known_share"], r["unknown_share"], r["missing_share"], what, counted(r["unit"]))
        for _, r in partial.head(SHOWN_GAPS).iterrows()
    ]
    more = f"; and {len(partial) - SHOWN_GAPS} more (the table's column says)" if len(partial) > SHOWN_GAPS else ""
    lead = (
        f"{what.capitalize()} known for at least {tables.percent(100 * FULL)} of the count in the latest year of "
        f"{len(complete)} of {len(latest)} "
        f"series; partial in {len(partial)}"
        if len(complete)
        else f"By {what}, partial in the latest year of every series"
    )
    return f"{lead}: " + "; ".join(listed) + more + "."


def series_sentences(table: pd.DataFrame) -> list[str]:
    """For the largest series (by all victims in their latest year with rates by sex): the male and female rates
    and how much of the total the breakdown covers."""
    rated = table.dropna(subset=[c for c in ("rate_per_100k_M", "rate_per_100k_F") if c in table], how="all")
    if rated.empty or "count__T" not in rated:
        return []
    latest = (
        rated.assign(full=~rated["partial"].eq(True))
        .sort_values(["full", "year"])
        .groupby(SERIES, as_index=False)
        .tail(1)
    )
    sentences = []
    for _, r in latest.sort_values("count__T", ascending=False).head(SHOWN_SERIES).iterrows():
        rates = [
            f"{numbers.rate(r[column])} {word}"
            for column, word in (("rate_per_100k_M", "male"), ("rate_per_100k_F", "female"))
            if column in r and pd.notna(r[column])
        ]
        overall = f" (all: {numbers.rate(r['rate_per_100k__T'])})" if pd.notna(r.get("rate_per_100k__T")) else ""
        sentences.append(
            f"{name(r)} {_year(r)}: {' and '.join(rates)} {r['unit']} per 100,000 of the same sex{overall}; "
            + coverage_words(r["sex_known_share"], 0.0, 0.0, "sex", counted(r["unit"]))
            + "."
        )
    if len(latest) > SHOWN_SERIES:
        sentences.append(f"The table has the other {len(latest) - SHOWN_SERIES} series.")
    return sentences


def age_sentence(ages: pd.DataFrame) -> str:
    """The highest rate of an age group and sex in the latest year (the largest series), or '' without rates."""
    rated = ages[ages["rate_per_100k"].notna() & ages["known_age"]]
    if rated.empty:
        return ""
    top = rated.sort_values("rate_per_100k", ascending=False).iloc[0]
    sex = "" if top["sex"] == "_T" else f"{top['sex_label'].lower()} "
    who = f"{sex}victims aged " if top["unit"] == "victims" else f"{top['unit']} against {sex}victims aged "
    return (
        f"Highest rate of an age group in a series' latest year: {name(top)} {_year(top)}, {who}{top['age_label']}, "
        f"{numbers.rate(top['rate_per_100k'])} per 100,000 of that group."
    )
