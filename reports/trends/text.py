"""The words of trends.html: the fixed explanations, the column names of the change tables, and the sentences
that summarise the changes."""

from __future__ import annotations

import pandas as pd

from reports import numbers, trend_tables
from reports.charts import RATE
from reports.trend_tables import MIN_RECORDS

CAVEAT = "Recorded crime reflects reporting and recording practice as well as crime itself."
YOY_TEST = (
    "A change counts as significant when an exact test on the two yearly counts (the later count as Binomial(n, "
    f"1/2) given their sum n, i.e. Poisson counts with the same rate) gives p<0.05 and the two years hold at least "
    f"{MIN_RECORDS} records together; changes are ranked by that p-value. 'Change in count' is computed from the "
    "two counts, 'change in rate per 100,000' from the two rates. " + trend_tables.HEADLINE_RULE
)
# Tables and CSVs name a change of counts `count_change_pct` and of rates `rate_change_pct`, never a bare
# `change_pct` that a reader could take for either.
COUNT_CHANGE = {"change_pct": "count_change_pct"}
YOY_LABELS = {
    "year_previous": "previous year",
    "count_previous": "count, previous year",
    "year_latest": "latest year",
    "count_latest": "count, latest year",
    "count_change_pct": "change in count",
    "rate_change_pct": "change in rate per 100,000",
    "p_value": "p (exact test)",
}
SIGNIFICANCE = (
    "Mann-Kendall test with Sen's slope (pymannkendall). Monthly data: seasonal Mann-Kendall on monthly counts "
    "(each calendar month against itself); annual data: original test on full years, on rates per 100,000 when "
    "every year has a population, otherwise counts. '% per year' is Sen's slope divided by the median level. A "
    f"trend is called significant only with p<0.05 and at least {MIN_RECORDS} records in the first and last full "
    "year together; below that, one record more or less swings the change, and the verdict says 'too few "
    "records'. Categories are ranked by significance, then by the size of the slope; the summary names the "
    "strongest significant rise and the strongest significant fall. The table gives the change in the count "
    "beside the two counts, and the change in the rate per 100,000 beside the two rates. "
    + trend_tables.HEADLINE_RULE
    + " The CSV also holds the test used, the measure tested, the number of periods, Sen's slope and the direction."
)
RATE_DEFINITION = (
    "Rate per 100,000 = count x 100,000 / population of the same country (and area) and year; "
    "absent where that population is missing."
)


def partial_note(frame: pd.DataFrame) -> pd.Series:
    months = frame["months"].fillna(0).astype(int).astype(str)
    return "partial year: " + months + " of 12 months, not comparable with full years"


def hover_format(menu: str) -> str:
    """Rates by the reports' one rule (`numbers.rate`), counts as whole numbers."""
    return RATE if "per 100,000" in menu else ",.0f"


def small_rates(frame: pd.DataFrame, measure: str = "measure") -> pd.Series:
    """Rows of a rate (the `measure` says 'per 100,000') on fewer than numbers.SMALL_COUNT records."""
    is_rate = frame[measure].astype(str).str.contains("per 100,000", regex=False)
    return is_rate & frame["count"].lt(numbers.SMALL_COUNT)


def across(breaks: pd.DataFrame, row: pd.Series) -> str:
    """The series breaks inside the years a trend-table row compares, as a sentence (or '')."""
    return trend_tables.break_note(breaks, row["source"], [row["iccs_code"]], row["first_year"], row["last_year"])


def change_text(row: pd.Series, unit: str) -> str:
    """'rose 18% from 400 offences in 2023 to 470 offences in 2024': the counts and years always beside the
    percentage, which is left out as trend_tables.HEADLINE_RULE says."""
    return trend_tables.change_words(
        row["count_previous"],
        row["count_latest"],
        row["year_previous"],
        row["year_latest"],
        row["count_previous"],
        unit=unit,
    )


def changes_sentence(y: pd.DataFrame, unit: str, *, lead: str, with_country: bool) -> str:
    """The most significant rise and fall from the previous to the latest full year (exact test on counts, with
    at least MIN_RECORDS records in the two years), or that no change goes beyond chance."""
    first, last = int(y["year_previous"].min()), int(y["year_latest"].max())
    years = f"{first} to {last}" if first + 1 == last else f"the previous to the latest full year ({first}–{last})"
    sig = y[y["significant"]].sort_values("p_value")
    parts = []
    for word, rows in (("rise", sig[sig["change"] > 0]), ("fall", sig[sig["change"] < 0])):
        if not rows.empty:
            r = rows.iloc[0]
            where = f"{r['country']}, " if with_country else ""
            parts.append(f"the clearest {word} is {r['label']} ({where}{change_text(r, unit)})")
    test = f"exact test on counts, p<0.05, at least {MIN_RECORDS} records in the two years"
    if not parts:
        return f"{lead}{years}: no change goes beyond chance ({test})."
    return (
        f"{lead}{years}: " + "; ".join(parts) + f". {len(sig)} of {len(y)} changes are significant ({test}); "
        "the others are within chance or rest on too few records."
    )


def no_change_reason(g: pd.DataFrame) -> str:
    """Why a dataset has no year-over-year change, in one line."""
    covered = g[g["months"].notna()]
    years = sorted(covered["year"].unique())
    full = sorted(covered.loc[~covered["partial"].astype(bool), "year"].unique())
    if len(years) <= 1:
        return f"One year of data ({years[0] if years else 'none'}): no year-over-year change."
    if not full:
        return (
            "No full year (every year has fewer than 12 months with records): no year-over-year change, since "
            "partial years are not compared."
        )
    return "No two consecutive full years: year-over-year change cannot be computed."
