"""The SYNTHETIC demo country: deterministic, loadable, and carrying exactly what its manifest says it plants.

The checks read the generated files with DuckDB, independently of the pipeline's own staging code, so a
generator bug cannot hide behind the code it is meant to test.
"""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

import iccs
from pipelines.demo import DEFAULT_SEED, MIN_RECORDS, DemoManifest, describe, generate_demo, read_manifest
from pipelines.demo.country import OFFENCE_PROFILES, correspondence_path
from pipelines.demo.victims import LABELS, VALUE_MAPS, VICTIMS, WEAPONS
from schemas.source_config import load_config
from warehouse.correspondence import read_correspondence

RECORDS = 20_000
# records the pipeline must load: no problem, and a record sent twice counted once (its copies are identical)
VALID = "(SELECT DISTINCT ON (id) * FROM flagged WHERE problems = 0)"
FILES = ("incidents.csv", "population.csv", "sources.yaml", "manifest.json", "bad_rows.csv", "districts.geojson")


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoManifest:
    return generate_demo(tmp_path_factory.mktemp("demo_csv"), records=RECORDS)


@pytest.fixture(scope="module")
def demo_parquet(tmp_path_factory: pytest.TempPathFactory) -> DemoManifest:
    return generate_demo(tmp_path_factory.mktemp("demo_parquet"), records=RECORDS, fmt="parquet")


def _reader(m: DemoManifest) -> str:
    if m.fmt == "parquet":
        return f"read_parquet('{m.incidents_path}')"
    return (
        f"read_csv('{m.incidents_path}', header = true, all_varchar = true, delim = ',', strict_mode = true, "
        "null_padding = false, store_rejects = true, rejects_table = 'rej', rejects_scan = 'rej_scan')"
    )


def _checked(m: DemoManifest) -> duckdb.DuckDBPyConnection:
    """Table `t`: every parsed record with one flag per problem, computed here without the pipeline's code."""
    x0, y0, x1, y1 = m.bbox
    sexes = ", ".join(f"'{label.lower()}'" for label in VALUE_MAPS["victim_sex"])
    con = duckdb.connect()
    con.execute(f"""
        CREATE TABLE t AS
        WITH raw AS (
            SELECT nullif(trim(incident_id), '') AS id, nullif(trim(date_occurred), '') AS date_txt,
                   nullif(trim(offence_code), '') AS code, nullif(trim(latitude), '') AS lat_txt,
                   nullif(trim(longitude), '') AS lon_txt, district, victim_sex, victim_age, weapon
            FROM {_reader(m)}),
        typed AS (
            SELECT *, try_strptime(date_txt, '%Y-%m-%d')::DATE AS dt, TRY_CAST(lat_txt AS DOUBLE) AS lat,
                   TRY_CAST(lon_txt AS DOUBLE) AS lon,
                   code IN (SELECT national_code FROM read_csv('{correspondence_path()}', all_varchar = true))
                       AS mapped
            FROM raw)
        SELECT *,
            (date_txt IS NULL OR code IS NULL) AS f_missing,
            (date_txt IS NOT NULL AND dt IS NULL) AS f_date,
            coalesce(dt > current_date OR dt < DATE '1900-01-01', false) AS f_range,
            (code IS NOT NULL AND NOT mapped) AS f_code,
            ((lat_txt IS NOT NULL OR lon_txt IS NOT NULL) AND (lat IS NULL OR lon IS NULL
                OR abs(lat) > 90 OR abs(lon) > 180)) AS f_coords,
            coalesce(NOT (lon BETWEEN {x0} AND {x1} AND lat BETWEEN {y0} AND {y1}), false) AS f_outside,
            coalesce(lower(trim(victim_sex)) NOT IN ({sexes}), false) AS f_sex
        FROM typed""")
    con.execute("""
        CREATE TABLE flagged AS
        SELECT *, f_missing::INT + f_date::INT + f_range::INT + f_code::INT + f_coords::INT + f_outside::INT
                  + f_sex::INT AS problems FROM t""")
    return con


def test_same_seed_gives_byte_identical_files(demo: DemoManifest, tmp_path: Path) -> None:
    again = generate_demo(tmp_path / "again", records=RECORDS, seed=DEFAULT_SEED)
    for name in FILES:
        assert (again.out_dir / name).read_bytes() == (demo.out_dir / name).read_bytes(), name


def test_same_seed_gives_identical_parquet(demo_parquet: DemoManifest, tmp_path: Path) -> None:
    again = generate_demo(tmp_path / "again", records=RECORDS, fmt="parquet")
    assert again.incidents_path.read_bytes() == demo_parquet.incidents_path.read_bytes()
    assert not (demo_parquet.out_dir / "incidents.csv").exists()


def test_another_seed_changes_the_records_not_the_country(demo: DemoManifest, tmp_path: Path) -> None:
    other = generate_demo(tmp_path / "other", records=RECORDS, seed=DEFAULT_SEED + 1)
    assert other.incidents_path.read_bytes() != demo.incidents_path.read_bytes()
    for name in ("population.csv", "districts.geojson"):
        assert (other.out_dir / name).read_bytes() == (demo.out_dir / name).read_bytes()
    assert other.clusters[0]["centre"] == demo.clusters[0]["centre"]


def test_files_and_columns(demo: DemoManifest) -> None:
    with demo.incidents_path.open(encoding="utf-8") as handle:
        head = handle.readline().strip()
        lines = 1 + sum(1 for _ in handle)
    assert head == "incident_id,date_occurred,offence_code,latitude,longitude,district,victim_sex,victim_age,weapon"
    assert lines - 1 == demo.records == RECORDS
    assert read_manifest(demo.out_dir) == demo
    assert demo.details["synthetic"] is True and "SYNTHETIC" in demo.details["notice"]
    assert "SYNTHETIC" in describe(demo)
    con = _checked(demo)
    assert con.execute("SELECT count(*) FROM t WHERE NOT regexp_full_match(id, 'XSY[0-9]{9}')").fetchall() == [(0,)]


def test_parquet_has_the_same_columns_and_rows_minus_malformed(demo: DemoManifest, demo_parquet: DemoManifest) -> None:
    con = duckdb.connect()
    described = con.execute(f"DESCRIBE SELECT * FROM read_parquet('{demo_parquet.incidents_path}')").fetchall()
    columns = {**demo.details["columns"], **demo.details["disaggregation_columns"]}
    assert [(r[0], r[1]) for r in described] == [(c, "VARCHAR") for c in columns.values()]
    rows = con.execute(f"SELECT count(*) FROM read_parquet('{demo_parquet.incidents_path}')").fetchall()[0][0]
    assert rows == demo_parquet.records == demo.records - demo.expected_quarantine["malformed_line"]
    assert "malformed_line" not in demo_parquet.expected_quarantine
    assert demo_parquet.valid_records == demo.valid_records


def test_config_loads_with_the_pipeline_loader(demo: DemoManifest, demo_parquet: DemoManifest) -> None:
    for m, fmt in ((demo, "csv"), (demo_parquet, "parquet")):
        config = load_config(m.config_path)
        src = config.sources["demo_police"]
        assert (src.country, src.level, src.unit, src.stage, src.read.format) == (
            "XSY",
            "incident",
            "offences",
            "police",
            fmt,
        )
        assert src.paths() == [m.incidents_path]
        assert src.bbox == m.bbox and src.period == "day" and src.date_format == "%Y-%m-%d"
        assert set(src.columns) == {"record_id", "date", "offence", "latitude", "longitude", "area"}
        assert src.correspondence == m.config_path.parent / "correspondence.csv"
        assert src.correspondence.read_bytes() == correspondence_path().read_bytes()
        assert "SYNTHETIC" in src.description and "SYNTHETIC" in config.description
        (pop,) = config.population
        assert pop.paths() == [m.population_path]
        assert pop.columns == {"country": "country", "area": "district", "year": "year", "population": "population"}
        assert {v: d.column for v, d in src.disaggregations.items()} == m.details["disaggregation_columns"]
        assert {v: dict(d.values) for v, d in src.disaggregations.items()} == {
            v: {label.lower(): code for label, code in values.items()} for v, values in VALUE_MAPS.items()
        }
        assert {v: d.column for v, d in pop.disaggregations.items()} == {"sex": "sex", "age": "age_group"}


def test_correspondence_codes_are_valid_iccs_at_several_levels() -> None:
    frame = read_correspondence(correspondence_path())  # the pipeline's own reader and pandera contract
    assert 38 <= len(frame) <= 45
    assert all(iccs.is_valid(code) for code in frame["iccs_code"])
    assert set(frame["national_code"]) == set(OFFENCE_PROFILES)
    assert {iccs.get(code).level for code in frame["iccs_code"]} == {1, 2, 3, 4}
    with correspondence_path().open(encoding="utf-8", newline="") as handle:
        assert next(csv.reader(handle)) == ["national_code", "national_label", "iccs_code", "note"]
    readme = (correspondence_path().parent / "README.md").read_text(encoding="utf-8")
    assert "synthetic" in readme.lower()


def test_sdg_16_4_offences_are_mapped_and_recorded(demo: DemoManifest) -> None:
    con = _checked(demo)
    present = {r[0]: r[1] for r in con.execute(f"SELECT code, count(*) FROM {VALID} GROUP BY code").fetchall()}
    frame = read_correspondence(correspondence_path())
    iccs_of = dict(zip(frame["national_code"], frame["iccs_code"], strict=True))
    required = {
        "firearms_trafficking": "090121",
        "drug_trafficking": "06012",
        "money_laundering": "07041",
        "corruption": "07031",
        "trafficking_in_persons": "0204",
        "migrant_smuggling": "08051",
        "organized_criminal_group": "09051",
    }
    for component, root in required.items():
        nationals = demo.details["sdg_16_4"][component]
        assert nationals, component
        targets = set(iccs.indicator_codes("16.4", component))
        for national in nationals:
            assert iccs_of[national] in targets
            assert iccs_of[national] == root or root in [c.code for c in iccs.lineage(iccs_of[national])]
        assert sum(present.get(n, 0) for n in nationals) > 0, component
    for component in ("terrorism_financing", "wildlife_trafficking"):
        assert demo.details["sdg_16_4"][component], component


def test_period_codes_and_districts(demo: DemoManifest) -> None:
    con = _checked(demo)
    first, last, years, months, codes, districts = con.execute(f"""
        SELECT min(dt), max(dt), count(DISTINCT year(dt)), count(DISTINCT date_trunc('month', dt)),
               count(DISTINCT code), count(DISTINCT district) FROM {VALID}""").fetchall()[0]
    assert str(first) >= "2019-01-01" and str(last) <= "2024-12-31"
    assert years >= 6 and months == 12 * years
    assert 38 <= codes <= 45
    assert districts == 50
    names = [d["name"] for d in demo.details["districts"]]
    assert [d["code"] for d in demo.details["districts"]] == [f"D{i:02d}" for i in range(1, 51)]
    assert len(set(names)) == 50


def test_population_grows_and_national_rows_are_the_sum(demo: DemoManifest) -> None:
    con = duckdb.connect()
    con.execute(
        f"CREATE TABLE p AS SELECT * EXCLUDE (sex, age_group) FROM read_csv('{demo.population_path}', header = true, "
        "columns = {'country': 'VARCHAR', 'district': 'VARCHAR', 'year': 'INTEGER', 'population': 'BIGINT', "
        "'sex': 'VARCHAR', 'age_group': 'VARCHAR'}) WHERE sex = 'Total' AND age_group = 'Total'"
    )
    assert con.execute("SELECT DISTINCT country FROM p").fetchall() == [("XSY",)]
    assert con.execute("SELECT count(DISTINCT district), count(DISTINCT year) FROM p").fetchall() == [(50, 6)]
    mismatched = con.execute("""
        SELECT count(*) FROM (SELECT year, sum(population) AS s FROM p WHERE district IS NOT NULL GROUP BY year) d
        JOIN p n ON n.district IS NULL AND n.year = d.year WHERE n.population <> d.s""").fetchall()[0][0]
    assert mismatched == 0
    shrinking = con.execute("""
        SELECT count(*) FROM (SELECT population - lag(population) OVER (PARTITION BY district ORDER BY year) AS g
                              FROM p) WHERE g <= 0""").fetchall()[0][0]
    assert shrinking == 0
    national = con.execute("SELECT min(population), max(population) FROM p WHERE district IS NULL").fetchall()[0]
    assert 500_000 < national[0] < national[1] < 2_000_000


def _observed_reasons(con: duckdb.DuckDBPyConnection, csv_file: bool) -> dict[str, int]:
    """First failing check in the pipeline's order; duplicates judged among otherwise valid records."""
    reasons = dict(
        con.execute("""
        SELECT CASE WHEN f_missing THEN 'missing_field' WHEN f_date THEN 'invalid_date'
                    WHEN f_range THEN 'date_out_of_range' WHEN f_code THEN 'unmapped_offence'
                    WHEN f_coords THEN 'invalid_coordinates' WHEN f_outside THEN 'coordinates_outside_country'
                    WHEN f_sex THEN 'invalid_disaggregation' END,
               count(*)
        FROM flagged WHERE problems > 0 GROUP BY 1""").fetchall()
    )
    reasons["duplicate_record_id"] = con.execute(
        "SELECT count(*) - count(DISTINCT id) FROM flagged WHERE problems = 0"
    ).fetchall()[0][0]
    if csv_file:
        reasons["malformed_line"] = con.execute("SELECT count(DISTINCT line) FROM rej").fetchall()[0][0]
    return reasons


def test_bad_row_counts_in_the_file_match_the_manifest(demo: DemoManifest, demo_parquet: DemoManifest) -> None:
    for m in (demo, demo_parquet):
        con = _checked(m)
        assert _observed_reasons(con, m.fmt == "csv") == m.expected_quarantine
        assert sum(m.expected_quarantine.values()) + m.valid_records == m.records
        share = sum(m.expected_quarantine.values()) / m.records
        assert 0.004 <= share <= 0.012


def test_every_bad_row_has_exactly_one_problem(demo: DemoManifest) -> None:
    con = _checked(demo)
    assert con.execute("SELECT max(problems) FROM flagged").fetchall()[0][0] == 1
    # bad_rows.csv names the same records with the same reasons
    con.execute(f"CREATE TABLE bad AS SELECT * FROM read_csv('{demo.bad_rows_path}', all_varchar = true)")
    listed = dict(con.execute("SELECT reason, count(*) FROM bad GROUP BY reason").fetchall())
    assert {k: int(v) for k, v in listed.items()} == demo.expected_quarantine
    unlisted = con.execute("""
        SELECT count(*) FROM flagged f WHERE problems > 0
        AND id NOT IN (SELECT record_id FROM bad WHERE reason NOT IN ('duplicate_record_id', 'malformed_line'))
        """).fetchall()[0][0]
    assert unlisted == 0
    duplicated = {
        r[0]
        for r in con.execute("SELECT id FROM flagged WHERE problems = 0 GROUP BY id HAVING count(*) > 1").fetchall()
    }
    assert duplicated == {
        r[0] for r in con.execute("SELECT record_id FROM bad WHERE reason = 'duplicate_record_id'").fetchall()
    }
    copies = con.execute("""SELECT count(*) FROM (SELECT id, date_txt, code, lat_txt, lon_txt, district FROM flagged
                            WHERE problems = 0 GROUP BY ALL HAVING count(*) > 1)""").fetchall()[0][0]
    assert copies == len(duplicated)  # the later copy is the same record, sent twice
    rejected = {r[0] for r in con.execute("SELECT DISTINCT csv_line FROM rej").fetchall()}
    assert rejected == {r[0] for r in con.execute("SELECT value FROM bad WHERE reason = 'malformed_line'").fetchall()}
    # and each listed line number points at that record (the header is line 1)
    lines = demo.incidents_path.read_text(encoding="utf-8").splitlines()
    listed_lines = con.execute("SELECT line::INT, record_id, reason, value FROM bad").fetchall()
    assert all(
        lines[n - 1].startswith(rid + ",") or lines[n - 1].startswith(rid + ";") for n, rid, _, _ in listed_lines
    )
    assert all(lines[n - 1] == value for n, _, reason, value in listed_lines if reason == "malformed_line")
    resent = con.execute("SELECT line::INT, first_line::INT FROM bad WHERE reason = 'duplicate_record_id'").fetchall()
    assert resent and all(first < n and lines[first - 1] == lines[n - 1] for n, first in resent)


def test_valid_counts_and_coordinates_match_the_manifest(demo: DemoManifest) -> None:
    con = _checked(demo)
    valid = VALID
    by_code = dict(con.execute(f"SELECT code, count(*) FROM {valid} GROUP BY code").fetchall())
    assert by_code == {o["national_code"]: o["valid_records"] for o in demo.details["offences"]}
    assert sum(by_code.values()) == demo.valid_records
    missing = con.execute(f"SELECT count(*) FROM {valid} WHERE lat IS NULL AND lon IS NULL").fetchall()[0][0]
    assert missing == demo.details["missing_coordinates"] > 0
    con.execute("CREATE TABLE districts (code VARCHAR, x0 DOUBLE, y0 DOUBLE, x1 DOUBLE, y1 DOUBLE)")
    con.executemany(
        "INSERT INTO districts VALUES (?, ?, ?, ?, ?)", [(d["code"], *d["bbox"]) for d in demo.details["districts"]]
    )
    astray = con.execute(f"""SELECT count(*) FROM {valid} v JOIN districts d ON d.code = v.district
                             WHERE lat IS NOT NULL AND NOT (lon BETWEEN x0 AND x1 AND lat BETWEEN y0 AND y1)
                          """).fetchall()[0][0]
    assert astray == 0


def _yearly(con: duckdb.DuckDBPyConnection, code: str) -> list[int]:
    return [
        r[1]
        for r in con.execute(
            f"SELECT year(dt), count(*) FROM {VALID} WHERE code = ? GROUP BY 1 ORDER BY 1", [code]
        ).fetchall()
    ]


def test_rising_and_falling_categories(demo: DemoManifest) -> None:
    con = _checked(demo)
    rising, falling = _yearly(con, demo.rising["national_code"]), _yearly(con, demo.falling["national_code"])
    assert len(rising) == len(falling) == 6
    assert rising[-1] > 2 * rising[0]
    assert sum(b > a for a, b in zip(rising, rising[1:], strict=False)) >= 4
    assert falling[-1] < 0.6 * falling[0]
    assert sum(b < a for a, b in zip(falling, falling[1:], strict=False)) >= 4
    total = [r[1] for r in con.execute(f"SELECT year(dt), count(*) FROM {VALID} GROUP BY 1 ORDER BY 1").fetchall()]
    assert max(total) < 1.3 * min(total)  # the trends are in the two categories, not in everything


def test_seasonal_peaks(demo: DemoManifest) -> None:
    con = _checked(demo)
    season = demo.details["seasonality"]

    def ratio(codes: list[str]) -> float:
        summer, winter = con.execute(
            f"""
            SELECT count(*) FILTER (month(dt) IN (6, 7, 8)), count(*) FILTER (month(dt) IN (12, 1, 2))
            FROM {VALID} WHERE code IN (SELECT unnest(?::VARCHAR[]))""",
            [codes],
        ).fetchall()[0]
        return summer / winter

    assert ratio(season["summer_peak"]["national_codes"]) > 1.3
    assert ratio(season["winter_peak"]["national_codes"]) < 1 / 1.2


def _distance_km(lat0: float, lon0: float) -> str:
    return f"sqrt(power((lat - ({lat0})) * 110.57, 2) + power((lon - ({lon0})) * 111.32 * cos(radians({lat0})), 2))"


def test_planted_clusters_are_denser_than_their_surroundings(demo: DemoManifest) -> None:
    con = _checked(demo)
    kinds = {c["kind"] for c in demo.clusters}
    assert 3 <= len(demo.clusters) <= 5 and {"persistent", "emerging"} <= kinds
    for c in demo.clusters:
        r, dist = c["radius_km"], _distance_km(c["centre"]["lat"], c["centre"]["lon"])
        assert 1.0 <= r <= 2.0
        inside, ring, before = con.execute(
            f"""
            SELECT count(*) FILTER ({dist} <= {r} AND year(dt) IN (SELECT unnest(?::INT[]))),
                   count(*) FILTER ({dist} > {r} AND {dist} <= {4 * r} AND year(dt) IN (SELECT unnest(?::INT[]))),
                   count(*) FILTER ({dist} <= {r} AND year(dt) NOT IN (SELECT unnest(?::INT[])))
            FROM {VALID} WHERE code IN (SELECT unnest(?::VARCHAR[]))""",
            [c["years"], c["years"], c["years"], c["national_codes"]],
        ).fetchall()[0]
        assert inside >= c["records"], c["id"]
        ring_density = ring / (16 - 1)  # the ring's area is 15 discs
        assert inside > 10 * max(ring_density, 1.0), (c["id"], inside, ring)
        assert before < 0.1 * inside, (c["id"], before, inside)  # emerging ones are new, fading ones stop


def test_arguments_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format"):
        generate_demo(tmp_path, records=RECORDS, fmt="xlsx")
    with pytest.raises(ValueError, match="at least"):
        generate_demo(tmp_path, records=MIN_RECORDS - 1)


def test_the_generator_does_not_import_dagster() -> None:
    code = "import sys, pipelines.demo; sys.exit(1 if 'dagster' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def _planted_in_file(con: duckdb.DuckDBPyConnection, variable: str) -> dict[str, dict[str, int]]:
    """Per national code, the valid records of each code of ``variable``: the file's labels recoded as the
    generated sources.yaml recodes them (an empty cell is not known)."""
    recode = {label.lower(): code for label, code in VALUE_MAPS[variable].items()}
    counted: dict[str, dict[str, int]] = {}
    for code, label, n in con.execute(
        f"SELECT code, lower(trim({variable})), count(*) FROM {VALID} GROUP BY ALL"
    ).fetchall():
        counted.setdefault(code, {})[recode[label] if label else "_U"] = n
    return counted


def test_planted_victims_and_weapons_in_the_file_match_the_manifest(demo: DemoManifest) -> None:
    con = _checked(demo)
    planted = demo.details["disaggregations"]["offences"]
    for variable in ("victim_sex", "victim_age", "weapon"):
        expected = {code: entry[variable] for code, entry in planted.items() if entry[variable]}
        assert _planted_in_file(con, variable) == expected, variable
    labels = {v: {x for x in LABELS[v] if x} for v in LABELS}
    for variable in ("victim_sex", "victim_age", "weapon"):
        used = {r[0] for r in con.execute(f"SELECT DISTINCT {variable} FROM {VALID} WHERE {variable} <> ''").fetchall()}
        assert used <= labels[variable], variable


def test_planted_shares_differ_by_offence_and_place(demo: DemoManifest) -> None:
    planted = demo.details["disaggregations"]["offences"]

    def share(codes: tuple[str, ...], variable: str, value: str) -> float:
        counts = [planted[c][variable] for c in codes]
        return sum(c.get(value, 0) for c in counts) / sum(sum(c.values()) for c in counts)

    assert share(("105",), "victim_sex", "M") == pytest.approx(0.62, abs=0.04)
    assert share(("111", "112", "113"), "victim_sex", "F") > 0.7
    assert share(("101", "102", "104", "105", "201"), "victim_sex", "M") > 0.55
    assert share(("112", "113"), "victim_age", "Y0T14") > 3 * share(("204", "401"), "victim_age", "Y0T14")
    for code, entry in planted.items():  # no natural-person victim, no weapon recorded: not applicable
        if code not in VICTIMS:
            assert set(entry["victim_sex"]) == set(entry["victim_age"]) == {"_Z"}, code
        if code not in WEAPONS:
            assert set(entry["weapon"]) == {"_Z"}, code
    knives = [s for s in demo.details["disaggregations"]["weapon_signals"] if s["national_code"] == "201"]
    (robbery,) = knives
    n_inside = sum(robbery["inside"].values())
    inside = robbery["inside"].get("SHARP_OBJECT", 0) / n_inside
    elsewhere = robbery["elsewhere"].get("SHARP_OBJECT", 0) / sum(robbery["elsewhere"].values())
    assert robbery["planted_inside"]["SHARP_OBJECT"] >= 1.5 * robbery["planted_elsewhere"]["SHARP_OBJECT"]
    # a few dozen robberies in the hotspot at this size: more knives there than elsewhere at 5 % (one-sided)
    assert inside - elsewhere > 1.645 * (elsewhere * (1 - elsewhere) / n_inside) ** 0.5, (inside, elsewhere, n_inside)


# the population rows of each breakdown: by sex, by age group, by both
GROUP_ROWS = (
    "sex <> 'Total' AND age_group = 'Total'",
    "sex = 'Total' AND age_group <> 'Total'",
    "sex <> 'Total' AND age_group <> 'Total'",
)


def test_population_groups_add_up_to_the_totals(demo: DemoManifest) -> None:
    con = duckdb.connect()
    con.execute(
        f"CREATE TABLE p AS SELECT * FROM read_csv('{demo.population_path}', header = true, all_varchar = true)"
    )
    (rows,) = con.execute("SELECT count(*) FROM p").fetchone()
    assert rows == 51 * 6 * 18  # national and 50 districts, 6 years, all + 2 sexes + 5 ages + 10 cells
    for group in GROUP_ROWS:
        mismatched = con.execute(f"""
            SELECT count(*) FROM (SELECT district, year, sum(population::BIGINT) AS s FROM p WHERE {group}
                                  GROUP BY ALL) g
            JOIN p t ON t.district IS NOT DISTINCT FROM g.district AND t.year = g.year
                        AND t.sex = 'Total' AND t.age_group = 'Total'
            WHERE t.population::BIGINT <> g.s""").fetchone()[0]
        assert mismatched == 0, group
    national = con.execute("""
        SELECT count(*) FROM (SELECT year, sex, age_group, sum(population::BIGINT) AS s FROM p
                              WHERE district IS NOT NULL GROUP BY ALL) d
        JOIN p n ON n.district IS NULL AND n.year = d.year AND n.sex = d.sex AND n.age_group = d.age_group
        WHERE n.population::BIGINT <> d.s""").fetchone()[0]
    assert national == 0
    by_sex = dict(
        con.execute("""SELECT year || '/' || sex, population::BIGINT FROM p
                       WHERE district IS NULL AND sex <> 'Total' AND age_group = 'Total'""").fetchall()
    )
    assert by_sex == {
        f"{y}/{label}": n
        for y, s in demo.details["population_by_sex"].items()
        for label, n in zip(("Male", "Female"), s.values(), strict=True)
    }
    for d in demo.details["districts"]:
        total = dict(
            con.execute(
                "SELECT year, population::BIGINT FROM p WHERE district = ? AND sex = 'Total' AND age_group = 'Total'",
                [d["code"]],
            ).fetchall()
        )
        assert total == d["population"], d["code"]
