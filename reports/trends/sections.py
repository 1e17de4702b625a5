"""The line-chart blocks of trends.html: counts and rates by ICCS section, the level-2 drill-down, and the
countries compared."""

from __future__ import annotations

import pandas as pd

from reports import charts, numbers, page, tables, trend_tables
from reports.breaks import menu_series, of_source, year_of
from reports.queries import SERIES_KEYS
from reports.trends.metadata import block, metadata
from reports.trends.text import (
    COUNT_CHANGE,
    RATE_DEFINITION,
    YOY_LABELS,
    YOY_TEST,
    across,
    changes_sentence,
    hover_format,
    no_change_reason,
    partial_note,
    small_rates,
)

MAX_DRILL_COUNTRIES = 6
MAX_LEVEL2_LINES = 8
MAX_COMPARE_COUNTRIES = 12


def sections_block(con, label: str, g: pd.DataFrame, trends: pd.DataFrame, breaks: pd.DataFrame) -> str:
    unit = g["unit"].iloc[0]
    level1 = g[g["level"] == 1].copy()
    level1["category"] = level1["section"] + " " + level1["label"]
    level1["note"] = partial_note(level1)
    long = pd.concat(
        [
            level1.assign(measure=f"{unit} (count)", value=level1["count"]),
            level1.assign(measure=f"{unit} per 100,000", value=level1["rate_per_100k"]),
        ]
    )
    long["menu"] = long["country"] + " — " + long["measure"]
    long["small"] = small_rates(long)
    long = long.sort_values(["country", "measure", "section", "year"])
    chart, source_breaks = charts.line_chart(
        long,
        menu="menu",
        trace="category",
        x="year",
        y="value",
        title=lambda m: f"{label}: {m} by ICCS section",
        x_title="Year",
        y_title=lambda m: m.split(" — ", 1)[-1],
        partial="partial",
        note="note",
        y_format=hover_format,
        breaks=of_source(breaks, g["source"].iloc[0]),
        x_of=year_of,
        entries=lambda drawn: menu_series(drawn, "menu", "source", "iccs_code", "section"),
        partial_note=True,
        small="small",
    )
    sentences = []
    t = trends[(trends["source"] == g["source"].iloc[0]) & (trends["unit"] == unit) & (trends["level"] == 1)]
    for country, tc in t.groupby("country", sort=True):
        totals = level1[level1["country"] == country].groupby("iccs_code")["count"].sum()
        biggest = totals.idxmax()
        row = tc[tc["iccs_code"] == biggest].iloc[0]
        sentences.append(f"{country}: " + trend_tables.change_sentence(row["label"], row) + across(breaks, row))
        movers = tc[tc["significant"] & (tc["iccs_code"] != biggest)]
        if not movers.empty:
            top = movers.iloc[0]
            sentences.append(trend_tables.change_sentence(top["label"], top) + across(breaks, top))
    columns = ["country", "section", "label", "year", "count", "population", "rate_per_100k"]
    if bool(level1["monthly"].any()):
        columns += ["months", "partial"]
    body = chart + tables.table_html(
        level1[columns],
        caption=f"{label}: {unit} by ICCS section and year",
        csv_name=f"trends_sections_{page.slug(trend_tables.dataset_key(g))}",
        labels={"count": f"{unit} (count)", "rate_per_100k": f"{unit} per 100,000"},
    )
    meta = metadata(
        con,
        g,
        "Recorded counts classified to ICCS v1.0 and rolled up to its 11 sections (level 1). " + RATE_DEFINITION,
        source_breaks,
    )
    return block(f"{label}: by ICCS section", body, " ".join(sentences), meta)


def drilldown_block(con, label: str, g: pd.DataFrame, yoy: pd.DataFrame, breaks: pd.DataFrame) -> str:
    unit = g["unit"].iloc[0]
    level2 = g[g["level"] == 2].copy()
    if level2.empty:
        return ""
    countries = g[g["level"] == 1].groupby("country")["count"].sum().nlargest(MAX_DRILL_COUNTRIES).index
    level2 = level2[level2["country"].isin(countries)]
    totals = level2.groupby(["country", "iccs_code"])["count"].transform("sum")
    level2 = level2.assign(total=totals)
    rank = level2.groupby(["country", "section"])["total"].rank(method="dense", ascending=False)
    shown = level2[rank <= MAX_LEVEL2_LINES].copy()
    shown["category"] = shown["iccs_code"] + " " + shown["label"]
    shown["menu"] = shown["country"] + " — " + shown["section"] + " " + shown["parent_label"].fillna("")
    shown["note"] = partial_note(shown)
    shown = shown.sort_values(["country", "section", "total", "iccs_code", "year"], ascending=[1, 1, 0, 1, 1])
    body, drill_breaks = charts.line_chart(
        shown,
        menu="menu",
        trace="category",
        x="year",
        y="count",
        title=lambda m: f"{label}: level-2 categories, {m}",
        x_title="Year",
        y_title=f"{unit} (count)",
        partial="partial",
        note="note",
        y_format=",.0f",
        breaks=of_source(breaks, g["source"].iloc[0]),
        x_of=year_of,
        entries=lambda drawn: menu_series(drawn, "menu", "source", "iccs_code", "iccs_code"),
    )
    y = yoy[(yoy["source"] == g["source"].iloc[0]) & (yoy["unit"] == unit) & (yoy["level"] == 2)]
    if y.empty:
        summary = ""
        body += page.paragraph(no_change_reason(g), cls="note")
    else:
        summary = changes_sentence(y, unit, lead="Level-2 categories, ", with_country=y["country"].nunique() > 1)
        columns = ["country", "iccs_code", "label", "year_previous", "count_previous", "year_latest", "count_latest"]
        columns += ["change_pct", "p_value", "verdict", "rate_per_100k_latest"]
        y = y.rename(columns=COUNT_CHANGE)
        columns = [COUNT_CHANGE.get(c, c) for c in columns]
        body += tables.table_html(
            y[columns],
            caption=f"{label}: level-2 categories, latest full year against the year before ({unit}), most "
            "significant changes first",
            csv_name=f"trends_level2_{page.slug(trend_tables.dataset_key(g))}",
            labels=YOY_LABELS | {"rate_per_100k_latest": f"{unit} per 100,000 (latest year)"},
            kinds=trend_tables.TREND_KINDS,
            csv=y[[*columns, "change", "enough", "significant"]],
        )
    note = (
        f"The chart shows up to {MAX_LEVEL2_LINES} leading level-2 categories per section for the "
        f"{len(countries)} largest countries; the table and CSV cover every level-2 category. " + YOY_TEST
    )
    meta = metadata(con, g, "ICCS level-2 categories (divisions) within each section; counts. " + note, drill_breaks)
    return block(f"{label}: level-2 drill-down", body, summary, meta)


def comparison_block(con, label: str, g: pd.DataFrame, latest: pd.DataFrame, breaks: pd.DataFrame) -> str:
    unit = g["unit"].iloc[0]
    level1 = g[(g["level"] == 1)].copy()
    if level1["country"].nunique() < 2:
        return ""
    level1["category"] = level1["section"] + " " + level1["label"]
    last = level1.merge(latest[SERIES_KEYS + ["latest"]], on=SERIES_KEYS)
    last = last[last["year"] == last["latest"]]
    keep = last.groupby("country")["rate_per_100k"].max().nlargest(MAX_COMPARE_COUNTRIES).index
    shown = level1[level1["country"].isin(keep)].sort_values(["section", "country", "year"])
    shown["note"] = partial_note(shown)
    shown["small"] = shown["count"].lt(numbers.SMALL_COUNT)
    chart, compare_breaks = charts.line_chart(
        shown,
        menu="category",
        trace="country",
        x="year",
        y="rate_per_100k",
        title=lambda m: f"{label}: {unit} per 100,000 by country — {m}",
        x_title="Year",
        y_title=f"{unit} per 100,000",
        partial="partial",
        note="note",
        y_format=charts.RATE,
        breaks=of_source(breaks, g["source"].iloc[0]),
        x_of=year_of,
        entries=lambda drawn: menu_series(drawn, "category", "source", "iccs_code", "section"),
        no_values="No rates: no population.",
        small="small",
    )
    table = last[["country", "section", "label", "year", "count", "population", "rate_per_100k"]].sort_values(
        ["section", "rate_per_100k"], ascending=[True, False]
    )
    top = table.dropna(subset=["rate_per_100k"])
    summary = ""
    if not top.empty:
        biggest_section = table.groupby("section")["count"].sum().idxmax()
        sec = top[top["section"] == biggest_section]
        if not sec.empty:
            hi, lo = sec.iloc[0], sec.iloc[-1]
            summary = (
                f"{hi['label']}: the highest rate in the latest full year is {hi['country']} "
                f"({numbers.rate_with_caution(hi['rate_per_100k'], hi['count'])} per 100,000 in {int(hi['year'])}), "
                f"the lowest {lo['country']} ({numbers.rate_with_caution(lo['rate_per_100k'], lo['count'])} in "
                f"{int(lo['year'])})."
            )
    body = chart + tables.table_html(
        table,
        caption=f"{label}: latest full year, {unit} per 100,000 by country and section",
        csv_name=f"trends_countries_{page.slug(trend_tables.dataset_key(g))}",
        labels={"count": f"{unit} (count)", "rate_per_100k": f"{unit} per 100,000"},
    )
    meta = metadata(
        con,
        g,
        "Rates per 100,000 by country within one source and unit. Differences between countries also reflect "
        f"legal definitions and recording rules. Up to {MAX_COMPARE_COUNTRIES} countries with the highest "
        "rates are drawn; the table has all. " + RATE_DEFINITION,
        compare_breaks,
    )
    return block(f"{label}: countries compared", body, summary, meta)
