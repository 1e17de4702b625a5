"""Disaggregations: victims by sex and age, from configuration to the views, without counting a total twice.

Fixtures are written into tmp_path: (a) a regional table that publishes all victims beside each sex and each sex's
age groups, as UNODC does, with one cell whose parts fall short of its total (victims of unknown sex left out),
one cell published only for women, an invalid sex label and an empty one; (b) a table of parts only (every row a
sex, as SESNSP publishes), whose totals are the sums; (c) incident records with the victim's sex and the weapon.
Population is given by sex for the rates.
"""

from __future__ import annotations

import html
import re
import textwrap
from pathlib import Path

import duckdb
import pytest

from iccs import disaggregations as dis
from pipelines.runner import run_pipeline
from schemas.source_config import ConfigError, load_config
from tests.conftest import ROOT
from warehouse.breakdowns import findings

REGIONS = {"North": 1, "South": 2, "East": 3}
YEARS = (2020, 2021, 2022)
SEXES = {"Men": 0.8, "Women": 0.2}
AGES = {"0-29": 0.5, "30+": 0.5}


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def _total(region: str, year: int) -> int:
    return 100 * REGIONS[region] + 10 * (year - 2020)


def _tabulated(folder: Path) -> None:
    """All victims, each sex, each sex's age groups: North 2021's men + women fall 5 short of the total; South
    2022 has women alone (no total, no men); East 2020 has one row labelled 'Hombre?' and one with no sex."""
    lines = ["region,year,sex,age,victims"]
    for region in REGIONS:
        for year in YEARS:
            total = _total(region, year)
            if (region, year) == ("South", 2022):
                lines.append(f"{region},{year},Women,All ages,{round(total * SEXES['Women'])}")
                continue
            lines.append(f"{region},{year},Total,All ages,{total}")
            short = 5 if (region, year) == ("North", 2021) else 0
            for sex, share in SEXES.items():
                n = round(total * share) - (short if sex == "Men" else 0)
                lines.append(f"{region},{year},{sex},All ages,{n}")
                for age, age_share in AGES.items():
                    lines.append(f"{region},{year},{sex},{age},{round(n * age_share)}")
    lines += ["East,2020,Hombre?,All ages,3", "East,2020,,0-29,1"]
    _write(folder / "tabulated.csv", "\n".join(lines) + "\n")


def _parts_only(folder: Path) -> None:
    """Every row one sex (men, women, not recorded), as SESNSP publishes: the total is their sum."""
    lines = ["state,year,sexo,victimas"]
    for region in REGIONS:
        for year in YEARS:
            lines += [f"{region},{year},Hombre,{_total(region, year)}", f"{region},{year},Mujer,{REGIONS[region]}"]
            lines.append(f"{region},{year},No identificado,1")
    _write(folder / "parts.csv", "\n".join(lines) + "\n")


def _incidents(folder: Path) -> None:
    lines = ["id,date,code,district,victim_sex,weapon"]
    sexes, weapons = ["M", "F", "m", ""], ["Gun", "Knife", "", "Gun"]
    for i in range(40):
        lines.append(f"r{i},2021-0{1 + i % 9}-15,HOM,North,{sexes[i % 4]},{weapons[i % 4]}")
    _write(folder / "incidents.csv", "\n".join(lines) + "\n")


def _population(folder: Path) -> None:
    lines = ["region,year,sex,population"]
    for region, k in REGIONS.items():
        for year in YEARS:
            lines += [f"{region},{year},Total,{100_000 * k}", f"{region},{year},Men,{49_000 * k}"]
            lines.append(f"{region},{year},Women,{51_000 * k}")
    _write(folder / "population.csv", "\n".join(lines) + "\n")


def _config(folder: Path) -> Path:
    _tabulated(folder)
    _parts_only(folder)
    _incidents(folder)
    _population(folder)
    _write(folder / "corr.csv", "national_code,iccs_code\nHomicide,0101\nHOM,0101\n")
    return _write(
        folder / "sources.yaml",
        """
        sources:
          tabulated:
            country: XEX
            level: aggregate
            unit: victims
            files: tabulated.csv
            columns: {area: region, date: year, count: victims}
            constants: {offence: Homicide}
            date_format: "%Y"
            correspondence: corr.csv
            disaggregations:
              victim_sex: {column: sex, values: {Total: _T, Men: M, Women: F}}
              victim_age: {column: age, values: {All ages: _T, 0-29: Y0T29, 30+: Y_GE30}}
          parts:
            country: XPT
            level: aggregate
            unit: victims
            files: parts.csv
            columns: {area: state, date: year, count: victimas}
            constants: {offence: Homicide}
            date_format: "%Y"
            correspondence: corr.csv
            disaggregations:
              victim_sex: {column: sexo, values: {Hombre: M, Mujer: F, No identificado: _U}}
          incidents:
            country: XIN
            level: incident
            unit: offences
            files: incidents.csv
            columns: {record_id: id, date: date, offence: code, area: district}
            date_format: "%Y-%m-%d"
            correspondence: corr.csv
            disaggregations:
              victim_sex: victim_sex
              weapon: {column: weapon, values: {Gun: FIREARM, Knife: SHARP_OBJECT}}
        population:
          - files: population.csv
            country: XEX
            columns: {area: region, year: year, population: population}
            disaggregations:
              sex: {column: sex, values: {Total: _T, Men: M, Women: F}}
        """,
    )


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> duckdb.DuckDBPyConnection:
    folder = tmp_path_factory.mktemp("dis")
    result = run_pipeline(_config(folder), folder / "w.duckdb", folder / "reports", with_reports=False)
    assert not result.errors, result.errors
    con = duckdb.connect(str(folder / "w.duckdb"), read_only=True)
    yield con
    con.close()


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def test_published_totals_are_the_totals_and_their_parts_are_never_added_to_them(warehouse) -> None:
    stored = dict(
        (f"{area} {year}", count)
        for area, year, count in _rows(
            warehouse, "SELECT area, year, count FROM offence_counts WHERE source = 'tabulated' ORDER BY ALL"
        )
    )
    expected = {f"{r} {y}": float(_total(r, y)) for r in REGIONS for y in YEARS if (r, y) != ("South", 2022)}
    assert stored == expected  # South 2022 (women alone) is in no total: its parts may be incomplete
    # every published cell is kept as published, the total rows included
    assert _rows(
        warehouse,
        "SELECT count(*) FROM disaggregated_counts WHERE source = 'tabulated' AND victim_sex = '_T'",
    ) == [(8,)]


def test_a_table_of_parts_alone_is_summed_into_its_totals(warehouse) -> None:
    got = dict(_rows(warehouse, "SELECT area || ' ' || year, count FROM offence_counts WHERE source = 'parts'"))
    assert got == {f"{r} {y}": float(_total(r, y) + REGIONS[r] + 1) for r in REGIONS for y in YEARS}
    by_sex = dict(
        _rows(
            warehouse,
            "SELECT sex, count FROM v_counts_by_sex_age WHERE source = 'parts' AND iccs_code = '0101' "
            "AND year = 2021 AND age = '_T'",
        )
    )
    assert by_sex == {"_T": 630 + 6 + 3.0, "M": 630.0, "F": 6.0, "_U": 3.0}


def test_national_rates_by_sex_divide_by_the_population_of_that_sex(warehouse) -> None:
    rows = _rows(
        warehouse,
        "SELECT sex, count, population, rate_per_100k, breakdown_share FROM v_counts_by_sex_age "
        "WHERE source = 'tabulated' AND iccs_code = '0101' AND year = 2020 AND age = '_T' ORDER BY sex",
    )
    total = sum(_total(r, 2020) for r in REGIONS)
    men = sum(round(_total(r, 2020) * 0.8) for r in REGIONS)
    women = sum(round(_total(r, 2020) * 0.2) for r in REGIONS)
    assert rows == [
        ("F", women, 306_000.0, pytest.approx(women * 1e5 / 306_000), pytest.approx((men + women) / total)),
        ("M", men, 294_000.0, pytest.approx(men * 1e5 / 294_000), pytest.approx((men + women) / total)),
        ("_T", total, 600_000.0, pytest.approx(total * 1e5 / 600_000), 1.0),
    ]
    ages = dict(
        _rows(
            warehouse,
            "SELECT age, count FROM v_counts_by_sex_age WHERE source = 'tabulated' AND iccs_code = '0101' "
            "AND year = 2020 AND sex = 'M'",
        )
    )
    assert ages == {"_T": men, "Y0T29": sum(round(round(_total(r, 2020) * 0.8) * 0.5) for r in REGIONS)} | {
        "Y_GE30": sum(round(round(_total(r, 2020) * 0.8) * 0.5) for r in REGIONS)
    }
    # no figure of all sexes by age: UNODC-like tables publish ages only by sex, and totals are never summed
    assert not _rows(
        warehouse, "SELECT * FROM v_counts_by_sex_age WHERE source = 'tabulated' AND sex = '_T' AND age <> '_T'"
    )


def test_an_unknown_value_is_quarantined_and_an_empty_one_is_not_known(warehouse) -> None:
    (reason, detail, raw), *others = _rows(
        warehouse, "SELECT reason, detail, raw FROM quarantine WHERE source = 'tabulated' ORDER BY row_number"
    )
    assert not others
    assert reason == "invalid_disaggregation"
    assert detail.startswith("sex: 'Hombre?' is not a value of victim_sex (expected Total, Men, Women or a code")
    assert '"sex":"Hombre?"' in raw
    assert _rows(
        warehouse,
        "SELECT count FROM disaggregated_counts WHERE source = 'tabulated' AND victim_sex = '_U' AND area = 'East'",
    ) == [(1.0,)]


def test_the_breakdown_check_names_parts_that_miss_their_total(warehouse) -> None:
    (finding,) = findings(warehouse, "tabulated")
    assert not finding.passed
    assert "victim_sex: the parts differ from the published total in 1 of 8 cells compared" in finding.description
    assert "XEX North Homicide 2021: total 110, parts 105 (F 22, M 83)" in finding.description
    assert "1 cell(s) published only broken down" in finding.description and "XEX South Homicide 2022" in (
        finding.description
    )
    assert finding.metadata["variables"]["victim_age"]["differing"] == 0


def test_incident_records_keep_their_tags_and_count_once(warehouse) -> None:
    tags = dict(
        _rows(
            warehouse,
            "SELECT coalesce(victim_sex, 'none') || '/' || coalesce(weapon, 'none'), count(*) FROM offences "
            "WHERE source = 'incidents' GROUP BY 1",
        )
    )
    assert tags == {"M/FIREARM": 10, "F/SHARP_OBJECT": 10, "M/_U": 10, "_U/FIREARM": 10}
    assert _rows(warehouse, "SELECT DISTINCT victim_age FROM offences WHERE source = 'incidents'") == [(None,)]
    assert _rows(warehouse, "SELECT sum(count) FROM offence_counts WHERE source = 'incidents'") == [(40.0,)]
    by_sex = dict(
        _rows(
            warehouse,
            "SELECT sex, count FROM v_counts_by_sex_age WHERE source = 'incidents' AND iccs_code = '0101' "
            "AND age = '_T'",
        )
    )
    assert by_sex == {"_T": 40.0, "M": 20.0, "F": 10.0, "_U": 10.0}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ("{victim_colour: x}", "field 'disaggregations.victim_colour': unknown variable"),
        ("{victim_sex: {column: s, values: {H: X}}}", "value 'H' -> 'X': not a code of victim_sex"),
        ("{victim_sex: {column: s, constant: F}}", "give either 'column' or 'constant'"),
        ("{victim_age: {constant: adults}}", "constant 'adults' is not a code of victim_age"),
        ("{victim_sex: {column: s, values: {H: M, h: F}}}", "value 'h' is given twice with different codes"),
        ("{victim_sex: {column: s, age_groups: [0, 18]}}", "'age_groups' is for an age variable"),
        (
            "{victim_age: {column: a, age_groups: [5, 18]}}",
            "must list the groups' lower bounds in years, rising from 0",
        ),
        ("{victim_age: {column: a, age_groups: [0, 18, 18]}}", "must list the groups' lower bounds"),
    ],
)
def test_configuration_errors_name_the_field(tmp_path, given: str, message: str) -> None:
    _write(tmp_path / "c.csv", "national_code,iccs_code\nA,0101\n")
    config = _write(
        tmp_path / "s.yaml",
        f"""
        sources:
          s:
            country: XEX
            level: incident
            unit: offences
            files: x.csv
            columns: {{date: d, offence: o}}
            date_format: "%Y"
            correspondence: c.csv
            disaggregations: {given}
        """,
    )
    with pytest.raises(ConfigError) as raised:
        load_config(config)
    assert "s.yaml: source 's': field 'disaggregations." in str(raised.value) and message in str(raised.value)


def test_codes_and_labels() -> None:
    assert dis.is_code("victim_age", "Y20T24") and dis.is_code("age", "Y_GE65") and dis.is_code("weapon", "FIREARM")
    assert not dis.is_code("victim_sex", "X") and not dis.is_code("victim_age", "20-24")
    assert dis.label("victim_age", "Y65T69") == "65-69 years" and dis.label("victim_sex", "F") == "Female"
    frame = dis.disaggregations_frame()
    assert frame.loc[(frame["iccs_variable"] == "SV") & (frame["iccs_value"] == "2"), "code"].item() == "F"
    assert frame.loc[(frame["iccs_variable"] == "We") & (frame["iccs_value"] == "1"), "code"].item() == "FIREARM"


def test_the_shipped_iccs_variables_are_the_reference_table() -> None:
    reference = ROOT.parent / "shared" / "reference" / "iccs" / "disaggregations.csv"
    if not reference.is_file():
        pytest.skip(f"{reference} is absent (the shared reference data is not beside the project)")
    shipped = ROOT / "iccs" / "data" / "disaggregations.csv"
    assert shipped.read_bytes() == reference.read_bytes()
    assert len(dis.iccs_variables()) == 206


def test_ages_in_years_fall_in_their_groups() -> None:
    from schemas.disaggregation_config import parse_disaggregations
    from warehouse.disaggregation import recode_sql

    (d,) = parse_disaggregations(
        "x", {"victim_age": {"column": "a", "age_groups": [0, 15, 30, 45, 60], "values": {"-1": "_U"}}}, ("victim_age",)
    ).values()
    assert d.group_codes() == [(0, "Y0T14"), (15, "Y15T29"), (30, "Y30T44"), (45, "Y45T59"), (60, "Y_GE60")]
    given = ["0", "14", "15", "29", "59", "60", "104", "-1", None, "y15t29", "12.5", "old"]
    got = duckdb.sql(
        f"SELECT {recode_sql(d, 'nullif(trim(v), chr(0))')} FROM unnest(?::VARCHAR[]) t(v)", params=[given]
    ).fetchall()
    assert [r[0] for r in got] == [
        "Y0T14", "Y0T14", "Y15T29", "Y15T29", "Y45T59", "Y_GE60", "Y_GE60", "_U", "_U", "Y15T29", None, None
    ]  # fmt: skip


def test_a_breakdown_without_population_shows_counts_and_no_rate(warehouse, tmp_path) -> None:
    """sdg16.html: the parts-only source has no population: its rates by sex are absent, never 0."""
    from reports import build_reports
    from reports.sdg16.breakdowns import sex_table
    from reports.sdg16.data import indicator_by_sex_age

    rows = indicator_by_sex_age(warehouse)
    parts = rows[(rows["source"] == "parts") & (rows["indicator"] == "16.1.1")].assign(partial=False)
    table = sex_table(parts)
    assert table["count_M"].tolist() == [float(sum(_total(r, y) for r in REGIONS)) for y in YEARS]
    assert table.filter(like="rate_per_100k").isna().all().all()
    page = build_reports(warehouse, tmp_path, ["sdg16"])["sdg16"].read_text(encoding="utf-8")
    text = re.sub(
        r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", re.sub(r"<script.*?</script>", "", page, flags=re.S)))
    )
    rows = [found.split() for found, _ in re.findall(r"XPT parts victims 2021 (.*?) (yes|no) ", text)]
    assert ["639", "630", "6", "3", "99.5%"] in rows, rows  # all, male, female, not known, sex known: no rate


def test_quality_page_lists_the_parts_that_miss_their_total(warehouse, tmp_path) -> None:
    from reports import build_reports

    page = build_reports(warehouse, tmp_path, ["quality"])["quality"].read_text(encoding="utf-8")
    assert "Breakdowns against their totals" in page
    assert "they differ in 1 of 8 cells (tabulated, victim_sex)" in page
    assert "XEX North Homicide 2021: total 110, parts 105 (F 22, M 83)" in page


def test_breakdowns_follow_their_files_when_files_change_or_leave(tmp_path) -> None:
    """A file's breakdown rows are replaced with it and leave with it: the warehouse equals a clean run."""
    config = _config(tmp_path)
    source = tmp_path / "tabulated.csv"
    header, *lines = source.read_text().splitlines()
    source.unlink()
    (tmp_path / "tab_a.csv").write_text("\n".join([header, *lines[: len(lines) // 2]]) + "\n")
    (tmp_path / "tab_b.csv").write_text("\n".join([header, *lines[len(lines) // 2 :]]) + "\n")
    config.write_text(config.read_text().replace("files: tabulated.csv", "files: tab_*.csv"))
    state = "SELECT * FROM disaggregated_counts WHERE source = 'tabulated' ORDER BY ALL"

    def run(warehouse: Path) -> list[tuple]:
        result = run_pipeline(config, warehouse, tmp_path / "reports", with_reports=False, only=["tabulated"])
        assert not result.errors, result.errors
        with duckdb.connect(str(warehouse), read_only=True) as con:
            return con.execute(state).fetchall()

    both = run(tmp_path / "w.duckdb")
    assert {Path(r[-2]).name for r in both} == {"tab_a.csv", "tab_b.csv"}
    (tmp_path / "tab_b.csv").write_text("\n".join([header, *lines[len(lines) // 2 : -4]]) + "\n")  # changed
    (tmp_path / "tab_a.csv").rename(tmp_path / "tab_c.csv")  # moved
    after = run(tmp_path / "w.duckdb")
    assert after == run(tmp_path / "clean.duckdb")
    assert {Path(r[-2]).name for r in after} == {"tab_b.csv", "tab_c.csv"} and len(after) < len(both)
