"""Hot spot maps show places: longitude/latitude axes, the source's area boundaries, the names of the areas under
the hot spots, legends of the classes drawn; an area-only source with boundaries is drawn as filled shapes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from browser import needs_browser, render
from reports_fixture import build_warehouse, plotly_figures

from reports.hotspots import render_hotspots
from reports.hotspots.figures import BIN_STYLE
from warehouse.boundaries import TABLE

SIDE, STEP = 8, 0.05  # 8 x 8 areas, 0.05 degrees apart, around 10° N 20° E
HOT = (2, 5)  # the area with a planted cluster
COLUMNS = "source, country, record_id, occurred_on, national_code, iccs_code, area, latitude, longitude, unit, stage"


def _name(r: int, c: int) -> str:
    return f"P{r}{c}"


def _shapes(con, source: str) -> None:
    """Squares around every area's centre, named 'Barrio P25'; the area P77 has none."""
    rows = []
    for r in range(SIDE):
        for c in range(SIDE):
            if (r, c) == (SIDE - 1, SIDE - 1):
                continue
            lat, lon = 10.0 + STEP * r, 20.0 + STEP * c
            h = STEP / 2
            ring = [[lon - h, lat - h], [lon + h, lat - h], [lon + h, lat + h], [lon - h, lat + h], [lon - h, lat - h]]
            geometry = json.dumps({"type": "Polygon", "coordinates": [ring]})
            rows.append((source, "CCC", _name(r, c), f"Barrio {_name(r, c)}", geometry, lon, lat, "b.geojson"))
    con.executemany(f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("places")
    con = build_warehouse(folder / "w.duckdb")
    areas = ", ".join(
        f"('{_name(r, c)}', {10.0 + STEP * r}, {20.0 + STEP * c}, {80 if (r, c) == HOT else 20})"
        for r in range(SIDE)
        for c in range(SIDE)
    )
    con.execute(f"CREATE TEMP TABLE p_areas AS SELECT * FROM (VALUES {areas}) v(area, lat, lon, n)")
    con.execute(f"""
        INSERT INTO offences ({COLUMNS})
        SELECT 'places_points', 'CCC', 'p-' || area || '-' || y || '-' || k, make_date(y, 1 + k % 12, 1 + k % 28),
               'T', '05022', area, lat + ((hash(area || y || k) % 1000) / 1000.0 - 0.5) * 0.04,
               lon + ((hash(k || area || y) % 1000) / 1000.0 - 0.5) * 0.04, 'offences', 'police'
        FROM p_areas, range(2019, 2023) t(y), range(12) r(k)
        UNION ALL
        SELECT 'places_points', 'CCC', 'pc-' || y || '-' || k, make_date(y, 1 + k % 12, 1 + k % 28), 'T', '05022',
               area, lat + ((hash(y || k) % 1000) / 1000.0 - 0.5) * 0.01,
               lon + ((hash(k || y) % 1000) / 1000.0 - 0.5) * 0.01, 'offences', 'police'
        FROM p_areas, range(2019, 2023) t(y), range(200) r(k) WHERE area = '{_name(*HOT)}'
        UNION ALL
        SELECT 'places_areas', 'CCC', 'pa-' || area || '-' || y || '-' || k, make_date(y, 1 + k % 12, 1 + k % 28),
               'T', '05022', lower(area), NULL, NULL, 'offences', 'police'
        FROM p_areas, range(2019, 2023) t(y), range(n) r(k)
    """)
    _shapes(con, "places_points")
    _shapes(con, "places_areas")
    path = render_hotspots(con, folder / "out")
    con.close()
    return path.read_text(encoding="utf-8"), path


def _figure(html: str, div_suffix: str) -> tuple[list, dict]:
    found = [(d, lay) for div, d, lay in plotly_figures(html) if div.endswith(div_suffix) and "places" in div]
    assert found, div_suffix
    return found[0]


def test_grid_maps_draw_boundaries_and_name_the_area_under_the_hot_spot(page):
    html, _ = page
    data, layout = _figure(html, "-gi")
    (outline,) = [t for t in data if t.get("name") == "area boundaries"]
    assert outline["x"].count(None) == SIDE * SIDE - 2  # 63 rings, None between them
    names = [note["text"] for note in layout.get("annotations", [])]
    assert f"Barrio {_name(*HOT)}" in names
    assert layout["xaxis"]["ticktext"][0].endswith("° E") and layout["yaxis"]["ticktext"][0].endswith("° N")
    assert "km" not in json.dumps(layout["xaxis"])


def test_the_legend_lists_only_the_classes_drawn(page):
    html, _ = page
    data, _ = _figure(html, "-gi")
    (heatmap,) = [t for t in data if t["type"] == "heatmap"]
    z = np.array(heatmap["z"], dtype=float)
    drawn = np.unique(z[~np.isnan(z)]).astype(int).tolist()
    assert drawn == list(range(len(heatmap["colorbar"]["ticktext"])))
    assert set(heatmap["colorbar"]["ticktext"]) <= {text for _, text, _ in BIN_STYLE}
    assert len(heatmap["colorbar"]["ticktext"]) < len(BIN_STYLE)  # no cold spots here: none listed


def test_the_places_table_names_areas_by_their_boundary_names(page):
    html, _ = page
    assert f"Barrio {_name(*HOT)} ({_name(*HOT)})" in html


def test_an_area_only_source_with_boundaries_is_drawn_as_filled_shapes(page):
    """Its records name areas in lower case; the shapes match them case-insensitively."""
    html, _ = page
    data, layout = _figure(html, "-areas")
    fills = [t for t in data if t.get("fill") == "toself"]
    assert fills and all(t["name"] in {text for _, text, _ in BIN_STYLE} for t in fills)
    assert "areas coloured" in layout["title"]["text"]
    assert "63 shapes" in html or "a point inside each area" in html


@pytest.mark.browser
@needs_browser
def test_maps_with_places_render_in_a_browser(page):
    _, path = page
    rendered = render(path)
    assert rendered.console_errors == []
    assert rendered.plotly_svgs > 0
