"""Helpers for the format and mapping tests: a one-source configuration written to a folder, staged and classified
on an in-memory warehouse, and its classified records read back."""

from __future__ import annotations

from pathlib import Path

import duckdb
import yaml

from schemas.source_config import load_config
from warehouse.classify import classify_source, records_table
from warehouse.correspondence import load_correspondence
from warehouse.ddl import ensure_schema
from warehouse.reference import load_classification
from warehouse.staging import StageSummary, rejects_table, stage_source

CORRESPONDENCE = "national_code,iccs_code\nTHF,0502\nHOM,0101\nROB,0401\n"
INCIDENT = {
    "country": "XTS",
    "level": "incident",
    "unit": "offences",
    "columns": {"record_id": "id", "date": "date", "offence": "code"},
    "date_format": "%Y-%m-%d",
    "correspondence": "correspondence.csv",
}
ROWS = ["id,date,code", "a1,2023-01-05,THF", "a2,2023-02-06,HOM", "a3,2023-03-07,ROB"]


def write_config(
    folder: Path, spec: dict, correspondence: str = CORRESPONDENCE, population: list | None = None, name: str = "src"
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "correspondence.csv").write_text(correspondence, encoding="utf-8")
    doc: dict = {"sources": {name: spec}}
    if population:
        doc["population"] = population
    path = folder / "sources.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path


def stage_and_classify(
    folder: Path, spec: dict, correspondence: str = CORRESPONDENCE, name: str = "src"
) -> tuple[duckdb.DuckDBPyConnection, StageSummary]:
    """One source through staging and classification on an in-memory warehouse."""
    config = load_config(write_config(folder, spec, correspondence, name=name))
    src = config.sources[name]
    con = duckdb.connect()
    ensure_schema(con)
    load_classification(con)
    load_correspondence(con, name, src.correspondence)
    staged = stage_source(con, src)
    classify_source(con, src)
    return con, staged


def records(
    con: duckdb.DuckDBPyConnection, name: str = "src", columns: str = "line, national_code, iccs_code, reason"
) -> list[tuple]:
    return con.execute(f"SELECT {columns} FROM {records_table(name)} ORDER BY file_index, line, cell").fetchall()


def lines_accounted(con: duckdb.DuckDBPyConnection, name: str = "src") -> list[int]:
    parsed = [r[0] for r in con.execute(f"SELECT line FROM {records_table(name)}").fetchall()]
    rejected = [r[0] for r in con.execute(f"SELECT line FROM {rejects_table(name)}").fetchall()]
    return sorted(parsed + rejected)
