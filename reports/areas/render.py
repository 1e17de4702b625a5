"""areas.html itself: one section per dataset (source, counting unit, stage) whose records name areas."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from reports import correspondence_notes, names, numbers, page, tables, trend_tables
from reports.areas import data
from reports.areas.classes import change_classes, level_classes
from reports.areas.figures import choropleth, dot_plot
from reports.areas.text import (
    FLAG,
    FLAGGED,
    INTRO,
    POPULATION_FLAG,
    change_sentence,
    first_text,
    latest_text,
    level_sentence,
    percent,
    rounded,
)
from reports.geo.shapes import geometries, projected
from reports.queries import DATASET_KEYS
from reports.stats import local_moran
from reports.stats.hotspot_grid import local_proj4, project
from warehouse.boundaries import area_shapes

MORAN_COLOURS = {
    local_moran.QUADRANTS[1]: "#d7191c",
    local_moran.QUADRANTS[4]: "#fdae61",
    local_moran.QUADRANTS[2]: "#abd9e9",
    local_moran.QUADRANTS[3]: "#2c7bb6",
    local_moran.NOT_SIGNIFICANT: "#f0f0f0",
    local_moran.NO_NEIGHBOURS: "#ffffff",
    local_moran.NOT_TESTED: "#d9d9d9",
    "no shape (not tested)": "#ffffff",
}
NO_SHAPE = "no shape (not tested)"


def render_areas(con: duckdb.DuckDBPyConnection, out_dir: Path) -> Path:
    """Write areas.html into `out_dir` and return its path."""
    frame = data.area_years(con)
    if frame.empty:
        note = page.paragraph(
            "No loaded source names areas with a full year of data, so there is nothing to map by area. A source "
            "gets this page when its configuration maps columns.area (and, for maps, names a boundaries file).",
            cls="note",
        )
        return page.write_page(
            out_dir, "areas.html", "Crime by area", [page.section_html("No areas", note)], notice=names.data_notice(con)
        )
    sections = [_section(con, key, g.reset_index(drop=True)) for key, g in frame.groupby(DATASET_KEYS, sort=True)]
    return page.write_page(out_dir, "areas.html", "Crime by area", sections, intro=INTRO, notice=names.data_notice(con))


def _section(con: duckdb.DuckDBPyConnection, key: tuple, g: pd.DataFrame) -> str:
    started = time.perf_counter()
    source, unit, _ = key
    label = names.dataset_title(names.source_names(con), *key)
    multi = g["country"].nunique() > 1
    g = g.assign(label=g["area"] + ((" (" + g["country"] + ")") if multi else ""))
    has_rate = bool(g["population"].notna().any())
    g = g.assign(hover=_hover(g, unit, has_rate))
    view = View(label, trend_tables.dataset_label(*key), unit, has_rate, first_text(g), latest_text(g))
    shapes = _matched_shapes(con, source, g)
    level = level_classes(g[view.value].to_numpy(float), rounded)
    change = change_classes(g["change_pct"].to_numpy(float))
    if shapes is not None:
        g = g.assign(
            x=shapes.x, y=shapes.y, label=[_display_name(n, a) for n, a in zip(shapes.names, g["label"], strict=True)]
        )
        moran = local_moran.local_moran(
            g["count"].to_numpy(float), g["population"].to_numpy(float) if has_rate else None, shapes.geoms
        )
        moran.loc[np.isnan(shapes.x), "cluster"] = NO_SHAPE
        g = g.assign(cluster=moran["cluster"].to_numpy())
        blocks = _map_blocks(g, shapes, view, level, change, moran)
    else:
        moran = None
        blocks = _dot_blocks(g, view)
    blocks.append(_table(g, level, view))
    metadata = _metadata(con, source, g, shapes, level, change, view)
    metadata |= correspondence_notes.metadata(con, [source])
    metadata["Computed in"] = f"{time.perf_counter() - started:.2f} s"
    return page.section_html(f"By area: {label}", "".join(blocks), metadata=metadata)


@dataclass(frozen=True)
class View:
    """What a dataset's figures show: its rate per 100,000 where areas have a population, else its count."""

    label: str  # what readers see: the source's name, unit and stage
    key: str  # the dataset by its keys: chart ids and CSV names, stable whatever its description says
    unit: str
    has_rate: bool
    first: str | None  # the first full year, where there is one before the latest
    latest: str

    @property
    def value(self) -> str:
        return "rate_per_100k" if self.has_rate else "count"

    @property
    def per(self) -> str:
        return f"{self.unit} per 100,000" if self.has_rate else self.unit

    @property
    def measure(self) -> str:
        return "rate" if self.has_rate else "count"

    @property
    def slug(self) -> str:
        return page.slug(self.key)


def _map_blocks(g: pd.DataFrame, shapes: AreaShapes, view: View, level, change, moran: pd.DataFrame) -> list[str]:
    hover = ["figure", "interval", "change"]
    text = g.assign(
        figure=[f"{rounded(v)} {view.per}" for v in g[view.value]],
        interval=[f"{rounded(lo)} – {rounded(hi)}" for lo, hi in zip(g["rate_low"], g["rate_high"], strict=True)],
        change=[percent(v) for v in g["change_pct"]],
    )
    flagged = (g["small"] | g["small_population"]).to_numpy(bool)

    def draw(classes, title: str, priority: np.ndarray) -> dict:
        return choropleth(
            shapes.geoms, shapes.proj4, text, classes, hover, title, flagged, FLAGGED, priority, shapes.others
        )

    level_value = g[view.value].to_numpy(float)
    blocks = [
        _block(
            "Where it is highest",
            draw(level, f"{view.label}: {view.per}, {view.latest}", np.nan_to_num(level_value, nan=-np.inf)),
            f"areas-{view.slug}-level",
            level_sentence(g, view.value, view.unit, view.per),
        )
    ]
    if g["change_pct"].notna().any():
        blocks.append(
            _block(
                "How it changed",
                draw(
                    change,
                    f"{view.label}: change in the {view.measure}, {view.first} to {view.latest}",
                    np.abs(np.nan_to_num(g["change_pct"].to_numpy(float))),
                ),
                f"areas-{view.slug}-change",
                change_sentence(g, view.measure),
            )
        )
    significant = moran["cluster"].isin(list(local_moran.QUADRANTS.values())).to_numpy(float)
    blocks.append(
        _block(
            "Clusters of high and low areas",
            draw(
                _moran_classes(moran),
                f"{view.label}: Local Moran's I clusters, {view.latest}",
                significant - moran["p_fdr"].fillna(1).to_numpy(float),
            ),
            f"areas-{view.slug}-moran",
            _moran_sentence(moran, g),
        )
    )
    return blocks


def _dot_blocks(g: pd.DataFrame, view: View) -> list[str]:
    blocks = [
        _block(
            "Where it is highest",
            dot_plot(g, view.value, view.per, f"{view.label}: {view.per}, {view.latest}", FLAG),
            f"areas-{view.slug}-level",
            level_sentence(g, view.value, view.unit, view.per),
        )
    ]
    changed = g.dropna(subset=["change_pct"])
    if not changed.empty:
        title = f"{view.label}: change in the {view.measure}, {view.first} to {view.latest}"
        blocks.append(
            _block(
                "How it changed",
                dot_plot(changed.assign(rate_low=np.nan, rate_high=np.nan), "change_pct", "change, %", title, FLAG),
                f"areas-{view.slug}-change",
                change_sentence(g, view.measure),
            )
        )
    return blocks


def _block(title: str, figure: dict, div_id: str, summary: str) -> str:
    return page.block_html(title, page.figure_html(figure, div_id=div_id), summary=summary)


def _hover(g: pd.DataFrame, unit: str, has_rate: bool) -> list[str]:
    """The text of a dot's hover: count, population, rate with its interval."""
    out = []
    for r in g.itertuples():
        text = f"{r.count:,.0f} {unit}"
        if has_rate and pd.notna(r.population):
            text += (
                f"; population {r.population:,.0f}; {rounded(r.rate_per_100k)} per 100,000 "
                f"(95% interval {rounded(r.rate_low)} – {rounded(r.rate_high)})"
            )
        if r.small:
            text += f"; {FLAG}"
        if r.small_population and has_rate:
            text += f"; {POPULATION_FLAG}"
        out.append(text)
    return out


@dataclass(frozen=True)
class AreaShapes:
    """The shapes of a dataset's areas, projected, in its rows' order (an empty geometry for an area without
    one), their label points and names, and the source's shapes that no row names."""

    geoms: np.ndarray
    proj4: str
    x: np.ndarray
    y: np.ndarray
    names: np.ndarray  # the boundaries' name of each row's area (None: no shape)
    others: np.ndarray  # shapes of areas no row of the dataset names


def _matched_shapes(con, source: str, g: pd.DataFrame) -> AreaShapes | None:
    """None when the source names no boundaries or none of its areas has a shape."""
    import shapely

    shapes = area_shapes(con, source)
    if shapes.empty:
        return None
    keys = shapes["country"] + "\x1f" + shapes["area"].str.strip().str.lower()
    keyed = shapes.assign(_k=keys).drop_duplicates("_k").set_index("_k")
    wanted = g["country"] + "\x1f" + g["area"].str.strip().str.lower()
    found = keyed.reindex(wanted)
    has = found["geometry"].notna().to_numpy()
    if not has.any():
        return None
    lon, lat = found["lon"].to_numpy(float), found["lat"].to_numpy(float)
    proj4 = local_proj4(lon[has], lat[has])
    geoms = np.full(len(g), shapely.Polygon(), dtype=object)  # an area without a shape draws nothing
    geoms[has] = projected(proj4, geometries(found[has].reset_index(drop=True)))
    x, y = np.full(len(g), np.nan), np.full(len(g), np.nan)
    x[has], y[has] = project(proj4, lon[has], lat[has])
    unnamed = shapes[~keys.isin(set(wanted))].reset_index(drop=True)
    others = projected(proj4, geometries(unnamed)) if len(unnamed) else np.array([], dtype=object)
    names = found["label"].where(found["geometry"].notna()).to_numpy(dtype=object)
    return AreaShapes(geoms, proj4, x, y, names, others)


def _display_name(name: object, area: str) -> str:
    """The boundaries' name where it says more than the records' ("Ashby Vale (D35)"), else the records'."""
    if not isinstance(name, str) or not name.strip():
        return area
    return name if area.strip().lower() in name.strip().lower() else f"{name} ({area})"


def _moran_classes(moran: pd.DataFrame):
    from reports.areas.classes import Classes

    order = [c for c in MORAN_COLOURS if (moran["cluster"] == c).any()]
    index = np.array([order.index(c) for c in moran["cluster"]])
    return Classes(index, tuple(order), tuple(MORAN_COLOURS[c] for c in order), "Local Moran's I clusters")


def _moran_sentence(moran: pd.DataFrame, g: pd.DataFrame) -> str:
    tested = moran["p_fdr"].notna()
    if not tested.any():
        return f"Not tested: Local Moran's I needs at least {local_moran.MIN_AREAS} areas with a figure and neighbours."
    found = moran.loc[tested, "cluster"].value_counts()
    named = [f"{numbers.plural(int(n), 'area')} {c}" for c, n in found.items() if c != local_moran.NOT_SIGNIFICANT]
    high = g.loc[moran["cluster"] == local_moran.QUADRANTS[1], "label"].tolist()
    text = (
        f"Of {numbers.plural(int(tested.sum()), 'area')} tested, "
        + (", ".join(named) if named else "none")
        + " at a false discovery rate of 10%"
        + (f"; the high-among-high cluster: {', '.join(high[:8])}{' …' if len(high) > 8 else ''}." if high else ".")
    )
    return text


def _table(g: pd.DataFrame, level, view: View) -> str:
    table = pd.DataFrame(
        {"Area": g["label"], f"{view.unit.capitalize()} {view.latest}": g["count"].round(0).astype("Int64")}
    )
    if view.has_rate:
        table["Population"] = g["population"].round(0).astype("Int64")
        table["Per 100,000"] = [rounded(v) for v in g["rate_per_100k"]]
        table["95% interval"] = [
            f"{rounded(lo)} – {rounded(hi)}" if pd.notna(lo) else "–"
            for lo, hi in zip(g["rate_low"], g["rate_high"], strict=True)
        ]
    if view.first:
        table[f"Change since {view.first}"] = [percent(v) for v in g["change_pct"]]
    table["Class"] = [level.labels[i] if i >= 0 else "no figure" for i in level.index]
    if "cluster" in g:
        table["Local Moran's I"] = g["cluster"]
    flags = pd.DataFrame({FLAG: g["small"], POPULATION_FLAG: g["small_population"] & view.has_rate})
    table["Flag"] = ["; ".join(k for k, v in row.items() if v) for row in flags.to_dict("records")]
    order = g[view.value].fillna(-np.inf).to_numpy()
    table = table.iloc[np.argsort(-order, kind="stable")].reset_index(drop=True)
    return page.block_html(
        "Every area",
        tables.table_html(table, caption=f"{view.label}: every area, highest first", csv_name=f"areas_{view.slug}"),
    )


def _metadata(con, source: str, g: pd.DataFrame, shapes: AreaShapes | None, level, change, view: View) -> dict:
    meta = {
        "Source": data.source_description(con, source),
        "Years": (
            f"latest full year {view.latest}; "
            + (
                f"change from the first full year of the coverage window, {view.first}"
                if view.first
                else "no change: the coverage window has no earlier full year"
            )
        ),
        "Figure": (
            f"{view.unit} per 100,000 residents of the area in the same year (all ICCS sections)"
            if view.has_rate
            else f"{view.unit} (all ICCS sections); no area population is loaded, so no rate"
        ),
        "Map classes": level.scheme,
        "Change classes": change.scheme,
        "Small counts": f"{FLAG}; {POPULATION_FLAG}; both outlined dotted on the maps; the 95% interval is the "
        "exact Poisson (Garwood) interval of the rate",
    }
    if shapes is None:
        meta["Boundaries"] = "the source names no boundaries file (boundaries: in its configuration), so no map"
        return meta
    missing = g.loc[np.isnan(shapes.x), "label"].tolist()
    meta["Boundaries"] = (
        f"{int((~np.isnan(shapes.x)).sum()):,} of the {numbers.plural(len(g), 'area')} drawn on the source's "
        f"boundaries; {numbers.plural(len(shapes.others), 'shape')} that no record names drawn grey"
        + (
            f"; {numbers.plural(len(missing), 'area')} without a shape (in the table, not on the maps): "
            + ", ".join(missing[:20])
            + (" …" if len(missing) > 20 else "")
            if missing
            else ""
        )
    )
    meta["Local Moran's I"] = " ".join(local_moran.__doc__.split("\n\n")[1].split())
    return meta
