"""The live progress line of `iccs run`, `iccs report` and `iccs export` (pipelines/progress.py), and the help of
every option: progress goes to a terminal's stderr only, names each file, page and table, and leaves stdout alone."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest
from reports_fixture import build_warehouse
from rich.console import Console

from pipelines import cli
from pipelines.export import export_progress
from pipelines.progress import Steps, wanted
from reports import build
from warehouse.exchange import export


class Recorded(Steps):
    """Steps that remember what they were told instead of drawing it."""

    def __init__(self) -> None:
        super().__init__(False)
        self.told: list[str] = []
        self.said: list[str] = []
        self.planned: list[int] = []

    def plan(self, total: int) -> None:
        self.planned.append(total)

    def start(self, text: str, count: int = 1) -> None:
        super().start(text, count)
        self.told.append(text)

    def say(self, text: str) -> None:
        self.said.append(text)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("progress") / "warehouse.duckdb"
    build_warehouse(path).close()
    return path


def test_the_line_shows_each_step_on_a_terminal():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    with Steps(True, 3, console=console) as steps:
        steps.start("loading 1/2 incidents_2023.csv")  # a step is drawn when it starts
        steps.start("loading 2/2 incidents_2024.csv")
    shown = out.getvalue()
    assert "loading 1/2 incidents_2023.csv" in shown and "0/3" in shown
    assert "loading 2/2 incidents_2024.csv" in shown and "1/3" in shown
    assert steps.started == 2


def test_stdout_stays_the_commands_own_while_the_line_is_drawn(capsys):
    console = Console(file=io.StringIO(), force_terminal=True, width=100)
    with Steps(True, 1, console=console) as steps:
        steps.start("reports")
        print("/reports/index.html")
    assert capsys.readouterr().out == "/reports/index.html\n"
    assert "/reports/index.html" not in console.file.getvalue()


def test_nothing_is_shown_unless_asked(capsys):
    with Steps(False, 5) as steps:
        steps.start("reference tables")
        steps.say("part 1")
    assert capsys.readouterr() == ("", "")
    assert not wanted(quiet=True)
    assert not wanted()  # stderr is captured, not a terminal


def test_a_terminal_gets_progress_unless_quiet(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stderr", Terminal())
    assert wanted()
    assert not wanted(quiet=True)


def test_build_reports_tells_each_page_before_it_is_made(warehouse: Path, tmp_path: Path):
    import duckdb

    told: list[str] = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        written = build.build_reports(con, tmp_path, ["quality", "trends"], progress=told.append)
    assert told == ["quality", "trends", "index"] == list(written)


def test_iccs_report_prints_the_same_summary_and_nothing_on_stderr(warehouse: Path, tmp_path: Path, capsys):
    args = ["report", "--kind", "quality", "--warehouse", str(warehouse), "--reports", str(tmp_path)]
    assert cli.main(args) == 0
    out, err = capsys.readouterr()
    assert out == f"{(tmp_path / 'quality.html').resolve()}\n{(tmp_path / 'index.html').resolve()}\n"
    assert err == ""


@pytest.mark.parametrize(
    ("fmt", "steps", "parts"),
    [
        ("parquet", ["writing offence_counts", "writing v_rates", "writing disaggregated_counts"], []),
        ("csv", ["writing offence_counts.csv", "writing v_rates.csv", "writing disaggregated_counts.csv"], []),
        ("sdmx-csv", ["computing observations", "writing iccs.sdmx.csv"], ["writing iccs.sdmx.csv, part 1"]),
    ],
)
def test_export_names_each_table_and_part_and_writes_the_same(
    warehouse: Path, tmp_path: Path, fmt: str, steps: list[str], parts: list[str]
):
    import duckdb

    recorded = Recorded()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (tmp_path / "plain").mkdir()
        (tmp_path / "watched").mkdir()
        plain = export(con, fmt, "iccs", tmp_path / "plain")
        watched = export(con, fmt, "iccs", tmp_path / "watched", progress=export_progress(recorded))
    assert recorded.told == steps
    assert recorded.said == parts
    assert [(p.name, rows) for p, rows in watched.files.items()] == [(p.name, rows) for p, rows in plain.files.items()]
    assert any(rows for rows in watched.files.values())


def test_iccs_export_prints_the_same_lines_and_nothing_on_stderr(warehouse: Path, tmp_path: Path, capsys):
    code = cli.main(["export", "--format", "csv", "--out", str(tmp_path), "--warehouse", str(warehouse)])
    out, err = capsys.readouterr()
    assert code == 0 and err == ""
    assert [line.split("\t")[0] for line in out.splitlines()] == [
        str((tmp_path / f"{table}.csv").resolve()) for table in ("offence_counts", "v_rates", "disaggregated_counts")
    ]
    assert all(line.split("\t")[1].endswith(" rows") for line in out.splitlines())


def test_run_pipeline_tells_reference_each_file_and_quality(tmp_path: Path):
    from pipelines.runner import run_pipeline
    from tests.conftest import MINI_CONFIG

    recorded = Recorded()
    result = run_pipeline(
        MINI_CONFIG, tmp_path / "w.duckdb", tmp_path / "reports", with_reports=False, progress=recorded
    )
    files = [Path(r.file).name for r in result.sources]
    assert recorded.told == [
        "reference tables",
        *[f"loading {n}/{len(files)} {name}" for n, name in enumerate(files, 1)],
        "data quality",
    ]
    assert recorded.planned[-1] == 2 + len(files)  # reference, the files, quality (no reports asked)


def _options(parser: argparse.ArgumentParser) -> list[tuple[str, argparse.Action]]:
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [
        (command, action)
        for command, sub in subparsers.choices.items()
        for action in sub._actions
        if not isinstance(action, argparse._HelpAction)
    ]


def test_every_option_of_every_command_has_help():
    missing = [
        f"iccs {command} {'/'.join(a.option_strings) or a.dest}" for command, a in _options(cli._parser()) if not a.help
    ]
    assert missing == []


def test_long_commands_can_be_quiet():
    quiet = {command for command, action in _options(cli._parser()) if "--quiet" in action.option_strings}
    assert quiet == {"run", "report", "export"}


def test_report_kinds_are_the_renderers():
    assert cli.REPORT_KINDS == build.REPORT_KINDS
