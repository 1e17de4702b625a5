"""16.4.2 on sdg16.html: the share of seized arms whose origin was traced."""

from __future__ import annotations

import pandas as pd

from reports import charts, page, tables
from reports.sdg16.metadata import indicator_metadata


def arms_tracing(con, info: pd.Series, frame: pd.DataFrame, country_years: pd.DataFrame) -> str:
    """16.4.2 is the share of seized arms whose origin was traced: traced_arms over seized_arms per country and
    year, each summed over the sources of that unit."""
    title = f"16.4.2 {info['title']}"
    seized = frame[frame["unit"].eq("seized_arms") & frame["count"].notna()]
    traced = frame[frame["unit"].eq("traced_arms") & frame["count"].notna()]
    if seized.empty or traced.empty:
        body = page.paragraph(
            "No source supplies it: 16.4.2 needs counts of seized, found or surrendered arms and of those traced, "
            "and no loaded source has both units (sources with unit: seized_arms and unit: traced_arms; recorded "
            "firearms-trafficking offences are in Target 16.4 above).",
            cls="note",
        )
        return page.section_html(title, body, metadata=indicator_metadata(con, info, frame, country_years))
    keys = ["country", "year"]
    merged = (
        seized.groupby(keys, as_index=False)["count"]
        .sum()
        .merge(traced.groupby(keys, as_index=False)["count"].sum(), on=keys, suffixes=("_seized", "_traced"))
    )
    merged["pct_traced"] = merged["count_traced"] * 100.0 / merged["count_seized"].where(merged["count_seized"] > 0)
    merged = merged.assign(menu="16.4.2", trace=merged["country"], partial=False)
    chart, _ = charts.line_chart(
        merged,
        menu="menu",
        trace="trace",
        x="year",
        y="pct_traced",
        title=lambda _: "16.4.2: percent of seized arms traced",
        x_title="Year",
        y_title="% traced",
    )
    last = merged.dropna(subset=["pct_traced"]).sort_values("year").groupby("country").tail(1)
    summary = " ".join(f"{r.country}: {r.pct_traced:.0f}% traced in {r.year}." for r in last.itertuples())
    body = chart + tables.table_html(
        merged.drop(columns=["menu", "trace", "partial"]),
        caption="16.4.2 by country and year",
        csv_name="sdg_16_4_2",
        labels={"count_seized": "arms seized", "count_traced": "arms traced", "pct_traced": "traced"},
        kinds={"pct_traced": tables.PERCENT},
    )
    return page.section_html(title, body, summary=summary, metadata=indicator_metadata(con, info, frame, country_years))
