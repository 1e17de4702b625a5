"""End to end on the synthetic demo: the planted bad rows land in quarantine with the right reasons, every other
record is loaded, ICCS sections add up, and the reports are written."""

from __future__ import annotations

from warehouse.connection import connect


def test_planted_bad_rows_are_quarantined_with_their_reasons(demo_run) -> None:
    manifest, result = demo_run
    totals = result.by_source()["demo_police"]
    assert totals.records_in == manifest.records
    assert totals.reasons == manifest.expected_quarantine
    assert totals.records_loaded == manifest.valid_records
    assert totals.records_in == totals.records_loaded + totals.records_quarantined


def test_sections_add_up_to_the_loaded_records(demo_run) -> None:
    manifest, result = demo_run
    with connect(result.warehouse, read_only=True) as con:
        by_section = con.execute("SELECT sum(count) FROM v_counts WHERE level = 1 AND area IS NULL").fetchone()[0]
        by_area = con.execute("SELECT sum(count) FROM v_counts WHERE level = 1 AND area IS NOT NULL").fetchone()[0]
        rows = con.execute("SELECT count(*) FROM offences").fetchone()[0]
        sections = con.execute("SELECT count(DISTINCT iccs_code) FROM v_counts WHERE level = 1").fetchone()[0]
        years = con.execute("SELECT min(year), max(year) FROM offence_counts").fetchone()
        rates = con.execute("SELECT count(*) FROM v_rates WHERE rate_per_100k IS NULL").fetchone()[0]
    assert by_section == by_area == rows == manifest.valid_records
    assert sections >= 8
    assert years == (2019, 2024)
    assert rates == 0  # population covers every district and year, and the nation


def test_reports_are_written_and_linked_from_the_index(demo_run) -> None:
    _, result = demo_run
    assert result.ok, result.errors
    index = (result.reports_dir / "index.html").read_text()
    for name in ("trends", "hotspots", "areas", "sdg16", "quality"):
        assert (result.reports_dir / f"{name}.html").is_file()
        assert f'href="{name}.html"' in index
