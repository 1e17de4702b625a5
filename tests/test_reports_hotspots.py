"""hotspots.html on the synthetic report warehouse plus sources built for hot spots: a geocoded source with a
planted cluster, an area-only source, an area-only source that cannot be placed, one with neither, and two with
coordinates but too few of them for a grid (one naming areas nobody geocoded, one naming no area)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser import chart_divs, needs_browser, render
from reports_fixture import XSS_AREA, build_warehouse

from reports.hotspots import render_hotspots

XSS_HOT = '<img src=x onerror="alert(2)">'
XSS_HOT_ESCAPED = "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;"
SIDE = 8  # gamma: 8 x 8 areas, 0.05 degrees apart (about 5 km)
HIGH = {(r, c) for r in range(3) for c in range(3)}  # a 3 x 3 block of areas with four times the records


def _area_name(r: int, c: int) -> str:
    return XSS_HOT if (r, c) == (1, 1) else f"G{r}{c}"


def _add_sources(con) -> None:
    areas = [
        (_area_name(r, c), 10.0 + 0.05 * r, 20.0 + 0.05 * c, 80 if (r, c) in HIGH else 20)
        for r in range(SIDE)
        for c in range(SIDE)
    ]
    values = ", ".join(f"('{a.replace(chr(39), chr(39) * 2)}', {lat}, {lon}, {n})" for a, lat, lon, n in areas)
    con.execute(f"CREATE TEMP TABLE gamma_areas AS SELECT * FROM (VALUES {values}) v(area, lat, lon, n)")
    columns = (
        "source, country, record_id, occurred_on, national_code, iccs_code, area, latitude, longitude, unit, stage"
    )
    # gamma_points: 10 geocoded records per area and year, plus 150 a year in a tight cluster in the XSS area
    con.execute(f"""
        INSERT INTO offences ({columns})
        SELECT 'gamma_points', 'CCC', 'gp-' || area || '-' || y || '-' || k, make_date(y, 1 + k % 12, 1 + k % 28),
               'T', '05022', area,
               lat + ((hash(area || y || k) % 1000) / 1000.0 - 0.5) * 0.03,
               lon + ((hash(k || area || y) % 1000) / 1000.0 - 0.5) * 0.03, 'offences', 'police'
        FROM gamma_areas, range(2019, 2023) t(y), range(10) r(k)
        UNION ALL
        SELECT 'gamma_points', 'CCC', 'gc-' || y || '-' || k, make_date(y, 1 + k % 12, 1 + k % 28), 'A', '02011',
               area, lat + ((hash(y || k) % 1000) / 1000.0 - 0.5) * 0.008,
               lon + ((hash(k || y) % 1000) / 1000.0 - 0.5) * 0.008, 'offences', 'police'
        FROM gamma_areas, range(2019, 2023) t(y), range(150) r(k) WHERE area = '{XSS_HOT.replace("'", "''")}'
    """)
    # gamma_areas: areas only, no coordinates; the 3 x 3 block has four times the records
    con.execute(f"""
        INSERT INTO offences ({columns})
        SELECT 'gamma_areas', 'CCC', 'ga-' || area || '-' || y || '-' || k, make_date(y, 1 + k % 12, 1 + k % 28),
               'T', '05022', area, NULL, NULL, 'offences', 'police'
        FROM gamma_areas, range(2019, 2023) t(y), range(n) r(k)
        UNION ALL  -- and 5 records with coordinates: too few for a grid, so it is still analysed by area
        SELECT 'gamma_areas', 'CCC', 'gx-' || k, DATE '2020-06-01', 'T', '05022', 'G00', 10.0, 20.0, 'offences',
               'police'
        FROM range(5) r(k)
    """)
    # delta_areas: areas nobody geocoded; epsilon_none: neither coordinates nor areas
    con.execute(f"""
        INSERT INTO offences ({columns})
        SELECT 'delta_areas', 'DDD', 'd-' || a || '-' || k, DATE '2020-01-01', 'T', '05022', 'D' || a, NULL, NULL,
               'offences', 'police'
        FROM range(12) s(a), range(5) r(k)
        UNION ALL
        SELECT 'epsilon_none', 'EEE', 'e-' || k, DATE '2020-01-01', 'T', '05022', NULL, NULL, NULL, 'offences',
               'police'
        FROM range(30) r(k)
    """)
    # eta_few: 25 geocoded records without an area, and 48 records naming 24 areas that nobody geocoded;
    # theta_few: 30 geocoded records and no area at all
    con.execute(f"""
        INSERT INTO offences ({columns})
        SELECT 'eta_few', 'HHH', 'h-' || k, DATE '2021-03-01', 'T', '05022', NULL, 12.0 + k / 1000.0, 30.0,
               'offences', 'police'
        FROM range(25) r(k)
        UNION ALL
        SELECT 'eta_few', 'HHH', 'ha-' || k, DATE '2021-03-01', 'T', '05022', 'E' || (k % 24), NULL, NULL,
               'offences', 'police'
        FROM range(48) r(k)
        UNION ALL
        SELECT 'theta_few', 'TTT', 't-' || k, DATE '2021-03-01', 'T', '05022', NULL, 14.0, 31.0 + k / 1000.0,
               'offences', 'police'
        FROM range(30) r(k)
    """)
    # zeta_points: 60 records at one spot in one year: a one-cell map, nothing to compare, no years to follow
    con.execute(f"""
        INSERT INTO offences ({columns})
        SELECT 'zeta_points', 'ZZZ', 'z-' || k, DATE '2021-05-01', 'T', '05022', NULL, -33.9, 18.4, 'offences',
               'police'
        FROM range(60) r(k)
    """)
    con.execute("DROP TABLE gamma_areas")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hotspots")
    con = build_warehouse(folder / "w.duckdb")
    _add_sources(con)
    yield con
    con.close()


@pytest.fixture(scope="module")
def page(warehouse, tmp_path_factory) -> Path:
    return render_hotspots(warehouse, tmp_path_factory.mktemp("out"))


# the section of a source with a description is headed by its name, the others by their key
ALPHA = "Alpha national police, recorded offences (synthetic) (offences)"


def _section(html: str, title: str) -> str:
    start = html.index(f"<h2>Hot spots: {title}</h2>")
    end = html.find('<section class="report"', start)
    return html[start : end if end > 0 else len(html)]


def test_page_has_a_section_per_dataset_with_maps_tables_and_metadata(page: Path):
    assert page.name == "hotspots.html" and page.exists()
    assert (page.parent / "plotly.min.js").exists()
    html = page.read_text()
    assert "cdn.plot.ly" not in html and "https://" not in html.split("<main>")[1].split("</main>")[0]
    for title in (ALPHA, "gamma_points (offences)", "gamma_areas (offences)"):
        section = _section(html, title)
        for key in ("Method", "Permutations", "False discovery rate", "Period", "Unit", "Emerging patterns"):
            assert f"<dt>{key}</dt>" in section, (title, key)
    alpha = _section(html, ALPHA)
    assert "<dt>Cell size</dt><dd>1 km</dd>" in alpha
    assert "Benjamini-Hochberg" in alpha and "queen" in alpha
    assert re.search(
        r"\d+ of the \d+ cells of the study area \(1 km cells\) are hot spots at a false discovery "
        r"rate of 10%",
        alpha,
    )
    assert "Year by year (2016–2023)" in alpha
    # a table of hot spot groups with counts and the ICCS level-2 mix, labelled from iccs_categories
    assert "hot spot groups</caption>" in alpha and "Theft (0502)" in alpha
    # the groups report their mix of patterns, not the pattern of most cells
    assert "<th>Patterns over the years (cells)</th>" in alpha and "most cells" not in alpha
    # Gi* on counts follows people, said on the page and in the summary of each grid section
    assert "Gi* on counts finds where most offences are recorded, which mostly follows where people live" in alpha
    # alpha: Gi*, Target 16.4 mix (it records drug trafficking, corruption, money laundering) and patterns;
    # gamma_points: Gi* + patterns (no Target 16.4 record); gamma_areas: Gi* by area; zeta_points: Gi* only
    assert chart_divs(html) == 7
    assert "Where Target 16.4 offences make up more of the records" in alpha
    assert "<dt>Target 16.4 share</dt><dd>Random labelling" in alpha
    gamma = _section(html, "gamma_points (offences)")
    assert "Target 16.4 share</dt><dd>not computed: 0 Target 16.4 records, at least 10 needed" in gamma


def test_planted_cluster_is_found_and_named_after_its_area_escaped(page: Path):
    html = page.read_text()
    points = _section(html, "gamma_points (offences)")
    assert f"HS1 near {XSS_HOT_ESCAPED}" in points
    assert "Assaults and threats (0201)" in points  # the cluster's offences lead its ICCS mix
    areas = _section(html, "gamma_areas (offences)")
    assert re.search(r"\d+ of 64 areas are hot spots", areas)
    why = "5 geocoded records: too few for a 1 km grid analysis (at least 50 are needed)"
    assert f'<p class="summary">{why}, so the records are analysed by area.' in areas
    assert f"<dt>Why by area</dt><dd>{why}, so the records are analysed by the area they name</dd>" in areas
    assert XSS_HOT_ESCAPED in areas.split("</p>")[0]  # named in the summary as one of the hot areas


def test_every_label_from_data_is_escaped(page: Path):
    html = page.read_text()
    assert XSS_HOT not in html
    assert "<script>alert(1)" not in html and 'onerror="alert' not in html
    assert XSS_HOT_ESCAPED in html
    # inside chart JSON the tag is escaped too (plotly renders &lt; as "<" text, never as a tag)
    assert "<img" not in html and '"text":["&lt;img src=x onerror=' in html


def test_sources_that_cannot_be_mapped_say_why(page: Path):
    html = page.read_text()
    delta = _section(html, "delta_areas (offences)")
    assert "Not analysed. On a grid: no record has usable coordinates. By area: 0 of 12 areas have a position" in delta
    # coordinates, but too few: the grid's reason with the numbers, then the areas'
    eta = _section(html, "eta_few (offences)")
    assert (
        "Not analysed. On a grid: 25 geocoded records: too few for a 1 km grid analysis (at least 50 are needed). "
        "By area: 0 of 24 areas have a position" in eta
    )
    assert "Not mapped" in html
    assert "epsilon_none (offences): no record has usable coordinates, and no record names an area" in html
    assert (
        "theta_few (offences): 30 geocoded records: too few for a 1 km grid analysis (at least 50 are needed), and "
        "no record names an area" in html
    )


def test_a_one_cell_one_year_source_is_reported_not_analysed_into_noise(page: Path):
    zeta = _section(page.read_text(), "zeta_points (offences)")
    assert "No 1 km cell is a hot spot" in zeta
    assert "not computed: 1 year(s) with records, at least 3 needed" in zeta
    assert "<dt>Grid</dt><dd>1 × 1 = 1 cells" in zeta


def test_same_data_same_page(warehouse, page: Path, tmp_path: Path):
    again = render_hotspots(warehouse, tmp_path)

    def stable(text: str) -> str:
        text = re.sub(r"Generated [^<]*", "", text)
        return re.sub(r"<dt>Computed in</dt><dd>[^<]*</dd>", "", text)

    assert stable(again.read_text()) == stable(page.read_text())


def test_a_warehouse_without_records_gives_a_page_that_says_so(tmp_path: Path):
    import duckdb

    from warehouse.ddl import ensure_schema
    from warehouse.reference import load_classification

    con = duckdb.connect()
    ensure_schema(con)
    load_classification(con)
    html = render_hotspots(con, tmp_path).read_text()
    assert "No incident-level records with coordinates or areas" in html


def test_the_fixture_xss_area_stays_text_in_the_alpha_tables(page: Path):
    html = page.read_text()
    assert XSS_AREA not in html
    alpha = _section(html, ALPHA)
    # alpha's four districts are equal squares on a diagonal; over the study area (the squares and the ring
    # around them, not the empty corners of their rectangle) North (40 % of records) and South (30 %) are the
    # concentrations, and the <script> district (20 %, below the average 25 %) is not a hot spot at all
    gi_block = alpha.split("Where Target 16.4 offences")[0]
    assert "HS1 near North" in gi_block and "HS2 (near South)" in gi_block
    assert "&lt;script&gt;" not in gi_block
    # its mix differs (rounding its small counts gave it more drug trafficking): the mix view names it, escaped
    mix_block = alpha.split("Where Target 16.4 offences")[1].split("How the hot spots changed")[0]
    assert "near &lt;script&gt;alert(1)&lt;/script&gt; (" in mix_block


def test_pattern_table_counts_the_study_area_like_the_summary(page: Path):
    for title in (ALPHA, "gamma_points (offences)"):
        section = _section(page.read_text(), title)
        tested = int(re.search(r"of the ([\d,]+) cells of the study area", section).group(1).replace(",", ""))
        caption = f"the {tested:,} cells of the study area (the cells tested) by pattern</caption>"
        table = section.split(caption)[1].split("</tbody>")[0]
        cells = [
            int(v.replace(",", "")) for v in re.findall(r"<tr><td>[^<]*</td><td class=\"num\">([\d,]+)</td>", table)
        ]
        assert sum(cells) == tested, (title, cells)


@pytest.mark.browser
@needs_browser
def test_hotspots_render_every_chart_in_a_browser_without_errors(page: Path):
    rendered = render(page)
    divs = chart_divs(page.read_text())
    assert divs == 7
    assert rendered.plotly_svgs >= divs, f"{rendered.plotly_svgs} plotly svgs for {divs} charts"
    assert rendered.console_errors == [], rendered.console_errors
    assert XSS_HOT not in rendered.dom
