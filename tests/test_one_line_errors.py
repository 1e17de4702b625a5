"""Every expected failure is one clear line naming what and where, never a traceback (issue 11, "One clear line
instead of a traceback"): output formats, damaged inputs, configuration mistakes, signals, full disks, corrupt
warehouses and unwritable folders."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from schemas.source_config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]
CORRESPONDENCE = "national_code,national_label,iccs_code\nHOM,Murder,0101\nTHF,Theft,0502\n"
RECORDS = "id,date,code\n" + "".join(
    f"r{i},2023-0{i % 9 + 1}-1{i % 9},{'HOM' if i % 3 else 'THF'}\n" for i in range(60)
)


def _config(folder: Path, files: str = "records.csv", extra: str = "", corr: str = CORRESPONDENCE) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "corr.csv").write_text(corr)
    if not (folder / "records.csv").exists():
        (folder / "records.csv").write_text(RECORDS)
    path = folder / "sources.yaml"
    path.write_text(f"""sources:
  s1:
    country: XTS
    level: incident
    unit: offences
    files: "{files}"
    columns: {{record_id: id, date: date, offence: code}}
    date_format: "%Y-%m-%d"
    correspondence: corr.csv
{extra}""")
    return path


def _run(config: Path, tmp_path: Path, capsys) -> tuple[int, str]:
    code = main(["run", "--config", str(config), "--warehouse", str(tmp_path / "wh.duckdb"), "--no-reports"])
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "Traceback" not in text
    return code, text


def _warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "plain.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE OR REPLACE TABLE t AS SELECT 1 AS n")
    con.close()
    return path


# ------------------------------------------------------------------------------------------------ iccs sql output


def test_csv_of_nested_and_interval_columns_is_text(tmp_path: Path, capsys) -> None:
    query = (
        "SELECT [1, 2] AS l, {'a': 1} AS s, MAP([1], [2]) AS m, INTERVAL 1 DAY AS i, [1, 2]::INTEGER[2] AS a, "
        "'\\xAA'::BLOB AS b, 'x' AS v"
    )
    assert main(["sql", "--warehouse", str(_warehouse(tmp_path)), "--format", "csv", query]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows == [
        ["l", "s", "m", "i", "a", "b", "v"],
        ["[1, 2]", "{'a': 1}", "{1=2}", "1 day", "[1, 2]", "\\xAA", "x"],
    ]


def test_json_is_valid_with_null_for_nan_and_inf_and_base64_blobs(tmp_path: Path, capsys) -> None:
    query = (
        "SELECT 'nan'::DOUBLE AS x, 'inf'::DOUBLE AS y, '-inf'::FLOAT AS z, [1.5, 'nan'::DOUBLE] AS l, "
        "'\\xAA\\x00'::BLOB AS b, INTERVAL 2 DAY AS i, 1.25 AS d"
    )
    assert main(["sql", "--warehouse", str(_warehouse(tmp_path)), "--format", "json", query]) == 0

    def strict(value: str) -> None:
        raise AssertionError(f"not JSON: {value}")

    rows = json.loads(capsys.readouterr().out, parse_constant=strict)
    assert rows == [{"x": None, "y": None, "z": None, "l": [1.5, None], "b": "qgA=", "i": "2 days", "d": "1.25"}]


# ------------------------------------------------------------------------------------------------ damaged inputs


def test_a_truncated_gzip_is_one_line_naming_the_file(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    packed = gzip.compress(RECORDS.encode() * 50)
    (folder / "records.csv.gz").write_bytes(packed[: len(packed) // 2])
    code, text = _run(_config(folder, "records.csv.gz"), tmp_path, capsys)
    assert code == 1
    assert "records.csv.gz: source 's1': cannot be read to the end: Compressed file ended before the " in text


def test_utf16_files_load_like_their_utf8_original(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "u16.csv").write_bytes(RECORDS.replace("r5,", "r5é,").encode("utf-16"))
    code, text = _run(_config(folder, "u16.csv", "    encoding: utf-16\n"), tmp_path, capsys)
    assert code == 0, text
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    ids = {row[0] for row in con.execute("SELECT record_id FROM offences").fetchall()}
    con.close()
    assert len(ids) == 60 and "r5é" in ids


def test_a_correspondence_table_with_a_header_and_no_rows_is_one_line(tmp_path: Path, capsys) -> None:
    config = _config(tmp_path / "in", corr="national_code,national_label,iccs_code\n")
    code, text = _run(config, tmp_path, capsys)
    assert code == 1
    lines = [line for line in text.splitlines() if "corr.csv" in line]
    assert lines == [
        f"✗ s1: {config.parent / 'corr.csv'}: the table has a header but no rows: every record would "
        "be unmapped; add a row per national code"
    ]
    assert len(text.splitlines()) <= 3


# ------------------------------------------------------------------------------------------------ configuration


@pytest.mark.parametrize(
    ("files", "extra", "expected"),
    [
        ("/", "", "field 'files': '/' is a folder; give the files in it, e.g. '/*.csv'"),
        (
            "${ICCS_TEST_UNSET_VARIABLE}/x.csv",
            "",
            "field 'files': environment variable ICCS_TEST_UNSET_VARIABLE is not "
            "set (${ICCS_TEST_UNSET_VARIABLE}/x.csv)",
        ),
        (
            "records.csv",
            "    date_floor: yesterday\n",
            "field 'date_floor': 'yesterday' is not a date in the form YYYY-MM-DD",
        ),
        (
            "records.csv",
            '    date_floor: "2020-01-01\' OR true --"\n',
            "field 'date_floor': \"2020-01-01' OR true --\" is not a date",
        ),
    ],
)
def test_configuration_mistakes_name_file_source_and_field(tmp_path: Path, monkeypatch, files, extra, expected) -> None:
    monkeypatch.delenv("ICCS_TEST_UNSET_VARIABLE", raising=False)
    config = _config(tmp_path, files, extra)
    with pytest.raises(ConfigError) as error:
        load_config(config)
    assert str(error.value).startswith(f"{config}: source 's1': {expected}")


def test_an_unknown_date_format_code_fails_when_the_configuration_loads(tmp_path: Path) -> None:
    config = _config(tmp_path)
    config.write_text(config.read_text().replace("%Y-%m-%d", "%Y-%Q"))
    with pytest.raises(ConfigError, match=r"source 's1': field 'date_format': '%Q' in '%Y-%Q' is not a strptime"):
        load_config(config)


def test_a_date_floor_is_a_date_and_reaches_sql_only_escaped(tmp_path: Path, capsys) -> None:
    config = _config(tmp_path / "in", extra="    date_floor: 2023-03-01\n")
    assert load_config(config).sources["s1"].date_floor == "2023-03-01"  # YAML's date, as ISO text
    code, text = _run(config, tmp_path, capsys)
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    details = con.execute(
        "SELECT DISTINCT regexp_replace(detail, '^.*: ', '') FROM quarantine WHERE reason = 'date_out_of_range'"
    ).fetchall()
    con.close()
    assert details and all(d[0].endswith("is before the floor 2023-03-01") for d in details), details


@pytest.mark.parametrize("repeated", ["sources", "columns"])
def test_a_key_repeated_in_the_yaml_is_an_error_not_last_one_wins(tmp_path: Path, repeated: str) -> None:
    config = _config(tmp_path)
    text = config.read_text()
    if repeated == "sources":
        source = text.split("sources:\n", 1)[1]
        config.write_text(text + source.replace("records.csv", "other.csv"))
        message = r"line 10, column 3: not valid YAML: key 's1' is given twice \(first on line 2\)"
    else:
        config.write_text(text.replace("    correspondence:", "    country: XTT\n    correspondence:"))
        message = r"line 9, column 5: not valid YAML: key 'country' is given twice \(first on line 3\)"
    with pytest.raises(ConfigError, match=message):
        load_config(config)


@pytest.mark.parametrize("pattern", ["*/x.csv", "**/*.csv", "sub/*/x.csv", "sub/a/x.csv"])
def test_globs_with_folder_wildcards_match(tmp_path: Path, pattern: str) -> None:
    (tmp_path / "sub" / "a").mkdir(parents=True)
    (tmp_path / "sub" / "a" / "x.csv").write_text(RECORDS)
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.csv").write_text(RECORDS)
    config = load_config(_config(tmp_path, pattern))
    found = {p.relative_to(tmp_path).as_posix() for p in config.sources["s1"].paths()}
    expected = {
        "*/x.csv": {"a/x.csv", "sub/x.csv"} & {"a/x.csv"},
        "**/*.csv": {"a/x.csv", "sub/a/x.csv", "corr.csv", "records.csv"},
        "sub/*/x.csv": {"sub/a/x.csv"},
        "sub/a/x.csv": {"sub/a/x.csv"},
    }[pattern]
    assert found == expected


# ------------------------------------------------------------------------------------------------ warehouse, disk


def test_a_corrupt_warehouse_is_said_to_be_corrupt(tmp_path: Path, capsys) -> None:
    broken = tmp_path / "wh.duckdb"
    broken.write_bytes(os.urandom(300_000))
    assert main(["sql", "--warehouse", str(broken), "SELECT 1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        f"iccs: {broken}: the warehouse file is corrupt or not a DuckDB database"
    )
    code, text = _run(_config(tmp_path / "in"), tmp_path, capsys)
    assert code == 1 and f"{broken}: the warehouse file is corrupt" in text


def test_a_truncated_warehouse_is_said_to_be_corrupt(tmp_path: Path, capsys) -> None:
    path = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT range AS n, repeat('x', 100) AS s FROM range(200000)")
    con.close()
    os.truncate(path, path.stat().st_size // 3)
    assert main(["sql", "--warehouse", str(path), "SELECT count(*) FROM t"]) == 1
    assert "the warehouse file is corrupt or not a DuckDB database" in capsys.readouterr().err


def _mount_tmpfs(folder: Path, size: str) -> bool:
    folder.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        return False
    return (
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
        ).returncode
        == 0
    )


def test_disk_full_during_a_load_says_no_space_and_leaves_a_usable_warehouse(tmp_path: Path, capsys) -> None:
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "24m"):
        pytest.skip("cannot mount a small tmpfs here (needs root and mount): the disk-full case is not exercised")
    try:
        small = _config(tmp_path / "small")
        warehouse = disk / "wh.duckdb"
        assert main(["run", "--config", str(small), "--warehouse", str(warehouse), "--no-reports"]) == 0
        # Another program's file leaves 4 MB free: less than the big file's records need (about 11 MB stored).
        filler = disk / "other-program.bin"
        filler.write_bytes(b"\0" * (shutil.disk_usage(disk).free - 4 * 2**20))
        big = tmp_path / "big"
        big.mkdir()
        (big / "records.csv").write_text(
            "id,date,code\n" + "".join(f"id{i:08d}-{'y' * 40},2023-01-{i % 28 + 1:02d},HOM\n" for i in range(800_000))
        )
        capsys.readouterr()
        code = main(["run", "--config", str(_config(big)), "--warehouse", str(warehouse), "--no-reports"])
        captured = capsys.readouterr()
        text = captured.out + captured.err
        assert code == 1 and "Traceback" not in text
        assert "no space left on device" in text, text
        assert "cannot rollback" not in text
        # Space freed as the message says: the warehouse works, without a row of the failed load (a rolled-back load
        # leaves the blocks it wrote in the file, free for the next writes: DuckDB does not shrink a file).
        filler.unlink()
        assert main(["run", "--config", str(small), "--warehouse", str(warehouse), "--no-reports"]) == 0, (
            capsys.readouterr()
        )
        con = duckdb.connect(str(warehouse), read_only=True)
        assert con.execute("SELECT count(*) FROM offences WHERE source = 's1'").fetchone()[0] == 60
        assert con.execute("SELECT count(*) FROM offences").fetchone()[0] == 60
        con.close()
    finally:
        subprocess.run(["umount", str(disk)], check=False)


# ------------------------------------------------------------------------------------------------ signals


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_a_load_says_interrupted_exits_130_and_changes_nothing(tmp_path: Path, signum) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "records.csv").write_text(
        "id,date,code\n" + "".join(f"id{i},2023-01-{i % 28 + 1:02d},HOM\n" for i in range(800_000))
    )
    config = _config(folder)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    warehouse = tmp_path / "wh.duckdb"
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "run",
            "--config",
            str(config),
            "--warehouse",
            str(warehouse),
            "--no-reports",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    deadline = time.monotonic() + 120
    while not list(scratch.glob("iccs-stage-*")):  # the run is reading the file into the warehouse
        assert run.poll() is None and time.monotonic() < deadline, run.communicate()
        time.sleep(0.01)
    run.send_signal(signum)
    out, err = run.communicate(timeout=120)
    assert run.returncode == 130, out + err
    assert err.strip().splitlines()[-1] == "iccs: interrupted" and "Traceback" not in out + err
    con = duckdb.connect(str(warehouse), read_only=True)
    query = "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'"
    tables = {row[0] for row in con.execute(query).fetchall()}
    if "offences" in tables:
        assert con.execute("SELECT count(*) FROM offences").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 0
    con.close()


# ------------------------------------------------------------------------------------------------ output folders


def test_report_into_an_unwritable_folder_is_one_line(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    for target in (blocker / "reports", Path("/proc/iccs-no-such-folder")):
        assert main(["report", "--warehouse", str(_warehouse(tmp_path)), "--reports", str(target)]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith(f"iccs: cannot write the reports to {target}: "), err


def test_demo_data_refuses_too_few_records_and_an_unwritable_folder(tmp_path: Path, capsys) -> None:
    assert main(["demo-data", "--records", "10", "--out", str(tmp_path / "demo")]) == 2
    assert capsys.readouterr().err.strip() == "iccs: --records must be at least 2,000 (got 10)"
    assert not (tmp_path / "demo").exists()
    assert main(["demo-data", "--out", "/proc/iccs-no-such-folder"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("iccs: cannot write the demo data to /proc/iccs-no-such-folder: ")
