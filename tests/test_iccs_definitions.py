"""The ICCS Table I definitions shipped with `iccs`: the files, the API, their codes, and `iccs codes CODE`."""

from __future__ import annotations

import pytest

import iccs
from iccs.definitions import Exclusion, definition, definitions, parse_exclusion
from tests.conftest import ROOT, SHARED

SHIPPED = ROOT / "iccs" / "data"
REFERENCE = SHARED / "reference" / "iccs"
FILES = ("iccs_v1_definitions.csv", "iccs_v1_definitions_es.csv")

# Codes printed in Table I (and in the Spanish Cuadro I) that are not ICCS codes: misprints kept as printed.
MISPRINTED_TARGETS = {
    ("070211", "070219"),  # "Counterfeiting means of non-cash payment (070219": 070212 is meant
    ("0609", "8042"),  # "import/export offences (8042)": the leading zero is lost (08042)
    ("0808", "02010"),  # "wage or employment discrimination (02010)": 0210 Discrimination is meant
}


@pytest.mark.skipif(
    not REFERENCE.is_dir(), reason=f"{REFERENCE} is absent (the shared reference data lives beside the repository)"
)
@pytest.mark.parametrize("name", FILES)
def test_the_shipped_files_are_the_shared_ones_byte_for_byte(name):
    assert (SHIPPED / name).read_bytes() == (REFERENCE / name).read_bytes()


@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_level_2_to_4_code_has_a_definition_and_no_section_does(lang):
    by_code = definitions(lang)
    assert set(by_code) == {c.code for c in iccs.categories() if c.level > 1}
    assert all(d.description and d.lang == lang for d in by_code.values())
    assert definition("05", lang) is None


def test_known_codes():
    homicide = definition("0101")
    assert homicide is not None and "Murder" in homicide.inclusions
    assert isinstance(homicide.inclusions, tuple) and isinstance(homicide.exclusions, tuple)
    attempted = definition("0102")
    assert any("0106" in e.codes for e in attempted.exclusions)
    assert attempted.exclusions[0] == Exclusion("Conspiracy to procure or commit illegal feticide (0106)", ("0106",))
    spanish = definition("0101", "es")
    assert spanish is not None and spanish.lang == "es" and "Asesinato" in spanish.inclusions
    assert spanish.description != homicide.description


def test_no_language_is_mixed_in_silently():
    assert definition("9999") is None and definition("9999", "es") is None
    with pytest.raises(ValueError, match="languages: en, es"):
        definitions("fr")


@pytest.mark.parametrize(
    ("text", "codes", "exclusions_of"),
    [
        ("property damage (0504)", ("0504",), ()),
        ("fraud and theft with a computer system (0701) or (0502)", ("0701", "0502"), ()),
        ("Counterfeiting means of non-cash payment (070219", ("070219",), ()),  # the misplaced parenthesis of 070211
        ("Legal abortion/legal feticide", (), ()),
        ("Apply all exclusions listed in 0501", (), ("0501",)),
        ("apply all exclusions listed 06021", (), ("06021",)),  # printed without "in"
        ("apply all exclusions listed in 0701-0704.", (), ("0701", "0702", "0703", "0704")),
        ("Apply all exclusions listed in 0101 – 0107", (), tuple(f"010{i}" for i in range(1, 8))),
        ("aplicar todas las exclusiones enumeradas en 0301 y 0302", (), ("0301", "0302")),
        ("aplicar todas las exclusiones enumeradas en 0701 a 0704.", (), ("0701", "0702", "0703", "0704")),
    ],
)
def test_an_exclusion_points_to_the_codes_it_prints(text, codes, exclusions_of):
    assert parse_exclusion(text) == Exclusion(text, codes, exclusions_of)


@pytest.mark.parametrize("lang", ["en", "es"])
def test_every_code_an_exclusion_points_to_is_an_iccs_code_but_the_known_misprints(lang):
    targets = {(d.code, t) for d in definitions(lang).values() for e in d.exclusions for t in e.targets}
    unknown = {(code, target) for code, target in targets if not iccs.is_valid(target)}
    assert unknown == MISPRINTED_TARGETS, f"exclusion targets that are not ICCS codes ({lang}): {sorted(unknown)}"
    # every exclusion that names a code in parentheses has it parsed
    for d in definitions(lang).values():
        for e in d.exclusions:
            assert bool(e.codes) == ("(0" in e.text or "(1" in e.text or "(8" in e.text), (d.code, e.text)


def test_iccs_codes_prints_the_definition(capsys):
    from pipelines.cli import main

    assert main(["codes", "0501"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(iccs.render_tree("0501") + "\n")  # the tree as before, the definition below it
    burglary = definition("0501")
    assert burglary.description in out and "Breaking and entering" in out
    assert "property damage (0504)  -> 0504 Property damage" in out


def test_iccs_codes_in_spanish_and_for_a_section(capsys):
    from pipelines.cli import main

    assert main(["codes", "501", "--lang", "es"]) == 0
    out = capsys.readouterr().out
    assert definition("0501", "es").description in out and "Robo con fuerza en las cosas" in out
    assert main(["codes", "05"]) == 0
    assert "none for a section (05)" in capsys.readouterr().out
    assert main(["codes", "--search", "traffick"]) == 0
    assert "Table I" not in capsys.readouterr().out  # a search shows the tree only
