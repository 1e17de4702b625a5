"""index.html: what reports exist, and the vintage of the data behind them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from reports import names, numbers, page, queries, tables

DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "trends": (
        "Trends",
        "Counts and rates per 100,000 by ICCS section, country and area; by the victim's sex where sources "
        "record it; monthly seasonality; Mann-Kendall trend tests.",
    ),
    "hotspots": (
        "Hot spots",
        "Where recorded offences cluster in space, and how clusters change over time; firearm-related offences "
        "where sources record the weapon.",
    ),
    "areas": (
        "By area",
        "Recorded crime and rates per 100,000 by area on maps of the areas (or ranked where no boundaries are "
        "given), their change over the coverage window, and Local Moran's I clusters.",
    ),
    "patterns": (
        "Patterns",
        "What deserves an analyst's look: unusual months, level shifts (likely recording changes shown apart) and "
        "places whose offence mix changed unlike the rest of the country, found by tests with a 10% false "
        "discovery rate.",
    ),
    "sdg16": (
        "SDG 16",
        "Indicators 16.1.1, 16.2.2 (by sex and age group where sources give them) and the Target 16.4 components "
        "computed from ICCS codes.",
    ),
    "quality": ("Data quality", "Quarantined records, coverage gaps and checks on every load."),
}


def _when(value: object) -> str:
    return "" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")


def _source_line(row: pd.Series) -> str:
    """One plain line per source: what it counts, where, which years, and when it was last loaded."""
    parts = [str(row["source"])]
    where = str(row["country"]) if isinstance(row["country"], str) else ""
    if pd.notna(row["countries"]) and int(row["countries"]) > 1:
        where = f"{int(row['countries'])} countries"
    if where:
        parts.append(where)
    if isinstance(row["unit"], str):
        parts.append(f"{row['unit']} ({row['stage']}, {row['level']} level, {row['period']} dates)")
    if pd.notna(row["first_year"]):
        parts.append(f"{int(row['first_year'])}–{int(row['last_year'])}")
    if pd.notna(row["last_run"]):
        # An aggregate source's records are table cells, not offences: called what they are.
        what = "table cells" if row["level"] == "aggregate" else "records"
        loaded = f", {int(row['records_loaded']):,} {what}" if pd.notna(row["records_loaded"]) else ""
        parts.append(f"last loaded {_when(row['last_run'])} ({row['status']}{loaded})")
    line = page.esc(" · ".join(parts))
    if isinstance(row["description"], str) and row["description"]:
        line += f'<br><span class="muted">{page.esc(row["description"])}</span>'
    return f"<li>{line}</li>"


def render_index(con: duckdb.DuckDBPyConnection, out_dir: Path) -> Path:
    """Write index.html: one line per report present in `out_dir`, then the data vintage of every source."""
    out_dir = Path(out_dir)
    items = []
    for kind, (title, blurb) in DESCRIPTIONS.items():
        path = out_dir / f"{kind}.html"
        if path.exists():
            made = datetime.fromtimestamp(path.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M UTC")
            items.append(
                f'<li><a href="{kind}.html">{page.esc(title)}</a> — {page.esc(blurb)} '
                f'<span class="muted">(generated {made})</span></li>'
            )
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
        countries = int(vintage["countries"].fillna(0).max()) if len(vintage) == 1 else None
        summary = (
            numbers.plural(len(vintage), "source")
            + (f", {numbers.plural(countries, 'country')}" if countries else "")
            + (
                f", years {int(periods['first_year'].min())}–{int(periods['last_year'].max())}."
                if not periods.empty
                else "; no counts loaded."
            )
        )
        if vintage["last_run"].notna().any():
            summary += f" Latest load finished {_when(vintage['last_run'].max())}."
        lines = "".join(_source_line(row) for _, row in vintage.iterrows())
        table = vintage.drop(columns=["description"]).assign(last_run=vintage["last_run"].map(_when))
        body = f'<ul class="reports">{lines}</ul>' + tables.table_html(
            table, caption="Sources, periods and latest run", csv_name="sources_vintage"
        )
    sections.append(
        page.section_html(
            "Data vintage",
            body,
            summary=summary,
            metadata={
                "Period": "first_year–last_year: the years with loaded counts inside the source's coverage window "
                "(see quality.html).",
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
        notice=names.data_notice(con),
    )
