"""Render the requested reports and the index that links them."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from pathlib import Path

import duckdb

REPORT_KINDS: tuple[str, ...] = ("trends", "hotspots", "sdg16", "quality")


class ReportUnavailableError(RuntimeError):
    """A requested report's module is not installed; the other reports and the index were still written."""


def _renderer(kind: str) -> Callable[[duckdb.DuckDBPyConnection, Path], Path]:
    # Imported lazily so one missing or broken report module never stops the others.
    module_name = f"reports.{kind}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            raise ReportUnavailableError(f"report '{kind}': module {module_name} does not exist") from exc
        raise
    try:
        return getattr(module, f"render_{kind}")
    except AttributeError as exc:
        raise ReportUnavailableError(f"report '{kind}': {module_name} has no render_{kind}(con, out_dir)") from exc


def build_reports(con: duckdb.DuckDBPyConnection, out_dir: Path, kinds: Sequence[str] | None = None) -> dict[str, Path]:
    """Render `kinds` (all by default) into `out_dir`, then index.html; returns kind -> page path."""
    requested = tuple(REPORT_KINDS if kinds is None else kinds)
    unknown = [k for k in requested if k not in REPORT_KINDS]
    if unknown:
        raise ValueError(f"unknown report kind(s) {unknown}; choose from {list(REPORT_KINDS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    unavailable: list[str] = []
    for kind in requested:
        try:
            render = _renderer(kind)
        except ReportUnavailableError as exc:
            unavailable.append(str(exc))
            continue
        written[kind] = render(con, out_dir)
    from reports.index import render_index

    written["index"] = render_index(con, out_dir)
    if unavailable:
        raise ReportUnavailableError("; ".join(unavailable) + f" (written: {sorted(written)})")
    return written
