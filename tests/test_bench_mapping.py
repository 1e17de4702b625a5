"""The mapping-suggestion benchmark (bench/mapping.py): its metric on known ranks, its loaders, its method registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.mapping import (
    CHILE,
    METHODS,
    PHILIPPINES,
    Case,
    Outcome,
    chile_agreed,
    load_chile,
    load_philippines,
    load_table,
    load_tables,
    rank,
    recalls,
    summary,
    worst_misses,
)
from iccs.classification import is_valid
from tests.conftest import requires_shared_data


def test_rank_at_each_level() -> None:
    suggestions = ["0501", "0401", "04011", "040111"]
    assert rank(suggestions, ["040111"], 2) == 2  # section 04 first at 0401
    assert rank(suggestions, ["040111"], 4) == 2  # level 2 0401
    assert rank(suggestions, ["040111"], None) == 4  # exact
    assert rank(suggestions, ["05"], 4) == "n/a"  # a section-only manual code has no level 2
    assert rank(suggestions, ["05"], None) is None  # '05' itself is not suggested
    assert rank(["05"], ["0501"], 4) is None  # a section suggestion does not hit a level-2 code
    assert rank(suggestions, ["0201", "0501"], None) == 1  # a split: any of the codes


def test_recalls_on_a_hand_made_case_set() -> None:
    def case(codes: tuple[str, ...]) -> Case:
        return Case("t", codes[0], "x", "en", codes)

    # Three cases with known suggestions: ranks per level are worked out by hand in the comments.
    found = [
        (case(("0101",)), ["0101", "0102"]),  # section 1, level2 1, exact 1
        (case(("02011",)), ["0501", "0202", "0201", "02011"]),  # section 2, level2 3, exact 4
        (case(("05",)), ["0401"] * 5 + ["0502"]),  # section 6, level2 n/a, exact none
    ]
    outcomes = []
    for c, s in found:
        ranks = {"section": rank(s, c.codes, 2), "level2": rank(s, c.codes, 4), "manual": rank(s, c.codes, None)}
        outcomes.append(Outcome(c, s, 0.001, ranks))
    assert [o.ranks["section"] for o in outcomes] == [1, 2, 6]
    result = summary(outcomes)
    assert result["section"] == pytest.approx({"n": 3, "not_applicable": 0, "@1": 1 / 3, "@5": 2 / 3, "@10": 1.0})
    assert result["level2"] == pytest.approx({"n": 2, "not_applicable": 1, "@1": 1 / 2, "@5": 1.0, "@10": 1.0})
    assert result["manual"] == pytest.approx({"n": 3, "not_applicable": 0, "@1": 1 / 3, "@5": 2 / 3, "@10": 2 / 3})
    worst = worst_misses(outcomes, limit=10)
    assert [w["national_code"] for w in worst] == ["05", "02011"]  # the hit at rank 1 is no miss
    assert worst[0]["rank"] == "not in top 10" and worst[1]["rank"] == 4


def test_recalls_of_nothing_applicable_are_not_a_number() -> None:
    result = recalls(["n/a", "n/a"])
    assert result["n"] == 0 and result["not_applicable"] == 2
    assert result["@1"] != result["@1"]  # NaN


def test_shipped_tables_load_with_exclusions_counted() -> None:
    tables = {t.name: t for t in load_tables()}
    assert len(tables) >= 12
    for t in tables.values():
        assert len(t.cases) + sum(t.left_out.values()) <= t.rows  # a split code's rows make one case
        assert all(is_valid(code) for c in t.cases for code in c.codes)
        assert all(sum(ch.isalpha() for ch in c.text) >= 3 for c in t.cases)
    uk = tables["police_uk_west_yorkshire"]
    assert uk.left_out == {"excluded (outside ICCS)": 1}
    bicycle = next(c for c in uk.cases if c.national_code == "Bicycle theft")
    assert bicycle.text == "Bicycle theft"  # the label column says only 'police.uk crime type'
    assert tables["vancouver_crime_2020"].left_out == {"excluded (outside ICCS)": 2}
    demo = next(c for c in tables["demo"].cases if c.national_code == "101")
    assert (demo.text, demo.codes) == ("Murder", ("0101",))


def test_a_split_code_is_one_case_with_every_code(tmp_path: Path) -> None:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "correspondence.csv").write_text(
        "national_code,national_label,iccs_code,correspondence\n"
        "A,Theft from vehicles,05021,split\nA,Theft from vehicles,05022,split\n"
        "B,Nuisance,,excluded\nC,Bad code,99999,full\n",
        encoding="utf-8",
    )
    loaded = load_table(folder / "correspondence.csv")
    assert [(c.national_code, c.codes) for c in loaded.cases] == [("A", ("05021", "05022"))]
    assert loaded.left_out == {"excluded (outside ICCS)": 1, "invalid ICCS v1.0 code": 1}


@requires_shared_data()
def test_chile_loads_with_the_excluded_codes_counted() -> None:
    if not CHILE.is_file():
        pytest.skip(f"{CHILE} is absent (the shared reference data is not beside the project)")
    chile = load_chile()
    assert chile.rows == 595
    assert len(chile.cases) == 580
    assert chile.left_out["status non-numeric (Excluido 2024)"] == 15
    assert chile.left_out["kept: ok-typo-fixed (1042/908 read as 01049/0909)"] == 7
    secuestro = next(c for c in chile.cases if c.national_code == "202")
    assert (secuestro.text, secuestro.lang, secuestro.codes) == ("SECUESTRO", "es", ("02022",))


@pytest.mark.parametrize("name", sorted(METHODS))
def test_every_method_returns_at_most_limit_valid_codes(name: str) -> None:
    method = METHODS[name]
    for label, lang in (("Robo con violencia", "es"), ("Theft of a motor vehicle", "en"), ("zzqx", "en")):
        for limit in (1, 5, 10):
            codes = method(label, lang, limit)
            assert len(codes) <= limit
            assert len(set(codes)) == len(codes)
            assert all(is_valid(c) for c in codes)
    assert len(method("Robo con violencia", "es", 10)) == 10  # min_score 0: a full list to rank


@requires_shared_data()
def test_chile_agreed_subset_leaves_out_the_codes_the_two_codings_disagree_on() -> None:
    if not CHILE.is_file():
        pytest.skip(f"{CHILE} is absent (the shared reference data is not beside the project)")
    chile = load_chile()
    agreed = chile_agreed(chile)
    assert 300 < len(agreed) < len(chile.cases)
    codes = {c.national_code for c in agreed}
    assert "202" in codes  # SECUESTRO: 02022 by both
    assert "607" not in codes  # 'Violación': manual 08061 Obstruction of justice, LLM 03011 Rape


@requires_shared_data()
def test_philippines_level_five_maps_to_its_longest_iccs_prefix() -> None:
    if not PHILIPPINES.is_file():
        pytest.skip(f"{PHILIPPINES} is absent (the shared reference data is not beside the project)")
    loaded = load_philippines()
    assert len(loaded.cases) == 1260
    assert loaded.left_out == {"levels 1-4 (ICCS's codes, a few national)": 610}
    by_code = {c.national_code: c for c in loaded.cases}
    assert by_code["0509303"].codes == ("0509",)  # PSCCS 05093 Criminal trespass is national: ICCS stops at 0509
    assert by_code["0105000"].codes == ("0105",)
    assert by_code["0101002"].text == "Murder" and by_code["0101002"].codes == ("0101",)
