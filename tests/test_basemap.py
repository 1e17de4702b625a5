"""`--basemap osm`: a projected map redrawn as MapLibre traces in longitude/latitude over OpenStreetMap tiles,
with the neutral grid cells left off; off unless asked for, since the tiles come from the network."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from reports.areas.classes import change_classes
from reports.areas.figures import choropleth
from reports.geo import basemap
from reports.geo.shapes import projected
from reports.stats.hotspot_grid import proj4_at

PROJ4 = proj4_at(-70.0, -32.0)


def _map() -> dict:
    geoms = projected(PROJ4, np.array([shapely.box(-71, -33, -70, -32), shapely.box(-70, -33, -69, -32)]))
    import pandas as pd

    areas = pd.DataFrame({"label": ["West", "East"], "x": [-47000.0, 47000.0], "y": [0.0, 0.0], "v": ["1", "2"]})
    classes = change_classes(np.array([-30.0, 60.0]))
    return choropleth(
        geoms, PROJ4, areas, classes, ["v"], "t", np.array([False, True]), "flag", np.array([1.0, 2.0]), np.array([])
    )


def test_maps_are_plain_unless_a_basemap_is_asked_for():
    figure = _map()
    assert all(t["type"] == "scatter" for t in figure["data"]) and "map" not in figure["layout"]


def test_on_the_osm_basemap_shapes_come_back_to_their_longitude_and_latitude():
    with basemap.using("osm"):
        figure = _map()
    layout = figure["layout"]
    assert layout["map"]["style"] == "open-street-map" and "xaxis" not in layout
    assert layout["map"]["center"]["lon"] == pytest.approx(-70.0, abs=0.05)
    assert 5 < layout["map"]["zoom"] < 9
    fills = [t for t in figure["data"] if t.get("fill") == "toself"]
    assert {t["type"] for t in fills} == {"scattermap"}
    lons = [v for t in fills for v in t["lon"] if v is not None]
    lats = [v for t in fills for v in t["lat"] if v is not None]
    assert min(lons) == pytest.approx(-71, abs=1e-4) and max(lons) == pytest.approx(-69, abs=1e-4)
    assert min(lats) == pytest.approx(-33, abs=1e-4) and max(lats) == pytest.approx(-32, abs=1e-4)
    (names,) = [t for t in figure["data"] if t.get("mode") == "text"]
    assert sorted(names["text"]) == ["East", "West"]
    assert not any(t.get("name") == "meridians and parallels" for t in figure["data"])


def test_the_neutral_cells_of_a_grid_are_left_off_the_tiles():
    heatmap = {
        "type": "heatmap",
        "x": [500.0, 1500.0],
        "y": [500.0, 1500.0],
        "z": [[0.0, 1.0], [np.nan, 1.0]],
        "colorscale": [[0, basemap.NEUTRAL], [0.5, basemap.NEUTRAL], [0.5, "#a50f15"], [1, "#a50f15"]],
        "colorbar": {"ticktext": ["not significant", "hot spot, 99% confidence"]},
    }
    figure = {"data": [heatmap], "layout": {"xaxis": {"range": [0, 2000]}, "yaxis": {"range": [0, 2000]}}}
    converted = basemap.on_basemap(figure, PROJ4, "open-street-map")
    (hot,) = converted["data"]
    assert hot["name"] == "hot spot, 99% confidence" and hot["lon"].count(None) == 2  # two cells


def test_an_unknown_basemap_is_refused():
    with pytest.raises(ValueError, match="unknown basemap 'google'"), basemap.using("google"):
        pass


def test_iccs_report_offers_the_basemaps_the_reports_know():
    from pipelines import cli

    assert tuple(basemap.BASEMAPS) == cli.BASEMAPS


def test_build_reports_puts_the_area_maps_on_the_basemap_only_when_asked(tmp_path):
    import areas_fixture
    from reports_fixture import plotly_figures

    from reports import build_reports

    con = areas_fixture.build(tmp_path)
    plain = build_reports(con, tmp_path / "plain", ["areas"])["areas"].read_text(encoding="utf-8")
    tiled = build_reports(con, tmp_path / "osm", ["areas"], basemap="osm")["areas"].read_text(encoding="utf-8")
    con.close()
    assert all("map" not in layout for _, _, layout in plotly_figures(plain))
    layouts = [layout for _, _, layout in plotly_figures(tiled)]
    assert layouts and all(layout["map"]["style"] == "open-street-map" for layout in layouts)
