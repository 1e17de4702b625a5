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
        "ASB,anti-social behaviour,,excluded,anti-social behaviour incidents are not crimes\n")
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
