"""The patterns the demo plants are found through the whole pipeline, and a demo with nothing planted is (almost)
not flagged: the recall and false-flag figures of issue 17, measured on the warehouse `iccs run` writes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipelines.demo.recall import found_plants
from warehouse.connection import connect


def _anomalies(warehouse: Path) -> pd.DataFrame:
    with connect(warehouse, read_only=True) as con:
        return con.execute("SELECT * FROM anomalies").fetch_df()


def test_planted_anomalies_are_found_in_the_demo_run_and_with_other_seeds(demo_run, tmp_path):
    """Recall over three demos of 20,000 records (18 planted anomalies) is at least 0.9 at FDR 0.1. The spikes and
    the mix change are found in every one; the level shift (+80 % of about 17 a month nationally at this size)
    is at the edge of the test's power and may be missed once (at 200,000 records and more it always is found:
    bench/README.md)."""
    from pipelines.demo import generate_demo
    from pipelines.runner import run_pipeline

    manifest, result = demo_run
    runs = [found_plants(manifest.details["patterns"], _anomalies(result.warehouse))]
    for seed in (11, 12):
        manifest = generate_demo(tmp_path / str(seed) / "in", records=20_000, seed=seed)
        result = run_pipeline(
            manifest.config_path, tmp_path / str(seed) / "w.duckdb", tmp_path / "r", with_reports=False
        )
        assert result.ok and not any("anomalies_contract" in w for w in result.quality_warnings), (
            result.quality_warnings
        )
        runs.append(found_plants(manifest.details["patterns"], _anomalies(tmp_path / str(seed) / "w.duckdb")))
    assert all(len(found) == 6 for found in runs)
    hits = [hit for found in runs for hit in found.values()]
    assert sum(hits) / len(hits) >= 0.9, runs
    assert all(found[name] for found in runs for name in ("S1", "S2", "S3", "S4", "mix_change")), runs


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_demo_with_nothing_planted_is_not_flagged_beyond_the_fdr(tmp_path, seed):
    """With nothing planted every hypothesis is null, and Benjamini-Hochberg at 10 % then flags anything at all
    in a kind's family with probability at most 10 %: over three kinds, a seed may flag one kind, and that one
    rarely more than once (measured over more seeds and sizes: bench/README.md)."""
    from pipelines.demo import generate_demo
    from pipelines.runner import run_pipeline

    manifest = generate_demo(tmp_path / "in", records=20_000, seed=seed, plant=False)
    result = run_pipeline(manifest.config_path, tmp_path / "w.duckdb", tmp_path / "r", with_reports=False)
    assert result.ok and not any("anomalies_contract" in w for w in result.quality_warnings), result.quality_warnings
    anomalies = _anomalies(tmp_path / "w.duckdb")
    with connect(tmp_path / "w.duckdb", read_only=True) as con:
        tested = dict(con.execute("SELECT kind, tests FROM anomaly_tests").fetchall())
    assert all(tested[kind] > 0 for kind in ("outlying_month", "level_shift", "mix_change")), tested
    assert anomalies["kind"].nunique() <= 1 and len(anomalies) <= 2, anomalies[["kind", "area", "period", "q_value"]]
