"""iccs.lexical.rank: national offence labels to ICCS categories through the labels and the Table I definitions."""

from __future__ import annotations

import pytest

from iccs.classification import is_valid
from iccs.lexical import Suggestion, rank


def _position(label: str, prefix: str, lang: str = "auto", limit: int = 5) -> int | None:
    """1-based rank of the first suggestion at or under ``prefix``; None if none in the top ``limit``."""
    for i, s in enumerate(rank(label, lang=lang, limit=limit), start=1):
        if s.code.startswith(prefix):
            return i
    return None


@pytest.mark.parametrize(
    ("label", "lang", "prefix"),
    [
        ("Murder", "en", "0101"),  # an inclusion of 0101
        ("Break and Enter", "en", "0501"),  # 'Breaking and entering', an inclusion of burglary
        ("Vandalism", "en", "0504"),  # property damage
        ("Intentional bodily harm", "en", "0201"),  # assault: 'Inflicting minor bodily harm' (measured rank 4)
        ("Hooliganism", "en", "0801"),  # acts against public order behavioural standards (08011 violent disorder)
        ("HOMICIDIO", "es", "0101"),
        ("ROBO CON VIOLENCIA", "es", "0401"),  # 'Hurto con violencia', an inclusion of robbery (measured rank 3)
    ],
)
def test_known_synonyms_are_in_the_top_five(label: str, lang: str, prefix: str) -> None:
    assert _position(label, prefix, lang) is not None, [s.code for s in rank(label, lang=lang, limit=5)]


def test_an_inclusion_is_quoted_as_the_reason() -> None:
    first = rank("Murder", limit=1)[0]
    assert first.code == "0101"
    assert first.reasons[0] == "inclusion: 'Murder'"


def test_an_exact_label_wins_over_its_parent() -> None:
    first, second = rank("Other acts of fraud", limit=2)
    assert (first.code, second.code) == ("07019", "0701")
    assert first.reasons[0].startswith("label match (exact)")


@pytest.mark.parametrize("label", ["Murder", "Break and Enter", "ROBO CON VIOLENCIA", "Criminal damage to a vehicle"])
def test_results_are_valid_sorted_within_the_limit_and_explained(label: str) -> None:
    for limit in (1, 3, 10):
        found = rank(label, limit=limit)
        assert 0 < len(found) <= limit
        assert all(isinstance(s, Suggestion) and is_valid(s.code) for s in found)
        assert len({s.code for s in found}) == len(found)
        assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)
        assert all(s.reasons and all(isinstance(r, str) and r for r in s.reasons) for s in found)


def test_an_exclusion_pushes_its_category_down() -> None:
    # 'attempted intentional homicide (0102)' is an exclusion of 0101: 0101 falls below 0103 and says why.
    found = {s.code: (i, s) for i, s in enumerate(rank("attempted intentional homicide", limit=5))}
    assert found["0102"][0] == 0
    assert found["0103"][0] < found["0101"][0]
    assert any(r.startswith("pushed down") and "0102" in r for r in found["0101"][1].reasons)


def test_an_exclusion_points_here() -> None:
    found = rank("bodily harm caused by a negligent act", limit=10)
    assert any(r.startswith("exclusion of ") and "points here" in r for s in found for r in s.reasons)


def test_a_description_adds_evidence() -> None:
    def burglary_rank(description: str | None) -> int | None:
        found = [s.code for s in rank("Offence 14", limit=10, description=description)]
        return next((i for i, code in enumerate(found, start=1) if code.startswith("0501")), None)

    assert burglary_rank(None) is None
    found = burglary_rank("entering a building to steal (breaking and entering)")
    assert found is not None and found <= 3


def test_empty_and_bad_input() -> None:
    assert rank("") == []
    assert rank("12 / 3") == []
    assert rank("Murder", limit=0) == []
    with pytest.raises(ValueError, match="lang"):
        rank("Murder", lang="fr")
