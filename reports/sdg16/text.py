"""The words of sdg16.html: the fixed explanations and the sentence per country of a victims indicator."""

from __future__ import annotations

import pandas as pd

from reports import numbers, trend_tables
from reports.sdg16.series import latest_rows

CAVEAT = (
    "Recorded crime reflects reporting and recording practice as well as crime: a rise can mean more crime, "
    "more reporting, or more police activity (especially for trafficking, drugs and corruption, which are "
    "mostly found by enforcement)."
)
NO_RATES = "No population for these countries and years: no rate per 100,000 to chart; the table has the counts."
MATCHING = (
    "Records count under their own ICCS code only (exact match to the indicator's code list, which includes "
    "sub-categories), so no record is counted twice and records coded more coarsely than the indicator "
    "(e.g. 0601 'drugs' for 06012 'drug trafficking') are left out."
)


def when(row: pd.Series) -> str:
    """'in 2023', or 'in 2023, a partial year with records in 6 of 12 months, ...' for a year the source did not
    fully cover."""
    text = f"in {int(row['year'])}"
    if bool(row["partial"]):
        text += f", a partial year with records in {int(row['months'])} of 12 months, not an annual figure"
    return text


def no_rate_reason(row: pd.Series) -> str:
    """Why a count has no rate: its national figure sums areas without a population, which nothing shows make up
    the country (v_national_population 'none'), or there is no population at all."""
    if row.get("population_basis") == "none":
        return (
            f"no rate: the figure adds up areas without a population ({row['areas_without_population']}), which "
            "need not make up the country, and the whole country's population would understate the rate"
        )
    return "no population for a rate"


def territory_note(row: pd.Series) -> str:
    """' (per 100,000 of the population of its areas, ...)' where the rate's denominator is the source's areas
    only (v_national_population 'areas'), else ''."""
    if row.get("population_basis") != "areas":
        return ""
    return " (of the population of the source's areas only, not the whole country: its figure counts only them)"


def correspondence_note(row: pd.Series) -> str:
    """' Partial correspondence: ...' when some of the row's count comes through a correspondence row marked
    partial (v_national_counts.partial_correspondence), else ''."""
    if not bool(row.get("partial_correspondence", False)):
        return ""
    count, part = float(row["count"]), float(row["partial_count"])
    share = f"all {count:,.0f}" if part >= count else f"{part:,.0f} of the {count:,.0f}"
    return (
        f" Partial correspondence: {share} {row['unit']} come from national "
        f"{'codes' if ',' in str(row['partial_codes']) else 'code'} {row['partial_codes']} of "
        f"{row['source']}, which its correspondence table marks as only partly the indicator's ICCS category: "
        "quote with that caveat."
    )


def correspondence_column(frame: pd.DataFrame) -> pd.Series:
    """A table's 'correspondence' column: 'partial: 09A (120 of 130)' where some of a row's count comes through
    a correspondence row marked partial, else ''."""
    partial = frame["partial_correspondence"].fillna(False).astype(bool)
    text = (
        "partial: "
        + frame["partial_codes"].fillna("").astype(str)
        + " ("
        + frame["partial_count"].fillna(0).map("{:,.0f}".format)
        + " of "
        + frame["count"].fillna(0).map("{:,.0f}".format)
        + ")"
    )
    return text.where(partial, "")


def country_sentence(country: str, data: pd.DataFrame, trends: pd.DataFrame, codes: list[str], breaks) -> str:
    """What the table shows for one country: the indicator (victims) where recorded, else the other unit apart;
    a rate where there is a population, else the count; partial years flagged."""
    mine = data[(data["country"] == country) & data["count"].notna()]
    victims = mine[mine["unit"] == "victims"]
    rated = latest_rows(victims, "rate_per_100k")
    if not rated.empty:
        r = rated.iloc[0]
        t = trends[(trends["country"] == country) & (trends["unit"] == "victims") & (trends["source"] == r["source"])]
        trend = ""
        if not t.empty:
            tr = t.iloc[0]
            rate = tr["change_measure"] == "rate per 100,000"  # else tested on counts (a year without population)
            trend = " " + trend_tables.change_sentence("The rate" if rate else "The count", tr, show_measure=False)
            trend += trend_tables.break_note(breaks, tr["source"], codes, tr["first_year"], tr["last_year"])
        return (
            f"{country}: {numbers.rate_with_caution(r['rate_per_100k'], r['count'])} victims per 100,000"
            f"{territory_note(r)} {when(r)}."
            f"{correspondence_note(r)}{trend}"
        )
    if not victims.empty:
        r = latest_rows(victims, "count").iloc[0]
        return f"{country}: {r['count']:,.0f} victims {when(r)}; {no_rate_reason(r)}.{correspondence_note(r)}"
    rated = latest_rows(mine, "rate_per_100k")
    if not rated.empty:
        r = rated.iloc[0]
        return (
            f"{country}: no victim counts; {r['unit']} only "
            f"({numbers.rate_with_caution(r['rate_per_100k'], r['count'])} per 100,000{territory_note(r)} "
            f"{when(r)}), "
            "shown separately because they are not the indicator's unit." + correspondence_note(r)
        )
    r = latest_rows(mine, "count").iloc[0]
    return (
        f"{country}: no victim counts; {r['unit']} only ({r['count']:,.0f} {when(r)}; {no_rate_reason(r)}), "
        "shown separately because they are not the indicator's unit." + correspondence_note(r)
    )
