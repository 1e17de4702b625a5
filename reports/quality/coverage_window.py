"""The coverage windows section of quality.html: each source's window and the records loaded outside it.

The records outside a window are loaded (a late report of an old offence is a real record) but no statistic uses
them; this section is where they are counted, so nothing is hidden. The windows come from ``v_coverage``.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from reports import numbers, page, tables
from reports.quality import data
from warehouse import coverage

LABELS = {
    "first_period": "first period",
    "last_period": "last period",
    "records_inside": "inside",
    "records_before": "before",
    "records_after": "after",
    "count_inside": "count inside",
    "count_before": "count before",
    "count_after": "count after",
    "records_are": "records are",
}


def _outside(row: pd.Series, side: str) -> str:
    """'39 records occurred before the coverage window (late reports)' or the cells and their count."""
    records, count = float(row[f"records_{side}"]), float(row[f"count_{side}"])
    if not records:
        return ""
    when = "before" if side == "before" else "after"
    if row["records_are"] != "records":  # table cells, or the offence_counts rows of a source loaded before
        are = "table cells" if row["records_are"] == "cells" else row["records_are"]
        return f"{records:,.0f} {are} ({count:,.0f} {row['unit']}) fall {when} the coverage window" + (
            " (late or stray old periods)" if side == "before" else ""
        )
    return f"{records:,.0f} records occurred {when} the coverage window" + (
        " (late reports)" if side == "before" else ""
    )


def sentence(row: pd.Series) -> str:
    """One source and unit: its window, how it was set, and what lies outside it."""
    outside = [text for side in ("before", "after") if (text := _outside(row, side))]
    return f"{row['source']} ({row['unit']}): {row['first_period']} to {row['last_period']} ({row['basis']})" + (
        ": " + "; ".join(outside) + ", loaded but left out of every statistic."
        if outside
        else ": every record lies inside it."
    )


def section(con: duckdb.DuckDBPyConnection) -> str:
    """The section, or '' when the warehouse has no coverage windows yet."""
    frame = data.coverage_windows(con)
    if frame.empty:
        return ""
    sentences = [sentence(row) for _, row in frame.iterrows()]
    outside = frame["records_before"].gt(0) | frame["records_after"].gt(0)
    summary = (
        f"{int(outside.sum())} of {numbers.plural(len(frame), 'source')} "
        f"{'has' if int(outside.sum()) == 1 else 'have'} records outside their coverage window."
        if outside.any()
        else "Every loaded record lies inside its source's coverage window."
    )
    body = "".join(page.paragraph(s) for s in sentences) + tables.table_html(
        frame,
        caption="Coverage window per source and unit (v_coverage)",
        csv_name="quality_coverage_windows",
        labels=LABELS,
    )
    return page.section_html(
        "Coverage windows",
        body,
        summary=summary,
        metadata={
            "Window": "The periods a source covers: configured (coverage: from/to in the source's configuration) or "
            "inferred from the data. Trends, SDG 16 series, hot spots and the completeness checks use only "
            "the records inside it; the warehouse's tables and v_counts keep every record "
            f"({coverage.COUNTS_IN_WINDOW} and {coverage.OFFENCES_IN_WINDOW} are the windowed views).",
            "Inference": f"From the first to the last dense period (months, or years for annual data): a period is "
            f"dense with {coverage.DENSE_SHARE:.0%} or more of the typical (record-weighted median) period's "
            f"records; gaps of up to {coverage.MAX_GAP['month']} months ({coverage.MAX_GAP['year']} years) "
            f"do not cut a series; a run of dense periods holding under {coverage.MIN_RUN_SHARE:.0%} of the "
            "records (a stray busy month in a tail) is left out unless it is the largest.",
            "Records": "Records are the loaded records of an incident source. For aggregate sources they are the "
            "table cells loaded, as the run summary counts them (inside, before and after add up to the cells "
            "loaded; several input cells of one area, national code and period are one offence_counts row), "
            "and the count columns give the offences (or the source's unit) they hold. A source loaded before "
            "the warehouse kept its cells per period says 'offence_counts rows' until it is reloaded.",
        },
    )
