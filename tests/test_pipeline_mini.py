"""The whole pipeline on the hand-made mini configuration: every kind of bad row lands in quarantine with its
reason, nothing is lost, and a re-run replaces rather than duplicates."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.runner import run_pipeline
from tests.conftest import MINI_CONFIG
from warehouse.connection import connect

EXPECTED_POLICE = {
    "missing_field": 2,
    "invalid_date": 1,
    "date_out_of_range": 1,
    "unmapped_offence": 1,
    "invalid_coordinates": 1,
    "coordinates_outside_country": 1,
    "duplicate_record_id": 1,
    "malformed_line": 1,
}


def _query(path: Path, sql: str, params: list[object] | None = None) -> list[tuple]:
    with connect(path, read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def test_every_record_is_loaded_or_quarantined(mini_run) -> None:
    assert mini_run.ok, mini_run
    by_source = mini_run.by_source()
    police = by_source["mini_police"]
    assert police.records_in == 18  # 15 + 3 data lines in the two files
    assert police.records_loaded == 9
    assert police.reasons == EXPECTED_POLICE
    courts = by_source["mini_courts"]
    assert (courts.records_in, courts.records_loaded, courts.reasons) == (5, 3, {"invalid_count": 2})
    for run in _query(mini_run.warehouse, "SELECT records_in, records_loaded, records_quarantined FROM runs"):
        assert run[0] == run[1] + run[2]


def test_quarantine_names_file_line_and_field(mini_run) -> None:
    rows = dict(
        _query(
            mini_run.warehouse,
            "SELECT reason, parse_filename(file) || ':' || row_number || ' ' || detail "
            "FROM quarantine WHERE source = 'mini_police'",
        )
    )
    assert rows["invalid_date"] == "incidents_2023.csv:7 date: '2023-13-01' does not match %Y-%m-%d"
    assert rows["malformed_line"].startswith("incidents_2023.csv:14 TOO MANY COLUMNS")
    assert rows["duplicate_record_id"] == "incidents_2023.csv:11 id: 'a5' already loaded from line 6"
    assert "outside XTS bbox" in rows["coordinates_outside_country"]


def test_counts_roll_up_to_every_ancestor_and_never_across_units(mini_run) -> None:
    rows = _query(
        mini_run.warehouse,
        "SELECT iccs_code, unit, year, count FROM v_counts WHERE area IS NULL "
        "AND source = 'mini_police' AND iccs_code IN ('04', '0401', '05') ORDER BY ALL",
    )
    # ROB maps to '401' in the table: the lost leading zero is restored to 0401, which rolls up to 04.
    assert rows == [
        ("04", "offences", 2023, 1.0),
        ("0401", "offences", 2023, 1.0),
        ("05", "offences", 2023, 2.0),
        ("05", "offences", 2024, 1.0),
    ]
    units = _query(mini_run.warehouse, "SELECT DISTINCT unit FROM v_rates WHERE iccs_code = '05' ORDER BY 1")
    assert units == [("convicted",), ("offences",)]


def test_rates_use_population_of_same_area_and_year(mini_run) -> None:
    rows = _query(
        mini_run.warehouse,
        "SELECT area, year, population, rate_per_100k FROM v_rates WHERE "
        "source = 'mini_police' AND iccs_code = '05' ORDER BY area NULLS LAST, year",
    )
    assert rows == [
        ("South", 2023, 50000.0, 4.0),
        ("South", 2024, 50500.0, pytest.approx(100000 / 50500)),
        (None, 2023, 150000.0, pytest.approx(200000 / 150000)),
        (None, 2024, 151500.0, pytest.approx(100000 / 151500)),
    ]


def test_rerun_replaces_rows_and_a_fixed_input_releases_quarantine(tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    shutil.copytree(MINI_CONFIG.parent, folder)
    warehouse = tmp_path / "w.duckdb"
    first = run_pipeline(folder / "sources.yaml", warehouse, tmp_path / "r", with_reports=False)
    again = run_pipeline(folder / "sources.yaml", warehouse, tmp_path / "r", with_reports=False)
    assert [s.records_loaded for s in first.sources] == [s.records_loaded for s in again.sources]
    assert _query(warehouse, "SELECT count(*) FROM runs") == [(6,)]  # two runs of three files
    assert _query(warehouse, "SELECT count(*) FROM offences") == [(9,)]
    text = (folder / "incidents_2023.csv").read_text().replace("2023-13-01", "2023-12-01")
    (folder / "incidents_2023.csv").write_text(text)
    fixed = run_pipeline(folder / "sources.yaml", warehouse, tmp_path / "r", with_reports=False, only=["mini_police"])
    assert fixed.by_source()["mini_police"].records_loaded == 10
    assert _query(warehouse, "SELECT count(*) FROM quarantine WHERE reason = 'invalid_date'") == [(0,)]


def test_a_missing_file_fails_the_source_with_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    shutil.copytree(MINI_CONFIG.parent, folder)
    (folder / "convictions.csv").unlink()
    result = run_pipeline(folder / "sources.yaml", tmp_path / "w.duckdb", tmp_path / "r", with_reports=False)
    failed = {s.source: s.error for s in result.sources if s.error}
    assert result.by_source()["mini_police"].records_loaded == 9
    assert list(failed) == ["mini_courts"]
    assert "convictions.csv" in failed["mini_courts"] and "\n" not in failed["mini_courts"]
    assert not result.ok


def test_warehouse_file_opens_read_only_and_refuses_writes(mini_run) -> None:
    with connect(mini_run.warehouse, read_only=True) as con, pytest.raises(duckdb.Error, match="read-only"):
        con.execute("DELETE FROM offences")


def test_a_duplicate_id_in_another_file_is_quarantined(tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    shutil.copytree(MINI_CONFIG.parent, folder)
    (folder / "incidents_2025.csv").write_text(
        "id,date,code,lat,lon,district\nb1,2025-01-05,HOM,40.5,10.5,North\nc1,2025-01-06,HOM,40.5,10.5,North\n"
    )
    result = run_pipeline(
        folder / "sources.yaml", tmp_path / "w.duckdb", tmp_path / "r", with_reports=False, only=["mini_police"]
    )
    police = result.by_source()["mini_police"]
    assert (police.records_in, police.records_loaded, police.reasons["duplicate_record_id"]) == (20, 10, 2)
    detail = _query(
        tmp_path / "w.duckdb",
        "SELECT detail FROM quarantine WHERE reason = 'duplicate_record_id' AND file LIKE '%2025.csv'",
    )
    assert detail == [("record id 'b1' already loaded from incidents_2024.csv line 2",)]


def test_files_removed_from_the_landing_folder_leave_the_warehouse(tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    shutil.copytree(MINI_CONFIG.parent, folder)
    warehouse = tmp_path / "w.duckdb"
    run_pipeline(folder / "sources.yaml", warehouse, tmp_path / "r", with_reports=False)
    (folder / "incidents_2024.csv").unlink()
    run_pipeline(folder / "sources.yaml", warehouse, tmp_path / "r", with_reports=False)
    assert _query(warehouse, "SELECT count(*) FROM offences WHERE file LIKE '%2024.csv'") == [(0,)]
    assert _query(warehouse, "SELECT count(*) FROM offences") == [(6,)]


def test_a_source_that_cannot_be_read_is_one_line_and_a_non_zero_exit(tmp_path: Path, capsys) -> None:
    from pipelines.cli import main

    folder = tmp_path / "cfg"
    shutil.copytree(MINI_CONFIG.parent, folder)
    config = folder / "sources.yaml"
    config.write_text(config.read_text().replace("offence: offence, area: region", "offence: ofence, area: region"))
    assert (
        main(
            [
                "run",
                "--config",
                str(config),
                "--no-reports",
                "--warehouse",
                str(tmp_path / "w.duckdb"),
                "--source",
                "mini_courts",
            ]
        )
        == 1
    )
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("✗ mini_courts: ") and "field 'columns.offence': column 'ofence' not in the file" in out[0]
    assert not any(line.startswith("warehouse:") for line in out)
