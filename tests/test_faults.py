"""Faults that used to lose data silently (issue 11): renamed, moved or removed landed files, zip archives,
blocking checks after the commit, runs that load nothing, wide columns nobody reads, hints that damage,
rows a filter drops without a trace. Each test failed before its fix."""

from __future__ import annotations

import csv
import dataclasses
import io
import shutil
import tempfile
import zipfile
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines import cli
from pipelines.assets.sources import load_landed, mirror_source
from pipelines.definitions import build_definitions
from pipelines.partitions import LANDED_FILES
from pipelines.resources import SourcesConfig
from pipelines.runner import run_pipeline
from pipelines.sensors import landing_sensor
from schemas.source_config import load_config
from warehouse import load
from warehouse.classify import classify_source
from warehouse.correspondence import load_correspondence
from warehouse.ddl import ensure_schema
from warehouse.load import LoadBlocked, load_file
from warehouse.reference import load_classification
from warehouse.staging import files_table, raw_table, stage_source

CORRESPONDENCE = "national_code,iccs_code\nTHF,0502\nASS,02011\n"
CONFIG = """
sources:
  s:
    country: XTS
    level: incident
    unit: offences
    files: {files}
    columns: {{record_id: id, date: date, offence: code}}
    date_format: "{date_format}"
    correspondence: corr.csv
"""


def _folder(root: Path, files: str = "landing/*.csv", date_format: str = "%Y-%m-%d") -> Path:
    (root / "landing").mkdir(parents=True, exist_ok=True)
    (root / "corr.csv").write_text(CORRESPONDENCE)
    (root / "sources.yaml").write_text(CONFIG.format(files=files, date_format=date_format))
    return root / "sources.yaml"


def _csv(ids: list[str], bad_dates: frozenset[int] = frozenset()) -> str:
    rows = [
        f"{rid},{'2024-13-01' if i in bad_dates else f'2024-01-{i % 28 + 1:02d}'},{'THF' if i % 3 else 'ASS'}"
        for i, rid in enumerate(ids)
    ]
    return "id,date,code\n" + "".join(row + "\n" for row in rows)


STATE = {
    "offences": "SELECT parse_filename(file), row_number, record_id, occurred_on, iccs_code FROM offences ORDER BY ALL",
    "offence_counts": "SELECT parse_filename(file), iccs_code, year, month, count FROM offence_counts ORDER BY ALL",
    "quarantine": "SELECT parse_filename(file), row_number, reason FROM quarantine ORDER BY ALL",
}


def _state(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {name: con.execute(sql).fetchall() for name, sql in STATE.items()}


def _state_of(warehouse: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return _state(con)


# ---------------------------------------------------------------------------------------------------------------
# 1. Renamed / moved / removed files: the warehouse equals a clean run on the folder as it is


def _load(con: duckdb.DuckDBPyConnection, config_path: Path, path: Path, run_id: str) -> None:
    """What the `landed_file` asset does for one file, without Dagster (the asset calls the same functions; it
    reloads the correspondence table too, which never changes here and is loaded once by ``_warehouse``)."""
    config = load_config(config_path)
    src = dataclasses.replace(config.sources["s"], files=str(path))
    staged = stage_source(con, src)
    classify_source(con, src)
    load_landed(con, config, src, path, run_id, staged.filtered_rows)


def _mirror(con: duckdb.DuckDBPyConnection, config_path: Path, run_id: str) -> None:
    """What the `landing_mirror` asset does."""
    config = load_config(config_path)
    mirror_source(con, config, "s", [str(p) for p in config.sources["s"].paths()], run_id)


def _warehouse(config_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ensure_schema(con)
    load_classification(con)
    load_correspondence(con, "s", load_config(config_path).sources["s"].correspondence)
    return con


def _clean(config_path: Path) -> dict[str, list[tuple]]:
    with _warehouse(config_path) as con:
        for path in load_config(config_path).sources["s"].paths():
            _load(con, config_path, path, "clean")
        return _state(con)


NAMES = ["a.csv", "b.csv", "c.csv", "d.csv"]
CONTENTS = st.builds(
    lambda ids, bad: (ids, bad),
    st.lists(st.sampled_from(["r0", "r1", "r2", "r3", "r4", "r5"]), min_size=1, max_size=6),
    st.frozensets(st.integers(0, 5), max_size=1),
)
OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["write", "rename", "remove"]),
        st.sampled_from(NAMES),
        st.sampled_from(NAMES),
        CONTENTS,
        st.booleans(),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations=OPERATIONS)
def test_any_sequence_of_file_changes_leaves_the_warehouse_a_clean_run_would(operations) -> None:
    """Add / change / rename / remove files sharing record ids, in any order; after each step, loading the new or
    changed files and mirroring the folder (in either order, as the sensor's runs may come) gives exactly the
    rows, counts and quarantine reasons of a clean run on the folder as it is."""
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        config = _folder(root)
        landing = root / "landing"
        with _warehouse(config) as con:
            for step, (kind, name, other, (ids, bad), mirror_first) in enumerate(operations):
                touched: list[Path] = []
                if kind == "write":
                    (landing / name).write_text(_csv(ids, bad))
                    touched.append(landing / name)
                elif kind == "rename" and (landing / name).exists() and name != other:
                    (landing / name).replace(landing / other)
                    touched.append(landing / other)
                elif kind == "remove" and (landing / name).exists():
                    (landing / name).unlink()
                if len(list(landing.glob("*.csv"))) > 4:
                    continue
                if mirror_first:
                    _mirror(con, config, f"step{step}")
                for path in touched:
                    _load(con, config, path.resolve(), f"step{step}")
                if not mirror_first:
                    _mirror(con, config, f"step{step}")
                if not list(landing.glob("*.csv")):
                    continue  # a source matching no file is left as it is (iccs run reports it)
                assert _state(con) == _clean(config), (step, operations[: step + 1])


class Killed(BaseException):
    """A kill at the hook: nothing after it runs, what was not committed is rolled back."""


def _kill_at(file_name: str):
    def hook(file: str) -> None:
        if Path(file).name == file_name:
            raise Killed(file)

    return hook


def test_a_load_commits_with_the_reloads_it_calls_for(tmp_path: Path, monkeypatch) -> None:
    """Before: a.csv's load committed, then a kill during the reload of b.csv left r1 loaded from both files
    (counted twice); a sensor run, seeing a.csv loaded, never repaired it. Now the kill leaves the state before
    a.csv's load, and loading it again gives a clean run's warehouse."""
    config = _folder(tmp_path)
    landing = tmp_path / "landing"
    (landing / "b.csv").write_text(_csv(["r1", "r2"]))
    with _warehouse(config) as con:
        _load(con, config, (landing / "b.csv").resolve(), "one")
        before = _state(con)
        (landing / "a.csv").write_text(_csv(["r1", "r3"]))
        monkeypatch.setattr(load, "before_commit", _kill_at("b.csv"))
        with pytest.raises(Killed):
            _load(con, config, (landing / "a.csv").resolve(), "two")
        assert _state(con) == before
        monkeypatch.setattr(load, "before_commit", None)
        _load(con, config, (landing / "a.csv").resolve(), "three")
        assert _state(con) == _clean(config)
        assert con.execute("SELECT count(*) FROM offences WHERE record_id = 'r1'").fetchone()[0] == 1


def test_a_removal_commits_with_the_reloads_it_calls_for(tmp_path: Path, monkeypatch) -> None:
    """Before: removing a.csv committed, then a kill during the reload of b.csv left r1 quarantined as a
    duplicate of a file that is gone (counted nowhere), and the next mirror, finding nothing to remove, kept it so."""
    config = _folder(tmp_path)
    landing = tmp_path / "landing"
    (landing / "a.csv").write_text(_csv(["r1", "r3"]))
    (landing / "b.csv").write_text(_csv(["r1", "r2"]))
    with _warehouse(config) as con:
        for name in ("a.csv", "b.csv"):
            _load(con, config, (landing / name).resolve(), "one")
        before = _state(con)
        (landing / "a.csv").unlink()
        monkeypatch.setattr(load, "before_commit", _kill_at("b.csv"))
        with pytest.raises(Killed):
            _mirror(con, config, "two")
        assert _state(con) == before
        monkeypatch.setattr(load, "before_commit", None)
        _mirror(con, config, "three")
        assert _state(con) == _clean(config)
        assert con.execute("SELECT count(*) FROM offences WHERE record_id = 'r1'").fetchone()[0] == 1


def test_a_renamed_file_keeps_its_records_through_iccs_run(tmp_path: Path) -> None:
    """Before: load v1.csv, rename it v2.csv, run again → 0 offences, 50 quarantined as duplicates, exit 0."""
    config = _folder(tmp_path / "cfg")
    landing = tmp_path / "cfg" / "landing"
    (landing / "v1.csv").write_text(_csv([f"r{i}" for i in range(50)]))
    warehouse = tmp_path / "w.duckdb"
    assert run_pipeline(config, warehouse, tmp_path / "r", with_reports=False).ok
    (landing / "v1.csv").rename(landing / "v2.csv")
    result = run_pipeline(config, warehouse, tmp_path / "r", with_reports=False)
    assert result.ok, result
    state = _state_of(warehouse)
    assert len(state["offences"]) == 50 and {row[0] for row in state["offences"]} == {"v2.csv"}
    assert state["quarantine"] == []
    assert state == _clean(config)

    # The whole landing folder moves (the configuration follows it): the same records, from the new path.
    shutil.move(str(landing), str(tmp_path / "cfg" / "moved"))
    config.write_text(CONFIG.format(files="moved/*.csv", date_format="%Y-%m-%d"))
    assert run_pipeline(config, warehouse, tmp_path / "r", with_reports=False).ok
    with duckdb.connect(str(warehouse), read_only=True) as con:
        files = con.execute("SELECT DISTINCT file FROM offences").fetchall()
    assert files == [(str((tmp_path / "cfg" / "moved" / "v2.csv").resolve()),)]
    assert _state_of(warehouse) == _clean(config)


def _sensor_ticks(config: Path, folder: Path, honour_run_keys: bool = False):
    """One landing-sensor tick at a time, run as the daemon would: its partition requests applied, then each
    requested run executed in process (with ``honour_run_keys``, a run key already launched is skipped, as the
    daemon does). The reference job the first tick on a new warehouse requests has run already. Each call
    returns the names of the jobs it requested."""
    defs = build_definitions(config, folder / "w.duckdb", folder / "reports")
    instance = dg.DagsterInstance.ephemeral()
    state: dict = {"cursor": None, "launched": set()}
    assert defs.resolve_job_def("reference_job").execute_in_process(instance=instance).success

    def tick() -> list[str]:
        context = dg.build_sensor_context(
            instance=instance,
            cursor=state["cursor"],
            resources={"sources": SourcesConfig(path=str(config)), "duckdb": defs.resources["duckdb"]},
        )
        result = landing_sensor(context)
        for request in result.dynamic_partitions_requests:
            if isinstance(request, dg.AddDynamicPartitionsRequest):
                instance.add_dynamic_partitions(LANDED_FILES.name, list(request.partition_keys))
            else:
                for key in request.partition_keys:
                    instance.delete_dynamic_partition(LANDED_FILES.name, key)
        state["cursor"] = result.cursor
        for request in result.run_requests:
            if honour_run_keys and request.run_key is not None:
                if request.run_key in state["launched"]:
                    continue  # what the sensor daemon does with a run key it already launched
                state["launched"].add(request.run_key)
            job = defs.resolve_job_def(request.job_name)
            assert job.execute_in_process(
                instance=instance, partition_key=request.partition_key, tags=dict(request.tags)
            ).success
        return [request.job_name for request in result.run_requests]

    tick.instance = instance  # type: ignore[attr-defined]  # for assertions on the partitions
    return tick


def test_a_file_removed_through_the_sensor_leaves_the_warehouse_and_frees_its_duplicates(tmp_path: Path) -> None:
    """The landing sensor's path prunes too (issue 12): a.csv and b.csv share r1; a.csv wins it; a.csv is removed,
    the sensor runs the mirror job, a.csv's rows go and b.csv's r1 is loaded from b.csv."""
    config = _folder(tmp_path)
    (tmp_path / "landing" / "a.csv").write_text(_csv(["r0", "r1"]))
    (tmp_path / "landing" / "b.csv").write_text(_csv(["r1", "r2"]))
    tick = _sensor_ticks(config, tmp_path)

    assert tick() == ["sources_job", "sources_job"]
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT parse_filename(file), record_id FROM offences ORDER BY 2").fetchall() == [
            ("a.csv", "r0"),
            ("a.csv", "r1"),
            ("b.csv", "r2"),
        ]
    (tmp_path / "landing" / "a.csv").unlink()
    assert tick() == ["mirror_job"]
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT parse_filename(file), record_id FROM offences ORDER BY 2").fetchall() == [
            ("b.csv", "r1"),
            ("b.csv", "r2"),
        ]
        assert con.execute("SELECT count(*) FROM quarantine").fetchone()[0] == 0
    assert tick.instance.get_dynamic_partitions(LANDED_FILES.name) == ["s/landing/b.csv"]


# ---------------------------------------------------------------------------------------------------------------
# 2. Zip archives, and blocking checks that block before the commit


def _zip_folder(root: Path) -> Path:
    config = _folder(root, files="landing/*.zip")
    with zipfile.ZipFile(root / "landing" / "x.zip", "w") as archive:
        archive.writestr("a.csv", _csv([f"a{i}" for i in range(30)], frozenset({3})))
        archive.writestr("b.csv", _csv([f"b{i}" for i in range(20)]))
    return config


def test_a_zip_archive_with_two_members_loads_and_reloads(tmp_path: Path) -> None:
    """Before: rows stored as x.zip/a.csv but deleted, counted and pruned as x.zip: the conservation check failed
    after the commit, then the prune deleted every row, and `runs` kept in ≠ loaded + quarantined."""
    config = _zip_folder(tmp_path / "cfg")
    warehouse = tmp_path / "w.duckdb"
    for _ in range(2):  # a rerun replaces the archive's rows, never adds to them
        result = run_pipeline(config, warehouse, tmp_path / "r", with_reports=False)
        assert result.ok, (result.errors, [(r.error, r.failed_checks) for r in result.sources])
        with duckdb.connect(str(warehouse), read_only=True) as con:
            assert con.execute("SELECT count(*) FROM offences").fetchone()[0] == 49
            assert con.execute("SELECT file, row_number, reason FROM quarantine").fetchall() == [
                (str((tmp_path / "cfg" / "landing" / "x.zip").resolve()) + "/a.csv", 5, "invalid_date")
            ]
            assert con.execute("SELECT sum(count)::INT FROM offence_counts").fetchone()[0] == 49
            assert con.execute(
                "SELECT records_in, records_loaded, records_quarantined, status FROM v_latest_runs"
            ).fetchall() == [(50, 49, 1, "loaded")]
    assert [(r.records_in, r.records_loaded, r.reasons) for r in result.sources] == [(50, 49, {"invalid_date": 1})]


def test_a_failing_blocking_check_rolls_the_load_back_and_names_itself(tmp_path: Path, monkeypatch) -> None:
    """Before: the checks ran after the commit (the rows stayed), and the error line ended at '…with ERROR
    severity:' without naming the check."""
    from pipelines import checks

    folder = tmp_path / "cfg"
    config = _folder(folder)
    (folder / "landing" / "a.csv").write_text(_csv(["r0", "r1", "r2"]))
    warehouse = tmp_path / "w.duckdb"
    assert run_pipeline(config, warehouse, tmp_path / "r", with_reports=False).ok
    before = _state_of(warehouse)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        runs_before = con.execute("SELECT count(*) FROM runs").fetchone()[0]

    def broken(con, asset, source, file, run_id, incident):
        return dg.AssetCheckResult(
            check_name="records_conserved",
            asset_key=asset,
            passed=False,
            description="3 records in ≠ 2 loaded + 0 quarantined",
        )

    monkeypatch.setattr(checks, "_conservation", broken)
    (folder / "landing" / "a.csv").write_text(_csv(["r0", "r1", "r2", "r3"]))
    result = run_pipeline(config, warehouse, tmp_path / "r", with_reports=False)
    assert not result.ok
    [source] = result.sources
    assert "blocking check records_conserved failed: 3 records in ≠ 2 loaded + 0 quarantined" in source.error
    assert "rolled back" in source.error and "\n" not in source.error
    assert _state_of(warehouse) == before
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == runs_before


def test_load_file_verify_failure_leaves_the_tables_untouched() -> None:
    with duckdb.connect() as con:
        ensure_schema(con)
        con.execute(
            "INSERT INTO quarantine (source, file, row_number, reason, detail, raw, run_id) "
            "VALUES ('s', 'f.csv', 2, 'invalid_date', 'x', NULL, 'old')"
        )
        with pytest.raises(LoadBlocked, match="blocking check quarantine_contract failed"):
            root = Path(tempfile.mkdtemp())
            try:
                config = _folder(root)
                (root / "landing" / "f.csv").write_text(_csv(["r0"]))
                src = dataclasses.replace(load_config(config).sources["s"], files=str(root / "landing" / "f.csv"))
                load_classification(con)
                load_correspondence(con, "s", src.correspondence)
                stage_source(con, src)
                classify_source(con, src)
                load_file(con, src, "f.csv", "new", verify=lambda _: ["blocking check quarantine_contract failed"])
            finally:
                shutil.rmtree(root)
        assert con.execute("SELECT run_id FROM quarantine").fetchall() == [("old",)]
        assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 0


# ---------------------------------------------------------------------------------------------------------------
# 5. A run that loads nothing fails with a diagnosis


def test_a_date_format_that_matches_nothing_fails_the_run_with_a_diagnosis(tmp_path: Path, capsys) -> None:
    """Before: '✓ … 40 records in, 0 loaded, 40 quarantined (invalid_date 40)', exit 0."""
    folder = tmp_path / "cfg"
    config = _folder(folder, date_format="%Y-%m")
    text = "id,date,code\n" + "".join(f"r{i},{2012 + i % 2},THF\n" for i in range(40))
    (folder / "landing" / "y.csv").write_text(text)
    code = cli.main(["run", "--config", str(config), "--warehouse", str(tmp_path / "w.duckdb"), "--no-reports"])
    out = capsys.readouterr().out
    assert code == 1
    assert (
        "records_usable: 40 of 40 records quarantined as invalid_date: date_format '%Y-%m' matches none of the "
        "values of column 'date'; first values seen: 2012, 2013"
    ) in out
    assert "✓" not in out
    # Nothing is lost: the records are in quarantine, and the warehouse mirrors the file.
    with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM quarantine WHERE reason = 'invalid_date'").fetchone()[0] == 40


def test_the_diagnosis_threshold_and_deliberate_exclusions() -> None:
    from warehouse.diagnose import diagnose

    src = load_config(_folder(Path(tempfile.mkdtemp()))).sources["s"]
    with duckdb.connect() as con:
        ensure_schema(con)
        con.execute(
            f"CREATE TEMP TABLE {raw_table('s')} "
            "(file_index INT, ordinal BIGINT, date_raw VARCHAR, offence_raw VARCHAR)"
        )
        con.execute(f"CREATE TEMP TABLE {files_table('s')} (file_index INT, file VARCHAR)")
        assert diagnose(con, src, "f", 100, 2, {"invalid_date": 98}) is None  # 98% < 99%
        assert diagnose(con, src, "f", 100, 1, {"unmapped_offence": 99}).fatal
        assert diagnose(con, src, "f", 10, 5, {"invalid_date": 5}) is None  # too few records to judge a share
        assert diagnose(con, src, "f", 10, 0, {"invalid_date": 4, "missing_field": 6}).fatal  # nothing loaded
        excluded = diagnose(con, src, "f", 50, 0, {"excluded_offence": 50})
        assert excluded is not None and not excluded.fatal  # a deliberate choice of the table: a warning
        assert diagnose(con, src, "f", 50, 1, {"excluded_offence": 49}) is None
        assert diagnose(con, src, "f", 0, 0, {}) is None
        # Suppressed cells are the publisher's choice (review r2: a table of mostly '..' failed the run).
        for args in (
            (100, 1, {"missing_count": 99}),
            (30, 0, {"missing_count": 30}),
            (30, 0, {"missing_count": 20, "excluded_offence": 10}),
        ):
            suppressed = diagnose(con, src, "f", *args)
            assert suppressed is not None and not suppressed.fatal and "no usable count" in suppressed.text, args
        assert diagnose(con, src, "f", 100, 0, {"missing_count": 50, "invalid_date": 50}).fatal
        assert diagnose(con, src, "f", 100, 1, {"missing_count": 1, "invalid_date": 98}) is None


def test_a_table_of_mostly_suppressed_cells_loads_with_a_warning_not_a_failed_run(tmp_path: Path, capsys) -> None:
    """Before: 99 of 100 cells published as '..' failed the run (records_usable ERROR, exit 1, no reports)."""
    (tmp_path / "landing").mkdir()
    (tmp_path / "corr.csv").write_text("national_code,iccs_code\nTHEFT,0502\n")
    (tmp_path / "landing" / "t.csv").write_text(
        "area,year,offence,count\n"
        + "".join(f"A{a},{y},THEFT,{12 if (a, y) == (0, 2020) else '..'}\n" for a in range(50) for y in (2020, 2021))
    )
    (tmp_path / "sources.yaml").write_text("""
sources:
  agg:
    country: XAG
    level: aggregate
    unit: offences
    files: landing/*.csv
    columns: {area: area, date: year, offence: offence, count: count}
    date_format: "%Y"
    correspondence: corr.csv
""")
    code = cli.main(
        [
            "run",
            "--config",
            str(tmp_path / "sources.yaml"),
            "--warehouse",
            str(tmp_path / "w.duckdb"),
            "--reports",
            str(tmp_path / "r"),
            "--no-reports",
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out
    assert "99 of 100 cells have no usable count" in out.out + out.err


# ---------------------------------------------------------------------------------------------------------------
# 6. Wide columns nobody reads; correspondence codes no record uses

WIDE = """
sources:
  w:
    country: XTS
    level: aggregate
    unit: offences
    files: wide.csv
    layout: wide
    wide: {columns: '^(Homicide|Robbery|Theft)$', names_to: offence, values_to: n}
    columns: {date: year, offence: offence, area: region, count: n}
    date_format: "%Y"
    correspondence: corr.csv
"""


def test_a_wide_column_the_pattern_misses_is_reported_and_map_check_names_the_unused_code(
    tmp_path: Path, capsys
) -> None:
    """Before: the 'theft' column (the pattern says 'Theft') vanished with ✓ and no word; map-check said nothing."""
    (tmp_path / "corr.csv").write_text("national_code,iccs_code\nHomicide,0101\nRobbery,0401\nTheft,0502\n")
    (tmp_path / "wide.csv").write_text(
        "year,region,Homicide,Robbery,theft\n2022,North,3,10,120\n2022,South,1,7,95\n2023,North,2,12,130\n"
    )
    (tmp_path / "sources.yaml").write_text(WIDE)
    result = run_pipeline(tmp_path / "sources.yaml", tmp_path / "w.duckdb", tmp_path / "r", with_reports=False)
    [source] = result.sources
    assert source.warnings == [
        "columns_used: 1 column(s) neither matched by wide.columns nor read by a field, so not loaded: theft"
    ]
    assert (
        cli.main(["map-check", "--config", str(tmp_path / "sources.yaml"), "--warehouse", str(tmp_path / "w.duckdb")])
        == 0
    )
    out = capsys.readouterr().out
    assert "w: 1 code(s) of corr.csv occur in no record (spelt differently in the data?): Theft" in out


# ---------------------------------------------------------------------------------------------------------------
# 7. Hints runnable as printed; no command but demo-data and run writes the demo


def test_the_mapped_share_hint_names_config_and_warehouse_and_map_check_never_writes_the_demo(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """Before: the hint said `iccs map-check --source h`; run as written it wrote 11 MB of demo data here."""
    folder = tmp_path / "cfg"
    config = _folder(folder)
    (folder / "corr.csv").write_text("national_code,iccs_code\nTHF,0502\n")
    (folder / "landing" / "h.csv").write_text(_csv([f"r{i}" for i in range(40)]))  # every third is ASS: unmapped
    warehouse = tmp_path / "w.duckdb"
    [source] = run_pipeline(config, warehouse, tmp_path / "r", with_reports=False).sources
    [hint] = [w for w in source.warnings if w.startswith("mapped_share")]
    command = hint.split("`")[1]
    assert command == f"iccs map-check --config {config} --warehouse {warehouse} --source s"

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.delenv("ICCS_CONFIG", raising=False)
    monkeypatch.delenv("ICCS_DEMO_DIR", raising=False)
    monkeypatch.delenv("ICCS_WAREHOUSE", raising=False)
    assert cli.main(command.split()[1:]) == 1  # runs as printed: below 99% mapped is a failure, not a crash
    assert "s: " in capsys.readouterr().out
    assert cli.main(["map-check", "--source", "s"]) == 2
    assert "give --config" in capsys.readouterr().err
    assert list(elsewhere.iterdir()) == []


# ---------------------------------------------------------------------------------------------------------------
# 8. Rows a filter drops are counted


def test_rows_left_out_by_filter_and_exclude_are_counted_in_runs(tmp_path: Path, capsys) -> None:
    """Before: `runs` had no trace of them: 10 rows in the file, 6 records in, and nothing said where 4 went."""
    folder = tmp_path / "cfg"
    config = _folder(folder)
    config.write_text(config.read_text() + "    exclude: {code: [ASS]}\n")
    (folder / "landing" / "a.csv").write_text(_csv([f"r{i}" for i in range(10)]))  # rows 0, 3, 6, 9 are ASS
    warehouse = tmp_path / "w.duckdb"
    assert run_pipeline(config, warehouse, tmp_path / "r", with_reports=False).ok
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT records_in, records_loaded, records_filtered FROM runs").fetchall() == [(6, 6, 4)]
    assert cli.main(["runs", "--warehouse", str(warehouse), "--format", "csv"]) == 0
    [row] = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert row["filtered_out"] == "4" and row["records_in"] == "6"


def test_loading_the_definitions_never_writes_the_demo(tmp_path: Path, monkeypatch) -> None:
    """Before: `dagster dev -m pipelines.definitions` (and `iccs map-check` without --config) wrote ~11 MB of demo."""
    from pipelines.definitions import defs

    monkeypatch.chdir(tmp_path)
    for name in ("ICCS_CONFIG", "ICCS_DEMO_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ICCS_WAREHOUSE", str(tmp_path / "w" / "w.duckdb"))
    assert isinstance(defs(), dg.Definitions)
    assert not (tmp_path / "data" / "demo").exists()


# ---------------------------------------------------------------------------------------------------------------
# Interactions between the merged features (review r2)

CITY_CODES = """national_code,iccs_code,parent
THEFT,0502,
RBURG,05012,THEFT
VTHEFT,05021,THEFT
"""
CITY = """district,year,THEFT,RBURG,VTHEFT
Centre,2021,5000,1200,800
Harbour,2022,1000,700,400
"""


def test_a_zip_of_a_nested_totals_source_keeps_one_shortfall_per_cell_through_reloads_and_renames(
    tmp_path: Path,
) -> None:
    """Before: the shortfall rows of a zip member ('x.zip/a.csv') were deleted as 'x.zip', so every rerun added
    the same shortfall again (2 rows after two runs, 3 after three); a renamed file's shortfalls stayed in the
    table after the prune removed its counts."""
    (tmp_path / "landing").mkdir()
    (tmp_path / "corr.csv").write_text(CITY_CODES)
    with zipfile.ZipFile(tmp_path / "landing" / "x.zip", "w") as archive:
        archive.writestr("a.csv", CITY)
    config = tmp_path / "sources.yaml"
    config.write_text("""
sources:
  city:
    country: XCI
    level: aggregate
    unit: offences
    files: landing/*.zip
    layout: wide
    wide: {columns: '^[A-Z]+$', names_to: offence, values_to: count}
    columns: {area: district, date: year, offence: offence, count: count}
    date_format: "%Y"
    nested_totals: true
    correspondence: corr.csv
""")
    warehouse = tmp_path / "w.duckdb"
    query = "SELECT parse_filename(file), area, year, national_code FROM nested_shortfalls"
    for name in ("x.zip", "x.zip", "y.zip"):
        if not (tmp_path / "landing" / name).exists():
            (tmp_path / "landing" / "x.zip").rename(tmp_path / "landing" / name)
        result = run_pipeline(config, warehouse, tmp_path / "r", with_reports=False)
        assert result.ok, (result.errors, [(r.error, r.failed_checks) for r in result.sources])
        with duckdb.connect(str(warehouse), read_only=True) as con:
            assert con.execute(query).fetchall() == [("a.csv", "Harbour", 2022, "THEFT")]
            assert con.execute("SELECT DISTINCT file FROM nested_shortfalls").fetchall() == [
                (str((tmp_path / "landing" / name).resolve()) + "/a.csv",)
            ]
    warnings = [w for w in result.quality_warnings if w.startswith("nested_total_shortfall")]
    assert len(warnings) == 1 and warnings[0].count("Harbour 2022") == 1, warnings


def test_a_file_renamed_away_and_back_or_reverted_is_loaded_again_by_the_sensor(tmp_path: Path) -> None:
    """Before: each load request carried the run key '<file>@<content hash>', and Dagster's sensor daemon skips a
    request whose run key it already launched. A file renamed away and back (its rows removed by the mirror in
    between), or changed and then reverted to an earlier content, was never loaded again: the file was in the
    landing folder, its records nowhere in the warehouse. The daemon's rule is applied here as it applies it."""
    config = _folder(tmp_path)
    landing = tmp_path / "landing"
    tick = _sensor_ticks(config, tmp_path, honour_run_keys=True)

    def loaded() -> list[tuple]:
        with duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True) as con:
            return con.execute("SELECT parse_filename(file), count(*) FROM offences GROUP BY 1 ORDER BY 1").fetchall()

    first, second = _csv(["r0", "r1", "r2"]), _csv(["r0", "r1"])
    (landing / "a.csv").write_text(first)
    tick()
    assert loaded() == [("a.csv", 3)]
    (landing / "a.csv").rename(landing / "b.csv")
    tick()
    assert loaded() == [("b.csv", 3)]
    (landing / "b.csv").rename(landing / "a.csv")
    tick()
    assert loaded() == [("a.csv", 3)]
    (landing / "a.csv").write_text(second)
    tick()
    assert loaded() == [("a.csv", 2)]
    (landing / "a.csv").write_text(first)  # reverted
    tick()
    assert loaded() == [("a.csv", 3)]


def test_a_file_removed_through_the_sensor_narrows_the_coverage_window(tmp_path: Path) -> None:
    """Before: the mirror job removed new.csv's rows but the stored window still ran to its last month, so
    `iccs report` (which reads the stored windows) showed ten empty years until the daily reports job."""
    config = _folder(tmp_path)
    for name, years in (("old", (2010, 2011)), ("new", (2020, 2021))):
        ids = [f"{name}{y}{m:02d}{i}" for y in years for m in range(1, 13) for i in range(3)]
        (tmp_path / "landing" / f"{name}.csv").write_text(
            "id,date,code\n"
            + "".join(
                f"{rid},{rid[len(name) : len(name) + 4]}-{rid[len(name) + 4 : len(name) + 6]}-01,THF\n" for rid in ids
            )
        )
    warehouse = tmp_path / "w.duckdb"
    assert run_pipeline(config, warehouse, tmp_path / "r", with_reports=False).ok
    window = "SELECT first_period, last_period FROM v_coverage"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute(window).fetchall() == [("2010-01", "2021-12")]
    (tmp_path / "landing" / "new.csv").unlink()
    defs = build_definitions(config, warehouse, tmp_path / "r")
    assert defs.resolve_job_def("mirror_job").execute_in_process(instance=dg.DagsterInstance.ephemeral()).success
    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM offences").fetchone()[0] == 72
        assert con.execute(window).fetchall() == [("2010-01", "2011-12")]


ZIP_NAMES = ["a.csv", "b.zip", "c.csv", "d.zip"]
ZIP_OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["write", "rename", "remove"]),
        st.sampled_from(ZIP_NAMES),
        st.sampled_from(ZIP_NAMES),
        CONTENTS,
        CONTENTS,
        st.booleans(),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations=ZIP_OPERATIONS)
def test_any_sequence_of_changes_with_zip_archives_conserves_every_record_and_equals_a_clean_run(operations) -> None:
    """As above with zip archives of two members beside plain files (review r2): after each step the warehouse
    equals a clean run, and each landed file's latest `runs` row has in = loaded + quarantined, matching the rows
    of its file (or members) in `offences` and `quarantine`."""
    with tempfile.TemporaryDirectory() as work:
        root = Path(work)
        config = _folder(root, files="landing/*.*")
        landing = root / "landing"
        with _warehouse(config) as con:
            for step, (kind, name, other, first, second, mirror_first) in enumerate(operations):
                touched: list[Path] = []
                if kind == "write":
                    if name.endswith(".zip"):
                        with zipfile.ZipFile(landing / name, "w") as archive:
                            archive.writestr("m1.csv", _csv(*first))
                            archive.writestr("m2.csv", _csv(*second))
                    else:
                        (landing / name).write_text(_csv(*first))
                    touched.append(landing / name)
                elif (
                    kind == "rename"
                    and (landing / name).exists()
                    and name != other
                    and Path(name).suffix == Path(other).suffix
                ):
                    (landing / name).replace(landing / other)
                    touched.append(landing / other)
                elif kind == "remove" and (landing / name).exists():
                    (landing / name).unlink()
                if mirror_first:
                    _mirror(con, config, f"step{step}")
                for path in touched:
                    _load(con, config, path.resolve(), f"step{step}")
                if not mirror_first:
                    _mirror(con, config, f"step{step}")
                if not list(landing.iterdir()):
                    continue
                assert _state(con) == _clean(config), (step, operations[: step + 1])
                unbalanced = con.execute("""
                    WITH latest AS (SELECT * FROM runs QUALIFY row_number() OVER (
                                        PARTITION BY file ORDER BY finished_at DESC, run_id DESC) = 1)
                    SELECT file, records_in, records_loaded, records_quarantined,
                           (SELECT count(*) FROM offences o WHERE o.file = l.file
                                OR starts_with(o.file, l.file || '/')) AS facts,
                           (SELECT count(*) FROM quarantine q WHERE q.file = l.file
                                OR starts_with(q.file, l.file || '/')) AS held
                    FROM latest l WHERE status = 'loaded' AND NOT (
                        records_in = records_loaded + records_quarantined AND facts = records_loaded
                        AND held = records_quarantined)""").fetchall()
                assert unbalanced == [], (step, operations[: step + 1])
