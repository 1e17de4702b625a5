"""Shared test set-up: where the shared data lives, and one small pipeline run reused by many tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SHARED_DATA = SHARED / "data"
MINI_CONFIG = ROOT / "tests" / "fixtures" / "mini" / "sources.yaml"

# Dagster writes run storage somewhere; keep tests away from a developer's own DAGSTER_HOME.
os.environ.pop("DAGSTER_HOME", None)
os.environ.setdefault("ICCS_SHARED_DATA", str(SHARED_DATA))


def requires_shared_data() -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        not SHARED_DATA.is_dir(), reason=f"{SHARED_DATA} is absent (real public data is provided beside the repository)"
    )


@pytest.fixture(scope="session")
def mini_run(tmp_path_factory: pytest.TempPathFactory):
    """The hand-made mini configuration run once through the whole pipeline, without reports."""
    from pipelines.runner import run_pipeline

    folder = tmp_path_factory.mktemp("mini")
    result = run_pipeline(MINI_CONFIG, folder / "warehouse.duckdb", folder / "reports", with_reports=False)
    return result


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory):
    """A small synthetic demo (20,000 records) run through the whole pipeline, reports included."""
    from pipelines.demo import generate_demo
    from pipelines.runner import run_pipeline

    folder = tmp_path_factory.mktemp("demo")
    manifest = generate_demo(folder / "input", records=20_000)
    result = run_pipeline(manifest.config_path, folder / "warehouse.duckdb", folder / "reports")
    return manifest, result


# Tests that run the pipeline (the run fixtures, `run_pipeline`, `iccs run`, Dagster job runs, subprocesses) are
# marked `slow`, so `pytest -m "not slow"` is a quick inner loop; `make test` runs everything.
PIPELINE_FIXTURES = {"mini_run", "demo_run"}
# Property tests (many examples each) and whole real sources loaded without the pipeline are as slow.
HEAVY = (
    "tests/test_real_sources.py::test_every_record_is_loaded_or_quarantined_and_mapped",
    "tests/test_totals.py::test_a_total_row_among_thousands_of_small_areas",
)
PIPELINE_CALLS = ("run_pipeline(", "execute_in_process(", "materialize(", "subprocess", 'main(["run"', "Popen(")


def _runs_the_pipeline(function: object, module: object, seen: set[object]) -> bool:
    """Whether ``function``, or a function of the tests it calls by name, runs the pipeline (read from the source)."""
    import inspect
    import re

    if function in seen or not callable(function):
        return False
    seen.add(function)
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return False
    if any(call in source for call in PIPELINE_CALLS):
        return True
    namespace = vars(module)
    for name in set(re.findall(r"\b([A-Za-z_]\w*)\(", source)):
        called = namespace.get(name)
        home = getattr(called, "__module__", None) or ""
        if (home == module.__name__ or home.startswith("tests")) and _runs_the_pipeline(called, module, seen):
            return True
    return False


def _slow(item: pytest.Item) -> bool:
    if item.nodeid.startswith(HEAVY) or getattr(item.function, "is_hypothesis_test", False):
        return True
    if PIPELINE_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    functions = [item.function]
    fixtures = getattr(item, "_fixtureinfo", None)
    if fixtures is not None:  # the fixtures of the tests (not pytest's own) may run the pipeline too
        functions += [
            d.func for defs in fixtures.name2fixturedefs.values() for d in defs if d.baseid.startswith("tests")
        ]
    seen: set[object] = set()
    return any(_runs_the_pipeline(getattr(f, "__wrapped__", f), item.module, seen) for f in functions)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if isinstance(item, pytest.Function) and not item.get_closest_marker("slow") and _slow(item):
            item.add_marker(pytest.mark.slow)


# A real PostgreSQL for the tests that need one (DuckLake catalog, Dagster storage): `postgres_dsn` (session),
# `postgres_database` and `lake_catalog` (a new empty database per test); see tests/postgres.py.
from tests.postgres import lake_catalog, postgres_database, postgres_dsn, postgres_server_for_tests  # noqa: E402, F401
