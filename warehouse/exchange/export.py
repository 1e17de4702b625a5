"""``export``: the warehouse's figures as SDMX-CSV, SDMX-ML, Parquet or CSV, for one of two datasets (``iccs``:
counts and rates by ICCS category; ``sdg``: the SDG global database's series)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from iccs.countries import m49_frame
from schemas.sdmx import iccs_schema, sdg_schema
from warehouse.ddl import is_current
from warehouse.exchange import iccs_observations, sdg_observations
from warehouse.exchange.progress import Progress, silent
from warehouse.exchange.sdmx_files import check_size, write_sdmx_file
from warehouse.exchange.selection import ExportError, Selection
from warehouse.exchange.tables import RECORDS, TABLES, write_tables

FORMATS = ("sdmx-csv", "sdmx-ml", "parquet", "csv")
DATASETS = ("iccs", "sdg")
SDMX = ("sdmx-csv", "sdmx-ml")
_SUFFIX = {"sdmx-csv": ".csv", "sdmx-ml": ".xml"}
_FIGURES = "exchange_sdg_figures"
_OBSERVATIONS = "exchange_observations"


@dataclass
class Exported:
    """What an export wrote (path -> rows) and what it left out of the selection, in a sentence each."""

    files: dict[Path, int] = field(default_factory=dict)
    left_out: list[str] = field(default_factory=list)


def default_name(dataset: str, fmt: str) -> str:
    """The file (SDMX) or folder (Parquet, CSV) an export writes in a folder: ``iccs.sdmx.csv``, ``sdg.sdmx.xml``,
    ``iccs-parquet`` …"""
    return f"{dataset}.sdmx{_SUFFIX[fmt]}" if fmt in SDMX else f"{dataset}-{fmt}"


def export(
    con: duckdb.DuckDBPyConnection,
    fmt: str,
    dataset: str,
    out: Path,
    selection: Selection | None = None,
    *,
    sdmx_version: int = 2,
    frequencies: tuple[str, ...] = ("A",),
    levels: str = "all",
    records: bool = False,
    progress: Progress = silent,
) -> Exported:
    """Write ``dataset`` in ``fmt`` to ``out`` (SDMX: a file, or a folder to write ``default_name`` in; Parquet
    and CSV: a folder). Incident records leave only with ``records`` (Parquet and CSV: the ``offences`` table).
    ``progress`` is told each step as it starts ('computing observations', 'writing v_rates' ...). Raises
    ExportError when the request cannot be met or selects nothing."""
    if fmt not in FORMATS or dataset not in DATASETS:
        raise ExportError(f"format {fmt!r} / dataset {dataset!r}: formats are {FORMATS}, datasets {DATASETS}")
    if records and fmt in SDMX:
        raise ExportError("--records: incident records leave as Parquet or CSV only; SDMX carries aggregates")
    selection = selection or Selection()
    try:
        return _export(con, fmt, dataset, out, selection, sdmx_version, frequencies, levels, records, progress)
    except (duckdb.BinderException, duckdb.CatalogException) as exc:
        if is_current(con):
            raise
        raise ExportError(
            "the warehouse's tables and views are of an earlier version of the pipeline: `iccs run` brings them up "
            f"to date ({str(exc).splitlines()[0]})"
        ) from None


def _export(con, fmt, dataset, out, selection, sdmx_version, frequencies, levels, records, progress) -> Exported:
    selection.check(con)
    if fmt in SDMX:
        path = out / default_name(dataset, fmt) if out.is_dir() else out
        if not path.parent.is_dir():
            raise ExportError(f"--out {out}: the folder {path.parent} does not exist")
        return write_sdmx(con, dataset, {fmt: path}, selection, sdmx_version, frequencies, levels, progress)
    tables = TABLES[dataset] + ((RECORDS,) if records else ())
    written = write_tables(con, tables, fmt, out, selection, progress)
    if not any(rows for _, rows in written.values()):
        raise ExportError(_nothing(dataset, []))
    return Exported({path: rows for path, rows in written.values()}, [])


def write_sdmx(
    con: duckdb.DuckDBPyConnection,
    dataset: str,
    paths: dict[str, Path],
    selection: Selection,
    sdmx_version: int = 2,
    frequencies: tuple[str, ...] = ("A",),
    levels: str = "all",
    progress: Progress = silent,
) -> Exported:
    """The dataset's observations, computed once (a temp table), written in each SDMX format of ``paths``
    (format -> file); ``progress`` is told each step as it starts."""
    try:
        if dataset == "iccs":
            sql, left_out = iccs_observations.observations_sql(selection, frequencies, levels), []
            schema = iccs_schema()
        else:
            progress("computing sdg figures")
            (sql, left_out), schema = _sdg_observations(con, selection), sdg_schema()
        progress("computing observations")
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_OBSERVATIONS} AS {sql}")
        rows = con.execute(f"SELECT count(*) FROM {_OBSERVATIONS}").fetchone()[0]
        if not rows:
            raise ExportError(_nothing(dataset, left_out))
        for fmt in paths:  # before a file is written
            check_size(fmt, rows)
        for fmt, path in paths.items():
            write_sdmx_file(con, _OBSERVATIONS, rows, schema, fmt, path, sdmx_version, progress)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_OBSERVATIONS}")
        con.execute(f"DROP TABLE IF EXISTS {_FIGURES}")
    return Exported(dict.fromkeys(paths.values(), rows), left_out)


def _nothing(dataset: str, left_out: list[str]) -> str:
    why = f" ({'; '.join(left_out)})" if left_out else ""
    return f"nothing to export: the selection has no {dataset} figures{why}"


def _sdg_observations(con, selection: Selection) -> tuple[str, list[str]]:
    """The SQL of the SDG observations (over the temp table of figures it fills) and what they leave out;
    ExportError on two sources for one key."""
    con.register(sdg_observations.M49_TABLE, m49_frame())
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_FIGURES} AS {sdg_observations.figures_sql(selection)}")
    finally:
        con.unregister(sdg_observations.M49_TABLE)
    conflict = con.execute(
        f"""SELECT series, country, year, sex, age, string_agg(sources, ', ' ORDER BY sources)
            FROM {_FIGURES} GROUP BY ALL HAVING count(*) > 1 OR max(n_sources) > 1
            ORDER BY ALL LIMIT 1"""
    ).fetchone()
    if conflict:
        series, country, year, sex, age, sources = conflict
        raise ExportError(
            f"{series} {country} {year} (sex {sex}, age {age}) is given by more than one source ({sources}): "
            "the SDG database holds one value per key; choose with --source"
        )
    return sdg_observations.observations_sql(_FIGURES), _left_out(con, selection)


def _left_out(con, selection: Selection) -> list[str]:
    """What the SDG dataset leaves out of the selection, a sentence each."""
    notes = []
    query = f"SELECT DISTINCT country FROM {_FIGURES} WHERE m49 IS NULL ORDER BY 1"
    no_m49 = [row[0] for row in con.execute(query).fetchall()]
    if no_m49:
        notes.append(f"no M49 code for {', '.join(no_m49)} (REF_AREA is M49): left out")
    partial = con.execute(
        f"SELECT count(DISTINCT (country, year)) FROM {_FIGURES} WHERE coalesce(months, 0) NOT IN (0, 12)"
    ).fetchone()[0]
    if partial:
        notes.append(f"{partial} country-years covered for fewer than 12 months: left out (not a yearly figure)")
    other = con.execute(
        f"""SELECT n.source, n.unit, string_agg(DISTINCT c.series, ', ' ORDER BY c.series)
            FROM (SELECT * FROM v_national_counts WHERE {selection.where({"source", "country", "year"})}) n
            JOIN (SELECT * FROM {sdg_observations.series_codes_sql()}) c ON c.iccs_code = n.iccs_code
            GROUP BY n.source, n.unit
            HAVING NOT bool_or(n.unit = c.counting_unit OR n.unit = c.denominator_unit)
            ORDER BY ALL"""
    ).fetchall()
    for source, unit, series in other:
        notes.append(f"source {source} counts {unit}, the SDG series {series} count victims or arms: left out")
    return notes
