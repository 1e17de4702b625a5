"""The change blocks of trends.html: year-over-year change and Mann-Kendall trend significance."""

from __future__ import annotations

import pandas as pd

from reports import charts, numbers, page, tables, trend_tables
from reports.stats.trend import MIN_ANNUAL_POINTS, MIN_MONTHLY_POINTS
from reports.trend_tables import MIN_RECORDS
from reports.trends.metadata import block, metadata
from reports.trends.text import (
    COUNT_CHANGE,
    RATE_DEFINITION,
    SIGNIFICANCE,
    YOY_LABELS,
    YOY_TEST,
    across,
    changes_sentence,
    no_change_reason,
)


def yoy_block(con, label: str, g: pd.DataFrame, yoy: pd.DataFrame) -> str:
    unit = g["unit"].iloc[0]
    y = yoy[(yoy["source"] == g["source"].iloc[0]) & (yoy["unit"] == unit)]
    level1 = y[y["level"] == 1].dropna(subset=["change_pct"]).copy()
    if level1.empty:  # no section counted in both years (e.g. every category of a short source in one year only)
        return block(
            f"{label}: year-over-year change",
            page.paragraph(no_change_reason(g), cls="note"),
            "",
            metadata(con, g, "Change between consecutive full years."),
        )
    body = _yoy_bars(level1, label, unit)
    sentences = [
        changes_sentence(c, unit, lead=f"{country}, ", with_country=False)
        for country, c in y[y["level"] == 1].groupby("country")
    ]
    if body:
        sentences.append("Grey bars: changes within chance or on too few records.")
    columns = ["country", "iccs_code", "label", "year_previous", "count_previous", "year_latest", "count_latest"]
    columns += ["change_pct", "p_value", "verdict", "rate_per_100k_previous", "rate_per_100k_latest", "rate_change_pct"]
    y = y.rename(columns=COUNT_CHANGE)
    columns = [COUNT_CHANGE.get(c, c) for c in columns]
    body += tables.table_html(
        y[columns],
        caption=f"{label}: latest full year against the previous full year ({unit}), ICCS levels 1 and 2, most "
        "significant changes first",
        csv_name=f"trends_yoy_{page.slug(trend_tables.dataset_key(g))}",
        labels=YOY_LABELS
        | {
            "rate_per_100k_latest": f"{unit} per 100,000 (latest year)",
            "rate_per_100k_previous": f"{unit} per 100,000 (previous year)",
        },
        kinds=trend_tables.TREND_KINDS,
        csv=y[[*columns[:3], "level", *columns[3:], "change", "enough", "significant"]],
    )
    meta = metadata(
        con,
        g,
        "Change from the previous calendar year to the latest full year. Partial years (fewer than 12 months "
        "of monthly data) are not used. Bars in grey are changes within chance or on too few records. "
        + YOY_TEST
        + " "
        + RATE_DEFINITION,
    )
    return block(f"{label}: year-over-year change", body, " ".join(sentences), meta)


def significance_block(con, label: str, g: pd.DataFrame, trends: pd.DataFrame, breaks: pd.DataFrame) -> str:
    unit = g["unit"].iloc[0]
    t = trends[(trends["source"] == g["source"].iloc[0]) & (trends["unit"] == unit)].copy()
    if t.empty:
        return ""
    t["category"] = t["country"] + " · " + t["iccs_code"] + " " + t["label"]
    if (t["test"] == "too few periods").all():
        note = (
            f"No trend test: none of the {len(t)} categories has enough periods (at least "
            f"{MIN_ANNUAL_POINTS} full years, or {MIN_MONTHLY_POINTS} months over two calendar years)."
        )
        return block(
            f"{label}: trend significance", page.paragraph(note, cls="note"), "", metadata(con, g, SIGNIFICANCE)
        )
    body = _trend_bars(t, label, unit)
    sentences = _trend_sentences(t, breaks)
    columns = ["country", "iccs_code", "label", "verdict", "measure", "relative_slope_pct", "p_value"]
    columns += trend_tables.TREND_COLUMNS
    body += tables.table_html(
        t[columns],
        caption=f"{label}: Mann-Kendall trend tests, significant changes first ({unit}; the test ran on the "
        "measure named in each row; each change sits beside the figures it is computed from)",
        csv_name=f"trends_mann_kendall_{page.slug(trend_tables.dataset_key(g))}",
        labels=trend_tables.trend_labels(unit) | {"measure": "measure tested"},
        kinds=trend_tables.TREND_KINDS,
        csv=t.drop(columns=["category", *trend_tables.INTERNAL_COLUMNS]),
    )
    meta = metadata(con, g, SIGNIFICANCE)
    return block(f"{label}: trend significance", body, " ".join(sentences), meta)


def _yoy_bars(level1: pd.DataFrame, label: str, unit: str) -> str:
    """The change of each ICCS section's count, one bar each, labelled with the two counts; the most significant
    on top, changes within chance or on too few records in grey."""
    level1 = level1.copy()
    level1["category"] = level1["section"] + " " + level1["label"]
    level1["bar_text"] = (
        level1["change_pct"].map(numbers.signed_pct)
        + " ("
        + level1["count_previous"].map("{:,.0f}".format)
        + " → "
        + level1["count_latest"].map("{:,.0f}".format)
        + ")"
    )
    level1["hover"] = (
        level1["year_previous"].astype(str)
        + ": "
        + level1["count_previous"].map("{:,.0f}".format)
        + " → "
        + level1["year_latest"].astype(str)
        + ": "
        + level1["count_latest"].map("{:,.0f}".format)
        + f" {unit} (change in count "
        + level1["change_pct"].map(numbers.signed_pct)
        + "); "
        + level1["verdict"]
        + " (p="
        + level1["p_value"].map(tables.format_p)
        + ")"
    )
    level1["menu"] = (
        level1["country"]
        + " ("
        + level1["year_previous"].astype(str)
        + " to "
        + level1["year_latest"].astype(str)
        + ")"
    )
    # Most significant change on top; changes within chance or on too few records in grey.
    level1["order"] = -level1["p_value"].where(level1["enough"], 2.0)
    level1["muted"] = ~level1["significant"]
    fig = charts.menu_bars(
        level1,
        menu="menu",
        category="category",
        value="change_pct",
        title=lambda m: (
            f"{label}: change in the count of {unit} from the previous full year, {m} — most significant on top"
        ),
        value_title="Change in count (%)",
        hover="hover",
        order="order",
        muted="muted",
        text="bar_text",
    )
    return page.figure_html(fig)


def _trend_bars(t: pd.DataFrame, label: str, unit: str) -> str:
    """Sen's slope of the (at most 25) significant trends as bars ('' when none is significant)."""
    sig = t[t["significant"]].dropna(subset=["relative_slope_pct"]).head(25)
    if sig.empty:
        return ""
    sig = sig.assign(
        menu=label,
        hover=sig["direction"]
        + ", p="
        + sig["p_value"].map(tables.format_p)
        + ", "
        + sig["n"].astype(str)
        + " periods; "
        + sig["first_count"].map("{:,.0f}".format)
        + " → "
        + sig["last_count"].map("{:,.0f}".format)
        + f" {unit} (first → last full year)",
    )
    fig = charts.menu_bars(
        sig,
        menu="menu",
        category="category",
        value="relative_slope_pct",
        title=lambda _: f"{label}: significant trends (Sen's slope, % of median level per year)",
        value_title="% per year",
        hover="hover",
    )
    return page.figure_html(fig)


def _trend_sentences(t: pd.DataFrame, breaks: pd.DataFrame) -> list[str]:
    """How many categories rose and fell significantly, the strongest of each direction, and what could not be
    judged."""
    tested = t[t["test"] != "too few periods"]
    up = int((tested["significant"] & (tested["direction"] == "increasing")).sum())
    down = int((tested["significant"] & (tested["direction"] == "decreasing")).sum())
    sparse = int((~tested["enough"]).sum())
    sentences = [
        f"Of {len(tested)} tested categories, {up} rose and {down} fell significantly (p<0.05, with at least "
        f"{MIN_RECORDS} records in the first and last full year together)."
    ]
    # The strongest significant change of each direction, so a headline never names only the falls.
    for _, row in trend_tables.strongest_both_ways(t).iterrows():
        word = "Strongest rise" if row["direction"] == "increasing" else "Strongest fall"
        sentences.append(
            f"{word}: " + trend_tables.change_sentence(f"{row['country']} {row['label']}", row) + across(breaks, row)
        )
    if sparse:
        has = "has" if sparse == 1 else "have"
        sentences.append(f"{numbers.plural(sparse, 'category')} {has} too few records to judge a trend.")
    if len(tested) < len(t):
        sentences.append(f"{numbers.plural(len(t) - len(tested), 'category')} had too few periods for a test.")
    return sentences
