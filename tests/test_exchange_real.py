"""Round trips of `iccs export` on real data (skipped where ../shared/data is absent):

- the Eurostat crim_off_cat source exported as SDMX-CSV gives back, for every loaded cell, the ICCS x GEO x
  TIME_PERIOD x UNIT value and flag of the original TSV, and read back by the shipped sdmx_exchange example the
  same figures; a Eurostat-shaped file with flags (the shared export has none) checks the flags the same way;
- the UNODC homicide source exported as the SDG series VC_IHR_PSRC matches the rates UNODC published within 0.05,
  for all victims and by sex.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pandas as pd
import yaml
from pysdmx.io import read_sdmx

from pipelines.runner import run_pipeline
from tests.conftest import ROOT, SHARED_DATA, requires_shared_data
from tests.exchange_fixture import EXAMPLE, assert_identical, read_back
from warehouse.exchange import Selection, export

EUROSTAT = ROOT / "pipelines" / "sources" / "eurostat_crim_off_cat"
UNODC = ROOT / "pipelines" / "sources" / "unodc_homicide"
NESTED_FLAG = "subcategories_exceed_total"


def _load(config: Path, folder: Path) -> Path:
    result = run_pipeline(config, folder / "w.duckdb", folder / "reports", with_reports=False)
    assert result.ok, result
    return folder / "w.duckdb"


def _exported(warehouse: Path, folder: Path, dataset: str, **kwargs) -> pd.DataFrame:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        done = export(con, "sdmx-csv", dataset, folder, **kwargs)
    (path,) = done.files
    return read_sdmx(path).data[0].data


def eurostat_original(tsv: Path) -> pd.DataFrame:
    """The TSV's loadable count cells: iccs, GEO (ISO3) and AREA as the source's geo lookup gives them, year,
    value, flag ('' for none)."""
    raw = pd.read_csv(tsv, sep="\t", dtype=str)
    key = raw.columns[0]
    long = raw.melt(id_vars=key, var_name="year", value_name="cell")
    long[["freq", "iccs", "unit", "geo"]] = long[key].str.split(",", expand=True)
    parts = long["cell"].fillna("").str.strip().str.extract(r"^(?P<value>[0-9.]+)\s*(?P<flag>[a-z]*)$")
    long = pd.concat([long, parts], axis=1)
    long = long[long.freq.eq("A") & long.unit.eq("NR") & long.value.notna()]
    geo = pd.read_csv(EUROSTAT / "geo_iso3.csv", dtype=str, keep_default_na=False)
    mapped = pd.read_csv(EUROSTAT / "correspondence.csv", dtype=str, keep_default_na=False)
    loaded_codes = set(mapped.loc[mapped.iccs_code.ne(""), "national_code"])
    long = long[long.iccs.isin(loaded_codes)].merge(geo[["geo", "iso3", "area"]], on="geo")
    return pd.DataFrame(
        {
            "ICCS": long.iccs,
            "GEO": long.iso3,
            "AREA": long.area.replace("", "_T"),
            "TIME_PERIOD": long.year.str.strip(),
            "original": long.value.astype(float),
            "original_flag": long.flag,
        }
    )


def compare_eurostat(original: pd.DataFrame, exported: pd.DataFrame) -> dict[str, int]:
    """Every original cell against the export: equal (value and flag), or a nested total below its published
    sub-categories (the warehouse shows their sum, flagged), or a mismatch."""
    counts = exported[exported.UNIT.eq("NR")].assign(
        TIME_PERIOD=lambda f: f.TIME_PERIOD.astype(str),
        value=lambda f: f.OBS_VALUE.astype(float),
        status=lambda f: f.OBS_STATUS.fillna("").astype(str),
    )
    merged = original.merge(counts, on=["ICCS", "GEO", "AREA", "TIME_PERIOD"], how="left", indicator=True)
    missing = merged[merged._merge.ne("both")]
    assert missing.empty, missing.head()
    shortfall = merged.status.str.contains(NESTED_FLAG)
    equal = (merged.value - merged.original).abs().lt(1e-6) & merged.status.eq(merged.original_flag)
    kept_flag = merged.status.str.replace(NESTED_FLAG, "").str.strip(",").eq(merged.original_flag)
    mismatches = merged[~equal & ~(shortfall & kept_flag)]
    assert mismatches.empty, mismatches.head().to_string()
    return {"cells": len(merged), "equal": int(equal.sum()), "below_subcategories": int((shortfall & ~equal).sum())}


@requires_shared_data()
def test_eurostat_crim_off_cat_round_trips(tmp_path) -> None:
    """Exported as SDMX-CSV 1.0 with every ICCS level: each loaded cell as published; read back by the shipped
    ``sdmx_exchange`` example (nested_totals nets each level of its sub-levels again): the same figures."""
    warehouse = _load(EUROSTAT / "sources.yaml", tmp_path)
    (tmp_path / "files").mkdir()
    exported = _exported(warehouse, tmp_path / "files", "iccs", sdmx_version=1)
    figures = compare_eurostat(
        eurostat_original(SHARED_DATA / "eurostat_crim_off_cat" / "estat_crim_off_cat.tsv"), exported
    )
    with duckdb.connect(str(warehouse), read_only=True) as con:
        loaded = con.execute("SELECT count(*) FROM offence_counts").fetchone()[0]
    # every cell the warehouse loaded (one offence_counts row each) is compared, and each is as published
    assert figures["cells"] == loaded > 8000
    assert figures["equal"] + figures["below_subcategories"] == figures["cells"]
    print(f"eurostat round trip: {figures}")

    example = yaml.safe_load((EXAMPLE / "sources.yaml").read_text())
    source = example["sources"]["sdmx_exchange"]
    source["files"] = str(tmp_path / "files" / "iccs.sdmx.csv")
    source["correspondence"] = str(EXAMPLE / "correspondence.csv")
    again = read_back(tmp_path / "again", source, example["population"])
    rows = assert_identical(warehouse, again, stored_zeros=False)
    assert rows["v_national_counts"] > 8_000
    # the UK, published in three parts (England and Wales, Scotland, Northern Ireland) that the World Bank's
    # population does not give: the original has no UK rate; read back, the UK figure has the UK's population
    assert rows["v_rates unrated"] == ["GBR"]
    print(f"eurostat read back: {rows}")


FLAGGED_TSV = (
    "freq,iccs,unit,geo\\TIME_PERIOD\t2020 \t2021 \n"
    "A,ICCS0501,NR,AT\t1000 p\t1100 \n"
    "A,ICCS05012,NR,AT\t400 \t450 e\n"
    "A,ICCS0101,NR,AT\t60 b\t: c\n"
    "A,ICCS0101,NR,UKM\t55 \t60 p\n"
    "A,ICCS0301,NR,AT\t100 \t90 \n"
    "A,ICCS03011,NR,AT\t70 d\t95 \n"
    "A,ICCS0101,P_HTHAB,AT\t0.67 \t0.7 \n"
)


@requires_shared_data()  # the Eurostat configuration reads the World Bank population
def test_eurostat_flags_round_trip(tmp_path) -> None:
    """Flags of a published total are its own (1000 p), not its sub-category's (450 e); a total below its
    sub-categories (90 < 95) comes back as their sum, flagged so."""
    (tmp_path / "in").mkdir()
    tsv = tmp_path / "in" / "flagged.tsv"
    tsv.write_text(FLAGGED_TSV, encoding="utf-8")
    config = yaml.safe_load((EUROSTAT / "sources.yaml").read_text())
    config["sources"]["eurostat_crim_off_cat"]["files"] = str(tsv)
    for name in ("correspondence.csv", "geo_iso3.csv"):
        shutil.copy(EUROSTAT / name, tmp_path / "in" / name)
    (tmp_path / "in" / "sources.yaml").write_text(yaml.safe_dump(config))
    warehouse = _load(tmp_path / "in" / "sources.yaml", tmp_path)
    exported = _exported(warehouse, tmp_path, "iccs")
    figures = compare_eurostat(eurostat_original(tsv), exported)
    assert figures == {"cells": 11, "equal": 10, "below_subcategories": 1}
    rape = exported[exported.ICCS.eq("ICCS0301") & exported.UNIT.eq("NR") & exported.TIME_PERIOD.astype(str).eq("2021")]
    assert rape.OBS_VALUE.astype(float).tolist() == [95.0] and rape.OBS_STATUS.tolist() == [NESTED_FLAG]


@requires_shared_data()
def test_unodc_homicide_rates_as_vc_ihr_psrc(tmp_path) -> None:
    warehouse = _load(UNODC / "sources.yaml", tmp_path)
    exported = _exported(warehouse, tmp_path, "sdg", selection=Selection(sources=("unodc_homicide",)))
    rates = exported[exported.SERIES.eq("VC_IHR_PSRC") & exported.AGE.eq("_T")].assign(
        m49=lambda f: f.REF_AREA.astype(int),
        year=lambda f: f.TIME_PERIOD.astype(int),
        rate=lambda f: f.OBS_VALUE.astype(float),
    )
    published = pd.read_csv(SHARED_DATA / "unodc_homicide_wpp" / "unodc_main.csv", encoding="utf-8-sig")
    published = published[published.age_group.eq("Все") & published.rate_per_100k.notna()]
    published = published.assign(SEX=published.sex.map({"Все": "_T", "Мужчины": "M", "Женщины": "F"}))
    m49 = pd.read_csv(ROOT / "iccs" / "data" / "m49.csv", dtype={"m49": int})
    published = published.merge(m49[["iso3", "m49"]], on="iso3")
    merged = published.merge(rates, on=["m49", "year", "SEX"], how="left")
    found = merged.rate.notna()
    difference = (merged.rate - merged.rate_per_100k).abs()
    assert (difference[found] <= 0.05).all(), merged[found & (difference > 0.05)].head().to_string()
    totals = merged.SEX.eq("_T")
    assert found[totals].mean() > 0.95 and found[~totals].mean() > 0.9
    print(
        f"unodc VC_IHR_PSRC: {int(found.sum())} of {len(merged)} published rates exported "
        f"({int(found[totals].sum())} of {int(totals.sum())} for all victims), max difference "
        f"{difference[found].max():.6f}"
    )
