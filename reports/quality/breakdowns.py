"""The quality.html section on breakdowns: where a source's parts (men and women, age groups) do not add up to the
total it publishes beside them, and cells published only broken down (in no total). The figures are the
warehouse's WARN check ``breakdown_totals`` (``warehouse.breakdowns``), computed again here from the stored
cells, so the page and the Dagster check say the same."""

from __future__ import annotations

import duckdb
import pandas as pd

from reports import numbers, page, queries, tables
from warehouse import breakdowns


def breakdowns_section(con: duckdb.DuckDBPyConnection) -> str:
    """The section, or '' when no source keeps a breakdown."""
    if not queries.table_exists(con, "disaggregated_counts"):
        return ""
    sources = [r[0] for r in con.execute("SELECT DISTINCT source FROM disaggregated_counts ORDER BY 1").fetchall()]
    if not sources:
        return ""
    rows = []
    for source in sources:
        (finding,) = breakdowns.findings(con, source)
        for variable, figures in finding.metadata["variables"].items():
            rows.append(
                {
                    "source": source,
                    "breakdown": variable,
                    "cells compared": figures["compared"],
                    "parts differ from the total": figures["differing"],
                    "largest differences": "; ".join(figures["examples"][:3]),
                }
            )
        if finding.metadata.get("cells_without_total"):
            rows.append(
                {
                    "source": source,
                    "breakdown": "(any)",
                    "cells compared": None,
                    "parts differ from the total": None,
                    "largest differences": numbers.plural(finding.metadata["cells_without_total"], "cell")
                    + " published only broken down, in no total",
                }
            )
    table = pd.DataFrame(rows)
    compared = table.dropna(subset=["parts differ from the total"]) if rows else table
    differing = compared[compared["parts differ from the total"] > 0] if rows else table
    keep = "keeps" if len(sources) == 1 else "keep"
    summary = f"{numbers.plural(len(sources), 'source')} {keep} breakdowns by sex, age or another ICCS variable. " + (
        "Where a total is published beside its parts, they differ in "
        + ", ".join(
            f"{int(r['parts differ from the total'])} of {int(r['cells compared'])} cells ({r['source']}, "
            f"{r['breakdown']})"
            for _, r in differing.iterrows()
        )
        + ": the total is the published one, never the parts' sum."
        if not differing.empty
        else "Where a total is published beside its parts, they add up to it in every cell compared."
        if not compared.empty
        else "No total is published beside its parts: each total is the sum of its parts."
    )
    return page.section_html(
        "Breakdowns against their totals",
        tables.table_html(table, caption="Parts against the published total", csv_name="quality_breakdowns")
        if not table.empty
        else "",
        summary=summary,
        metadata={
            "Rule": "For each variable, the cells broken down by it (men + women) against the cell of its total "
            "with every other column equal (all victims, in the same age group, offence, area, period and file); "
            f"a difference within {breakdowns.TOLERANCE_SHARE:.0%} of the total or {breakdowns.TOLERANCE_PER_PART} "
            "per part is none. A cell published only broken down in a source that publishes totals is in no total.",
        },
    )
