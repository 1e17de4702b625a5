"""The quality.html section on national totals: total rows among the areas (declared or detected), how far the
sum of the areas is from the national total, and nested totals smaller than their published parts.

The figures are the warehouse's (``warehouse.totals``): the page only says what the national figure rests on.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from reports import numbers, page, tables
from reports.quality import data
from warehouse import totals


def _coverage_lines(cov: pd.DataFrame) -> list[str]:
    """'areas sum to 97.8% of the national total in 2021' per source (the years furthest from 100% first)."""
    lines = []
    for (source, country, unit), rows in cov.groupby(["source", "country", "unit"], sort=True):
        rows = rows.assign(gap=(rows["areas_share"] - 1).abs()).sort_values(["gap", "year"], ascending=[False, True])
        shown = [f"{tables.percent(r.areas_share * 100)} in {int(r.year)}" for r in rows.head(3).itertuples()]
        shown[0] = shown[0].replace(" in ", " of the national total in ", 1)
        lines.append(f"{source} ({country}, {unit}): the areas sum to {', '.join(shown)}.")
    return lines


def totals_section(con: duckdb.DuckDBPyConnection) -> str:
    """The section, or '' when no source has a total row or a nested-total shortfall."""
    areas = data.total_areas(con)
    if areas is None:
        return ""
    cov = totals.coverage(con)
    short = totals.shortfalls(con)
    if areas.empty and short.empty:
        return ""
    parts = []
    summary = []
    if not areas.empty:
        detected = areas[areas["basis"] == "detected"]
        summary.append(
            f"{numbers.plural(len(areas), 'national total area')}, {len(detected)} detected (not declared): counted as "
            "the national figure, never added to the areas."
        )
        parts.append(
            tables.table_html(
                areas,
                caption="Areas that are the national total",
                csv_name="quality_totals",
                labels={"basis": "declared or detected"},
            )
        )
    if not cov.empty:
        lines = _coverage_lines(cov)
        summary.extend(lines[:3])
        parts.append(
            tables.table_html(
                cov,
                caption="Sum of the areas against the national total, by year",
                csv_name="quality_total_coverage",
                labels={"areas_share": "areas as share of the total"},
            )
        )
    if not short.empty:
        summary.append(
            f"{numbers.plural(len(short), 'nested total')} smaller than the sum of their published sub-categories "
            "(remainder stored as 0)."
        )
        parts.append(
            tables.table_html(
                short, caption="Nested totals below the sum of their parts", csv_name="quality_nested_shortfalls"
            )
        )
    return page.section_html(
        "National totals",
        "".join(parts),
        summary=" ".join(summary),
        metadata={
            "Rule": f"The national figure is the total row where the source has one for an offence and period, else "
            f"the sum of its areas. An undeclared area is taken as the total when its count equals the sum of "
            f"the other areas (within {totals.TOLERANCE_SHARE:.0%} or {totals.TOLERANCE_PER_AREA} per area) "
            f"in at least {totals.MOST:.0%} of at least {totals.MIN_CELLS} cells where every area has a count "
            f"(sources with {totals.MIN_AREAS}+ areas).",
        },
    )
