"""sdg16.html: SDG 16 indicators that recorded crime can inform, computed from ICCS codes.

16.1.1 (homicide victims per 100,000) and 16.2.2 (trafficking victims per 100,000) are victim counts: offence
counts are shown apart and labelled, never mixed in. Target 16.4 components are counted, rated, tested for trend
and set against all recorded crime of the same source and unit. 16.4.2 (percent of seized arms traced) is
computed where sources of unit seized_arms and traced_arms cover the same country and year.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd

import iccs
from reports import charts, page, queries, sdg16_data, trend_tables
from reports.breaks import Series, year_of
from reports.queries import SERIES_KEYS
from warehouse.coverage import windows_line as coverage_windows_line

CAVEAT = (
    "Recorded crime reflects reporting and recording practice as well as crime: a rise can mean more crime, "
    "more reporting, or more police activity (especially for trafficking, drugs and corruption, which are "
    "mostly found by enforcement)."
)
# The components come from the shipped indicator-to-ICCS mapping, so a component added there is counted here.
COMPONENTS_16_4 = iccs.components("16.4")
NO_RATES = "No population for these countries and years: no rate per 100,000 to chart; the table has the counts."
MATCHING = (
    "Records count under their own ICCS code only (exact match to the indicator's code list, which includes "
    "sub-categories), so no record is counted twice and records coded more coarsely than the indicator "
    "(e.g. 0601 'drugs' for 06012 'drug trafficking') are left out."
)


def component_name(component: str) -> str:
    return component.replace("_", " ").capitalize()


def _series_label(frame: pd.DataFrame) -> pd.Series:
    return frame["country"] + " — " + frame["source"] + " (" + frame["unit"] + ")"


def _as_trend_input(frame: pd.DataFrame) -> pd.DataFrame:
    """Shape indicator rows like trend_data frames so trend_tables can test them (component as category)."""
    return frame.assign(iccs_code=frame["component"], label=frame["component"].map(component_name), level=0)


def _trends(annual: pd.DataFrame, monthly: pd.DataFrame) -> pd.DataFrame:
    if annual.empty:
        return pd.DataFrame()
    return trend_tables.trend_table(_as_trend_input(annual), _as_trend_input(monthly))


def _coverage(frame: pd.DataFrame, country_years: pd.DataFrame) -> str:
    """Which countries and years of the warehouse the indicator lacks."""
    present = frame[frame["count"].notna()][["country", "year"]].drop_duplicates()
    if present.empty:
        return "no data for any country"
    have = set(map(tuple, present.to_numpy().tolist()))
    missing = country_years[[(c, y) not in have for c, y in country_years.itertuples(index=False)]]
    parts = []
    for country, years in missing.groupby("country")["year"]:
        if country not in set(present["country"]):
            parts.append(f"{country}: no data")
        else:
            parts.append(f"{country}: {', '.join(str(y) for y in sorted(years))} missing")
    covered = ", ".join(f"{c} {int(g.min())}–{int(g.max())}" for c, g in present.groupby("country")["year"])
    return f"covered: {covered}" + ("; " + "; ".join(parts) if parts else "; no gaps")


def _metadata(
    con: duckdb.DuckDBPyConnection,
    info: pd.Series,
    frame: pd.DataFrame,
    country_years: pd.DataFrame,
    breaks: pd.DataFrame | None = None,
) -> dict[str, str]:
    meta = {
        "Indicator": f"{info['indicator']}: {info['title']}",
        "Unit": str(info["unit"]),
        "ICCS codes": str(info["codes"]),
        "Matching": MATCHING,
        "Data sources": queries.source_names(con, sorted(frame["source"].unique())) if not frame.empty else "none",
        "Coverage": _coverage(frame, country_years),
        "Coverage window": coverage_windows_line(con, sorted(frame["source"].unique()) if not frame.empty else []),
        "Partial years": ", ".join(
            f"{r.country} {r.year} ({int(r.months)} months)"
            for r in frame[frame["partial"]][["country", "year", "months"]].drop_duplicates().itertuples()
        )
        or "none",
        "Caveat": CAVEAT,
    }
    if not frame.empty and (outside := trend_tables.outside_note(con, frame["source"].unique())):
        meta["Outside ICCS"] = outside
    if breaks is not None and not breaks.empty:
        meta["Series breaks"] = "; ".join(
            f"{r.source} {r.period} {r.kind}"
            + (f" ({r.iccs_code})" if isinstance(r.iccs_code, str) else "")
            + (f": {r.detail}" if isinstance(r.detail, str) and r.detail else "")
            for r in breaks.itertuples()
        )
    return meta


def _codes(codes: str) -> list[str]:
    return [c.strip() for c in str(codes).split(",") if c.strip()]


def _break_entries(menu: str, codes: dict[str, str]) -> Callable[[pd.DataFrame], list[list[Series]]]:
    """Per dropdown entry of the drawn rows, the series whose breaks concern it: each drawn `component` with the
    ICCS codes it counts (`codes` maps a component to its comma-separated code list)."""

    def entries(data: pd.DataFrame) -> list[list[Series]]:
        return [
            [(r.source, code, name) for r in rows.itertuples() for name, code in _named_codes(r.component, codes)]
            for rows in (
                data.loc[data[menu] == label, ["source", "component"]].drop_duplicates()
                for label in dict.fromkeys(data[menu])
            )
        ]

    return entries


def _named_codes(component: str, codes: dict[str, str]) -> list[tuple[str, str]]:
    name = component if component[:2].isdigit() else component_name(component)
    return [(name, code) for code in _codes(codes.get(component, ""))]


def _latest(frame: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Per series: the latest full year with a value of `measure`; where no year with a value is full, the latest
    partial year (its `partial` flag stays set, so the text can say so)."""
    have = frame[frame[measure].notna()]
    ranked = have.assign(full=~have["partial"].astype(bool)).sort_values(["full", "year"])
    return ranked.groupby(SERIES_KEYS + ["component"], as_index=False).tail(1).drop(columns="full")


def _when(row: pd.Series) -> str:
    """'in 2023', or 'in 2023, a partial year with records in 6 of 12 months, ...' for a year the source did not
    fully cover."""
    text = f"in {int(row['year'])}"
    if bool(row["partial"]):
        text += f", a partial year with records in {int(row['months'])} of 12 months, not an annual figure"
    return text


def _country_sentence(country: str, data: pd.DataFrame, trends: pd.DataFrame, codes: list[str], breaks) -> str:
    """What the table shows for one country: the indicator (victims) where recorded, else the other unit apart;
    a rate where there is a population, else the count; partial years flagged."""
    mine = data[(data["country"] == country) & data["count"].notna()]
    victims = mine[mine["unit"] == "victims"]
    rated = _latest(victims, "rate_per_100k")
    if not rated.empty:
        r = rated.iloc[0]
        t = trends[(trends["country"] == country) & (trends["unit"] == "victims") & (trends["source"] == r["source"])]
        trend = ""
        if not t.empty:
            tr = t.iloc[0]
            rate = tr["change_measure"] == "rate per 100,000"  # else tested on counts (a year without population)
            trend = " " + trend_tables.change_sentence("The rate" if rate else "The count", tr, show_measure=False)
            trend += trend_tables.break_note(breaks, tr["source"], codes, tr["first_year"], tr["last_year"])
        return f"{country}: {r['rate_per_100k']:.2f} victims per 100,000 {_when(r)}.{trend}"
    if not victims.empty:
        r = _latest(victims, "count").iloc[0]
        return f"{country}: {r['count']:,.0f} victims {_when(r)}; no population for a rate."
    rated = _latest(mine, "rate_per_100k")
    if not rated.empty:
        r = rated.iloc[0]
        return (
            f"{country}: no victim counts; {r['unit']} only ({r['rate_per_100k']:.2f} per 100,000 {_when(r)}), "
            "shown separately because they are not the indicator's unit."
        )
    r = _latest(mine, "count").iloc[0]
    return (
        f"{country}: no victim counts; {r['unit']} only ({r['count']:,.0f} {_when(r)}; no population for a rate), "
        "shown separately because they are not the indicator's unit."
    )


def _victims_block(
    con,
    info: pd.Series,
    frame: pd.DataFrame,
    trends: pd.DataFrame,
    country_years: pd.DataFrame,
    breaks: pd.DataFrame,
) -> str:
    """A per-100,000 victims indicator (16.1.1, 16.2.2); other units are shown apart and labelled."""
    indicator = info["indicator"]
    title = f"{indicator} {info['title']}"
    if frame.empty or frame["count"].notna().sum() == 0:
        body = page.paragraph(f"No source records ICCS {info['codes']}: {indicator} cannot be computed.", cls="note")
        return page.section_html(title, body, metadata=_metadata(con, info, frame, country_years))
    data = frame.copy()
    is_victims = data["unit"] == "victims"
    data["measure"] = (
        data["unit"]
        .where(~is_victims, "victims")
        .map(lambda u: "victims per 100,000 (the indicator)" if u == "victims" else f"{u} per 100,000 (not victims)")
    )
    data["trace"] = data["country"] + " (" + data["source"] + ")"
    data["note"] = "partial year: " + data["months"].fillna(0).astype(int).astype(str) + " of 12 months"
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
        y_format=",.2f",
        breaks=breaks,
        x_of=year_of,
        entries=_break_entries("measure", {indicator: info["codes"]}),
        no_values=NO_RATES,
        partial_note=True,
    )
    victim_countries = set(data.loc[is_victims & data["count"].notna(), "country"])
    codes = _codes(info["codes"])
    sentences = [
        _country_sentence(c, data, trends, codes, breaks)
        for c in sorted(set(data.loc[data["count"].notna(), "country"]))
    ]
    if not victim_countries:
        sentences.insert(0, f"{indicator} itself cannot be computed: no source records victims.")
    no_pop = data[data["count"].notna() & data["population"].isna()][["country", "year"]].drop_duplicates()
    if not no_pop.empty:
        sentences.append(
            "No population (rate absent): " + ", ".join(f"{r.country} {r.year}" for r in no_pop.itertuples()) + "."
        )
    table = data[["country", "source", "unit", "year", "count", "population", "rate_per_100k", "partial"]]
    body = chart + page.table_html(
        table, caption=f"{indicator}: counts and rates per 100,000 by unit", csv_name=f"sdg_{indicator}"
    )
    return page.section_html(
        title, body, summary=" ".join(sentences), metadata=_metadata(con, info, frame, country_years, drawn_breaks)
    )


def _target_16_4(
    con,
    infos: pd.DataFrame,
    frame: pd.DataFrame,
    trends: pd.DataFrame,
    country_years: pd.DataFrame,
    breaks: pd.DataFrame,
) -> str:
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
        data = frame[frame["component"].isin(present)].copy()
        data["series"] = _series_label(data)
        data["name"] = data["component"].map(component_name)
        data["note"] = "partial year: " + data["months"].fillna(0).astype(int).astype(str) + " of 12 months"
        data = data.sort_values(["series", "component", "year"])
        rates = data.assign(menu=data["series"] + " — per 100,000")
        counts = data.assign(menu=data["series"] + " — count", rate_per_100k=data["count"])
        component_codes = dict(zip(infos["component"], infos["codes"], strict=True))
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
            y_format=lambda m: ",.2f" if m.endswith("per 100,000") else ",.0f",
            breaks=breaks,
            x_of=year_of,
            entries=_break_entries("menu", component_codes),
            one_year_chart=True,
        )
        columns = ["country", "source", "unit", "component", "year", "count", "population", "rate_per_100k"]
        columns += ["share_pct", "partial"]
        table = data[columns]
        meta = _metadata(
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
        blocks.append(
            page.block_html(
                "Counts and rates per 100,000",
                chart
                + page.table_html(
                    table.assign(component=data["name"]),  # the component in words; the CSV keeps its code
                    caption="Target 16.4 components by year (each unit apart)",
                    csv_name="sdg_16_4_components",
                    labels={"share_pct": "share of all recorded (same unit)"},
                    csv=table,
                ),
                summary="Choose a country, source and measure above the chart. Rates use the national population "
                "of the same year.",
                metadata=meta,
            )
        )
        latest = _latest(data, "share_pct")
        if not latest.empty:
            latest = latest.assign(
                menu=_series_label(latest)
                + " "
                + latest["year"].astype(str)
                + latest["partial"].map({True: " (partial year)", False: ""}),
                hover=latest["count"].map("{:,.0f}".format)
                + " of "
                + latest["all_recorded"].map("{:,.0f}".format)
                + " recorded "
                + latest["unit"],
                share_text=latest["share_pct"].map(page.percent),
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
                f"recorded in {top['country']} {_when(top)} ({top['unit']})."
            )
            blocks.append(
                page.block_html(
                    "Share of each country's recorded crime",
                    page.figure_html(bars)
                    + page.table_html(
                        latest[
                            ["country", "source", "unit", "name", "year", "count", "all_recorded", "share_pct"]
                            + ["partial"]
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
            )
        if not trends.empty and (trends["test"] == "too few periods").all():
            blocks.append(
                page.block_html(
                    "Trends (Mann-Kendall)",
                    page.paragraph(
                        "No trend test: no component has enough periods (at least 5 full years, or 24 months over "
                        "two calendar years).",
                        cls="note",
                    ),
                )
            )
        elif not trends.empty:
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
                    _codes(component_codes.get(r["iccs_code"], "")),
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
            blocks.append(
                page.block_html(
                    "Trends (Mann-Kendall)",
                    page.table_html(
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
            )
    else:
        blocks.append(page.paragraph("No source records any Target 16.4 component.", cls="note"))
    return page.section_html(title, "".join(blocks), summary=" ".join(summary))


def _arms_tracing(con, info: pd.Series, frame: pd.DataFrame, country_years: pd.DataFrame) -> str:
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
        return page.section_html(title, body, metadata=_metadata(con, info, frame, country_years))
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
    body = chart + page.table_html(
        merged.drop(columns=["menu", "trace", "partial"]),
        caption="16.4.2 by country and year",
        csv_name="sdg_16_4_2",
        labels={"count_seized": "arms seized", "count_traced": "arms traced", "pct_traced": "traced"},
        kinds={"pct_traced": page.PERCENT},
    )
    return page.section_html(title, body, summary=summary, metadata=_metadata(con, info, frame, country_years))


def render_sdg16(con: duckdb.DuckDBPyConnection, out_dir: Path) -> Path:
    """Write sdg16.html into `out_dir` and return its path."""
    infos = sdg16_data.indicators(con)
    annual = sdg16_data.indicator_annual(con)
    monthly = sdg16_data.indicator_monthly(con)
    country_years = sdg16_data.country_years(con)
    trends = _trends(annual, monthly)
    breaks = queries.series_breaks(con)
    if trends.empty:
        trends = pd.DataFrame(columns=SERIES_KEYS + ["iccs_code", "significant"])

    def rows(indicator: str) -> pd.DataFrame:
        return annual[annual["indicator"] == indicator]

    def trend_rows(indicator: str) -> pd.DataFrame:
        codes = set(infos.loc[infos["indicator"] == indicator, "component"])
        return trends[trends["iccs_code"].isin(codes)]

    def info(indicator: str) -> pd.Series:
        found = infos[infos["indicator"] == indicator]
        if found.empty:
            raise ValueError(f"sdg16_codes has no indicator {indicator}: load the classification first")
        return found.iloc[0]

    sections = [
        _victims_block(con, info("16.1.1"), rows("16.1.1"), trend_rows("16.1.1"), country_years, breaks),
        _victims_block(con, info("16.2.2"), rows("16.2.2"), trend_rows("16.2.2"), country_years, breaks),
        _target_16_4(con, infos[infos["indicator"] == "16.4"], rows("16.4"), trend_rows("16.4"), country_years, breaks),
        _arms_tracing(con, info("16.4.2"), rows("16.4.2"), country_years),
    ]
    intro = (
        "Sustainable Development Goal 16 indicators that police-recorded data can inform, computed from records "
        "classified with ICCS v1.0. Indicators defined per victim use victim counts only; offence counts are "
        "shown apart and labelled.\n\n" + CAVEAT
    )
    return page.write_page(
        out_dir, "sdg16.html", "SDG 16: peace, justice and strong institutions", sections, intro=intro
    )
