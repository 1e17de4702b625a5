"""The hot spot grid counted in DuckDB (`reports.hotspots.binning.bin_in_sql`) against the points counted in Python
(`bin_points`, the previous path): same grid, same cell of every record, same counts, and the same page tables,
on points that sit on cell edges, in the southern and western hemispheres, without coordinates, in many areas."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pyproj
import pytest

from reports.hotspots import binning
from reports.hotspots.analysis import GridResult, Settings, analyse_binned, analyse_grid
from reports.hotspots.binning import EDGE_TOLERANCE, bin_in_sql, bin_points, drop_binned, laea_sql
from reports.hotspots.data import grid_records
from reports.hotspots.sections import grid_result
from reports.stats.hotspot_grid import proj4_at, project

CENTRE = (-58.4, -34.6)  # Buenos Aires: negative longitude and latitude
CODES = ["0101", "0201", "0501", "0601", "0902"]  # level-1 codes; 0601 and 0902 are on the 16.4 list below
AREAS = [f"A{i:02d}" for i in range(60)]


def _warehouse(rows: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE offences (source VARCHAR, unit VARCHAR, country VARCHAR, occurred_on DATE, iccs_code VARCHAR, "
        "area VARCHAR, latitude DOUBLE, longitude DOUBLE)"
    )
    con.execute("CREATE TABLE iccs_ancestors (code VARCHAR, ancestor_level INTEGER, ancestor_code VARCHAR)")
    con.execute("CREATE TABLE iccs_categories (code VARCHAR, label VARCHAR)")
    con.execute("CREATE TABLE sdg16_codes (indicator VARCHAR, iccs_code VARCHAR, component VARCHAR)")
    con.execute("INSERT INTO sdg16_codes VALUES ('16.4', '0601', 'drug_trafficking'), ('16.4', '0902', 'arms')")
    con.execute("INSERT INTO iccs_ancestors VALUES ('0101', 2, '01'), ('0201', 2, '02'), ('0501', 2, '05')")
    con.register("rows_in", rows)
    con.execute(
        "INSERT INTO offences SELECT 'src', 'offences', 'AR', occurred_on, iccs_code, area, latitude, longitude "
        "FROM rows_in"
    )
    con.unregister("rows_in")
    return con


def _base(rng: np.random.Generator, n: int = 6000) -> pd.DataFrame:
    lon0, lat0 = CENTRE
    lon = lon0 + rng.uniform(-0.25, 0.25, n)
    lat = lat0 + rng.uniform(-0.2, 0.2, n)
    code = rng.choice(CODES[:3], n)
    # a cluster that grows over the years, mostly of 16.4 offences
    k = 900
    c_lon = lon0 + 0.08 + rng.normal(0, 0.006, k)
    c_lat = lat0 - 0.05 + rng.normal(0, 0.006, k)
    c_year = rng.choice([2020, 2021, 2022, 2023], k, p=[0.1, 0.2, 0.3, 0.4])
    frame = pd.DataFrame(
        {
            "longitude": np.concatenate([lon, c_lon]),
            "latitude": np.concatenate([lat, c_lat]),
            "year": np.concatenate([rng.integers(2018, 2024, n), c_year]),
            "iccs_code": np.concatenate([code, rng.choice(CODES, k, p=[0.1, 0.1, 0.1, 0.4, 0.3])]),
            "area": rng.choice(AREAS + [None], n + k),
        }
    )
    # records without coordinates, or with one of them missing or out of range: never on the grid
    missing = pd.DataFrame(
        {
            "longitude": [None, lon0, None, 200.0, lon0],
            "latitude": [lat0, None, None, lat0, -95.0],
            "year": 2020,
            "iccs_code": "0101",
            "area": ["A01", None, "A02", "A03", "A04"],
        }
    )
    # stray points far away: trimmed from the grid's extent, counted as dropped
    strays = pd.DataFrame({"longitude": [0.0, 0.0, -70.0], "latitude": [0.0, 0.0, -20.0], "year": 2021})
    strays["iccs_code"], strays["area"] = "0201", "A05"
    return pd.concat([frame, missing, strays], ignore_index=True)


def _with_edges(frame: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Add points exactly on cell edges and corners of the grid the data gets (to pyproj's precision), and points
    on the projection's central meridian (x = 0 exactly, itself a cell edge)."""
    extra, used = pd.DataFrame(), None
    for _ in range(6):  # the added points move the medians a little: until they lie on the grid they give
        grid = bin_points(_records(pd.concat([frame, extra], ignore_index=True))).grid
        if grid == used:
            break
        used = grid
        cols = rng.integers(1, grid.ncols - 1, 150)
        rows = rng.integers(1, grid.nrows - 1, 150)
        x = grid.x0 + cols * grid.cell_size
        y = grid.y0 + rows * grid.cell_size + rng.uniform(0, grid.cell_size, 150)
        x[:50] += rng.uniform(0, grid.cell_size, 50)  # a third on horizontal edges,
        y[:50] = grid.y0 + rows[:50] * grid.cell_size
        y[50:75] = grid.y0 + rows[50:75] * grid.cell_size  # some on corners
        inverse = pyproj.Transformer.from_crs(pyproj.CRS.from_proj4(grid.proj4), "EPSG:4326", always_xy=True)
        lon, lat = inverse.transform(x, y)
        lon0 = float(grid.proj4.split("+lon_0=")[1].split()[0])
        meridian_lat = CENTRE[1] + rng.uniform(-0.15, 0.15, 20)
        extra = pd.DataFrame(
            {
                "longitude": np.concatenate([lon, np.full(20, lon0)]),
                "latitude": np.concatenate([lat, meridian_lat]),
                "year": rng.integers(2018, 2024, 170),
                "iccs_code": rng.choice(CODES, 170),
                "area": rng.choice(AREAS, 170),
            }
        )
    return pd.concat([frame, extra], ignore_index=True)


def _rows(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["occurred_on"] = pd.to_datetime(out["year"].astype(str) + "-06-15").dt.date
    return out.drop(columns="year")


def _records(frame: pd.DataFrame):
    con = _warehouse(_rows(frame))
    return grid_records(con, "src", "offences")


@pytest.fixture(scope="module")
def edge_case() -> duckdb.DuckDBPyConnection:
    rng = np.random.default_rng(7)
    return _warehouse(_rows(_with_edges(_base(rng), rng)))


def test_the_projection_in_sql_is_pyprojs_to_a_nanometre():
    rng = np.random.default_rng(3)
    con = duckdb.connect()
    for lon0, lat0 in [(-58.4, -34.6), (10.75, 59.91), (0.0, 0.0), (151.21, -33.87), (-122.42, 37.77)]:
        lon = lon0 + rng.uniform(-2, 2, 5000)
        lat = lat0 + rng.uniform(-2, 2, 5000)
        points = "(SELECT unnest(?) AS lon, unnest(?) AS lat)"
        got = con.execute(laea_sql(lon0, lat0, points), [lon, lat]).fetchnumpy()
        px, py = project(proj4_at(lon0, lat0), lon, lat)
        assert np.abs(got["x"] - px).max() < 1e-8 and np.abs(got["y"] - py).max() < 1e-8
    assert laea_sql(0.0, 89.5, points) is None  # PROJ's polar aspect: not reproduced, the caller falls back


def _assert_same_binning(con: duckdb.DuckDBPyConnection) -> binning.Binned:
    reference = bin_points(grid_records(con, "src", "offences"))
    binned = bin_in_sql(con, "src", "offences")
    assert binned is not None
    assert binned.grid == reference.grid
    np.testing.assert_array_equal(binned.years, reference.years)
    np.testing.assert_array_equal(binned.per_year, reference.per_year)
    np.testing.assert_array_equal(binned.counts, reference.counts)
    np.testing.assert_array_equal(binned.category, reference.category)
    assert binned.dropped == reference.dropped
    # the tallies behind the tables: records per key and value, summed
    key = np.arange(reference.grid.n_cells) % 7  # keys 1..6 on most cells, 0 (left out) on the others
    for column, only in [("code", False), ("area", False), ("component", True), ("area", True)]:
        frames = []
        for tally in (binned.tally, reference.tally):
            k, v, n = tally(key, column, only)
            frame = pd.DataFrame({"key": k, "value": v, "n": n}).dropna(subset=["value"])
            frames.append(frame.groupby(["key", "value"])["n"].sum().sort_index())
        pd.testing.assert_series_equal(frames[0], frames[1])
    return binned


def test_sql_binning_matches_the_points_in_python_with_points_on_edges(edge_case):
    rec = grid_records(edge_case, "src", "offences")
    grid = bin_points(rec).grid
    x, y = project(grid.proj4, rec.lon, rec.lat)
    u, v = (x - grid.x0) / grid.cell_size, (y - grid.y0) / grid.cell_size
    off_edge = np.minimum(np.abs(u - np.round(u)), np.abs(v - np.round(v))) * grid.cell_size  # metres
    # the fixture does put points on edges, to pyproj's round trip (a few micrometres), many within EDGE_TOLERANCE
    assert (off_edge < 1e-5).sum() >= 100 and (off_edge < EDGE_TOLERANCE).sum() >= 40
    assert (x == 0).sum() >= 20  # and exactly on the central meridian
    assert bin_points(rec).dropped == 3  # the strays
    binned = _assert_same_binning(edge_case)
    drop_binned(binned)


def _assert_same_result(a: GridResult, b: GridResult) -> None:
    assert a.grid == b.grid and a.dropped == b.dropped and a.emerging_reason == b.emerging_reason
    np.testing.assert_array_equal(a.area, b.area)
    np.testing.assert_array_equal(a.years, b.years)
    for name in ("cells", "groups", "hot_cells", "changes"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name))
    assert (a.emerging is None) == (b.emerging is None)
    if a.emerging is not None:
        pd.testing.assert_frame_equal(a.emerging.frame, b.emerging.frame)
    assert a.mix_reason == b.mix_reason and (a.mix is None) == (b.mix is None)
    if a.mix is not None:
        pd.testing.assert_frame_equal(a.mix.cells, b.mix.cells)
        pd.testing.assert_frame_equal(a.mix.groups, b.mix.groups)
        assert (a.mix.share, a.mix.records) == (b.mix.share, b.mix.records)


def test_the_page_tables_are_the_same(edge_case):
    labels = {"01": "Homicide", "02": "Assault", "05": "Theft", "0601": "Drugs", "0902": "Arms"}
    settings = Settings()
    reference = analyse_grid(grid_records(edge_case, "src", "offences"), labels, settings)
    binned = bin_in_sql(edge_case, "src", "offences")
    try:
        result = analyse_binned(binned, labels, settings)
    finally:
        drop_binned(binned)
    assert not reference.groups.empty and not reference.hot_cells.empty  # the tables are exercised
    assert reference.mix is not None and reference.emerging is not None
    _assert_same_result(result, reference)
    _assert_same_result(grid_result(edge_case, "src", "offences", labels, settings), reference)
    assert not [t for (t,) in edge_case.execute("SELECT table_name FROM duckdb_tables() WHERE temporary").fetchall()]


def test_a_median_on_a_rounding_boundary_falls_back_to_python():
    rng = np.random.default_rng(11)
    frame = _base(rng, 2000)
    frame["longitude"] = np.where(frame.index % 2 == 0, -58.405, frame["longitude"])  # the median itself
    con = _warehouse(_rows(frame))
    assert bin_in_sql(con, "src", "offences") is None
    reference = analyse_grid(grid_records(con, "src", "offences"), {})
    _assert_same_result(grid_result(con, "src", "offences", {}, Settings()), reference)


def test_many_small_fixtures_bin_alike():
    for seed in range(4):
        rng = np.random.default_rng(100 + seed)
        frame = _base(rng, 800 + 300 * seed)
        frame["longitude"] = frame["longitude"] + 0.003 * seed  # other grids
        con = _warehouse(_rows(frame))
        drop_binned(_assert_same_binning(con))
    assert EDGE_TOLERANCE <= 1e-5


def test_grouped_rows_centred_elsewhere_than_the_records_are_projected_again(monkeypatch):
    """3,000 records at one place, year, category and area are one grouped row: the records' median lies near
    them, the grouped rows' median (what the projection is centred on) does not, so the rows are projected again."""
    rng = np.random.default_rng(5)
    frame = _base(rng, 2000)
    pile = pd.DataFrame({"longitude": CENTRE[0] - 0.2, "latitude": CENTRE[1] - 0.15, "year": 2020}, index=range(3000))
    pile["iccs_code"], pile["area"] = "0101", "A07"
    con = _warehouse(_rows(pd.concat([frame, pile], ignore_index=True)))
    calls = []
    original = binning.laea_sql
    monkeypatch.setattr(binning, "laea_sql", lambda *a: calls.append(a[:2]) or original(*a))
    drop_binned(_assert_same_binning(con))
    assert len(calls) == 2 and calls[0] != calls[1]
