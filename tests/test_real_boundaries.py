"""The boundary files shipped with real sources give every area of the real records a shape.

For each shipped source with ``boundaries:``, its configuration is loaded, the shapes are read the way the
``boundaries`` asset reads them (``read_boundaries``), and the distinct areas of the real records (read with DuckDB)
are matched to them, trimmed and case-insensitively, as the reports match them. The shapes must be valid polygons in
longitude/latitude inside the country. Skipped where ../shared/data is absent.
"""

from __future__ import annotations

import bz2
import shutil
from pathlib import Path

import duckdb
import pytest
import shapely

from schemas.source_config import load_config
from warehouse.boundaries import read_boundaries

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SOURCES = ROOT / "pipelines" / "sources"

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(
        not SHARED_DATA.is_dir(),
        reason=f"{SHARED_DATA} is absent (the real records are provided beside the repository, not in it)",
    ),
]

# configuration -> (source, (min lon, min lat, max lon, max lat) of the country, areas of the records with no place)
CASES = {
    "mexico_sesnsp": ("mexico_sesnsp_victims", (-118.5, 14.4, -86.6, 32.8), set()),
    "uk_home_office_prc": (
        "uk_home_office_prc",
        (-6.5, 49.8, 1.8, 55.9),  # England and Wales
        # national bodies, not territorial forces: no area to draw
        {"action fraud", "british transport police", "cifas", "financial fraud action uk", "uk finance"},
    ),
}


def _records_areas(file: Path, column: str, tmp_path: Path) -> set[str]:
    """The distinct areas of the records, trimmed and lower-cased (a .bz2 file is decompressed first, as staging
    does: DuckDB does not read bzip2)."""
    if file.suffix == ".bz2":
        plain = tmp_path / file.stem
        with bz2.open(file, "rb") as source, plain.open("wb") as sink:
            shutil.copyfileobj(source, sink, 1 << 20)
        file = plain
    rows = duckdb.sql(
        f"SELECT DISTINCT lower(trim(\"{column}\")) FROM read_csv('{file}', all_varchar = true, header = true)"
    ).fetchall()
    return {r[0] for r in rows if r[0]}


@pytest.mark.parametrize("config", sorted(CASES))
def test_every_area_of_the_real_records_has_a_shape(config: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ICCS_SHARED_DATA", str(SHARED_DATA))
    name, (min_lon, min_lat, max_lon, max_lat), placeless = CASES[config]
    source = load_config(SOURCES / config / "sources.yaml").sources[name]
    assert source.boundaries is not None and source.boundaries.file.parent == SOURCES / config
    assert source.boundaries.file.suffix == ".geojson" and source.boundaries.file.stat().st_size <= 310_000

    frame, loaded = read_boundaries(name, source)
    shapes = frame["area"].str.strip().str.lower()
    assert shapes.is_unique and loaded.without_area == 0 and loaded.shapes == len(frame)

    areas = _records_areas(Path(source.files), source.columns["area"], tmp_path)
    assert areas - set(shapes) == placeless, "areas of the records without a shape"
    assert set(shapes) - areas == set(), "shapes no record names (a misspelt area?)"

    geometries = shapely.from_geojson(frame["geometry"].to_numpy())
    assert set(shapely.get_type_id(geometries)) <= {3, 6}  # Polygon, MultiPolygon
    assert shapely.is_valid(geometries).all() and not shapely.is_empty(geometries).any()
    lon0, lat0, lon1, lat1 = shapely.total_bounds(geometries)
    assert min_lon <= lon0 < lon1 <= max_lon and min_lat <= lat0 < lat1 <= max_lat
    # the label point is inside its shape
    points = shapely.points(frame["lon"].to_numpy(), frame["lat"].to_numpy())
    assert shapely.intersects(geometries, points).all()
    assert (frame["country"] == source.country).all()


def test_the_city_of_london_is_matched_by_the_records_name_and_labelled_by_its_own() -> None:
    source = load_config(SOURCES / "uk_home_office_prc" / "sources.yaml").sources["uk_home_office_prc"]
    frame, _ = read_boundaries("uk_home_office_prc", source)
    labels = dict(zip(frame["area"], frame["label"], strict=True))
    assert labels["London, City of"] == "City of London"
    assert labels["Metropolitan Police"] == "Metropolitan Police"
    assert len(labels) == 43  # the territorial forces of England (39) and Wales (4)
