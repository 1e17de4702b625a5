"""`boundaries:` of a source: the configuration's forms and errors, reading GeoJSON and zipped shapefiles in any
CRS, merging repeated areas, and area_boundaries kept equal to what the configuration names."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from schemas.boundaries_config import BoundariesError
from schemas.source_config import ConfigError, load_config
from warehouse.boundaries import load_boundaries, read_boundaries
from warehouse.connection import connect
from warehouse.ddl import ensure_schema


def _square(x0: float, y0: float, side: float) -> list:
    return [[[x0, y0], [x0 + side, y0], [x0 + side, y0 + side], [x0, y0 + side], [x0, y0]]]


def _geojson(path: Path, features: list[tuple[dict, list]]) -> Path:
    doc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": p, "geometry": {"type": "Polygon", "coordinates": c}} for p, c in features
        ],
    }
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _config(folder: Path, boundaries: str, *, country: str = "country: KEN", area: str = "area: ward") -> Path:
    (folder / "map.csv").write_text("national_code,national_label,iccs_code\nT,Theft,0502\n", encoding="utf-8")
    (folder / "data.csv").write_text("ward,date,code\n", encoding="utf-8")
    text = f"""
sources:
  wards:
    {country}
    level: incident
    unit: offences
    files: data.csv
    columns: {{{area}, date: date, offence: code{", country: iso" if "country" not in country else ""}}}
    date_format: '%Y-%m-%d'
    correspondence: map.csv
    {boundaries}
"""
    path = folder / "sources.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_short_form_matches_the_property_named_like_the_area_column(tmp_path: Path):
    _geojson(tmp_path / "wards.geojson", [({"ward": "Kibera"}, _square(36.78, -1.32, 0.02))])
    source = load_config(_config(tmp_path, "boundaries: wards.geojson")).sources["wards"]
    assert source.boundaries.area == "ward" and source.boundaries.label is None
    frame, result = read_boundaries("wards", source)
    assert frame[["source", "country", "area", "label"]].values.tolist() == [["wards", "KEN", "Kibera", "Kibera"]]
    assert result.shapes == 1 and result.features == 1
    # the label point lies inside the shape, in longitude/latitude
    shape = shapely.from_geojson(frame["geometry"].iloc[0])
    assert shape.contains(shapely.Point(frame["lon"].iloc[0], frame["lat"].iloc[0]))


@pytest.mark.parametrize(
    ("boundaries", "message"),
    [
        ("boundaries: missing.geojson", "field 'boundaries.file': file not found"),
        ("boundaries: {file: wards.geojson, shape: x}", "unknown key(s) ['shape']"),
        ("boundaries: {area: ward}", "field 'boundaries.file' is required"),
        ("boundaries: [wards.geojson]", "a file name, or a mapping"),
        ("boundaries: {file: wards.geojson, label: 3}", "field 'boundaries.label': a property name"),
    ],
)
def test_a_boundaries_entry_that_cannot_be_used_is_one_line_naming_the_field(tmp_path: Path, boundaries, message):
    _geojson(tmp_path / "wards.geojson", [({"ward": "Kibera"}, _square(36.78, -1.32, 0.02))])
    with pytest.raises(ConfigError) as error:
        load_config(_config(tmp_path, boundaries))
    text = str(error.value)
    assert message in text and "source 'wards'" in text and "\n" not in text


def test_boundaries_need_the_records_areas(tmp_path: Path):
    _geojson(tmp_path / "wards.geojson", [({"ward": "Kibera"}, _square(36.78, -1.32, 0.02))])
    with pytest.raises(ConfigError, match="needs columns.area"):
        load_config(_config(tmp_path, "boundaries: wards.geojson", area="latitude: lat, longitude: lon"))


def test_a_property_the_file_lacks_is_named_with_those_it_has(tmp_path: Path):
    _geojson(tmp_path / "wards.geojson", [({"WARD_NAME": "Kibera", "CODE": "K1"}, _square(36.78, -1.32, 0.02))])
    source = load_config(_config(tmp_path, "boundaries: wards.geojson")).sources["wards"]
    with pytest.raises(BoundariesError) as error:
        read_boundaries("wards", source)
    assert "no feature property 'ward'" in str(error.value) and "WARD_NAME, CODE" in str(error.value)


def test_a_file_that_is_not_geodata_is_one_line(tmp_path: Path):
    (tmp_path / "wards.geojson").write_text("ward,x\nKibera,1\n", encoding="utf-8")
    source = load_config(_config(tmp_path, "boundaries: wards.geojson")).sources["wards"]
    with pytest.raises(BoundariesError, match="cannot be read") as error:
        read_boundaries("wards", source)
    assert "\n" not in str(error.value) and "wards.geojson" in str(error.value)


def test_a_multi_country_source_needs_the_country_property(tmp_path: Path):
    _geojson(tmp_path / "wards.geojson", [({"ward": "Kibera", "iso": "ken"}, _square(36.78, -1.32, 0.02))])
    config = _config(tmp_path, "boundaries: wards.geojson", country="")
    with pytest.raises(BoundariesError, match="boundaries.country"):
        read_boundaries("wards", load_config(config).sources["wards"])
    config = _config(tmp_path, "boundaries: {file: wards.geojson, area: ward, country: iso}", country="")
    frame, _ = read_boundaries("wards", load_config(config).sources["wards"])
    assert frame["country"].tolist() == ["KEN"]  # upper-cased like the records' ISO3 codes


def test_a_zipped_shapefile_in_british_national_grid_lands_in_longitude_latitude(tmp_path: Path):
    """A projected CRS (EPSG:27700, metres) is converted; repeated areas become one shape; a feature without an
    area is left out and counted."""
    squares = [shapely.box(x, 430_000, x + 2_000, 432_000) for x in (428_000, 430_000, 432_000, 434_000)]
    frame = gpd.GeoDataFrame(
        {"LSOA11NM": ["Leeds 001A", "Leeds 001A", "Leeds 002B", None], "NAME": ["A", "A", "B", "C"]},
        geometry=squares,
        crs="EPSG:27700",
    )
    frame.to_file(tmp_path / "lsoa.shp")
    with zipfile.ZipFile(tmp_path / "lsoa.zip", "w") as archive:
        for part in tmp_path.glob("lsoa.*"):
            if part.suffix != ".zip":
                archive.write(part, part.name)
    config = _config(tmp_path, "boundaries: {file: lsoa.zip, area: LSOA11NM, label: NAME}", area="area: lsoa")
    rows, result = read_boundaries("wards", load_config(config).sources["wards"])
    assert rows["area"].tolist() == ["Leeds 001A", "Leeds 002B"]
    assert result.features == 4 and result.without_area == 1 and result.shapes == 2
    merged = shapely.from_geojson(rows["geometry"].iloc[0])
    assert merged.geom_type == "Polygon"  # two touching squares merged into one 4 x 2 km area
    lon_min, lat_min, lon_max, lat_max = merged.bounds
    assert -1.7 < lon_min < lon_max < -1.3 and 53.7 < lat_min < lat_max < 53.9  # Leeds, not metres
    assert merged.contains(shapely.Point(rows["lon"].iloc[0], rows["lat"].iloc[0]))


def test_projected_coordinates_without_a_crs_are_refused(tmp_path: Path):
    _geojson(tmp_path / "wards.geojson", [({"ward": "Kibera"}, _square(250_000.0, 9_850_000.0, 2_000.0))])
    source = load_config(_config(tmp_path, "boundaries: wards.geojson")).sources["wards"]
    with pytest.raises(BoundariesError, match="not longitude/latitude"):
        read_boundaries("wards", source)


def test_detailed_shapes_are_simplified_but_keep_their_form(tmp_path: Path):
    """A circle of 5,000 vertices (a coastline's detail) comes out with far fewer, within the map's tolerance."""
    angle = np.linspace(0, 2 * np.pi, 5000, endpoint=False)
    ring = np.column_stack([36.8 + 0.05 * np.cos(angle), -1.3 + 0.05 * np.sin(angle)])
    ring = [[*map(float, p)] for p in ring] + [[float(ring[0][0]), float(ring[0][1])]]
    _geojson(tmp_path / "wards.geojson", [({"ward": "Round"}, [ring]), ({"ward": "Far"}, _square(37.5, -1.0, 0.1))])
    source = load_config(_config(tmp_path, "boundaries: wards.geojson")).sources["wards"]
    rows, _ = read_boundaries("wards", source)
    simplified = shapely.from_geojson(rows.set_index("area").loc["Round", "geometry"])
    original = shapely.Polygon(ring)
    assert shapely.get_num_coordinates(simplified) < 1000
    assert abs(simplified.area - original.area) / original.area < 0.01


def test_area_boundaries_follow_the_configuration(tmp_path: Path):
    """Loading twice writes nothing new; a source whose boundaries are removed loses its shapes."""
    _geojson(
        tmp_path / "wards.geojson", [({"ward": w}, _square(36.7 + i / 10, -1.3, 0.05)) for i, w in enumerate("ABC")]
    )
    con = connect(tmp_path / "w.duckdb")
    ensure_schema(con)
    with_shapes = load_config(_config(tmp_path, "boundaries: wards.geojson"))
    load_boundaries(con, with_shapes.sources)
    first = con.execute("SELECT * FROM area_boundaries ORDER BY area").fetchall()
    assert [r[2] for r in first] == ["A", "B", "C"]
    load_boundaries(con, with_shapes.sources)
    assert con.execute("SELECT * FROM area_boundaries ORDER BY area").fetchall() == first
    load_boundaries(con, load_config(_config(tmp_path, "")).sources)
    assert con.execute("SELECT count(*) FROM area_boundaries").fetchone()[0] == 0
    con.close()
