"""`columns.offence_label`: the offence's name beside its code, which map-check and map-draft rank when the
correspondence table has no label, and which a run loads like any other record (quarantine rows show it)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from pipelines.cli import main
from tests.formats_fixture import INCIDENT, stage_and_classify, write_config
from warehouse.classify import records_table
from warehouse.mapping_coverage import source_coverage

LABELLED = {**INCIDENT, "columns": {**INCIDENT["columns"], "offence_label": "name"}}
ROWS = [
    "id,date,code,name",
    "a1,2023-01-05,THF,Theft",
    "a2,2023-02-06,HOM,Homicide",
    "a3,2023-03-07,808,Daños a la propiedad",
    "a4,2023-03-08,808,Daños",
    "a5,2023-03-09,808,Daños a la propiedad",
    "a6,2023-03-10,,Robbery",
]


def _write(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "records.csv").write_text("\n".join(ROWS) + "\n", encoding="utf-8")


def test_an_unmapped_code_is_ranked_by_its_label_in_the_records(tmp_path: Path) -> None:
    _write(tmp_path)
    con, _ = stage_and_classify(tmp_path, {**LABELLED, "files": "records.csv"})
    table = records_table("src")
    labels = dict(con.execute(f"SELECT line, national_label FROM {table} ORDER BY line").fetchall())
    assert labels[4] == "Daños a la propiedad" and labels[7] == "Robbery"
    detail = source_coverage(con, "src").details.set_index("national_code").loc["808"]
    assert detail["national_label"] == "Daños a la propiedad"  # the most frequent of the code's two labels
    assert detail["candidates"].startswith("0504 Property damage")  # 'daños a la propiedad' is 0504's inclusion


def test_a_run_loads_a_labelled_source_and_quarantine_shows_the_label(tmp_path: Path) -> None:
    _write(tmp_path)
    config = write_config(tmp_path, {**LABELLED, "files": "records.csv"})
    warehouse = tmp_path / "w.duckdb"
    assert main(["run", "--config", str(config), "--warehouse", str(warehouse), "--no-reports", "--quiet"]) in (0, 1)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        loaded = con.execute("SELECT count(*) FROM offences").fetchone()[0]
        quarantined = con.execute("SELECT reason, raw FROM quarantine ORDER BY row_number").fetchall()
    finally:
        con.close()
    assert loaded + len(quarantined) == len(ROWS) - 1  # nothing lost
    raws = {reason: json.loads(raw) for reason, raw in quarantined}
    assert raws["unmapped_offence"]["name"].startswith("Daños")
    assert raws["missing_field"]["name"] == "Robbery"
