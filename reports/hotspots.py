"""hotspots.html: where recorded offences concentrate (Getis-Ord Gi*), and how those places changed by year.

One section per dataset (source + counting unit): records with coordinates are counted on a 1 km grid in a
local equal-area projection and tested over the study area (cells with a record in some year, plus one ring of
neighbours; see `reports.stats.hotspot_grid`); a source that only gives an area per record is analysed on area
centroids with k-nearest-neighbour weights. Gi* is computed on the square root of the counts, which lets a
consistently busy neighbourhood stand out from one random very busy cell (see `reports.stats.hotspot`).
Gi* on counts finds where most offences are recorded, which mostly follows where people live, work and go out
(on the demo every hot spot group is a town), so each grid section also tests where the Target 16.4 offences
make up more of the records than on the whole map (`reports.stats.hotspot_mix`), and lists apart the places
whose yearly pattern changed (emerging, no longer hot), which otherwise disappear into their town's group.
Records are aggregated in DuckDB first (one row per distinct place, year, ICCS level-2 category and area), so a
million records reach Python as a few numpy arrays, never as Python objects.
Maps are plain plotly heatmaps/scatters on projected kilometres: no tile server, nothing fetched online.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from reports import page, queries
from reports.stats.hotspot import DEFAULT_FDR, DEFAULT_SEED, DEFAULT_TRANSFORM, Transform, Weights, smallest_detectable
from reports.stats.hotspot_areas import MIN_AREAS, area_hotspots, knn_weights
from reports.stats.hotspot_emerging import (
    DEFAULT_TREND_ALPHA,
    MEANING,
    MIN_PERIODS,
    NO_PATTERN,
    NO_RECORDS,
    EmergingResult,
    emerging_hotspots,
    on_all_locations,
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
    study_area,
)
from reports.stats.hotspot_mix import MIN_CATEGORY_RECORDS, MIN_RATIO, mix_hotspots
from reports.stats.hotspot_summary import (
    change_table,
    group_table,
    hot_cell_table,
    label_groups,
    lonlat_text,
    mix_group_table,
    pattern_table,
    top_mix,
)
from warehouse.coverage import relation, window_text

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
FOLLOWS_PEOPLE = (
    "Gi* on counts finds where most offences are recorded, which mostly follows where people live, work and go "
    "out: a hot spot is a busy place, not necessarily a place of unusual crime."
)
MIX_NAME = "Target 16.4"
MIX_WHAT = "Target 16.4 offences (trafficking of drugs, arms, persons and wildlife, migrant smuggling, "
MIX_WHAT += "organised crime, money laundering, corruption, terrorism financing)"
MIX_METHOD = (
    "Random labelling: where records are is taken as given, and the Target 16.4 records are compared with a random "
    "draw of as many records among all of them (exact hypergeometric p-value of each cell's neighbourhood, the cell"
    " and its 8 neighbours in the study area: the permutation test of Gi* when record labels are shuffled); one-"
    "sided (higher share only); Benjamini-Hochberg over the cells with a record in their neighbourhood; a flagged "
    "cell also needs at least {min} Target 16.4 records in its neighbourhood (one incident recorded as several "
    "offences is not several independent labels), a share there at least {ratio:g} times the overall one (with "
    "thousands of records a trivially higher share is significant) and a Target 16.4 record of its own. Gi* on each"
    " cell's share is not used: a cell with one record has a share of 0 or 1, so the sparse countryside would make "
    "the hot spots. Records count under their own ICCS code when it is on the Target 16.4 code list (sub-categories"
    " included), as on the SDG 16 page."
)
MIX_STYLE: tuple[tuple[str, str], ...] = (
    ("records, share not significantly higher", "#e8e8e8"),
    ("higher share, 90% confidence", "#dadaeb"),
    ("higher share, 95% confidence", "#9e9ac8"),
    ("higher share, 99% confidence", "#54278f"),
)
SIGNIFICANCE = (
    "Significance comes from conditional permutations (the cell keeps its own value, its neighbours' values are "
    "drawn at random from the map), which stay exact however skewed the counts are; Benjamini-Hochberg keeps "
    "the expected share of false hot spots among those flagged at the chosen rate."
)
VALUES = {
    "sqrt": "Gi* is computed on the square root of the records per {unit} (the variance-stabilising transform of "
    "counts): on raw counts a random neighbourhood that happens to include one very busy {unit} reaches the total "
    "of a consistently busy one, so smaller clusters near towns could not be told from chance.",
    "none": "Gi* is computed on the records per {unit} as they are (the classic statistic).",
}

# (Gi* bin, label, colour): ESRI's Gi_Bin -3..3
BIN_STYLE: tuple[tuple[int, str, str], ...] = (
    (-3, "cold spot, 99% confidence", "#4393c3"),
    (-2, "cold spot, 95% confidence", "#92c5de"),
    (-1, "cold spot, 90% confidence", "#d1e5f0"),
    (0, "not significant", "#e8e8e8"),
    (1, "hot spot, 90% confidence", "#fdd0a2"),
    (2, "hot spot, 95% confidence", "#f16913"),
    (3, "hot spot, 99% confidence", "#a50f15"),
)
BIN_LABEL = {code: text for code, text, _ in BIN_STYLE}
PATTERN_COLOUR: dict[str, str] = {
    NO_PATTERN: "#e8e8e8",
    NO_RECORDS: "#ffffff",
    "new hot spot": "#fee08b",
    "consecutive hot spot": "#fdae61",
    "intensifying hot spot": "#67000d",
    "persistent hot spot": "#d73027",
    "diminishing hot spot": "#f768a1",
    "sporadic hot spot": "#fcbba1",
    "oscillating hot spot": "#ae017e",
    "historical hot spot": "#8c6d31",
    "new cold spot": "#c7e9c0",
    "consecutive cold spot": "#74c476",
    "intensifying cold spot": "#08306b",
    "persistent cold spot": "#2171b5",
    "diminishing cold spot": "#9ecae1",
    "sporadic cold spot": "#c6dbef",
    "oscillating cold spot": "#41ae76",
    "historical cold spot": "#636363",
}
HOT_PATTERNS = tuple(c for c in MEANING if c.endswith("hot spot"))


@dataclass(frozen=True)
class Settings:
    cell_size: float = DEFAULT_CELL_M
    max_cells: int = DEFAULT_MAX_CELLS
    fdr: float = DEFAULT_FDR
    seed: int = DEFAULT_SEED
    trend_alpha: float = DEFAULT_TREND_ALPHA
    transform: Transform = DEFAULT_TRANSFORM


# --- queries ------------------------------------------------------------------------------------------------

_VALID_POINT = "latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180"
# the ICCS level-2 category of each record (the record's own code when it is only coded at level 1)
_LEVEL2 = "LEFT JOIN iccs_ancestors a ON a.code = o.iccs_code AND a.ancestor_level = 2"


def _datasets(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return queries.frame(
        con,
        f"""
        SELECT source, unit, string_agg(DISTINCT country, ', ' ORDER BY country) AS countries,
               count(*) AS records,
               count(*) FILTER (WHERE {_VALID_POINT}) AS with_points,
               count(*) FILTER (WHERE area IS NOT NULL) AS with_area
        FROM {relation(con, "offences")} GROUP BY source, unit ORDER BY source, unit
        """,
    )


def _labels(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT code, label FROM iccs_categories").fetchall())


@dataclass(frozen=True)
class Records:
    """One dataset's geocoded records grouped by (place, year, ICCS level-2 code, area): equal-length arrays."""

    lon: np.ndarray
    lat: np.ndarray
    year: np.ndarray
    code: np.ndarray
    area: np.ndarray  # object array, None where the record has no area
    n: np.ndarray
    component: np.ndarray | None = None  # object array: the record's Target 16.4 component, None if not one


def _strings(column: pa.ChunkedArray) -> np.ndarray:
    """An Arrow string column as a numpy object array, decoding each distinct value once."""
    encoded = pc.dictionary_encode(column).combine_chunks()
    dictionary = np.asarray(encoded.dictionary.to_pylist() + [None], dtype=object)
    indices = encoded.indices.fill_null(len(encoded.dictionary)).to_numpy(zero_copy_only=False)
    return dictionary[indices.astype(np.int64)]


def _records(con: duckdb.DuckDBPyConnection, source: str, unit: str) -> Records:
    # a record is a Target 16.4 offence when its own ICCS code is on the 16.4 list (sub-categories included)
    components = (
        "SELECT iccs_code, min(component) AS component FROM sdg16_codes WHERE indicator = '16.4' GROUP BY iccs_code"
        if queries.table_exists(con, "sdg16_codes")
        else "SELECT NULL::VARCHAR AS iccs_code, NULL::VARCHAR AS component WHERE false"
    )
    table = con.sql(
        f"""
        SELECT o.longitude AS lon, o.latitude AS lat, year(o.occurred_on) AS year,
               coalesce(a.ancestor_code, o.iccs_code) AS code, o.area, s.component, count(*) AS n
        FROM {relation(con, "offences")} o {_LEVEL2}
        LEFT JOIN ({components}) s ON s.iccs_code = o.iccs_code
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
        component=_strings(table.column("component")),
    )


def _area_records(con: duckdb.DuckDBPyConnection, source: str, unit: str) -> pd.DataFrame:
    return queries.frame(
        con,
        f"""
        SELECT o.country, o.area, year(o.occurred_on) AS year, coalesce(a.ancestor_code, o.iccs_code) AS code,
               count(*) AS n
        FROM {relation(con, "offences")} o {_LEVEL2}
        WHERE o.source = ? AND o.unit = ? AND o.area IS NOT NULL
        GROUP BY ALL
        """,
        [source, unit],
    )


def _centroids(con: duckdb.DuckDBPyConnection, countries: list[str]) -> pd.DataFrame:
    """Mean position of the geocoded records (of any source) of each (country, area)."""
    return queries.frame(
        con,
        f"""
        SELECT country, area, avg(longitude) AS lon, avg(latitude) AS lat
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
        scale += [[i / len(colours), colour], [(i + 1) / len(colours), colour]]
    return scale


def _layout(title: str, centre: str) -> dict:
    return {
        "template": page.template(),
        "title": {"text": page.plot_text(title)},
        "height": MAP_HEIGHT,
        "margin": {"l": 60, "r": 20, "t": 60, "b": 50},
        "xaxis": {"title": {"text": page.plot_text(f"km east of {centre}")}, "constrain": "domain"},
        "yaxis": {"title": {"text": "km north"}, "scaleanchor": "x", "scaleratio": 1},
        "legend": {"orientation": "h", "y": -0.12},
    }


def _heatmap(grid: Grid, z: np.ndarray, colours: list[str], ticktext: list[str], counts: np.ndarray, hover: str):
    """A grid heatmap of category codes 0..len(colours)-1 (NaN = transparent); only counts in the hover, as
    80,000 per-cell strings would double the page."""
    x = (grid.x0 + (np.arange(grid.ncols) + 0.5) * grid.cell_size) / 1000
    y = (grid.y0 + (np.arange(grid.nrows) + 0.5) * grid.cell_size) / 1000
    return {
        "type": "heatmap",
        "x": np.round(x, 3),
        "y": np.round(y, 3),
        "z": z.reshape(grid.nrows, grid.ncols),
        "zmin": -0.5,
        "zmax": len(colours) - 0.5,
        "colorscale": _discrete_scale(colours),
        "colorbar": {"tickvals": list(range(len(colours))), "ticktext": ticktext, "len": 0.8},
        "customdata": counts.astype(np.int64).reshape(grid.nrows, grid.ncols),
        "hoverongaps": False,
        "hovertemplate": "%{x:.1f} km E, %{y:.1f} km N<br>%{customdata:,} " + hover + "<extra></extra>",
        "name": "cells",
    }


def _markers(places: pd.DataFrame, id_column: str, hover: list[str], name: str) -> dict:
    """Labelled circles at the count-weighted centres of places (hot spot groups, changes, mix groups); the
    hover shows `hover` columns (the first is the id) as text."""
    lines = "<br>".join(f"{column}: %{{customdata[{i}]}}" for i, column in enumerate(hover) if i > 0)
    return {
        "type": "scatter",
        "mode": "markers+text",
        "x": (places["x"] / 1000).round(3).tolist(),
        "y": (places["y"] / 1000).round(3).tolist(),
        "text": [g if i < GROUP_LABELS_SHOWN else "" for i, g in enumerate(places[id_column])],
        "textposition": "top right",
        "marker": {"size": 9, "color": "rgba(0,0,0,0)", "line": {"color": "#111", "width": 1.5}},
        "customdata": places[hover].astype(str).to_numpy().tolist(),
        "hovertemplate": "<b>%{customdata[0]}</b><br>" + lines + "<extra></extra>",
        "name": name,
        "showlegend": True,
    }


def _gi_map(grid: Grid, cells: pd.DataFrame, groups: pd.DataFrame, title: str, centre: str) -> dict:
    codes = cells["gi_bin"].to_numpy()
    counts = cells["count"].to_numpy()
    shown = (counts > 0) | (codes != 0)  # empty, unremarkable cells stay transparent
    z = np.where(shown, codes + 3, np.nan)
    data = [_heatmap(grid, z, [c for _, _, c in BIN_STYLE], [t for _, t, _ in BIN_STYLE], counts, "records")]
    if not groups.empty:
        hover = ["Hot spot", "Near", "Cells", "Records", "Top ICCS categories (level 2)"]
        data.append(_markers(groups, "Hot spot", hover, "hot spot groups"))
    return {"data": data, "layout": _layout(title, centre)}


def _pattern_map(
    grid: Grid, counts: np.ndarray, emerging: EmergingResult, changes: pd.DataFrame, title: str, centre: str
) -> dict:
    category = emerging.frame["category"].to_numpy().astype(str)
    shown = category != NO_RECORDS  # never a record there: left transparent
    found = set(np.unique(category[shown]).tolist())
    present = [c for c in PATTERN_COLOUR if c in found]
    code = pd.Categorical(category, categories=present).codes.astype(float)
    z = np.where(shown, code, np.nan)
    data = [_heatmap(grid, z, [PATTERN_COLOUR[c] for c in present], present, counts, "records in all years")]
    if not changes.empty:
        hover = ["Place", "Change", "Near", "Cells", "Hot in (half its cells or more)"]
        shown = changes.head(GROUP_LABELS_SHOWN)  # the largest; the table lists them all
        data.append(_markers(shown, "Place", hover, f"largest places that changed ({len(shown)})"))
    return {"data": data, "layout": _layout(title, centre)}


def _mix_map(grid: Grid, counts: np.ndarray, mix: MixResult, title: str, centre: str) -> dict:
    confidence = mix.cells["confidence"].to_numpy()
    level = np.select([confidence == 99, confidence == 95, confidence == 90], [3, 2, 1], 0)
    z = np.where((counts > 0) | (level > 0), level, np.nan)
    window = mix.cells["k_window"].to_numpy()
    hover = f"{MIX_NAME} records in the cell and its neighbours"
    data = [_heatmap(grid, z, [c for _, c in MIX_STYLE], [t for t, _ in MIX_STYLE], window, hover)]
    if not mix.groups.empty:
        hover_columns = ["Place", "Near", "Cells", f"{MIX_NAME} share", f"{MIX_NAME} offences"]
        data.append(_markers(mix.groups, "Place", hover_columns, f"{MIX_NAME} places"))
    return {"data": data, "layout": _layout(title, centre)}


def _area_map(areas: pd.DataFrame, title: str, centre: str) -> dict:
    size = 8 + 30 * np.sqrt(areas["count"] / max(float(areas["count"].max()), 1.0))
    data = []
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
    return {"data": data, "layout": _layout(title, centre)}


# --- text ---------------------------------------------------------------------------------------------------


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _emerging_note(emerging: EmergingResult | None, reason: str, trend_alpha: float) -> str:
    if emerging is None:
        return reason
    excluded = ""
    if emerging.excluded_periods:
        years = ", ".join(str(p) for p in emerging.excluded_periods)
        excluded = f"; years without any record are left out, not read as zero: {years}"
    return (
        f"Gi* per year ({emerging.periods[0]}–{emerging.periods[-1]}, {len(emerging.periods)} years{excluded}), "
        f"{emerging.permutations:,} permutations each; ESRI's emerging hot spot categories with two changes: the "
        f"Mann-Kendall trend (at {trend_alpha:.0%} per place, so a few percent of steady hot spots get one by "
        "chance) is tested on each year's Gi, the neighbourhood's share of the map's total, not on its z-score, "
        "which rises for every other hot spot when one cluster stops; and 'historical' is also given to places hot "
        "from the first year in one unbroken run and not since (ESRI's rule, hot in 90% of the years but not the "
        "last, needs 10 or more years); places never recorded are not classified"
    )


def _pattern_sentence(emerging: EmergingResult, unit_word: str, locations: np.ndarray | None = None) -> str:
    """Counts of hot spot patterns over `locations` (a mask; all locations by default)."""
    frame = emerging.frame if locations is None else emerging.frame[locations]
    last_hot = emerging.hot[-1] if locations is None else emerging.hot[-1][locations]
    counts = frame["category"].value_counts()
    parts = [_plural(int(counts[c]), c) for c in HOT_PATTERNS if counts.get(c, 0)]
    span = f"{emerging.periods[0]}–{emerging.periods[-1]}"
    text = f"Year by year ({span}): " + (", ".join(parts) if parts else "no hot spot pattern") + f" ({unit_word})."
    formerly = int(((frame["periods_hot"] > 0).to_numpy() & ~last_hot & (frame["category"] == NO_PATTERN)).sum())
    if formerly:
        text += (
            f" {_plural(formerly, unit_word.removesuffix('s'))} "
            f"{'was a hot spot' if formerly == 1 else 'were hot spots'} "
            f"in some earlier years but not in {emerging.periods[-1]}, "
            "neither in nearly all years nor in one run from the first year, so they count as no pattern."
        )
    return text


def _changes_sentence(changes: pd.DataFrame, shown: int = 3) -> str:
    if changes.empty:
        return "No place has an emerging or a no-longer-hot pattern."
    records_by_year = next(c for c in changes.columns if c.startswith("Records by year"))
    span = records_by_year.removeprefix("Records by year ")
    parts = []
    for change, rows in changes.groupby("Change", sort=False):
        listed = "; ".join(
            f"{row['Place']} near {row['Near']} ({_plural(int(row['Cells']), 'cell')}, hot in "
            f"{row['Hot in (half its cells or more)']}; records {span}: {row[records_by_year]})"
            for _, row in rows.head(shown).iterrows()
        )
        more = f" and {len(rows) - shown:,} more" if len(rows) > shown else ""
        parts.append(f"{_plural(len(rows), 'place')} {change}: {listed}{more}.")
    return (
        "Places whose cells share an emerging pattern (new, consecutive, intensifying) or a no-longer-hot one "
        "(historical, diminishing), grouped apart from the hot spot groups above, which can join them to a "
        "neighbouring busy place. " + " ".join(parts)
    )


def _mix_sentence(mix: MixResult, fdr: float, shown: int = 3) -> str:
    text = (
        f"{MIX_WHAT} are {mix.share:.1%} of the mapped records ({mix.records:,}). This map asks where they make up "
        "more of the records than that, whatever the number of records, so busy town centres do not stand out "
        "for being busy."
    )
    if mix.groups.empty:
        return text + f" Nowhere is their share significantly higher at a false discovery rate of {fdr:.0%}."
    n_cells = int(mix.cells["hot"].sum())
    listed = "; ".join(
        f"{row['Place']} near {row['Near']} ({row[f'{MIX_NAME} share']}, {row['Times the overall share']:g} times "
        f"the overall share: {row[f'{MIX_NAME} offences']})"
        for _, row in mix.groups.head(shown).iterrows()
    )
    more = f" and {len(mix.groups) - shown:,} more" if len(mix.groups) > shown else ""
    return (
        text + f" Their share is significantly higher (false discovery rate {fdr:.0%}) in {_plural(n_cells, 'cell')} "
        f"forming {_plural(len(mix.groups), 'place')}: {listed}{more}."
    )


def _grid_summary(grid: Grid, cells: pd.DataFrame, groups: pd.DataFrame, fdr: float) -> str:
    size = f"{grid.cell_size / 1000:g} km"
    n_hot = int(cells["hot"].sum())
    if n_hot == 0:
        text = (
            f"No {size} cell is a hot spot at a false discovery rate of {fdr:.0%}: the records are not "
            "concentrated more than random placement would produce on this map."
        )
    else:
        first = groups.iloc[0]
        mix = str(first["Top ICCS categories (level 2)"]).split("; ")[0]
        text = (
            f"{n_hot:,} of the {int(cells['tested'].sum()):,} cells of the study area ({size} cells) are hot spots at "
            f"a false discovery rate of {fdr:.0%}, forming {_plural(len(groups), 'group')} of touching cells. The "
            f"largest by records, {first['Hot spot']} near {first['Near']} ({first['Centre']}), covers "
            f"{first['Cells']:,} cells and {first['Records']:,} records ({first['Share of records']} of all)"
            + (f", mostly {mix}." if mix else ".")
        )
        if "Patterns over the years (cells)" in groups:
            text += (
                " Cells by pattern over the years: "
                + "; ".join(
                    f"{row['Hot spot']} (near {row['Near']}) {row['Patterns over the years (cells)']}"
                    for _, row in groups.head(3).iterrows()
                )
                + "."
            )
        text += " " + FOLLOWS_PEOPLE
    n_cold = int(cells["cold"].sum())
    if n_cold:
        empty = int((cells["cold"] & (cells["count"] == 0)).sum())
        text += (
            f" {_plural(n_cold, 'cell')} {'is a cold spot' if n_cold == 1 else 'are cold spots'} (far fewer "
            f"records around them than on the map as a whole), {empty:,} of them without a single record."
        )
    return text


def _common_metadata(con, ds: pd.Series, settings: Settings, emerging, reason: str, years: np.ndarray) -> dict:
    return {
        "Dataset": f"{queries.source_names(con, [ds['source']])}; unit: {ds['unit']}; country: {ds['countries']}",
        "False discovery rate": f"{settings.fdr:.0%}; confidence 90/95/99% = BH-adjusted p <= 0.10/0.05/0.01",
        "Period": f"{int(years[0])}–{int(years[-1])}, all years together on the first map",
        **({"Coverage window": window} if (window := window_text(con, ds["source"])) else {}),
        "Emerging patterns": _emerging_note(emerging, reason, settings.trend_alpha),
        "Unit": str(ds["unit"]),
    }


# --- analysis -----------------------------------------------------------------------------------------------


def _run_emerging(counts: np.ndarray, years: np.ndarray, weights: Weights, settings: Settings):
    present = int((counts.sum(axis=1) > 0).sum())
    if present < MIN_PERIODS:
        return None, f"not computed: {present} year(s) with records, at least {MIN_PERIODS} needed"
    result = emerging_hotspots(
        counts,
        years.tolist(),
        weights,
        fdr=settings.fdr,
        seed=settings.seed,
        trend_alpha=settings.trend_alpha,
        transform=settings.transform,
    )
    return result, ""


@dataclass(frozen=True)
class MixResult:
    """Where the Target 16.4 offences are over-represented among records (`reports.stats.hotspot_mix`)."""

    cells: pd.DataFrame  # one row per cell of the rectangle: hot, confidence, ratio, k_window, n_window
    groups: pd.DataFrame
    share: float  # of all mapped records
    records: int  # Target 16.4 records mapped


@dataclass(frozen=True)
class GridResult:
    grid: Grid
    cells: pd.DataFrame  # one row per cell of the rectangle: counts, Gi* (study area only), group
    area: np.ndarray  # the study area: cells tested
    years: np.ndarray
    emerging: EmergingResult | None
    emerging_reason: str
    groups: pd.DataFrame
    hot_cells: pd.DataFrame
    dropped: int
    changes: pd.DataFrame  # places whose yearly pattern is emerging or no longer hot
    mix: MixResult | None
    mix_reason: str


def _component_name(component: str) -> str:
    return str(component).replace("_", " ").capitalize()


def _analyse_mix(
    grid: Grid,
    cells: pd.DataFrame,
    studied: np.ndarray,
    weights: Weights,
    cell: np.ndarray,
    component: np.ndarray | None,
    area: np.ndarray,
    n: np.ndarray,
    fdr: float,
) -> tuple[MixResult | None, str]:
    if component is None:
        return None, "not computed: the records carry no ICCS code on the Target 16.4 list"
    is_category = pd.notna(component)
    category = np.bincount(cell[is_category], weights=n[is_category], minlength=grid.n_cells)
    k = int(round(category.sum()))
    if k < MIN_CATEGORY_RECORDS:
        return None, f"not computed: {_plural(k, 'Target 16.4 record')}, at least {MIN_CATEGORY_RECORDS} needed"
    tested = np.flatnonzero(studied)
    counts = cells["count"].to_numpy()
    stats = mix_hotspots(counts[tested], category[tested], weights, fdr=fdr)
    full = pd.DataFrame(
        {
            "hot": np.zeros(grid.n_cells, dtype=bool),
            "confidence": np.zeros(grid.n_cells, dtype=np.int64),
            "ratio": np.full(grid.n_cells, np.nan),
            "k_window": np.zeros(grid.n_cells, dtype=np.int64),
            "n_window": np.zeros(grid.n_cells, dtype=np.int64),
        }
    )
    for column in full.columns:
        values = full[column].to_numpy(copy=True)
        values[tested] = stats[column].to_numpy()
        full[column] = values
    full.attrs.update(stats.attrs)
    group = label_groups(full["hot"].to_numpy(), grid.nrows, grid.ncols, weights=category)
    full["group"] = group
    kinds = np.asarray(component, dtype=object)
    names = {c: _component_name(c) for c in pd.unique(kinds[is_category])}
    groups = mix_group_table(cells, group, cell, is_category, kinds, area, n, names, stats.attrs["share"], MIX_NAME)
    return MixResult(full, groups, float(stats.attrs["share"]), k), ""


def analyse_grid(rec: Records, labels: dict[str, str], settings: Settings = Settings()) -> GridResult:
    """Gi* of all years together, Gi* per year, groups of hot cells and their description, the places that
    changed and the Target 16.4 mix: what the grid section of the report shows. Every map is tested over the
    same study area (`GridResult.area`)."""
    proj4 = local_proj4(rec.lon, rec.lat)
    x, y = project(proj4, rec.lon, rec.lat)
    grid = make_grid(x, y, proj4, cell_size=settings.cell_size, max_cells=settings.max_cells)
    cell = grid.cell_of(x, y)
    inside = cell >= 0
    dropped = int(rec.n[~inside].sum())
    cell, year, n, code, area = cell[inside], rec.year[inside], rec.n[inside], rec.code[inside], rec.area[inside]
    component = None if rec.component is None else rec.component[inside]
    counts = np.bincount(cell, weights=n, minlength=grid.n_cells)
    studied = study_area(grid, counts)  # every record of every year is in `counts`
    tested = np.flatnonzero(studied)
    weights = grid_weights(grid, studied)
    cells = grid_frame(
        grid, counts, area=studied, weights=weights, fdr=settings.fdr, seed=settings.seed, transform=settings.transform
    )
    years = np.arange(int(year.min()), int(year.max()) + 1)
    per_year = np.bincount(
        (year - years[0]) * grid.n_cells + cell, weights=n, minlength=years.size * grid.n_cells
    ).reshape(years.size, grid.n_cells)
    emerging, reason = _run_emerging(per_year[:, tested], years, weights, settings)
    if emerging is not None:
        emerging = on_all_locations(emerging, tested, grid.n_cells)
    cells["group"] = label_groups(cells["hot"].to_numpy(), grid.nrows, grid.ncols, weights=counts)
    patterns = None if emerging is None else emerging.frame["category"].to_numpy()
    groups = group_table(cells, cell, code, area, n, labels, patterns)
    hot_cells = hot_cell_table(cells, cell, code, area, n, labels, patterns)
    changes = (
        pd.DataFrame()
        if emerging is None
        else change_table(
            cells, patterns, emerging.periods, emerging.hot, per_year, years, cell, area, n, grid.nrows, grid.ncols
        )
    )
    mix, mix_reason = _analyse_mix(grid, cells, studied, weights, cell, component, area, n, settings.fdr)
    return GridResult(
        grid, cells, studied, years, emerging, reason, groups, hot_cells, dropped, changes, mix, mix_reason
    )


# --- sections -----------------------------------------------------------------------------------------------


def _grid_section(con: duckdb.DuckDBPyConnection, ds: pd.Series, labels: dict[str, str], settings: Settings) -> str:
    started = time.perf_counter()
    result = analyse_grid(_records(con, ds["source"], ds["unit"]), labels, settings)
    grid, cells, groups = result.grid, result.cells, result.groups
    label = f"{ds['source']} ({ds['unit']})"
    slug = page.slug(label)
    size_km = grid.cell_size / 1000
    centre = lonlat_text(*(float(v[0]) for v in grid.to_lonlat(np.array([0.0]), np.array([0.0]))))
    counts = cells["count"].to_numpy()

    where = page.figure_html(
        _gi_map(grid, cells, groups, f"{label}: Gi* hot and cold spots, {size_km:g} km cells", centre),
        div_id=f"hotspots-{slug}-gi",
    )
    if not groups.empty:
        where += page.table_html(
            groups.drop(columns=["x", "y"]), caption=f"{label}: hot spot groups", csv_name=f"hotspot_groups_{slug}"
        )
    body = [
        page.block_html("Where offences concentrate", where, summary=_grid_summary(grid, cells, groups, settings.fdr))
    ]
    n_tested = int(cells.attrs["tested"])
    if result.mix is not None:
        mix_body = page.figure_html(
            _mix_map(grid, counts, result.mix, f"{label}: where {MIX_NAME} offences are a larger share", centre),
            div_id=f"hotspots-{slug}-mix",
        )
        if not result.mix.groups.empty:
            mix_body += page.table_html(
                result.mix.groups.drop(columns=["x", "y"]),
                caption=f"{label}: places where {MIX_NAME} offences are a larger share of the records",
                csv_name=f"hotspot_mix_{slug}",
            )
        body.append(
            page.block_html(
                f"Where {MIX_NAME} offences make up more of the records",
                mix_body,
                summary=_mix_sentence(result.mix, settings.fdr),
            )
        )
    if result.emerging is not None:
        category = result.emerging.frame["category"].to_numpy()
        changes = page.figure_html(
            _pattern_map(grid, counts, result.emerging, result.changes, f"{label}: emerging hot spot patterns", centre),
            div_id=f"hotspots-{slug}-patterns",
        )
        if not result.changes.empty:
            changes += page.table_html(
                result.changes.drop(columns=["x", "y"]),
                caption=f"{label}: places that changed (emerging or no longer hot)",
                csv_name=f"hotspot_changes_{slug}",
            )
        changes += page.table_html(
            pattern_table(category[result.area], counts[result.area], MEANING),
            caption=f"{label}: the {n_tested:,} cells of the study area (the cells tested) by pattern",
            csv_name=f"hotspot_patterns_{slug}",
        )
        summary = _pattern_sentence(result.emerging, "cells", result.area) + " " + _changes_sentence(result.changes)
        body.append(page.block_html("How the hot spots changed by year", changes, summary=summary))
    if not result.hot_cells.empty:
        table = page.table_html(
            result.hot_cells, caption=f"{label}: hot cells, strongest first", csv_name=f"hotspot_cells_{slug}"
        )
        body.append(page.block_html("Hot cells", table))

    permutations = cells.attrs["permutations"]
    needed = smallest_detectable(n_tested, permutations, settings.fdr)
    enlarged = (
        f" (requested {grid.requested_cell_size / 1000:g} km, enlarged to stay within {settings.max_cells:,} cells)"
        if grid.cell_size != grid.requested_cell_size
        else ""
    )
    metadata = {
        "Method": "Getis-Ord Gi* (esda's G_Local formula, star=True) per grid cell; binary queen weights "
        "(each cell with its 8 neighbours in the study area, and itself); two-sided conditional-randomisation "
        "p-values, ties counted in both tails; Benjamini-Hochberg false discovery rate control over the cells "
        "tested. " + VALUES[settings.transform].format(unit="cell") + " " + SIGNIFICANCE,
        "Cell size": f"{size_km:g} km{enlarged}",
        "Grid": f"{grid.ncols:,} × {grid.nrows:,} = {grid.n_cells:,} cells: the rectangle around the records",
        "Study area": f"{n_tested:,} of {grid.n_cells:,} cells tested (the false-discovery family): every cell "
        "with a record in some year, plus the ring of cells around them (empty neighbours stay in as zeros, "
        "Gi* needs them); cells farther from any record are left out, neither tested nor used as neighbours",
        "Projection": f"Lambert azimuthal equal-area centred on {centre} ({grid.proj4})",
        "Permutations": f"{permutations:,} (smallest attainable p = {2 / (permutations + 1):.1g}; BH can flag a "
        f"group once {_plural(needed, 'cell')} reach it); seed {settings.seed}",
        **_common_metadata(con, ds, settings, result.emerging, result.emerging_reason, result.years),
        f"{MIX_NAME} share": MIX_METHOD.format(min=MIN_CATEGORY_RECORDS, ratio=MIN_RATIO)
        if result.mix is not None
        else result.mix_reason,
        "Records": f"{int(counts.sum()):,} mapped; {int(ds['records'] - ds['with_points']):,} without usable "
        f"coordinates; {result.dropped:,} left out as stray points far outside the area of the others",
        "Computed in": f"{time.perf_counter() - started:.2f} s",
    }
    return page.section_html(f"Hot spots: {label}", "".join(body), metadata=metadata)


def _no_grid_reason(with_points: int, settings: Settings) -> str:
    """Why a dataset gets no grid analysis, with the numbers."""
    if with_points == 0:
        return "no record has usable coordinates"
    return (
        f"{_plural(with_points, 'geocoded record')}: too few for a {settings.cell_size / 1000:g} km grid analysis "
        f"(at least {MIN_POINTS} are needed)"
    )


def _area_section(con: duckdb.DuckDBPyConnection, ds: pd.Series, labels: dict[str, str], settings: Settings) -> str:
    started = time.perf_counter()
    no_grid = _no_grid_reason(int(ds["with_points"]), settings)
    label = f"{ds['source']} ({ds['unit']})"
    slug = page.slug(label)
    rows = _area_records(con, ds["source"], ds["unit"])
    countries = sorted(rows["country"].unique().tolist())
    totals = rows.groupby(["country", "area"], as_index=False)["n"].sum()
    merged = totals.merge(_centroids(con, countries), on=["country", "area"], how="left")
    located = merged.dropna(subset=["lon", "lat"]).reset_index(drop=True)
    unlocated = merged.loc[merged["lon"].isna(), "area"].astype(str)
    if len(located) < MIN_AREAS:
        note = (
            f"Not analysed. On a grid: {no_grid}. By area: {len(located)} of {len(merged)} areas have a position "
            f"(an area's position is the mean of the geocoded records, of any source, that carry its name), at "
            f"least {MIN_AREAS} are needed."
        )
        return page.section_html(f"Hot spots: {label}", page.paragraph(note, cls="note"))
    located["label"] = located["area"] + (" (" + located["country"] + ")" if len(countries) > 1 else "")
    areas = area_hotspots(
        located["label"].tolist(),
        located["n"].to_numpy(),
        located["lon"].to_numpy(),
        located["lat"].to_numpy(),
        fdr=settings.fdr,
        seed=settings.seed,
        transform=settings.transform,
    )
    areas["label"] = located["label"]
    # each record row's position among the located areas (rows of unlocated areas drop out)
    position = pd.Series(np.arange(len(located)), index=pd.MultiIndex.from_frame(located[["country", "area"]]))
    row_pos = position.reindex(pd.MultiIndex.from_frame(rows[["country", "area"]])).to_numpy()
    on_map = ~np.isnan(row_pos)
    row_pos = row_pos[on_map].astype(np.int64)
    rows = rows[on_map]
    years = np.arange(int(rows["year"].min()), int(rows["year"].max()) + 1)
    per_year = np.bincount(
        (rows["year"].to_numpy() - years[0]) * len(located) + row_pos,
        weights=rows["n"].to_numpy(dtype=float),
        minlength=years.size * len(located),
    ).reshape(years.size, len(located))
    k = int(areas["k"].iloc[0])
    emerging, reason = _run_emerging(per_year, years, knn_weights(areas["x"], areas["y"], k), settings)

    mix = top_mix(row_pos, rows["code"].to_numpy(), rows["n"].to_numpy(dtype=float), labels)
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
    table["Top ICCS categories (level 2)"] = [mix.get(i, "") for i in range(len(areas))]
    table = table.sort_values("Gi* z", ascending=False).reset_index(drop=True)

    hot = areas[areas["hot"]].sort_values("z", ascending=False)
    if hot.empty:
        summary = f"No area is a hot spot at a false discovery rate of {settings.fdr:.0%} among {len(areas)} areas."
    else:
        names = ", ".join(hot["label"].head(5)) + (" and others" if len(hot) > 5 else "")
        summary = (
            f"{len(hot)} of {len(areas)} areas are hot spots at a false discovery rate of {settings.fdr:.0%}: {names}."
        )
    n_cold = int(areas["cold"].sum())
    if n_cold:
        summary += f" {_plural(n_cold, 'area')} {'is a cold spot' if n_cold == 1 else 'are cold spots'}."
    if ds["with_points"] > 0:
        summary = f"{no_grid[0].upper()}{no_grid[1:]}, so the records are analysed by area. {summary}"
    centre = lonlat_text(float(np.median(areas["lon"])), float(np.median(areas["lat"])))
    body = page.block_html(
        "Where offences concentrate",
        page.figure_html(
            _area_map(areas, f"{label}: Gi* by area (circle size = records)", centre),
            div_id=f"hotspots-{slug}-areas",
        )
        + page.table_html(table, caption=f"{label}: areas, hottest first", csv_name=f"hotspot_areas_{slug}"),
        summary=summary,
    )
    if emerging is not None:
        body += page.block_html(
            "How the hot spots changed by year",
            page.table_html(
                pattern_table(emerging.frame["category"].to_numpy(), areas["count"].to_numpy(), MEANING),
                caption=f"{label}: areas by pattern",
                csv_name=f"hotspot_area_patterns_{slug}",
            ),
            summary=_pattern_sentence(emerging, "areas"),
        )
    metadata = {
        "Method": f"Getis-Ord Gi* (esda G_Local, star=True) per area; binary weights to the {k} "
        "nearest area centroids; two-sided conditional-randomisation p-values, ties counted in both tails; "
        "Benjamini-Hochberg false discovery rate control. "
        + VALUES[settings.transform].format(unit="area")
        + " "
        + SIGNIFICANCE,
        "Area positions": "mean position of the geocoded records (any source) in each area; "
        + (
            f"{len(unlocated)} area(s) without any geocoded record are left out: " + ", ".join(unlocated.head(20))
            if len(unlocated)
            else "every area has one"
        ),
        "Permutations": f"{areas.attrs['permutations']:,}; seed {settings.seed}",
        "Why by area": f"{no_grid[0].upper()}{no_grid[1:]}, so the records are analysed by the area they name",
        **_common_metadata(con, ds, settings, emerging, reason, years),
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
    transform: Transform = DEFAULT_TRANSFORM,
) -> Path:
    """Write hotspots.html into `out_dir` and return its path (`cell_size` in metres; `transform` "sqrt" or
    "none": the values Gi* is computed on)."""
    settings = Settings(cell_size=cell_size, max_cells=max_cells, fdr=fdr, seed=seed, transform=transform)
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
            reason = _no_grid_reason(int(ds["with_points"]), settings)
            skipped.append(f"{ds['source']} ({ds['unit']}): {reason}, and no record names an area")
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
    return page.write_page(out_dir, FILENAME, TITLE, sections, intro=intro)
