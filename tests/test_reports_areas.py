"""areas.html on a source unlike the demo (tests/areas_fixture.py): an annual table of 16 regions of a southern,
western-hemisphere country, with a boundaries file that spells a name differently, lacks one region and has one
no record names; small counts, a region without population, falling and rising regions."""

from __future__ import annotations

import re
from pathlib import Path

import areas_fixture as fx
import numpy as np
import pytest
from browser import chart_divs, needs_browser, render
from reports_fixture import plotly_figures

from reports.areas import render_areas
from reports.areas.text import FLAG, FLAGGED, POPULATION_FLAG, percent, rounded
from reports.geo.labels import CHAR_WIDTH_PX, LINE_HEIGHT_PX


@pytest.fixture(scope="module")
def mapped(tmp_path_factory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("areas-mapped")
    con = fx.build(folder)
    path = render_areas(con, folder / "out")
    con.close()
    return path.read_text(encoding="utf-8"), path


@pytest.fixture(scope="module")
def unmapped(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("areas-unmapped")
    con = fx.build(folder, boundaries=False)
    text = render_areas(con, folder / "out").read_text(encoding="utf-8")
    con.close()
    return text


def _figures(html: str) -> dict[str, tuple[list, dict]]:
    return {div: (data, layout) for div, data, layout in plotly_figures(html)}


def _figure(html: str, suffix: str) -> tuple[list, dict]:
    (found,) = [v for k, v in _figures(html).items() if k.endswith(suffix)]
    return found


def test_a_source_with_boundaries_gets_three_maps_of_filled_shapes(mapped):
    html, _ = mapped
    for suffix in ("-level", "-change", "-moran"):
        data, layout = _figure(html, suffix)
        fills = [t for t in data if t.get("fill") == "toself"]
        assert fills, suffix
        assert all(t["line"]["color"] == "#ffffff" for t in fills)
        assert "° W" in layout["xaxis"]["ticktext"][0] and "° S" in layout["yaxis"]["ticktext"][0]
        assert layout["yaxis"]["scaleanchor"] == "x"


def test_every_region_of_the_records_is_matched_or_listed(mapped):
    """` ñUBLE ` in the boundaries is the records' `Ñuble`; `Isla Remota` has no shape and is named; the shape
    `Sin Datos` is drawn grey as not in the table."""
    html, _ = mapped
    data, _ = _figure(html, "-level")
    (hover,) = [t for t in data if t.get("name") == "areas"]
    names = [row[0] for row in hover["customdata"]]
    assert "Región Ñuble" in " ".join(names) or "ñUBLE" in " ".join(names)
    assert len(names) == len(fx.NAMES)
    assert any(t.get("name") == "not in the table (no records)" for t in data)
    assert "1 area without a shape (in the table, not on the maps): Isla Remota" in html


def test_classes_are_quantiles_of_the_rates_and_the_legend_lists_only_those_drawn(mapped):
    html, _ = mapped
    data, layout = _figure(html, "-level")
    classes = [t["name"] for t in data if t.get("fill") == "toself" and t["name"][0].isdigit()]
    assert 3 <= len(classes) <= 5
    lows = [float(c.split(" – ")[0].replace(",", "")) for c in classes]
    assert lows == sorted(lows)
    assert "no figure" in [t["name"] for t in data]  # Sin Padrón: a count, no population, no rate
    assert "quantile classes" in html


def test_small_counts_and_small_populations_are_outlined_and_flagged(mapped):
    html, _ = mapped
    data, _ = _figure(html, "-level")
    (dotted,) = [t for t in data if t.get("name") == FLAGGED]
    assert dotted["line"]["dash"] == "dot"
    assert dotted["x"].count(None) == 1  # two rings: Pequeña's (few records) and Cabo's (3,000 residents)
    row = re.search(r"<td>Región Pequeña</td>.*?</tr>", html, re.S).group(0)
    assert FLAG in row
    row = re.search(rf"<td>Región {fx.TINY_POPULATION}</td>.*?</tr>", html, re.S).group(0)
    assert POPULATION_FLAG.replace(",", "&#x27;") in row or POPULATION_FLAG in row
    assert "left out of the highest and lowest" in html
    assert (
        "lowest Región Pequeña" not in html
        and f"highest among the reliable rates is Región {fx.TINY_POPULATION}" not in html
    )


def test_labels_do_not_collide_and_name_regions(mapped):
    html, _ = mapped
    _, layout = _figure(html, "-level")
    notes = layout["annotations"]
    assert notes and all(n["text"].startswith("Región") for n in notes)
    x_span = layout["xaxis"]["range"][1] - layout["xaxis"]["range"][0]
    y_span = layout["yaxis"]["range"][1] - layout["yaxis"]["range"][0]
    per_px = max(x_span / 800, y_span / 540)
    for i, a in enumerate(notes):
        for b in notes[i + 1 :]:
            wide = (len(a["text"]) + len(b["text"])) * CHAR_WIDTH_PX / 2 * per_px
            assert abs(a["x"] - b["x"]) >= wide or abs(a["y"] - b["y"]) >= LINE_HEIGHT_PX * per_px


def test_a_fall_shows_its_minus_sign_and_figures_are_rounded(mapped):
    html, _ = mapped
    fall = percent(-40.0)
    assert fall == "−40 %"
    rows = [re.search(rf"<td>Región {name}</td>.*?</tr>", html, re.S).group(0) for name in fx.FALLING]
    assert all(fall in row for row in rows)
    assert rounded(4761.513) == "4,762" and rounded(35.24) == "35.2" and rounded(0.534) == "0.53"
    assert not re.search(r"\d,\d{3}\.\d{2} offences per 100,000", html)


def test_local_moran_finds_the_corner_and_nothing_else(mapped):
    html, _ = mapped
    clusters = dict(re.findall(r"<td>Región ([^<]+?)</td>(?:<td[^>]*>[^<]*</td>){6}<td[^>]*>([^<]*)</td>", html))
    high = {name for name, cluster in clusters.items() if cluster == "high among high"}
    assert high and high <= set(fx.HIGH)
    assert "Isla Remota" in html and "no shape (not tested)" in html


def test_without_boundaries_areas_get_ranked_dot_plots_with_intervals(unmapped):
    figures = _figures(unmapped)
    assert figures and not any(t.get("fill") for data, _ in figures.values() for t in data)
    data, layout = _figure(unmapped, "-level")
    (solid,) = [t for t in data if t["name"] == "areas"]
    (hollow,) = [t for t in data if t["name"] == FLAG]
    assert hollow["marker"]["color"] == "#ffffff" and hollow["y"] == ["Pequeña"]
    assert len(solid["error_x"]["array"]) == len(solid["x"]) and min(solid["error_x"]["arrayminus"]) >= 0
    assert layout["xaxis"]["rangemode"] == "tozero"
    assert solid["x"] == sorted(solid["x"], reverse=True)
    assert "names no boundaries file" in unmapped


def test_a_dot_plot_of_many_areas_shows_the_highest_and_the_lowest(tmp_path: Path):
    import pandas as pd

    from reports.areas.figures import DOTS_BOTTOM, DOTS_TOP, dot_plot

    areas = pd.DataFrame({"label": [f"A{i}" for i in range(500)], "v": np.arange(500.0), "small": False, "hover": "x"})
    fig = dot_plot(areas, "v", "rate", "t", FLAG)
    (trace,) = fig["data"]
    assert len(trace["x"]) == DOTS_TOP + DOTS_BOTTOM
    assert trace["x"][0] == 499 and trace["x"][-1] == 0


@pytest.mark.browser
@needs_browser
def test_the_areas_page_renders_every_map_in_a_browser(mapped):
    html, path = mapped
    rendered = render(path)
    assert rendered.console_errors == []
    assert rendered.plotly_svgs >= chart_divs(html) == 3


def test_the_maps_about_says_which_national_codes_are_partial_or_outside_iccs(tmp_path: Path):
    con = fx.build(tmp_path)
    con.execute(
        f"""INSERT INTO correspondence (source, national_code, national_label, iccs_code, note, correspondence)
        VALUES ('{fx.SOURCE}', 'F1', 'Faltas', NULL, 'misdemeanours, not crimes', 'excluded'),
               ('{fx.SOURCE}', 'T', 'Total', '0502', 'includes attempted theft', 'partial')"""
    )
    html = render_areas(con, tmp_path / "out").read_text(encoding="utf-8")
    con.close()
    about = html[html.index("About these data") :]
    assert "F1 Faltas: misdemeanours, not crimes" in about
    assert "T Total → ICCS 0502: includes attempted theft" in about


def test_an_undeclared_national_total_row_is_not_drawn_as_an_area(tmp_path: Path):
    """A table that lists the country among its regions (not declared with total_area) is detected as a total:
    the country is not an area of its own maps, table or classes."""
    con = fx.build(tmp_path)
    con.execute(
        """INSERT INTO offence_counts (source, country, area, iccs_code, national_code, year, month, unit, stage, count)
        SELECT source, country, 'Total Nacional', iccs_code, national_code, year, month, unit, stage, sum(count)
        FROM offence_counts GROUP BY ALL"""
    )
    html = render_areas(con, tmp_path / "out").read_text(encoding="utf-8")
    con.close()
    assert "Total Nacional" not in html
    assert "16 rows." in html
