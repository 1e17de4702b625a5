"""The layer contracts hold over what a real pipeline run writes: no accepted record breaks a rule of
MappedRecordRow, and every fact table meets its model. The staged and classified records are a load step's
scratch tables, gone with its connection, so the layer test stages the same file again after the run.
"""

from __future__ import annotations

import shutil

import pytest
from conftest import MINI_CONFIG

from pipelines.runner import run_pipeline
from schemas import MappedRecordRow, OffenceCountRow, OffenceRow, QuarantineRow, RawRecordRow
from schemas.source_config import load_config
from warehouse.classify import classify_source, records_table
from warehouse.connection import connect
from warehouse.contracts import failures_text, validate_table
from warehouse.correspondence import load_correspondence
from warehouse.staging import raw_table, stage_source


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    """The mini configuration with the police source narrowed to the file that holds every kind of bad row."""
    folder = tmp_path_factory.mktemp("contracts_run")
    for path in MINI_CONFIG.parent.iterdir():
        shutil.copy(path, folder / path.name)
    config = folder / MINI_CONFIG.name
    config.write_text(
        config.read_text(encoding="utf-8").replace("files: incidents_*.csv", "files: incidents_2023.csv"),
        encoding="utf-8",
    )
    result = run_pipeline(config, folder / "w.duckdb", folder / "reports", with_reports=False)
    assert result.ok, result
    return result.warehouse


@pytest.mark.parametrize("source", ["mini_police", "mini_courts"])
def test_staged_and_mapped_layers_meet_their_contracts(warehouse, source) -> None:
    src = load_config(warehouse.parent / MINI_CONFIG.name).sources[source]
    with connect(warehouse) as con:
        load_correspondence(con, source, src.correspondence)
        stage_source(con, src)
        classify_source(con, src)
        raw = validate_table(con, RawRecordRow, raw_table(source))
        accepted = validate_table(con, MappedRecordRow, records_table(source), "reason IS NULL")
        quarantined = con.execute(f"SELECT count(*) FROM {records_table(source)} WHERE reason IS NOT NULL").fetchall()[
            0
        ][0]
    assert all(o.passed for o in raw), failures_text(raw)
    assert all(o.passed for o in accepted), failures_text(accepted)
    assert quarantined > 0, "the file must hold bad rows, or the comparison below proves nothing"


@pytest.mark.parametrize(
    "model, table", [(OffenceRow, "offences"), (OffenceCountRow, "offence_counts"), (QuarantineRow, "quarantine")]
)
def test_fact_tables_meet_their_contracts(warehouse, model, table) -> None:
    with connect(warehouse, read_only=True) as con:
        outcomes = validate_table(con, model, table)
    assert all(o.passed for o in outcomes), failures_text(outcomes)


def test_the_benchmark_checks_the_same_rows_with_both_engines(warehouse) -> None:
    from bench.contracts import _measure

    sql, pandas = (_measure(str(warehouse), "offences", engine) for engine in ("sql", "pandas"))
    assert sql["rows"] == pandas["rows"] > 0
    assert sql["failures"] == pandas["failures"] == 0
