"""`iccs map-draft`: a draft correspondence table from the ranked suggestions, which the loader refuses until a
person has reviewed it; and map-check's candidates, which a run with every code mapped never pays for."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipelines.cli import main
from pipelines.mapdraft import DRAFT_COLUMNS, NO_TEXT
from tests.formats_fixture import CORRESPONDENCE, INCIDENT, stage_and_classify, write_config
from warehouse.mapping_coverage import source_coverage

LABELS = {**INCIDENT, "offence_match": "label"}
LABEL_TABLE = "national_code,national_label,iccs_code\nTheft,Theft,0502\n"
LABEL_ROWS = ["Break and Enter"] * 3 + ["Homicidio"] * 2 + ["THEFT"]
REFUSAL = (
    "line 2: field 'basis': 'suggested' is a draft row written by iccs map-draft; review it and set basis to one of "
    "legal_text, official_crosswalk, source_coding, analyst_judgement ({n} such row(s))"
)


def _records(folder: Path, codes: list[str]) -> None:
    lines = ["id,date,code"] + [f"r{i},2023-01-{i % 28 + 1:02d},{code}" for i, code in enumerate(codes)]
    (folder / "records.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _source(folder: Path, spec: dict, codes: list[str], table: str = CORRESPONDENCE) -> Path:
    _records(folder, codes)
    return write_config(folder, {**spec, "files": "records.csv"}, table)


def _draft(config: Path, *extra: str) -> int:
    return main(["map-draft", "--source", "src", "--config", str(config), *extra])


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False).replace("", None)


def test_unmapped_labels_get_suggested_rows_by_volume(tmp_path, capsys) -> None:
    config = _source(tmp_path, LABELS, LABEL_ROWS, LABEL_TABLE)
    assert _draft(config) == 0
    out = capsys.readouterr().out.splitlines()
    draft = tmp_path / "correspondence.src.draft.csv"
    assert out[0] == f"wrote {draft}: 2 national codes not mapped yet, 2 with a suggested ICCS code"
    assert out[1].startswith("next: review every row")
    rows = _read(draft)
    assert list(rows.columns) == DRAFT_COLUMNS
    assert list(rows["national_code"]) == ["Break and Enter", "Homicidio"]  # THEFT folds to the mapped 'Theft'
    assert list(rows["records"]) == ["3", "2"]
    assert set(rows["basis"]) == {"suggested"} and set(rows["correspondence"]) == {"full"}
    assert rows.loc[0, "iccs_code"].startswith("0501")  # burglary: 'Breaking and entering' is one of its inclusions
    assert rows.loc[1, "iccs_code"] == "0101"
    assert all(rows["reasons"]) and all(float(s) > 0 for s in rows["score"])
    assert [len(a.split("; ")) for a in rows["alternatives"]] == [3, 3]


def test_a_bare_code_gets_no_candidate_and_a_note_saying_why(tmp_path, capsys) -> None:
    config = _source(tmp_path, INCIDENT, ["THF", "09A", "09A", "Robo con violencia"])
    assert _draft(config, "--limit", "1") == 0
    assert "2 national codes not mapped yet, 1 with a suggested ICCS code" in capsys.readouterr().out
    rows = _read(tmp_path / "correspondence.src.draft.csv").set_index("national_code")
    assert rows.loc["09A", "iccs_code"] is None and rows.loc["09A", "note"] == NO_TEXT
    assert rows.loc["09A", "records"] == "2"
    assert rows.loc["Robo con violencia", "iccs_code"] is not None  # a code with words is text to rank
    assert "; " not in rows.loc["Robo con violencia", "alternatives"]  # --limit 1: one alternative


def test_all_codes_with_all_and_the_current_mapping_in_the_note(tmp_path, capsys) -> None:
    config = _source(tmp_path, LABELS, LABEL_ROWS, LABEL_TABLE)
    assert _draft(config, "--all") == 0
    rows = _read(tmp_path / "correspondence.src.draft.csv").set_index("national_code")
    assert list(rows.index) == ["Break and Enter", "Homicidio", "THEFT"]
    assert rows.loc["THEFT", "note"] == "mapped now to 0502"


def test_the_draft_never_replaces_a_table_or_an_earlier_draft(tmp_path, capsys) -> None:
    config = _source(tmp_path, LABELS, LABEL_ROWS, LABEL_TABLE)
    table = tmp_path / "correspondence.csv"
    assert _draft(config) == 0
    draft = tmp_path / "correspondence.src.draft.csv"
    draft.write_text("reviewed by hand\n")
    capsys.readouterr()
    assert _draft(config) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"iccs map-draft: {draft} exists") and "--force" in err and "\n" not in err
    assert draft.read_text() == "reviewed by hand\n"
    assert _draft(config, "--out", str(table), "--force") == 2
    assert f"{table} is a correspondence table of" in capsys.readouterr().err
    assert table.read_text() == LABEL_TABLE
    assert _draft(config, "--force") == 0 and draft.read_text().startswith("national_code,")


def test_a_bad_source_name_is_one_line(tmp_path, capsys) -> None:
    config = _source(tmp_path, LABELS, LABEL_ROWS, LABEL_TABLE)
    assert _draft(config.parent / "missing.yaml") == 2
    assert (
        capsys.readouterr().err == f"iccs map-draft: {config.parent / 'missing.yaml'}: configuration file not found\n"
    )
    assert main(["map-draft", "--source", "nope", "--config", str(config)]) == 2
    assert capsys.readouterr().err == f"iccs map-draft: {config}: no source named 'nope' (have: src)\n"


def test_the_loader_refuses_a_draft_until_its_rows_are_reviewed(tmp_path, capsys) -> None:
    config = _source(tmp_path, LABELS, LABEL_ROWS, LABEL_TABLE)
    assert _draft(config, "--out", str(tmp_path / "draft.csv")) == 0
    draft = tmp_path / "draft.csv"
    doc = yaml.safe_load(config.read_text())
    doc["sources"]["src"]["correspondence"] = "draft.csv"
    config.write_text(yaml.safe_dump(doc))
    capsys.readouterr()
    warehouse = str(tmp_path / "w.duckdb")
    assert main(["map-check", "--config", str(config), "--warehouse", warehouse]) == 1
    assert f"✗ src: {draft}: {REFUSAL.format(n=2)}" in capsys.readouterr().out.splitlines()
    draft.write_text(draft.read_text().replace(",suggested,", ",analyst_judgement,"))
    assert main(["map-check", "--config", str(config), "--warehouse", warehouse]) == 1  # reads; THEFT is unmapped
    assert capsys.readouterr().out.startswith("✗ src: 6 records, 83.33% mapped to ICCS")
    draft.write_text(draft.read_text() + "Theft,Theft,0502,full,legal_text,,,,,,1\n")
    assert main(["map-check", "--config", str(config), "--warehouse", warehouse]) == 0
    assert "✓ src: 6 records, 100.00% mapped to ICCS" in capsys.readouterr().out


def test_a_new_source_without_a_table_drafts_every_code_beside_its_configuration(tmp_path, capsys) -> None:
    _records(tmp_path, LABEL_ROWS)
    spec = {k: v for k, v in LABELS.items() if k != "correspondence"} | {"files": "records.csv"}
    config = tmp_path / "sources.yaml"
    config.write_text(yaml.safe_dump({"sources": {"src": spec}}))
    assert main(["map-check", "--config", str(config), "--warehouse", str(tmp_path / "w.duckdb")]) == 2
    assert f"(none yet? `iccs map-draft --config {config} --source src` drafts one)" in capsys.readouterr().err
    assert _draft(config) == 0
    assert "3 national codes, 3 with a suggested ICCS code" in capsys.readouterr().out
    rows = _read(tmp_path / "correspondence.src.draft.csv")
    assert set(rows["national_code"]) == {"Break and Enter", "Homicidio", "THEFT"}


def test_coverage_without_an_unmapped_text_code_never_calls_the_ranker(tmp_path, monkeypatch) -> None:
    def boom(*args, **kwargs):
        raise AssertionError("the ranker was called")

    monkeypatch.setattr("iccs.suggestions.rank", boom)
    _records(tmp_path, ["THF", "HOM", "09A"])
    con, _ = stage_and_classify(tmp_path, {**INCIDENT, "files": "records.csv"})
    cov = source_coverage(con, "src")
    assert cov.codes_unmapped == 1 and cov.details["candidates"].isna().all()


def test_map_check_candidates_come_with_their_first_reason(tmp_path) -> None:
    _records(tmp_path, ["THF", "Break and Enter"])
    con, _ = stage_and_classify(tmp_path, {**INCIDENT, "files": "records.csv"})
    candidates = source_coverage(con, "src").details.set_index("national_code").loc["Break and Enter", "candidates"]
    first = candidates.split("; ")[0]
    assert first.startswith("0501 Burglary (") and ": inclusion: 'Breaking and entering')" in first


def test_a_bad_limit_is_one_line(tmp_path, capsys) -> None:
    config = _source(tmp_path, LABELS, LABEL_ROWS, LABEL_TABLE)
    assert _draft(config, "--limit", "-1") == 2
    assert capsys.readouterr().err == "iccs map-draft: --limit must be 0 or more (got -1)\n"


def test_a_label_every_code_shares_describes_the_column_and_the_code_is_ranked(tmp_path) -> None:
    # Mexico's table gives every code the label 'bien jurídico > tipo > subtipo > modalidad': ranking it put
    # 0804 ('delitos de personas jurídicas') on homicides. The code's own text is the offence's name there.
    table = (
        "national_code,national_label,iccs_code\n"
        "Robo a casa habitación,bien jurídico > tipo,0501\nExtorsión,bien jurídico > tipo,02051\n"
    )
    config = _source(tmp_path, LABELS, ["Homicidio doloso"] * 2 + ["Extorsión"], table)
    assert _draft(config, "--all") == 0
    rows = _read(tmp_path / "correspondence.src.draft.csv").set_index("national_code")
    assert rows.loc["Homicidio doloso", "iccs_code"].startswith("010")
    assert rows.loc["Extorsión", "iccs_code"] == "02051"
    assert "jurídic" not in " ".join(rows["reasons"])


def test_spellings_of_one_label_are_one_row_the_loader_accepts(tmp_path, capsys) -> None:
    # 'Daños', 'DAÑOS' and 'Danos' are one label to the loader: four draft rows made the reviewed table refused
    codes = ["Daños"] * 3 + ["DAÑOS", "Danos", "Break and Enter"]
    config = _source(tmp_path, LABELS, codes, LABEL_TABLE)
    assert _draft(config) == 0
    rows = _read(tmp_path / "correspondence.src.draft.csv").set_index("national_code")
    assert list(rows.index) == ["Daños", "Break and Enter"]
    assert rows.loc["Daños", "records"] == "5"
    assert rows.loc["Daños", "note"] == "also spelt: 'DAÑOS' (1), 'Danos' (1)"
    draft = tmp_path / "correspondence.src.draft.csv"
    reviewed = draft.read_text().replace(",suggested,", ",analyst_judgement,")
    (tmp_path / "correspondence.csv").write_text(reviewed + "Theft,Theft,0502,full,legal_text,,,,,,1\n")
    capsys.readouterr()
    assert main(["map-check", "--config", str(config), "--warehouse", str(tmp_path / "w.duckdb")]) == 0
    assert "✓ src: 6 records, 100.00% mapped to ICCS" in capsys.readouterr().out


def test_a_label_mapped_under_another_spelling_is_not_drafted_again(tmp_path) -> None:
    table = LABEL_TABLE + "Daños,Daños,08011\n"
    config = _source(tmp_path, LABELS, ["DAÑOS", "Danos", "Homicidio"], table)
    assert _draft(config) == 0
    assert list(_read(tmp_path / "correspondence.src.draft.csv")["national_code"]) == ["Homicidio"]


def test_records_without_an_offence_are_counted_not_dropped_silently(tmp_path, capsys) -> None:
    config = _source(tmp_path, LABELS, ["Homicidio", "", ""], LABEL_TABLE)
    assert _draft(config) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1] == "2 record(s) have no offence value: not drafted (iccs map-check lists them as missing_field)"
    assert list(_read(tmp_path / "correspondence.src.draft.csv")["national_code"]) == ["Homicidio"]


def test_a_source_without_a_table_and_without_offence_values_says_so(tmp_path, capsys) -> None:
    _records(tmp_path, ["", ""])
    spec = {k: v for k, v in LABELS.items() if k != "correspondence"} | {"files": "records.csv"}
    config = tmp_path / "sources.yaml"
    config.write_text(yaml.safe_dump({"sources": {"src": spec}}))
    assert _draft(config) == 0
    assert capsys.readouterr().out.splitlines() == [
        "src: no record has an offence value; nothing to draft (check its columns.offence)",
        "2 record(s) have no offence value: not drafted (iccs map-check lists them as missing_field)",
    ]
    assert not (tmp_path / "correspondence.src.draft.csv").exists()


def test_a_partly_mapped_code_is_drafted_with_a_note(tmp_path, capsys) -> None:
    table = "national_code,iccs_code,valid_from\nTHF,0502,2023-01-15\nHOM,0101,\n"
    config = _source(tmp_path, INCIDENT, ["THF"] * 28 + ["HOM"], table)
    assert _draft(config) == 0
    assert "1 national codes not mapped yet" in capsys.readouterr().out
    rows = _read(tmp_path / "correspondence.src.draft.csv").set_index("national_code")
    assert list(rows.index) == ["THF"] and rows.loc["THF", "records"] == "28"
    assert rows.loc["THF", "note"].endswith(
        "partly mapped: no row valid on the dates of 14 record(s); the others are mapped now to 0502"
    )


def test_each_source_of_a_configuration_gets_its_own_draft(tmp_path, capsys) -> None:
    config = _source(tmp_path, LABELS, LABEL_ROWS, LABEL_TABLE)
    doc = yaml.safe_load(config.read_text())
    doc["sources"]["other"] = doc["sources"]["src"]
    config.write_text(yaml.safe_dump(doc))
    assert _draft(config) == 0
    assert main(["map-draft", "--source", "other", "--config", str(config)]) == 0
    assert (tmp_path / "correspondence.src.draft.csv").is_file()
    assert (tmp_path / "correspondence.other.draft.csv").is_file()


def test_a_draft_is_never_written_where_a_table_is_expected_or_onto_a_folder(tmp_path, capsys) -> None:
    config = _source(tmp_path, {**LABELS, "correspondence": "new.csv"}, LABEL_ROWS, LABEL_TABLE)
    new = tmp_path / "new.csv"
    assert _draft(config, "--out", str(new)) == 2
    assert capsys.readouterr().err == (
        f"iccs map-draft: {new} is where correspondence: of source 'src' points; write the draft elsewhere (--out) "
        "and save it there once reviewed\n"
    )
    assert not new.exists()
    assert _draft(config, "--out", str(tmp_path), "--force") == 2
    assert capsys.readouterr().err == f"iccs map-draft: {tmp_path} is a directory; give --out a file name\n"


def test_a_file_that_cannot_be_read_is_not_reported_as_a_write_error(tmp_path, capsys, monkeypatch) -> None:
    config = _source(tmp_path, LABELS, LABEL_ROWS, LABEL_TABLE)
    records = tmp_path / "records.csv"

    def locked(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(records))

    monkeypatch.setattr("pipelines.mapdraft.stage_and_classify", locked)
    assert _draft(config) == 1
    assert capsys.readouterr().err == f"iccs map-draft: src: cannot read {records}: Permission denied\n"
    monkeypatch.undo()
    monkeypatch.setattr("warehouse.staging.blank_lines", locked)  # staging's own wording: one line naming the file
    assert _draft(config) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"iccs map-draft: src: {records}") and err.count("\n") == 1 and "write" not in err


@pytest.mark.parametrize("semantic", [False, True])
def test_the_draft_says_how_its_scores_were_ranked(tmp_path, monkeypatch, semantic) -> None:
    monkeypatch.setattr("iccs.suggestions.uses_semantic", lambda: semantic)
    config = _source(tmp_path, INCIDENT, ["Robo con violencia", "09A"])
    assert _draft(config) == 0
    rows = _read(tmp_path / "correspondence.src.draft.csv").set_index("national_code")
    assert DRAFT_COLUMNS.index("ranked_by") == DRAFT_COLUMNS.index("score") + 1
    assert rows.loc["Robo con violencia", "ranked_by"] == ("lexical+semantic" if semantic else "lexical")
    assert rows.loc["09A", "ranked_by"] is None  # no candidate, no score


def test_a_code_source_drafts_from_the_records_own_labels(tmp_path, capsys) -> None:
    # columns.offence_label: the offence's name beside its code; with no table yet, the draft ranks it.
    spec = {**INCIDENT, "columns": {**INCIDENT["columns"], "offence_label": "name"}, "files": "records.csv"}
    lines = ["id,date,code,name"] + [
        f"r{i},2023-01-{i % 28 + 1:02d},{code},{name}"
        for i, (code, name) in enumerate(
            [("101", "Homicidio"), ("505", "Estafa"), ("505", "Estafa"), ("505", "Estafa agravada"), ("09A", "")]
        )
    ]
    (tmp_path / "records.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = write_config(tmp_path, spec)
    (tmp_path / "correspondence.csv").unlink()  # a new source: no table yet
    assert main(["map-draft", "--source", "src", "--config", str(config), "--out", str(tmp_path / "d.csv")]) == 0
    rows = _read(tmp_path / "d.csv").set_index("national_code")
    assert rows.loc["505", "national_label"] == "Estafa" and rows.loc["505", "iccs_code"].startswith("0701")
    assert rows.loc["505", "note"] == "the records give 2 labels for this code; the most frequent is shown"
    assert rows.loc["101", "iccs_code"].startswith("010")
    assert rows.loc["09A", "iccs_code"] is None  # no label in the records either
