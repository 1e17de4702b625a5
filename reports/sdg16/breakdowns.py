"""The victims indicators by sex and by age group, shaped for sdg16.html: one row per series and year by sex, one
row per series, age group and sex for the latest year, and the coverage of each breakdown.

The frames come from ``data.indicator_by_sex_age`` (the view ``v_sdg16_by_sex_age``): a breakdown's rows have
``sex`` or ``age`` other than '_T', the total's both '_T'. Partial years come from the indicator's annual rows,
so a year a monthly source covered only in part is flagged here as it is above.
"""

from __future__ import annotations

import pandas as pd

from iccs.disaggregations import TOTAL
from reports.disaggregated import UNKNOWN, age_key, age_label, known_share, sex_label, sex_order

SERIES = ["indicator", "component", "source", "unit", "stage", "country"]
YEAR = [*SERIES, "year"]
SHOWN_SEXES = (TOTAL, "M", "F")  # the rates charted; not known has no population of its own


def with_partial(rows: pd.DataFrame, annual: pd.DataFrame) -> pd.DataFrame:
    """`rows` with the indicator's ``partial`` and ``months`` of their series and year."""
    flags = annual[[*YEAR, "partial", "months"]].drop_duplicates(YEAR)
    out = rows.merge(flags, on=YEAR, how="left")
    out["partial"] = out["partial"].eq(True)  # a year without flags is complete
    return out


def series_label(frame: pd.DataFrame) -> pd.Series:
    """'XSY — Synthetica police records (offences)': the source by the name readers see (`source_name`, set by
    render_sdg16) when the frame has it, else by its key."""
    source = frame["source_name"] if "source_name" in frame else frame["source"]
    return frame["country"] + " — " + source + " (" + frame["unit"] + ")"


def by_sex(rows: pd.DataFrame) -> pd.DataFrame:
    """Per series and year: the rows of each sex over all ages (all, male, female, not known), with its label."""
    sexes = rows[(rows["age"] == TOTAL)].copy()
    sexes["sex_label"] = sexes["sex"].map(sex_label)
    sexes["order"] = sexes["sex"].map(sex_order)
    return sexes.sort_values([*YEAR, "order"]).drop(columns="order")


def sex_coverage(rows: pd.DataFrame) -> pd.DataFrame:
    """Per series and year with a breakdown by sex: the shares of the total whose sex is known, recorded as not
    known, and not broken down."""
    sexes = rows[rows["age"] == TOTAL]
    have = sexes[sexes["sex"] != TOTAL][YEAR].drop_duplicates()
    return known_share(sexes.merge(have, on=YEAR), "sex", YEAR)


def age_coverage(rows: pd.DataFrame) -> pd.DataFrame:
    """Per series and year with a breakdown by age: the shares of the total whose age group is known (any sex),
    recorded as not known, and not broken down. The breakdown by age alone is used where published, else the one
    by sex and age (a source's age rows of each sex add up to its age rows)."""
    ages = rows[rows["age"] != TOTAL]
    alone = ages[ages["sex"] == TOTAL]
    chosen = pd.concat([alone, ages[~ages.set_index(YEAR).index.isin(alone.set_index(YEAR).index)]])
    total = rows[(rows["sex"] == TOTAL) & (rows["age"] == TOTAL)].merge(chosen[YEAR].drop_duplicates(), on=YEAR)
    return known_share(pd.concat([total, chosen]), "age", YEAR)


def sex_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Per series and year: the count of each sex and the rate of all, male and female, with the share whose sex
    is known; the columns are ``count_<code>`` and ``rate_per_100k_<code>``."""
    sexes = by_sex(rows)
    counts = sexes.pivot_table(index=YEAR, columns="sex", values="count", aggfunc="sum")
    # one rate per series, year and sex; "first", not "sum": a sum of no rate (no population) would read 0
    rates = sexes[sexes["sex"].isin(SHOWN_SEXES)].pivot_table(
        index=YEAR, columns="sex", values="rate_per_100k", aggfunc="first", dropna=False
    )
    counts = counts[sorted(counts.columns, key=sex_order)].add_prefix("count_")
    rates = rates.reindex(columns=[c for c in SHOWN_SEXES if c in rates.columns]).add_prefix("rate_per_100k_")
    table = counts.join(rates).reset_index()
    coverage = sex_coverage(rows)[[*YEAR, "known_share"]].rename(columns={"known_share": "sex_known_share"})
    table = table.merge(coverage, on=YEAR, how="left")
    flags = rows[[*YEAR, "partial"]].drop_duplicates(YEAR)
    return table.merge(flags, on=YEAR, how="left")


def latest_age_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """Per series: the age-group rows (every sex, unknown ages included) of its latest full year with an age
    breakdown (the latest partial year where none is full), ordered by age group and sex, labelled."""
    ages = rows[rows["age"] != TOTAL]
    if ages.empty:
        return ages.assign(age_label=[], sex_label=[])
    years = ages[[*YEAR, "partial"]].drop_duplicates(YEAR).assign(full=lambda f: ~f["partial"])
    latest = years.sort_values(["full", "year"]).groupby(SERIES, as_index=False).tail(1)[YEAR]
    out = ages.merge(latest, on=YEAR).copy()
    out["age_label"] = out["age"].map(age_label)
    out["sex_label"] = out["sex"].map(sex_label)
    out["age_order"] = out["age"].map(age_key)
    out["sex_order"] = out["sex"].map(sex_order)
    out = out.sort_values([*SERIES, "age_order", "sex_order"]).drop(columns=["age_order", "sex_order"])
    totals = out.groupby([*YEAR, "sex"])["count"].transform("sum")
    out["share_of_sex"] = out["count"] / totals.where(totals > 0)
    out["known_age"] = ~out["age"].isin(UNKNOWN)
    return out.reset_index(drop=True)
