"""Missing, suppressed, non-finite and fractional counts, and bad population rows: never loaded as numbers,
never lost (each in quarantine with its reason, file, line and value), never a NaN in a sum, rate or report."""

from __future__ import annotations

import csv
import inspect
import re
import shutil
from pathlib import Path

import duckdb
import pandera.pandas as pa
import pytest

import schemas
from pipelines.cli import main as cli
from pipelines.runner import run_pipeline
from schemas.offence_counts import OffenceCountRow
from schemas.offences import OffenceRow
from schemas.population import PopulationRow
from schemas.source_config import ConfigError, load_config
from warehouse.connection import connect
from warehouse.contracts import failures_text, validate_table

FIXTURE = Path(__file__).parent / "fixtures" / "missing_counts"
TYPED = """COPY (SELECT * FROM (VALUES ('North', 'HOM', 2020, 5.0), ('North', 'HOM', 2021, 'nan'::DOUBLE),
                                      ('South', 'HOM', 2020, 'inf'::DOUBLE), ('South', 'HOM', 2021, '-inf'::DOUBLE),
                                      ('South', 'THF', 2021, 7.0), ('NA', 'x', 2021, 3.0))
               v(region, offence, year, victims)) TO '{path}' (FORMAT parquet)"""


def _copy_fixture(folder: Path) -> Path:
    shutil.copytree(FIXTURE, folder)
    duckdb.connect().execute(TYPED.format(path=folder / "typed.parquet"))
    return folder / "sources.yaml"


def _valid_cells() -> dict[tuple[str, str, int], int]:
    """The fixture's cells that hold a whole, non-negative number, read here with the csv module."""
    with (FIXTURE / "regions.csv").open(newline="") as handle:
        return {
            (r["region"], r["offence"], int(r["year"])): int(r["offences"])
            for r in csv.DictReader(handle)
            if re.fullmatch(r"\d+", r["offences"].strip())
        }


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The fixture through the whole pipeline, reports included (NaN counts once crashed them)."""
    folder = tmp_path_factory.mktemp("missing_counts")
    config = _copy_fixture(folder / "input")
    result = run_pipeline(config, folder / "warehouse.duckdb", folder / "reports")
    return result


def _query(run, sql: str) -> list[tuple]:
    with connect(run.warehouse, read_only=True) as con:
        return con.execute(sql).fetchall()


def test_the_run_and_its_reports_succeed_and_conserve_every_record(run) -> None:
    assert run.ok, (run.errors, [s.error or s.failed_checks for s in run.sources])
    assert {"trends", "quality"} <= set(run.reports)
    totals = run.by_source()
    assert (totals["regions"].records_in, totals["regions"].records_loaded) == (64, 51)
    assert totals["regions"].reasons == {"missing_count": 10, "invalid_count": 3}
    assert (totals["typed"].records_in, totals["typed"].records_loaded, totals["typed"].reasons) == (
        6,
        3,
        {"missing_count": 3},
    )
    for records_in, loaded, quarantined, source in _query(
        run, "SELECT records_in, records_loaded, records_quarantined, source FROM runs"
    ):
        in_quarantine = _query(run, f"SELECT count(*) FROM quarantine WHERE source = '{source}'")[0][0]
        assert records_in == loaded + quarantined == loaded + in_quarantine


def test_no_number_in_the_warehouse_is_nan_or_infinite(run) -> None:
    assert _query(run, "SELECT count(*) FROM offence_counts WHERE NOT isfinite(count)") == [(0,)]
    assert _query(run, "SELECT count(*) FROM population WHERE NOT isfinite(population) OR population <= 0") == [(0,)]
    assert _query(run, "SELECT count(*) FROM v_rates WHERE NOT isfinite(rate_per_100k) OR isnan(count)") == [(0,)]
    with connect(run.warehouse, read_only=True) as con:
        for model, table in (
            (OffenceCountRow, "offence_counts"),
            (PopulationRow, "population"),
            (OffenceRow, "offences"),
        ):
            outcomes = validate_table(con, model, table)
            assert all(o.passed for o in outcomes), failures_text(outcomes)


def test_national_counts_are_the_sums_of_the_valid_cells(run) -> None:
    by_year: dict[int, int] = {}
    for (_, _, year), value in _valid_cells().items():
        by_year[year] = by_year.get(year, 0) + value
    assert by_year == {2019: 409, 2020: 369, 2021: 384, 2022: 436}  # by hand: e.g. 2019 = 536 - 44 - 43 - 40
    got = dict(_query(run, "SELECT year, sum(count) FROM offence_counts WHERE source = 'regions' GROUP BY 1"))
    assert got == by_year
    national = dict(
        _query(
            run,
            "SELECT year, sum(count) FROM v_counts WHERE source = 'regions' AND area IS NULL AND level = 1 GROUP BY 1",
        )
    )
    assert national == by_year
    assert dict(_query(run, "SELECT year, sum(count) FROM offence_counts WHERE source = 'typed' GROUP BY 1")) == {
        2020: 5,
        2021: 10,
    }


def test_markers_apply_to_counts_only(run) -> None:
    """An area called 'NA' and an offence coded 'x' are names, not missing values."""
    areas = {a for (a,) in _query(run, "SELECT DISTINCT area FROM offence_counts WHERE source = 'regions'")}
    assert areas == {"North", "South", "x-Region", "NA"}
    codes = dict(
        _query(run, "SELECT national_code, sum(count) FROM offence_counts WHERE source = 'regions' GROUP BY 1")
    )
    assert codes["x"] == sum(v for (_, o, _), v in _valid_cells().items() if o == "x")


def test_missing_and_invalid_counts_say_what_was_seen(run) -> None:
    rows = dict(_query(run, "SELECT row_number, reason || ': ' || detail FROM quarantine WHERE source = 'regions'"))
    assert rows[7] == "missing_count: offences: '..' (missing)"
    assert rows[19] == "missing_count: offences: 'NaN' (missing)"
    assert rows[26] == "missing_count: offences: 'x' (missing)"
    assert rows[57] == "missing_count: offences: empty (missing)"
    assert rows[47] == "missing_count: offences: 'nan' (missing)"
    assert rows[24] == "invalid_count: offences: '-3' is not a non-negative number"
    assert rows[50].startswith("invalid_count: offences: '12.5' is not a whole number")
    typed = dict(_query(run, "SELECT row_number, detail FROM quarantine WHERE source = 'typed'"))
    assert typed == {
        3: "victims: 'nan' (missing)",
        4: "victims: 'inf' (not a finite number)",
        5: "victims: '-inf' (not a finite number)",
    }


def test_split_counts_are_flagged_allocated(run) -> None:
    flags = _query(
        run,
        "SELECT national_code, flag, count(*) FROM offence_counts WHERE source = 'regions' GROUP BY ALL ORDER BY ALL",
    )
    assert flags == [("HOM", None, 12), ("MIX", "allocated", 30), ("THF", None, 12), ("x", None, 12)]
    fractional = _query(
        run, "SELECT count(*) FROM offence_counts WHERE count <> trunc(count) AND coalesce(flag, '') <> 'allocated'"
    )
    assert fractional == [(0,)]
    mix = sum(v for (_, o, _), v in _valid_cells().items() if o == "MIX")
    assert _query(run, "SELECT sum(count) FROM offence_counts WHERE national_code = 'MIX'") == [(mix,)]


def test_bad_population_rows_are_rejected_with_file_line_and_value(run) -> None:
    rows = _query(
        run,
        "SELECT parse_filename(file), row_number, detail FROM quarantine WHERE source = 'population' "
        "AND reason = 'invalid_population' ORDER BY row_number",
    )
    assert rows == [
        ("population.csv", 7, "population: 'NaN' (missing)"),
        ("population.csv", 9, "population: '-51500' is not a positive number"),
        ("population.csv", 13, "population: 'about 20000' is not a number"),  # line 10 is blank
        ("population.csv", 14, "population: '0' is not a positive number"),
        ("population.csv", 18, "population: 'inf' is not a finite number"),
        ("population.csv", 20, "population: '..' (missing)"),
    ]
    # A national figure is never the sum of areas of which one was rejected: only 2019 is given as such.
    assert _query(run, "SELECT year, population FROM population WHERE area IS NULL") == [(2019, 200000.0)]
    assert _query(run, "SELECT count(*) FROM population") == [(12,)]
    rates = _query(
        run,
        "SELECT year, rate_per_100k FROM v_rates WHERE source = 'regions' AND area IS NULL "
        "AND iccs_code = '05' ORDER BY year",
    )
    assert rates == [(2019, 112.5), (2020, None), (2021, None), (2022, None)]


def test_the_cli_lists_rejected_population_rows(run, capsys) -> None:
    assert cli(["quarantine", "--source", "population", "--warehouse", str(run.warehouse)]) == 0
    out = capsys.readouterr().out
    assert "invalid_population" in out and "population.csv" in out and "'-51500' is not a positive number" in out
    # a list cut by --limit says so, on stderr, with how many there are
    with duckdb.connect(str(run.warehouse), read_only=True) as con:
        total = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]
    assert total > 1
    assert cli(["quarantine", "--limit", "1", "--format", "csv", "--warehouse", str(run.warehouse)]) == 0
    captured = capsys.readouterr()
    assert len(captured.out.strip().splitlines()) == 2  # the header and one record: the CSV is only data
    assert captured.err.strip() == f"iccs: 1 of {total:,} quarantined records shown; --limit N shows more"
    assert cli(["quarantine", "--limit", str(total), "--warehouse", str(run.warehouse)]) == 0
    assert capsys.readouterr().err == ""


def test_quality_warnings_and_pages_never_show_nan(run) -> None:
    for text in run.quality_warnings:
        assert "nan" not in text.lower(), text
    page = (run.reports_dir / "quality.html").read_text(encoding="utf-8")
    assert "missing_count" in page and "invalid_population" in page
    shown = re.sub(r'href="data:[^"]*"', "", page)  # the CSV downloads are URL-encoded ('NaN%27' is "NaN'")
    assert not re.search(r"\bnan\s*%", shown, re.IGNORECASE)


# ---------------------------------------------------------------------------------------------------------------
# The contract: no NaN or infinity in any numeric column


def _models() -> list[type[pa.DataFrameModel]]:
    return [m for _, m in inspect.getmembers(schemas, inspect.isclass) if issubclass(m, pa.DataFrameModel)]


def test_every_numeric_column_of_every_contract_forbids_nan_and_infinity() -> None:
    floats = [
        (m.__name__, name)
        for m in _models()
        for name, column in m.to_schema().columns.items()
        if str(column.dtype).startswith("float")
    ]
    assert ("OffenceCountRow", "count") in floats and ("PopulationRow", "population") in floats
    missing = [
        (model, name)
        for model, name in floats
        if "finite" not in {c.name for c in getattr(schemas, model).to_schema().columns[name].checks}
    ]
    assert missing == []


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_the_sql_contract_catches_nan_and_infinity(value) -> None:
    """DuckDB's NaN passes ``IS NULL`` and ``< 0`` (it sorts above every number): only isfinite catches it."""
    con = duckdb.connect()
    con.execute(f"""CREATE TABLE counts AS SELECT 'src' AS source, 'XMC' AS country, NULL::VARCHAR AS area,
                           '0101' AS iccs_code, 'HOM' AS national_code, 2020 AS year, NULL::BIGINT AS month,
                           'offences' AS unit, 'police' AS stage, '{value}'::DOUBLE AS count""")
    con.execute("CREATE TABLE iccs_categories AS SELECT '0101' AS code")
    con.execute(
        f"CREATE TABLE pop AS SELECT 'XMC' AS country, NULL::VARCHAR AS area, 2020 AS year, "
        f"'{value}'::DOUBLE AS population"
    )
    for model, table, column in ((OffenceCountRow, "counts", "count"), (PopulationRow, "pop", "population")):
        failed = {(o.check, o.column) for o in validate_table(con, model, table) if not o.passed}
        assert ("finite", column) in failed, failed


# ---------------------------------------------------------------------------------------------------------------
# Population configuration


def _config(folder: Path, population: str, header: str = "country,area,year,population") -> Path:
    (folder / "corr.csv").write_text("national_code,iccs_code\nHOM,0101\n")
    (folder / "pop.csv").write_text(f"{header}\nXMC,North,2020,1000\nXMC,,2020,5000\n")
    (folder / "sources.yaml").write_text(
        "sources:\n  src:\n    country: XMC\n    level: aggregate\n    unit: offences\n    files: in.csv\n"
        "    columns: {date: year, offence: code, count: n}\n    date_format: '%Y'\n    correspondence: corr.csv\n"
        + population
    )
    return folder / "sources.yaml"


def test_population_as_one_mapping_with_standard_columns(tmp_path) -> None:
    from warehouse.ddl import ensure_schema
    from warehouse.population import load_population

    config = load_config(_config(tmp_path, "population:\n  files: pop.csv\n"))
    assert len(config.population) == 1 and config.population[0].columns == {}
    con = duckdb.connect()
    ensure_schema(con)
    assert load_population(con, config.population) == 2
    assert con.execute("SELECT area, population FROM population ORDER BY area").fetchall() == [
        ("North", 1000.0),
        (None, 5000.0),
    ]
    # Case does not matter for the standard names; a list works as before.
    config = load_config(_config(tmp_path, "population:\n  - files: pop.csv\n", "Country,Area,YEAR,Population"))
    assert load_population(con, config.population) == 2


def test_population_errors_name_the_real_problem(tmp_path) -> None:
    from warehouse.population import load_population
    from warehouse.staging import SourceError

    with pytest.raises(ConfigError, match=r"population: field 'files' is required \(given: columns\)"):
        load_config(_config(tmp_path, "population:\n  columns: {population: total}\n"))
    with pytest.raises(ConfigError, match=r"population\[1\]: expected a mapping with files"):
        load_config(_config(tmp_path, "population:\n  - files: pop.csv\n  - pop.csv\n"))
    with pytest.raises(ConfigError, match="population: expected a mapping"):
        load_config(_config(tmp_path, "population: pop.csv\n"))
    config = load_config(_config(tmp_path, "population:\n  files: pop.csv\n", "iso3,area,year,total"))
    con = duckdb.connect()
    with pytest.raises(
        SourceError,
        match=r"pop.csv: population: field 'columns.country': no column named "
        r"'country' in the file \(columns: iso3, area, year, total\)",
    ):
        load_population(con, config.population)


def test_a_source_may_not_be_called_population(tmp_path) -> None:
    path = _config(tmp_path, "")
    path.write_text(path.read_text().replace("  src:", "  population:"))
    with pytest.raises(ConfigError, match="the name 'population' is reserved"):
        load_config(path)


# ---------------------------------------------------------------------------------------------------------------
# Other readers: an Excel sheet, a wide table, a source's own markers


def test_excel_errors_nan_and_markers_are_missing_counts(tmp_path) -> None:
    import openpyxl

    from tests.formats_fixture import records, stage_and_classify

    book = openpyxl.Workbook()
    sheet = book.active
    for row in (
        ["year", "code", "n"],
        [2020, "THF", 4],
        [2020, "HOM", "#N/A"],
        [2021, "THF", float("nan")],
        [2021, "HOM", " .. "],
        [2022, "THF", 3.0],
        [2022, "HOM", 2.5],
    ):
        sheet.append(row)
    book.save(tmp_path / "in.xlsx")
    spec = {
        "country": "XTS",
        "level": "aggregate",
        "unit": "offences",
        "files": "in.xlsx",
        "format": "xlsx",
        "columns": {"date": "year", "offence": "code", "count": "n"},
        "date_format": "%Y",
        "correspondence": "correspondence.csv",
    }
    con, _ = stage_and_classify(tmp_path, spec)
    assert records(con, columns="line, count, reason, detail") == [
        (2, 4.0, None, None),
        (3, None, "missing_count", "n: '#N/A' (missing)"),
        (4, None, "missing_count", "n: empty (missing)"),  # a sheet cannot hold NaN: openpyxl writes no value
        (5, None, "missing_count", "n: '..' (missing)"),
        (6, 3.0, None, None),
        (
            7,
            2.5,
            "invalid_count",
            "n: '2.5' is not a whole number (a source of estimates with decimals sets fractional_counts: true)",
        ),
    ]


def test_wide_tables_keep_marked_cells_as_missing_counts_and_own_markers_add_to_the_defaults(tmp_path) -> None:
    from tests.formats_fixture import records, stage_and_classify

    (tmp_path / "in.csv").write_text("code,2019,2020,2021\nTHF,5,..,\nHOM,-999,2,c\n")
    spec = {
        "country": "XTS",
        "level": "aggregate",
        "unit": "offences",
        "files": "in.csv",
        "layout": "wide",
        "wide": {"columns": r"^\d{4}$", "names_to": "year", "values_to": "n"},
        "missing_values": [-999],
        "columns": {"date": "year", "offence": "code", "count": "n"},
        "date_format": "%Y",
        "correspondence": "correspondence.csv",
    }
    con, staged = stage_and_classify(tmp_path, spec)
    assert staged.records_in == 5  # the empty 2021 THF cell is not a record
    assert records(con, columns="national_code, year(occurred_on), reason, detail") == [
        ("THF", 2019, None, None),
        ("THF", 2020, "missing_count", "n: '..' (missing)"),
        ("HOM", 2019, "missing_count", "n: '-999' (missing)"),
        ("HOM", 2020, None, None),
        ("HOM", 2021, "invalid_count", "n: 'c' is not a non-negative number"),
    ]


def test_the_population_asset_counts_rejected_rows(tmp_path) -> None:
    import dagster as dg

    from pipelines.assets.reference import iccs_reference, population
    from pipelines.resources import SourcesConfig, WarehouseResource

    config = _copy_fixture(tmp_path / "input")
    result = dg.materialize(
        [iccs_reference, population],
        resources={
            "duckdb": WarehouseResource(database=str(tmp_path / "w.duckdb")),
            "sources": SourcesConfig(path=str(config)),
        },
    )
    assert result.success
    materialized = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey("population")]
    metadata = materialized[0].materialization.metadata
    assert metadata["rows"].value == 12 and metadata["rejected_rows"].value == 6
    checks = {e.asset_check_key.name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks["population_contract"]


def test_a_sum_of_small_areas_is_not_stored_short(tmp_path) -> None:
    """Small areas summed to a reporting area: one rejected small area keeps the whole sum out, saying why."""
    from warehouse.ddl import ensure_schema
    from warehouse.population import load_population

    path = _config(
        tmp_path, "population:\n  files: small.csv\n  area_lookup: {file: lookup.csv, from: small, to: area}\n"
    )
    (tmp_path / "lookup.csv").write_text("small,area\na1,North\na2,North\nb1,South\n")
    (tmp_path / "small.csv").write_text(
        "country,area,year,population\nXMC,a1,2020,100\nXMC,a2,2020,-\n"
        "XMC,b1,2020,50\nXMC,a1,2021,110\nXMC,a2,2021,120\n"
    )
    con = duckdb.connect()
    ensure_schema(con)
    load_population(con, load_config(path).population)
    assert con.execute("SELECT area, year, population FROM population ORDER BY ALL").fetchall() == [
        ("North", 2021, 230.0),
        ("South", 2020, 50.0),
        (None, 2021, 230.0),
    ]
    assert con.execute(
        "SELECT row_number, detail FROM quarantine WHERE source = 'population' ORDER BY 1"
    ).fetchall() == [
        (
            2,
            "population: 100.0 not used: small.csv line 3 of the same country, area and year was "
            "rejected (the sum would be short)",
        ),
        (3, "population: '-' (missing)"),
    ]
