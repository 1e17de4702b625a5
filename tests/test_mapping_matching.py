"""Label keys and offline ICCS suggestions (iccs.matching): what label mapping and map-check hints rest on."""

from __future__ import annotations

import socket

import pytest

import iccs
from iccs.matching import label_key, suggest


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Break and Enter Residential/Other", "break and enter residential other"),
        ("  HOMICIDIO   CULPOSO ", "homicidio culposo"),
        ("Asfixia mecánica", "asfixia mecanica"),
        ("Tráfico de menores", "trafico de menores"),
        ("Trafficking in persons (TIP)", "trafficking in persons tip"),
        ("Straße", "strasse"),
        ("", ""),
        (None, ""),
        ("!!!", ""),
    ],
)
def test_label_key_folds_case_accents_punctuation_and_spacing(text, key) -> None:
    assert label_key(text) == key


def test_labels_differing_only_in_form_share_a_key() -> None:
    forms = ["Robo a casa-habitación", "ROBO A CASA HABITACION", "robo  a casa/habitacion."]
    assert len({label_key(f) for f in forms}) == 1
    assert label_key("Robo") != label_key("Robos")


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("Burglary", "0501"),
        ("Robbery", "0401"),
        ("Harassment", "02081"),
        ("Trata de personas", "0204"),
        ("Extorsión", "02051"),
        ("Theft of Bicycle", "0502"),
        ("Possession of weapons", "09011"),
        ("Break and Enter Residential/Other", "05012"),
    ],
)
def test_suggestions_rank_the_evident_category_first(label, expected) -> None:
    found = suggest(label)
    assert found[0].code == expected, [(c.code, c.score) for c in found]
    assert 1 <= len(found) <= 3
    assert all(iccs.is_valid(c.code) for c in found)
    assert [c.score for c in found] == sorted((c.score for c in found), reverse=True)


def test_suggestions_use_spanish_labels_too() -> None:
    # Only the Spanish label of 0204 says 'trata'; only the English one says 'trafficking'.
    assert suggest("trata de personas")[0].code == "0204"
    assert suggest("trafficking in persons")[0].code == "0204"


def test_no_suggestion_for_text_without_words_or_below_the_floor() -> None:
    assert suggest("") == []
    assert suggest("---") == []
    assert suggest("zzqx", min_score=0.5) == []


def test_suggestions_are_offline_and_repeatable(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("suggest() tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    first = suggest("Lesiones dolosas con arma blanca")
    assert first == suggest("Lesiones dolosas con arma blanca")
