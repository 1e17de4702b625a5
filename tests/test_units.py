"""A source whose counts are in two units (its configured unit changed between loads) can never be summed across
units: not by the warehouse views, not by the report queries, not by the trends page; and the completeness
checks count the configured unit and flag the other."""

from __future__ import annotations

import pytest
from reports_fixture import build_warehouse

from reports import trend_tables
from reports.queries import DATASET_KEYS, SERIES_KEYS
from reports.trends import data as trend_data
from warehouse import completeness

OFFENCES, VICTIMS = 100.0, 7.0  # per year, code 0101, source 'mixed': a sum across units would give 107


def _groups_with_several_units(frame, by: list[str]):
    units = frame.groupby(by, dropna=False)["unit"].nunique()
    return units[units > 1]


@pytest.fixture(scope="module")
def con(tmp_path_factory):
    con = build_warehouse(tmp_path_factory.mktemp("units") / "w.duckdb")
    con.execute(
        """
        INSERT INTO offence_counts (source, country, area, iccs_code, national_code, year, month, unit, stage, count)
        SELECT 'mixed', 'AAA', NULL, '0101', 'H', y, NULL, u, 'police', CASE u WHEN 'offences' THEN ? ELSE ? END
        FROM range(2016, 2024) r(y), (SELECT unnest(['offences', 'victims']) AS u)""",
        [OFFENCES, VICTIMS],
    )
    con.execute(
        "INSERT INTO sources (source, country, level, unit, stage, period) "
        "VALUES ('mixed', 'AAA', 'aggregate', 'victims', 'police', 'year')"
    )
    yield con
    con.close()


def test_the_views_keep_units_apart(con) -> None:
    counts = con.execute(
        "SELECT unit, count FROM v_counts WHERE source = 'mixed' AND iccs_code = '01' AND year = 2020 ORDER BY unit"
    ).fetchall()
    assert counts == [("offences", OFFENCES), ("victims", VICTIMS)]
    rates = {r[0] for r in con.execute("SELECT count FROM v_rates WHERE source = 'mixed' AND year = 2020").fetchall()}
    assert OFFENCES + VICTIMS not in rates
    mixed = con.execute(
        "SELECT source FROM v_counts GROUP BY source, country, area, iccs_code, level, year, unit "
        "HAVING count(DISTINCT unit) > 1"
    ).fetchall()
    assert mixed == []


@pytest.mark.parametrize(
    "query", [trend_data.annual_national, trend_data.monthly_national, trend_data.area_totals], ids=lambda f: f.__name__
)
def test_report_queries_return_one_unit_per_dataset(con, query) -> None:
    frame = query(con)
    assert not frame.empty
    assert _groups_with_several_units(frame, DATASET_KEYS).empty
    assert _groups_with_several_units(frame, SERIES_KEYS).empty


def test_the_trends_page_groups_a_mixed_source_into_one_dataset_per_unit(con) -> None:
    annual = trend_data.annual_national(con)
    mixed = annual[(annual["source"] == "mixed") & (annual["iccs_code"] == "01")]
    labels = {trend_tables.dataset_label(*key) for key, _ in mixed.groupby(DATASET_KEYS)}
    assert labels == {"mixed — offences (police)", "mixed — victims (police)"}
    assert set(mixed["count"]) == {OFFENCES, VICTIMS}
    yoy = trend_tables.yoy_table(annual)
    rows = yoy[yoy["source"] == "mixed"]
    assert set(rows["unit"]) == {"offences", "victims"}
    assert set(rows["count_latest"]) == set(rows["count_previous"]) == {OFFENCES, VICTIMS}


def test_a_sum_without_the_unit_would_mix_them(con) -> None:
    """The fixture really holds both units in the same groups: the tests above would catch a query that drops
    the unit from its grouping."""
    annual = trend_data.annual_national(con)
    naive = ["source", "country", "iccs_code", "year"]  # what a sum without the unit would group by
    assert annual.groupby(naive)["count"].sum().max() >= OFFENCES + VICTIMS
    assert not _groups_with_several_units(annual, naive).empty


def test_completeness_counts_one_unit_and_warns_about_the_other(con) -> None:
    found = {f.name: f for f in completeness.findings(con, "mixed")}
    assert not found["single_unit"].passed
    assert found["single_unit"].metadata["units"] == ["offences", "victims"]
    cov = completeness.coverage(con, "mixed")
    assert set(cov["records"]) == {VICTIMS}, "the configured unit (sources.unit) is the one counted"
