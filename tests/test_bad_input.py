"""Bad input never crashes the run and never loses a record.

Each kind of bad file runs through the whole pipeline (`run_pipeline`, one source per case in one configuration,
so one run covers them all) and must give either quarantine rows for its bad lines or one clear error naming
the file and field, never a traceback. A property test then throws generated malformed CSVs at it and checks
that every data line is either loaded or quarantined, at its own line number.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pipelines.runner import PipelineResult, SourceResult, run_pipeline
from warehouse.connection import connect

HEADER = "id,date,code,lat,lon,district"
CORRESPONDENCE = "national_code,national_label,iccs_code,note\nHOM,Murder,0101,\nTHF,Theft,0502,\n"
SOURCE = """  {name}:
    country: XTS
    level: incident
    unit: offences
    files: {files}
    columns: {{record_id: id, date: date, offence: code, latitude: lat, longitude: lon, area: district}}
    date_format: "%Y-%m-%d"
    bbox: [10.0, 40.0, 11.0, 41.0]
    correspondence: correspondence.csv
"""


def _row(i: int, code: str = "THF", area: str = "North") -> str:
    return f"r{i},2023-01-{1 + i % 28:02d},{code},40.{i % 10},10.{i % 10},{area}"


def _good(n: int, start: int = 0) -> list[str]:
    return [_row(i) for i in range(start, start + n)]


def _write(folder: Path, name: str, lines: list[str] | bytes, files: str | None = None) -> str:
    """The file ``name``.csv from lines (joined with \\n, final newline) or raw bytes; the config stanza."""
    data = lines if isinstance(lines, bytes) else ("\n".join(lines) + "\n").encode("utf-8")
    (folder / f"{name}.csv").write_bytes(data)
    return SOURCE.format(name=name, files=files or f"{name}.csv")


HUGE = 10 * 1024 * 1024
RAGGED = [
    HEADER,
    *_good(3),
    "r90,2023-01-05,THF,40.1",
    *_good(2, 3),
    "r91,2023-01-06,THF,40.1,10.1,North,x,y",
    *_good(2, 5),
]
BROKEN_QUOTES = [HEADER, *_good(3), 'r90,2023-01-05,"THF,40.1,10.1,North', *_good(4, 3)]
CASES = (
    "empty_file",
    "header_only",
    "wrong_delimiter",
    "ragged_rows",
    "broken_quotes",
    "quoted_fields",
    "mixed_encodings",
    "huge_field",
    "not_a_csv",
    "missing_file",
    "renamed_column",
)
QUOTED_OK = [HEADER, *_good(2), 'r90,2023-01-05,THF,40.1,10.1,"North, ""old"" town"', *_good(2, 2)]


def _cases(folder: Path) -> dict[str, str]:
    """source name -> config stanza, with its files written into ``folder``."""
    (folder / "correspondence.csv").write_text(CORRESPONDENCE, encoding="utf-8")
    latin1 = (
        ("\n".join([HEADER, *_good(2)]) + "\n").encode()
        + _row(50, area="Mölln").encode("latin-1")
        + ("\n" + "\n".join(_good(2, 2)) + "\n").encode()
    )
    huge = (
        HEADER
        + ",narrative\n"
        + "\n".join(f"{r}," for r in _good(2))
        + "\n"
        + _row(60)
        + ","
        + "x" * HUGE
        + "\n"
        + "\n".join(f"{r}," for r in _good(2, 2))
        + "\n"
    ).encode()
    not_csv = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(random.Random(4).randrange(256) for _ in range(4000))
    stanzas = {
        "empty_file": _write(folder, "empty_file", b""),
        "header_only": _write(folder, "header_only", [HEADER]),
        "wrong_delimiter": _write(
            folder, "wrong_delimiter", [HEADER.replace(",", ";")] + [r.replace(",", ";") for r in _good(3)]
        ),
        "ragged_rows": _write(folder, "ragged_rows", RAGGED),
        "broken_quotes": _write(folder, "broken_quotes", BROKEN_QUOTES),
        "quoted_fields": _write(folder, "quoted_fields", QUOTED_OK),
        "mixed_encodings": _write(folder, "mixed_encodings", latin1),
        "huge_field": _write(folder, "huge_field", huge),
        "not_a_csv": _write(folder, "not_a_csv", not_csv),
        "missing_file": SOURCE.format(name="missing_file", files="nowhere/*.csv"),
        "renamed_column": _write(folder, "renamed_column", [HEADER.replace("code", "offence_code"), *_good(3)]),
    }
    assert tuple(stanzas) == CASES
    return stanzas


@pytest.fixture(scope="module")
def bad_run(tmp_path_factory) -> PipelineResult:
    folder = tmp_path_factory.mktemp("bad_input")
    cases = _cases(folder)
    config = folder / "sources.yaml"
    config.write_text("sources:\n" + "".join(cases.values()), encoding="utf-8")
    return run_pipeline(config, folder / "w.duckdb", folder / "reports", with_reports=False)


def _result(run: PipelineResult, source: str) -> SourceResult:
    (result,) = [r for r in run.sources if r.source == source]
    return result


def _quarantine(run: PipelineResult, source: str) -> list[tuple[int, str, str]]:
    with connect(run.warehouse, read_only=True) as con:
        return con.execute(
            "SELECT row_number, reason, detail FROM quarantine WHERE source = ? ORDER BY 1", [source]
        ).fetchall()


def _loaded_lines(run: PipelineResult, source: str) -> list[int]:
    with connect(run.warehouse, read_only=True) as con:
        return [
            r[0]
            for r in con.execute("SELECT row_number FROM offences WHERE source = ? ORDER BY 1", [source]).fetchall()
        ]


def _assert_clear_error(result: SourceResult, *names: str) -> None:
    assert result.error, f"expected an error, got {result}"
    assert "\n" not in result.error and "Traceback" not in result.error
    for name in names:
        assert name in result.error, f"{name!r} not named in: {result.error}"


def _assert_every_line_accounted(run: PipelineResult, source: str, data_lines: int) -> None:
    """Lines 2..data_lines+1 are each either a loaded record or a quarantine row, once."""
    result = _result(run, source)
    assert result.error is None, result.error
    assert result.records_in == data_lines
    assert result.records_in == result.records_loaded + result.records_quarantined
    lines = _loaded_lines(run, source) + [r[0] for r in _quarantine(run, source)]
    assert sorted(lines) == list(range(2, data_lines + 2))


def test_the_run_itself_never_raises(bad_run) -> None:
    assert {r.source for r in bad_run.sources} == set(CASES)
    assert not bad_run.errors, bad_run.errors


def test_empty_file_is_one_error_naming_the_file(bad_run) -> None:
    _assert_clear_error(_result(bad_run, "empty_file"), "empty_file.csv", "empty")


def test_header_only_file_loads_nothing_and_fails_nothing(bad_run) -> None:
    result = _result(bad_run, "header_only")
    assert result.error is None and not result.failed_checks
    assert (result.records_in, result.records_loaded, result.records_quarantined) == (0, 0, 0)


def test_wrong_delimiter_is_one_error_naming_file_and_field(bad_run) -> None:
    _assert_clear_error(_result(bad_run, "wrong_delimiter"), "wrong_delimiter.csv", "columns.")


def test_ragged_rows_are_quarantined_at_their_lines(bad_run) -> None:
    _assert_every_line_accounted(bad_run, "ragged_rows", len(RAGGED) - 1)
    bad = [(line, reason) for line, reason, _ in _quarantine(bad_run, "ragged_rows")]
    assert bad == [(5, "malformed_line"), (8, "malformed_line")]


def test_quoted_fields_with_delimiters_and_doubled_quotes_load(bad_run) -> None:
    _assert_every_line_accounted(bad_run, "quoted_fields", len(QUOTED_OK) - 1)
    assert _quarantine(bad_run, "quoted_fields") == []
    with connect(bad_run.warehouse, read_only=True) as con:
        areas = {r[0] for r in con.execute("SELECT area FROM offences WHERE source = 'quoted_fields'").fetchall()}
    assert 'North, "old" town' in areas


def test_broken_quote_spoils_only_its_own_line(bad_run) -> None:
    _assert_every_line_accounted(bad_run, "broken_quotes", len(BROKEN_QUOTES) - 1)
    bad = [(line, reason) for line, reason, _ in _quarantine(bad_run, "broken_quotes")]
    assert bad == [(5, "malformed_line")]


def test_a_line_in_another_encoding_is_quarantined_alone(bad_run) -> None:
    _assert_every_line_accounted(bad_run, "mixed_encodings", 5)
    bad = _quarantine(bad_run, "mixed_encodings")
    assert [(line, reason) for line, reason, _ in bad] == [(4, "malformed_line")]


def test_a_10_mb_field_neither_crashes_nor_loses_a_record(bad_run) -> None:
    _assert_every_line_accounted(bad_run, "huge_field", 5)


def test_a_file_that_is_not_csv_is_one_error_naming_the_file(bad_run) -> None:
    _assert_clear_error(_result(bad_run, "not_a_csv"), "not_a_csv.csv")


def test_a_missing_file_is_one_error_naming_the_pattern(bad_run) -> None:
    _assert_clear_error(_result(bad_run, "missing_file"), "nowhere/*.csv", "files")


def test_a_column_renamed_upstream_is_one_error_naming_file_field_and_column(bad_run) -> None:
    _assert_clear_error(_result(bad_run, "renamed_column"), "renamed_column.csv", "columns.offence", "'code'")


# ---- property tests: generated malformed CSVs ---------------------------------------------------------------


def _line_kinds() -> st.SearchStrategy[str]:
    """Valid rows (some with quoted fields), rows with any number of junk fields, impossible dates, stray quotes
    inside a field: each is one line and must become one loaded or one quarantined record."""
    ident = st.integers(0, 10_000)
    valid = st.builds(
        lambda i, c, a: _row(i, c, a),
        ident,
        st.sampled_from(["HOM", "THF", "ROB"]),
        st.sampled_from(["North", "South", "Zürich", "", '"East, upper"', '"say ""hi"""']),
    )
    fields = st.lists(st.text(alphabet="abc019-., ", max_size=6), min_size=1, max_size=9).map(",".join)
    bad_date = st.builds(lambda i: f"r{i},2023-13-45,THF,40.1,10.1,North", ident)
    stray_quote = st.builds(lambda i: f'r{i},2023-01-02,TH"F,40.1,10.1,North', ident)
    return st.one_of(valid, valid, fields, bad_date, stray_quote)


def _run_generated(tmp_path_factory: pytest.TempPathFactory, data: bytes, data_lines: int) -> None:
    folder = tmp_path_factory.mktemp("prop")
    config = folder / "sources.yaml"
    (folder / "correspondence.csv").write_text(CORRESPONDENCE, encoding="utf-8")
    config.write_text("sources:\n" + _write(folder, "generated", data), encoding="utf-8")
    run = run_pipeline(config, folder / "w.duckdb", folder / "reports", with_reports=False)
    assert not run.errors, run.errors
    (result,) = run.sources
    assert result.error is None, result.error
    assert result.records_in == result.records_loaded + result.records_quarantined
    assert result.records_in == data_lines
    _assert_every_line_accounted(run, "generated", data_lines)


def _csv_bytes(lines: list[bytes]) -> bytes:
    return b"\n".join([HEADER.encode(), *lines]) + b"\n"


# Few examples, no shrinking: every example is a whole pipeline run (~3 s).
PROPERTY = settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@PROPERTY
@given(lines=st.lists(_line_kinds().filter(str.strip), min_size=1, max_size=12))
def test_generated_malformed_csvs_lose_no_record(tmp_path_factory, lines: list[str]) -> None:
    _run_generated(tmp_path_factory, _csv_bytes([line.encode() for line in lines]), len(lines))


@st.composite
def _with_reader_trouble(draw: st.DrawFn) -> list[bytes]:
    """Good lines and, at drawn places among them, two lines that must not take their neighbours down with
    them: an unterminated opening quote and a line in another encoding (latin-1 in a utf-8 file)."""
    lines = [line.encode() for line in draw(st.lists(_line_kinds().filter(str.strip), min_size=2, max_size=8))]
    for trouble in (b'r7,2023-01-02,"THF,40.1,10.1,North', _row(8, area="M\u00f6lln").encode("latin-1")):
        lines.insert(draw(st.integers(0, len(lines) - 1)), trouble)
    return lines


@settings(PROPERTY, max_examples=2)
@given(lines=_with_reader_trouble())
def test_generated_csvs_with_broken_quotes_or_encodings_lose_no_record(tmp_path_factory, lines: list[bytes]) -> None:
    _run_generated(tmp_path_factory, _csv_bytes(lines), len(lines))
