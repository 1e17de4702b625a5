"""Target 16.4 on sdg16.html: its components' counts and rates, their share of all recorded crime, and their
trends."""

from __future__ import annotations

import pandas as pd

from reports import charts, numbers, page, tables, trend_tables
from reports.breaks import year_of
from reports.sdg16.metadata import indicator_metadata
from reports.sdg16.series import (
    COMPONENTS_16_4,
    break_entries,
    code_list,
    component_name,
    latest_rows,
    series_label,
)
from reports.sdg16.text import correspondence_column, correspondence_note, when


def target_16_4(
    con,
    infos: pd.DataFrame,
    frame: pd.DataFrame,
    trends: pd.DataFrame,
    country_years: pd.DataFrame,
    breaks: pd.DataFrame,
) -> str:
    """The Target 16.4 section: which components have data, their counts and rates, their share of all recorded
    crime, and their trends."""
    present = sorted(set(frame.loc[frame["count"].fillna(0) > 0, "component"]))
    absent = [c for c in COMPONENTS_16_4 if c not in present]
    title = "Target 16.4: organized crime, illicit flows, trafficking and corruption"
    summary = [
        f"{len(present)} of {len(COMPONENTS_16_4)} components have recorded data"
        + (f" ({', '.join(component_name(c) for c in present)})" if present else "")
        + "."
    ]
    if absent:
        summary.append("No source records: " + ", ".join(component_name(c) for c in absent) + ".")
    blocks = []
    if present:
        data = _component_rows(frame, present)
        component_codes = dict(zip(infos["component"], infos["codes"], strict=True))
        components, meta = _components_block(con, infos, data, component_codes, country_years, breaks)
        blocks += [components, _shares_block(data, meta), _trends_block(trends, component_codes, breaks, meta)]
    else:
        blocks.append(page.paragraph("No source records any Target 16.4 component.", cls="note"))
    return page.section_html(title, "".join(blocks), summary=" ".join(summary))


def partial_sentence(data: pd.DataFrame) -> str:
    """' Partial correspondence: ...' naming the components and series some of whose counts come through
    correspondence rows marked partial, else ''."""
    partial = data[data["partial_correspondence"].fillna(False).astype(bool)]
    if partial.empty:
        return ""
    named = sorted(set(partial["name"] + " (" + partial["series"] + ")"))
    return (
        " Partial correspondence: some counts of " + "; ".join(named) + " come from national codes the "
        "correspondence table marks as only partly the component's ICCS category (the table's 'correspondence' "
        "column gives how much): quote them with that caveat."
    )


def _component_rows(frame: pd.DataFrame, present: list[str]) -> pd.DataFrame:
    """The rows of the components with data, with the series, component name and partial-year note to show."""
    data = frame[frame["component"].isin(present)].copy()
    data["series"] = series_label(data)
    data["name"] = data["component"].map(component_name)
    data["note"] = "partial year: " + data["months"].fillna(0).astype(int).astype(str) + " of 12 months"
    return data.sort_values(["series", "component", "year"])


def _components_block(
    con,
    infos: pd.DataFrame,
    data: pd.DataFrame,
    component_codes: dict[str, str],
    country_years: pd.DataFrame,
    breaks: pd.DataFrame,
) -> tuple[str, dict[str, str]]:
    """Counts and rates per component (a dropdown per series and measure), and the metadata the other blocks of
    the section share."""
    rates = data.assign(menu=data["series"] + " — per 100,000", small=data["count"].lt(numbers.SMALL_COUNT))
    counts = data.assign(menu=data["series"] + " — count", rate_per_100k=data["count"], small=False)
    chart, drawn_breaks = charts.line_chart(
        pd.concat([rates, counts]),
        menu="menu",
        trace="name",
        x="year",
        y="rate_per_100k",
        title=lambda m: f"Target 16.4 components: {m}",
        x_title="Year",
        y_title=lambda m: m.split(" — ", 1)[-1],
        partial="partial",
        note="note",
        y_format=lambda m: charts.RATE if m.endswith("per 100,000") else ",.0f",
        small="small",
        breaks=breaks,
        x_of=year_of,
        entries=break_entries("menu", component_codes),
        one_year_chart=True,
    )
    columns = ["country", "source", "unit", "component", "year", "count", "population", "rate_per_100k"]
    columns += ["share_pct", "partial", "correspondence"]
    table = data.assign(correspondence=correspondence_column(data))[columns]
    meta = indicator_metadata(
        con,
        pd.Series(
            {
                **infos.iloc[0].to_dict(),
                "codes": "; ".join(f"{component_name(r.component)}: {r.codes}" for r in infos.itertuples()),
            }
        ),
        data,
        country_years,
        drawn_breaks,
    )
    block = page.block_html(
        "Counts and rates per 100,000",
        chart
        + tables.table_html(
            table.assign(component=data["name"]),  # the component in words; the CSV keeps its code
            caption="Target 16.4 components by year (each unit apart; correspondence: 'partial' where some of "
            "the count comes from national codes the correspondence table marks as only partly the ICCS category)",
            csv_name="sdg_16_4_components",
            labels={"share_pct": "share of all recorded (same unit)"},
            csv=table,
        ),
        summary="Choose a country, source and measure above the chart. Rates use the population of the same year "
        "of the territory the count covers (the country's, or its reporting areas' where the count is theirs only)."
        + partial_sentence(data),
        metadata=meta,
    )
    return block, meta


def _shares_block(data: pd.DataFrame, meta: dict[str, str]) -> str:
    """Each component's share of all recorded crime of its source and unit in the latest full year ('' when no
    year has a share)."""
    latest = latest_rows(data, "share_pct")
    if latest.empty:
        return ""
    latest = latest.assign(
        menu=series_label(latest)
        + " "
        + latest["year"].astype(str)
        + latest["partial"].map({True: " (partial year)", False: ""}),
        hover=latest["count"].map("{:,.0f}".format)
        + " of "
        + latest["all_recorded"].map("{:,.0f}".format)
        + " recorded "
        + latest["unit"],
        share_text=latest["share_pct"].map(tables.percent),
        correspondence=correspondence_column(latest),
    )
    bars = charts.menu_bars(
        latest,
        menu="menu",
        category="name",
        value="share_pct",
        title=lambda m: f"Share of all recorded crime, {m}",
        value_title="% of all recorded (same source and unit)",
        hover="hover",
        value_format=".2f",
        diverging=False,
        text="share_text",
    )
    # Prefer offence counts: a victims-only source covering two offences gives shares of little meaning.
    pool = latest[latest["unit"] == "offences"] if (latest["unit"] == "offences").any() else latest
    top = pool.sort_values("share_pct", ascending=False).iloc[0]
    share_sentence = (
        f"The largest share: {top['name']} at {top['share_pct']:.2f}% of everything {top['source']} "
        f"recorded in {top['country']} {when(top)} ({top['unit']})." + correspondence_note(top)
    )
    return page.block_html(
        "Share of each country's recorded crime",
        page.figure_html(bars)
        + tables.table_html(
            latest[
                ["country", "source", "unit", "name", "year", "count", "all_recorded", "share_pct"]
                + ["partial", "correspondence"]
            ].rename(columns={"name": "component"}),
            caption="Latest full year (the latest partial year where none is full): component as a "
            "share of all recorded crime of the same unit",
            csv_name="sdg_16_4_shares",
            labels={"all_recorded": "all recorded (same unit)", "share_pct": "share"},
        ),
        summary=share_sentence,
        metadata={
            **meta,
            "Definition": "Component count / all records of the same source, country, "
            "year and unit x 100. Units are never mixed.",
        },
    )


def _trends_block(trends: pd.DataFrame, component_codes: dict[str, str], breaks: pd.DataFrame, meta: dict) -> str:
    """Mann-Kendall tests per component series ('' when there is none)."""
    if trends.empty:
        return ""
    if (trends["test"] == "too few periods").all():
        return page.block_html(
            "Trends (Mann-Kendall)",
            page.paragraph(
                "No trend test: no component has enough periods (at least 5 full years, or 24 months over "
                "two calendar years).",
                cls="note",
            ),
        )
    t = trends.assign(component=trends["iccs_code"].map(component_name))
    columns = ["country", "source", "unit", "component", "verdict", "relative_slope_pct", "p_value"]
    columns += ["measure", *trend_tables.TREND_COLUMNS]
    up = int((t["significant"] & (t["direction"] == "increasing")).sum())
    down = int((t["significant"] & (t["direction"] == "decreasing")).sum())
    # The strongest significant change of each direction: a headline never names only one of them.
    sentences = [
        ("Strongest rise: " if r["direction"] == "increasing" else "Strongest fall: ")
        + trend_tables.change_sentence(f"{r['country']} {r['component']} ({r['unit']})", r)
        + trend_tables.break_note(
            breaks,
            r["source"],
            code_list(component_codes.get(r["iccs_code"], "")),
            r["first_year"],
            r["last_year"],
        )
        for _, r in trend_tables.strongest_both_ways(t).iterrows()
    ]
    sentences = (
        [f"{up} component series rose and {down} fell significantly (Mann-Kendall, p<0.05).", *sentences]
        if sentences
        else ["No component shows a significant trend (Mann-Kendall, p<0.05)."]
    )
    sparse = t[~t["enough"].astype(bool) & (t["test"] != "too few periods")]
    if not sparse.empty:
        sentences.append(
            f"Too few records to judge a trend (fewer than {trend_tables.MIN_RECORDS} in the first and last "
            "full year together): "
            + ", ".join(f"{r.country} {r.component} ({r.unit})" for r in sparse.itertuples())
            + "."
        )
    return page.block_html(
        "Trends (Mann-Kendall)",
        tables.table_html(
            t[columns],
            caption="Target 16.4 components: trend tests, significant changes first",
            csv_name="sdg_16_4_trends",
            labels=trend_tables.trend_labels("count") | {"measure": "measure tested"},
            kinds=trend_tables.TREND_KINDS,
            csv=t.drop(columns=trend_tables.INTERNAL_COLUMNS),
        ),
        summary=" ".join(sentences),
        metadata={
            **meta,
            "Method": "Seasonal Mann-Kendall on monthly counts for monthly sources; original "
            "Mann-Kendall on full-year rates (or counts where a population is missing) otherwise; "
            "Sen's slope per year. A trend is called significant only with p<0.05 and at least "
            f"{trend_tables.MIN_RECORDS} records in the first and last full year together. The summary "
            "names the strongest significant rise and fall; the table gives the change in the count "
            "beside the two counts and the change in the rate per 100,000 beside the two rates. "
            + trend_tables.HEADLINE_RULE,
        },
    )
