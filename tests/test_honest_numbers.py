"""Numbers that can be quoted: what a column or a sentence says it counts is what it counts (found by running the
product on real sources: Mexico SESNSP, Eurostat crim_off_cat, UNODC homicide)."""

from __future__ import annotations

import contextlib
import html
import io
import re
from pathlib import Path

import pandas as pd

from pipelines.runner import run_pipeline
from warehouse.connection import connect


def _by_sex_table(folder: Path) -> Path:
    """An annual region x offence x sex table (SESNSP's shape): each cell published once per sex, so two input
    cells make one offence_counts row (same area, code and year). One stray old year before the window."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        {"year": y, "offence": code, "region": region, "sex": sex, "count": 50 + y - 2019 + len(sex)}
        for y in range(2019, 2024)
        for code in ("ROB", "THF")
        for region in ("North", "South", "East")
        for sex in ("Hombre", "Mujer")
    ]
    rows += [{"year": 2012, "offence": "ROB", "region": "North", "sex": sex, "count": 1} for sex in ("Hombre", "Mujer")]
    pd.DataFrame(rows).to_csv(folder / "table.csv", index=False)
    (folder / "correspondence.csv").write_text(
        "national_code,national_label,iccs_code\nROB,robbery,0401\nTHF,theft,0502\n", encoding="utf-8"
    )
    (folder / "sources.yaml").write_text(
        """description: synthetic table by sex (test fixture)
sources:
  bysex:
    country: XTS
    level: aggregate
    unit: victims
    files: table.csv
    columns: {date: year, offence: offence, area: region, count: count}
    date_format: "%Y"
    correspondence: correspondence.csv
""",
        encoding="utf-8",
    )
    return folder / "sources.yaml"


def test_coverage_counts_the_cells_loaded_not_the_offence_counts_rows_they_were_summed_into(tmp_path: Path) -> None:
    result = run_pipeline(_by_sex_table(tmp_path / "in"), tmp_path / "w.duckdb", tmp_path / "r", with_reports=False)
    assert result.ok, result
    with connect(result.warehouse, read_only=True) as con:
        loaded, stored = con.execute(
            "SELECT (SELECT sum(records_loaded) FROM v_latest_runs), (SELECT count(*) FROM offence_counts)"
        ).fetchone()
        assert (loaded, stored) == (62, 31)  # the trait: two cells per stored row
        row = con.execute(
            "SELECT records_inside, records_before, records_after, records_are, count_before FROM v_coverage"
        ).fetchone()
    assert row == (60.0, 2.0, 0.0, "cells", 2.0)
    assert sum(row[:3]) == loaded  # the cells the run summary and the pages give


def _homicide_table(folder: Path, hom: str = "partial") -> Path:
    """National homicide victims by year under two national codes: HOM (murder and manslaughter together, which
    the table marks `hom`) and FEM (femicide, full), both ICCS 0101, with a national population."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [{"year": y, "offence": "HOM", "count": 100 + y - 2019} for y in range(2019, 2024)]
    rows += [{"year": y, "offence": "FEM", "count": 30} for y in range(2019, 2024)]
    pd.DataFrame(rows).to_csv(folder / "table.csv", index=False)
    pd.DataFrame([{"country": "XTS", "year": y, "population": 1_000_000} for y in range(2019, 2024)]).to_csv(
        folder / "population.csv", index=False
    )
    (folder / "correspondence.csv").write_text(
        "national_code,national_label,iccs_code,correspondence,note\n"
        f'HOM,murder and manslaughter,0101,{hom},"manslaughter would be 0103"\n'
        "FEM,femicide,0101,full,\n",
        encoding="utf-8",
    )
    (folder / "sources.yaml").write_text(
        """description: synthetic homicide victims (test fixture)
sources:
  homicide:
    country: XTS
    level: aggregate
    unit: victims
    files: table.csv
    columns: {date: year, offence: offence, count: count}
    date_format: "%Y"
    correspondence: correspondence.csv
population:
  files: population.csv
""",
        encoding="utf-8",
    )
    return folder / "sources.yaml"


def test_a_homicide_figure_resting_on_a_partial_correspondence_says_so_where_it_is_shown(tmp_path: Path) -> None:
    result = run_pipeline(_homicide_table(tmp_path / "in"), tmp_path / "w.duckdb", tmp_path / "r")
    assert result.ok, result
    with connect(result.warehouse, read_only=True) as con:
        assert con.execute(
            "SELECT year, count, partial_correspondence FROM v_sdg16 WHERE indicator = '16.1.1' AND year = 2023"
        ).fetchall() == [(2023, 134.0, True)]
        assert con.execute(
            "SELECT national_code, bool_and(partial_correspondence) FROM v_national_counts GROUP BY 1 ORDER BY 1"
        ).fetchall() == [("FEM", False), ("HOM", True)]
    text = html.unescape(re.sub(r"<[^>]+>", " ", result.reports["sdg16"].read_text(encoding="utf-8")))
    text = re.sub(r"\s+", " ", text)
    assert "XTS: 13.4 victims per 100,000 in 2023. Partial correspondence: 104 of the 134 victims come from " in text
    assert "national code HOM of homicide, which its correspondence table marks as only partly" in text
    assert "partial: HOM (104 of 134)" in text  # the table row of each year


def test_a_full_correspondence_carries_no_caveat(tmp_path: Path) -> None:
    result = run_pipeline(_homicide_table(tmp_path / "in", hom="full"), tmp_path / "w.duckdb", tmp_path / "r")
    assert result.ok, result
    with connect(result.warehouse, read_only=True) as con:
        assert con.execute("SELECT bool_or(partial_correspondence) FROM v_sdg16").fetchall() == [(False,)]
    assert "Partial correspondence" not in result.reports["sdg16"].read_text(encoding="utf-8")


def _links(path: Path) -> set[str]:
    return set(re.findall(r'href="([^"#?]+\.html)"', path.read_text(encoding="utf-8")))


def test_a_quality_report_into_a_new_folder_links_only_pages_that_exist(tmp_path: Path) -> None:
    import duckdb

    from reports import build_reports
    from warehouse.ddl import ensure_schema
    from warehouse.reference import load_classification

    con = duckdb.connect()
    ensure_schema(con)
    load_classification(con)
    out = tmp_path / "new"
    written = build_reports(con, out, ["quality"])
    assert set(written) == {"quality", "index"}
    for name in ("quality.html", "index.html"):
        links = _links(out / name)
        assert links == {"quality.html", "index.html"}, (name, links)
    # a full build into another new folder: the first page written links the pages written after it
    written = build_reports(con, tmp_path / "all")
    assert _links(written["trends"]) == {f"{kind}.html" for kind in written}


def _part_of_a_country(folder: Path, population: list[dict]) -> Path:
    """Homicide victims of XTS reported only for its region Northland (as UNODC's "England and Wales" configured
    as GBR), with the given population rows."""
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([{"year": y, "region": "Northland", "offence": "HOM", "count": 89} for y in range(2019, 2024)]).to_csv(
        folder / "table.csv", index=False
    )
    pd.DataFrame(population).to_csv(folder / "population.csv", index=False)
    (folder / "correspondence.csv").write_text(
        "national_code,national_label,iccs_code\nHOM,homicide,0101\n", encoding="utf-8"
    )
    (folder / "sources.yaml").write_text(
        """description: a country reported by one of its regions (test fixture)
sources:
  part:
    country: XTS
    level: aggregate
    unit: victims
    files: table.csv
    columns: {date: year, offence: offence, area: region, count: count}
    date_format: "%Y"
    correspondence: correspondence.csv
population:
  files: population.csv
""",
        encoding="utf-8",
    )
    return folder / "sources.yaml"


NATIONAL = [{"country": "XTS", "area": None, "year": y, "population": 1_000_000} for y in range(2019, 2024)]
REGIONS = [
    {"country": "XTS", "area": region, "year": y, "population": n}
    for y in range(2019, 2024)
    for region, n in (("Northland", 890_000), ("Southland", 110_000))
]


def _national_rates(result) -> list[tuple]:
    with connect(result.warehouse, read_only=True) as con:
        sdg = con.execute(
            "SELECT population, rate_per_100k, population_basis FROM v_sdg16 WHERE indicator = '16.1.1' AND year = 2023"
        ).fetchall()
        rates = con.execute(
            "SELECT population, rate_per_100k, population_basis FROM v_rates WHERE area IS NULL "
            "AND iccs_code = '0101' AND year = 2023"
        ).fetchall()
    assert sdg == rates
    return sdg


def test_a_country_reported_only_by_a_part_of_it_gets_no_rate_over_the_whole_population(tmp_path: Path) -> None:
    result = run_pipeline(_part_of_a_country(tmp_path / "in", NATIONAL), tmp_path / "w.duckdb", tmp_path / "r")
    assert result.ok, result
    assert _national_rates(result) == [(None, None, "none")]  # was 8.9 per 100,000 over the whole country
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", result.reports["sdg16"].read_text())))
    assert "XTS: 89 victims in 2023; no rate: the figure adds up areas without a population (Northland)" in text
    assert "8.90" not in text


def test_a_part_of_a_country_is_divided_by_its_own_population_where_it_is_known(tmp_path: Path) -> None:
    config = _part_of_a_country(tmp_path / "in", NATIONAL + REGIONS)
    result = run_pipeline(config, tmp_path / "w.duckdb", tmp_path / "r")
    assert result.ok, result
    assert _national_rates(result) == [(890_000.0, 10.0, "areas")]
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", result.reports["sdg16"].read_text())))
    assert "XTS: 10.0 victims per 100,000 (of the population of the source's areas only, not the whole" in text


def test_areas_that_make_up_the_country_are_divided_by_its_population(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    config = _part_of_a_country(folder, NATIONAL + REGIONS)
    table = pd.read_csv(folder / "table.csv")
    pd.concat([table, table.assign(region="Southland", count=11)]).to_csv(folder / "table.csv", index=False)
    result = run_pipeline(config, tmp_path / "w.duckdb", tmp_path / "r", with_reports=False)
    assert result.ok, result
    assert _national_rates(result) == [(1_000_000.0, 10.0, "country")]


def _lookup_table(folder: Path) -> Path:
    """A multi-country table read through a country lookup (UNODC's GSH file configured by a reviewer): the
    homicide count is mapped, its rate rows are excluded by the table, and country Erewhon is not in the lookup,
    so its rows are missing_field whether their code is mapped or excluded."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        {"Country": country, "Indicator": indicator, "year": y, "value": 10 + y - 2019}
        for country in ("Aland", "Borduria", "Erewhon")
        for indicator in ("Homicide Total Count", "Homicide Rate", "Homicide Male Rate")
        for y in range(2019, 2024)
    ]
    pd.DataFrame(rows).to_csv(folder / "table.csv", index=False)
    (folder / "names.csv").write_text("name,iso3\nAland,XAL\nBorduria,XBD\n", encoding="utf-8")
    (folder / "correspondence.csv").write_text(
        "national_code,national_label,iccs_code,correspondence,note\n"
        "Homicide Total Count,homicide victims,0101,full,\n"
        "Homicide Rate,a rate,,excluded,a rate of the count\n"
        "Homicide Male Rate,a rate,,excluded,a rate of a breakdown\n",
        encoding="utf-8",
    )
    (folder / "sources.yaml").write_text(
        """description: countries through a lookup (test fixture)
sources:
  lookup:
    level: aggregate
    unit: victims
    files: table.csv
    columns: {country: Country, offence: Indicator, date: year, count: value}
    country_lookup: {file: names.csv, from: name, to: iso3}
    date_format: "%Y"
    fractional_counts: true
    correspondence: correspondence.csv
""",
        encoding="utf-8",
    )
    return folder / "sources.yaml"


def test_a_country_missing_from_a_lookup_does_not_lower_the_mapped_share(tmp_path: Path) -> None:
    result = run_pipeline(_lookup_table(tmp_path / "in"), tmp_path / "w.duckdb", tmp_path / "r", with_reports=False)
    totals = result.by_source()["lookup"]
    assert totals.reasons == {"excluded_offence": 20, "missing_field": 15}  # the trait: 10 of them excluded codes
    # every homicide count is mapped (Erewhon's too, quarantined for its country): 15 of the 15 placeable
    assert (totals.mapped_records, totals.placeable_records, totals.mapped_share) == (15, 15, 1.0)


def test_the_run_summary_prints_the_mapped_share_of_mapping_only(tmp_path: Path) -> None:
    from pipelines.cli import main

    config = _lookup_table(tmp_path / "in")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(["run", "--config", str(config), "--warehouse", str(tmp_path / "w.duckdb"), "--no-reports"])
    assert "mapped to ICCS 100.0% of what ICCS can place" in out.getvalue(), out.getvalue()


def test_a_warehouse_written_before_these_columns_still_renders_read_only(tmp_path: Path) -> None:
    """`iccs report` opens the warehouse read-only, so a warehouse written before v_national_population and
    partial_correspondence is not upgraded: the pages read it as before instead of failing."""
    from reports import build_reports
    from tests.reports_fixture import build_warehouse

    path = tmp_path / "old.duckdb"
    con = build_warehouse(path)
    con.execute("DROP VIEW v_national_population")
    con.execute(
        "CREATE OR REPLACE VIEW v_national_counts_in_window AS "
        "SELECT * EXCLUDE (partial_correspondence) FROM v_national_counts"
    )
    con.close()
    with connect(path, read_only=True) as con:
        written = build_reports(con, tmp_path / "r", ["trends", "sdg16"])
    assert "AAA Theft: the rate per 100,000 rose" in written["trends"].read_text(encoding="utf-8")


def test_a_target_16_4_component_resting_on_a_partial_correspondence_says_so(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    config = _homicide_table(folder, hom="full")
    table = pd.read_csv(folder / "table.csv")
    drugs = table[table["offence"] == "FEM"].assign(offence="DRG", count=70)
    pd.concat([table, drugs]).to_csv(folder / "table.csv", index=False)
    with (folder / "correspondence.csv").open("a", encoding="utf-8") as f:
        f.write('DRG,drug dealing and possession,06012,partial,"possession for own use would be 06011"\n')
    (folder / "sources.yaml").write_text(
        (folder / "sources.yaml").read_text().replace("unit: victims", "unit: offences"), encoding="utf-8"
    )
    result = run_pipeline(config, tmp_path / "w.duckdb", tmp_path / "r")
    assert result.ok, result
    text = re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", result.reports["sdg16"].read_text())))
    assert "Partial correspondence: some counts of Drug trafficking (XTS — homicide (offences)) come from" in text
    assert "partial: DRG (70 of 70)" in text  # each row of the components and shares tables
    assert "Partial correspondence: all 70 offences come from national code DRG of homicide" in text
