"""Traits met when a new user configured real public data nothing in the project was built for (Lancashire and
Northumbria anti-social behaviour, Mexico SESNSP annual tables), reproduced on small fixtures of their shape."""

from __future__ import annotations

from pathlib import Path

from pipelines.runner import run_pipeline
from warehouse.connection import connect


def _asb(folder: Path) -> Path:
    """data.police.uk anti-social behaviour: tab-separated, month dates, no offence column, every record
    outside ICCS by a one-row correspondence table (whose iccs_code column is therefore empty in every row)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["month\tlongitude\tlatitude\tlocation\tlsoa_code"]
    rows += [f"2022-{m:02d}-01\t-2.46\t53.76\tHazelwood Close\tE0101260{m % 3}" for m in range(1, 13)]
    (folder / "asb.tab").write_text("\n".join(rows) + "\n")
    (folder / "correspondence.csv").write_text(
        "national_code,national_label,iccs_code,correspondence,note\n"
        "ASB,anti-social behaviour,,excluded,anti-social behaviour incidents are not crimes\n"
    )
    (folder / "sources.yaml").write_text("""sources:
  asb:
    country: GBR
    level: incident
    unit: offences
    format: tsv
    files: asb.tab
    columns: {date: month, area: lsoa_code, latitude: latitude, longitude: longitude}
    constants: {offence: ASB}
    date_format: "%Y-%m-%d"
    correspondence: correspondence.csv
""")
    return folder / "sources.yaml"


def test_a_source_whose_every_record_is_outside_iccs_loads_and_says_so(tmp_path: Path) -> None:
    # before: "blocking check mapped_records_contract failed: dtype(iccs_code): expected str, column_type NULL"
    result = run_pipeline(_asb(tmp_path / "in"), tmp_path / "w.duckdb", tmp_path / "r", with_reports=False)
    assert result.ok, result
    [src] = result.sources
    assert (src.records_in, src.records_loaded, src.reasons) == (12, 0, {"excluded_offence": 12})
    with connect(result.warehouse, read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT reason) FROM quarantine").fetchall() == [(12, 1)]


def test_a_population_file_of_areas_without_an_area_column_is_an_error_not_a_national_sum(tmp_path: Path) -> None:
    # London's ward file (Code, Borough, Ward_Name, Year, Population) configured without columns: 'Year' and
    # 'Population' are found by name, no column is named 'area'. Before: the 624 wards of a year were summed into
    # GBR's "national" population (9,381,771 in 2022) and v_rates divided Lancashire's counts by it.
    config = _asb(tmp_path / "in")
    (config.parent / "pop.csv").write_text(
        "Code,Borough,Ward_Name,Year,Population\nE1,Barking,Abbey,2022,12904\nE2,Barking,Alibon,2022,10468\n"
    )
    config.write_text(config.read_text() + "population:\n  files: pop.csv\n  country: GBR\n")
    result = run_pipeline(config, tmp_path / "w.duckdb", tmp_path / "r", with_reports=False)
    assert not result.ok
    text = " ".join(result.errors)
    assert "2 rows for GBR 2022 and no area column" in text and "Ward_Name" in text and "columns.area" in text
    # named, the wards are areas (and their sum the national row, as documented)
    config.write_text(config.read_text() + "  columns: {area: Ward_Name}\n")
    result = run_pipeline(config, tmp_path / "w2.duckdb", tmp_path / "r", with_reports=False)
    assert result.ok, result
    with connect(result.warehouse, read_only=True) as con:
        assert con.execute("SELECT area, population FROM population ORDER BY area NULLS FIRST").fetchall() == [
            (None, 23372.0),
            ("Abbey", 12904.0),
            ("Alibon", 10468.0),
        ]


def _by_sex(folder: Path, extra: str = "") -> Path:
    """SESNSP's victims by state, year, offence and sex: 'Total' rows beside 'Hombre' and 'Mujer' (and the
    total exceeds their sum: victims of unrecorded sex)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = ["n_year,nombre_estado,delito,genero,n_victimas,n_victimas_x100kmujeres"]
    for year in (2022, 2023):
        for state, (men, women) in {"Aguascalientes": (24, 12), "Colima": (10, 5)}.items():
            rows += [
                f"{year},{state},Extorsión,Total,{men + women + 1},NA",
                f"{year},{state},Extorsión,Hombre,{men},NA",
                f"{year},{state},Extorsión,Mujer,{women},1.75",
            ]
    (folder / "victims.csv").write_text("\n".join(rows) + "\n")
    (folder / "correspondence.csv").write_text("national_code,iccs_code\nExtorsión,02051\n")
    (folder / "sources.yaml").write_text(f"""sources:
  victims:
    country: MEX
    level: aggregate
    unit: victims
    files: victims.csv
    columns: {{date: n_year, offence: delito, area: nombre_estado, count: n_victimas}}
    date_format: "%Y"
    correspondence: correspondence.csv
{extra}""")
    return folder / "sources.yaml"


def test_an_unread_column_holding_a_total_beside_its_parts_is_a_warning(tmp_path: Path) -> None:
    # before: no word; SESNSP's national victims of 2015 were 555,156 for a published 295,890
    result = run_pipeline(_by_sex(tmp_path / "in"), tmp_path / "w.duckdb", tmp_path / "r", with_reports=False)
    assert result.ok, result
    [src] = result.sources
    assert src.warnings == [
        "columns_used: column 'genero' is read by no field but holds 'Total' beside Hombre, "
        "Mujer: every row is a cell, so the 'Total' rows are added to the parts they total; "
        "keep one breakdown with filter: {genero: [Total]} (or drop it with exclude)"
    ]
    # the rate column's 'NA' is never read: it is not the count
    result = run_pipeline(
        _by_sex(tmp_path / "in2", "    filter: {genero: [Total]}\n"),
        tmp_path / "w2.duckdb",
        tmp_path / "r",
        with_reports=False,
    )
    [src] = result.sources
    assert result.ok and src.warnings == [], result
    with connect(result.warehouse, read_only=True) as con:
        assert con.execute("SELECT year, sum(count) FROM v_national_counts GROUP BY 1 ORDER BY 1").fetchall() == [
            (2022, 53.0),
            (2023, 53.0),
        ]


def test_the_run_line_of_a_table_with_a_total_row_gives_the_national_figure_counted_once(
    tmp_path: Path, capsys
) -> None:
    # SESNSP's incidence table with its 'Nacional' row: before, only "37,492,284 offences ... loaded" (twice the
    # 18,746,142 the country recorded)
    from pipelines import cli

    folder = tmp_path / "in"
    folder.mkdir()
    rows = ["year,state,offence,count"]
    for year in (2021, 2022, 2023, 2024):
        parts = {"Aguascalientes": 40, "Colima": 10, "Durango": 25}
        rows += [f"{year},{s},EXT,{n}" for s, n in parts.items()] + [f"{year},Nacional,EXT,{sum(parts.values())}"]
    (folder / "t.csv").write_text("\n".join(rows) + "\n")
    (folder / "c.csv").write_text("national_code,iccs_code\nEXT,02051\n")
    (folder / "sources.yaml").write_text("""sources:
  t:
    country: MEX
    level: aggregate
    unit: offences
    files: t.csv
    columns: {date: year, offence: offence, area: state, count: count}
    date_format: "%Y"
    correspondence: c.csv
""")
    assert (
        cli.main(
            [
                "run",
                "--config",
                str(folder / "sources.yaml"),
                "--warehouse",
                str(tmp_path / "w.duckdb"),
                "--reports",
                str(tmp_path / "r"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert (
        "16 table cells in: 600 offences in 16 cells loaded (cells of a national total row among the areas are "
        "included: the national figure, counted once, is 300 offences)"
    ) in out
    assert f"exchange:  {(tmp_path / 'r' / 'exchange').resolve()}  (national figures as SDMX" in out
    quality = (tmp_path / "r" / "quality.html").read_text()
    assert "the national figure, counted once, is 300 offences" in quality
