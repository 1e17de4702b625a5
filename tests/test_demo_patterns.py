"""The SYNTHETIC demo's planted patterns for the anomaly detection: outlying months (spikes), a national level
shift and a district whose offence mix changes, each where manifest.json says; and a demo with nothing planted.

Fast: the files are read with DuckDB, independently of the pipeline (no pipeline run).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pytest

import iccs
from pipelines.demo import DemoManifest, describe, generate_demo, read_manifest
from pipelines.demo.country import (
    CLUSTERS,
    END,
    FALLING,
    LEVEL_SHIFT,
    MIX_CHANGE,
    RISING,
    SPIKE_MIN,
    SPIKES,
    START,
    cluster_centre,
    correspondence_path,
    correspondence_rows,
    geography,
)
from pipelines.demo.incidents import cluster_sizes, month_index, plan_patterns

RECORDS = 20_000
BIGGER = 100_000
FILES = ("incidents.csv", "population.csv", "sources.yaml", "manifest.json", "bad_rows.csv", "districts.geojson")


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> DemoManifest:
    return generate_demo(tmp_path_factory.mktemp("planted"), records=RECORDS)


@pytest.fixture(scope="module")
def bigger(tmp_path_factory: pytest.TempPathFactory) -> DemoManifest:
    return generate_demo(tmp_path_factory.mktemp("bigger"), records=BIGGER)


@pytest.fixture(scope="module")
def null(tmp_path_factory: pytest.TempPathFactory) -> DemoManifest:
    return generate_demo(tmp_path_factory.mktemp("null"), records=RECORDS, plant=False)


def _records(m: DemoManifest) -> duckdb.DuckDBPyConnection:
    """Table `r`: the file's records with a valid date in the period and a mapped code, a record sent twice once."""
    con = duckdb.connect()
    con.execute(f"""
        CREATE TABLE r AS
        SELECT DISTINCT trim(incident_id) AS id, try_strptime(trim(date_occurred), '%Y-%m-%d')::DATE AS dt,
               trim(offence_code) AS code, trim(district) AS district,
               TRY_CAST(latitude AS DOUBLE) AS lat, TRY_CAST(longitude AS DOUBLE) AS lon
        FROM read_csv('{m.incidents_path}', header = true, all_varchar = true, ignore_errors = true)
        WHERE dt BETWEEN DATE '{START}' AND DATE '{END}'
          AND code IN (SELECT national_code FROM read_csv('{correspondence_path()}', all_varchar = true))""")
    return con


def _monthly(con: duckdb.DuckDBPyConnection, code: str) -> dict[str, int]:
    rows = con.execute(
        "SELECT strftime(dt, '%Y-%m'), count(*) FROM r WHERE code = ? GROUP BY 1 ORDER BY 1", [code]
    ).fetchall()
    return dict(rows)


def _share(con: duckdb.DuckDBPyConnection, code: str, year: int, district: str | None, rest: bool = False) -> float:
    where = "district <> ?" if rest else "district = ?"
    n_code, n_all = con.execute(
        f"SELECT count(*) FILTER (code = ?), count(*) FROM r WHERE year(dt) = ? AND {where}", [code, year, district]
    ).fetchone()
    return n_code / n_all


def test_the_plants_are_declared_apart_from_each_other_and_the_hotspots() -> None:
    hotspot_districts = {c.district for c in CLUSTERS}
    districts = [s.district for s in SPIKES]
    codes = [s.code for s in SPIKES]
    assert len(SPIKES) == 4 and len(set(districts)) == 4 and len(set(codes)) == 4
    assert not set(districts) & (hotspot_districts | {MIX_CHANGE.district})
    assert MIX_CHANGE.district not in hotspot_districts
    assert not set(codes) & {RISING, FALLING, LEVEL_SHIFT.code}
    assert LEVEL_SHIFT.code not in {RISING, FALLING, MIX_CHANGE.code}
    months = [month_index(s.month) for s in SPIKES]
    assert all(6 <= m < 72 - 6 for m in months)  # away from the series' first and last 6 months
    assert len({s.month[:4] for s in SPIKES}) > 1
    assert 6 <= month_index(LEVEL_SHIFT.start) < 72 - 6
    assert MIX_CHANGE.year == END.year and MIX_CHANGE.baseline_year == START.year
    iccs_of = {r["national_code"]: r["iccs_code"] for r in correspondence_rows()}
    for code in [*codes, LEVEL_SHIFT.code, MIX_CHANGE.code]:
        assert iccs.get(iccs_of[code]).level >= 2, code  # each counts under an ICCS level-2 category


@pytest.mark.parametrize("records", [2_000, 20_000, 200_000, 10_000_000])
def test_spikes_stand_out_at_every_size(records: int) -> None:
    """Sizes only (no draw): a spike's month holds >= 2.5 times its expected count and >= SPIKE_MIN more."""
    geo, codes = geography(), tuple(r["national_code"] for r in correspondence_rows())
    patterns = plan_patterns(records, cluster_sizes(records), codes, geo)
    expected, held = patterns.spike_expected, patterns.spike_records
    assert np.all(held >= 2.5 * expected) and np.all(held - expected >= SPIKE_MIN)
    assert np.all(patterns.spike_added >= np.maximum(SPIKE_MIN, 1.5 * expected))
    assert patterns.mix_added >= max(MIX_CHANGE.minimum, MIX_CHANGE.share * patterns.mix_expected)


def test_the_manifest_names_the_plants(planted: DemoManifest) -> None:
    assert planted.planted is True and planted.details["planted"] is True
    assert read_manifest(planted.out_dir) == planted
    iccs_of = {r["national_code"]: r["iccs_code"] for r in correspondence_rows()}
    entries = [*planted.spikes, planted.level_shift, planted.mix_change]
    for entry in entries:
        assert entry["iccs_code"] == iccs_of[entry["national_code"]]
        level2 = [c.code for c in iccs.lineage(entry["iccs_code"]) if c.level == 2]
        assert [entry["iccs_level2"]] == level2
    assert [(s["district"], s["national_code"], s["month"]) for s in planted.spikes] == [
        (s.district, s.code, s.month) for s in SPIKES
    ]
    shift = planted.level_shift
    assert (shift["national_code"], shift["from"], shift["factor"], shift["districts"]) == (
        LEVEL_SHIFT.code,
        LEVEL_SHIFT.start,
        LEVEL_SHIFT.factor,
        "all",
    )
    mix = planted.mix_change
    assert (mix["district"], mix["national_code"], mix["year"], mix["baseline_year"]) == (
        MIX_CHANGE.district,
        MIX_CHANGE.code,
        MIX_CHANGE.year,
        MIX_CHANGE.baseline_year,
    )
    assert mix["added"] >= max(MIX_CHANGE.minimum, MIX_CHANGE.share * mix["expected"])
    assert all(s["added"] >= max(SPIKE_MIN, 1.5 * s["expected"]) for s in planted.spikes)
    text = describe(planted)
    assert "patterns: spikes" in text and f"level shift {LEVEL_SHIFT.code}" in text
    assert f"mix change {MIX_CHANGE.district} {MIX_CHANGE.code}" in text


@pytest.mark.parametrize("size", ["planted", "bigger"])
def test_spike_months_hold_what_the_manifest_says(size: str, request: pytest.FixtureRequest) -> None:
    m: DemoManifest = request.getfixturevalue(size)
    con = _records(m)
    for spike in m.spikes:
        (count,) = con.execute(
            "SELECT count(*) FROM r WHERE district = ? AND code = ? AND strftime(dt, '%Y-%m') = ?",
            [spike["district"], spike["national_code"], spike["month"]],
        ).fetchone()
        expected = spike["expected"]
        assert count == spike["records"], spike  # pattern records are never spoiled
        assert count >= 2.5 * expected and count - expected >= 25 and spike["added"] >= 25, spike
        # the same cell in the other months of its year holds no such number
        others = con.execute(
            """SELECT max(n) FROM (SELECT count(*) AS n FROM r WHERE district = ? AND code = ?
               AND year(dt) = ? AND strftime(dt, '%Y-%m') <> ? GROUP BY strftime(dt, '%Y-%m'))""",
            [spike["district"], spike["national_code"], int(spike["month"][:4]), spike["month"]],
        ).fetchone()[0]
        assert (others or 0) < count / 2, (spike, others)


@pytest.mark.parametrize("size", ["planted", "bigger"])
def test_the_level_shift_steps_up_the_national_series(size: str, request: pytest.FixtureRequest) -> None:
    m: DemoManifest = request.getfixturevalue(size)
    con = _records(m)
    shift = m.level_shift
    monthly = _monthly(con, shift["national_code"])
    assert len(monthly) == 72
    before = np.mean([n for month, n in monthly.items() if month < shift["from"]])
    after = np.mean([n for month, n in monthly.items() if month >= shift["from"]])
    assert 1.5 * before <= after <= 2.1 * before, (before, after)
    year = int(shift["from"][:4])  # a step at the month, not a drift: the half-years around it differ as much
    first = np.mean([monthly[f"{year}-{k:02d}"] for k in range(1, 7)])
    second = np.mean([monthly[f"{year}-{k:02d}"] for k in range(7, 13)])
    assert second >= 1.4 * first, (first, second)
    # the rising and falling codes keep their trends; no other code steps up
    for code in {o["national_code"] for o in m.details["offences"] if o["valid_records"] >= 1_000}:
        if code in {shift["national_code"], RISING, FALLING}:
            continue
        series = _monthly(con, code)
        ratio = np.mean([n for k, n in series.items() if k >= shift["from"]]) / np.mean(
            [n for k, n in series.items() if k < shift["from"]]
        )
        assert ratio < 1.3, (code, ratio)


@pytest.mark.parametrize("size", ["planted", "bigger"])
def test_the_mix_change_district_changes_its_mix(size: str, request: pytest.FixtureRequest) -> None:
    m: DemoManifest = request.getfixturevalue(size)
    con = _records(m)
    mix = m.mix_change
    code, district = mix["national_code"], mix["district"]
    baseline = _share(con, code, mix["baseline_year"], district)
    last = _share(con, code, mix["year"], district)
    rest_change = _share(con, code, mix["year"], district, rest=True) - _share(
        con, code, mix["baseline_year"], district, rest=True
    )
    assert baseline < 0.1 and last > baseline + 0.15, (baseline, last)
    assert abs(rest_change) < 0.02, rest_change
    (added_year,) = con.execute(
        "SELECT count(*) FROM r WHERE district = ? AND code = ? AND year(dt) = ?", [district, code, mix["year"]]
    ).fetchone()
    assert added_year >= mix["added"]


def test_records_are_exactly_the_requested_number(planted: DemoManifest, null: DemoManifest) -> None:
    for m in (planted, null):
        with m.incidents_path.open(encoding="utf-8") as handle:
            assert sum(1 for _ in handle) - 1 == m.records == RECORDS


def test_nothing_planted_writes_no_hotspot_and_no_pattern(null: DemoManifest, planted: DemoManifest) -> None:
    assert null.planted is False and null.details["planted"] is False
    assert null.clusters == []
    assert null.patterns == {"spikes": [], "level_shift": None, "mix_change": None}
    assert null.spikes == [] and null.level_shift is None and null.mix_change is None
    assert read_manifest(null.out_dir) == null
    text = describe(null)
    assert "hotspots: none" in text and "patterns: none" in text
    con, con_planted = _records(null), _records(planted)
    geo = geography()
    # no hotspot disc is denser than the planted demo's background there: its records are not drawn
    for spec, planted_cluster in zip(CLUSTERS, planted.clusters, strict=True):
        lon0, lat0 = cluster_centre(spec, geo)
        dist = f"sqrt(power((lat - ({lat0})) * 110.57, 2) + power((lon - ({lon0})) * 111.32 * cos(radians({lat0})), 2))"
        query = f"""SELECT count(*) FROM r WHERE {dist} <= {spec.radius_km} AND year(dt) IN (SELECT unnest(?::INT[]))
                    AND code IN (SELECT unnest(?::VARCHAR[]))"""
        args = [list(spec.years), list(spec.codes)]
        (inside,) = con.execute(query, args).fetchone()
        (inside_planted,) = con_planted.execute(query, args).fetchone()
        assert inside_planted >= planted_cluster["records"]
        assert inside < 0.2 * planted_cluster["records"], (spec.id, inside)
    # the spike cells hold what the background gives them, the level shift's code does not step up
    for spike in planted.spikes:
        (count,) = con.execute(
            "SELECT count(*) FROM r WHERE district = ? AND code = ? AND strftime(dt, '%Y-%m') = ?",
            [spike["district"], spike["national_code"], spike["month"]],
        ).fetchone()
        assert count < spike["records"] / 2, (spike, count)
    monthly = _monthly(con, LEVEL_SHIFT.code)
    before = np.mean([n for k, n in monthly.items() if k < LEVEL_SHIFT.start])
    after = np.mean([n for k, n in monthly.items() if k >= LEVEL_SHIFT.start])
    assert after < 1.25 * before, (before, after)
    mix = planted.mix_change
    share = _share(con, mix["national_code"], mix["year"], mix["district"])
    assert share < _share(con_planted, mix["national_code"], mix["year"], mix["district"]) / 2
    # background, seasons, trends and bad rows stay
    assert (null.rising["national_code"], null.falling["national_code"]) == (RISING, FALLING)
    assert sum(null.expected_quarantine.values()) == sum(planted.expected_quarantine.values())


@pytest.mark.parametrize("plant", [True, False])
def test_same_seed_gives_byte_identical_files(
    plant: bool, planted: DemoManifest, null: DemoManifest, tmp_path: Path
) -> None:
    first = planted if plant else null
    again = generate_demo(tmp_path / "again", records=RECORDS, plant=plant)
    for name in FILES:
        assert (again.out_dir / name).read_bytes() == (first.out_dir / name).read_bytes(), name
    assert planted.incidents_path.read_bytes() != null.incidents_path.read_bytes()


def test_the_command_line_plants_nothing_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from pipelines.cli import main

    assert main(["demo-data", "--records", "2000", "--no-plant", "--out", str(tmp_path / "null")]) == 0
    assert read_manifest(tmp_path / "null").planted is False
    assert main(["demo-data", "--records", "2000", "--out", str(tmp_path / "planted")]) == 0
    assert read_manifest(tmp_path / "planted").planted is True
    assert "SYNTHETIC demo data" in capsys.readouterr().out
