"""The block 'By sex and age group' under 16.1.1 and 16.2.2 on sdg16.html: rates per 100,000 by sex over the
years, by age group in the latest year, and how much of each total the breakdown covers. Nothing where no source
breaks the indicator down."""

from __future__ import annotations

import pandas as pd

from reports import charts, numbers, page, tables
from reports.sdg16 import breakdown_text as text
from reports.sdg16.breakdowns import (
    SHOWN_SEXES,
    age_coverage,
    by_sex,
    latest_age_rows,
    series_label,
    sex_coverage,
    sex_table,
    with_partial,
)
from reports.sdg16.text import NO_RATES


def breakdown_block(
    indicator: str, codes: str, annual: pd.DataFrame, rows: pd.DataFrame, sources: dict[str, str] | None = None
) -> str:
    """`rows`: the indicator's rows of ``data.indicator_by_sex_age``; `annual`: its rows of ``indicator_annual``
    (for partial years and the countries without a breakdown); `sources`: the 'About these data' lines naming
    the sources and their correspondence notes (``victims.sources_metadata``). '' when no series is broken
    down."""
    if rows.empty:
        return ""
    rows = with_partial(rows, annual)
    table = sex_table(rows)
    sexes = by_sex(rows)
    ages = latest_age_rows(rows)
    sex_cov, age_cov = sex_coverage(rows), age_coverage(rows)
    with_data = sorted(set(annual.loc[annual["count"].notna(), "country"]))
    absent = [c for c in with_data if c not in set(rows["country"])]
    sentences = [
        *text.series_sentences(table),
        text.partial_sentence(sex_cov, "sex"),
        text.partial_sentence(age_cov, "age group"),
        text.age_sentence(ages),
        text.absent_sentence(indicator, absent, len(with_data)),
    ]
    body = _sex_chart(indicator, sexes) + _sex_table(indicator, table)
    if not ages.empty:
        body += _age_chart(indicator, ages) + _age_table(indicator, ages)
    return page.block_html(
        "By sex and age group",
        body,
        summary=" ".join(s for s in sentences if s),
        metadata={
            "Definition (by sex)": text.definition_sex(codes),
            "Definition (by age group)": text.DEFINITION_AGE,
            "Coverage": text.COVERAGE,
            "Read from": text.READ_FROM,
            **(sources or {}),
        },
    )


def _sex_chart(indicator: str, sexes: pd.DataFrame) -> str:
    drawn = sexes[sexes["sex"].isin(SHOWN_SEXES)].assign(menu=series_label)
    drawn["note"] = "partial year: " + drawn["months"].fillna(0).astype(int).astype(str) + " of 12 months"
    drawn["small"] = drawn["count"].lt(numbers.SMALL_COUNT) if "count" in drawn else False
    chart, _ = charts.line_chart(
        drawn,
        menu="menu",
        trace="sex_label",
        x="year",
        y="rate_per_100k",
        title=lambda m: f"{indicator} by sex: {m}",
        x_title="Year",
        y_title="per 100,000 of the same sex",
        partial="partial",
        note="note",
        y_format=charts.RATE,
        small="small",
        no_values="No population by sex: no rate per 100,000 to chart; the table has the counts.",
        partial_note=True,
    )
    return chart


def _sex_table(indicator: str, table: pd.DataFrame) -> str:
    columns = ["country", "source", "unit", "year"]
    columns += [c for c in table.columns if c.startswith(("count_", "rate_per_100k_"))]
    columns += ["sex_known_share", "partial"]
    labels = {"sex_known_share": "sex known"}
    for column in columns:
        if column.startswith(("count_", "rate_per_100k_")):
            code = column.removeprefix("rate_per_100k_").removeprefix("count_")
            word = {"_T": "all", "M": "male", "F": "female", "_U": "sex not known", "_Z": "sex not applicable"}
            labels[column] = word.get(code, code) + (" per 100,000" if column.startswith("rate") else "")
    return tables.table_html(
        table[columns],
        caption=f"{indicator} by sex: counts, and rates per 100,000 of the population of the same sex",
        csv_name=f"sdg_{indicator}_by_sex",
        labels=labels,
    )


def _age_chart(indicator: str, ages: pd.DataFrame) -> str:
    known = ages[ages["known_age"]]
    rated = known["rate_per_100k"].notna().any()
    value = "rate_per_100k" if rated else "share_pct"
    drawn = known.assign(
        menu=series_label(known) + " " + known["year"].astype(str),
        share_pct=known["share_of_sex"] * 100,
    )
    drawn = drawn[drawn[value].notna()]
    if drawn.empty:
        return page.paragraph(NO_RATES, cls="note")
    figure = charts.menu_grouped_bars(
        drawn,
        menu="menu",
        category="age_label",
        group="sex_label",
        value=value,
        title=lambda m: f"{indicator} by age group and sex: {m}",
        x_title="Age group",
        y_title="per 100,000 of the same sex and age group" if rated else "% of the victims of the same sex",
        value_format=",.2f" if rated else ".1f",
    )
    return page.figure_html(figure)


def _age_table(indicator: str, ages: pd.DataFrame) -> str:
    shown = ages[["country", "source", "unit", "year", "age_label", "sex_label", "count", "population"]].assign(
        rate_per_100k=ages["rate_per_100k"], share_of_sex=ages["share_of_sex"], partial=ages["partial"]
    )
    return tables.table_html(
        shown,
        caption=f"{indicator} by age group and sex, latest year of each series: counts, rates per 100,000 of the "
        "same sex and age group, and each group's share of the victims of its sex",
        csv_name=f"sdg_{indicator}_by_age",
        labels={"age_label": "age group", "sex_label": "sex", "share_of_sex": "share of its sex"},
    )
