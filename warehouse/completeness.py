"""Completeness checks: the gaps, drops, placeholders and recording changes a loaded source hides.

Police data publishes a missing month as if complete, geocodes unknown places to one point, and reads a
recording change as a trend. Each check here is a SQL aggregate over the warehouse that returns a small frame,
and ``assess_source`` turns them into warnings (``Finding``) for the asset checks and writes two tables the
quality report reads: ``completeness`` (every expected period × reporting area, present or not) and
``series_breaks`` (categories that appear or vanish between periods).

Periods are months when the source's counts carry months, else years; the expected periods are those of the
source's coverage window (``warehouse.coverage``; records outside it, such as late reports of old offences, are
not checked here), else its first to last period; the reporting areas are those that ever report (a source
without areas is one national area, ``area`` NULL). Records loaded without an area are not a reporting area of
their own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import duckdb
import pandas as pd

from warehouse import completeness_sql as sql
from warehouse import coverage as windows
from warehouse.ddl import ensure_schema
from warehouse.transaction import transaction

SEVERITY = "warn"
BREAK_ALPHA = 0.001  # a break's empty run must be this improbable at the category's rate (Poisson)
PLACEHOLDER_FACTOR = 3.0  # a placeholder value holds this many times the median records per distinct value

FINDINGS: dict[str, str] = {
    "single_unit": "the source's counts are in one counting unit (the checks count in the configured one)",
    "periods_complete": "every expected period × reporting area has records (missing months listed)",
    "drop_vs_previous_period": "no period's records fall by more than the threshold versus the period before",
    "drop_vs_previous_run": "no file's reload carries fewer records than its previous load by more than the threshold",
    "placeholder_date": "no single date holds an outsized share of the records (unknown dates set to a default)",
    "placeholder_coordinates": "no single point holds an outsized share of the records (ungeocoded places)",
    "series_breaks": "no ICCS category appears or vanishes between periods (a likely recording change)",
}

TABLES = """
CREATE TABLE IF NOT EXISTS completeness (
    source VARCHAR NOT NULL, area VARCHAR, period VARCHAR NOT NULL, present BOOLEAN NOT NULL, records DOUBLE);
CREATE TABLE IF NOT EXISTS series_breaks (
    source VARCHAR NOT NULL, iccs_code VARCHAR NOT NULL, period VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    detail VARCHAR);
COMMENT ON TABLE completeness IS 'per source: every expected period (month, or year for annual data) x reporting
 area (NULL = national), whether it has records and how many (in the source''s unit)';
COMMENT ON TABLE series_breaks IS 'per source: ICCS categories that appear or vanish between periods (kind
 appeared/vanished), a likely recording change rather than a trend';
CREATE TABLE IF NOT EXISTS completeness_findings (
    source VARCHAR NOT NULL, "check" VARCHAR NOT NULL, passed BOOLEAN NOT NULL, severity VARCHAR NOT NULL,
    finding VARCHAR, metadata JSON);
"""


@dataclass(frozen=True)
class Finding:
    """One completeness check of one source: a warning, never a blocker; metadata says where to look."""

    name: str
    passed: bool
    description: str
    metadata: dict[str, object] = field(default_factory=dict)
    severity: str = SEVERITY


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(TABLES)


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: dict[str, object]) -> pd.DataFrame:
    return con.execute(sql, params).fetch_df()


def counted_unit(con: duckdb.DuckDBPyConnection, source: str) -> str | None:
    """The unit the checks count in: the source's configured unit (``sources.unit``) where it has counts, else
    its most common one. Counts of different units are never added (every view and report query groups by
    unit); a source holding several is reported by the ``single_unit`` check."""
    rows = con.execute(
        """
        SELECT unit FROM offence_counts WHERE source = ? GROUP BY unit
        ORDER BY unit IS NOT DISTINCT FROM (SELECT any_value(unit) FROM sources WHERE source = ?) DESC,
                 count(*) DESC, unit LIMIT 1""",
        [source, source],
    ).fetchall()
    return rows[0][0] if rows else None


def _params(con: duckdb.DuckDBPyConnection, source: str, **extra: object) -> dict[str, object]:
    return {"source": source, "unit": counted_unit(con, source), **extra}


def monthly(con: duckdb.DuckDBPyConnection, source: str) -> bool:
    """True when the source's counts carry months (periods are months), False for annual data."""
    found = con.execute(
        "SELECT count(month) > 0 FROM offence_counts WHERE source = ? AND unit = ?", [source, counted_unit(con, source)]
    ).fetchall()[0]
    return bool(found and found[0])


def _recorded_periods(con: duckdb.DuckDBPyConnection, source: str, among: list[str]) -> list[str]:
    """Those of the periods ``among`` (labelled as ``coverage`` labels them) in which the source has any record
    inside its coverage window, with or without an area. Grouped on the integer period, labelled after: a label
    per row cost seconds at 10M rows."""
    if not among:
        return []
    is_monthly = monthly(con, source)
    counts = _windowed(con)[0]
    rows = con.execute(
        f"""SELECT {sql.period_label(is_monthly)} FROM (
                SELECT DISTINCT {sql.period_index(is_monthly)} AS p FROM {counts}
                WHERE source = $source AND unit = $unit AND count > 0)
            WHERE {sql.period_label(is_monthly)} IN (SELECT unnest($among::VARCHAR[]))""",
        _params(con, source, among=among),
    ).fetchall()
    return [row[0] for row in rows if row[0] is not None]


def _windowed(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    """The counts inside the coverage windows, without national total rows (a total area is not one more area
    and its rows are not 'records without area'), and the windows' bounds (``warehouse.coverage``)."""
    return windows.relation(con, "detail_counts"), windows.bounds(con)


def _table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the warehouse has the table (one written before it existed, opened read-only, has not)."""
    return con.execute("SELECT count(*) > 0 FROM duckdb_tables() WHERE table_name = ?", [name]).fetchone()[0]


def grid_relation(con: duckdb.DuckDBPyConnection, source: str) -> tuple[str, dict[str, object]]:
    """The source's expected period × area cells as a relation to aggregate in SQL, and its parameters: the
    ``completeness`` rows the quality job stored, else computed (unsorted) as ``coverage`` gives them."""
    stored = (
        _table_exists(con, "completeness")
        and con.execute("SELECT count(*) > 0 FROM completeness WHERE source = ?", [source]).fetchone()[0]
    )
    if stored:
        return "(SELECT * FROM completeness WHERE source = $source)", {"source": source}
    computed = sql.coverage_sql(monthly(con, source), *_windowed(con), ordered=False)
    return f"({computed})", _params(con, source)


def coverage(con: duckdb.DuckDBPyConnection, source: str) -> pd.DataFrame:
    """source, area, period, present, records: every expected period × reporting area of the source."""
    return _frame(con, sql.coverage_sql(monthly(con, source), *_windowed(con)), _params(con, source))


def period_drops(
    con: duckdb.DuckDBPyConnection, source: str, drop_threshold: float = 0.3, min_records: int = 20
) -> pd.DataFrame:
    """period, records, previous_period, previous_records, change, areas: periods whose records fall by more
    than ``drop_threshold`` versus the previous period with records, over the areas reporting in both.

    Missing periods are ``coverage``'s business and are skipped, not counted as a 100% drop; a previous period
    under ``min_records`` is too small to judge.
    """
    return _frame(
        con,
        sql.drops_sql(monthly(con, source), _windowed(con)[0]),
        _params(con, source, threshold=drop_threshold, min_records=min_records),
    )


def run_drops(con: duckdb.DuckDBPyConnection, source: str, drop_threshold: float = 0.3) -> pd.DataFrame:
    """Files (or the source, for a ``runs`` table without files) whose latest load carries more than
    ``drop_threshold`` fewer records than the load before it: a re-sent extract that lost rows."""
    columns = {r[0] for r in con.execute("DESCRIBE runs").fetchall()}
    key = "file" if "file" in columns else "source"
    sql = f"""
        WITH ranked AS (
            SELECT {key} AS loaded_from, run_id, finished_at, records_loaded,
                   row_number() OVER (PARTITION BY {key} ORDER BY finished_at DESC, run_id DESC) AS k
            FROM runs WHERE source = $source AND coalesce(status, '') <> 'pruned')  -- a file that left is no drop
        SELECT cur.loaded_from, cur.run_id, cur.records_loaded, prev.run_id AS previous_run_id,
               prev.records_loaded AS previous_records_loaded,
               cur.records_loaded / prev.records_loaded - 1 AS change
        FROM ranked cur JOIN ranked prev ON prev.loaded_from = cur.loaded_from AND cur.k = 1 AND prev.k = 2
        WHERE prev.records_loaded > 0 AND cur.records_loaded < (1 - $threshold) * prev.records_loaded
        ORDER BY change"""
    return _frame(con, sql, {"source": source, "threshold": drop_threshold})


def _day_level(con: duckdb.DuckDBPyConnection, source: str) -> bool:
    """Dates of a monthly or annual source are all first days by construction: only daily dates can be judged."""
    rows = con.execute("SELECT period FROM sources WHERE source = ?", [source]).fetchall()
    if rows and rows[0][0]:
        return rows[0][0] == "day"
    found = con.execute(
        "SELECT count(*) FILTER (day(occurred_on) <> 1) > 0 FROM offences WHERE source = ?", [source]
    ).fetchall()[0]
    return bool(found and found[0])


def placeholders(con: duckdb.DuckDBPyConnection, source: str, placeholder_threshold: float = 0.05) -> pd.DataFrame:
    """kind ('date' | 'coordinates'), value, records, share: single values holding more than
    ``placeholder_threshold`` of the source's records and over ``PLACEHOLDER_FACTOR`` × the median per value."""
    # Group on the typed values and format only the groups that qualify: printf over every record and grouping
    # on the resulting strings cost twice as much (10M records: 4.6 s -> 2.2 s, same rows).
    parts = []
    if _day_level(con, source):
        parts.append(
            "SELECT 'date' AS kind, occurred_on AS day, NULL::DOUBLE AS lat, NULL::DOUBLE AS lon, "
            "count(*) AS n FROM offences WHERE source = $source AND unit = $unit GROUP BY ALL"
        )
    params = _params(con, source, threshold=placeholder_threshold)
    parts.append(
        "SELECT 'coordinates' AS kind, NULL::DATE AS day, round(latitude, 5) AS lat, "
        "round(longitude, 5) AS lon, count(*) AS n "
        "FROM offences WHERE source = $source AND unit = $unit AND latitude IS NOT NULL "
        f"AND longitude IS NOT NULL {'' if _point_can_qualify(con, params) else 'AND false'} GROUP BY ALL"
    )
    sql = f"""
        WITH v AS ({" UNION ALL ".join(parts)}),
        s AS (SELECT kind, sum(n) AS total, median(n) AS typical FROM v GROUP BY kind)
        SELECT v.kind, CASE v.kind WHEN 'date' THEN v.day::VARCHAR ELSE printf('%.5f, %.5f', v.lat, v.lon) END AS value,
               v.n AS records, v.n / s.total AS share, s.typical AS median_records
        FROM v JOIN s USING (kind)
        WHERE v.n > $threshold * s.total AND v.n > {PLACEHOLDER_FACTOR} * s.typical
        ORDER BY v.kind, v.n DESC"""
    return _frame(con, sql, params)


_BUCKETS = 4096


def _point_can_qualify(con: duckdb.DuckDBPyConnection, params: dict[str, object]) -> bool:
    """Whether some point could hold more than the threshold's share of the records: the points grouped into a few
    thousand hash buckets first (a point's records all fall in its bucket, and ``hash`` treats -0.0 and 0.0, and
    every NaN, as GROUP BY does), since grouping every distinct point (10M records: 10M points) is the costly part
    and is needed only when a bucket holds that many records."""
    (possible,) = con.execute(
        f"""SELECT coalesce(max(n) > $threshold * sum(n), false) FROM (
                SELECT hash(round(latitude, 5), round(longitude, 5)) % {_BUCKETS} AS bucket, count(*) AS n
                FROM offences WHERE source = $source AND unit = $unit AND latitude IS NOT NULL
                AND longitude IS NOT NULL GROUP BY bucket)""",
        params,
    ).fetchall()[0]
    return bool(possible)


def series_breaks(
    con: duckdb.DuckDBPyConnection, source: str, min_run: int | None = None, alpha: float = BREAK_ALPHA
) -> pd.DataFrame:
    """source, iccs_code, period, kind ('appeared' | 'vanished'), detail. ``min_run`` periods of presence and
    absence must meet at the break (default 3 for months, 2 for years), and that many empty periods must be
    improbable (below ``alpha``) at the category's rate, so that a rare category's quiet spell is not a break."""
    is_monthly = monthly(con, source)
    run = min_run if min_run is not None else (3 if is_monthly else 2)
    return _frame(con, sql.breaks_sql(is_monthly, int(run), alpha, _windowed(con)[0]), _params(con, source))


def _examples(frame: pd.DataFrame, columns: list[str], limit: int = 10) -> list[dict[str, object]]:
    return [
        {k: (v.item() if hasattr(v, "item") else v) for k, v in row.items()}
        for row in frame[columns].head(limit).to_dict("records")
    ]


def write_source(con: duckdb.DuckDBPyConnection, source: str, min_run: int | None = None) -> None:
    """Replace the source's rows of ``completeness`` and ``series_breaks`` (in one transaction)."""
    ensure_schema(con)
    is_monthly = monthly(con, source)
    run = min_run if min_run is not None else (3 if is_monthly else 2)
    with transaction(con):
        con.execute("DELETE FROM completeness WHERE source = ?", [source])
        con.execute("DELETE FROM series_breaks WHERE source = ?", [source])
        counts, bounds = _windowed(con)
        con.execute(
            f"INSERT INTO completeness SELECT * FROM ({sql.coverage_sql(is_monthly, counts, bounds, ordered=False)})",
            _params(con, source),
        )
        con.execute(
            f"INSERT INTO series_breaks SELECT * FROM ({sql.breaks_sql(is_monthly, int(run), BREAK_ALPHA, counts)})",
            _params(con, source),
        )


def findings(
    con: duckdb.DuckDBPyConnection,
    source: str,
    *,
    drop_threshold: float = 0.3,
    placeholder_threshold: float = 0.05,
    min_records: int = 20,
    min_run: int | None = None,
    grid: tuple[str, dict[str, object]] | None = None,
) -> list[Finding]:
    """Every completeness check of the source as a warning, without writing anything. ``grid`` is a relation
    holding the source's expected period × area cells as ``coverage`` gives them, with its parameters
    (``grid_relation``: ``assess_source`` passes the rows it has just written); by default they are computed."""
    units = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT unit FROM offence_counts WHERE source = ? ORDER BY 1", [source]
        ).fetchall()
    ]
    unit = counted_unit(con, source)
    result = [
        Finding(
            "single_unit",
            len(units) <= 1,
            (
                f"counts in {len(units)} units ({', '.join(units)}); only {unit} is counted here, and no report adds "
                "them up"
                if len(units) > 1
                else f"all counts in {unit or 'no unit (no counts)'}"
            ),
            {"units": units, "counted_unit": unit},
        )
    ]
    grid, grid_params = grid or (
        f"({sql.coverage_sql(monthly(con, source), *_windowed(con), ordered=False)})",
        _params(con, source),
    )
    cells, missing, areas, periods = con.execute(
        f"""SELECT count(*), count(*) FILTER (NOT present),
                   count(DISTINCT area) + (count(*) FILTER (area IS NULL) > 0)::INT, count(DISTINCT period)
            FROM {grid} g WHERE source = $source""",
        grid_params,
    ).fetchone()
    # Periods no area reported in, and the first areas' missing periods (the grid is every area × every period):
    # aggregates in SQL, so thousands of areas never come to Python as a grid.
    silent = [
        row[0]
        for row in con.execute(
            f"SELECT period FROM {grid} g WHERE source = $source GROUP BY period HAVING bool_and(NOT present) "
            "ORDER BY period",
            grid_params,
        ).fetchall()
    ]
    by_area = {
        ("(national)" if area is None else str(area)): list(found)
        for area, found in con.execute(
            f"""SELECT area, list_sort(list(period))[:24] FROM {grid} g WHERE source = $source AND NOT present
                GROUP BY area ORDER BY area NULLS LAST LIMIT 20""",
            grid_params,
        ).fetchall()
    }
    # A period no area reported in may still hold the source's records without an area (a mostly national table
    # with a few regions): only a period with no record at all is "missing everywhere".
    recorded = set(_recorded_periods(con, source, silent))
    whole = [p for p in silent if p not in recorded]
    areas_only = [p for p in silent if p in recorded]
    unassigned = con.execute(
        "SELECT coalesce(sum(count), 0) FROM v_offence_count_roles WHERE source = ? AND unit = ? AND area IS NULL "
        "AND NOT is_total AND EXISTS (SELECT 1 FROM offence_counts WHERE source = ? AND unit = ? "
        "AND area IS NOT NULL)",
        [source, unit, source, unit],
    ).fetchall()[0][0]
    result.append(
        Finding(
            "periods_complete",
            missing == 0,
            (
                f"{missing:,} of {cells:,} period × area cells have no records"
                + (f"; no records at all in {', '.join(whole[:12])}{' …' if len(whole) > 12 else ''}" if whole else "")
                + (
                    f"; no area reported in {', '.join(areas_only[:12])}{' …' if len(areas_only) > 12 else ''} "
                    "(the source's records there have no area)"
                    if areas_only
                    else ""
                )
                if missing
                else f"all {cells:,} period × area cells have records"
            ),
            {
                "cells": int(cells),
                "missing_cells": int(missing),
                "areas": int(areas),
                "periods": int(periods),
                "missing_everywhere": whole,
                "no_area_reported": areas_only,
                "missing_by_area": by_area,
                "records_without_area": float(unassigned),
            },
        )
    )

    drops = period_drops(con, source, drop_threshold, min_records)
    result.append(
        Finding(
            "drop_vs_previous_period",
            drops.empty,
            f"{len(drops)} period(s) with records down more than {drop_threshold:.0%} on the period before "
            "(areas reporting in both)"
            + (
                ": " + ", ".join(f"{r.period} ({r.change:+.0%})" for r in drops.head(12).itertuples())
                if len(drops)
                else ""
            ),
            {
                "threshold": drop_threshold,
                "min_records": min_records,
                "periods": drops["period"].tolist(),
                "drops": _examples(drops, ["period", "records", "previous_period", "previous_records", "change"]),
            },
        )
    )

    reruns = run_drops(con, source, drop_threshold)
    result.append(
        Finding(
            "drop_vs_previous_run",
            reruns.empty,
            f"{len(reruns)} reload(s) with records down more than {drop_threshold:.0%} on the previous load"
            + (
                ": "
                + ", ".join(
                    f"{str(r.loaded_from).rsplit('/', 1)[-1]} ({r.change:+.0%})" for r in reruns.head(12).itertuples()
                )
                if len(reruns)
                else ""
            ),
            {
                "threshold": drop_threshold,
                "drops": _examples(reruns, ["loaded_from", "records_loaded", "previous_records_loaded", "change"]),
            },
        )
    )

    found = placeholders(con, source, placeholder_threshold)
    for kind in ("date", "coordinates"):
        rows = found[found["kind"] == kind]
        result.append(
            Finding(
                f"placeholder_{kind}",
                rows.empty,
                (
                    f"{len(rows)} {kind} value(s) each hold more than {placeholder_threshold:.0%} of the records: "
                    + ", ".join(f"{r.value} ({r.share:.1%})" for r in rows.head(5).itertuples())
                )
                if len(rows)
                else f"no single {kind} holds more than {placeholder_threshold:.0%} of the records",
                {
                    "threshold": placeholder_threshold,
                    "factor_over_median": PLACEHOLDER_FACTOR,
                    "values": _examples(rows, ["value", "records", "share", "median_records"]),
                },
            )
        )

    breaks = series_breaks(con, source, min_run)
    result.append(
        Finding(
            "series_breaks",
            breaks.empty,
            f"{len(breaks)} ICCS categor(y/ies) appear or vanish between periods"
            + (
                ": " + "; ".join(f"{r.iccs_code} {r.kind} {r.period}" for r in breaks.head(10).itertuples())
                if len(breaks)
                else ""
            ),
            {"breaks": _examples(breaks, ["iccs_code", "period", "kind", "detail"], 20)},
        )
    )
    return result


def assess_source(
    con: duckdb.DuckDBPyConnection,
    source: str,
    *,
    drop_threshold: float = 0.3,
    placeholder_threshold: float = 0.05,
    min_records: int = 20,
    min_run: int | None = None,
) -> list[Finding]:
    """Write the source's ``completeness`` and ``series_breaks`` rows and return every check as a Finding
    (severity 'warn': the records are loaded; the analyst should look before trusting a trend). The findings are
    stored too (``completeness_findings``), so the quality page reads them instead of computing them again."""
    write_source(con, source, min_run)
    found = findings(
        con,
        source,
        drop_threshold=drop_threshold,
        placeholder_threshold=placeholder_threshold,
        min_records=min_records,
        min_run=min_run,
        grid=grid_relation(con, source),
    )
    rows = [(source, f.name, f.passed, f.severity, f.description, json.dumps(f.metadata, default=str)) for f in found]
    with transaction(con):
        con.execute("DELETE FROM completeness_findings WHERE source = ?", [source])
        con.executemany("INSERT INTO completeness_findings VALUES (?, ?, ?, ?, ?, ?)", rows)
    return found


def stored_findings(con: duckdb.DuckDBPyConnection, source: str) -> list[Finding] | None:
    """The findings the quality job stored for ``source`` (in check order), or None where it has not assessed the
    source (a warehouse from before the table, or a source loaded since without the quality job)."""
    if not _table_exists(con, "completeness_findings"):
        return None
    rows = con.execute(
        'SELECT "check", passed, finding, metadata, severity FROM completeness_findings WHERE source = ?', [source]
    ).fetchall()
    if not rows:
        return None
    order = {name: position for position, name in enumerate(FINDINGS)}
    found = [
        Finding(name, passed, text or "", json.loads(meta or "{}"), severity)
        for name, passed, text, meta, severity in rows
    ]
    return sorted(found, key=lambda f: order.get(f.name, len(order)))


def source_findings(con: duckdb.DuckDBPyConnection, source: str) -> list[Finding]:
    """The source's findings as the quality job stored them, else computed now (read-only)."""
    return stored_findings(con, source) or findings(con, source, grid=grid_relation(con, source))
