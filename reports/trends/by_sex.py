"""The block 'by sex' of trends.html: a dataset's leading categories split by the victim's sex (the perpetrator's
for counts of persons), year by year, where the source gives the breakdown; nothing where it does not.

The counts come from ``data.national_by_sex`` (``v_counts_by_sex_age``, national, all ages). Each year's bar is
stacked up to the category's total: male, female, not known, and the part the source gives no breakdown for.
"""

from __future__ import annotations

import pandas as pd

from reports import charts, page, tables, trend_tables
from reports.disaggregated import UNKNOWN, coverage_words, person, sex_label, sex_order
from reports.trends.metadata import block, metadata

MAX_CATEGORIES = 4  # leading categories of a dataset charted (the table has every one)
MAX_COUNTRIES = 12  # countries charted, the largest first
KEYS = ["country", "iccs_code", "level", "label", "year"]
NOT_BROKEN_DOWN = "Not broken down"


def sex_table(sexes: pd.DataFrame) -> pd.DataFrame:
    """Per country, category and year: the count of every sex (``count_<code>``, ``count__T`` all) and the share of
    the total whose sex is known, and of the known the share female."""
    wide = sexes.pivot_table(index=KEYS, columns="sex", values="count", aggfunc="sum")
    wide = wide[sorted(wide.columns, key=sex_order)].add_prefix("count_").reset_index()
    known = wide[[c for c in ("count_M", "count_F") if c in wide]].sum(axis=1, min_count=1)
    total = wide.get("count__T", pd.Series(float("nan"), index=wide.index))
    wide["sex_known_share"] = known / total.where(total > 0)
    # of the known, the share female: only where both sexes are given (a table of female victims alone is not 100%)
    both = wide[["count_M", "count_F"]].notna().all(axis=1) if {"count_M", "count_F"} <= set(wide) else False
    wide["female_share"] = (wide.get("count_F", 0.0) / known.where(known > 0)).where(both)
    return wide


def stacked(table: pd.DataFrame) -> pd.DataFrame:
    """Long rows for the stacked chart: each sex's count, and the rest of the total as 'Not broken down'."""
    parts = [c for c in table.columns if c.startswith("count_") and c != "count__T"]
    long = table.melt(id_vars=[*KEYS, "count__T"], value_vars=parts, var_name="column", value_name="value")
    long["sex"] = long["column"].str.removeprefix("count_")
    rest = table.assign(value=(table["count__T"] - table[parts].sum(axis=1)).clip(lower=0), sex=NOT_BROKEN_DOWN)
    long = pd.concat([long, rest[rest["value"] > 0][[*KEYS, "count__T", "value", "sex"]]])
    long["segment"] = long["sex"].map(lambda s: s if s == NOT_BROKEN_DOWN else sex_label(s))
    long["order"] = long["sex"].map(lambda s: 9 if s == NOT_BROKEN_DOWN else sex_order(s))
    return long[long["value"].notna()].sort_values([*KEYS, "order"])


def finest(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of the finest ICCS level the dataset has (level 2 where it has any, else level 1)."""
    return table[table["level"] == table["level"].max()]


def leading(table: pd.DataFrame) -> pd.DataFrame:
    """The rows of the dataset's leading categories (of the finest level) in its largest countries, for the
    chart."""
    finest_rows = finest(table)
    codes = finest_rows.groupby("iccs_code")["count__T"].sum().nlargest(MAX_CATEGORIES).index
    shown = finest_rows[finest_rows["iccs_code"].isin(codes)]
    countries = shown.groupby("country")["count__T"].sum().nlargest(MAX_COUNTRIES).index
    return shown[shown["country"].isin(countries)]


def sex_block(con, label: str, g: pd.DataFrame, sexes: pd.DataFrame) -> str:
    """`g`: the dataset's annual rows; `sexes`: its rows of ``data.national_by_sex``. '' without a breakdown."""
    if sexes.empty or "count__T" not in (table := sex_table(sexes)):
        return ""
    unit = g["unit"].iloc[0]
    whose = person(unit)
    flags = g[["country", "year", "partial"]].drop_duplicates(["country", "year"])
    table = table.merge(flags, on=["country", "year"], how="left")
    table["partial"] = table["partial"].eq(True)  # a year without flags is complete
    shown = leading(table)
    long = stacked(shown)
    long["menu"] = long["country"] + " — " + long["iccs_code"] + " " + long["label"]
    long["year_label"] = long["year"].astype(str) + long["year"].map(
        dict(zip(shown["year"], shown["partial"].map({True: " (partial)", False: ""}), strict=False))
    ).fillna("")
    figure = charts.menu_grouped_bars(
        long.sort_values(["menu", "year", "order"]),
        menu="menu",
        category="year_label",
        group="segment",
        value="value",
        title=lambda m: f"{label}: {unit} by the {whose}'s sex, {m}",
        x_title="Year",
        y_title=f"{unit} (count)",
        value_format=",.0f",
        stacked=True,
    )
    columns = ["country", "iccs_code", "label", "year"] + [c for c in table.columns if c.startswith("count_")]
    columns += ["sex_known_share", "female_share", "partial"]
    labels = {f"count_{c}": sex_label(c).lower() for c in sexes["sex"].unique()}
    labels |= {"count__T": f"{unit} (all)", "sex_known_share": "sex known", "female_share": "female (of known sex)"}
    body = page.figure_html(figure) + tables.table_html(
        finest(table).sort_values(["country", "iccs_code", "year"])[columns],
        caption=f"{label}: {unit} by the {whose}'s sex, by country, ICCS category and year",
        csv_name=f"trends_by_sex_{page.slug(trend_tables.dataset_key(g))}",
        labels=labels,
    )
    definition = (
        f"National counts of {unit} by the {whose}'s sex as the source records it (v_counts_by_sex_age, all "
        "ages, at the finest ICCS level the source has, level 2 at most): male, female, not known where the "
        f"source records it so. Each year's bar is stacked up to the category's total; '{NOT_BROKEN_DOWN}' is the "
        "part of the total the source gives no breakdown by sex for. 'Female (of known sex)' is female over male "
        f"and female, where both are given. The chart shows the {MAX_CATEGORIES} largest categories in the "
        f"{MAX_COUNTRIES} largest countries; the table has every category and country."
    )
    return block(f"{label}: by the {whose}'s sex", body, _summary(shown, unit, whose), metadata(con, g, definition))


def _summary(shown: pd.DataFrame, unit: str, whose: str) -> str:
    """The largest category's female share in its latest full year (and its first), and how much of it has a
    known sex."""
    rows = shown.dropna(subset=["female_share"])
    rows = rows[~rows["partial"]] if (~rows["partial"]).any() else rows
    if rows.empty:
        return ""
    biggest = rows.groupby(["country", "iccs_code"])["count__T"].sum().idxmax()
    series = rows[(rows["country"] == biggest[0]) & (rows["iccs_code"] == biggest[1])].sort_values("year")
    first, last = series.iloc[0], series.iloc[-1]
    unknown = sum(last.get(f"count_{c}", 0.0) or 0.0 for c in UNKNOWN if pd.notna(last.get(f"count_{c}")))
    total = last["count__T"]
    sentence = (
        f"{last['country']} {last['label']}: {last['female_share'] * 100:.0f}% of the {unit} whose "
        + ("sex is known were female" if unit == "victims" else f"{whose}'s sex is known had a female {whose}")
        + f" in {int(last['year'])}"
        + (f" ({first['female_share'] * 100:.0f}% in {int(first['year'])})" if first["year"] != last["year"] else "")
        + "; "
        + coverage_words(
            last["sex_known_share"],
            unknown / total,
            1.0 - last["sex_known_share"] - unknown / total,
            "sex",
            f"the {unit}",
        )
        + "."
    )
    return sentence
