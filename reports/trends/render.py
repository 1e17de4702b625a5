"""trends.html itself: the blocks of every dataset, grouped by kind of chart."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from reports import names, page, queries, trend_tables
from reports.queries import DATASET_KEYS
from reports.trends import data
from reports.trends.areas import areas_block
from reports.trends.by_sex import sex_block
from reports.trends.changes import significance_block, yoy_block
from reports.trends.monthly import seasonal_block
from reports.trends.sections import comparison_block, drilldown_block, sections_block
from reports.trends.text import CAVEAT


def datasets(frame: pd.DataFrame, titles: dict[str, str]):
    """Each dataset's rows, with the title its charts and blocks carry (the source's description, not its key)."""
    for key, g in frame.groupby(DATASET_KEYS, sort=True):
        yield names.dataset_title(titles, *key), g


def render_trends(con: duckdb.DuckDBPyConnection, out_dir: Path) -> Path:
    """Write trends.html into `out_dir` and return its path."""
    annual = data.annual_national(con)
    if annual.empty:
        empty = page.section_html(
            "No data", page.paragraph("The warehouse holds no counts yet: run `iccs run` first.", cls="note")
        )
        return page.write_page(
            out_dir, "trends.html", "Trends in recorded crime", [empty], notice=names.data_notice(con)
        )
    monthly = data.monthly_national(con)
    areas = data.area_totals(con)
    breaks = queries.series_breaks(con)
    trends = trend_tables.trend_table(annual, monthly)
    yoy = trend_tables.yoy_table(annual)
    latest = trend_tables.latest_full_year(annual)
    by_sex = data.national_by_sex(con)

    groups = {
        "By ICCS section": [],
        "Level-2 drill-down": [],
        "Countries compared": [],
        "By sex": [],
        "Year-over-year change": [],
        "Areas": [],
        "Monthly series and seasonality": [],
        "Trend significance": [],
    }
    titles = names.source_names(con)
    for label, g in datasets(annual, titles):
        groups["By ICCS section"].append(sections_block(con, label, g, trends, breaks))
        groups["Level-2 drill-down"].append(drilldown_block(con, label, g, yoy, breaks))
        groups["Countries compared"].append(comparison_block(con, label, g, latest, breaks))
        groups["Year-over-year change"].append(yoy_block(con, label, g, yoy))
        mine = by_sex.merge(g[DATASET_KEYS].drop_duplicates(), on=DATASET_KEYS)
        groups["By sex"].append(sex_block(con, label, g, mine))
        if bool(g["monthly"].any()):
            groups["Monthly series and seasonality"].append(seasonal_block(con, label, g, monthly, breaks))
        groups["Trend significance"].append(significance_block(con, label, g, trends, breaks))
    reference = trend_tables.reference_year(annual)
    for label, a in datasets(areas, titles):
        groups["Areas"].append(areas_block(con, label, a, annual, reference))

    summaries = {
        "By ICCS section": "Counts and rates per 100,000 by ICCS section; choose a country and measure above "
        "each chart.",
        "Areas": "Recorded crime by area, for sources that record areas.",
        "By sex": "The leading categories split by the victim's sex (the perpetrator's for counts of persons), "
        "for the sources that record it.",
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
    return page.write_page(
        out_dir, "trends.html", "Trends in recorded crime", sections, intro=intro, notice=names.data_notice(con)
    )
