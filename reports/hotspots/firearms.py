"""Hot spots of firearm-related offences on hotspots.html, a signal for SDG target 16.4 (illicit arms flows): the
records of each source that tags the weapon used (``offences.weapon``), mapped on their own with the same grid
(or area) analysis as the whole dataset. Nothing where no source tags the weapon."""

from __future__ import annotations

import duckdb
import pandas as pd

from iccs.disaggregations import label
from reports import names, page, tables
from reports.hotspots import data
from reports.hotspots.analysis import MIN_POINTS, Settings, no_grid_reason
from reports.hotspots.sections import area_section, grid_section
from reports.hotspots.subset import Subset

FIREARM = "FIREARM"
SIGNAL = (
    "A signal for SDG target 16.4 (significantly reduce illicit arms flows), not an indicator of it: where "
    "firearms are used in crime, as the police record the weapon. 16.4.2 itself (seized arms whose origin was "
    "traced) is on sdg16.html."
)
DEFINITION = (
    "Records whose weapon the source gives as a firearm (ICCS event variable 'weapon', code FIREARM), any ICCS "
    "category; the share of records with a known weapon counts every value but not known, not applicable and "
    "unknown means."
)


def tag_sentence(ds: pd.Series) -> str:
    """What share of the dataset's records have a known weapon, and how many were committed with a firearm."""
    records, known, firearm = int(ds["records"]), int(ds["known"]), int(ds["subset"])
    text = (
        f"The weapon is known for {tables.percent(100 * known / records)} of the {records:,} records of {ds['source']} "
        f"({known:,}; the others are tagged not known or not applicable, or have no tag); {firearm:,} were "
        f"committed with a firearm"
    )
    if known:
        text += (
            f" ({tables.percent(100 * firearm / known)} of those with a known weapon, "
            f"{tables.percent(100 * firearm / records)} of all records)"
        )
    return text + "."


def firearm_sections(con: duckdb.DuckDBPyConnection, labels: dict[str, str], settings: Settings) -> list[str]:
    """One section per dataset whose records carry the weapon tag: its firearm-related records on the grid, by
    area, or a note on why they cannot be mapped."""
    sections = []
    for _, ds in data.weapon_datasets(con, FIREARM).iterrows():
        name = f"{label('weapon', FIREARM).lower()}-related"
        subset = Subset(
            weapon=FIREARM,
            name=name,
            lead=f"{name.capitalize()} offences: {SIGNAL} {tag_sentence(ds)}",
            metadata={"Subset": DEFINITION, "SDG 16.4": SIGNAL},
        )
        part = ds.copy()
        part["records"] = ds["subset"]
        if part["with_points"] >= MIN_POINTS:
            sections.append(grid_section(con, part, labels, settings, subset))
        elif part["with_area"] > 0:
            sections.append(area_section(con, part, labels, settings, subset))
        else:
            why = (
                "no record was committed with a firearm"
                if not part["subset"]
                else f"{no_grid_reason(int(part['with_points']), settings)}, and no record names an area"
            )
            sections.append(
                page.section_html(
                    f"Hot spots: {names.source_names(con).get(ds['source'], ds['source'])} ({ds['unit']}), {name}",
                    page.paragraph(f"{subset.lead} Not mapped: {why}.", cls="note"),
                )
            )
    return sections
