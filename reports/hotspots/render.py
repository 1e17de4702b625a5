"""hotspots.html itself: a section per dataset, then what could not be mapped and why."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from reports import names, page
from reports.hotspots import data
from reports.hotspots.analysis import MIN_POINTS, Settings, no_grid_reason
from reports.hotspots.firearms import firearm_sections
from reports.hotspots.sections import area_section, grid_section
from reports.hotspots.text import CAVEAT, FOLLOWS_PEOPLE
from reports.stats.hotspot import DEFAULT_FDR, DEFAULT_SEED, DEFAULT_TRANSFORM, Transform
from reports.stats.hotspot_grid import DEFAULT_CELL_M, DEFAULT_MAX_CELLS

FILENAME = "hotspots.html"
TITLE = "Hot spots"


def render_hotspots(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    *,
    cell_size: float = DEFAULT_CELL_M,
    max_cells: int = DEFAULT_MAX_CELLS,
    fdr: float = DEFAULT_FDR,
    seed: int = DEFAULT_SEED,
    transform: Transform = DEFAULT_TRANSFORM,
) -> Path:
    """Write hotspots.html into `out_dir` and return its path (`cell_size` in metres; `transform` "sqrt" or
    "none": the values Gi* is computed on)."""
    settings = Settings(cell_size=cell_size, max_cells=max_cells, fdr=fdr, seed=seed, transform=transform)
    datasets = data.datasets(con) if data.has_offences(con) else pd.DataFrame()
    labels = data.category_labels(con)
    sections: list[str] = []
    skipped: list[str] = []
    for _, ds in datasets.iterrows():
        if ds["with_points"] >= MIN_POINTS:
            sections.append(grid_section(con, ds, labels, settings))
        elif ds["with_area"] > 0:
            sections.append(area_section(con, ds, labels, settings))
        else:
            reason = no_grid_reason(int(ds["with_points"]), settings)
            skipped.append(f"{ds['source']} ({ds['unit']}): {reason}, and no record names an area")
    if sections and data.has_offences(con):
        sections.extend(firearm_sections(con, labels, settings))
    if not sections:
        note = "No incident-level records with coordinates or areas: hot spots need where each offence happened."
        sections.append(page.section_html("No data to map", page.paragraph(note, cls="note")))
    if skipped:
        text = "Not analysed, neither on a grid nor by area: " + "; ".join(skipped) + "."
        sections.append(page.section_html("Not mapped", page.paragraph(text, cls="note")))
    intro = (
        "Where recorded offences cluster more than chance would explain, found with the Getis-Ord Gi* statistic "
        "on a regular grid (or on areas when records carry only an area), how each place changed year by "
        "year (emerging hot spot patterns), and where the Target 16.4 offences make up more of the records than "
        "on the whole map. Only incident-level records are mapped: each one needs a place.\n\n"
        + CAVEAT
        + " "
        + FOLLOWS_PEOPLE
    )
    return page.write_page(out_dir, FILENAME, TITLE, sections, intro=intro, notice=names.data_notice(con))
