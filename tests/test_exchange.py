"""`iccs export` on a hand-made warehouse unlike the demo: two real countries (ISO3 with M49 codes), areas with a
declared national total row (worth more than its areas) and without one (summed), publisher flags, a split
correspondence (allocated counts), trafficking victims by form of exploitation, and a second source that counts the
same homicides differently. Every expected figure below is worked out by hand from the fixture."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from pysdmx.io import read_sdmx

from pipelines.cli import main
from pipelines.runner import run_pipeline
from schemas.sdmx import coded_values, iccs_schema, sdg_schema
from warehouse.exchange import ExportError, Selection, export

COUNTS = """\
country,region,offence,year,victims,flag
NZL,Auckland,HOM,2020,10,
NZL,Auckland,HOM,2021,12,p
NZL,Wellington,HOM,2020,5,
NZL,Wellington,HOM,2021,6,
NZL,National,HOM,2020,16,
NZL,National,HOM,2021,18,p
NZL,National,TIPS,2020,3,
NZL,National,TIPL,2020,2,
NZL,National,TIPX,2020,1,
NZL,National,ASL,2020,10,
CHL,Santiago,HOM,2020,100,
CHL,Valparaíso,HOM,2020,50,
"""
MINISTRY = "country,offence,year,victims\nCHL,HOM,2020,148\n"
CORRESPONDENCE = """\
national_code,national_label,iccs_code,correspondence,share
HOM,Homicide,0101,full,
TIPS,Trafficking for sexual exploitation,02041,full,
TIPL,Trafficking for forced labour,02042,full,
TIPX,Trafficking (form not known),0204,full,
ASL,Assault or threat,02011,split,0.6
ASL,Assault or threat,02012,split,0.4
"""
POPULATION = """\
country,region,year,population
NZL,National,2020,5000000
NZL,National,2021,5100000
NZL,Auckland,2020,1700000
NZL,Auckland,2021,1720000
NZL,Wellington,2020,500000
NZL,Wellington,2021,505000
CHL,Santiago,2020,7000000
CHL,Valparaíso,2020,2000000
"""
CONFIG = """\
description: export fixture (hand-made, not real data)
sources:
  police:
    level: aggregate
    unit: victims
    files: counts.csv
    columns: {country: country, area: region, offence: offence, date: year, count: victims, flag: flag}
    date_format: "%Y"
    total_area: National
    correspondence: correspondence.csv
  ministry:
    level: aggregate
    unit: victims
    files: ministry.csv
    columns: {country: country, offence: offence, date: year, count: victims}
    date_format: "%Y"
    correspondence: correspondence.csv
population:
  - files: population.csv
    columns: {country: country, area: region, year: year, population: population}
"""


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("exchange")
    for name, text in {
        "counts.csv": COUNTS,
        "ministry.csv": MINISTRY,
        "correspondence.csv": CORRESPONDENCE,
        "population.csv": POPULATION,
        "sources.yaml": CONFIG,
    }.items():
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    result = run_pipeline(folder / "sources.yaml", folder / "w.duckdb", folder / "reports", with_reports=False)
    assert result.ok, result
    return folder / "w.duckdb"


def _sdmx(path: Path) -> pd.DataFrame:
    """An SDMX file read back by the library (SDMX-ML validated against the SDMX 2.1 schemas first)."""
    message = read_sdmx(path, validate=True)
    assert len(message.data) == 1
    return message.data[0].data


def _export(warehouse: Path, tmp_path: Path, fmt: str, dataset: str, **kwargs) -> pd.DataFrame:
    selection = kwargs.pop("selection", Selection())
    with duckdb.connect(str(warehouse), read_only=True) as con:
        done = export(con, fmt, dataset, tmp_path, selection, **kwargs)
    (path,) = done.files
    return _sdmx(path)


def _value(frame: pd.DataFrame, **key) -> tuple[float, str]:
    rows = frame
    for column, value in key.items():
        rows = rows[rows[column].astype(str) == value]
    assert len(rows) == 1, (key, rows)
    row = rows.iloc[0]
    return float(row["OBS_VALUE"]), str(row.get("OBS_STATUS", "") or "")


@pytest.mark.parametrize("fmt", ["sdmx-csv", "sdmx-ml"])
def test_iccs_dataset_rolls_up_keeps_flags_and_gives_rates(warehouse, tmp_path, fmt) -> None:
    frame = _export(warehouse, tmp_path, fmt, "iccs")
    assert coded_values(iccs_schema(), frame) == {}
    police = {"SOURCE": "police", "FREQ": "A", "COUNTING_UNIT": "victims", "STAGE": "police"}
    nzl = {**police, "GEO": "NZL", "AREA": "_T"}
    # the declared total row is the national figure (16), not the sum of the areas (15)
    assert _value(frame, **nzl, ICCS="ICCS0101", UNIT="NR", TIME_PERIOD="2020") == (16.0, "")
    assert _value(frame, **nzl, ICCS="ICCS0101", UNIT="NR", TIME_PERIOD="2021") == (18.0, "p")
    # an ancestor the source did not publish carries the flags of what it sums
    assert _value(frame, **nzl, ICCS="ICCS01", UNIT="NR", TIME_PERIOD="2021") == (18.0, "p")
    assert _value(frame, **nzl, ICCS="ICCS0101", UNIT="P_HTHAB", TIME_PERIOD="2020")[0] == pytest.approx(0.32)
    # the split correspondence: 60% and 40% of 10, allocated, and so is every figure they are summed into
    assert _value(frame, **nzl, ICCS="ICCS02011", UNIT="NR", TIME_PERIOD="2020") == (6.0, "allocated")
    assert _value(frame, **nzl, ICCS="ICCS0201", UNIT="NR", TIME_PERIOD="2020") == (10.0, "allocated")
    assert _value(frame, **nzl, ICCS="ICCS02", UNIT="NR", TIME_PERIOD="2020") == (16.0, "allocated")
    # trafficking: the form not known counts in 0204 only
    assert _value(frame, **nzl, ICCS="ICCS0204", UNIT="NR", TIME_PERIOD="2020") == (6.0, "")
    # an area, its name as the source gives it; its own population
    auckland = {**police, "GEO": "NZL", "AREA": "Auckland", "ICCS": "ICCS0101"}
    assert _value(frame, **auckland, UNIT="NR", TIME_PERIOD="2021") == (12.0, "p")
    assert _value(frame, **auckland, UNIT="P_HTHAB", TIME_PERIOD="2021")[0] == pytest.approx(12 / 17.2, abs=1e-4)
    chl = {**police, "GEO": "CHL", "ICCS": "ICCS0101", "TIME_PERIOD": "2020"}
    assert _value(frame, **chl, AREA="_T", UNIT="NR") == (150.0, "")  # no total row: the sum of its areas
    assert _value(frame, **chl, AREA="Valparaíso", UNIT="NR") == (50.0, "")
    assert _value(frame, **chl, AREA="_T", UNIT="P_HTHAB")[0] == pytest.approx(150 / 90, abs=1e-4)
    # the second source is a key of its own, never added to the first
    ministry = {"SOURCE": "ministry", "GEO": "CHL", "AREA": "_T", "ICCS": "ICCS0101", "UNIT": "NR"}
    assert _value(frame, **ministry, TIME_PERIOD="2020") == (148.0, "")
    key = [c.id for c in iccs_schema().components if c.role.name == "DIMENSION"]
    assert not frame.duplicated(key).any()


def test_stored_levels_give_each_cell_once_and_add_up(warehouse, tmp_path) -> None:
    frame = _export(warehouse, tmp_path, "sdmx-csv", "iccs", levels="stored", selection=Selection(sources=("police",)))
    nzl_2020 = frame[
        (frame.GEO == "NZL") & (frame.AREA == "_T") & (frame.UNIT == "NR") & (frame.TIME_PERIOD.astype(str) == "2020")
    ]
    stored = dict(zip(nzl_2020.ICCS, nzl_2020.OBS_VALUE.astype(float), strict=True))
    assert stored == {
        "ICCS0101": 16.0,
        "ICCS0204": 1.0,
        "ICCS02041": 3.0,
        "ICCS02042": 2.0,
        "ICCS02011": 6.0,
        "ICCS02012": 4.0,
    }


def test_selection_narrows_the_file(warehouse, tmp_path) -> None:
    chosen = Selection(countries=("CHL",), iccs_levels=(2,), national_only=True, sources=("police",))
    frame = _export(warehouse, tmp_path, "sdmx-csv", "iccs", selection=chosen)
    assert set(frame.GEO) == {"CHL"} and set(frame.AREA) == {"_T"} and set(frame.ICCS) == {"ICCS0101"}
    assert sorted(frame.UNIT) == ["NR", "P_HTHAB"]
    years = Selection(first_year=2021, last_year=2021)
    assert set(_export(warehouse, tmp_path, "sdmx-csv", "iccs", selection=years).TIME_PERIOD.astype(str)) == {"2021"}


def test_sdg_dataset_needs_one_source_per_key(warehouse, tmp_path) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as con, pytest.raises(ExportError) as raised:
        export(con, "sdmx-csv", "sdg", tmp_path)
    assert "VC_IHR_PSRC" in str(raised.value) and "CHL 2020" in str(raised.value)
    assert "ministry, police" in str(raised.value) and "--source" in str(raised.value)


@pytest.mark.parametrize("fmt", ["sdmx-csv", "sdmx-ml"])
def test_sdg_dataset_series_in_m49(warehouse, tmp_path, fmt) -> None:
    frame = _export(warehouse, tmp_path, fmt, "sdg", selection=Selection(sources=("police",)))
    assert coded_values(sdg_schema(), frame) == {}
    assert set(frame.REF_AREA.astype(str)) == {"554", "152"}  # New Zealand, Chile
    total = {"SEX": "_T", "AGE": "_T", "URBANISATION": "_T"}
    nz = {**total, "REF_AREA": "554"}
    assert _value(frame, **nz, SERIES="VC_IHR_PSRCN", TIME_PERIOD="2020")[0] == 16.0
    assert _value(frame, **nz, SERIES="VC_IHR_PSRC", TIME_PERIOD="2021")[0] == pytest.approx(18 / 51, abs=1e-4)
    assert _value(frame, **nz, SERIES="VC_HTF_DETV", TIME_PERIOD="2020")[0] == 6.0
    assert _value(frame, **nz, SERIES="VC_HTF_DETVR", TIME_PERIOD="2020")[0] == pytest.approx(0.12)
    assert _value(frame, **nz, SERIES="VC_HTF_DETVSX", TIME_PERIOD="2020")[0] == 3.0
    assert _value(frame, **nz, SERIES="VC_HTF_DETVFL", TIME_PERIOD="2020")[0] == 2.0
    assert not set(frame.SERIES) & {"VC_HTF_DETVOG", "VC_HTF_DETVOP", "VC_ARM_SZTRACE"}  # nothing to fill them
    chile = frame[(frame.REF_AREA.astype(str) == "152") & (frame.SERIES == "VC_IHR_PSRC")].iloc[0]
    assert float(chile.OBS_VALUE) == pytest.approx(150 / 90, abs=1e-4)
    assert (chile.get("COMMENT_OBS") or "") == ""  # its areas are all the areas the population table has: the country
    assert set(frame.UNIT_MEASURE) == {"NUMBER", "PER_100000_POP"} and set(frame.NATURE) == {"C"}


def test_export_on_the_command_line(warehouse, tmp_path, capsys) -> None:
    out = tmp_path / "files"
    out.mkdir()
    args = ["export", "--warehouse", str(warehouse), "--out", str(out)]
    assert main([*args, "--format", "sdmx-csv", "--sdmx-version", "1", "--country", "nzl", "--national"]) == 0
    lines = (out / "iccs.sdmx.csv").read_text().splitlines()
    assert lines[0].startswith("DATAFLOW,SOURCE,FREQ,ICCS,UNIT,COUNTING_UNIT,STAGE,GEO,AREA,TIME_PERIOD,OBS_VALUE")
    assert "ICCS_PIPELINE:ICCS_CRIME(1.0),police,A,ICCS0101,NR,victims,police,NZL,_T,2021,18.0,p" in lines
    assert f"{(out / 'iccs.sdmx.csv').resolve()}\t" in capsys.readouterr().out
    # mistakes are one line each, and no file
    assert main([*args, "--format", "sdmx-ml", "--source", "polise"]) == 1
    assert capsys.readouterr().err.strip() == (
        "iccs: export: --source polise: not in the warehouse (it has: ministry, police)"
    )
    assert main([*args, "--format", "sdmx-ml", "--records"]) == 1
    assert "incident records leave as Parquet or CSV only" in capsys.readouterr().err
    assert main([*args, "--format", "parquet", "--levels", "stored"]) == 2
    assert capsys.readouterr().err.startswith("iccs: export: --levels does not apply to --format parquet")
    assert main([*args, "--format", "sdmx-csv", "--dataset", "sdg", "--unit", "victims"]) == 2
    assert "--unit does not apply" in capsys.readouterr().err
    assert main([*args, "--format", "sdmx-csv", "--dataset", "sdg", "--country", "NZL"]) == 0
    assert not (out / "iccs.sdmx.xml").exists()


def test_parquet_and_csv_read_back_by_duckdb_pandas_and_polars(warehouse, tmp_path) -> None:
    import polars as pl

    with duckdb.connect(str(warehouse), read_only=True) as con:
        done = export(con, "parquet", "iccs", tmp_path / "pq")
        export(con, "csv", "iccs", tmp_path / "csv")
        expected = con.execute("SELECT count(*), sum(count) FROM offence_counts").fetchone()
    assert {p.name for p in done.files} == {"offence_counts", "v_rates", "disaggregated_counts"}
    folder = tmp_path / "pq" / "offence_counts"
    assert sorted(p.name for p in folder.iterdir()) == ["source=ministry", "source=police"]
    assert (folder / "source=police" / "year=2021").is_dir()
    got = duckdb.sql(
        f"SELECT count(*), sum(count) FROM read_parquet('{folder}/**/*.parquet', hive_partitioning = true)"
    ).fetchone()
    assert got == expected
    frame = pd.read_parquet(folder)
    assert (len(frame), frame["count"].sum()) == expected and set(frame["source"].astype(str)) == {"police", "ministry"}
    polars = pl.read_parquet(f"{folder}/**/*.parquet", hive_partitioning=True)
    assert (polars.height, polars["count"].sum()) == expected
    csv = pd.read_csv(tmp_path / "csv" / "offence_counts.csv")
    assert (len(csv), csv["count"].sum()) == expected
    # no incident records without --records (this warehouse has none: the table is written, empty, only on request)
    assert not (tmp_path / "pq" / "offences").exists()


def test_the_exchange_files_asset_writes_the_national_figures_after_the_loads(demo_run) -> None:
    """The demo's run leaves exchange/ beside the reports: its national ICCS figures as SDMX-CSV and SDMX-ML (the
    same rows), the aggregate tables as Parquet, and no SDG file, since the demo counts offences, not victims."""
    manifest, result = demo_run
    folder = result.reports_dir / "exchange"
    as_csv, as_ml = _sdmx(folder / "iccs.sdmx.csv"), _sdmx(folder / "iccs.sdmx.xml")
    assert set(as_csv.AREA) == {"_T"} and len(as_csv) == len(as_ml) > 100
    with duckdb.connect(str(result.warehouse), read_only=True) as con:
        national = con.execute("SELECT count(*) FROM v_rates WHERE area IS NULL").fetchone()[0]
    assert (as_csv.UNIT == "NR").sum() == national  # one number per national figure of v_rates (annual data)
    assert (folder / "iccs-parquet" / "offence_counts").is_dir() and (folder / "sdg-parquet" / "v_sdg16").is_dir()
    assert not (folder / "sdg.sdmx.csv").exists()
    assert "DataStructureDefinition" in {type(a).__name__ for a in read_sdmx(folder / "iccs.structure.xml").structures}


def test_a_warehouse_of_an_earlier_version_is_one_line_saying_what_to_do(warehouse, tmp_path, capsys) -> None:
    old = tmp_path / "old.duckdb"
    shutil.copy(warehouse, old)
    with duckdb.connect(str(old)) as con:  # as an earlier version left it: no flags in the national view
        con.execute("UPDATE warehouse_schema SET fingerprint = 'earlier'")
        con.execute("CREATE OR REPLACE VIEW v_national_counts AS SELECT * EXCLUDE (flag) FROM v_offence_count_cells")
    assert main(["export", "--format", "sdmx-csv", "--warehouse", str(old), "--out", str(tmp_path / "x.csv")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("iccs: export: the warehouse's tables and views are of an earlier version") and (
        "`iccs run` brings them up to date" in err
    )
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "x.csv").exists()


def test_sdmx_csv_is_written_in_parts_and_sdmx_ml_has_a_size_limit(warehouse, tmp_path, monkeypatch) -> None:
    from warehouse.exchange import sdmx_files

    with duckdb.connect(str(warehouse), read_only=True) as con:
        export(con, "sdmx-csv", "iccs", tmp_path / "whole.csv")
        monkeypatch.setattr(sdmx_files, "PART_ROWS", 7)  # the fixture has 54 observations: 8 parts
        parts = []
        writer = sdmx_files.write_sdmx
        monkeypatch.setattr(sdmx_files, "write_sdmx", lambda *a, **k: parts.append(1) or writer(*a, **k))
        export(con, "sdmx-csv", "iccs", tmp_path / "parts.csv")
        assert len(parts) == 8 and len(_sdmx(tmp_path / "parts.csv")) == 54
        assert (tmp_path / "parts.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
        monkeypatch.setattr(sdmx_files, "ML_MAX_OBSERVATIONS", 10)
        with pytest.raises(ExportError, match="an SDMX-ML message of more than 10 is not written"):
            export(con, "sdmx-ml", "iccs", tmp_path / "big.xml")
        assert not list(tmp_path.glob("big.xml*"))
        assert export(con, "sdmx-ml", "iccs", tmp_path / "small.xml", Selection(countries=("CHL",), national_only=True))


def test_vc_arm_sztrace_is_arms_traced_over_arms_seized(tmp_path) -> None:
    """16.4.2 from two sources, one of unit seized_arms and one of traced_arms: 50 of 200 (25%), 100 of 250 (40%);
    a year with seizures and no tracing count has no share."""
    folder = tmp_path / "arms"
    folder.mkdir()
    (folder / "seized_arms.csv").write_text("year,kind,arms\n2020,FA,200\n2021,FA,250\n2022,FA,90\n")
    (folder / "traced_arms.csv").write_text("year,kind,arms\n2020,FA,50\n2021,FA,100\n")
    (folder / "correspondence.csv").write_text("national_code,iccs_code\nFA,090121\n")
    sources = "".join(
        f"""
  arms_{unit}:
    country: PER
    level: aggregate
    unit: {unit}
    files: {unit}.csv
    columns: {{date: year, offence: kind, count: arms}}
    date_format: "%Y"
    correspondence: correspondence.csv
"""
        for unit in ("seized_arms", "traced_arms")
    )
    (folder / "sources.yaml").write_text("sources:" + sources)
    assert run_pipeline(folder / "sources.yaml", tmp_path / "w.duckdb", tmp_path / "r", with_reports=False).ok
    frame = _export(tmp_path / "w.duckdb", tmp_path, "sdmx-csv", "sdg")
    assert set(frame.SERIES) == {"VC_ARM_SZTRACE"} and set(frame.REF_AREA.astype(str)) == {"604"}  # Peru
    shares = dict(zip(frame.TIME_PERIOD.astype(str), frame.OBS_VALUE.astype(float), strict=True))
    assert shares == {"2020": 25.0, "2021": 40.0}
    assert set(frame.UNIT_MEASURE) == {"PERCENT"} and set(frame.SOURCE_DETAIL) == {"arms_seized_arms, arms_traced_arms"}


def test_the_structure_message_checks_our_files(warehouse, tmp_path, capsys) -> None:
    """The ICCS dataset's structure message validates against the SDMX 2.1 schemas; a receiver reading our data
    with it finds every coded value in its code lists, and a value outside them is found."""
    from pysdmx.io import get_datasets

    out, structure = tmp_path / "iccs.xml", tmp_path / "structure.xml"
    args = ["export", "--warehouse", str(warehouse), "--out", str(out), "--structure", str(structure)]
    assert main([*args, "--format", "sdmx-ml"]) == 0
    assert f"{structure.resolve()}\tstructure" in capsys.readouterr().out
    kinds = [type(artefact).__name__ for artefact in read_sdmx(structure, validate=True).structures]
    assert kinds.count("Codelist") == 5 and {"ConceptScheme", "DataStructureDefinition", "Dataflow"} <= set(kinds)
    (dataset,) = get_datasets(out, structure)
    assert [c.id for c in dataset.structure.components] == [c.id for c in iccs_schema().components]
    assert coded_values(dataset.structure, dataset.data) == {}
    stray = dataset.data.assign(ICCS=dataset.data.ICCS.where(dataset.data.index > 0, "ICCS9999"))
    assert coded_values(dataset.structure, stray) == {"ICCS": ["ICCS9999"]}
    assert main([*args, "--format", "sdmx-csv", "--dataset", "sdg", "--source", "police"]) == 2
    assert "--structure does not apply" in capsys.readouterr().err
