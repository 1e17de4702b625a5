"""The areas block of trends.html: recorded crime per area in the latest full year, rates and change."""

from __future__ import annotations

import pandas as pd

from reports import charts, numbers, page, tables, trend_tables
from reports.queries import SERIES_KEYS
from reports.trends.metadata import block, metadata
from reports.trends.text import COUNT_CHANGE, RATE_DEFINITION

TOP_AREAS_CHART = 20


def areas_block(con, label: str, areas: pd.DataFrame, annual: pd.DataFrame, latest: pd.DataFrame) -> str:
    unit = areas["unit"].iloc[0]
    top = _latest_areas(areas, latest)
    if top.empty:
        return ""
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
            value_text=numbers.rate,
            diverging=False,
        )
        body += page.figure_html(fig)
    sentences = _area_sentences(top, ranked, unit)
    columns = ["country", "area", "year", "count", "population", "rate_per_100k", "prev", "change_pct"]
    if top["partial"].any():
        columns.append("partial")
    body += tables.table_html(
        top[columns].rename(columns={"prev": "count_previous", **COUNT_CHANGE}),
        caption=f"{label}: areas in the latest full year (latest year where none is full), by {unit}, all sections",
        csv_name=f"trends_areas_{page.slug(trend_tables.dataset_key(areas))}",
        labels={
            "count": f"{unit} (all sections)",
            "rate_per_100k": f"{unit} per 100,000",
            "count_previous": "count, previous year",
            "count_change_pct": "change in count",
        },
        kinds=trend_tables.TREND_KINDS,
    )
    g = annual[(annual["source"] == areas["source"].iloc[0]) & (annual["unit"] == unit)]
    meta = metadata(
        con,
        g,
        "All recorded crime of this unit per area (sum of the ICCS sections) in the latest full year (or the "
        "latest, flagged partial year where there is no full year), with the area's own population for that "
        "year; change against the previous year only when both are full years. " + RATE_DEFINITION,
    )
    meta["Period"] = ", ".join(
        sorted({f"{r.country} {int(r.latest)}" for r in latest.itertuples() if r.source == areas["source"].iloc[0]})
    )
    return block(f"{label}: areas", body, " ".join(sentences), meta)


def _latest_areas(areas: pd.DataFrame, latest: pd.DataFrame) -> pd.DataFrame:
    """Each area in its series' latest full year (or latest partial year where none is full), with the count of
    the year before (`prev`) and the change, only when that year is full too; largest counts first."""
    a = areas.merge(latest[SERIES_KEYS + ["latest", "has_previous", "partial", "months"]], on=SERIES_KEYS)
    last = a[a["year"] == a["latest"]]
    # The previous year only when it is a full year too: a partial year is never compared.
    prev = a[(a["year"] == a["latest"] - 1) & a["has_previous"]][SERIES_KEYS + ["area", "count"]]
    top = last.merge(prev.rename(columns={"count": "prev"}), on=SERIES_KEYS + ["area"], how="left")
    top["change_pct"] = (top["count"] / top["prev"].where(top["prev"] > 0) - 1) * 100
    top = top.sort_values(["country", "count"], ascending=[True, False])
    return top


def _area_sentences(top: pd.DataFrame, ranked: pd.DataFrame, unit: str) -> list[str]:
    """Per country: how many areas, the one with most records and the highest rate; partial years and areas
    without population said plainly."""
    no_pop = top[top["population"].isna()]
    sentences = []
    for country, c in top.groupby("country"):
        leader = c.iloc[0]
        sentences.append(
            f"{country} {int(leader['year'])}: {numbers.plural(c['area'].nunique(), 'area')}; most {unit} in "
            f"{leader['area']} ({leader['count']:,.0f})."
        )
        rated = ranked[ranked["country"] == country]
        if not rated.empty:
            sentences.append(
                f"Highest rate: {rated.iloc[0]['area']} "
                f"({numbers.rate_with_caution(rated.iloc[0]['rate_per_100k'], rated.iloc[0]['count'])} per 100,000)."
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
        sentences.append(
            f"No population for {numbers.plural(len(no_pop), 'area')} ({names}{more}): their rates are absent."
        )
    return sentences
