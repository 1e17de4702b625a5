"""What hotspots.html computes: Gi* on the grid or on areas, its yearly patterns and the Target 16.4 mix.

Counts come in already aggregated (`reports.hotspots.data`); the statistics are in `reports.stats`. Every map of a
grid section is tested over the same study area (`GridResult.area`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from reports.hotspots.binning import Binned, Tally, bin_points
from reports.hotspots.data import Records
from reports.hotspots.text import MIX_NAME, plural
from reports.stats.hotspot import DEFAULT_FDR, DEFAULT_SEED, DEFAULT_TRANSFORM, Transform, Weights
from reports.stats.hotspot_areas import MIN_AREAS, area_hotspots, knn_weights
from reports.stats.hotspot_emerging import (
    DEFAULT_TREND_ALPHA,
    MIN_PERIODS,
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
    study_area,
)
from reports.stats.hotspot_mix import MIN_CATEGORY_RECORDS, mix_hotspots
from reports.stats.hotspot_summary import (
    change_table,
    group_table,
    hot_cell_table,
    label_groups,
    mix_group_table,
    top_mix,
)

MIN_POINTS = 50  # fewer geocoded records than this make no map worth testing


@dataclass(frozen=True)
class Settings:
    """The choices of one hotspots.html run: cell size (metres), false discovery rate, seed, trend level."""

    cell_size: float = DEFAULT_CELL_M
    max_cells: int = DEFAULT_MAX_CELLS
    fdr: float = DEFAULT_FDR
    seed: int = DEFAULT_SEED
    trend_alpha: float = DEFAULT_TREND_ALPHA
    transform: Transform = DEFAULT_TRANSFORM


def no_grid_reason(with_points: int, settings: Settings) -> str:
    """Why a dataset gets no grid analysis, with the numbers."""
    if with_points == 0:
        return "no record has usable coordinates"
    return (
        f"{plural(with_points, 'geocoded record')}: too few for a {settings.cell_size / 1000:g} km grid analysis "
        f"(at least {MIN_POINTS} are needed)"
    )


def run_emerging(counts: np.ndarray, years: np.ndarray, weights: Weights, settings: Settings):
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
    category: np.ndarray | None,
    tally: Tally,
    fdr: float,
) -> tuple[MixResult | None, str]:
    if category is None:
        return None, "not computed: the records carry no ICCS code on the Target 16.4 list"
    k = int(round(category.sum()))
    if k < MIN_CATEGORY_RECORDS:
        return None, f"not computed: {plural(k, 'Target 16.4 record')}, at least {MIN_CATEGORY_RECORDS} needed"
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
    groups = mix_group_table(cells, group, tally, _component_name, stats.attrs["share"], MIX_NAME)
    return MixResult(full, groups, float(stats.attrs["share"]), k), ""


def analyse_grid(rec: Records, labels: dict[str, str], settings: Settings = Settings()) -> GridResult:
    """`analyse_binned` of points already in Python (`reports.hotspots.binning.bin_points`)."""
    return analyse_binned(bin_points(rec, settings.cell_size, settings.max_cells), labels, settings)


def analyse_binned(binned: Binned, labels: dict[str, str], settings: Settings = Settings()) -> GridResult:
    """Gi* of all years together, Gi* per year, groups of hot cells and their description, the places that
    changed and the Target 16.4 mix: what the grid section of the report shows. Every map is tested over the
    same study area (`GridResult.area`)."""
    grid, counts, per_year, years, tally = binned.grid, binned.counts, binned.per_year, binned.years, binned.tally
    studied = study_area(grid, counts)  # every record of every year is in `counts`
    tested = np.flatnonzero(studied)
    weights = grid_weights(grid, studied)
    cells = grid_frame(
        grid, counts, area=studied, weights=weights, fdr=settings.fdr, seed=settings.seed, transform=settings.transform
    )
    emerging, reason = run_emerging(per_year[:, tested], years, weights, settings)
    if emerging is not None:
        emerging = on_all_locations(emerging, tested, grid.n_cells)
    cells["group"] = label_groups(cells["hot"].to_numpy(), grid.nrows, grid.ncols, weights=counts)
    patterns = None if emerging is None else emerging.frame["category"].to_numpy()
    groups = group_table(cells, tally, labels, patterns)
    hot_cells = hot_cell_table(cells, tally, labels, patterns)
    changes = (
        pd.DataFrame()
        if emerging is None
        else change_table(
            cells, patterns, emerging.periods, emerging.hot, per_year, years, tally, grid.nrows, grid.ncols
        )
    )
    mix, mix_reason = _analyse_mix(grid, cells, studied, weights, binned.category, tally, settings.fdr)
    return GridResult(
        grid, cells, studied, years, emerging, reason, groups, hot_cells, binned.dropped, changes, mix, mix_reason
    )


@dataclass(frozen=True)
class AreaResult:
    """Gi* over the areas that have a position (`areas`, None when fewer than MIN_AREAS have one)."""

    n_areas: int
    n_located: int
    unlocated: pd.Series  # names of the areas without any geocoded record, so without a position
    areas: pd.DataFrame | None = None  # per located area: label, count, x, y, lon, lat, z, p_fdr, gi_bin, k, ...
    years: np.ndarray | None = None
    emerging: EmergingResult | None = None
    emerging_reason: str = ""
    top_categories: dict[int, str] | None = None  # area position -> its leading ICCS level-2 categories


def analyse_areas(
    rows: pd.DataFrame, positions: pd.DataFrame, labels: dict[str, str], settings: Settings = Settings()
) -> AreaResult:
    """Gi* per area on k-nearest-neighbour weights between area positions, and its yearly patterns. `rows` are
    records per (country, area, year, code); `positions` the mean lon/lat per (country, area)."""
    countries = sorted(rows["country"].unique().tolist())
    totals = rows.groupby(["country", "area"], as_index=False)["n"].sum()
    merged = totals.merge(positions, on=["country", "area"], how="left")
    located = merged.dropna(subset=["lon", "lat"]).reset_index(drop=True)
    unlocated = merged.loc[merged["lon"].isna(), "area"].astype(str)
    if len(located) < MIN_AREAS:
        return AreaResult(len(merged), len(located), unlocated)
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
    emerging, reason = run_emerging(per_year, years, knn_weights(areas["x"], areas["y"], k), settings)
    mix = top_mix(row_pos, rows["code"].to_numpy(), rows["n"].to_numpy(dtype=float), labels)
    return AreaResult(len(merged), len(located), unlocated, areas, years, emerging, reason, mix)
