"""``format: sdmx-csv``: SDMX-CSV 1.0, 2.0 and 2.1 files (Eurostat's downloads, the UN SDG database, our own
export) read as a source by configuration only: columns by their SDMX codes, labels reduced to codes, ACTION D
rows left out as filtered, UN M49 areas turned into ISO3 codes, and every row loaded, quarantined or filtered.

The 2.x and SDG fixtures are written by pysdmx, the SDMX library, so they are shaped as SDMX tools write them."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml
from pysdmx.io import write_sdmx
from pysdmx.io.format import Format
from pysdmx.io.pd import PandasDataset
from pysdmx.model import Code, Codelist, Component, Components, Concept, DataType, Role, Schema
from pysdmx.model.dataset import ActionType

from pipelines.runner import run_pipeline
from schemas.source_config import ConfigError, load_config
from tests.exchange_fixture import ICCS_COLUMNS
from tests.formats_fixture import records, stage_and_classify, write_config
from warehouse.classify import classify_source, records_table
from warehouse.correspondence import load_correspondence
from warehouse.ddl import ensure_schema
from warehouse.load import load_file
from warehouse.population import load_population
from warehouse.reference import load_classification
from warehouse.staging import SourceError, rejects_table, stage_source

EXAMPLE = Path(__file__).resolve().parents[1] / "pipelines" / "sources" / "sdmx_exchange"


def _reasons(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return dict(
        con.execute(
            f"SELECT reason, count(*) FROM {records_table('src')} WHERE reason IS NOT NULL GROUP BY 1"
        ).fetchall()
    )


def _details(con: duckdb.DuckDBPyConnection) -> dict[int, str]:
    return dict(con.execute(f"SELECT line, detail FROM {records_table('src')} WHERE reason IS NOT NULL").fetchall())


# ---------------------------------------------------------------------------------------------------------------
# SDMX-CSV 1.0 as Eurostat's download gives it


EUROSTAT_HEADER = "DATAFLOW,LAST UPDATE,freq,iccs,unit,geo,TIME_PERIOD,OBS_VALUE,OBS_FLAG"
EUROSTAT_ROWS = [
    "ESTAT:CRIM_OFF_CAT(1.0),21/03/24 23:00:00,A,ICCS0101,NR,AT,2019,74,p",
    "ESTAT:CRIM_OFF_CAT(1.0),21/03/24 23:00:00,A,ICCS0101,NR,AT,2020,,c",  # confidential: no value
    "ESTAT:CRIM_OFF_CAT(1.0),21/03/24 23:00:00,A,ICCS0101,NR,AT,2021,:,",  # not available
    "ESTAT:CRIM_OFF_CAT(1.0),21/03/24 23:00:00,A,ICCS0101,P_HTHAB,AT,2019,0.83,p",  # a rate: filtered out
    "ESTAT:CRIM_OFF_CAT(1.0),21/03/24 23:00:00,A,ICCS0101,NR,EL,2019,80,e",
    "ESTAT:CRIM_OFF_CAT(1.0),21/03/24 23:00:00,A,ICCS0101,NR,EL,2020,77",  # a field short: malformed
    "ESTAT:CRIM_OFF_CAT(1.0),21/03/24 23:00:00,A,ICCS0101_0102,NR,AT,2019,120,",  # a grouping: excluded
    "ESTAT:CRIM_OFF_CAT(1.0),21/03/24 23:00:00,A,ICCS0401,NR,UKC-L,2019,600,b",
    "ESTAT:CRIM_OFF_CAT(1.0),21/03/24 23:00:00,A,ICCS0401,NR,XX,2019,5,",  # a geo the lookup lacks
]
EUROSTAT_CORR = (
    "national_code,iccs_code,correspondence,note\nICCS0101,0101,full,\nICCS0401,0401,full,\n"
    "ICCS0101_0102,,excluded,sum of ICCS0101 and ICCS0102 published separately\n"
)
EUROSTAT_SPEC = {
    "level": "aggregate",
    "unit": "offences",
    "files": "estat.csv",
    "format": "sdmx-csv",
    "filter": {"freq": "A", "unit": "NR"},
    "columns": {"offence": "iccs", "country": "geo", "date": "TIME_PERIOD", "count": "OBS_VALUE", "flag": "OBS_FLAG"},
    "country_lookup": {"file": "geo.csv", "from": "geo", "to": "iso3", "area": "area"},
    "date_format": "%Y",
    "correspondence": "correspondence.csv",
}


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_sdmx_csv_1_0_as_eurostat_downloads_it(tmp_path, delimiter) -> None:
    lines = [EUROSTAT_HEADER, *EUROSTAT_ROWS]
    (tmp_path / "estat.csv").write_text("\n".join(line.replace(",", delimiter) for line in lines) + "\n")
    (tmp_path / "geo.csv").write_text("geo,iso3,area\nAT,AUT,\nEL,GRC,\nUKC-L,GBR,England and Wales\n")
    spec = {**EUROSTAT_SPEC, **({"delimiter": delimiter} if delimiter != "," else {})}
    con, staged = stage_and_classify(tmp_path, spec, EUROSTAT_CORR)
    # 9 data lines: 1 rate filtered out, 1 malformed line rejected, 7 records
    assert (staged.filtered_rows, staged.rejected_lines, staged.rows) == (1, 1, 7)
    got = records(con, columns="line, country, area, national_code, year(occurred_on), count, flag, reason")
    assert got == [
        (2, "AUT", None, "ICCS0101", 2019, 74.0, "p", None),
        (3, "AUT", None, "ICCS0101", 2020, None, "c", "missing_count"),
        (4, "AUT", None, "ICCS0101", 2021, None, None, "missing_count"),
        (6, "GRC", None, "ICCS0101", 2019, 80.0, "e", None),
        (8, "AUT", None, "ICCS0101_0102", 2019, 120.0, None, "excluded_offence"),
        (9, "GBR", "England and Wales", "ICCS0401", 2019, 600.0, "b", None),
        (10, None, None, "ICCS0401", 2019, 5.0, None, "missing_field"),
    ]
    assert _reasons(con) == {"missing_count": 2, "excluded_offence": 1, "missing_field": 1}
    details = _details(con)
    assert details[3] == "OBS_VALUE: empty (missing, flag 'c')"
    assert details[4] == "OBS_VALUE: ':' (missing)"
    assert details[10] == "geo: 'XX' not in geo.csv"
    (rejected,) = con.execute(f"SELECT file, line, error_type FROM {rejects_table('src')}").fetchall()
    assert rejected[0].endswith("estat.csv") and rejected[1] == 7 and "MISSING COLUMNS" in rejected[2]


# ---------------------------------------------------------------------------------------------------------------
# SDMX-CSV 2.0 and 2.1 as pysdmx writes them, with and without labels, with ACTION D rows


def _component(cid: str, role: Role, name: str, codes: dict[str, str] | None = None, dtype=DataType.STRING):
    codelist = (
        Codelist(id=f"CL_{cid}", agency="ICCS", name=name, items=[Code(id=c, name=n) for c, n in codes.items()])
        if codes
        else None
    )
    return Component(
        id=cid,
        required=role != Role.ATTRIBUTE,
        role=role,
        concept=Concept(id=cid, name=name, dtype=dtype),
        local_codes=codelist,
        attachment_level="O" if role == Role.ATTRIBUTE else None,
    )


def iccs_schema() -> Schema:
    """The ICCS_CRIME structure of our own export: dimensions SOURCE, FREQ, ICCS, UNIT, COUNTING_UNIT, STAGE, GEO,
    AREA, TIME_PERIOD; measure OBS_VALUE; attribute OBS_STATUS."""
    dims = [
        ("SOURCE", "Source"),
        ("FREQ", "Frequency"),
        ("ICCS", "ICCS category"),
        ("UNIT", "Unit of measure"),
        ("COUNTING_UNIT", "Counting unit"),
        ("STAGE", "Stage of the criminal justice process"),
        ("GEO", "Country"),
        ("AREA", "Area"),
        ("TIME_PERIOD", "Time period"),
    ]
    components = [_component(cid, Role.DIMENSION, name) for cid, name in dims]
    components.append(_component("OBS_VALUE", Role.MEASURE, "Observation value", dtype=DataType.DOUBLE))
    components.append(_component("OBS_STATUS", Role.ATTRIBUTE, "Observation status"))
    return Schema(
        context="dataflow", agency="ICCS", id="ICCS_CRIME", version="1.0", components=Components(components),
        name="ICCS crime statistics",
    )  # fmt: skip


def iccs_frame(rows: list[tuple]) -> pd.DataFrame:
    """Rows of (FREQ, ICCS, UNIT, GEO, AREA, TIME_PERIOD, OBS_VALUE, OBS_STATUS) of one source, offences, police."""
    columns = ["FREQ", "ICCS", "UNIT", "GEO", "AREA", "TIME_PERIOD", "OBS_VALUE", "OBS_STATUS"]
    frame = pd.DataFrame(rows, columns=columns)
    frame.insert(0, "SOURCE", "xts_police")
    frame.insert(4, "COUNTING_UNIT", "offences")
    frame.insert(5, "STAGE", "police")
    return frame


ICCS_ROWS = [
    ("A", "ICCS0101", "NR", "AUT", "_T", "2020", 58.0, "p"),
    ("A", "ICCS0101", "NR", "AUT", "_T", "2021", None, "c"),  # confidential: no value
    ("A", "ICCS0101", "P_HTHAB", "AUT", "_T", "2020", 0.65, ""),  # a rate
    ("M", "ICCS0101", "NR", "AUT", "_T", "2020-03", 4.0, ""),  # a month
    ("A", "ICCS0401", "NR", "AUT", "Wien", "2020", 310.0, "p,e"),
    ("A", "ICCS9999", "NR", "AUT", "_T", "2020", 3.0, ""),  # not an ICCS code of the table
]
DELETED = [
    ("A", "ICCS0101", "NR", "AUT", "_T", "2019", 61.0, ""),
    ("A", "ICCS0401", "NR", "AUT", "Wien", "2019", 1.0, ""),
]
ICCS_CORR = "national_code,iccs_code\nICCS0101,0101\nICCS0401,0401\n"


def write_iccs(path: Path, fmt: Format, labels: str | None, rows=ICCS_ROWS, deleted=DELETED) -> str:
    schema = iccs_schema()
    datasets = [PandasDataset(structure=schema, data=iccs_frame(rows))]
    if deleted:
        datasets.append(PandasDataset(structure=schema, data=iccs_frame(deleted), action=ActionType.Delete))
    # pysdmx 1.21 labels a missing value as 'None: None'; a labelled cell without a value is empty
    text = write_sdmx(datasets, fmt, labels=labels).replace(",None: None", ",")
    path.write_text(text, encoding="utf-8")
    return text


@pytest.mark.parametrize(
    ("fmt", "labels"),
    [
        (Format.DATA_SDMX_CSV_2_0_0, None),
        (Format.DATA_SDMX_CSV_2_0_0, "both"),
        (Format.DATA_SDMX_CSV_2_1_0, None),
        (Format.DATA_SDMX_CSV_2_1_0, "both"),
    ],
)
def test_sdmx_csv_2_x_with_and_without_labels_leaves_delete_rows_out(tmp_path, fmt, labels) -> None:
    text = write_iccs(tmp_path / "iccs.csv", fmt, labels)
    header = text.splitlines()[0]
    assert header.startswith("STRUCTURE,STRUCTURE_ID,ACTION,SOURCE")
    assert ("FREQ: Frequency" in header) == (labels == "both")
    assert sum(",D," in line for line in text.splitlines()) == 2
    spec = {
        "level": "aggregate",
        "unit": "offences",
        "files": "iccs.csv",
        "format": "sdmx-csv",
        "filter": {"FREQ": "A", "UNIT": "NR"},
        "columns": dict(ICCS_COLUMNS),
        "total_area": "_T",
        "date_format": "%Y",
        "correspondence": "correspondence.csv",
    }
    con, staged = stage_and_classify(tmp_path, spec, ICCS_CORR)
    # 8 data rows: the rate, the month and the 2 delete rows are filtered out
    assert (staged.filtered_rows, staged.rejected_lines, staged.rows) == (4, 0, 4)
    got = records(con, columns="line, country, area, national_code, year(occurred_on), count, flag, reason")
    assert got == [  # codes, never 'A: A' or 'AUT: AUT'; pysdmx's '#N/A' (no status) is no flag
        (2, "AUT", "_T", "ICCS0101", 2020, 58.0, "p", None),
        (3, "AUT", "_T", "ICCS0101", 2021, None, "c", "missing_count"),
        (6, "AUT", "Wien", "ICCS0401", 2020, 310.0, "p,e", None),
        (7, "AUT", "_T", "ICCS9999", 2020, 3.0, None, "unmapped_offence"),
    ]
    assert _details(con)[3] == "OBS_VALUE: 'NaN' (missing, flag 'c')"


def test_real_labels_are_reduced_to_codes_and_filters_match_the_code(tmp_path) -> None:
    """Labels as publishers write them ('A: Annual'), a BOM, quoted values with the delimiter inside."""
    text = (
        "\ufeffSTRUCTURE,STRUCTURE_ID,ACTION,FREQ: Frequency,ICCS: ICCS category,GEO: Country,"
        "TIME_PERIOD: Time period,OBS_VALUE: Observation value,OBS_STATUS: Observation status\n"
        'dataflow,ICCS:ICCS_CRIME(1.0): ICCS crime,I,A: Annual,ICCS0101: Intentional homicide,"AUT: Austria",'
        '2020,58,"p: Provisional"\n'
        "dataflow,ICCS:ICCS_CRIME(1.0): ICCS crime,A,M: Monthly,ICCS0101: Intentional homicide,AUT: Austria,"
        "2020-01,5,\n"
        'dataflow,ICCS:ICCS_CRIME(1.0): ICCS crime,d,A: Annual,"ICCS0101: Intentional homicide, completed",'
        "AUT: Austria,2019,1,\n"
        "dataflow,ICCS:ICCS_CRIME(1.0): ICCS crime,R,A: Annual,ICCS0101: Intentional homicide,DEU: Germany,"
        "2020,245,e: Estimated\n"
    )
    (tmp_path / "in.csv").write_text(text, encoding="utf-8")
    spec = {
        "level": "aggregate",
        "unit": "offences",
        "files": "in.csv",
        "format": "sdmx-csv",
        "filter": {"FREQ": "A", "STRUCTURE_ID": "ICCS:ICCS_CRIME(1.0)"},
        "columns": {
            "offence": "ICCS",
            "country": "GEO",
            "date": "TIME_PERIOD",
            "count": "OBS_VALUE",
            "flag": "OBS_STATUS",
        },
        "date_format": "%Y",
        "correspondence": "correspondence.csv",
    }
    con, staged = stage_and_classify(tmp_path, spec, ICCS_CORR)
    assert (staged.filtered_rows, staged.rows) == (2, 2)  # the month; the delete row (action 'd', any case)
    assert records(con, columns="line, country, national_code, count, flag, reason") == [
        (2, "AUT", "ICCS0101", 58.0, "p", None),
        (5, "DEU", "ICCS0101", 245.0, "e", None),
    ]


# ---------------------------------------------------------------------------------------------------------------
# The UN SDG global database: M49 areas, a SEX breakdown


def sdg_schema() -> Schema:
    dims = ["FREQ", "REPORTING_TYPE", "SERIES", "REF_AREA", "SEX", "AGE", "URBANISATION", "TIME_PERIOD"]
    components = [_component(cid, Role.DIMENSION, cid.replace("_", " ").title()) for cid in dims]
    components.append(_component("OBS_VALUE", Role.MEASURE, "Observation value", dtype=DataType.STRING))
    for cid in ("UNIT_MEASURE", "UNIT_MULT", "NATURE"):
        components.append(_component(cid, Role.ATTRIBUTE, cid.replace("_", " ").title()))
    return Schema(
        context="dataflow", agency="UN", id="DF_SDG_GLH", version="1.24", components=Components(components),
        name="SDG global database",
    )  # fmt: skip


SDG_ROWS = [  # (SERIES, REF_AREA, SEX, TIME_PERIOD, OBS_VALUE, UNIT_MULT, NATURE)
    ("VC_IHR_PSRCN", "826", "_T", "2020", "696", "0", "C"),
    ("VC_IHR_PSRCN", "826", "M", "2020", "519", "0", "C"),
    ("VC_IHR_PSRCN", "826", "F", "2020", "177", "0", "C"),
    ("VC_IHR_PSRCN", "004", "_T", "2018", "3800", "0", "E"),  # Afghanistan with its leading zeros
    ("VC_IHR_PSRCN", "4", "_T", "2019", "3700", "0", "E"),  # ... and without
    ("VC_IHR_PSRCN", "412", "_T", "2020", "36", "0", "C"),  # Kosovo, under the code the SDG database uses
    ("VC_IHR_PSRCN", "150", "_T", "2020", "5000", "0", "M"),  # Europe: a region, not a country
    ("VC_IHR_PSRCN", "826", "X", "2020", "1", "0", "C"),  # not a code of SEX
    ("VC_IHR_PSRCN", "250", "_T", "2020", "NaN", "0", "C"),  # France: no value
    ("VC_IHR_PSRC", "826", "_T", "2020", "1.04", "0", "C"),  # the rate per 100,000: another series
    ("VC_IHR_PSRCN", "076", "_T", "2020", "47.7", "3", "C"),  # in thousands: left out by filter UNIT_MULT 0
]


def write_sdg(path: Path, fmt: Format) -> None:
    frame = pd.DataFrame(
        SDG_ROWS, columns=["SERIES", "REF_AREA", "SEX", "TIME_PERIOD", "OBS_VALUE", "UNIT_MULT", "NATURE"]
    )
    frame.insert(0, "FREQ", "A")
    frame.insert(1, "REPORTING_TYPE", "G")
    frame.insert(5, "AGE", "_T")
    frame.insert(6, "URBANISATION", "_T")
    frame["UNIT_MEASURE"] = "NUMBER"
    text = write_sdmx([PandasDataset(structure=sdg_schema(), data=frame)], fmt, labels="both")
    text = text.replace(",None: None", ",")  # as in write_iccs
    path.write_text(text, encoding="utf-8")


SDG_SPEC = {
    "level": "aggregate",
    "unit": "victims",
    "files": "sdg.csv",
    "format": "sdmx-csv",
    "filter": {"SERIES": "VC_IHR_PSRCN", "UNIT_MULT": "0"},
    "columns": {
        "offence": "SERIES",
        "country": "REF_AREA",
        "date": "TIME_PERIOD",
        "count": "OBS_VALUE",
        "flag": "NATURE",
    },
    "country_lookup": "m49",
    "disaggregations": {"victim_sex": "SEX"},
    "date_format": "%Y",
    "correspondence": "correspondence.csv",
}


@pytest.mark.parametrize("fmt", [Format.DATA_SDMX_CSV_1_0_0, Format.DATA_SDMX_CSV_2_0_0])
def test_sdg_database_m49_areas_and_sex_breakdown(tmp_path, fmt) -> None:
    write_sdg(tmp_path / "sdg.csv", fmt)
    con, staged = stage_and_classify(tmp_path, SDG_SPEC, "national_code,iccs_code\nVC_IHR_PSRCN,0101\n")
    assert (staged.filtered_rows, staged.rows) == (2, 9)
    got = records(con, columns="line, country, year(occurred_on), victim_sex, count, flag, reason")
    assert got == [
        (2, "GBR", 2020, "_T", 696.0, "C", None),
        (3, "GBR", 2020, "M", 519.0, "C", None),
        (4, "GBR", 2020, "F", 177.0, "C", None),
        (5, "AFG", 2018, "_T", 3800.0, "E", None),
        (6, "AFG", 2019, "_T", 3700.0, "E", None),
        (7, "XKX", 2020, "_T", 36.0, "C", None),
        (8, None, 2020, "_T", 5000.0, "M", "missing_field"),
        (9, "GBR", 2020, None, 1.0, "C", "invalid_disaggregation"),
        (10, "FRA", 2020, "_T", None, "C", "missing_count"),
    ]
    details = _details(con)
    assert details[8] == "REF_AREA: '150' is not a country or territory of UN M49 (m49.csv; a region or group?)"
    assert details[9].startswith("SEX: 'X' is not a value of victim_sex")


def test_m49_lookup_is_for_sources_and_sdmx_csv_is_long(tmp_path) -> None:
    (tmp_path / "sdg.csv").write_text("DATAFLOW,REF_AREA\n")
    population = [{"files": "sdg.csv", "format": "sdmx-csv", "country_lookup": "m49"}]
    with pytest.raises(ConfigError, match=r"population\[0\]: field 'country_lookup': 'm49' is available for a source"):
        load_config(write_config(tmp_path, SDG_SPEC, population=population))
    with pytest.raises(ConfigError, match=r"field 'layout': an SDMX-CSV file is already long"):
        load_config(write_config(tmp_path, {**SDG_SPEC, "layout": "wide", "wide": {"columns": "^2"}}))
    with pytest.raises(ConfigError, match=r"field 'country_lookup' needs file, from .* or is 'm49'"):
        load_config(write_config(tmp_path, {**SDG_SPEC, "country_lookup": "M49 codes"}))
    src = load_config(write_config(tmp_path, SDG_SPEC)).sources["src"]
    assert src.read.excludes == (("ACTION", ("D",)),) and src.country_lookup.numeric


# ---------------------------------------------------------------------------------------------------------------
# Not SDMX-CSV


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "year,code,count\n2020,ICCS0101,5\n",
            r"^\S*in\.csv: source 'src': line 1: not SDMX-CSV: no DATAFLOW \(SDMX-CSV 1\.0\) or STRUCTURE "
            r"\(2\.0, 2\.1\) column \(columns: year, code, count\)$",
        ),
        (
            "STRUCTURE;STRUCTURE_ID;ACTION;ICCS;TIME_PERIOD;OBS_VALUE\n",
            r"not SDMX-CSV: .* is the delimiter ';' rather than ','\?$",
        ),
    ],
)
def test_a_file_that_is_not_sdmx_csv_is_one_line_naming_it(tmp_path, text, message) -> None:
    (tmp_path / "in.csv").write_text(text)
    spec = {**EUROSTAT_SPEC, "files": "in.csv", "country": "AUT", "filter": {}, "country_lookup": None}
    spec["columns"] = {"offence": "ICCS", "date": "TIME_PERIOD", "count": "OBS_VALUE"}
    spec = {k: v for k, v in spec.items() if v}
    with pytest.raises(SourceError, match=message) as caught:
        stage_and_classify(tmp_path, spec)
    assert "\n" not in str(caught.value)


# ---------------------------------------------------------------------------------------------------------------
# The shipped example: pipelines/sources/sdmx_exchange


def test_the_sdmx_exchange_example_loads_our_own_export(tmp_path, monkeypatch) -> None:
    """A file shaped as `iccs export --format sdmx-csv --dataset iccs` writes it, through the example's
    configuration: every ICCS level of a cell, each count also in its ancestors; the whole country as _T."""
    (tmp_path / "sdmx_exchange").mkdir()
    rows = [
        # Austria 2020, national: 01 holds 0101, 0102 and 0103 and 12 more; 0103 holds 01031 and 10 more
        ("A", "ICCS01", "NR", "AUT", "_T", "2020", 150.0, "p"),
        ("A", "ICCS0101", "NR", "AUT", "_T", "2020", 58.0, "p"),
        ("A", "ICCS0102", "NR", "AUT", "_T", "2020", 50.0, "e"),
        ("A", "ICCS0103", "NR", "AUT", "_T", "2020", 30.0, ""),
        ("A", "ICCS01031", "NR", "AUT", "_T", "2020", 20.0, ""),
        ("A", "ICCS01", "P_HTHAB", "AUT", "_T", "2020", 1.68, ""),  # a rate
        ("M", "ICCS01", "NR", "AUT", "_T", "2020-03", 12.0, ""),  # a month
        ("A", "ICCS0401", "NR", "AUT", "Wien", "2020", 310.0, "p,e"),  # an area
        ("A", "ICCS0401", "NR", "AUT", "_T", "2020", None, "c"),  # confidential
    ]
    write_iccs(tmp_path / "sdmx_exchange" / "iccs_2020.csv", Format.DATA_SDMX_CSV_2_1_0, None, rows, DELETED)
    assert yaml.safe_load((EXAMPLE / "sources.yaml").read_text())["sources"]["sdmx_exchange"]["files"].startswith(
        "${ICCS_SHARED_DATA}/"
    )
    monkeypatch.setenv("ICCS_SHARED_DATA", str(tmp_path))
    config = load_config(EXAMPLE / "sources.yaml")
    (src,) = config.sources.values()
    assert (src.read.format, src.level, src.nested_totals, src.total_area) == ("sdmx-csv", "aggregate", True, "_T")
    con = duckdb.connect()
    ensure_schema(con)
    load_classification(con)
    load_correspondence(con, src.name, src.correspondence)
    staged = stage_source(con, src)
    classify_source(con, src)
    (path,) = src.paths()
    loaded = load_file(con, src, str(path), "r1", records_filtered=staged.filtered_rows)
    assert (loaded.records_in, loaded.records_loaded, loaded.records_quarantined) == (7, 6, 1)
    assert loaded.reasons == {"missing_count": 1}
    assert con.execute("SELECT records_filtered FROM runs").fetchall() == [(4,)]  # rate, month, 2 deletions
    counts = con.execute(
        "SELECT iccs_code, national_code, area, year, count, flag FROM offence_counts ORDER BY iccs_code, area"
    ).fetchall()
    assert counts == [  # stored net of the published sub-categories, so that roll-ups add up
        ("01", "ICCS01", None, 2020, 12.0, "p"),
        ("0101", "ICCS0101", None, 2020, 58.0, "p"),
        ("0102", "ICCS0102", None, 2020, 50.0, "e"),
        ("0103", "ICCS0103", None, 2020, 10.0, None),
        ("01031", "ICCS01031", None, 2020, 20.0, None),
        ("0401", "ICCS0401", "Wien", 2020, 310.0, "p,e"),
    ]
    national = dict(
        con.execute(
            "SELECT iccs_code, count FROM v_counts WHERE area IS NULL AND year = 2020 AND iccs_code IN ('01', '0103')"
        ).fetchall()
    )
    assert national == {"01": 150.0, "0103": 30.0}


def test_an_unread_breakdown_with_the_sdmx_total_code_is_named(tmp_path) -> None:
    """An AGE column nobody reads, holding _T beside age groups: its total rows would be added to the groups."""
    (tmp_path / "sdg.csv").write_text(
        "DATAFLOW,SERIES,REF_AREA,AGE,TIME_PERIOD,OBS_VALUE\n"
        "UN:DF_SDG_GLH(1.24),VC_IHR_PSRCN,826,_T,2020,696\n"
        "UN:DF_SDG_GLH(1.24),VC_IHR_PSRCN,826,Y0T14,2020,40\n"
        "UN:DF_SDG_GLH(1.24),VC_IHR_PSRCN,826,Y_GE15,2020,656\n"
    )
    spec = {**SDG_SPEC, "filter": {}, "disaggregations": None}
    spec = {k: v for k, v in spec.items() if v}
    spec["columns"] = {k: v for k, v in spec["columns"].items() if k != "flag"}
    _, staged = stage_and_classify(tmp_path, spec, "national_code,iccs_code\nVC_IHR_PSRCN,0101\n")
    assert staged.unread_totals == (("AGE", "_T", "Y0T14, Y_GE15"),)


@pytest.mark.slow
def test_the_sdmx_exchange_example_through_the_whole_pipeline(tmp_path, monkeypatch) -> None:
    """The example run as `iccs run` runs it, labels and all: its blocking checks pass, the runs row counts the
    delete rows as filtered, and the national figure has a rate."""
    (tmp_path / "sdmx_exchange").mkdir()
    rows = [
        ("A", "ICCS01", "NR", "AUT", "_T", "2020", 150.0, "p"),
        ("A", "ICCS0101", "NR", "AUT", "_T", "2020", 58.0, "p"),
        ("A", "ICCS0401", "NR", "AUT", "Wien", "2020", 310.0, "p,e"),
        ("A", "ICCS0401", "NR", "AUT", "_T", "2020", None, "c"),
    ]
    write_iccs(tmp_path / "sdmx_exchange" / "iccs.csv", Format.DATA_SDMX_CSV_2_0_0, "both", rows, DELETED)
    (tmp_path / "world_bank_population").mkdir()
    (tmp_path / "world_bank_population" / "population.csv").write_text("Country Code,Year,Value\nAUT,2020,8900000\n")
    monkeypatch.setenv("ICCS_SHARED_DATA", str(tmp_path))
    result = run_pipeline(EXAMPLE / "sources.yaml", tmp_path / "w.duckdb", tmp_path / "reports", with_reports=False)
    assert result.ok, (result.errors, [(s.source, s.error, s.failed_checks) for s in result.sources])
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    runs = con.execute("SELECT records_in, records_loaded, records_quarantined, records_filtered FROM runs").fetchall()
    assert runs == [(4, 3, 1, 2)]
    rate = con.execute("SELECT count, rate_per_100k FROM v_rates WHERE iccs_code = '0101' AND year = 2020").fetchall()
    assert rate == [(58.0, pytest.approx(58 / 89))]  # per 100,000 of 8.9 million


def test_a_population_file_in_sdmx_csv(tmp_path) -> None:
    """Population read from SDMX-CSV too: labels reduced, the delete row left out."""
    (tmp_path / "pop.csv").write_text(
        "STRUCTURE,STRUCTURE_ID,ACTION,REF_AREA: Reference area,TIME_PERIOD,OBS_VALUE\n"
        "dataflow,WB:POP(1.0),I,AUT: Austria,2020,8900000\n"
        "dataflow,WB:POP(1.0),D,AUT: Austria,2019,1\n"
    )
    (tmp_path / "s.csv").write_text("year,code,n\n2020,HOM,5\n")
    spec = {"country": "AUT", "level": "aggregate", "unit": "offences", "files": "s.csv"}
    spec |= {"columns": {"date": "year", "offence": "code", "count": "n"}, "date_format": "%Y"}
    spec["correspondence"] = "correspondence.csv"
    population = [
        {
            "files": "pop.csv",
            "format": "sdmx-csv",
            "columns": {"country": "REF_AREA", "year": "TIME_PERIOD", "population": "OBS_VALUE"},
        }
    ]
    config = load_config(write_config(tmp_path, spec, population=population))
    con = duckdb.connect()
    ensure_schema(con)
    assert load_population(con, config.population) == 1
    assert con.execute("SELECT country, area, year, population FROM population").fetchall() == [
        ("AUT", None, 2020, 8900000.0)
    ]
