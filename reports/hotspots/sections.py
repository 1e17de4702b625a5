"""The sections of hotspots.html: one per dataset (source + counting unit), on a grid or by area."""

from __future__ import annotations

import time
from dataclasses import replace

import duckdb
import numpy as np
import pandas as pd

from reports import correspondence_notes, names, page, queries, tables
from reports.hotspots import data
from reports.hotspots.analysis import (
    GridResult,
    Settings,
    analyse_areas,
    analyse_binned,
    analyse_grid,
    no_grid_reason,
)
from reports.hotspots.binning import bin_in_sql, drop_binned
from reports.hotspots.figures import BIN_LABEL, area_map, gi_map, mix_map, pattern_map
from reports.hotspots.places import Places, grid_places, point_places
from reports.hotspots.subset import Subset
from reports.hotspots.text import (
    MIX_METHOD,
    MIX_NAME,
    SIGNIFICANCE,
    VALUES,
    area_summary,
    changes_sentence,
    emerging_note,
    grid_summary,
    mix_sentence,
    pattern_sentence,
    plural,
)
from reports.stats.hotspot import smallest_detectable
from reports.stats.hotspot_areas import MIN_AREAS
from reports.stats.hotspot_emerging import MEANING
from reports.stats.hotspot_grid import local_proj4
from reports.stats.hotspot_mix import MIN_CATEGORY_RECORDS, MIN_RATIO
from reports.stats.hotspot_summary import lonlat_text, pattern_table
from warehouse.boundaries import area_shapes
from warehouse.coverage import window_text


def _common_metadata(con, ds: pd.Series, settings: Settings, emerging, reason: str, years: np.ndarray) -> dict:
    return {
        "Dataset": f"{queries.source_names(con, [ds['source']])}; unit: {ds['unit']}; country: {ds['countries']}",
        "False discovery rate": f"{settings.fdr:.0%}; confidence 90/95/99% = BH-adjusted p <= 0.10/0.05/0.01",
        "Period": f"{int(years[0])}–{int(years[-1])}, all years together on the first map",
        **({"Coverage window": window} if (window := window_text(con, ds["source"])) else {}),
        "Emerging patterns": emerging_note(emerging, reason, settings.trend_alpha),
        "Unit": str(ds["unit"]),
    }


def _label(con: duckdb.DuckDBPyConnection, ds: pd.Series, subset: Subset | None) -> str:
    """What readers see: 'the source's name (unit)', or '..., firearm-related' for a subset of its records."""
    name = names.source_names(con).get(ds["source"], ds["source"])
    return f"{name} ({ds['unit']})" + (f", {subset.name}" if subset else "")


def _slug(ds: pd.Series, subset: Subset | None) -> str:
    """The dataset's key in chart ids and CSV names, stable whatever its description says."""
    return page.slug(f"{ds['source']} ({ds['unit']})" + (f", {subset.name}" if subset else ""))


def _lead(subset: Subset | None) -> str:
    return page.paragraph(subset.lead) if subset else ""


def grid_section(
    con: duckdb.DuckDBPyConnection,
    ds: pd.Series,
    labels: dict[str, str],
    settings: Settings,
    subset: Subset | None = None,
) -> str:
    """The grid analysis of a dataset (of the `subset` of its records, when given: `ds` then counts those)."""
    started = time.perf_counter()
    result = grid_result(con, ds["source"], ds["unit"], labels, settings, subset.weapon if subset else None)
    label, slug = _label(con, ds, subset), _slug(ds, subset)
    grid = result.grid
    centre = lonlat_text(*(float(v[0]) for v in grid.to_lonlat(np.array([0.0]), np.array([0.0]))))
    places = grid_places(con, ds["source"], grid)
    result = named_result(result, places.shapes)
    body = [
        _lead(subset),
        _where_block(result, label, slug, places, settings.fdr),
        _mix_block(result, label, slug, places, settings.fdr),
        _patterns_block(result, label, slug, places),
        _hot_cells_block(result, label, slug),
    ]
    metadata = (
        _grid_metadata(con, ds, result, settings, centre)
        | (subset.metadata if subset else {})
        | correspondence_notes.metadata(con, [ds["source"]])
        | {"Computed in": f"{time.perf_counter() - started:.2f} s"}
    )
    return page.section_html(f"Hot spots: {label}", "".join(body), metadata=metadata)


def named_result(result: GridResult, shapes: pd.DataFrame) -> GridResult:
    """The places' "Near" areas by their names from the boundaries file ("Ashby Vale (D23)"), where it has them."""
    if shapes.empty:
        return result
    names = {
        a.strip().lower(): (f"{label} ({a})" if label.strip().lower() != a.strip().lower() else a)
        for a, label in zip(shapes["area"], shapes["label"], strict=True)
    }

    def named(frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty or "Near" not in frame:
            return frame
        return frame.assign(Near=[names.get(str(v).strip().lower(), v) for v in frame["Near"]])

    mix = result.mix if result.mix is None else replace(result.mix, groups=named(result.mix.groups))
    return replace(result, groups=named(result.groups), changes=named(result.changes), mix=mix)


def grid_result(
    con: duckdb.DuckDBPyConnection,
    source: str,
    unit: str,
    labels: dict[str, str],
    settings: Settings,
    weapon: str | None = None,
) -> GridResult:
    """The grid analysis of a dataset (of its records committed with `weapon`, when given), its records counted
    on the grid in DuckDB; from its points in Python only when DuckDB's arithmetic cannot settle the grid
    (`reports.hotspots.binning`)."""
    binned = bin_in_sql(con, source, unit, settings.cell_size, settings.max_cells, weapon)
    if binned is None:
        return analyse_grid(data.grid_records(con, source, unit, weapon), labels, settings)
    try:
        return analyse_binned(binned, labels, settings)
    finally:
        drop_binned(binned)


def _where_block(result: GridResult, label: str, slug: str, places: Places, fdr: float) -> str:
    """The Gi* map of all years together and its hot spot groups."""
    grid, cells, groups = result.grid, result.cells, result.groups
    where = page.figure_html(
        gi_map(grid, cells, groups, f"{label}: Gi* hot and cold spots, {grid.cell_size / 1000:g} km cells", places),
        div_id=f"hotspots-{slug}-gi",
    )
    if not groups.empty:
        where += tables.table_html(
            groups.drop(columns=["x", "y"]), caption=f"{label}: hot spot groups", csv_name=f"hotspot_groups_{slug}"
        )
    return page.block_html("Where offences concentrate", where, summary=grid_summary(grid, cells, groups, fdr))


def _mix_block(result: GridResult, label: str, slug: str, places: Places, fdr: float) -> str:
    """Where the Target 16.4 offences make up more of the records ('' when not computed)."""
    if result.mix is None:
        return ""
    counts = result.cells["count"].to_numpy()
    mix_body = page.figure_html(
        mix_map(result.grid, counts, result.mix, f"{label}: where {MIX_NAME} offences are a larger share", places),
        div_id=f"hotspots-{slug}-mix",
    )
    if not result.mix.groups.empty:
        mix_body += tables.table_html(
            result.mix.groups.drop(columns=["x", "y"]),
            caption=f"{label}: places where {MIX_NAME} offences are a larger share of the records",
            csv_name=f"hotspot_mix_{slug}",
        )
    return page.block_html(
        f"Where {MIX_NAME} offences make up more of the records", mix_body, summary=mix_sentence(result.mix, fdr)
    )


def _patterns_block(result: GridResult, label: str, slug: str, places: Places) -> str:
    """The emerging hot spot patterns and the places that changed ('' when not computed)."""
    if result.emerging is None:
        return ""
    counts = result.cells["count"].to_numpy()
    category = result.emerging.frame["category"].to_numpy()
    changes = page.figure_html(
        pattern_map(
            result.grid, counts, result.emerging, result.changes, f"{label}: emerging hot spot patterns", places
        ),
        div_id=f"hotspots-{slug}-patterns",
    )
    if not result.changes.empty:
        changes += tables.table_html(
            result.changes.drop(columns=["x", "y"]),
            caption=f"{label}: places that changed (emerging or no longer hot)",
            csv_name=f"hotspot_changes_{slug}",
        )
    changes += tables.table_html(
        pattern_table(category[result.area], counts[result.area], MEANING),
        caption=f"{label}: the {int(result.cells.attrs['tested']):,} cells of the study area (the cells tested) "
        "by pattern",
        csv_name=f"hotspot_patterns_{slug}",
    )
    summary = pattern_sentence(result.emerging, "cells", result.area) + " " + changes_sentence(result.changes)
    return page.block_html("How the hot spots changed by year", changes, summary=summary)


def _hot_cells_block(result: GridResult, label: str, slug: str) -> str:
    if result.hot_cells.empty:
        return ""
    table = tables.table_html(
        result.hot_cells, caption=f"{label}: hot cells, strongest first", csv_name=f"hotspot_cells_{slug}"
    )
    return page.block_html("Hot cells", table)


def _grid_metadata(
    con: duckdb.DuckDBPyConnection, ds: pd.Series, result: GridResult, settings: Settings, centre: str
) -> dict[str, str]:
    grid, cells = result.grid, result.cells
    n_tested = int(cells.attrs["tested"])
    permutations = cells.attrs["permutations"]
    needed = smallest_detectable(n_tested, permutations, settings.fdr)
    enlarged = (
        f" (requested {grid.requested_cell_size / 1000:g} km, enlarged to stay within {settings.max_cells:,} cells)"
        if grid.cell_size != grid.requested_cell_size
        else ""
    )
    return {
        "Method": "Getis-Ord Gi* (esda's G_Local formula, star=True) per grid cell; binary queen weights "
        "(each cell with its 8 neighbours in the study area, and itself); two-sided conditional-randomisation "
        "p-values, ties counted in both tails; Benjamini-Hochberg false discovery rate control over the cells "
        "tested. " + VALUES[settings.transform].format(unit="cell") + " " + SIGNIFICANCE,
        "Cell size": f"{grid.cell_size / 1000:g} km{enlarged}",
        "Grid": f"{grid.ncols:,} × {grid.nrows:,} = {grid.n_cells:,} cells: the rectangle around the records",
        "Study area": f"{n_tested:,} of {grid.n_cells:,} cells tested (the false-discovery family): every cell "
        "with a record in some year, plus the ring of cells around them (empty neighbours stay in as zeros, "
        "Gi* needs them); cells farther from any record are left out, neither tested nor used as neighbours",
        "Projection": f"Lambert azimuthal equal-area centred on {centre} ({grid.proj4})",
        "Permutations": f"{permutations:,} (smallest attainable p = {2 / (permutations + 1):.1g}; BH can flag a "
        f"group once {plural(needed, 'cell')} reach it); seed {settings.seed}",
        **_common_metadata(con, ds, settings, result.emerging, result.emerging_reason, result.years),
        f"{MIX_NAME} share": MIX_METHOD.format(min=MIN_CATEGORY_RECORDS, ratio=MIN_RATIO)
        if result.mix is not None
        else result.mix_reason,
        "Records": f"{int(cells['count'].to_numpy().sum()):,} mapped; {int(ds['records'] - ds['with_points']):,} "
        f"without usable coordinates; {result.dropped:,} left out as stray points far outside the area of the others",
    }


def area_section(
    con: duckdb.DuckDBPyConnection,
    ds: pd.Series,
    labels: dict[str, str],
    settings: Settings,
    subset: Subset | None = None,
) -> str:
    """The analysis of a dataset by the areas its records name (of the `subset` of its records, when given)."""
    started = time.perf_counter()
    no_grid = no_grid_reason(int(ds["with_points"]), settings)
    label, slug = _label(con, ds, subset), _slug(ds, subset)
    rows = data.area_records(con, ds["source"], ds["unit"], subset.weapon if subset else None)
    shapes = area_shapes(con, ds["source"])
    positions = data.area_positions(con, rows, shapes)
    result = analyse_areas(rows, positions, labels, settings)
    if result.areas is None:
        note = (
            f"Not analysed. On a grid: {no_grid}. By area: {result.n_located} of {result.n_areas} areas have a "
            f"position (a point inside its shape where the source names a boundaries file, else the mean of the "
            f"geocoded records, of any source, that carry its name), at least {MIN_AREAS} are needed."
        )
        return page.section_html(f"Hot spots: {label}", _lead(subset) + page.paragraph(note, cls="note"))
    areas, emerging = result.areas, result.emerging
    table = pd.DataFrame(
        {
            "Area": areas["label"],
            "Records": areas["count"].astype(np.int64),
            "Gi* z": areas["z"].round(2),
            "FDR-adjusted p": areas["p_fdr"],
            "Class": areas["gi_bin"].map(BIN_LABEL),
        }
    )
    if emerging is not None:
        table["Pattern over the years"] = emerging.frame["category"].to_numpy()
    table["Top ICCS categories (level 2)"] = [result.top_categories.get(i, "") for i in range(len(areas))]
    table = table.sort_values("Gi* z", ascending=False).reset_index(drop=True)
    proj4 = local_proj4(areas["lon"].to_numpy(), areas["lat"].to_numpy())
    places = point_places(shapes, proj4, areas["x"].to_numpy(float), areas["y"].to_numpy(float))
    drawn = "areas coloured" if not places.shapes.empty else "circle size = records"
    body = _lead(subset) + page.block_html(
        "Where offences concentrate",
        page.figure_html(
            area_map(areas, f"{label}: Gi* by area ({drawn})", places),
            div_id=f"hotspots-{slug}-areas",
        )
        + tables.table_html(table, caption=f"{label}: areas, hottest first", csv_name=f"hotspot_areas_{slug}"),
        summary=area_summary(areas, settings.fdr, no_grid, int(ds["with_points"])),
    )
    if emerging is not None:
        body += page.block_html(
            "How the hot spots changed by year",
            tables.table_html(
                pattern_table(emerging.frame["category"].to_numpy(), areas["count"].to_numpy(), MEANING),
                caption=f"{label}: areas by pattern",
                csv_name=f"hotspot_area_patterns_{slug}",
            ),
            summary=pattern_sentence(emerging, "areas"),
        )
    unlocated = result.unlocated
    metadata = {
        "Method": f"Getis-Ord Gi* (esda G_Local, star=True) per area; binary weights to the {int(areas['k'].iloc[0])} "
        "nearest area centroids; two-sided conditional-randomisation p-values, ties counted in both tails; "
        "Benjamini-Hochberg false discovery rate control. "
        + VALUES[settings.transform].format(unit="area")
        + " "
        + SIGNIFICANCE,
        "Area positions": (
            f"a point inside each area's shape ({len(places.shapes):,} shapes from the source's boundaries file); else "
            if not places.shapes.empty
            else ""
        )
        + "the mean position of the geocoded records (any source) in each area; "
        + (
            f"{len(unlocated)} area(s) without any geocoded record are left out: " + ", ".join(unlocated.head(20))
            if len(unlocated)
            else "every area has one"
        ),
        "Permutations": f"{areas.attrs['permutations']:,}; seed {settings.seed}",
        "Why by area": f"{no_grid[0].upper()}{no_grid[1:]}, so the records are analysed by the area they name",
        **_common_metadata(con, ds, settings, emerging, result.emerging_reason, result.years),
        **(subset.metadata if subset else {}),
        **correspondence_notes.metadata(con, [ds["source"]]),
        "Computed in": f"{time.perf_counter() - started:.2f} s",
    }
    return page.section_html(f"Hot spots: {label}", body, metadata=metadata)
