"""Correspondence tables: the optional columns are read and typed, and every table rule stops a bad table with one
line naming the file, the line and the problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SHARED, requires_shared_data
from warehouse.correspondence import CorrespondenceError, read_correspondence

HEAD = "national_code,national_label,iccs_code,correspondence,share,valid_from,valid_to,basis,note\n"
GOOD = HEAD + (
    "HOM,Murder,0101,full,,,,legal_text,\n"
    "VIO,Violence,02,split,0.7,,,official_crosswalk,shares from national counts\n"
    "VIO,Violence,03,split,0.3,,,official_crosswalk,\n"
    "ROB,Robbery,401,partial,,,2019-12-31,analyst_judgement,code before the 2020 reform\n"
    "ROB,Robbery,04011,full,,2020-01-01,,legal_text,\n"
    "ASB,Anti-social behaviour,,excluded,,,,analyst_judgement,incidents that are not offences\n"
)


def _table(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "corr.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_full_table_is_read_typed(tmp_path: Path) -> None:
    frame = read_correspondence(_table(tmp_path, GOOD))
    assert list(frame["iccs_code"]) == ["0101", "02", "03", "0401", "04011", None]  # '401' restored to 0401
    assert list(frame["correspondence"]) == ["full", "split", "split", "partial", "full", "excluded"]
    assert frame["share"].tolist()[1:3] == [0.7, 0.3]
    assert str(frame.loc[3, "valid_to"].date()) == "2019-12-31"
    assert list(frame["line"]) == [2, 3, 4, 5, 6, 7]


def test_minimal_tables_default_to_full_correspondence(tmp_path: Path) -> None:
    frame = read_correspondence(_table(tmp_path, "national_code,iccs_code\nA,0101\nB,0502\n"))
    assert list(frame["correspondence"]) == ["full", "full"]
    assert frame["share"].isna().all() and frame["valid_from"].isna().all()


@pytest.mark.parametrize(
    ("rows", "line", "problem"),
    [
        ("HOM,Murder,0199,full,,,,,\n", 2, "'0199' is not an ICCS v1.0 code"),
        (
            "HOM,Murder,0101,full,,,,,\nHOM,Homicide,0101,full,,,,,\n",
            2,
            "duplicate national_code for the same validity",
        ),
        ("V,Violence,02,split,0.6,,,,\nV,Violence,03,split,0.3,,,,\n", 2, "do not sum to 1"),
        ("V,Violence,02,split,0.5,,,,\nV,Violence,02,split,0.5,,,,\n", 2, "the same ICCS target twice in one split"),
        ("V,Violence,02,split,,,,,\n", 2, "a 'split' row needs a share"),
        ("V,Violence,02,full,0.5,,,,\n", 2, "share is given on a row that is not 'split'"),
        ("V,Violence,02,split,0.5,,,,\nV,Violence,03,full,,,,,\n", 2, "duplicate national_code"),
        ("R,Robbery,0401,full,,2010-01-01,2020-12-31,,\nR,Robbery,04011,full,,2020-01-01,,,\n", 2, "validity overlaps"),
        ("R,Robbery,0401,full,,2021-01-01,2020-12-31,,\n", 2, "valid_from is after valid_to"),
        ("R,Robbery,0401,full,,01/02/2020,,,\n", 2, "field 'valid_from': not a date"),
        ("R,Robbery,0401,full,abc,,,,\n", 2, "field 'share': not a number"),
        ("R,Robbery,0401,roughly,,,,,\n", 2, "field 'correspondence': not one of"),
        ("R,Robbery,0401,full,,,,gut_feeling,\n", 2, "basis"),
        ("A,Anti-social,,excluded,,,,,\n", 2, "no note saying why"),
        ("A,Anti-social,0801,excluded,,,,,not an offence\n", 2, "an 'excluded' row has an ICCS code"),
        ("OK,Fine,0101,full,,,,,\nA,Anti-social,,full,,,,,\n", 3, "iccs_code is empty"),
    ],
)
def test_each_rule_names_file_line_and_problem(tmp_path: Path, rows: str, line: int, problem: str) -> None:
    path = _table(tmp_path, HEAD + rows)
    with pytest.raises(CorrespondenceError) as caught:
        read_correspondence(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: line {line}:"), message
    assert problem in message, message
    assert "\n" not in message


def test_consecutive_validity_periods_and_splits_per_period_are_allowed(tmp_path: Path) -> None:
    rows = (
        "R,Robbery,0401,full,,,2019-12-31,,\n"
        "R,Robbery,02,split,0.5,2020-01-01,,,\nR,Robbery,04,split,0.5,2020-01-01,,,\n"
    )
    frame = read_correspondence(_table(tmp_path, HEAD + rows))
    assert len(frame) == 3


def test_a_missing_required_column_is_named(tmp_path: Path) -> None:
    with pytest.raises(CorrespondenceError, match=r"column\(s\) \['iccs_code'\] missing"):
        read_correspondence(_table(tmp_path, "national_code,label\nA,x\n"))


def test_tables_in_their_own_layout_are_renamed_and_marked_excluded(tmp_path: Path) -> None:
    path = _table(tmp_path, "code,name,target\n101,Quebrantamiento,08062\n704,Homicidio simple,Excluido 2024\n")
    frame = read_correspondence(
        path, {"national_code": "code", "national_label": "name", "iccs_code": "target"}, ["Excluido 2024"]
    )
    assert list(frame["correspondence"]) == ["full", "excluded"]
    assert frame.loc[1, "note"] == "Excluido 2024" and frame.loc[1, "iccs_code"] is None
    with pytest.raises(CorrespondenceError, match="line 3: field 'iccs_code': 'Excluido 2024' is not an ICCS"):
        read_correspondence(path, {"national_code": "code", "iccs_code": "target"})


@requires_shared_data()
def test_chile_national_penal_codes_load_as_a_correspondence_table() -> None:
    path = SHARED / "reference" / "iccs" / "correspondence" / "chile_cnp_to_iccs.csv"
    frame = read_correspondence(
        path,
        {"national_code": "cnp_code", "national_label": "cnp_label_es", "iccs_code": "iccs_code_manual"},
        ["Excluido 2024"],
    )
    assert len(frame) == 595
    assert (frame["correspondence"] == "excluded").sum() == 15
    assert frame.loc[frame["national_code"] == "704", "correspondence"].item() == "excluded"  # Homicidio simple
    assert frame.loc[frame["national_code"] == "202", "iccs_code"].item() == "02022"  # Secuestro


def test_shipped_correspondence_tables_pass_every_rule() -> None:
    shipped = sorted(Path(__file__).resolve().parents[1].glob("pipelines/sources/*/correspondence.csv"))
    assert len(shipped) >= 12
    for path in shipped:
        frame = read_correspondence(path)
        assert len(frame) > 0, path
