"""The mapping engine on small hand-made sources: splits, dated validity, labels, national hierarchies, excluded
categories, nested totals, and the warehouse rows and coverage figures they give."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.mapcheck import map_check, run_checks
from schemas.source_config import load_config
from tests.formats_fixture import INCIDENT, records, stage_and_classify, write_config
from warehouse.classify import classify_source, records_table
from warehouse.correspondence import CorrespondenceError, load_correspondence
from warehouse.counts import NESTED_FLAG
from warehouse.ddl import ensure_schema
from warehouse.load import load_file
from warehouse.mapping_coverage import coverage_metadata, source_coverage
from warehouse.reference import load_classification
from warehouse.staging import stage_source

SPLIT = (
    "national_code,national_label,iccs_code,correspondence,share,note\n"
    "VIO,Violence and sexual offences,02,split,0.9,\nVIO,Violence and sexual offences,03,split,0.1,\n"
    "THF,Theft,0502,full,,\nASB,Anti-social behaviour,,excluded,,not an offence\n"
)


def _aggregate(tmp_path: Path) -> dict:
    (tmp_path / "counts.csv").write_text(
        "month,code,district,n\n2023-01,VIO,North,100\n2023-01,VIO,North,50\n"
        "2023-01,THF,North,7\n2023-02,VIO,South,10\n2023-02,ASB,South,99\n"
    )
    return {
        **INCIDENT,
        "level": "aggregate",
        "files": "counts.csv",
        "date_format": "%Y-%m",
        "columns": {"date": "month", "offence": "code", "area": "district", "count": "n"},
    }


def _load(tmp_path: Path, spec: dict, correspondence: str) -> duckdb.DuckDBPyConnection:
    """Stage, classify and load one single-file source into an in-memory warehouse, as the per-file asset does."""
    config = load_config(write_config(tmp_path, spec, correspondence))
    src = config.sources["src"]
    con = duckdb.connect()
    ensure_schema(con)
    load_classification(con)
    load_correspondence(con, "src", src.correspondence)
    stage_source(con, src)
    classify_source(con, src)
    load_file(con, src, str(src.paths()[0]), "run-1")
    return con


def test_split_counts_are_spread_by_share_and_records_point_at_the_dominant_target(tmp_path) -> None:
    con = _load(tmp_path, _aggregate(tmp_path), SPLIT)
    assert records(con, columns="line, iccs_code, mapping, reason") == [
        (2, "02", "split", None),
        (3, "02", "split", None),
        (4, "0502", "full", None),
        (5, "02", "split", None),
        (6, None, "excluded", "excluded_offence"),
    ]
    counts = con.execute(
        "SELECT area, month, iccs_code, national_code, count FROM offence_counts ORDER BY ALL"
    ).fetchall()
    assert counts == [
        ("North", 1, "02", "VIO", pytest.approx(135.0)),
        ("North", 1, "03", "VIO", pytest.approx(15.0)),
        ("North", 1, "0502", "THF", 7.0),
        ("South", 2, "02", "VIO", pytest.approx(9.0)),
        ("South", 2, "03", "VIO", pytest.approx(1.0)),
    ]
    # The split is visible in the warehouse, and counts still add up to what the source published.
    split = con.execute("SELECT iccs_code, share FROM correspondence WHERE national_code = 'VIO' ORDER BY 1").fetchall()
    assert split == [("02", 0.9), ("03", 0.1)]
    assert con.execute("SELECT sum(count) FROM offence_counts").fetchone()[0] == pytest.approx(167.0)
    runs = con.execute("SELECT records_in, records_loaded, records_quarantined FROM runs").fetchone()
    assert runs == (5, 4, 1)


def test_incident_records_keep_the_national_code_and_dominant_target(tmp_path) -> None:
    (tmp_path / "in.csv").write_text("id,date,code\na1,2023-01-05,VIO\na2,2023-01-06,VIO\na3,2023-01-07,THF\n")
    con = _load(tmp_path, {**INCIDENT, "files": "in.csv"}, SPLIT)
    assert con.execute("SELECT record_id, national_code, iccs_code FROM offences ORDER BY 1").fetchall() == [
        ("a1", "VIO", "02"),
        ("a2", "VIO", "02"),
        ("a3", "THF", "0502"),
    ]
    counts = dict(con.execute("SELECT iccs_code, count FROM offence_counts").fetchall())
    assert counts == {"02": pytest.approx(1.8), "03": pytest.approx(0.2), "0502": 1.0}


def test_a_record_maps_by_its_date_when_codes_change(tmp_path) -> None:
    corr = (
        "national_code,iccs_code,valid_from,valid_to\nR1,0401,,2019-12-31\nR1,04011,2020-01-01,2021-12-31\n"
        "R2,0101,2021-01-01,\n"
    )
    (tmp_path / "in.csv").write_text(
        "id,date,code\na,2019-06-01,R1\nb,2020-06-01,R1\nc,2022-06-01,R1\nd,2020-06-01,R2\ne,2021-06-01,R2\n"
    )
    con, _ = stage_and_classify(tmp_path, {**INCIDENT, "files": "in.csv"}, corr)
    assert records(con, columns="record_id, iccs_code, reason") == [
        ("a", "0401", None),
        ("b", "04011", None),
        ("c", None, "unmapped_offence"),
        ("d", None, "unmapped_offence"),
        ("e", "0101", None),
    ]
    detail = con.execute(f"SELECT detail FROM {records_table('src')} WHERE record_id = 'c'").fetchone()[0]
    assert detail == "code: national code 'R1' has no row in correspondence.csv valid on 2022-06-01"


def test_labels_match_whatever_their_case_accents_or_punctuation(tmp_path) -> None:
    corr = "national_code,iccs_code\nBreak and Enter Residential/Other,0501\nAsfixia mecánica,0101\n"
    (tmp_path / "in.csv").write_text(
        "id,date,code\na,2023-01-01,BREAK AND ENTER RESIDENTIAL / OTHER\n"
        "b,2023-01-01,asfixia mecanica\nc,2023-01-01,Asfixia-Mecánica.\n"
        "d,2023-01-01,Asfixia\n"
    )
    spec = {**INCIDENT, "files": "in.csv", "offence_match": "label"}
    con, _ = stage_and_classify(tmp_path, spec, corr)
    assert records(con, columns="record_id, national_code, iccs_code") == [
        ("a", "BREAK AND ENTER RESIDENTIAL / OTHER", "0501"),
        ("b", "asfixia mecanica", "0101"),
        ("c", "Asfixia-Mecánica.", "0101"),
        ("d", "Asfixia", None),
    ]
    # In code mode the same text does not match.
    con, _ = stage_and_classify(tmp_path, {**spec, "offence_match": "code"}, corr)
    assert [r[0] for r in records(con, columns="iccs_code")] == [None, None, None, None]


def test_two_codes_folding_to_one_label_stop_the_run(tmp_path) -> None:
    (tmp_path / "in.csv").write_text("id,date,code\na,2023-01-01,Theft\n")
    with pytest.raises(CorrespondenceError, match=r"national codes 'THEFT' and 'Theft' are the same label"):
        stage_and_classify(
            tmp_path,
            {**INCIDENT, "files": "in.csv", "offence_match": "label"},
            "national_code,iccs_code\nTheft,0502\nTHEFT,0502\n",
        )


def test_a_national_hierarchy_maps_at_the_deepest_level_the_table_gives(tmp_path) -> None:
    corr = (
        "national_code,iccs_code\nVida > Homicidio > Homicidio culposo,01032\n"
        "Vida > Homicidio > Homicidio culposo > En accidente de tránsito,010321\n"
        "Libertad > Secuestro,020221\n"
    )
    (tmp_path / "in.csv").write_text(
        "bien,tipo,subtipo,modalidad,n\nVida,Homicidio,Homicidio culposo,Con arma blanca,1\n"
        "Vida,Homicidio,Homicidio culposo,En accidente de transito,2\nLibertad,Secuestro,Secuestro,Exprés,3\n"
        "Vida,Homicidio,Homicidio doloso,Con arma blanca,4\n"
    )
    spec = {
        **INCIDENT,
        "level": "aggregate",
        "files": "in.csv",
        "offence_match": "label",
        "constants": {"date": "2024"},
        "date_format": "%Y",
        "columns": {"offence": ["bien", "tipo", "subtipo", "modalidad"], "count": "n"},
    }
    con, _ = stage_and_classify(tmp_path, spec, corr)
    assert records(con, columns="national_code, iccs_code") == [
        ("Vida > Homicidio > Homicidio culposo > Con arma blanca", "01032"),
        ("Vida > Homicidio > Homicidio culposo > En accidente de transito", "010321"),
        ("Libertad > Secuestro > Secuestro > Exprés", "020221"),
        ("Vida > Homicidio > Homicidio doloso > Con arma blanca", None),
    ]


def test_nested_totals_are_stored_net_of_published_subcategories(tmp_path) -> None:
    (tmp_path / "in.csv").write_text(
        "year,code,country,n\n2020,0301,XAA,100\n2020,03011,XAA,30\n"
        "2020,03012,XAA,50\n2020,0501,XAA,10\n2020,05012,XAA,12\n2020,0301,XBB,5\n"
    )
    corr = (
        "national_code,iccs_code,parent\n0301,0301,\n03011,03011,0301\n03012,03012,0301\n0501,0501,\n"
        "05012,05012,0501\n"
    )  # the national hierarchy (here the same as ICCS's) is what is netted along
    spec = {
        "level": "aggregate",
        "unit": "offences",
        "files": "in.csv",
        "date_format": "%Y",
        "columns": {"date": "year", "offence": "code", "country": "country", "count": "n"},
        "nested_totals": True,
        "correspondence": "correspondence.csv",
    }
    con = _load(tmp_path, spec, corr)
    counts = con.execute("SELECT country, iccs_code, count, flag FROM offence_counts ORDER BY ALL").fetchall()
    assert counts == [
        ("XAA", "0301", 20.0, None),
        ("XAA", "03011", 30.0, None),
        ("XAA", "03012", 50.0, None),
        ("XAA", "0501", 0.0, NESTED_FLAG),
        ("XAA", "05012", 12.0, None),
        ("XBB", "0301", 5.0, None),
    ]
    rolled = dict(
        con.execute(
            "SELECT iccs_code, count FROM v_counts WHERE country = 'XAA' AND area IS NULL "
            "AND iccs_code IN ('03', '0301', '05')"
        ).fetchall()
    )
    assert rolled == {"03": 100.0, "0301": 100.0, "05": 12.0}


def test_coverage_tells_mapped_excluded_and_unmapped_apart_with_candidates(tmp_path) -> None:
    spec = _aggregate(tmp_path)
    (tmp_path / "counts.csv").write_text(
        (tmp_path / "counts.csv").read_text() + "2023-03,Burglary,North,4\n"
        "2023-03,Burglary,North,4\n2023-03,09A,North,1\n"
    )
    con, _ = stage_and_classify(tmp_path, spec, SPLIT)
    cov = source_coverage(con, "src")
    assert (cov.records, cov.records_mapped, cov.records_excluded, cov.records_unmapped) == (8, 4, 1, 3)
    assert (cov.codes, cov.codes_mapped, cov.codes_excluded, cov.codes_unmapped) == (5, 2, 1, 2)
    assert cov.mapped_share == pytest.approx(4 / 8) and cov.placeable_share == pytest.approx(4 / 7)
    gaps = cov.details.set_index("national_code")
    assert gaps.loc["ASB", "status"] == "excluded" and gaps.loc["ASB", "note"] == "not an offence"
    assert gaps.loc["Burglary", "records"] == 2 and gaps.loc["Burglary", "candidates"].startswith("0501 Burglary")
    assert gaps.loc["09A", "candidates"] is None  # a bare code says nothing about its meaning
    assert list(cov.details["national_code"][:2]) == ["Burglary", "09A"]  # unmapped first, by volume
    meta = coverage_metadata(cov)
    assert meta["coverage_placeable_share"] == pytest.approx(4 / 7, abs=1e-6)
    assert "| Burglary | unmapped | 2 |" in meta["coverage_gaps_md"]


def test_map_check_prints_writes_the_tables_and_fails_below_the_threshold(tmp_path, capsys) -> None:
    spec = _aggregate(tmp_path)
    config = write_config(tmp_path, spec, SPLIT)
    warehouse = tmp_path / "w.duckdb"
    assert map_check(config, warehouse) == 0  # ASB is excluded: 100% of what ICCS can place is mapped
    out = capsys.readouterr().out
    assert "✓ src: 5 records, 80.00% mapped to ICCS (100.00% of what ICCS can place)" in out
    assert "ASB  1 records  not an offence" in out
    with duckdb.connect(str(warehouse)) as con:
        assert con.execute("SELECT records, records_mapped, placeable_share FROM mapping_coverage").fetchall() == [
            (5, 4, 1.0)
        ]
        assert con.execute("SELECT national_code, status FROM mapping_coverage_codes").fetchall() == [
            ("ASB", "excluded")
        ]
        assert con.execute("SELECT count(*) FROM offences").fetchone()[0] == 0  # nothing is loaded
    (tmp_path / "correspondence.csv").write_text(SPLIT.replace("THF,Theft,0502,full,,\n", ""))
    assert map_check(config, warehouse) == 1
    assert "THF  1 records" in capsys.readouterr().out
    assert map_check(config, warehouse, source="nope") == 2


def test_map_check_reports_an_unreadable_source_as_one_line(tmp_path) -> None:
    config = write_config(tmp_path, {**INCIDENT, "files": "missing/*.csv"})
    covs, errors = run_checks(config, tmp_path / "w.duckdb")
    assert covs == [] and len(errors) == 1
    assert errors[0].startswith("src: ") and "matches no file" in errors[0]
