"""Drawing places: degree axes, labels that never overlap, shape rings as plotly lines, areas under points."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from reports.geo.axes import degree_axes, degree_text, nice_step
from reports.geo.labels import CHAR_WIDTH_PX, LINE_HEIGHT_PX, free_labels, label_annotations
from reports.geo.shapes import areas_under, ring_coordinates
from reports.stats.hotspot_grid import proj4_at, project


@pytest.mark.parametrize(("span", "step"), [(4.0, 1.0), (0.3, 0.05), (0.09, 0.02), (25.0, 5.0), (0.012, 0.002)])
def test_meridians_come_at_round_steps(span, step):
    assert nice_step(span) == pytest.approx(step)


@pytest.mark.parametrize(
    ("value", "positive", "negative", "step", "text"),
    [(-1.55, "E", "W", 0.05, "1.55° W"), (53.8, "N", "S", 0.1, "53.8° N"), (-33.0, "N", "S", 1.0, "33° S"),
     (0.0, "E", "W", 0.5, "0.0° E"), (151.25, "E", "W", 0.25, "151.25° E")],
)  # fmt: skip
def test_degrees_are_written_with_their_hemisphere_and_the_decimals_the_step_needs(
    value, positive, negative, step, text
):
    assert degree_text(value, positive, negative, step) == text


def test_axis_ticks_sit_where_their_meridians_and_parallels_are_projected():
    """South-west hemisphere, so the signs cannot hide: each x tick is its longitude projected on the central
    latitude, each y tick its latitude on the central meridian."""
    lon = np.array([-72.0, -68.0])
    lat = np.array([-34.0, -30.0])
    proj4 = proj4_at(-70.0, -32.0)
    xaxis, yaxis, graticule = degree_axes(proj4, lon, lat)
    assert xaxis["ticktext"][:2] == ["72° W", "71° W"] and yaxis["ticktext"][0] == "34° S"
    x, _ = project(proj4, np.array([-71.0]), np.array([-32.0]))
    assert xaxis["tickvals"][1] == pytest.approx(float(x[0]), abs=0.1)
    _, y = project(proj4, np.array([-70.0]), np.array([-33.0]))
    assert yaxis["tickvals"][1] == pytest.approx(float(y[0]), abs=0.1)
    assert yaxis["scaleanchor"] == "x" and not xaxis["showgrid"]
    assert None in graticule["x"] and graticule["hoverinfo"] == "skip"


def test_labels_never_overlap_and_the_most_important_win():
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 1000, 300), rng.uniform(0, 600, 300)
    text = [f"Area number {i}" for i in range(300)]
    extent, size = (0.0, 1000.0, 0.0, 600.0), (1000, 600)  # one unit per pixel
    shown = free_labels(x, y, text, extent, size, limit=40)
    assert shown[0] == 0 or not (60 < x[0] < 940 and 10 < y[0] < 590)  # the first fits unless it touches the frame
    assert len(shown) <= 40 and len(set(shown.tolist())) == len(shown)
    half_w = np.array([len(text[i]) * CHAR_WIDTH_PX / 2 for i in shown])
    half_h = LINE_HEIGHT_PX / 2
    for a in range(len(shown)):
        for b in range(a + 1, len(shown)):
            i, j = shown[a], shown[b]
            overlap_x = abs(x[i] - x[j]) < half_w[a] + half_w[b]
            overlap_y = abs(y[i] - y[j]) < 2 * half_h
            assert not (overlap_x and overlap_y), (text[i], text[j])


def test_a_label_that_would_be_cut_by_the_frame_is_left_out():
    shown = free_labels(
        np.array([2.0, 500.0]), np.array([300.0, 300.0]), ["Edge", "Centre"], (0, 1000, 0, 600), (1000, 600)
    )
    assert shown.tolist() == [1]


def test_annotation_text_from_a_boundaries_file_stays_text():
    (note,) = label_annotations(np.array([1.0]), np.array([2.0]), ['<img src=x onerror="alert(1)">'])
    assert note["text"].startswith("&lt;img") and note["showarrow"] is False


def test_rings_are_projected_and_separated():
    proj4 = proj4_at(18.4, -33.9)
    outer = shapely.box(18.3, -34.0, 18.5, -33.8)
    holed = shapely.Polygon(outer.exterior.coords, [shapely.box(18.35, -33.95, 18.4, -33.9).exterior.coords])
    multi = shapely.MultiPolygon([shapely.box(18.6, -34.0, 18.7, -33.9), shapely.box(18.8, -34.0, 18.9, -33.9)])
    x, y = ring_coordinates(proj4, np.array([holed, multi]))
    assert np.isnan(x).sum() == 3  # four rings: the outer, its hole and two parts
    assert np.nanmax(np.abs(x)) < 60_000 and np.nanmax(np.abs(y)) < 30_000  # metres from the centre, not degrees


def test_areas_under_points_sums_their_weights_heaviest_first():
    shapes = pd.DataFrame(
        {
            "area": ["A", "B", "C"],
            "label": ["Alpha", "Beta", "Gamma"],
            "geometry": [shapely.to_geojson(shapely.box(i, 0, i + 1, 1)) for i in range(3)],
            "lon": [0.5, 1.5, 2.5],
            "lat": [0.5, 0.5, 0.5],
        }
    )
    lon = np.array([0.2, 0.4, 1.5, 5.0])
    lat = np.array([0.5, 0.5, 0.5, 0.5])
    found = areas_under(shapes, lon, lat, np.array([1.0, 1.0, 5.0, 100.0]))
    assert found["area"].tolist() == ["B", "A"]  # the point at 5.0 lies on no shape
    assert found["weight"].tolist() == [5.0, 2.0] and found["points"].tolist() == [1, 2]
