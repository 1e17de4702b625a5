"""trends.html: how recorded crime changed, by ICCS section and category, country, area and month.

Every chart is per dataset (source + counting unit + stage) so counts in different units are never added or
compared; each chart comes with its data table, a CSV, a generated summary and its metadata.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from reports import charts, page, queries, trend_data, trend_tables
from reports.breaks import Series, add_breaks, menu_series
from reports.stats.seasonal import decompose
from reports.stats.trend import MIN_ANNUAL_POINTS, MIN_MONTHLY_POINTS, monthly_grid
from reports.trend_data import DATASET_KEYS, SERIES_KEYS
from reports.trend_tables import MIN_RECORDS
from warehouse.coverage import windows_line as coverage_windows_line

MAX_DRILL_COUNTRIES = 6
MAX_LEVEL2_LINES = 8
MAX_COMPARE_COUNTRIES = 12
MAX_STL_COUNTRIES = 3
MAX_STL_SECTIONS = 4
TOP_AREAS_CHART = 20
CAVEAT = "Recorded crime reflects reporting and recording practice as well as crime itself."
YOY_TEST = (
    "A change counts as significant when an exact test on the two yearly counts (the later count as Binomial(n, "
    f"1/2) given their sum n, i.e. Poisson counts with the same rate) gives p<0.05 and the two years hold at least "
    f"{MIN_RECORDS} records together; changes are ranked by that p-value. 'Change in count' is computed from the "
    "two counts, 'change in rate per 100,000' from the two rates. " + trend_tables.HEADLINE_RULE
)
# Tables and CSVs name a change of counts `count_change_pct` and of rates `rate_change_pct`, never a bare
# `change_pct` that a reader could take for either.
_COUNT_CHANGE = {"change_pct": "count_change_pct"}
_YOY_LABELS = {
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


def _partial_note(frame: pd.DataFrame) -> pd.Series:
    months = frame["months"].fillna(0).astype(int).astype(str)
    return "partial year: " + months + " of 12 months, not comparable with full years"


def _period(frame: pd.DataFrame) -> str:
    years = frame.loc[frame["count"].notna(), "year"]
    if years.empty:
        return "no data"
    kind = "monthly data" if bool(frame["monthly"].any()) else "annual data"
    return f"{int(years.min())}–{int(years.max())} ({kind})"


def _partial_years(frame: pd.DataFrame) -> str:
    partial = frame[frame["partial"]][["country", "year", "months"]].drop_duplicates()
    if partial.empty:
        return "none"
    return "; ".join(f"{r.country} {r.year} ({int(r.months)} months)" for r in partial.itertuples())


def _missing_population(frame: pd.DataFrame) -> str:
    missing = frame[frame["count"].notna() & frame["population"].isna()][["country", "year"]].drop_duplicates()
    if missing.empty:
        return "none: every count has a population"
    by_country = missing.groupby("country")["year"].apply(lambda y: ", ".join(str(v) for v in sorted(y)))
    return "rates are absent for " + "; ".join(f"{c} {years}" for c, years in by_country.items())


def _hover_format(menu: str) -> str:
    """Rates with 2 decimals, counts as whole numbers."""
    return ",.2f" if "per 100,000" in menu else ",.0f"


def _across(breaks: pd.DataFrame, row: pd.Series) -> str:
    """The series breaks inside the years a trend-table row compares, as a sentence (or '')."""
    return trend_tables.break_note(breaks, row["source"], [row["iccs_code"]], row["first_year"], row["last_year"])


def _of_source(breaks: pd.DataFrame, g: pd.DataFrame) -> pd.DataFrame:
    return breaks[breaks["source"] == g["source"].iloc[0]]


def _year_of(period: str) -> int | None:
    text = str(period)
    return int(text[:4]) if text[:4].isdigit() else None


def _month_of(period: str) -> pd.Timestamp | None:
    text = str(period)
    if len(text) >= 7 and text[:4].isdigit() and text[5:7].isdigit():
        return pd.Timestamp(int(text[:4]), int(text[5:7]), 1)
    return pd.Timestamp(int(text[:4]), 1, 1) if text[:4].isdigit() else None


def _metadata(
    con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, definition: str, breaks: pd.DataFrame | None = None
) -> dict[str, str]:
    unit = ", ".join(sorted(frame["unit"].unique()))
    meta = {
        "Definition": definition,
        "Counting unit": f"{unit} (never added to or compared with other units)",
        "Sources": queries.source_names(con, sorted(frame["source"].unique())),
        "Period": _period(frame),
        "Coverage window": coverage_windows_line(con, sorted(frame["source"].unique())),
        "Partial years": _partial_years(frame) if "partial" in frame else "none",
        "Population": _missing_population(frame) if "population" in frame else "not used",
        "Caveat": CAVEAT,
    }
    if outside := trend_tables.outside_note(con, frame["source"].unique()):
        meta["Outside ICCS"] = outside
    if breaks is not None and not breaks.empty:
        listed = [
            f"{r.period} {r.kind}"
            + (f" ({r.iccs_code})" if isinstance(r.iccs_code, str) else "")
            + (f": {r.detail}" if isinstance(r.detail, str) and r.detail else "")
            + (f" [marked on {r.series}]" if isinstance(getattr(r, "series", None), str) and r.series else "")
            for r in breaks.head(10).itertuples()
        ]
        more = f"; and {len(breaks) - 10} more" if len(breaks) > 10 else ""
        meta["Series breaks"] = "; ".join(listed) + more
    return meta


def _block(title: str, body: str, summary: str, metadata: dict[str, str]) -> str:
    return page.block_html(title, body, summary=summary, metadata=metadata)


def _datasets(frame: pd.DataFrame):
    for key, g in frame.groupby(DATASET_KEYS, sort=True):
        yield trend_tables.dataset_label(*key), g


# --- sections -----------------------------------------------------------------------------------------------


def _sections_block(con, label: str, g: pd.DataFrame, trends: pd.DataFrame, breaks: pd.DataFrame) -> str:
    unit = g["unit"].iloc[0]
    level1 = g[g["level"] == 1].copy()
    level1["category"] = level1["section"] + " " + level1["label"]
    level1["note"] = _partial_note(level1)
    long = pd.concat(
        [
            level1.assign(measure=f"{unit} (count)", value=level1["count"]),
            level1.assign(measure=f"{unit} per 100,000", value=level1["rate_per_100k"]),
        ]
    )
    long["menu"] = long["country"] + " — " + long["measure"]
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
        y_format=_hover_format,
        breaks=_of_source(breaks, g),
        x_of=_year_of,
        entries=lambda drawn: menu_series(drawn, "menu", "source", "iccs_code", "section"),
        partial_note=True,
    )
    sentences = []
    t = trends[(trends["source"] == g["source"].iloc[0]) & (trends["unit"] == unit) & (trends["level"] == 1)]
    for country, tc in t.groupby("country", sort=True):
        totals = level1[level1["country"] == country].groupby("iccs_code")["count"].sum()
        biggest = totals.idxmax()
        row = tc[tc["iccs_code"] == biggest].iloc[0]
        sentences.append(f"{country}: " + trend_tables.change_sentence(row["label"], row) + _across(breaks, row))
        movers = tc[tc["significant"] & (tc["iccs_code"] != biggest)]
        if not movers.empty:
            top = movers.iloc[0]
            sentences.append(trend_tables.change_sentence(top["label"], top) + _across(breaks, top))
    columns = ["country", "section", "label", "year", "count", "population", "rate_per_100k"]
    if bool(level1["monthly"].any()):
        columns += ["months", "partial"]
    body = chart + page.table_html(
        level1[columns],
        caption=f"{label}: {unit} by ICCS section and year",
        csv_name=f"trends_sections_{page.slug(label)}",
        labels={"count": f"{unit} (count)", "rate_per_100k": f"{unit} per 100,000"},
    )
    meta = _metadata(
        con,
        g,
        "Recorded counts classified to ICCS v1.0 and rolled up to its 11 sections (level 1). " + RATE_DEFINITION,
        source_breaks,
    )
    return _block(f"{label}: by ICCS section", body, " ".join(sentences), meta)


def _change_text(row: pd.Series, unit: str) -> str:
    """'rose 18% from 400 offences in 2023 to 470 offences in 2024': the counts and years always beside the
    percentage, which is left out as trend_tables.HEADLINE_RULE says."""
    return trend_tables.change_words(row["count_previous"], row["count_latest"], row["year_previous"],
                                     row["year_latest"], row["count_previous"], unit=unit)


def _changes_sentence(y: pd.DataFrame, unit: str, *, lead: str, with_country: bool) -> str:
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
            parts.append(f"the clearest {word} is {r['label']} ({where}{_change_text(r, unit)})")
    test = f"exact test on counts, p<0.05, at least {MIN_RECORDS} records in the two years"
    if not parts:
        return f"{lead}{years}: no change goes beyond chance ({test})."
    return (
        f"{lead}{years}: " + "; ".join(parts) + f". {len(sig)} of {len(y)} changes are significant ({test}); "
        "the others are within chance or rest on too few records."
    )


def _no_change_reason(g: pd.DataFrame) -> str:
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


def _drilldown_block(con, label: str, g: pd.DataFrame, yoy: pd.DataFrame, breaks: pd.DataFrame) -> str:
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
    shown["note"] = _partial_note(shown)
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
        breaks=_of_source(breaks, g),
        x_of=_year_of,
        entries=lambda drawn: menu_series(drawn, "menu", "source", "iccs_code", "iccs_code"),
    )
    y = yoy[(yoy["source"] == g["source"].iloc[0]) & (yoy["unit"] == unit) & (yoy["level"] == 2)]
    if y.empty:
        summary = ""
        body += page.paragraph(_no_change_reason(g), cls="note")
    else:
        summary = _changes_sentence(y, unit, lead="Level-2 categories, ", with_country=y["country"].nunique() > 1)
        columns = ["country", "iccs_code", "label", "year_previous", "count_previous", "year_latest", "count_latest"]
        columns += ["change_pct", "p_value", "verdict", "rate_per_100k_latest"]
        y = y.rename(columns=_COUNT_CHANGE)
        columns = [_COUNT_CHANGE.get(c, c) for c in columns]
        body += page.table_html(
            y[columns],
            caption=f"{label}: level-2 categories, latest full year against the year before ({unit}), most "
            "significant changes first",
            csv_name=f"trends_level2_{page.slug(label)}",
            labels=_YOY_LABELS | {"rate_per_100k_latest": f"{unit} per 100,000 (latest year)"},
            kinds=trend_tables.TREND_KINDS,
            csv=y[[*columns, "change", "enough", "significant"]],
        )
    note = (
        f"The chart shows up to {MAX_LEVEL2_LINES} leading level-2 categories per section for the "
        f"{len(countries)} largest countries; the table and CSV cover every level-2 category. " + YOY_TEST
    )
    meta = _metadata(con, g, "ICCS level-2 categories (divisions) within each section; counts. " + note, drill_breaks)
    return _block(f"{label}: level-2 drill-down", body, summary, meta)


def _comparison_block(con, label: str, g: pd.DataFrame, latest: pd.DataFrame, breaks: pd.DataFrame) -> str:
    unit = g["unit"].iloc[0]
    level1 = g[(g["level"] == 1)].copy()
    if level1["country"].nunique() < 2:
        return ""
    level1["category"] = level1["section"] + " " + level1["label"]
    last = level1.merge(latest[SERIES_KEYS + ["latest"]], on=SERIES_KEYS)
    last = last[last["year"] == last["latest"]]
    keep = last.groupby("country")["rate_per_100k"].max().nlargest(MAX_COMPARE_COUNTRIES).index
    shown = level1[level1["country"].isin(keep)].sort_values(["section", "country", "year"])
    shown["note"] = _partial_note(shown)
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
        y_format=",.2f",
        breaks=_of_source(breaks, g),
        x_of=_year_of,
        entries=lambda drawn: menu_series(drawn, "category", "source", "iccs_code", "section"),
        no_values="No rates: no population.",
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
                f"({hi['rate_per_100k']:,.2f} per 100,000 in {int(hi['year'])}), the lowest {lo['country']} "
                f"({lo['rate_per_100k']:,.2f} in {int(lo['year'])})."
            )
    body = chart + page.table_html(
        table,
        caption=f"{label}: latest full year, {unit} per 100,000 by country and section",
        csv_name=f"trends_countries_{page.slug(label)}",
        labels={"count": f"{unit} (count)", "rate_per_100k": f"{unit} per 100,000"},
    )
    meta = _metadata(
        con,
        g,
        "Rates per 100,000 by country within one source and unit. Differences between countries also reflect "
        f"legal definitions and recording rules. Up to {MAX_COMPARE_COUNTRIES} countries with the highest "
        "rates are drawn; the table has all. " + RATE_DEFINITION,
        compare_breaks,
    )
    return _block(f"{label}: countries compared", body, summary, meta)


def _yoy_block(con, label: str, g: pd.DataFrame, yoy: pd.DataFrame) -> str:
    unit = g["unit"].iloc[0]
    y = yoy[(yoy["source"] == g["source"].iloc[0]) & (yoy["unit"] == unit)]
    level1 = y[y["level"] == 1].dropna(subset=["change_pct"]).copy()
    if level1.empty:  # no section counted in both years (e.g. every category of a short source in one year only)
        return _block(
            f"{label}: year-over-year change",
            page.paragraph(_no_change_reason(g), cls="note"),
            "",
            _metadata(con, g, "Change between consecutive full years."),
        )
    level1["category"] = level1["section"] + " " + level1["label"]
    level1["bar_text"] = (
        level1["change_pct"].map("{:+.0f}%".format)
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
        + level1["change_pct"].map("{:+.0f}%".format)
        + "); "
        + level1["verdict"]
        + " (p="
        + level1["p_value"].map(page.format_p)
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
    body = ""
    if not level1.empty:
        level1["muted"] = ~level1["significant"]
        fig = charts.menu_bars(
            level1,
            menu="menu",
            category="category",
            value="change_pct",
            title=lambda m: f"{label}: change in the count of {unit} from the previous full year, {m} — most "
            "significant on top",
            value_title="Change in count (%)",
            hover="hover",
            order="order",
            muted="muted",
            text="bar_text",
        )
        body += page.figure_html(fig)
    sentences = [
        _changes_sentence(c, unit, lead=f"{country}, ", with_country=False)
        for country, c in y[y["level"] == 1].groupby("country")
    ]
    if body:
        sentences.append("Grey bars: changes within chance or on too few records.")
    columns = ["country", "iccs_code", "label", "year_previous", "count_previous", "year_latest", "count_latest"]
    columns += ["change_pct", "p_value", "verdict", "rate_per_100k_previous", "rate_per_100k_latest", "rate_change_pct"]
    y = y.rename(columns=_COUNT_CHANGE)
    columns = [_COUNT_CHANGE.get(c, c) for c in columns]
    body += page.table_html(
        y[columns],
        caption=f"{label}: latest full year against the previous full year ({unit}), ICCS levels 1 and 2, most "
        "significant changes first",
        csv_name=f"trends_yoy_{page.slug(label)}",
        labels=_YOY_LABELS | {"rate_per_100k_latest": f"{unit} per 100,000 (latest year)",
                              "rate_per_100k_previous": f"{unit} per 100,000 (previous year)"},
        kinds=trend_tables.TREND_KINDS,
        csv=y[[*columns[:3], "level", *columns[3:], "change", "enough", "significant"]],
    )
    meta = _metadata(
        con,
        g,
        "Change from the previous calendar year to the latest full year. Partial years (fewer than 12 months "
        "of monthly data) are not used. Bars in grey are changes within chance or on too few records. "
        + YOY_TEST
        + " "
        + RATE_DEFINITION,
    )
    return _block(f"{label}: year-over-year change", body, " ".join(sentences), meta)


def _areas_block(con, label: str, areas: pd.DataFrame, annual: pd.DataFrame, latest: pd.DataFrame) -> str:
    unit = areas["unit"].iloc[0]
    a = areas.merge(latest[SERIES_KEYS + ["latest", "has_previous", "partial", "months"]], on=SERIES_KEYS)
    last = a[a["year"] == a["latest"]]
    # The previous year only when it is a full year too: a partial year is never compared.
    prev = a[(a["year"] == a["latest"] - 1) & a["has_previous"]][SERIES_KEYS + ["area", "count"]]
    top = last.merge(prev.rename(columns={"count": "prev"}), on=SERIES_KEYS + ["area"], how="left")
    if top.empty:
        return ""
    top["change_pct"] = (top["count"] / top["prev"].where(top["prev"] > 0) - 1) * 100
    top = top.sort_values(["country", "count"], ascending=[True, False])
    no_pop = top[top["population"].isna()]
    ranked = top.dropna(subset=["rate_per_100k"]).sort_values("rate_per_100k", ascending=False)
    ranked = ranked.groupby("country").head(TOP_AREAS_CHART)
    body = ""
    if not ranked.empty:
        ranked = ranked.assign(
            menu=ranked["country"] + " " + ranked["year"].astype(str),
            hover=ranked["count"].map("{:,.0f}".format)
            + f" {unit}; population "
            + ranked["population"].map("{:,.0f}".format),
        )
        fig = charts.menu_bars(
            ranked,
            menu="menu",
            category="area",
            value="rate_per_100k",
            title=lambda m: f"{label}: areas with the highest {unit} per 100,000, {m}",
            value_title=f"{unit} per 100,000",
            hover="hover",
            value_format=",.2f",
            diverging=False,
        )
        body += page.figure_html(fig)
    sentences = []
    for country, c in top.groupby("country"):
        leader = c.iloc[0]
        sentences.append(
            f"{country} {int(leader['year'])}: {c['area'].nunique()} areas; most {unit} in {leader['area']} "
            f"({leader['count']:,.0f})."
        )
        rated = ranked[ranked["country"] == country]
        if not rated.empty:
            sentences.append(
                f"Highest rate: {rated.iloc[0]['area']} ({rated.iloc[0]['rate_per_100k']:,.2f} per 100,000)."
            )
    partial = top[top["partial"]][["country", "year", "months"]].drop_duplicates()
    for r in partial.itertuples():
        sentences.append(
            f"{r.country} has no full year: {r.year} covers {int(r.months)} of 12 months, so its counts and rates "
            "are not annual figures and no change is computed."
        )
    if not no_pop.empty:
        names = ", ".join(no_pop["area"].astype(str).head(10))
        more = "" if len(no_pop) <= 10 else f" and {len(no_pop) - 10} more"
        sentences.append(f"No population for {len(no_pop)} area(s) ({names}{more}): their rates are absent.")
    columns = ["country", "area", "year", "count", "population", "rate_per_100k", "prev", "change_pct"]
    if top["partial"].any():
        columns.append("partial")
    body += page.table_html(
        top[columns].rename(columns={"prev": "count_previous", **_COUNT_CHANGE}),
        caption=f"{label}: areas in the latest full year (latest year where none is full), by {unit}, all sections",
        csv_name=f"trends_areas_{page.slug(label)}",
        labels={
            "count": f"{unit} (all sections)",
            "rate_per_100k": f"{unit} per 100,000",
            "count_previous": "count, previous year",
            "count_change_pct": "change in count",
        },
        kinds=trend_tables.TREND_KINDS,
    )
    g = annual[(annual["source"] == areas["source"].iloc[0]) & (annual["unit"] == unit)]
    meta = _metadata(
        con,
        g,
        "All recorded crime of this unit per area (sum of the ICCS sections) in the latest full year (or the "
        "latest, flagged partial year where there is no full year), with the area's own population for that "
        "year; change against the previous year only when both are full years. " + RATE_DEFINITION,
    )
    meta["Period"] = ", ".join(
        sorted({f"{r.country} {int(r.latest)}" for r in latest.itertuples() if r.source == areas["source"].iloc[0]})
    )
    return _block(f"{label}: areas", body, " ".join(sentences), meta)


def _seasonal_block(con, label: str, g: pd.DataFrame, monthly: pd.DataFrame, breaks: pd.DataFrame) -> str:
    unit = g["unit"].iloc[0]
    m = monthly[(monthly["source"] == g["source"].iloc[0]) & (monthly["unit"] == unit) & (monthly["level"] == 1)]
    if m.empty:
        return ""
    frames: dict[str, pd.DataFrame] = {}
    drawn: list[list[Series]] = []
    rows, sentences, skipped = [], [], []
    countries = m.groupby("country")["count"].sum().nlargest(MAX_STL_COUNTRIES).index
    for country in countries:
        mc = m[m["country"] == country]
        sections = mc.groupby("iccs_code")["count"].sum().nlargest(MAX_STL_SECTIONS).index
        for code in sections:
            series = mc[mc["iccs_code"] == code]
            name = f"{country} — {code} {series['label'].iloc[0]}"
            drawn.append([(series["source"].iloc[0], code, code)])
            values = series.set_index(["year", "month"])["count"]
            grid = monthly_grid(values)
            grid = grid.loc[grid.first_valid_index() : grid.last_valid_index()]
            result = decompose(values)
            comp = pd.DataFrame({"observed": grid})
            if result is None:
                skipped.append(name)
                comp[["trend", "seasonal", "remainder"]] = np.nan
            else:
                comp = comp.join(result.components.drop(columns="observed"))
                seasonal = result.components["seasonal"].groupby(result.components.index.month).mean()
                peak, trough = int(seasonal.idxmax()), int(seasonal.idxmin())
                trend = result.components["trend"].dropna()
                change = (trend.iloc[-1] / trend.iloc[0] - 1) * 100 if trend.iloc[0] > 0 else np.nan
                pct = f"{change:+.0f}%, " if trend_tables.headline_pct(change, trend.iloc[0]) else ""
                sentences.append(
                    f"{name}: trend {trend.iloc[0]:,.0f} to {trend.iloc[-1]:,.0f} {unit} a month "
                    f"({pct}{trend.index[0]} to {trend.index[-1]}); seasonal peak in "
                    f"{pd.Timestamp(2000, peak, 1):%B}, low in {pd.Timestamp(2000, trough, 1):%B} "
                    f"(seasonal strength {result.seasonal_strength:.2f})."
                )
            comp.index = comp.index.to_timestamp()
            frames[name] = comp
            rows.append(comp.reset_index(names="month").assign(series=name))
    observed_only = all(f[["trend"]].isna().all().all() for f in frames.values())
    table = pd.concat(rows)[["series", "month", "observed", "trend", "seasonal", "remainder"]]
    if observed_only:
        # Nothing decomposed: one plain monthly line per series, and no empty component panels or columns.
        table = table.drop(columns=["trend", "seasonal", "remainder"])
        fig = charts.menu_lines(
            table.assign(what=unit),
            menu="series",
            trace="what",
            x="month",
            y="observed",
            title=lambda n: f"{label}: monthly {unit}, {n}",
            x_title="Month",
            y_title=unit,
            y_format=",.0f",
        )
    else:
        fig = charts.menu_decomposition(frames, title=lambda n: f"{label}: monthly {unit}, {n}", y_title=unit)
    source_breaks = add_breaks(fig, _of_source(breaks, g), x_of=_month_of, entries=drawn)
    table["month"] = table["month"].dt.strftime("%Y-%m")
    gaps = int(table["observed"].isna().sum())
    notes = []
    if skipped:
        notes.append("Not decomposed (fewer than 24 usable months): " + "; ".join(skipped) + ". Observed values shown.")
    if gaps:
        notes.append(f"{gaps} missing month(s) are shown as gaps, not zeros.")
    summary = " ".join(sentences + notes)
    body = page.figure_html(fig) + page.table_html(
        table,
        caption=f"{label}: monthly {unit}"
        + ("" if observed_only else " with STL components")
        + " (blank = missing month)",
        csv_name=f"trends_monthly_{page.slug(label)}",
        labels={"observed": f"{unit} (observed)"},
        kinds={"observed": page.COUNT},
    )
    meta = _metadata(
        con,
        g,
        "Robust STL decomposition (statsmodels, period 12) of national monthly counts for the largest sections. "
        "Gaps of up to 2 months are bridged only to fit the model and stay blank in every component; longer "
        "gaps split the series and the longest stretch is decomposed.",
        source_breaks,
    )
    title = f"{label}: monthly series" + ("" if observed_only else " and seasonal decomposition")
    return _block(title, body, summary, meta)


def _significance_block(con, label: str, g: pd.DataFrame, trends: pd.DataFrame, breaks: pd.DataFrame) -> str:
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
        return _block(
            f"{label}: trend significance", page.paragraph(note, cls="note"), "", _metadata(con, g, SIGNIFICANCE)
        )
    sig = t[t["significant"]].dropna(subset=["relative_slope_pct"]).head(25)
    body = ""
    if not sig.empty:
        sig = sig.assign(
            menu=label,
            hover=sig["direction"]
            + ", p="
            + sig["p_value"].map(page.format_p)
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
        body += page.figure_html(fig)
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
        sentences.append(f"{word}: " + trend_tables.change_sentence(f"{row['country']} {row['label']}", row)
                         + _across(breaks, row))
    if sparse:
        sentences.append(f"{sparse} categor{'y has' if sparse == 1 else 'ies have'} too few records to judge a trend.")
    if len(tested) < len(t):
        sentences.append(f"{len(t) - len(tested)} categor(y/ies) had too few periods for a test.")
    columns = ["country", "iccs_code", "label", "verdict", "measure", "relative_slope_pct", "p_value"]
    columns += trend_tables.TREND_COLUMNS
    body += page.table_html(
        t[columns],
        caption=f"{label}: Mann-Kendall trend tests, significant changes first ({unit}; the test ran on the "
        "measure named in each row; each change sits beside the figures it is computed from)",
        csv_name=f"trends_mann_kendall_{page.slug(label)}",
        labels=trend_tables.trend_labels(unit) | {"measure": "measure tested"},
        kinds=trend_tables.TREND_KINDS,
        csv=t.drop(columns=["category", *trend_tables.INTERNAL_COLUMNS]),
    )
    meta = _metadata(con, g, SIGNIFICANCE)
    return _block(f"{label}: trend significance", body, " ".join(sentences), meta)


# --- page ---------------------------------------------------------------------------------------------------


def render_trends(con: duckdb.DuckDBPyConnection, out_dir: Path) -> Path:
    """Write trends.html into `out_dir` and return its path."""
    annual = trend_data.annual_national(con)
    if annual.empty:
        empty = page.section_html(
            "No data", page.paragraph("The warehouse holds no counts yet: run `iccs run` first.", cls="note")
        )
        return page.write_page(out_dir, "trends.html", "Trends in recorded crime", [empty])
    monthly = trend_data.monthly_national(con)
    areas = trend_data.area_totals(con)
    breaks = trend_data.series_breaks(con)
    trends = trend_tables.trend_table(annual, monthly)
    yoy = trend_tables.yoy_table(annual)
    latest = trend_tables.latest_full_year(annual)

    groups = {
        "By ICCS section": [],
        "Level-2 drill-down": [],
        "Countries compared": [],
        "Year-over-year change": [],
        "Areas": [],
        "Monthly series and seasonality": [],
        "Trend significance": [],
    }
    for label, g in _datasets(annual):
        groups["By ICCS section"].append(_sections_block(con, label, g, trends, breaks))
        groups["Level-2 drill-down"].append(_drilldown_block(con, label, g, yoy, breaks))
        groups["Countries compared"].append(_comparison_block(con, label, g, latest, breaks))
        groups["Year-over-year change"].append(_yoy_block(con, label, g, yoy))
        if bool(g["monthly"].any()):
            groups["Monthly series and seasonality"].append(_seasonal_block(con, label, g, monthly, breaks))
        groups["Trend significance"].append(_significance_block(con, label, g, trends, breaks))
    reference = trend_tables.reference_year(annual)
    for label, a in _datasets(areas):
        groups["Areas"].append(_areas_block(con, label, a, annual, reference))

    summaries = {
        "By ICCS section": "Counts and rates per 100,000 by ICCS section; choose a country and measure above "
        "each chart.",
        "Areas": "Recorded crime by area, for sources that record areas.",
    }
    sections = [
        page.section_html(title, "".join(blocks), summary=summaries.get(title, ""))
        for title, blocks in groups.items()
        if any(blocks)
    ]
    intro = (
        "How recorded crime changed over time, classified with ICCS v1.0. Each chart covers one source and "
        "counting unit; counts in different units (offences, victims, ...) are never added together. Partial "
        "years are marked with open circles and are not compared with full years; missing months and years "
        "are gaps in the lines.\n\n" + CAVEAT
    )
    return page.write_page(out_dir, "trends.html", "Trends in recorded crime", sections, intro=intro)
