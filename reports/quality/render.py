"""quality.html itself: the sections in reading order."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from reports import correspondence_notes, page, queries
from reports.names import data_notice
from reports.quality import coverage_window, data
from reports.quality.breakdowns import breakdowns_section
from reports.quality.sections import (
    breaks_section,
    completeness_section,
    contracts_section,
    loads_section,
    reasons_section,
)
from reports.quality.totals import totals_section
from warehouse import quality


def sources_metadata(con: duckdb.DuckDBPyConnection, summary: pd.DataFrame) -> dict[str, str]:
    """The loads chart's sources with their descriptions, and every partial and excluded national code of their
    correspondence tables with its note."""
    if summary.empty:
        return {}
    names = sorted(summary["source"].unique())
    return {"Sources": queries.source_names(con, names)} | correspondence_notes.metadata(con, names, None)


def render_quality(con: duckdb.DuckDBPyConnection, out_dir: Path) -> Path:
    """Write quality.html into ``out_dir`` and return its path."""
    summary = data.load_table(con)
    sources = data.loaded_sources(con, summary)
    sections = [
        loads_section(summary, sources_metadata(con, summary)),
        reasons_section(quality.reasons(con), quality.unmapped_codes(con)),
        coverage_window.section(con),
        completeness_section(con, sources),
        breaks_section(data.series_breaks(con, sources)),
        totals_section(con),
        breakdowns_section(con),
        contracts_section(con),
    ]
    intro = (
        "Where every input record went, and where the data has holes. Nothing is dropped silently: a "
        "record is either loaded or in quarantine with its reason. Missing months, sudden drops, "
        "placeholder dates or places and categories that appear or vanish are warnings: the records are "
        "loaded, but a trend across them may be an artefact of recording."
    )
    return page.write_page(
        out_dir, "quality.html", "Data quality", [s for s in sections if s], intro=intro, notice=data_notice(con)
    )
