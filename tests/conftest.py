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
    return pytest.mark.skipif(not SHARED_DATA.is_dir(),
                              reason=f"{SHARED_DATA} is absent (real public data is provided beside the repository)")


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
