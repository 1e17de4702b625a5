"""Tests for the ICCS v1.0 classification table, hierarchy helpers, search and tree rendering."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

import iccs
from iccs import UnknownCodeError

REFERENCE = Path(__file__).resolve().parents[2] / "shared" / "reference" / "iccs"


def _read_reference(name: str) -> list[dict[str, str]]:
    """Rows of a reference CSV, skipping the test where the shared folder is not mounted."""
    if not REFERENCE.is_dir():
        pytest.skip(f"reference folder {REFERENCE} is absent (only present beside the repo checkout)")
    with (REFERENCE / name).open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --- table shape -------------------------------------------------------------------------------------------


def test_counts_per_level() -> None:
    counts = Counter(c.level for c in iccs.categories())
    assert dict(counts) == {1: 11, 2: 63, 3: 148, 4: 98}
    assert len(iccs.categories()) == 320


def test_codes_are_unique_sorted_strings_of_the_right_length() -> None:
    codes = [c.code for c in iccs.categories()]
    assert codes == sorted(set(codes))
    lengths = {1: 2, 2: 4, 3: 5, 4: 6}
    for c in iccs.categories():
        assert isinstance(c.code, str) and c.code.isdigit()
        assert len(c.code) == lengths[c.level], c


def test_parent_consistency() -> None:
    for c in iccs.categories():
        if c.level == 1:
            assert c.parent_code is None
            continue
        expected = c.code[:-2] if c.level == 2 else c.code[:-1]
        assert c.parent_code == expected, c
        assert iccs.is_valid(c.parent_code)
        assert iccs.get(c.parent_code).level == c.level - 1


def test_every_category_has_both_labels() -> None:
    for c in iccs.categories():
        assert c.label and c.label == c.label.strip()
        assert c.label_es and c.label_es == c.label_es.strip()


def test_shipped_table_equals_reference() -> None:
    reference = _read_reference("iccs_v1.csv")
    shipped = [
        {"code": c.code, "level": str(c.level), "parent_code": c.parent_code or "", "label": c.label}
        for c in iccs.categories()
    ]
    assert shipped == reference


def test_shipped_spanish_labels_equal_reference() -> None:
    reference = {r["code"]: r["label_es"] for r in _read_reference("iccs_v1_es.csv")}
    assert {c.code: c.label_es for c in iccs.categories()} == reference


def test_shipped_csv_keeps_leading_zeros_when_read_naively() -> None:
    """pandas would turn codes into ints unless told otherwise; the shipped text must keep the zeros."""
    path = Path(iccs.__file__).parent / "data" / "iccs_v1.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(frame.columns) == ["code", "level", "parent_code", "label", "label_es"]
    assert frame.loc[0, "code"] == "01"
    assert "0101" in set(frame["code"])


# --- lookups ------------------------------------------------------------------------------------------------


def test_get_returns_category() -> None:
    c = iccs.get("0204")
    assert c == iccs.Category("0204", 2, "02", "Trafficking in persons (TIP)", "Trata de personas")


def test_category_is_frozen() -> None:
    with pytest.raises(AttributeError):
        iccs.get("0101").label = "changed"  # type: ignore[misc]


@pytest.mark.parametrize("bad", ["204", "9999", "", "01019", " 0101"])
def test_get_unknown_code_raises(bad: str) -> None:
    with pytest.raises(UnknownCodeError, match="not an ICCS v1.0 code"):
        iccs.get(bad)


def test_get_unknown_code_suggests_restored_leading_zero() -> None:
    with pytest.raises(UnknownCodeError, match="'0204'"):
        iccs.get("204")


def test_get_rejects_integer_code() -> None:
    with pytest.raises(ValueError):
        iccs.get(101)  # type: ignore[arg-type]


def test_is_valid() -> None:
    assert iccs.is_valid("0101")
    assert iccs.is_valid("020811")
    assert not iccs.is_valid("101")
    assert not iccs.is_valid(101)  # type: ignore[arg-type]
    assert not iccs.is_valid("0108")  # a misnumbering seen in third-party lists; ICCS uses 0109


# --- normalise_code -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (101, "0101"),
        ("101", "0101"),
        ("ICCS0101", "0101"),
        ("iccs 0101", "0101"),
        ("  0101 ", "0101"),
        ("2011", "02011"),
        (2011, "02011"),
        (101.0, "0101"),
        ("101.0", "0101"),
        (1, "01"),
        ("10", "10"),
        ("1003", "1003"),
        ("ICCS09051", "09051"),
        ("20811", "020811"),
    ],
)
def test_normalise_code_restores_codes(raw: str | int | float, expected: str) -> None:
    assert iccs.normalise_code(raw) == expected


INVALID_RAW: list[object] = ["", "   ", "abc", "9999", "ICCS0101_0102", "ICCS02-04", "0.101", "00101"]


@pytest.mark.parametrize("raw", [None, 101.5, float("nan"), True, *INVALID_RAW])
def test_normalise_code_returns_none_for_invalid(raw: object) -> None:
    assert iccs.normalise_code(raw) is None  # type: ignore[arg-type]


def test_normalise_code_is_never_ambiguous() -> None:
    """Restoring a zero must not be able to pick between two real codes."""
    codes = {c.code for c in iccs.categories()}
    assert not [c for c in codes if "0" + c in codes]


def test_normalise_code_round_trips_every_code_and_its_integer_form() -> None:
    for c in iccs.categories():
        assert iccs.normalise_code(c.code) == c.code
        assert iccs.normalise_code(int(c.code)) == c.code


# --- hierarchy ----------------------------------------------------------------------------------------------


def test_parent() -> None:
    assert iccs.parent("02041") == iccs.get("0204")
    assert iccs.parent("0204") == iccs.get("02")
    assert iccs.parent("02") is None


def test_ancestors_and_lineage() -> None:
    assert [c.code for c in iccs.ancestors("070311")] == ["07", "0703", "07031"]
    assert [c.code for c in iccs.lineage("070311")] == ["07", "0703", "07031", "070311"]
    assert iccs.ancestors("07") == []
    assert [c.code for c in iccs.lineage("07")] == ["07"]


def test_children_and_descendants() -> None:
    assert [c.code for c in iccs.children("0204")] == ["02041", "02042", "02043", "02044"]
    assert [c.code for c in iccs.children("0703")] == ["07031", "07032", "07033", "07034", "07035", "07039"]
    assert [c.code for c in iccs.descendants("07031")] == ["070311", "070312"]
    assert iccs.children("0101") == [] and iccs.descendants("0101") == []
    assert len(iccs.descendants("0703")) == 8


def test_descendants_match_code_prefixes() -> None:
    """Codes are hierarchical strings, so the subtree must be exactly the codes sharing the prefix."""
    for c in iccs.categories():
        by_prefix = [o.code for o in iccs.categories() if o.code.startswith(c.code) and o.code != c.code]
        assert [d.code for d in iccs.descendants(c.code)] == by_prefix


def test_hierarchy_functions_reject_unknown_codes() -> None:
    for func in (iccs.parent, iccs.ancestors, iccs.lineage, iccs.children, iccs.descendants, iccs.section):
        with pytest.raises(UnknownCodeError):
            func("0108")


@pytest.mark.parametrize(
    ("code", "level", "expected"),
    [
        ("070311", 1, "07"),
        ("070311", 2, "0703"),
        ("070311", 3, "07031"),
        ("070311", 4, "070311"),
        ("0204", 2, "0204"),
        ("0204", 1, "02"),
        ("0204", 3, None),
        ("0204", 4, None),
        ("02", 1, "02"),
        ("02", 2, None),
    ],
)
def test_rollup(code: str, level: int, expected: str | None) -> None:
    assert iccs.rollup(code, level) == expected


@pytest.mark.parametrize("level", [0, 5, -1])
def test_rollup_rejects_bad_level(level: int) -> None:
    with pytest.raises(ValueError, match="level"):
        iccs.rollup("0101", level)


def test_rollup_unknown_code() -> None:
    with pytest.raises(UnknownCodeError):
        iccs.rollup("9999", 1)


def test_section() -> None:
    assert iccs.section("020811") == "02"
    assert iccs.section("1003") == "10"
    assert iccs.section("11") == "11"


# --- frames -------------------------------------------------------------------------------------------------


def test_categories_frame() -> None:
    frame = iccs.categories_frame()
    assert list(frame.columns) == ["code", "level", "parent_code", "label", "label_es", "section"]
    assert len(frame) == 320
    assert str(frame["level"].dtype) == "int64"
    for column in ("code", "parent_code", "label", "label_es", "section"):
        assert isinstance(frame[column].dtype, pd.StringDtype), column
    assert frame["parent_code"].isna().sum() == 11
    row = frame.set_index("code").loc["020811"]
    assert (row["level"], row["parent_code"], row["section"]) == (4, "02081", "02")
    assert frame["code"].str.slice(0, 2).equals(frame["section"])


def test_ancestor_pairs_frame() -> None:
    frame = iccs.ancestor_pairs_frame()
    assert list(frame.columns) == ["code", "ancestor_code", "ancestor_level"]
    assert len(frame) == 11 * 1 + 63 * 2 + 148 * 3 + 98 * 4
    assert not frame.duplicated().any()
    pairs = frame[frame["code"] == "070311"].sort_values("ancestor_level")
    assert list(pairs["ancestor_code"]) == ["07", "0703", "07031", "070311"]
    assert list(pairs["ancestor_level"]) == [1, 2, 3, 4]
    assert (frame.groupby("code").size() >= 1).all()
    assert set(frame[frame["code"] == frame["ancestor_code"]]["code"]) == {c.code for c in iccs.categories()}


def test_ancestor_pairs_roll_up_counts() -> None:
    """The SQL use case: counts recorded at mixed levels add up correctly at every ancestor."""
    counts = pd.DataFrame({"code": ["070311", "070312", "07031", "07032", "0101"], "n": [1, 2, 4, 8, 16]})
    rolled = counts.merge(iccs.ancestor_pairs_frame(), on="code").groupby("ancestor_code")["n"].sum()
    assert rolled["07031"] == 7
    assert rolled["0703"] == 15
    assert rolled["07"] == 15
    assert rolled["01"] == 16
    assert "0102" not in rolled.index


# --- search -------------------------------------------------------------------------------------------------


def test_normalise_label() -> None:
    assert iccs.normalise_label("  Tráfico   de ARMAS, (TIP)! ") == "trafico de armas tip"
    assert iccs.normalise_label("Extracción de órganos") == "extraccion de organos"
    assert iccs.normalise_label("Niño\tsoldado") == "nino soldado"
    assert iccs.normalise_label("...") == ""


def test_search_english_and_spanish() -> None:
    english = [c.code for c in iccs.search("traffick")]
    spanish = [c.code for c in iccs.search("trata")]
    assert "0204" in english and "090121" in english
    assert "0204" in spanish and "02041" in spanish
    assert english == sorted(english)


def test_search_ignores_accents_and_case() -> None:
    assert [c.code for c in iccs.search("EXTRACCION DE ORGANOS")] == ["02043"]
    assert [c.code for c in iccs.search("extracción de órganos")] == ["02043"]
    assert "0101" in [c.code for c in iccs.search("Homicidio intencional")]


def test_search_no_match_and_empty() -> None:
    assert iccs.search("zzzz-no-such-crime") == []
    with pytest.raises(ValueError):
        iccs.search("  ?! ")


# --- tree ---------------------------------------------------------------------------------------------------


def test_render_full_tree() -> None:
    lines = iccs.render_tree().splitlines()
    assert len(lines) == 320
    assert lines[0].startswith("01 ")
    assert lines[1].startswith("  0101 ")
    assert any(line.startswith("      020811 ") for line in lines)


def test_render_subtree() -> None:
    lines = iccs.render_tree("0204").splitlines()
    assert lines[0] == "0204    Trafficking in persons (TIP)"
    assert [line.split()[0] for line in lines] == ["0204", "02041", "02042", "02043", "02044"]
    assert all(line.startswith("  0204") for line in lines[1:])


def test_render_subtree_accepts_lost_leading_zero() -> None:
    assert iccs.render_tree("204") == iccs.render_tree("0204")


def test_render_unknown_root_raises() -> None:
    with pytest.raises(UnknownCodeError, match="9999"):
        iccs.render_tree("9999")


def test_render_search_shows_ancestry_and_marks_hits() -> None:
    text = iccs.render_tree(query="trata")
    lines = text.splitlines()
    assert lines[0].split() == ["02", *iccs.get("02").label.split()]
    assert not lines[0].startswith("*")
    marked = [line.split()[1] for line in lines if line.startswith("*")]
    assert marked == ["0204", "02041", "02042", "02043", "02044"]


def test_render_search_within_root() -> None:
    lines = iccs.render_tree("0901", query="traffick").splitlines()
    marked = [line.split()[1] for line in lines if line.startswith("*")]
    assert marked == ["09012", "090121", "090122", "090123", "090129"]
    assert "0204" not in iccs.render_tree("0901", query="traffick")


def test_render_search_without_hits() -> None:
    assert iccs.render_tree(query="zzzz") == "No ICCS category matches 'zzzz'."
