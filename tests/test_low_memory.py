"""A low memory limit makes DuckDB spill to disk, never fail: "Out of Memory Error" is no answer to a file.

Before: DuckDB's CSV reader allocated 16 lines of ``max_line_size`` (256 MiB here) as one block, so any file
failed under ``ICCS_DUCKDB_MEMORY=150MB``; and the completeness grid (areas × periods) came into pandas whole.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.runner import run_pipeline
from warehouse import connection
from warehouse.connection import connect

RECORDS, AREAS, CODES = 200_000, 5_000, 300


def _shape(folder: Path) -> Path:
    """Incidents over many areas and codes (nearly one count cell per record), written by DuckDB."""
    folder.mkdir(parents=True)
    con = duckdb.connect()
    con.execute(f"""COPY (SELECT 'N' || lpad(i::VARCHAR, 4, '0') AS national_code, 'label ' || i AS national_label,
                                 ['0101', '0201', '0401', '0501', '0502', '0701'][i % 6 + 1] AS iccs_code
                          FROM range({CODES}) t(i)) TO '{folder / "correspondence.csv"}' (HEADER)""")
    con.execute(f"""COPY (SELECT 'ID' || i AS incident_id,
                                 strftime(DATE '2015-01-01' + (hash(i, 1) % 3650)::INTEGER, '%Y-%m-%d') AS day,
                                 'N' || lpad((hash(i, 2) % {CODES})::VARCHAR, 4, '0') AS code,
                                 round(-33.6 + (hash(i, 3) % 100000) / 250000.0, 6) AS lat,
                                 round(-70.8 + (hash(i, 4) % 100000) / 250000.0, 6) AS lon,
                                 'A' || (hash(i, 5) % {AREAS}) AS district
                          FROM range({RECORDS}) t(i)) TO '{folder / "incidents.csv"}' (HEADER)""")
    (folder / "sources.yaml").write_text("""sources:
  many_areas:
    country: CHL
    level: incident
    unit: offences
    files: incidents.csv
    columns: {record_id: incident_id, date: day, offence: code, latitude: lat, longitude: lon, area: district}
    date_format: "%Y-%m-%d"
    bbox: [-71.0, -34.0, -70.0, -33.0]
    correspondence: correspondence.csv
""")
    return folder / "sources.yaml"


def test_a_file_loads_under_a_memory_limit_far_below_the_default(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(connection.CONNECTION_CONFIG, "memory_limit", "100MB")
    result = run_pipeline(_shape(tmp_path / "in"), tmp_path / "w.duckdb", tmp_path / "r", with_reports=False)
    assert result.ok, result.errors
    [src] = result.sources
    assert (src.records_in, src.records_loaded) == (RECORDS, RECORDS)
    with connect(result.warehouse, read_only=True) as con:
        cells, areas = con.execute("SELECT count(*), count(DISTINCT area) FROM completeness").fetchone()
    assert areas == AREAS and cells == AREAS * 120


def test_the_limit_reaches_a_writer_connection(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(connection.CONNECTION_CONFIG, "memory_limit", "100MB")
    with connect(tmp_path / "w.duckdb") as con:
        assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "95.3 MiB"
