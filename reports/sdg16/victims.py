"""The per-victim indicators of sdg16.html (16.1.1 homicide, 16.2.2 trafficking in persons): victims per
100,000, with other units shown apart and labelled."""

from __future__ import annotations

import re

import pandas as pd

from reports import charts, correspondence_notes, numbers, page, queries, tables
from reports.breaks import year_of
from reports.sdg16.breakdown_block import breakdown_block
from reports.sdg16.metadata import indicator_metadata
from reports.sdg16.series import break_entries, code_list
from reports.sdg16.text import NO_RATES, correspondence_column, country_sentence


def victims_block(
    con,
    info: pd.Series,
    frame: pd.DataFrame,
    trends: pd.DataFrame,
    country_years: pd.DataFrame,
    breaks: pd.DataFrame,
    by_sex_age: pd.DataFrame | None = None,
) -> str:
    """A per-100,000 victims indicator (16.1.1, 16.2.2); other units are shown apart and labelled; then, where a
    source breaks it down (`by_sex_age`: its rows of ``data.indicator_by_sex_age``), by sex and age group."""
    indicator = info["indicator"]
    title = f"{indicator} {info['title']}"
    if frame.empty or frame["count"].notna().sum() == 0:
        body = page.paragraph(f"No source records ICCS {info['codes']}: {indicator} cannot be computed.", cls="note")
        return page.section_html(title, body, metadata=indicator_metadata(con, info, frame, country_years))
    data = frame.copy()
    is_victims = data["unit"] == "victims"
    data["measure"] = (
        data["unit"]
        .where(~is_victims, "victims")
        .map(lambda u: "victims per 100,000 (the indicator)" if u == "victims" else f"{u} per 100,000 (not victims)")
    )
    data["trace"] = data["country"] + " (" + (data["source_name"] if "source_name" in data else data["source"]) + ")"
    data["note"] = "partial year: " + data["months"].fillna(0).astype(int).astype(str) + " of 12 months"
    data["small"] = data["count"].lt(numbers.SMALL_COUNT)
    data = data.assign(other_unit=~is_victims).sort_values(["other_unit", "measure", "country", "year"])
    chart, drawn_breaks = charts.line_chart(
        data,
        menu="measure",
        trace="trace",
        x="year",
        y="rate_per_100k",
        title=lambda m: f"{indicator}: {m}",
        x_title="Year",
        y_title="per 100,000 population",
        partial="partial",
        note="note",
        y_format=charts.RATE,
        small="small",
        breaks=breaks,
        x_of=year_of,
        entries=break_entries("measure", {indicator: info["codes"]}),
        no_values=NO_RATES,
        partial_note=True,
    )
    victim_countries = set(data.loc[is_victims & data["count"].notna(), "country"])
    codes = code_list(info["codes"])
    sentences = [
        country_sentence(c, data, trends, codes, breaks)
        for c in sorted(set(data.loc[data["count"].notna(), "country"]))
    ]
    if not victim_countries:
        sentences.insert(0, f"{indicator} itself cannot be computed: no source records victims.")
    no_pop = data[data["count"].notna() & data["population"].isna()][["country", "year"]].drop_duplicates()
    if not no_pop.empty:
        sentences.append(
            "No population (rate absent): " + ", ".join(f"{r.country} {r.year}" for r in no_pop.itertuples()) + "."
        )
    data["correspondence"] = correspondence_column(data)
    table = data[
        ["country", "source", "unit", "year", "count", "population", "rate_per_100k", "partial", "correspondence"]
    ]
    body = chart + tables.table_html(
        table,
        caption=f"{indicator}: counts and rates per 100,000 by unit (correspondence: 'partial' where some of the "
        "count comes from national codes the correspondence table marks as only partly the ICCS category)",
        csv_name=f"sdg_{indicator}",
    )
    if by_sex_age is not None:
        body += breakdown_block(indicator, info["codes"], frame, by_sex_age, sources_metadata(con, by_sex_age, info))
    return page.section_html(
        title,
        body,
        summary=" ".join(sentences),
        metadata=indicator_metadata(con, info, frame, country_years, drawn_breaks),
    )


def sources_metadata(con, rows: pd.DataFrame, info: pd.Series) -> dict[str, str]:
    """The sources a breakdown block draws (with their descriptions) and the partial and excluded national codes
    of their correspondence tables that concern the indicator's codes."""
    if rows.empty:
        return {}
    sources = sorted(rows["source"].unique())
    codes = re.findall(r"\d{2,}", str(info["codes"]))
    return {"Data sources": queries.source_names(con, sources)} | correspondence_notes.metadata(
        con, sources, codes, nested=False
    )
