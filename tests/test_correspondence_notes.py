"""The notes of partial and excluded correspondence rows, and each source's description, in 'About these data' of
the charts that use them: only the rows that concern a chart's categories, capped when long (issue 16, item 6).

The fixture is the report warehouse of reports_fixture (three sources, three countries) with correspondence rows
shaped unlike the demo's (which has none): a multi-country source with a dozen excluded codes, partial rows in
sections 01, 05 and 09, and one on another source.
"""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path

import pandas as pd
import pytest
from reports_fixture import build_warehouse

from reports import correspondence_notes
from reports.quality import render_quality
from reports.sdg16 import render_sdg16, victims
from reports.trends import render_trends

EXCLUDED = tuple(
    (f"X{i:02d}", f"Traffic misdemeanour {i}", None, "excluded", f"not a crime: rule {i}") for i in range(12)
)
PARTIAL = (
    ("B0501", "Robo con violencia", "0501", "partial", "includes attempted robbery of vehicles"),
    ("B09012", "Delitos contra el Estado", "09012", "partial", "only those the police record"),
    ("B0101", "Homicidio", "0101", "partial", "includes attempted homicide"),
)
ALPHA = (("N02011", "Assault", "02011", "partial", "alpha: common assault included"),)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    con = build_warehouse(tmp_path_factory.mktemp("notes") / "warehouse.duckdb")
    rows = [("beta_stats", *r) for r in EXCLUDED + PARTIAL] + [("alpha_police", *r) for r in ALPHA]
    con.executemany(
        "INSERT INTO correspondence (source, national_code, national_label, iccs_code, correspondence, note) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        rows,
    )
    con.execute("UPDATE sources SET correspondence = '/data/beta/beta_map.csv' WHERE source = 'beta_stats'")
    yield con
    con.close()


def about(page: str) -> dict[str, str]:
    """Per block or section heading: the text of its 'About these data'."""
    out = {}
    for match in re.finditer(r"<h[23]>(.*?)</h[23]>(.*?)(?=<h[23]>|$)", page, re.S):
        details = re.search(r'<details class="metadata">(.*?)</details>', match.group(2), re.S)
        if details:
            text = re.sub(r"<[^>]+>", " ", details.group(1))
            out[htmllib.unescape(match.group(1))] = htmllib.unescape(re.sub(r"\s+", " ", text))
    return out


def test_a_partial_row_concerns_the_charts_of_the_categories_it_lies_in(warehouse):
    property_ = correspondence_notes.metadata(warehouse, ["beta_stats"], ["05"])
    partial = property_["Partial correspondences"]
    assert partial.startswith("1 national code, each only partly") and "B0501 Robo con violencia → ICCS 0501" in partial
    assert "includes attempted robbery of vehicles" in partial
    assert "B09012" not in partial and "B0101" not in partial  # other sections' rows
    assert correspondence_notes.metadata(warehouse, ["beta_stats"], ["0501"])["Partial correspondences"]
    # a chart of a category inside the partial row's target is not counted through it
    assert "Partial correspondences" not in correspondence_notes.metadata(warehouse, ["beta_stats"], ["05011"])
    # exact matching (SDG 16 indicators): only the code itself
    assert "Partial correspondences" not in correspondence_notes.metadata(warehouse, ["beta_stats"], ["05"], False)


def test_excluded_rows_concern_every_chart_of_their_source_and_a_long_list_is_capped(warehouse):
    excluded = correspondence_notes.metadata(warehouse, ["beta_stats"], ["01"])["Excluded from ICCS"]
    assert excluded.startswith(f"{len(EXCLUDED)} national codes, outside ICCS")
    listed = re.findall(r"X\d\d Traffic misdemeanour \d+: not a crime: rule \d+", excluded)
    assert len(listed) == correspondence_notes.MAX_LISTED
    more = len(EXCLUDED) - correspondence_notes.MAX_LISTED
    assert excluded.endswith(f"and {more} more (see beta_map.csv, the correspondence table)")
    assert correspondence_notes.metadata(warehouse, ["alpha_victims"], None) == {}  # a source without such rows
    both = correspondence_notes.metadata(warehouse, ["alpha_police", "beta_stats"], None)
    assert "alpha_police N02011 Assault → ICCS 02011: alpha: common assault included" in both["Partial correspondences"]
    assert "beta_stats B0101" in both["Partial correspondences"]  # sources named when a chart has several


def test_trends_blocks_show_the_notes_of_their_own_source_only(warehouse, tmp_path: Path):
    blocks = about(render_trends(warehouse, tmp_path).read_text())
    beta = {k: v for k, v in blocks.items() if k.startswith("Beta statistical office")}
    alpha = {k: v for k, v in blocks.items() if k.startswith("Alpha national police")}
    assert beta and alpha
    for title, text in beta.items():
        assert "Beta statistical office, recorded offences (synthetic)" in text, title  # the source's description
        assert "includes attempted robbery of vehicles" in text and "not a crime: rule 0" in text, title
        assert "alpha: common assault included" not in text, title
    for title, text in alpha.items():
        assert "alpha: common assault included" in text and "not a crime" not in text, title


def test_sdg16_indicators_show_the_partial_rows_of_their_codes(warehouse, tmp_path: Path):
    sections = about(render_sdg16(warehouse, tmp_path).read_text())
    homicide = next(v for k, v in sections.items() if k.startswith("16.1.1"))
    assert "B0101 Homicidio → ICCS 0101: includes attempted homicide" in homicide
    assert "Beta statistical office, recorded offences (synthetic)" in homicide
    assert "B0501" not in homicide and "B09012" not in homicide
    trafficking = next(v for k, v in sections.items() if k.startswith("16.2.2"))
    assert "B0101" not in trafficking


def test_the_breakdown_by_sex_names_its_sources_and_their_notes(warehouse):
    rows = pd.DataFrame({"source": ["beta_stats", "beta_stats"], "country": ["BBB", "CCC"]})
    meta = victims.sources_metadata(warehouse, rows, pd.Series({"codes": "0101, 0102"}))
    assert meta["Data sources"] == "beta_stats (Beta statistical office, recorded offences (synthetic))"
    assert "B0101 Homicidio → ICCS 0101: includes attempted homicide" in meta["Partial correspondences"]
    assert "B0501" not in meta["Partial correspondences"] and "X00" in meta["Excluded from ICCS"]
    assert victims.sources_metadata(warehouse, rows.iloc[0:0], pd.Series({"codes": "0101"})) == {}


def test_the_quality_page_lists_every_partial_and_excluded_code_under_where_records_went(warehouse, tmp_path):
    sections = about(render_quality(warehouse, tmp_path).read_text())
    loads = sections["Records in, loaded, quarantined"]
    assert "beta_stats (Beta statistical office, recorded offences (synthetic))" in loads
    assert "alpha_police N02011 Assault → ICCS 02011" in loads and "beta_stats B09012" in loads
    assert f"and {len(EXCLUDED) - correspondence_notes.MAX_LISTED} more" in loads
