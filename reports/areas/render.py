"""areas.html itself: one section per dataset (source, counting unit, stage) whose records name areas."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from reports import page, tables, trend_tables
from reports.areas import data
from reports.areas.classes import change_classes, level_classes
from reports.areas.figures import choropleth, dot_plot
from reports.areas.text import FLAG, INTRO, change_sentence, count_words, level_sentence, percent, rounded
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
}


def render_areas(con: duckdb.DuckDBPyConnection, out_dir: Path) -> Path:
    """Write areas.html into `out_dir` and return its path."""
    frame = data.area_years(con)
    if frame.empty:
        note = page.paragraph(
            "No loaded source names areas with a full year of data, so there is nothing to map by area. A source "
            "gets this page when its configuration maps columns.area (and, for maps, names a boundaries file).",
            cls="note",
        )
        return page.write_page(out_dir, "areas.html", "Crime by area", [page.section_html("No areas", note)])
    sections = [_section(con, key, g.reset_index(drop=True)) for key, g in frame.groupby(DATASET_KEYS, sort=True)]
    return page.write_page(out_dir, "areas.html", "Crime by area", sections, intro=INTRO)


def _section(con: duckdb.DuckDBPyConnection, key: tuple, g: pd.DataFrame) -> str:
    started = time.perf_counter()
    source, unit, _ = key
    label = trend_tables.dataset_label(*key)
    slug = page.slug(label)
    multi = g["country"].nunique() > 1
    g = g.assign(label=g["area"] + ((" (" + g["country"] + ")") if multi else ""))
    has_rate = g["population"].notna().any()
    value = "rate_per_100k" if has_rate else "count"
    per = f"{unit} per 100,000" if has_rate else unit
    g = g.assign(hover=_hover(g, unit, has_rate))
    shapes = _matched_shapes(con, source, g)
    latest, first = int(g["latest"].iloc[0]), int(g["first"].iloc[0])
    level_title = f"{label}: {per}, {latest}"
    change_title = f"{label}: change in {'the rate' if has_rate else 'the count'}, {first} to {latest}"
    level = level_classes(g[value].to_numpy(float), rounded)
    change = change_classes(g["change_pct"].to_numpy(float))
    moran = None
    blocks = []
    if shapes is not None:
        geoms, proj4, xy, names = shapes
        # the boundaries' name of the area where it has one ("Ashby Vale (D35)"), else the records' name
        named = [
            n
            if isinstance(n, str) and n.strip().lower() == a.strip().lower()
            else f"{n} ({a})"
            if isinstance(n, str)
            else a
            for n, a in zip(names, g["label"], strict=True)
        ]
        g = g.assign(x=xy[0], y=xy[1], label=named)
        hover = ["figure", "interval", "change"]
        table_text = g.assign(
            figure=[f"{rounded(v)} {per}" for v in g[value]],
            interval=[f"{rounded(lo)} – {rounded(hi)}" for lo, hi in zip(g["rate_low"], g["rate_high"], strict=True)],
            change=[percent(v) for v in g["change_pct"]],
        )
        flagged = g["small"].to_numpy(bool)
        blocks.append(
            _block(
                "Where it is highest",
                choropleth(geoms, proj4, table_text, level, hover, level_title, flagged, FLAG, level.index),
                f"areas-{slug}-level",
                level_sentence(g, value, unit, per),
            )
        )
        if g["change_pct"].notna().any():
            blocks.append(
                _block(
                    "How it changed",
                    choropleth(
                        geoms,
                        proj4,
                        table_text,
                        change,
                        hover,
                        change_title,
                        flagged,
                        FLAG,
                        np.abs(np.nan_to_num(g["change_pct"].to_numpy(float))),
                    ),
                    f"areas-{slug}-change",
                    change_sentence(g, "rate" if has_rate else "count"),
                )
            )
        moran = local_moran.local_moran(
            g["count"].to_numpy(float), g["population"].to_numpy(float) if has_rate else None, geoms
        )
        g = g.assign(cluster=moran["cluster"].to_numpy())
        clusters = _moran_classes(moran)
        blocks.append(
            _block(
                "Clusters of high and low areas",
                choropleth(
                    geoms,
                    proj4,
                    table_text,
                    clusters,
                    hover,
                    f"{label}: Local Moran's I clusters, {latest}",
                    flagged,
                    FLAG,
                    moran["cluster"].isin(list(local_moran.QUADRANTS.values())).to_numpy(float)
                    - moran["p_fdr"].fillna(1).to_numpy(float),
                ),
                f"areas-{slug}-moran",
                _moran_sentence(moran, g),
            )
        )
    else:
        blocks.append(
            _block(
                "Where it is highest",
                dot_plot(g, value, per, level_title, FLAG),
                f"areas-{slug}-level",
                level_sentence(g, value, unit, per),
            )
        )
        changed = g.dropna(subset=["change_pct"])
        if not changed.empty:
            blocks.append(
                _block(
                    "How it changed",
                    dot_plot(
                        changed.assign(rate_low=np.nan, rate_high=np.nan), "change_pct", "change, %", change_title, FLAG
                    ),
                    f"areas-{slug}-change",
                    change_sentence(g, "rate" if has_rate else "count"),
                )
            )
    blocks.append(_table(g, level, change, unit, has_rate, label, slug))
    metadata = _metadata(con, source, g, shapes is not None, level, change, moran, has_rate, unit)
    metadata["Computed in"] = f"{time.perf_counter() - started:.2f} s"
    return page.section_html(f"By area: {label}", "".join(blocks), metadata=metadata)


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
        out.append(text)
    return out


def _matched_shapes(con, source: str, g: pd.DataFrame):
    """The shapes of the dataset's areas in its rows' order, projected, with label points; None when the source
    has no boundaries or none of its areas has a shape (areas without one keep a tiny placeholder and are
    named in "About these data")."""
    shapes = area_shapes(con, source)
    if shapes.empty:
        return None
    keyed = shapes.assign(_k=shapes["country"] + "\x1f" + shapes["area"].str.strip().str.lower())
    keyed = keyed.drop_duplicates("_k").set_index("_k")
    wanted = g["country"] + "\x1f" + g["area"].str.strip().str.lower()
    found = keyed.reindex(wanted)
    if found["geometry"].isna().all():
        return None
    lonlat = found[["lon", "lat"]].to_numpy(float)
    has = ~np.isnan(lonlat[:, 0])
    proj4 = local_proj4(lonlat[has, 0], lonlat[has, 1])
    geoms = np.full(len(g), None, dtype=object)
    geoms[has] = geometries(found[has].reset_index(drop=True))
    geoms_xy = np.full(len(g), None, dtype=object)
    geoms_xy[has] = projected(proj4, geoms[has].astype(object))
    x = np.full(len(g), np.nan)
    y = np.full(len(g), np.nan)
    x[has], y[has] = project(proj4, lonlat[has, 0], lonlat[has, 1])
    import shapely

    empty = shapely.Point()  # an area without a shape draws nothing (and is listed as such)
    geoms_xy[~has] = empty
    names = found["label"].where(has).to_numpy(dtype=object)
    return geoms_xy, proj4, (x, y), names


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
    named = [f"{count_words(int(n), 'area')} {c}" for c, n in found.items() if c != local_moran.NOT_SIGNIFICANT]
    high = g.loc[moran["cluster"] == local_moran.QUADRANTS[1], "label"].tolist()
    text = (
        f"Of {count_words(int(tested.sum()), 'area')} tested, "
        + (", ".join(named) if named else "none")
        + " at a false discovery rate of 10%"
        + (f"; the high-among-high cluster: {', '.join(high[:8])}{' …' if len(high) > 8 else ''}." if high else ".")
    )
    return text


def _table(g: pd.DataFrame, level, change, unit: str, has_rate: bool, label: str, slug: str) -> str:
    table = pd.DataFrame(
        {
            "Area": g["label"],
            f"{unit.capitalize()} {int(g['latest'].iloc[0])}": g["count"].round(0).astype("Int64"),
        }
    )
    if has_rate:
        table["Population"] = g["population"].round(0).astype("Int64")
        table["Per 100,000"] = [rounded(v) for v in g["rate_per_100k"]]
        table["95% interval"] = [
            f"{rounded(lo)} – {rounded(hi)}" if pd.notna(lo) else "–"
            for lo, hi in zip(g["rate_low"], g["rate_high"], strict=True)
        ]
    table[f"Change since {int(g['first'].iloc[0])}"] = [percent(v) for v in g["change_pct"]]
    table["Class"] = [level.labels[i] if i >= 0 else "no figure" for i in level.index]
    if "cluster" in g:
        table["Local Moran's I"] = g["cluster"]
    table["Flag"] = np.where(g["small"], FLAG, "")
    order = g["rate_per_100k" if has_rate else "count"].fillna(-np.inf).to_numpy()
    table = table.iloc[np.argsort(-order, kind="stable")].reset_index(drop=True)
    return page.block_html(
        "Every area",
        tables.table_html(table, caption=f"{label}: every area, highest first", csv_name=f"areas_{slug}"),
    )


def _description(con, source: str) -> str:
    rows = con.execute("SELECT description FROM sources WHERE source = ? AND description <> ''", [source]).fetchall()
    return f"{source}: {rows[0][0]}" if rows else source


def _metadata(con, source: str, g: pd.DataFrame, mapped: bool, level, change, moran, has_rate: bool, unit: str):
    first, latest = int(g["first"].iloc[0]), int(g["latest"].iloc[0])
    meta = {
        "Source": _description(con, source),
        "Years": f"latest full year {latest}; change from the first full year of the coverage window, {first}",
        "Figure": (
            f"{unit} per 100,000 residents of the area in the same year (all ICCS sections)"
            if has_rate
            else f"{unit} (all ICCS sections); no area population is loaded, so no rate"
        ),
        "Map classes": level.scheme,
        "Change classes": change.scheme,
        "Small counts": f"{FLAG}; the 95% interval is the exact Poisson (Garwood) interval of the rate",
    }
    if mapped:
        shapes = area_shapes(con, source)
        keys = set(shapes["country"] + "\x1f" + shapes["area"].str.strip().str.lower())
        missing = g.loc[~(g["country"] + "\x1f" + g["area"].str.strip().str.lower()).isin(keys), "label"].tolist()
        meta["Boundaries"] = f"{len(shapes):,} shapes from the source's boundaries file; " + (
            f"{count_words(len(missing), 'area')} of the records without a shape (not drawn, in the table): "
            + ", ".join(missing[:20])
            + (" …" if len(missing) > 20 else "")
            if missing
            else "every area of the records has one"
        )
        meta["Local Moran's I"] = local_moran.__doc__.split("\n\n")[1].replace("\n", " ")
    else:
        meta["Boundaries"] = "the source names no boundaries file (boundaries: in its configuration), so no map"
    return meta
