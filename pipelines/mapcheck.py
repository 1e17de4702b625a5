"""`iccs map-check`: how well each source's correspondence table covers its records, before or after a run.

Each source is read and classified exactly as a run would (same staging, same mapping), but nothing is loaded
into the fact tables: an analyst can iterate on a correspondence table and see the unmapped codes by volume,
with candidate ICCS categories, in seconds. Correspondence tables published on their own (``correspondences:``
in the configuration) are checked and summarised too. The figures are also written to the warehouse tables
``mapping_coverage`` and ``mapping_coverage_codes``. Codes of a source's correspondence table that no record
uses are listed too: often a code spelt differently from the data, so the records it should map are not mapped.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import duckdb
import pandas as pd

from schemas.source_config import ConfigError, PipelineConfig, SourceConfig, load_config
from warehouse.classify import classify_source, records_table
from warehouse.connection import Warehouse, connect, shown, writing
from warehouse.correspondence import (
    COLUMNS,
    CorrespondenceError,
    load_correspondence,
    read_correspondence,
    store_frame,
)
from warehouse.ddl import ensure_schema
from warehouse.mapping import targets_table
from warehouse.mapping_coverage import (
    Coverage,
    coverage_text,
    source_coverage,
    table_coverage,
    write_coverage,
)
from warehouse.staging import SourceError, stage_source

MIN_PLACEABLE_SHARE = 0.99
SHOWN_CODES = 20
EXIT_FAILED = 1
EXIT_USAGE = 2


NO_TABLE = Path("(no correspondence table yet)")


def stage_and_classify(con: duckdb.DuckDBPyConnection, src: SourceConfig) -> None:
    """Stage and classify one source with its current correspondence table, as a run would, loading nothing.

    A source without a table yet (``load_config(drafting=True)``, for ``iccs map-draft``) is classified against
    an empty one: every record unmapped, and nothing to net (nested totals need the table's hierarchy)."""
    if src.correspondence is not None and src.correspondence.is_file():
        load_correspondence(con, src.name, src.correspondence)
    else:
        store_frame(con, src.name, _empty_table())
        src = replace(src, correspondence=NO_TABLE, nested_totals=False)
    stage_source(con, src)
    classify_source(con, src)


def _empty_table() -> pd.DataFrame:
    frame = pd.DataFrame({column: pd.Series(dtype=object) for column in COLUMNS})
    for column in ("valid_from", "valid_to"):
        frame[column] = pd.Series(dtype="datetime64[ns]")
    return frame


def check_source(con: duckdb.DuckDBPyConnection, src: SourceConfig) -> Coverage:
    """Stage and classify one source with its current correspondence table, and record its coverage."""
    stage_and_classify(con, src)
    cov = source_coverage(con, src.name, use_semantic=None)
    write_coverage(con, cov)
    return cov


def unused_codes(con: duckdb.DuckDBPyConnection, source: str) -> list[str]:
    """National codes of the source's correspondence table that no staged record maps through (after
    ``check_source``): every validity period of the code unused."""
    return [
        row[0]
        for row in con.execute(f"""
        SELECT t.national_code FROM {targets_table(source)} t
        LEFT JOIN (SELECT DISTINCT group_id FROM {records_table(source)}) r ON r.group_id = t.group_id
        GROUP BY t.national_code HAVING count(r.group_id) = 0 ORDER BY 1""").fetchall()
    ]


def check_table(con: duckdb.DuckDBPyConnection, config: PipelineConfig, name: str) -> Coverage:
    spec = config.correspondences[name]
    frame = read_correspondence(spec.file, spec.columns or None, spec.excluded_values)
    store_frame(con, name, frame)
    cov = table_coverage(name, frame)
    write_coverage(con, cov)
    return cov


def run_checks(
    config_path: Path, warehouse: Warehouse, source: str | None = None, notes: list[str] | None = None
) -> tuple[list[Coverage], list[str]]:
    """Coverage of every source and correspondence table (or the one named); problems as one line each.
    ``notes`` receives what deserves a look without failing: correspondence codes no record uses."""
    config = load_config(config_path)
    names = sorted(config.sources) + sorted(config.correspondences)
    if source is not None and source not in names:
        raise ConfigError(f"{config.path}: no source or correspondence named '{source}' (have: {', '.join(names)})")
    covs: list[Coverage] = []
    errors: list[str] = []
    with writing(warehouse, "map-check"), connect(warehouse) as con:
        ensure_schema(con)
        for name in sorted(config.sources):
            if source in (None, name):
                try:
                    covs.append(check_source(con, config.sources[name]))
                    unused = unused_codes(con, name)
                    if unused and notes is not None:
                        shown = ", ".join(unused[:SHOWN_CODES]) + (" …" if len(unused) > SHOWN_CODES else "")
                        notes.append(
                            f"{name}: {len(unused)} code(s) of {config.sources[name].correspondence.name} "
                            f"occur in no record (spelt differently in the data?): {shown}"
                        )
                except (SourceError, CorrespondenceError) as exc:
                    errors.append(f"{name}: {exc}")
        for name in sorted(config.correspondences):
            if source in (None, name):
                try:
                    covs.append(check_table(con, config, name))
                except CorrespondenceError as exc:
                    errors.append(f"{name}: {exc}")
    return covs, errors


def map_check(
    config: Path, warehouse: Warehouse, source: str | None = None, min_share: float = MIN_PLACEABLE_SHARE
) -> int:
    """Print the coverage of each source, write it to the warehouse; exit code 0 when every source read and
    maps at least ``min_share`` of what ICCS can place, 1 otherwise, 2 for a bad configuration."""
    try:
        notes: list[str] = []
        covs, errors = run_checks(config, warehouse, source, notes)
    except ConfigError as exc:
        print(f"iccs: {exc}", file=sys.stderr)
        return EXIT_USAGE
    low = [c for c in covs if c.kind == "records" and c.placeable_share < min_share]
    for cov in covs:
        mark = "✗" if cov in low else "✓"
        print(f"{mark} {coverage_text(cov)}")
    for text in notes:
        print(f"  note: {text}")
    for text in errors:
        print(f"✗ {text}")
    if low:
        print(f"below {min_share:.0%} of placeable records mapped: {', '.join(c.source for c in low)}")
    print(f"written to mapping_coverage and mapping_coverage_codes in {shown(warehouse)}")
    return EXIT_FAILED if errors or low else 0
