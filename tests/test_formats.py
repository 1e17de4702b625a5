"""Every input format and layout the configuration accepts, read into staging and classified, with the physical
line of each record kept; and the reader's errors, one line naming the file and what is wrong."""

from __future__ import annotations

import bz2
import gzip
import zipfile
from pathlib import Path

import duckdb
import openpyxl
import pytest

from schemas.source_config import ConfigError, load_config
from tests.formats_fixture import (
    INCIDENT,
    ROWS,
    lines_accounted,
    records,
    stage_and_classify,
    write_config,
)
from warehouse.classify import records_table
from warehouse.counts import counts_sql
from warehouse.ddl import ensure_schema
from warehouse.population import load_population
from warehouse.staging import SourceError, rejects_table


def _csv(lines: list[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


EXPECTED = [(2, "THF", "0502", None), (3, "HOM", "0101", None), (4, "ROB", "0401", None)]


@pytest.mark.parametrize(
    ("file_name", "data", "extra"),
    [
        ("in.csv", _csv(ROWS), {}),
        ("in.tsv", _csv([r.replace(",", "\t") for r in ROWS]), {"format": "tsv"}),
        ("in.txt", _csv([r.replace(",", ";") for r in ROWS]), {"delimiter": ";"}),
        ("in.csv.gz", gzip.compress(_csv(ROWS), mtime=0), {}),  # mtime=0: the same bytes in every xdist worker
        ("in.csv.bz2", bz2.compress(_csv(ROWS)), {}),
        ("in.csv", b"\xef\xbb\xbf" + _csv(ROWS), {}),  # UTF-8 with a byte order mark
        ("in.csv", _csv(ROWS).replace(b"\n", b"\r\n"), {}),
    ],
)
def test_delimited_formats_and_compressions_read_the_same_records(tmp_path, file_name, data, extra) -> None:
    (tmp_path / file_name).write_bytes(data)
    con, staged = stage_and_classify(tmp_path, {**INCIDENT, "files": file_name, **extra})
    assert records(con) == EXPECTED
    assert staged.records_in == 3 and staged.files[0].endswith(file_name)


def test_latin1_files_are_read_with_their_encoding(tmp_path) -> None:
    text = "id,date,code,district\na1,2023-01-05,THF,Mölln\na2,2023-02-06,HOM,Zürich\n"
    (tmp_path / "in.csv").write_bytes(text.encode("latin-1"))
    spec = {
        **INCIDENT,
        "files": "in.csv",
        "encoding": "latin-1",
        "columns": {**INCIDENT["columns"], "area": "district"},
    }
    con, _ = stage_and_classify(tmp_path, spec)
    assert records(con, columns="area") == [("Mölln",), ("Zürich",)]


def test_parquet_is_read_with_its_row_numbers(tmp_path) -> None:
    source = tmp_path / "rows.csv"
    source.write_bytes(_csv(ROWS))
    duckdb.execute(
        f"COPY (SELECT * FROM read_csv('{source}', all_varchar = true)) TO '{tmp_path / 'in.parquet'}' (FORMAT parquet)"
    )
    con, _ = stage_and_classify(tmp_path, {**INCIDENT, "files": "in.parquet", "format": "parquet"})
    assert records(con) == EXPECTED


def test_zip_members_of_the_format_are_read_and_named(tmp_path) -> None:
    with zipfile.ZipFile(tmp_path / "in.zip", "w") as archive:
        archive.writestr("2023/part1.csv", _csv(ROWS[:3]))
        archive.writestr("2023/part2.csv", _csv([ROWS[0], ROWS[3]]))
        archive.writestr("legal_disclaimer.txt", "not data")
    con, staged = stage_and_classify(tmp_path, {**INCIDENT, "files": "in.zip"})
    assert [Path(f).name for f in staged.files] == ["part1.csv", "part2.csv"]
    assert staged.files[0].endswith("in.zip/2023/part1.csv")
    assert records(con) == [(2, "THF", "0502", None), (3, "HOM", "0101", None), (2, "ROB", "0401", None)]


def test_xlsx_sheet_rows_are_the_line_numbers(tmp_path) -> None:
    import datetime as dt

    book = openpyxl.Workbook()
    book.active.title = "notes"
    sheet = book.create_sheet("data")
    sheet.append(["id", "date", "code", "count"])
    sheet.append(["a1", dt.datetime(2023, 1, 5), "THF", 3])
    sheet.append([None, None, None, None])  # an empty row inside the data is a (quarantined) record
    sheet.append(["a3", dt.datetime(2023, 3, 7), "ROB", 2.0])
    sheet.append([None, None, None, None])  # trailing empty rows are formatting, not records
    book.save(tmp_path / "in.xlsx")
    spec = {
        **INCIDENT,
        "level": "aggregate",
        "files": "in.xlsx",
        "format": "xlsx",
        "sheet": "data",
        "columns": {"date": "date", "offence": "code", "count": "count"},
    }
    con, _ = stage_and_classify(tmp_path, spec)
    assert records(con, columns="line, national_code, count, reason") == [
        (2, "THF", 3.0, None),
        (3, None, None, "missing_field"),
        (4, "ROB", 2.0, None),
    ]
    with pytest.raises(SourceError, match=r"in.xlsx: source 'src': field 'sheet': no sheet 'other' \(sheets: "):
        stage_and_classify(tmp_path, {**spec, "sheet": "other"})


def test_wide_layout_gives_one_record_per_filled_cell(tmp_path) -> None:
    text = "country,indicator,2019 ,2020,2021,note\nXTS,HOM,5,,7,a\nXTS,THF,10,11,12,b\n"
    (tmp_path / "wide.csv").write_text(text)
    spec = {
        **INCIDENT,
        "level": "aggregate",
        "files": "wide.csv",
        "layout": "wide",
        "wide": {"columns": r"^\d{4}\s*$", "names_to": "year", "values_to": "n"},
        "columns": {"offence": "indicator", "date": "year", "count": "n"},
        "date_format": "%Y",
    }
    con, staged = stage_and_classify(tmp_path, spec)
    assert staged.records_in == 5  # the empty 2020 cell of HOM is not a record
    assert records(con, columns="line, cell, national_code, year(occurred_on), count") == [
        (2, "2019 ", "HOM", 2019, 5.0),
        (2, "2021", "HOM", 2021, 7.0),
        (3, "2019 ", "THF", 2019, 10.0),
        (3, "2020", "THF", 2020, 11.0),
        (3, "2021", "THF", 2021, 12.0),
    ]
    assert con.execute(f"SELECT count(DISTINCT record_id) FROM {records_table('src')}").fetchone()[0] == 5
    with pytest.raises(SourceError, match=r"field 'wide.columns': '\^Y\\d\{4\}\$' matches no column"):
        stage_and_classify(tmp_path, {**spec, "wide": {"columns": r"^Y\d{4}$"}})
    # a misspelt column is named with the columns a config can use, not the readers' line number ('ordinal')
    misspelt = {**spec, "columns": {**spec["columns"], "offence": "indicatr"}}
    with pytest.raises(
        SourceError, match=r"column 'indicatr' not in the file \(columns: country, indicator, note, year, n\)$"
    ):
        stage_and_classify(tmp_path, misspelt)


EUROSTAT = (
    "freq,iccs,unit,geo\\TIME_PERIOD\t2020 \t2021 \t2022 \n"
    "A,ICCS0101,NR,AT\t58 \t51 p\t: \n"
    "A,ICCS0101,P_HTHAB,AT\t0.65 \t0.57 \t: \n"
    "A,ICCS0101,NR,EL\t: c\t80 e\t77 \n"
    "A,ICCS0101_0102,NR,AT\t120 \t: \t: \n"
    "A,ICCS0101,NR,UKC-L\t600 b\t: \t: \n"
)
EUROSTAT_CORR = (
    "national_code,iccs_code,correspondence,note\nICCS0101,0101,full,\n"
    "ICCS0101_0102,,excluded,sum of ICCS0101 and ICCS0102 published separately\n"
)


def test_eurostat_bulk_tsv_keeps_flags_and_handles_groupings(tmp_path) -> None:
    (tmp_path / "estat.tsv").write_text(EUROSTAT)
    (tmp_path / "geo.csv").write_text("geo,iso3,area\nAT,AUT,\nEL,GRC,\nUKC-L,GBR,England and Wales\n")
    spec = {
        "level": "aggregate",
        "unit": "offences",
        "files": "estat.tsv",
        "format": "eurostat",
        "filter": {"unit": "NR"},
        "columns": {"offence": "iccs", "country": "geo", "date": "TIME_PERIOD", "count": "value"},
        "country_lookup": {"file": "geo.csv", "from": "geo", "to": "iso3", "area": "area"},
        "date_format": "%Y",
        "correspondence": "correspondence.csv",
    }
    con, staged = stage_and_classify(tmp_path, spec, EUROSTAT_CORR)
    assert staged.filtered_rows == 3  # the rate row's three cells, its ':' included
    got = records(con, columns="line, country, area, national_code, year(occurred_on), count, flag, reason")
    assert got == [  # every cell of the grid is a record: a bare ':' one is quarantined as missing_count
        (2, "AUT", None, "ICCS0101", 2020, 58.0, None, None),
        (2, "AUT", None, "ICCS0101", 2021, 51.0, "p", None),
        (2, "AUT", None, "ICCS0101", 2022, None, None, "missing_count"),
        (4, "GRC", None, "ICCS0101", 2020, None, "c", "missing_count"),
        (4, "GRC", None, "ICCS0101", 2021, 80.0, "e", None),
        (4, "GRC", None, "ICCS0101", 2022, 77.0, None, None),
        (5, "AUT", None, "ICCS0101_0102", 2020, 120.0, None, "excluded_offence"),
        (5, "AUT", None, "ICCS0101_0102", 2021, None, None, "excluded_offence"),
        (5, "AUT", None, "ICCS0101_0102", 2022, None, None, "excluded_offence"),
        (6, "GBR", "England and Wales", "ICCS0101", 2020, 600.0, "b", None),
        (6, "GBR", "England and Wales", "ICCS0101", 2021, None, None, "missing_count"),
        (6, "GBR", "England and Wales", "ICCS0101", 2022, None, None, "missing_count"),
    ]
    details = dict(con.execute(f"SELECT line, detail FROM {records_table('src')} WHERE reason IS NOT NULL ").fetchall())
    assert details[4] == "value: empty (missing, flag 'c')"
    assert "is excluded from ICCS by correspondence.csv: sum of ICCS0101 and ICCS0102" in details[5]
    src = load_config(tmp_path / "sources.yaml").sources["src"]
    counts = con.execute(
        f"SELECT country, year, count, flag FROM ({counts_sql(src, records_table('src'))}) ORDER BY ALL"
    ).fetchall()
    assert ("AUT", 2021, 51.0, "p") in counts and ("GBR", 2020, 600.0, "b") in counts


def test_filters_excludes_missing_values_and_number_formats(tmp_path) -> None:
    text = (
        "date;code;sex;region;n;lat;lon\n2023-01-01;THF;all;North;1.234,5;40,5;10,5\n"
        "2023-01-01;THF;male;North;700;NA;NA\n2023-01-01;HOM;all;Region total;9;NA;NA\n"
        "2023-01-01;HOM;all;South;2;NA;10,1\n"
    )
    (tmp_path / "in.csv").write_text(text)
    spec = {
        **INCIDENT,
        "level": "aggregate",
        "files": "in.csv",
        "delimiter": ";",
        "decimal": ",",
        "thousands": ".",
        "missing_values": ["NA"],
        "filter": {"sex": "all"},
        "fractional_counts": True,
        "exclude": {"region": ["Region total"]},
        "columns": {
            "date": "date",
            "offence": "code",
            "area": "region",
            "count": "n",
            "latitude": "lat",
            "longitude": "lon",
        },
    }
    con, staged = stage_and_classify(tmp_path, spec)
    assert staged.filtered_rows == 2 and staged.records_in == 2
    assert records(con, columns="line, area, count, latitude, longitude, reason") == [
        (2, "North", 1234.5, 40.5, 10.5, None),
        (5, "South", 2.0, None, 10.1, "invalid_coordinates"),
    ]


def test_fields_from_several_columns_and_constants(tmp_path) -> None:
    (tmp_path / "in.csv").write_text("YEAR,MONTH,DAY,kind\n2020,6,19,x\n2020,12,1,y\n")
    spec = {
        **INCIDENT,
        "files": "in.csv",
        "columns": {"date": ["YEAR", "MONTH", "DAY"]},
        "constants": {"offence": "THF", "area": "Vancouver"},
    }
    con, _ = stage_and_classify(tmp_path, spec)
    assert records(con, columns="occurred_on::VARCHAR, national_code, area, iccs_code") == [
        ("2020-06-19", "THF", "Vancouver", "0502"),
        ("2020-12-01", "THF", "Vancouver", "0502"),
    ]


def test_quarters_of_a_financial_year_are_dated_by_their_first_month(tmp_path) -> None:
    (tmp_path / "in.csv").write_text(
        "fy,q,code,n\n2017/18,1,THF,5\n2017/18,3,THF,6\n2017/18,4,THF,7\n2017/18,5,THF,8\n"
    )
    spec = {
        **INCIDENT,
        "level": "aggregate",
        "files": "in.csv",
        "date_format": "%Y/%y-%q",
        "fiscal_year_start": 4,
        "columns": {"date": ["fy", "q"], "offence": "code", "count": "n"},
    }
    con, _ = stage_and_classify(tmp_path, spec)
    assert records(con, columns="occurred_on::VARCHAR, reason") == [
        ("2017-04-01", None),
        ("2017-10-01", None),
        ("2018-01-01", None),
        (None, "invalid_date"),
    ]


def test_blank_lines_broken_quotes_and_bad_bytes_keep_every_line_number(tmp_path) -> None:
    lines = [
        b"id,date,code",
        b"a1,2023-01-05,THF",
        b"",
        b'a2,2023-01-06,"THF',
        b"a3,2023-01-07,THF",
        "a4,2023-01-08,TH\u00c9".encode("latin-1"),
        b"a5,2023-01-09,THF",
        b'a6,2023-01-10,"HOM',
        b"a7,2023-01-11,HOM",
        b'a8,2023-01-12,"x, ""quoted""",HOM',
        b"a9,2023-01-13,THF",
    ]
    (tmp_path / "in.csv").write_bytes(b"\n".join(lines) + b"\n")
    con, staged = stage_and_classify(tmp_path, {**INCIDENT, "files": "in.csv"})
    assert lines_accounted(con) == [2, 4, 5, 6, 7, 8, 9, 10, 11]  # line 3 is blank: not a record
    assert staged.records_in == 9
    rejected = dict(con.execute(f"SELECT line, error_type FROM {rejects_table('src')}").fetchall())
    assert set(rejected) == {4, 6, 8, 10}
    assert "UNQUOTED" in rejected[4] and "ENCODING" in rejected[6]
    assert records(con, columns="line, record_id") == [(2, "a1"), (5, "a3"), (7, "a5"), (9, "a7"), (11, "a9")]
    raw = con.execute(f"SELECT csv_line FROM {rejects_table('src')} WHERE line = 4").fetchone()[0]
    assert raw == 'a2,2023-01-06,"THF'  # the broken line alone, not the rest of the file


@pytest.mark.parametrize(
    ("file_name", "data", "extra", "message"),
    [
        ("in.csv", b"", {}, r"in.csv: source 'src': line 1: the file is empty"),
        ("in.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", {}, r"in.csv: source 'src': line 1: not utf-8 text"),
        (
            "in.csv",
            _csv([r.replace(",", ";") for r in ROWS]),
            {},
            r"field 'columns\.\w+': column '\w+' not in the file \(columns: id;date;code\); the header has a single "
            r"column: is the delimiter ';'",
        ),
        (
            "in.csv",
            _csv([ROWS[0].replace("code", "offence_code"), *ROWS[1:]]),
            {},
            r"in.csv: source 'src': field 'columns.offence': column 'code' not in the file",
        ),
        ("in.zip", b"PK\x05\x06" + b"\x00" * 18, {}, r"in.zip: source 'src': the zip archive has no .csv member"),
        ("in.xlsx", b"not a workbook", {"format": "xlsx"}, r"in.xlsx: source 'src': cannot be read as xlsx"),
        ("in.csv.bz2", b"BZh9 broken", {}, r"in.csv.bz2: source 'src': cannot be read as bzip2"),
        ("in.csv", _csv(ROWS), {"files": "elsewhere/*.csv"}, r"elsewhere/\*.csv: source 'src': field 'files' matches"),
    ],
)
def test_unreadable_input_is_one_error_naming_file_and_problem(tmp_path, file_name, data, extra, message) -> None:
    (tmp_path / file_name).write_bytes(data)
    with pytest.raises(SourceError, match=message) as caught:
        stage_and_classify(tmp_path, {**INCIDENT, "files": file_name, **extra})
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"format": "json"}, r"field 'format': 'json' is not one of csv, tsv, parquet, xlsx, eurostat"),
        ({"delimiter": ";;"}, r"field 'delimiter'"),
        ({"encoding": "ebcdic"}, r"field 'encoding': 'ebcdic' is not supported"),
        ({"layout": "wide"}, r"field 'wide.columns'"),
        ({"wide": {"columns": "(["}}, r"field 'wide.columns': not a regular expression"),
        ({"offence_match": "fuzzy"}, r"field 'offence_match': 'fuzzy' is not one of code, label"),
        ({"constants": {"offence": "X"}}, r"given both as columns and as constants"),
        (
            {"correspondence": "${ICCS_NOT_SET_ANYWHERE}/c.csv"},
            r"environment variable ICCS_NOT_SET_ANYWHERE is not set",
        ),
        ({"country": None}, r"field 'country' is required \(or columns.country"),
        ({"date_format": "%Y-%q-%m"}, r"%q \(quarter\) cannot be combined"),
        ({"nested_totals": True}, r"field 'nested_totals'"),
        ({"country_lookup": {"file": "correspondence.csv", "from": "a", "to": "b"}}, r"needs columns.country"),
    ],
)
def test_configuration_mistakes_are_one_line_naming_the_field(tmp_path, change, message) -> None:
    spec = {**INCIDENT, "files": "in.csv", **change}
    spec = {k: v for k, v in spec.items() if v is not None}
    with pytest.raises(ConfigError, match=message):
        load_config(write_config(tmp_path, spec))


def test_population_files_scale_filter_look_up_and_sum(tmp_path) -> None:
    (tmp_path / "pop.csv").write_text(
        'name,year,sex,pop_k\nNorthland,2020,all,"1,500.5"\nNorthland,2020,male,700\n'
        "Southland,2020,all,250\nNowhere,2020,all,10\n"
    )
    (tmp_path / "names.csv").write_text("name,iso3\nNorthland,XNO\nSouthland,XSO\n")
    (tmp_path / "lsoa.csv").write_text("small,persons\nS1,100\nS2,50\nS3,25\n")
    (tmp_path / "areas.csv").write_text("small,district\nS1,D1\nS2,D1\n")
    population = [
        {
            "files": "pop.csv",
            "columns": {"country": "name", "year": "year", "population": "pop_k"},
            "filter": {"sex": "all"},
            "thousands": ",",
            "multiplier": 1000,
            "country_lookup": {"file": "names.csv", "from": "name", "to": "iso3"},
        },
        {
            "files": "lsoa.csv",
            "country": "XTS",
            "year": 2011,
            "columns": {"area": "small", "population": "persons"},
            "area_lookup": {"file": "areas.csv", "from": "small", "to": "district"},
        },
    ]
    (tmp_path / "in.csv").write_bytes(_csv(ROWS))
    config = load_config(write_config(tmp_path, {**INCIDENT, "files": "in.csv"}, population=population))
    con = duckdb.connect()
    ensure_schema(con)
    load_population(con, config.population)
    assert con.execute("SELECT country, area, year, population FROM population ORDER BY ALL").fetchall() == [
        ("XNO", None, 2020, 1500500.0),
        ("XSO", None, 2020, 250000.0),
        ("XTS", "D1", 2011, 150.0),
        ("XTS", None, 2011, 150.0),
    ]  # S3 has no district: left out, not national


def test_a_line_rejected_several_times_gives_the_same_quarantine_row_whatever_the_order() -> None:
    """DuckDB's parallel reader reported one malformed line five times, in an order that changed between runs: a
    rerun then wrote a different quarantine row than a clean run (found by test_kill_anywhere)."""
    from warehouse.staging import _store_rejects

    rows = []
    for order in ("ASC", "DESC"):
        with duckdb.connect() as con:
            con.execute(
                "CREATE TABLE rejects (file_index INTEGER, file VARCHAR, line BIGINT, error_type VARCHAR, "
                "message VARCHAR, csv_line VARCHAR)"
            )
            con.execute(f"""
                CREATE TABLE iccs_reject_errors AS
                SELECT 7 AS line, 'MISSING COLUMNS' AS error_type, 'Expected 6 Found: ' || i AS error_message,
                       'a;b;c' AS csv_line
                FROM range(1, 6) t(i) ORDER BY i {order}""")
            _store_rejects(con, "rejects", 0, "in.csv", 0)
            rows.append(con.execute("SELECT * FROM rejects").fetchall())
    assert rows[0] == rows[1]
    assert rows[0][0][4] == "; ".join(f"Expected 6 Found: {i}" for i in range(1, 6))
