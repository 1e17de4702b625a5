"""hotspots.html: where recorded offences concentrate (Getis-Ord Gi*), and how those places changed by year.

One section per dataset (source + counting unit): records with coordinates are counted on a 1 km grid in a
local equal-area projection; a source that only gives an area per record is analysed on area centroids with
k-nearest-neighbour weights. Records are aggregated in DuckDB first (one row per distinct place, year, ICCS
level-2 category and area), so a million records reach Python as a few arrays, never as Python objects.
Maps are plain plotly heatmaps/scatters on projected kilometres: no tile server, nothing fetched online.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from reports import page, queries
from reports.stats.hotspot import DEFAULT_FDR, DEFAULT_SEED, smallest_detectable
from reports.stats.hotspot_areas import MIN_AREAS, area_hotspots, knn_weights
from reports.stats.hotspot_emerging import (
    DEFAULT_TREND_ALPHA,
    MIN_PERIODS,
    NO_PATTERN,
    NO_RECORDS,
    EmergingResult,
    emerging_hotspots,
)
from reports.stats.hotspot_grid import (
    DEFAULT_CELL_M,
    DEFAULT_MAX_CELLS,
    Grid,
    grid_frame,
    grid_weights,
    local_proj4,
    make_grid,
    project,
)
from reports.stats.hotspot_summary import label_groups, lonlat_text, modal, top_mix

FILENAME = "hotspots.html"
TITLE = "Hot spots"
MIN_POINTS = 50  # fewer geocoded records than this make no map worth testing
MAP_HEIGHT = 620
GROUP_LABELS_SHOWN = 15
CAVEAT = (
    "A hot spot is a place where recorded offences concentrate relative to the rest of the same map. Counts "
    "are not divided by population or footfall, so town centres are expected to stand out; recorded crime "
    "also reflects reporting and recording practice."
)

BIN_STYLE: tuple[tuple[int, str, str], ...] = (
    (-3, "cold spot, 99% confidence", "#4393c3"),
    (-2, "cold spot, 95% confidence", "#92c5de"),
    (-1, "cold spot, 90% confidence", "#d1e5f0"),
    (0, "not significant", "#e8e8e8"),
    (1, "hot spot, 90% confidence", "#fdd0a2"),
    (2, "hot spot, 95% confidence", "#f16913"),
    (3, "hot spot, 99% confidence", "#a50f15"),
)
PATTERN_STYLE: dict[str, tuple[str, str]] = {
    NO_PATTERN: ("#e8e8e8", "no significant pattern over the years"),
    NO_RECORDS: ("#ffffff", "no record in any year: not classified"),
    "new hot spot": ("#fee08b", "hot in the last year only"),
    "consecutive hot spot": ("#fdae61", "hot in an unbroken run of recent years only"),
    "intensifying hot spot": ("#67000d", "hot in >= 90% of years, getting hotter"),
    "persistent hot spot": ("#d73027", "hot in >= 90% of years, no trend"),
    "diminishing hot spot": ("#f768a1", "hot in >= 90% of years, cooling"),
    "sporadic hot spot": ("#fcbba1", "hot now and on and off before"),
    "oscillating hot spot": ("#ae017e", "hot now, a cold spot in an earlier year"),
    "historical hot spot": ("#8c6d31", "hot in >= 90% of years but not the last"),
    "new cold spot": ("#c7e9c0", "cold in the last year only"),
    "consecutive cold spot": ("#74c476", "cold in an unbroken run of recent years only"),
    "intensifying cold spot": ("#08306b", "cold in >= 90% of years, getting colder"),
    "persistent cold spot": ("#2171b5", "cold in >= 90% of years, no trend"),
    "diminishing cold spot": ("#9ecae1", "cold in >= 90% of years, warming"),
    "sporadic cold spot": ("#c6dbef", "cold now and on and off before"),
    "oscillating cold spot": ("#41ae76", "cold now, a hot spot in an earlier year"),
    "historical cold spot": ("#636363", "cold in >= 90% of years but not the last"),
}


@dataclass(frozen=True)
class Settings:
    cell_size: float = DEFAULT_CELL_M
    max_cells: int = DEFAULT_MAX_CELLS
    fdr: float = DEFAULT_FDR
    seed: int = DEFAULT_SEED
    trend_alpha: float = DEFAULT_TREND_ALPHA


@dataclass
class Records:
    """One dataset's records grouped by (place, year, ICCS level-2 code, area): arrays of equal length."""

    lon: np.ndarray
    lat: np.ndarray
    year: np.ndarray
    code: np.ndarray  # ICCS level-2 code (or the record's own code when it is coarser than level 2)
    area: np.ndarray  # object array, None where the record has no area
    n: np.ndarray
    timings: dict[str, float] = field(default_factory=dict)


# --- queries ------------------------------------------------------------------------------------------------

_VALID_POINT = "latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180"


def _datasets(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return queries.frame(
        con,
        f"""
        SELECT source, unit, string_agg(DISTINCT country, ', ' ORDER BY country) AS countries,
               count(*) AS records,
               count(*) FILTER (WHERE {_VALID_POINT}) AS with_points,
               count(*) FILTER (WHERE area IS NOT NULL) AS with_area,
               min(year(occurred_on)) AS first_year, max(year(occurred_on)) AS last_year
        FROM offences GROUP BY source, unit ORDER BY source, unit
        """,
    )


def _labels(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT code, label FROM iccs_categories").fetchall())


_LEVEL2 = """
    LEFT JOIN iccs_ancestors a ON a.code = o.iccs_code AND a.ancestor_level = 2
"""


def _records(con: duckdb.DuckDBPyConnection, source: str, unit: str) -> Records:
    """Geocoded records of one dataset, aggregated in DuckDB to distinct (place, year, category, area)."""
    table = con.sql(
        f"""
        SELECT o.longitude AS lon, o.latitude AS lat, year(o.occurred_on) AS year,
               coalesce(a.ancestor_code, o.iccs_code) AS code, o.area, count(*) AS n
        FROM offences o {_LEVEL2}
        WHERE o.source = ? AND o.unit = ? AND {_VALID_POINT}
        GROUP BY ALL
        """,
        params=[source, unit],
    ).to_arrow_table()
    return Records(
        lon=table.column("lon").to_numpy(),
        lat=table.column("lat").to_numpy(),
        year=table.column("year").to_numpy().astype(np.int64),
        code=_strings(table.column("code")),
        area=_strings(table.column("area")),
        n=table.column("n").to_numpy().astype(float),
    )


def _strings(column: pa.ChunkedArray) -> np.ndarray:
    """An Arrow string column as a numpy object array, decoding each distinct value once."""
    encoded = pc.dictionary_encode(column).combine_chunks()
    dictionary = np.asarray(encoded.dictionary.to_pylist(), dtype=object)
    indices = encoded.indices.to_numpy(zero_copy_only=False)
    valid = ~np.asarray(pc.is_null(encoded.indices).to_numpy(zero_copy_only=False))
    out = np.full(len(indices), None, dtype=object)
    out[valid] = dictionary[indices[valid].astype(np.int64)]
    return out


def _area_records(con: duckdb.DuckDBPyConnection, source: str, unit: str) -> pd.DataFrame:
    return queries.frame(
        con,
        f"""
        SELECT o.country, o.area, year(o.occurred_on) AS year, coalesce(a.ancestor_code, o.iccs_code) AS code,
               count(*) AS n
        FROM offences o {_LEVEL2}
        WHERE o.source = ? AND o.unit = ? AND o.area IS NOT NULL
        GROUP BY ALL
        """,
        [source, unit],
    )


def _centroids(con: duckdb.DuckDBPyConnection, countries: list[str]) -> pd.DataFrame:
    """Mean position of the geocoded records (any source) of each (country, area)."""
    return queries.frame(
        con,
        f"""
        SELECT country, area, avg(longitude) AS lon, avg(latitude) AS lat, count(*) AS located
        FROM offences
        WHERE area IS NOT NULL AND {_VALID_POINT} AND list_contains(?, country)
        GROUP BY ALL
        """,
        [countries],
    )


# --- figures ------------------------------------------------------------------------------------------------


def _discrete_scale(colours: list[str]) -> list[list]:
    """A stepped colorscale: value i of 0..len-1 (z range -0.5..len-0.5) gets colours[i]."""
    scale = []
    for i, colour in enumerate(colours):
        scale.append([i / len(colours), colour])
        scale.append([(i + 1) / len(colours), colour])
    return scale


def _axes_layout(title: str, centre: str) -> dict:
    return {
        "template": page.template(),
        "title": {"text": page.plot_text(title)},
        "height": MAP_HEIGHT,
        "margin": {"l": 60, "r": 20, "t": 60, "b": 50},
        "xaxis": {"title": {"text": page.plot_text(f"km east of {centre}")}, "constrain": "domain"},
        "yaxis": {"title": {"text": "km north"}, "scaleanchor": "x", "scaleratio": 1},
        "legend": {"orientation": "h", "y": -0.12},
    }


def _grid_axes(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    x = (grid.x0 + (np.arange(grid.ncols) + 0.5) * grid.cell_size) / 1000
    y = (grid.y0 + (np.arange(grid.nrows) + 0.5) * grid.cell_size) / 1000
    return np.round(x, 3), np.round(y, 3)


def _gi_map(grid: Grid, cells: pd.DataFrame, groups: pd.DataFrame, title: str, centre: str) -> dict:
    codes = cells["gi_bin"].to_numpy()
    counts = cells["count"].to_numpy()
    shown = (counts > 0) | (codes != 0)  # empty, unremarkable cells stay transparent
    z = np.where(shown, codes + 3, np.nan).reshape(grid.nrows, grid.ncols)
    # only the count in the per-cell hover (the class is the colour, z-scores are in the table): 80,000 strings
    # or pairs would double the page
    custom = counts.astype(np.int64).reshape(grid.nrows, grid.ncols)
    x, y = _grid_axes(grid)
    heat = {
        "type": "heatmap",
        "x": x,
        "y": y,
        "z": z,
        "zmin": -0.5,
        "zmax": 6.5,
        "colorscale": _discrete_scale([colour for _, _, colour in BIN_STYLE]),
        "colorbar": {
            "tickvals": list(range(7)),
            "ticktext": [text for _, text, _ in BIN_STYLE],
            "title": {"text": "Gi*"},
            "len": 0.8,
        },
        "customdata": custom,
        "hoverongaps": False,
        "hovertemplate": "%{x:.1f} km E, %{y:.1f} km N<br>%{customdata:,} records<extra></extra>",
        "name": "cells",
    }
    data = [heat]
    if not groups.empty:
        data.append(
            {
                "type": "scatter",
                "mode": "markers+text",
                "x": (groups["x"] / 1000).round(3).tolist(),
                "y": (groups["y"] / 1000).round(3).tolist(),
                "text": [g if i < GROUP_LABELS_SHOWN else "" for i, g in enumerate(groups["Hot spot"])],
                "textposition": "top right",
                "marker": {"size": 9, "color": "rgba(0,0,0,0)", "line": {"color": "#111", "width": 1.5}},
                "customdata": groups[["Hot spot", "Near", "Cells", "Records", "Top ICCS categories (level 2)"]]
                .astype(str)
                .to_numpy()
                .tolist(),
                "hovertemplate": "<b>%{customdata[0]}</b> near %{customdata[1]}<br>%{customdata[2]} cells, "
                "%{customdata[3]} records<br>%{customdata[4]}<extra></extra>",
                "name": "hot spot groups",
                "showlegend": True,
            }
        )
    return {"data": data, "layout": _axes_layout(title, centre)}


def _pattern_map(grid: Grid, cells: pd.DataFrame, emerging: EmergingResult, title: str, centre: str) -> dict:
    category = emerging.frame["category"].to_numpy().astype(str)
    shown = category != NO_RECORDS  # never a record there: left transparent
    found = set(np.unique(category[shown]).tolist())
    present = [c for c in PATTERN_STYLE if c in found]
    code = pd.Categorical(category, categories=present).codes.astype(float)  # -1 for NO_RECORDS
    z = np.where(shown, code, np.nan).reshape(grid.nrows, grid.ncols)
    x, y = _grid_axes(grid)
    heat = {
        "type": "heatmap",
        "x": x,
        "y": y,
        "z": z,
        "zmin": -0.5,
        "zmax": len(present) - 0.5,
        "colorscale": _discrete_scale([PATTERN_STYLE[c][0] for c in present]),
        "colorbar": {"tickvals": list(range(len(present))), "ticktext": present, "len": 0.8},
        "customdata": cells["count"].to_numpy().astype(np.int64).reshape(grid.nrows, grid.ncols),
        "hoverongaps": False,
        "hovertemplate": "%{x:.1f} km E, %{y:.1f} km N<br>%{customdata:,} records in all years<extra></extra>",
    }
    return {"data": [heat], "layout": _axes_layout(title, centre)}


def _area_map(areas: pd.DataFrame, title: str, centre: str) -> dict:
    data = []
    size = 8 + 30 * np.sqrt(areas["count"] / max(areas["count"].max(), 1))
    for code, text, colour in BIN_STYLE:
        part = areas[areas["gi_bin"] == code]
        if part.empty:
            continue
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": (part["x"] / 1000).round(3).tolist(),
                "y": (part["y"] / 1000).round(3).tolist(),
                "marker": {
                    "size": size[part.index].round(1).tolist(),
                    "color": colour,
                    "line": {"color": "#555", "width": 0.5},
                },
                "text": part["label"].tolist(),
                "customdata": part[["count"]].to_numpy().tolist(),
                "hovertemplate": "<b>%{text}</b><br>%{customdata[0]:,} records<extra></extra>",
                "name": text,
            }
        )
    return {"data": data, "layout": _axes_layout(title, centre)}


# --- analysis of one dataset --------------------------------------------------------------------------------


def _cells(n: int) -> str:
    return f"{n:,} cell{'s' if n != 1 else ''}"


def _emerging_note(emerging: EmergingResult | None, reason: str) -> str:
    if emerging is None:
        return reason
    excluded = (
        "; years without any record, left out rather than read as zero: "
        + ", ".join(str(p) for p in emerging.excluded_periods)
        if emerging.excluded_periods
        else ""
    )
    return (
        f"Gi* per year ({emerging.periods[0]}–{emerging.periods[-1]}, {len(emerging.periods)} years{excluded}), "
        f"{emerging.permutations:,} permutations each; Mann-Kendall trend of the yearly z-scores at "
        f"{DEFAULT_TREND_ALPHA:.0%}; ESRI's emerging hot spot categories"
    )


def _run_emerging(counts: np.ndarray, years: np.ndarray, weights, settings: Settings) -> tuple:
    present = int((counts.sum(axis=1) > 0).sum())
    if present < MIN_PERIODS:
        return None, f"not computed: {present} year(s) with data, at least {MIN_PERIODS} needed"
    result = emerging_hotspots(
        counts, years.tolist(), weights, fdr=settings.fdr, seed=settings.seed, trend_alpha=settings.trend_alpha
    )
    return result, ""


def _pattern_table(emerging: EmergingResult, records: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"Pattern": emerging.frame["category"], "records": records})
    table = frame.groupby("Pattern", as_index=False).agg(Cells=("records", "size"), Records=("records", "sum"))
    table["Meaning"] = table["Pattern"].map(lambda c: PATTERN_STYLE[c][1])
    order = {c: i for i, c in enumerate(PATTERN_STYLE)}
    return table.sort_values("Pattern", key=lambda s: s.map(order)).reset_index(drop=True)


def _pattern_sentence(emerging: EmergingResult, unit_word: str) -> str:
    category = emerging.frame["category"]
    counts = category.value_counts()
    parts = []
    for name in (
        "persistent hot spot",
        "intensifying hot spot",
        "consecutive hot spot",
        "new hot spot",
        "diminishing hot spot",
        "sporadic hot spot",
        "oscillating hot spot",
        "historical hot spot",
    ):
        if counts.get(name, 0):
            parts.append(f"{counts[name]:,} {name}{'s' if counts[name] > 1 else ''}")
    hot_last = emerging.hot[-1]
    formerly = int(((emerging.frame["periods_hot"] > 0) & ~hot_last & (category == NO_PATTERN)).sum())
    span = f"{emerging.periods[0]}–{emerging.periods[-1]}"
    text = f"Year by year ({span}): " + (", ".join(parts) if parts else "no hot spot pattern") + f" ({unit_word})."
    if formerly:
        text += (
            f" {formerly:,} {unit_word} were hot spots in earlier years but not in {emerging.periods[-1]} "
            "(too rarely for ESRI's 'historical' class, so they count as no pattern)."
        )
    return text


def _grid_section(con: duckdb.DuckDBPyConnection, ds: pd.Series, labels: dict[str, str], settings: Settings) -> str:
    started = time.perf_counter()
    rec = _records(con, ds["source"], ds["unit"])
    proj4 = local_proj4(rec.lon, rec.lat)
    x, y = project(proj4, rec.lon, rec.lat)
    grid = make_grid(x, y, proj4, cell_size=settings.cell_size, max_cells=settings.max_cells)
    cell = grid.cell_of(x, y)
    inside = cell >= 0
    dropped = int(rec.n[~inside].sum())
    cell, year, n, code, area = cell[inside], rec.year[inside], rec.n[inside], rec.code[inside], rec.area[inside]
    counts = np.bincount(cell, weights=n, minlength=grid.n_cells)
    weights = grid_weights(grid)
    cells = grid_frame(grid, counts, weights=weights, fdr=settings.fdr, seed=settings.seed)
    permutations = cells.attrs["permutations"]

    years = np.arange(int(year.min()), int(year.max()) + 1)
    per_year = np.bincount(
        (year - years[0]) * grid.n_cells + cell, weights=n, minlength=years.size * grid.n_cells
    ).reshape(years.size, grid.n_cells)
    emerging, emerging_reason = _run_emerging(per_year, years, weights, settings)

    group = label_groups(cells["hot"].to_numpy(), grid.nrows, grid.ncols, weights=counts)
    cells["group"] = group
    total = float(counts.sum())
    groups = _groups_table(cells, group, cell, code, area, n, labels, emerging, total)
    hot_cells = _hot_cells_table(cells, cell, code, area, n, labels, emerging)

    size_km = grid.cell_size / 1000
    centre_lon, centre_lat = grid.to_lonlat(np.array([0.0]), np.array([0.0]))
    centre = lonlat_text(float(centre_lon[0]), float(centre_lat[0]))
    label = f"{ds['source']} ({ds['unit']})"
    n_hot, n_cold = int(cells["hot"].sum()), int(cells["cold"].sum())
    n_cold_empty = int((cells["cold"] & (cells["count"] == 0)).sum())
    summary = _grid_summary(grid, groups, n_hot, (n_cold, n_cold_empty), settings, emerging)

    body = [
        page.block_html(
            "Where offences concentrate",
            page.figure_html(
                _gi_map(grid, cells, groups, f"{label}: Gi* hot and cold spots, {size_km:g} km cells", centre),
                div_id=f"hotspots-{page.slug(label)}-gi",
            )
            + (
                page.table_html(
                    groups.drop(columns=["x", "y"]),
                    caption=f"{label}: hot spot groups",
                    csv_name=f"hotspot_groups_{page.slug(label)}",
                )
                if not groups.empty
                else ""
            ),
            summary=summary,
        )
    ]
    if emerging is not None:
        body.append(
            page.block_html(
                "How the hot spots changed by year",
                page.figure_html(
                    _pattern_map(grid, cells, emerging, f"{label}: emerging hot spot patterns", centre),
                    div_id=f"hotspots-{page.slug(label)}-patterns",
                )
                + page.table_html(
                    _pattern_table(emerging, counts),
                    caption=f"{label}: cells by pattern",
                    csv_name=f"hotspot_patterns_{page.slug(label)}",
                ),
                summary=_pattern_sentence(emerging, "cells"),
            )
        )
    if not hot_cells.empty:
        body.append(
            page.block_html(
                "Hot cells",
                page.table_html(
                    hot_cells,
                    caption=f"{label}: hot cells, strongest first",
                    csv_name=f"hotspot_cells_{page.slug(label)}",
                ),
            )
        )
    without = int(ds["records"] - ds["with_points"])
    metadata = {
        "Dataset": f"{queries.source_names(con, [ds['source']])}; unit: {ds['unit']}; country: {ds['countries']}",
        "Method": "Getis-Ord Gi* (esda G_Local, star=True) on records per grid cell; binary queen weights "
        "(each cell with its 8 neighbours and itself); two-sided conditional-randomisation p-values; "
        "Benjamini-Hochberg false discovery rate control",
        "Cell size": f"{size_km:g} km"
        + (
            f" (requested {grid.requested_cell_size / 1000:g} km, enlarged to stay within {settings.max_cells:,} cells)"
            if grid.cell_size != grid.requested_cell_size
            else ""
        ),
        "Grid": f"{grid.ncols:,} × {grid.nrows:,} = {grid.n_cells:,} cells: the rectangle around the records, "
        "empty cells included (Gi* needs the zeros)",
        "Projection": f"Lambert azimuthal equal-area centred on {centre} ({proj4})",
        "Permutations": f"{permutations:,} (smallest attainable p = {2 / (permutations + 1):.1g}; BH can flag a "
        f"group once {_cells(smallest_detectable(grid.n_cells, permutations, settings.fdr))} reach it); "
        f"seed {settings.seed}",
        "False discovery rate": f"{settings.fdr:.0%}; confidence 90/95/99% = BH-adjusted p <= 0.10/0.05/0.01",
        "Period": f"{int(years[0])}–{int(years[-1])}, all years together on the first map",
        "Emerging patterns": _emerging_note(emerging, emerging_reason),
        "Records": f"{int(total):,} mapped; {without:,} without usable coordinates; {dropped:,} left out as "
        "stray points far outside the area of the others",
        "Unit": str(ds["unit"]),
        "Computed in": f"{time.perf_counter() - started:.2f} s",
    }
    return page.section_html(f"Hot spots: {label}", "".join(body), metadata=metadata)


def _groups_table(cells, group, cell, code, area, n, labels, emerging, total) -> pd.DataFrame:
    hot = cells[cells["group"] > 0]
    if hot.empty:
        return pd.DataFrame()
    record_group = group[cell]
    in_group = record_group > 0
    mix = top_mix(record_group[in_group], code[in_group], n[in_group], labels)
    near = modal(record_group[in_group], area[in_group], n[in_group])
    agg = hot.assign(wx=hot["x"] * hot["count"], wy=hot["y"] * hot["count"]).groupby("group")
    table = agg.agg(
        cells=("cell", "size"),
        records=("count", "sum"),
        confidence=("confidence", "max"),
        wx=("wx", "sum"),
        wy=("wy", "sum"),
        mx=("x", "mean"),
        my=("y", "mean"),
        lon=("lon", "mean"),
        lat=("lat", "mean"),
    )
    weighted = table["records"] > 0
    table["x"] = np.where(weighted, table["wx"] / table["records"].where(weighted, 1), table["mx"])
    table["y"] = np.where(weighted, table["wy"] / table["records"].where(weighted, 1), table["my"])
    out = pd.DataFrame(
        {
            "Hot spot": [f"HS{g}" for g in table.index],
            "Near": [near.get(g) or "(no area recorded)" for g in table.index],
            "Centre": [lonlat_text(lo, la) for lo, la in zip(table["lon"], table["lat"], strict=True)],
            "Cells": table["cells"].to_numpy(),
            "Records": table["records"].to_numpy().astype(np.int64),
            "Share of records": (table["records"] / total).map(lambda v: f"{v:.1%}").to_numpy(),
            "Highest confidence": table["confidence"].map(lambda c: f"{c}%").to_numpy(),
        }
    )
    if emerging is not None:
        pattern = pd.Series(emerging.frame["category"].to_numpy())[hot.index]
        majority = pattern.groupby(hot["group"].to_numpy()).agg(lambda s: s.value_counts().index[0])
        out["Pattern over the years (most cells)"] = majority.reindex(table.index).to_numpy()
    out["Top ICCS categories (level 2)"] = [mix.get(g, "") for g in table.index]
    out["x"] = table["x"].to_numpy()
    out["y"] = table["y"].to_numpy()
    return out.sort_values("Records", ascending=False, kind="stable").reset_index(drop=True)


def _hot_cells_table(cells, cell, code, area, n, labels, emerging) -> pd.DataFrame:
    hot = cells[cells["hot"]]
    if hot.empty:
        return pd.DataFrame()
    is_hot = cells["hot"].to_numpy()[cell]
    mix = top_mix(cell[is_hot], code[is_hot], n[is_hot], labels)
    main_area = modal(cell[is_hot], area[is_hot], n[is_hot])
    hot = hot.sort_values("z", ascending=False)
    out = pd.DataFrame(
        {
            "Cell": hot["cell"].to_numpy(),
            "Centre": [lonlat_text(lo, la) for lo, la in zip(hot["lon"], hot["lat"], strict=True)],
            "Area (most records)": [main_area.get(c) or "" for c in hot["cell"]],
            "Records": hot["count"].to_numpy().astype(np.int64),
            "Gi* z": hot["z"].round(2).to_numpy(),
            "FDR-adjusted p": hot["p_fdr"].to_numpy(),
            "Confidence": hot["confidence"].map(lambda c: f"{c}%").to_numpy(),
            "Group": [f"HS{g}" for g in hot["group"]],
        }
    )
    if emerging is not None:
        out["Pattern over the years"] = emerging.frame["category"].to_numpy()[hot.index]
    out["Top ICCS categories (level 2)"] = [mix.get(c, "") for c in hot["cell"]]
    return out


def _grid_summary(grid, groups, n_hot, cold: tuple[int, int], settings, emerging) -> str:
    size = f"{grid.cell_size / 1000:g} km"
    if n_hot == 0:
        text = (
            f"No {size} cell is a hot spot at a false discovery rate of {settings.fdr:.0%}: the records are "
            "not concentrated more than chance would produce on this map."
        )
    else:
        first = groups.iloc[0]
        mix = str(first["Top ICCS categories (level 2)"]).split("; ")[0]
        text = (
            f"{n_hot:,} of {grid.n_cells:,} cells ({size}) are hot spots at a false discovery rate of "
            f"{settings.fdr:.0%}, forming {len(groups):,} group{'s' if len(groups) > 1 else ''}. The largest by "
            f"records, {first['Hot spot']} near {first['Near']} ({first['Centre']}), covers {first['Cells']:,} "
            f"cells and {first['Records']:,} records ({first['Share of records']} of all)"
            + (f", mostly {mix}." if mix else ".")
        )
        if emerging is not None and "Pattern over the years (most cells)" in groups:
            top = groups.head(3)
            parts = [
                f"{row['Hot spot']} (near {row['Near']}) is mostly a {row['Pattern over the years (most cells)']}"
                for _, row in top.iterrows()
            ]
            text += " " + "; ".join(parts) + "."
    n_cold, n_cold_empty = cold
    if n_cold:
        text += (
            f" {n_cold:,} cells are cold spots (far fewer records around them than on the map as a whole), "
            f"{n_cold_empty:,} of them without a single record."
        )
    return text


def _area_section(con: duckdb.DuckDBPyConnection, ds: pd.Series, labels: dict[str, str], settings: Settings) -> str:
    started = time.perf_counter()
    label = f"{ds['source']} ({ds['unit']})"
    rows = _area_records(con, ds["source"], ds["unit"])
    countries = sorted(rows["country"].unique().tolist())
    centroids = _centroids(con, countries)
    totals = rows.groupby(["country", "area"], as_index=False)["n"].sum()
    merged = totals.merge(centroids, on=["country", "area"], how="left")
    located = merged.dropna(subset=["lon", "lat"]).reset_index(drop=True)
    unlocated = merged[merged["lon"].isna()]
    if len(located) < MIN_AREAS:
        note = (
            f"Not analysed: {len(located)} of {len(merged)} areas have a position (centroids come from geocoded "
            f"records of the same areas), at least {MIN_AREAS} are needed."
        )
        return page.section_html(f"Hot spots: {label}", page.paragraph(note, cls="note"))
    many = len(countries) > 1
    located["label"] = located["area"] + (" (" + located["country"] + ")" if many else "")
    areas = area_hotspots(
        located["label"].tolist(),
        located["n"].to_numpy(),
        located["lon"].to_numpy(),
        located["lat"].to_numpy(),
        fdr=settings.fdr,
        seed=settings.seed,
    )
    areas["label"] = located["label"]
    keys = pd.MultiIndex.from_frame(located[["country", "area"]])
    position = pd.Series(np.arange(len(located)), index=keys)
    row_pos = position.reindex(pd.MultiIndex.from_frame(rows[["country", "area"]])).to_numpy()
    on_map = ~np.isnan(row_pos)
    row_pos = row_pos[on_map].astype(np.int64)
    rows_on = rows[on_map]
    years = np.arange(int(rows_on["year"].min()), int(rows_on["year"].max()) + 1)
    per_year = np.bincount(
        (rows_on["year"].to_numpy() - years[0]) * len(located) + row_pos,
        weights=rows_on["n"].to_numpy(dtype=float),
        minlength=years.size * len(located),
    ).reshape(years.size, len(located))
    k = int(areas["k"].iloc[0])
    emerging, reason = _run_emerging(per_year, years, knn_weights(areas["x"], areas["y"], k), settings)
    mix = top_mix(row_pos, rows_on["code"].to_numpy(), rows_on["n"].to_numpy(dtype=float), labels)
    table = pd.DataFrame(
        {
            "Area": areas["label"],
            "Records": areas["count"].astype(np.int64),
            "Gi* z": areas["z"].round(2),
            "FDR-adjusted p": areas["p_fdr"],
            "Class": [dict((c, t) for c, t, _ in BIN_STYLE)[b] for b in areas["gi_bin"]],
        }
    )
    if emerging is not None:
        table["Pattern over the years"] = emerging.frame["category"].to_numpy()
    table["Top ICCS categories (level 2)"] = [mix.get(i, "") for i in range(len(areas))]
    table = table.sort_values("Gi* z", ascending=False).reset_index(drop=True)
    hot = areas[areas["hot"]].sort_values("z", ascending=False)
    centre = lonlat_text(float(np.median(areas["lon"])), float(np.median(areas["lat"])))
    if hot.empty:
        summary = f"No area is a hot spot at a false discovery rate of {settings.fdr:.0%} among {len(areas)} areas."
    else:
        names = ", ".join(hot["label"].head(5))
        summary = (
            f"{len(hot)} of {len(areas)} areas are hot spots at a false discovery rate of {settings.fdr:.0%}: "
            f"{names}{' and others' if len(hot) > 5 else ''}."
        )
    n_cold = int(areas["cold"].sum())
    if n_cold:
        summary += f" {n_cold} area{'s are' if n_cold > 1 else ' is a'} cold spot{'s' if n_cold > 1 else ''}."
    body = page.block_html(
        "Where offences concentrate",
        page.figure_html(
            _area_map(areas, f"{label}: Gi* by area (circle size = records)", centre),
            div_id=f"hotspots-{page.slug(label)}-areas",
        )
        + page.table_html(
            table, caption=f"{label}: areas, hottest first", csv_name=f"hotspot_areas_{page.slug(label)}"
        ),
        summary=summary,
    )
    if emerging is not None:
        body += page.block_html(
            "How the hot spots changed by year",
            page.table_html(
                _pattern_table(emerging, areas["count"].to_numpy()),
                caption=f"{label}: areas by pattern",
                csv_name=f"hotspot_area_patterns_{page.slug(label)}",
            ),
            summary=_pattern_sentence(emerging, "areas"),
        )
    metadata = {
        "Dataset": f"{queries.source_names(con, [ds['source']])}; unit: {ds['unit']}; country: {ds['countries']}",
        "Method": f"Getis-Ord Gi* (esda G_Local, star=True) on records per area; binary weights to the {k} "
        "nearest area centroids; two-sided conditional-randomisation p-values; Benjamini-Hochberg false "
        "discovery rate control",
        "Area positions": "mean position of the geocoded records (any source) in each area; "
        + (
            f"{len(unlocated)} area(s) without any geocoded record are left out: "
            + ", ".join(unlocated["area"].astype(str).head(20))
            if len(unlocated)
            else "every area has one"
        ),
        "Permutations": f"{areas.attrs['permutations']:,}; seed {settings.seed}",
        "False discovery rate": f"{settings.fdr:.0%}; confidence 90/95/99% = BH-adjusted p <= 0.10/0.05/0.01",
        "Period": f"{int(years[0])}–{int(years[-1])}, all years together on the map",
        "Emerging patterns": _emerging_note(emerging, reason),
        "Unit": str(ds["unit"]),
        "Computed in": f"{time.perf_counter() - started:.2f} s",
    }
    return page.section_html(f"Hot spots: {label}", body, metadata=metadata)


# --- page ---------------------------------------------------------------------------------------------------


def render_hotspots(
    con: duckdb.DuckDBPyConnection,
    out_dir: Path,
    *,
    cell_size: float = DEFAULT_CELL_M,
    max_cells: int = DEFAULT_MAX_CELLS,
    fdr: float = DEFAULT_FDR,
    seed: int = DEFAULT_SEED,
) -> Path:
    """Write hotspots.html into `out_dir` and return its path (cell size in metres)."""
    settings = Settings(cell_size=cell_size, max_cells=max_cells, fdr=fdr, seed=seed)
    datasets = _datasets(con) if queries.table_exists(con, "offences") else pd.DataFrame()
    labels = _labels(con)
    sections: list[str] = []
    skipped: list[str] = []
    for _, ds in datasets.iterrows():
        if ds["with_points"] >= MIN_POINTS:
            sections.append(_grid_section(con, ds, labels, settings))
        elif ds["with_area"] > 0:
            sections.append(_area_section(con, ds, labels, settings))
        else:
            skipped.append(f"{ds['source']} ({ds['unit']}): {ds['with_points']} geocoded records, no areas")
    if not sections:
        note = "No incident-level records with coordinates or areas: hot spots need where each offence happened."
        sections.append(page.section_html("No data to map", page.paragraph(note, cls="note")))
    if skipped:
        sections.append(
            page.section_html(
                "Not mapped",
                page.paragraph(
                    f"Fewer than {MIN_POINTS} geocoded records and no areas: " + "; ".join(skipped), cls="note"
                ),
            )
        )
    intro = (
        "Where recorded offences cluster more than chance would explain, found with the Getis-Ord Gi* statistic "
        "on a regular grid (or on areas when records carry only an area), and how each place changed year by "
        "year (emerging hot spot patterns). Only incident-level records are mapped: each one needs a place.\n\n"
        + CAVEAT
    )
    return page.write_page(out_dir, FILENAME, TITLE, sections, intro=intro)
