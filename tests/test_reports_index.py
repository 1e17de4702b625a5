"""index.html's data vintage: what each source holds, from its runs."""

from __future__ import annotations

import duckdb

from reports import queries
from warehouse.ddl import ensure_schema


def test_a_source_s_records_are_the_latest_loads_of_all_its_files_added_up() -> None:
    """Before: the vintage showed the latest run's records only: a source of monthly files said 26,193 records
    (its last month) where the warehouse held 68,522."""
    with duckdb.connect() as con:
        ensure_schema(con)
        con.execute(
            "INSERT INTO sources (source, country, level, unit, stage, period, files) "
            "VALUES ('s', 'XTS', 'incident', 'offences', 'police', 'day', 'landing/*.csv')"
        )
        con.execute("""
            INSERT INTO runs (run_id, source, file, finished_at, records_in, records_loaded, records_quarantined,
                              files, status)
            VALUES ('r0', 's', 'b.csv', TIMESTAMP '2026-01-01 10:00', 50, 50, 0, 1, 'loaded'),
                   ('r0', 's', 'c.csv', TIMESTAMP '2026-01-01 10:00', 7, 7, 0, 1, 'loaded'),
                   ('r1', 's', 'a.csv', TIMESTAMP '2026-01-02 10:00', 101, 100, 1, 1, 'loaded'),
                   ('r2', 's', 'b.csv', TIMESTAMP '2026-01-03 10:00', 30, 30, 0, 1, 'loaded'),
                   ('p3', 's', 'c.csv', TIMESTAMP '2026-01-04 10:00', 0, 0, 0, 0, 'pruned')""")
        [row] = queries.sources_vintage(con).to_dict("records")
    assert row["records_loaded"] == 130  # a.csv 100 + b.csv's latest 30; c.csv left the landing folder
    assert row["status"] == "pruned" and str(row["last_run"]).startswith("2026-01-04")
