"""index.html: what reports exist, and the vintage of the data behind them."""

from __future__ import annotations

from pathlib import Path

import duckdb

from reports import page, queries

DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "trends": (
        "Trends",
        "Counts and rates per 100,000 by ICCS section, country and area; monthly seasonality; "
        "Mann-Kendall trend tests.",
    ),
    "hotspots": ("Hot spots", "Where recorded offences cluster in space, and how clusters change over time."),
    "sdg16": ("SDG 16", "Indicators 16.1.1, 16.2.2 and the Target 16.4 components computed from ICCS codes."),
    "quality": ("Data quality", "Quarantined records, coverage gaps and checks on every load."),
}


def render_index(con: duckdb.DuckDBPyConnection, out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    items = []
    for kind, (title, blurb) in DESCRIPTIONS.items():
        if (out_dir / f"{kind}.html").exists():
            items.append(f'<li><a href="{kind}.html">{page.esc(title)}</a> — {page.esc(blurb)}</li>')
    if items:
        listing = f'<ul class="reports">{"".join(items)}</ul>'
    else:
        listing = page.paragraph("No reports have been generated yet.", cls="note")
    sections = [page.section_html("Reports", listing)]

    vintage = queries.sources_vintage(con)
    if vintage.empty:
        body = page.paragraph("The warehouse holds no sources yet: run `iccs run` first.", cls="note")
        summary = ""
    else:
        periods = vintage.dropna(subset=["first_year"])
        summary = f"{len(vintage)} source(s) covering {vintage['country'].nunique()} countr(y/ies)" + (
            f", years {int(periods['first_year'].min())}–{int(periods['last_year'].max())}."
            if not periods.empty
            else "; no counts loaded."
        )
        if vintage["last_run"].notna().any():
            summary += f" Latest load finished {vintage['last_run'].max():%Y-%m-%d %H:%M}."
        body = page.table_html(vintage, caption="Sources, periods and latest run", csv_name="sources_vintage")
    sections.append(
        page.section_html(
            "Data vintage",
            body,
            summary=summary,
            metadata={
                "Period": "first_year–last_year: the years with loaded counts for the source.",
                "Last run": "When the latest load of the source finished (from the runs table).",
                "Caveat": "Recorded crime reflects reporting and recording practice as well as crime.",
            },
        )
    )
    return page.write_page(
        out_dir,
        "index.html",
        "Crime statistics reports",
        sections,
        intro="Reports built from the warehouse, classified with the International Classification of Crime "
        "for Statistical Purposes (ICCS v1.0).",
    )
