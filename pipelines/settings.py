"""Where the pipeline reads its configuration and writes its outputs, from the environment with safe defaults.

One place for these so the CLI, `dagster dev` and the tests agree: ``ICCS_CONFIG`` (a sources YAML; default: the
synthetic demo, generated on first use), ``ICCS_WAREHOUSE``, ``ICCS_REPORTS`` and ``ICCS_DEMO_DIR``.
"""

from __future__ import annotations

import os
from pathlib import Path

from warehouse.connection import Warehouse, reports_path, same, warehouse_path

DEFAULT_DEMO_DIR = Path("data") / "demo"


def demo_dir() -> Path:
    return Path(os.environ.get("ICCS_DEMO_DIR", DEFAULT_DEMO_DIR))


def demo_config(records: int | None = None) -> Path:
    """The demo's sources.yaml, generated the first time it is needed (seeded, so always the same data)."""
    from pipelines.demo import generate_demo

    target = demo_dir() / "sources.yaml"
    if not target.exists():
        kwargs = {} if records is None else {"records": records}
        generate_demo(demo_dir(), **kwargs)
    return target


def existing_config_path() -> Path | None:
    """The configuration named by ``ICCS_CONFIG``, else the demo's if it was generated; never generates it."""
    named = os.environ.get("ICCS_CONFIG")
    if named:
        return Path(named)
    target = demo_dir() / "sources.yaml"
    return target if target.exists() else None


def named_paths(warehouse: Warehouse | None = None, reports: Path | None = None, config: Path | None = None) -> str:
    """Command-line options naming the paths that differ from the defaults, for hints runnable as printed."""
    import shlex

    options = []
    for flag, path, default in (
        ("--config", config, os.environ.get("ICCS_CONFIG")),
        ("--warehouse", warehouse, warehouse_path()),
        ("--reports", reports, reports_path()),
    ):
        if path is not None and (default is None or not same(path, default)):
            options.append(f" {flag} {shlex.quote(str(path))}")
    return "".join(options)


def config_path() -> Path:
    """The configuration a run uses when none is named on the command line."""
    named = os.environ.get("ICCS_CONFIG")
    return Path(named) if named else demo_config()


__all__ = [
    "config_path",
    "demo_config",
    "demo_dir",
    "existing_config_path",
    "named_paths",
    "reports_path",
    "warehouse_path",
]
