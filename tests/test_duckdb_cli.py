"""The warehouse opens in the DuckDB command-line client that users install from PyPI (duckdb-cli, 1.x), not only in
the duckdb library the pipeline writes it with (1.5.5)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CLI = shutil.which("duckdb", path=str(Path(sys.executable).parent)) or shutil.which("duckdb")


@pytest.mark.skipif(CLI is None, reason="the duckdb command-line client (pip install duckdb-cli) is not installed")
def test_the_duckdb_cli_reads_the_warehouse_and_its_views(mini_run) -> None:
    out = subprocess.run(
        [
            CLI,
            "-readonly",
            "-csv",
            str(mini_run.warehouse),
            "-c",
            "SELECT count(*) FROM offences; SELECT count(*) FROM v_rates WHERE iccs_code = '05';",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["count_star()", "9", "count_star()", "6"]
