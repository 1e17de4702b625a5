"""Counting a dataset's geocoded records on the hot spot grid: in DuckDB (`bin_in_sql`), so Python receives one row
per occupied cell and year, never one per point; or from points already in Python (`bin_points`, the reference).

Both give the same grid, the same cell of every record and the same counts. The grid of
`reports.stats.hotspot_grid.make_grid` depends on the rows the page's query groups the records into (one per place,
year, level-2 category, area and Target 16.4 component): the projection is centred on their medians, the stray points
are trimmed at their 0.1-99.9 % quantiles. DuckDB computes these over the same rows, and projects the points with
the same Lambert azimuthal equal-area formulas PROJ uses (`laea_sql`; they agree with pyproj to well under a
micrometre). Where a micrometre could change an outcome, the result comes from pyproj, as before:

- a point within `EDGE_TOLERANCE` of a cell edge is projected by pyproj in Python (a handful of points, usually none),
  so a point on an edge falls in the cell numpy puts it in;
- when a median lies that close to a rounding boundary of the projection centre, or a point that close to the trim
  bounds, or the grid's extent that close to a cell edge (so the grid itself could differ), `bin_in_sql` returns
  None and the caller falls back to the points in Python.

`Tally` answers the describing tables (`reports.stats.hotspot_summary`): records per (group, ICCS category) or
(group, area) over the cells of each group, summed in DuckDB for the SQL path.
"""

from __future__ import annotations

import itertools
import math
import uuid
from dataclasses import dataclass
from typing import Protocol

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from reports.hotspots.data import VALID_POINT, Records, grid_records_sql, records
from reports.stats.hotspot_grid import (
    DEFAULT_CELL_M,
    DEFAULT_MAX_CELLS,
    TRIM_QUANTILE,
    Grid,
    grid_from_extent,
    make_grid,
    proj4_at,
    project,
    trim_bounds,
)

EDGE_TOLERANCE = 1e-6  # metres: DuckDB's and PROJ's projections of a point differ by ~1e-9 m
_WGS84_A = 6378137.0
_WGS84_RF = 298.257223563
_DEG = math.pi / 180.0


class Tally(Protocol):
    def __call__(
        self, key: np.ndarray, column: str, category_only: bool = False
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(key, value, records) rows: the records of the cells whose `key` (one per cell id) is > 0, per key and
        value of `column` ('code', 'area' or 'component'); only Target 16.4 records with `category_only`. Rows
        may repeat a (key, value) pair: callers sum them."""
        ...


@dataclass(frozen=True)
class Binned:
    """Records counted on the grid: what `reports.hotspots.analysis.analyse_binned` needs."""

    grid: Grid
    years: np.ndarray
    per_year: np.ndarray  # years x cells: records per year and cell
    counts: np.ndarray  # records per cell, all years
    category: np.ndarray | None  # Target 16.4 records per cell; None when the records carry no component at all
    dropped: int  # records outside the grid (stray points)
    tally: Tally


@dataclass(frozen=True)
class ArrayTally:
    """`Tally` over aggregated record rows in Python (cell id, code, area, component, records)."""

    cell: np.ndarray
    code: np.ndarray
    area: np.ndarray
    component: np.ndarray | None
    n: np.ndarray

    def __call__(self, key, column, category_only=False):
        keys = np.asarray(key)[self.cell]
        pick = keys > 0
        if category_only:
            pick &= pd.notna(self.component)
        return keys[pick], getattr(self, column)[pick], self.n[pick]


def bin_points(rec: Records, cell_size: float = DEFAULT_CELL_M, max_cells: int = DEFAULT_MAX_CELLS) -> Binned:
    """The reference: project every point with pyproj and count with numpy."""
    from reports.stats.hotspot_grid import local_proj4

    proj4 = local_proj4(rec.lon, rec.lat)
    x, y = project(proj4, rec.lon, rec.lat)
    grid = make_grid(x, y, proj4, cell_size=cell_size, max_cells=max_cells)
    cell = grid.cell_of(x, y)
    inside = cell >= 0
    dropped = int(rec.n[~inside].sum())
    cell, year, n = cell[inside], rec.year[inside], rec.n[inside]
    component = None if rec.component is None else rec.component[inside]
    counts = np.bincount(cell, weights=n, minlength=grid.n_cells)
    years = np.arange(int(year.min()), int(year.max()) + 1)
    per_year = np.bincount(
        (year - years[0]) * grid.n_cells + cell, weights=n, minlength=years.size * grid.n_cells
    ).reshape(years.size, grid.n_cells)
    category = None
    if component is not None:
        is_category = pd.notna(component)
        category = np.bincount(cell[is_category], weights=n[is_category], minlength=grid.n_cells)
    tally = ArrayTally(cell, rec.code[inside], rec.area[inside], component, n)
    return Binned(grid, years, per_year, counts, category, dropped, tally)


# --- the projection in SQL ---------------------------------------------------------------------------------------


def _qsfn(sinphi: float, e: float, one_es: float) -> float:
    con = e * sinphi
    return one_es * (sinphi / (1.0 - con * con) - (0.5 / e) * math.log((1.0 - con) / (1.0 + con)))


def laea_sql(lon0: float, lat0: float, relation: str) -> str | None:
    """A query of `relation` (with columns lon, lat in degrees) plus x and y (metres) in `proj4_at(lon0, lat0)`'s
    ellipsoidal Lambert azimuthal equal-area projection: PROJ's `laea` forward formulas (oblique and equatorial
    aspects), each intermediate computed once per row. None near a pole (PROJ's polar aspects are not reproduced)."""
    if abs(lat0) > 89.0:
        return None
    f = 1.0 / _WGS84_RF
    es = 2 * f - f * f
    one_es = 1.0 - es
    e = math.sqrt(es)
    qp = _qsfn(1.0, e, one_es)
    rq = math.sqrt(0.5 * qp)
    phi0 = lat0 * _DEG
    sinphi0 = math.sin(phi0)
    sinb1 = _qsfn(sinphi0, e, one_es) / qp
    cosb1 = math.sqrt(1.0 - sinb1 * sinb1)
    dd = math.cos(phi0) / (math.sqrt(1.0 - es * sinphi0 * sinphi0) * rq * cosb1)
    xmf = rq * dd
    ymf = rq / dd
    steps = [
        f"lon * {_f(_DEG)} - {_f(lon0 * _DEG)} AS _lam",
        f"sin(lat * {_f(_DEG)}) AS _sinphi, cos(_lam) AS _coslam, sin(_lam) AS _sinlam",
        f"{_f(e)} * _sinphi AS _con",
        f"{_f(one_es)} * (_sinphi / (1.0 - _con * _con) - {_f(0.5 / e)} * ln((1.0 - _con) / (1.0 + _con))) AS _q",
        f"_q / {_f(qp)} AS _sinb",
        "sqrt(greatest(1.0 - _sinb * _sinb, 0.0)) AS _cosb",
        f"sqrt(2.0 / (1.0 + {_f(sinb1)} * _sinb + {_f(cosb1)} * _cosb * _coslam)) AS _b",
    ]
    query = relation
    for step in steps:
        query = f"(SELECT *, {step} FROM {query})"
    helpers = "_lam, _sinphi, _coslam, _sinlam, _con, _q, _sinb, _cosb, _b"
    x = f"{_f(_WGS84_A)} * {_f(xmf)} * _b * _cosb * _sinlam"
    y = f"{_f(_WGS84_A)} * {_f(ymf)} * _b * ({_f(cosb1)} * _sinb - {_f(sinb1)} * _cosb * _coslam)"
    return f"SELECT * EXCLUDE ({helpers}), {x} AS x, {y} AS y FROM {query}"


def _f(value: float) -> str:
    """A DOUBLE literal that reads back as exactly `value` (a bare 0.1 would be a DECIMAL in DuckDB)."""
    return f"'{float(value)!r}'::DOUBLE"


def _median_rounding_safe(value: float) -> bool:
    """Whether a median computed differently in the last bits still rounds to the same 0.01 degree."""
    slack = 1e-9 * max(1.0, abs(value))
    return round(value - slack, 2) == round(value + slack, 2)


# --- binning in DuckDB -------------------------------------------------------------------------------------------


@dataclass
class SqlTally:
    """`Tally` over the binned rows kept in a temporary DuckDB table (cell, year, code, area, component, n)."""

    con: duckdb.DuckDBPyConnection
    table: str

    def __call__(self, key, column, category_only=False):
        if column not in ("code", "area", "component"):
            raise ValueError(f"unknown column {column!r}")
        key = np.asarray(key)
        cells = np.flatnonzero(key > 0)
        name = f"hs_keys_{uuid.uuid4().hex[:8]}"
        self.con.register(name, pa.table({"cell": cells.astype(np.int64), "key": key[cells].astype(np.int64)}))
        try:
            table = self.con.execute(
                f"""
                SELECT k.key, b.{column} AS value, sum(b.n)::DOUBLE AS n
                FROM {self.table} b JOIN {name} k ON k.cell = b.cell
                {"WHERE b.component IS NOT NULL" if category_only else ""}
                GROUP BY ALL
                """
            ).to_arrow_table()
        finally:
            self.con.unregister(name)
        values = np.asarray(table.column("value").to_pylist(), dtype=object)
        return table.column("key").to_numpy(), values, table.column("n").to_numpy()


def _grid_is_stable(extent: tuple[float, float, float, float], proj4: str, cell_size: float, max_cells: int) -> bool:
    """Whether moving each side of the extent by EDGE_TOLERANCE leaves the grid as it is."""
    grid = grid_from_extent(extent, proj4, cell_size=cell_size, max_cells=max_cells)
    for signs in itertools.product((-1.0, 1.0), repeat=4):
        moved = tuple(v + s * EDGE_TOLERANCE for v, s in zip(extent, signs, strict=True))
        if grid_from_extent(moved, proj4, cell_size=cell_size, max_cells=max_cells) != grid:
            return False
    return True


def bin_in_sql(
    con: duckdb.DuckDBPyConnection,
    source: str,
    unit: str,
    cell_size: float = DEFAULT_CELL_M,
    max_cells: int = DEFAULT_MAX_CELLS,
    weapon: str | None = None,
) -> Binned | None:
    """The dataset's records (those committed with `weapon` only, when given) counted on the grid in DuckDB; None
    when the dataset has no usable point or when a decision is too close to call in DuckDB's arithmetic (the
    caller then bins the points in Python). The binned rows stay in a temporary table for the `Tally`;
    `drop_binned` removes it."""
    tag = uuid.uuid4().hex[:8]
    rows, binned = f"hs_rows_{tag}", f"hs_binned_{tag}"
    # The projection is centred on the medians of the grouped rows, known only once they are grouped: project them
    # as they are grouped, around the medians of the records (almost always the same to 0.01 degree), and again in
    # the rare case the grouped rows' medians round otherwise.
    (guess,) = con.execute(
        f"SELECT [median(longitude), median(latitude)] FROM {records(con, weapon)} "
        f"WHERE source = ? AND unit = ? AND {VALID_POINT}",
        [source, unit],
    ).fetchall()[0]
    if guess is None or guess[0] is None:
        return None
    guessed = (round(float(guess[0]), 2), round(float(guess[1]), 2))
    sql, params = grid_records_sql(con, source, unit, weapon)
    projection = laea_sql(*guessed, f"({sql})")
    if projection is None:
        return None
    con.execute(f"CREATE TEMP TABLE {rows} AS {projection}", params)
    try:
        found = _quantiles(con, rows, guessed)
        if found is None:  # the grouped rows' medians are not the guess's: compute them, project again
            n_rows, lon_median, lat_median = con.execute(
                f"SELECT count(*), median(lon), median(lat) FROM {rows}"
            ).fetchall()[0]
            if not n_rows or not (_median_rounding_safe(lon_median) and _median_rounding_safe(lat_median)):
                return None
            centre = (round(float(lon_median), 2), round(float(lat_median), 2))
            if centre != guessed:
                projection = laea_sql(*centre, f"(SELECT * EXCLUDE (x, y) FROM {rows})")
                if projection is None:
                    return None
                con.execute(f"CREATE TEMP TABLE {rows}_again AS {projection}")
                con.execute(f"DROP TABLE {rows}")
                rows = f"{rows}_again"
            found = _quantiles(con, rows, centre)
            guessed = centre
        if found is None:
            return None
        return _bin_projected(con, rows, binned, proj4_at(*guessed), found, cell_size, max_cells)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {rows}")


def _quantiles(con, rows: str, centre: tuple[float, float]) -> tuple[list[float], list[float]] | None:
    """The trim quantiles of x and y over the grouped rows, if the medians of their lon and lat round to `centre`
    (both middle values lie inside the rounding interval, with a margin for the last bits); else None."""
    q = [TRIM_QUANTILE, 1 - TRIM_QUANTILE]
    checks = []
    for column, value in zip(("lon", "lat"), centre, strict=True):
        margin = 1e-9 * max(1.0, abs(value))
        low, high = value - 0.005 + margin, value + 0.005 - margin
        checks.append(f"count(*) FILTER ({column} < {_f(low)}), count(*) FILTER ({column} < {_f(high)})")
    n, qx, qy, lon_low, lon_high, lat_low, lat_high = con.execute(
        f"SELECT count(*), quantile_cont(x, {q}), quantile_cont(y, {q}), {', '.join(checks)} FROM {rows}"
    ).fetchall()[0]
    if not n:
        return None
    # sorted 0-based: the median is the mean of the values at (n - 1) // 2 and n // 2
    counts = ((lon_low, lon_high), (lat_low, lat_high))
    inside = all(below <= (n - 1) // 2 and upto >= n // 2 + 1 for below, upto in counts)
    return (qx, qy) if inside else None


def drop_binned(result: Binned | None) -> None:
    if result is not None and isinstance(result.tally, SqlTally):
        result.tally.con.execute(f"DROP TABLE IF EXISTS {result.tally.table}")


def _bin_projected(
    con, projected: str, binned: str, proj4: str, quantiles, cell_size: float, max_cells: int
) -> Binned | None:
    qx, qy = quantiles
    (x_low, x_high), (y_low, y_high) = trim_bounds(*qx), trim_bounds(*qy)
    keep = f"x >= {_f(x_low)} AND x <= {_f(x_high)} AND y >= {_f(y_low)} AND y <= {_f(y_high)}"
    tol = EDGE_TOLERANCE
    near_bounds = " OR ".join(f"abs({c} - {_f(v)}) < {_f(tol)}" for c, v in (("x", x_low), ("x", x_high)))
    near_bounds += " OR " + " OR ".join(f"abs({c} - {_f(v)}) < {_f(tol)}" for c, v in (("y", y_low), ("y", y_high)))
    x_min, x_max, y_min, y_max, dropped_rows, ambiguous = con.execute(
        f"""SELECT min(x) FILTER ({keep}), max(x) FILTER ({keep}), min(y) FILTER ({keep}), max(y) FILTER ({keep}),
                   count(*) FILTER (NOT ({keep})), count(*) FILTER ({near_bounds})
            FROM {projected}"""
    ).fetchall()[0]
    extent = (x_min, x_max, y_min, y_max)
    if ambiguous or x_min is None or not _grid_is_stable(extent, proj4, cell_size, max_cells):
        return None
    grid = grid_from_extent(extent, proj4, cell_size=cell_size, max_cells=max_cells, dropped=int(dropped_rows))
    size, x0, y0 = grid.cell_size, grid.x0, grid.y0
    u, v = f"((x - {_f(x0)}) / {_f(size)})", f"((y - {_f(y0)}) / {_f(size)})"
    col, row = f"floor({u})::BIGINT", f"floor({v})::BIGINT"
    edge = f"(abs({u} - round({u})) * {_f(size)} < {_f(tol)} OR abs({v} - round({v})) * {_f(size)} < {_f(tol)})"
    cell = (
        f"CASE WHEN {col} BETWEEN 0 AND {grid.ncols - 1} AND {row} BETWEEN 0 AND {grid.nrows - 1} "
        f"THEN {row} * {grid.ncols} + {col} ELSE -1 END"
    )
    # points on a cell edge (to a micrometre) keep their place, and get the cell numpy gives them from pyproj's
    # projection; the others are counted per cell
    con.execute(
        f"""CREATE TEMP TABLE {binned} AS
            SELECT CASE WHEN NOT _edge THEN _cell END AS cell, CASE WHEN _edge THEN lon END AS lon,
                   CASE WHEN _edge THEN lat END AS lat, year, code, area, component, sum(n) AS n
            FROM (SELECT *, {cell} AS _cell, {edge} AS _edge FROM {projected}) GROUP BY ALL"""
    )
    edge_rows = con.execute(
        f"SELECT lon, lat, year, code, area, component, n FROM {binned} WHERE cell IS NULL"
    ).to_arrow_table()
    if edge_rows.num_rows:
        ex, ey = project(proj4, edge_rows.column("lon").to_numpy(), edge_rows.column("lat").to_numpy())
        resolved = edge_rows.drop_columns(["lon", "lat"]).add_column(
            0, "cell", pa.array(grid.cell_of(ex, ey).astype(np.int64))
        )
        con.register(f"{binned}_edge", resolved)
        try:
            con.execute(f"DELETE FROM {binned} WHERE cell IS NULL")
            con.execute(
                f"INSERT INTO {binned} SELECT cell, NULL, NULL, year, code, area, component, n FROM {binned}_edge"
            )
        finally:
            con.unregister(f"{binned}_edge")
    try:
        return _counted(con, binned, grid)
    except Exception:
        con.execute(f"DROP TABLE IF EXISTS {binned}")
        raise


def _counted(con, binned: str, grid: Grid) -> Binned:
    (dropped,) = con.execute(f"SELECT coalesce(sum(n), 0) FROM {binned} WHERE cell < 0").fetchall()[0]
    per = con.execute(
        f"""SELECT year, cell, sum(n)::DOUBLE AS n, sum(n) FILTER (component IS NOT NULL)::DOUBLE AS k
            FROM {binned} WHERE cell >= 0 GROUP BY ALL"""
    ).fetchnumpy()
    year = np.asarray(per["year"], dtype=np.int64)
    cell = np.asarray(per["cell"], dtype=np.int64)
    n = np.asarray(per["n"], dtype=float)
    k = np.nan_to_num(np.ma.filled(per["k"].astype(float), np.nan) if np.ma.isMaskedArray(per["k"]) else per["k"])
    years = np.arange(int(year.min()), int(year.max()) + 1)
    per_year = np.zeros((years.size, grid.n_cells))
    per_year[year - years[0], cell] = n
    counts = per_year.sum(axis=0)
    category = np.bincount(cell, weights=k, minlength=grid.n_cells)
    return Binned(grid, years, per_year, counts, category, int(dropped), SqlTally(con, binned))
