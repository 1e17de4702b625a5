"""Type, check and ICCS-map every staged record in one SQL pass, giving each its quarantine reason or none.

The reasons are tested in the order of ``schemas.quarantine.REASONS``; a record gets the first that applies, so
every record is counted exactly once. Duplicates are judged only among records that pass every other check: the
first valid occurrence of an id is loaded, later ones are quarantined and say where the first one is.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from schemas.source_config import SourceConfig
from warehouse.staging import line_offsets_sql, raw_table


@dataclass(frozen=True)
class ClassifySummary:
    records: int
    valid: int
    reasons: dict[str, int]
    mapped_share: float


def records_table(source: str) -> str:
    return f"staging.records_{source}"


def _q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _txt(field: str) -> str:
    return f"nullif(trim({field}_raw), '')"


def classify_source(con: duckdb.DuckDBPyConnection, src: SourceConfig) -> ClassifySummary:
    """Replace ``staging.records_<source>`` with typed, mapped records and their reasons."""
    cols = src.columns
    has = cols.__contains__
    fmt = _q(src.date_format)
    shown = {field: _q(col) for field, col in cols.items()}
    date_value = f"try_strptime({_txt('date')}, {fmt})::DATE"
    lat = f"TRY_CAST({_txt('latitude')} AS DOUBLE)" if has("latitude") else "NULL::DOUBLE"
    lon = f"TRY_CAST({_txt('longitude')} AS DOUBLE)" if has("longitude") else "NULL::DOUBLE"
    count = f"TRY_CAST({_txt('count')} AS DOUBLE)" if has("count") else "1.0"
    rid = f"{_txt('record_id')}" if has("record_id") else "NULL"
    checks: list[tuple[str, str, str]] = [
        ("missing_field", "date_txt IS NULL", f"{shown['date']} || ': empty'"),
        ("missing_field", "offence_txt IS NULL", f"{shown['offence']} || ': empty'"),
    ]
    if has("count"):
        checks.append(("missing_field", "count_txt IS NULL", f"{shown['count']} || ': empty'"))
    checks += [
        ("invalid_date", "occurred_on IS NULL",
         f"{shown['date']} || ': ''' || date_txt || ''' does not match ' || {fmt}"),
        ("date_out_of_range", "occurred_on > current_date",
         f"{shown['date']} || ': ' || occurred_on::VARCHAR || ' is in the future'"),
        ("date_out_of_range", f"occurred_on < DATE {_q(src.date_floor)}",
         f"{shown['date']} || ': ' || occurred_on::VARCHAR || ' is before the floor {src.date_floor}'"),
        ("unmapped_offence", "iccs_code IS NULL",
         f"{shown['offence']} || ': national code ''' || offence_txt || ''' is not in "
         f"{_q(src.correspondence.name)[1:-1]}'"),
    ]
    if has("latitude"):
        shown_ll = f"{shown['latitude']} || '/' || {shown['longitude']}"
        checks.append((
            "invalid_coordinates",
            "(lat_txt IS NOT NULL OR lon_txt IS NOT NULL) AND (latitude IS NULL OR longitude IS NULL "
            "OR abs(latitude) > 90 OR abs(longitude) > 180)",
            f"{shown_ll} || ': ''' || coalesce(lat_txt, '') || ''', ''' || coalesce(lon_txt, '') "
            "|| ''' are not valid coordinates'"))
        if src.bbox:
            x0, y0, x1, y1 = src.bbox
            checks.append((
                "coordinates_outside_country",
                f"latitude IS NOT NULL AND NOT (longitude BETWEEN {x0} AND {x1} AND latitude BETWEEN {y0} AND {y1})",
                f"{shown_ll} || ': (' || latitude || ', ' || longitude || ') is outside {src.country} "
                f"bbox [{x0}, {y0}, {x1}, {y1}]'"))
    if has("count"):
        checks.append(("invalid_count", "count IS NULL OR count < 0",
                       f"{shown['count']} || ': ''' || count_txt || ''' is not a non-negative number'"))
    reason = "CASE " + " ".join(f"WHEN {cond} THEN '{code}'" for code, cond, _ in checks) + " END"
    detail = "CASE " + " ".join(f"WHEN {cond} THEN {msg}" for _, cond, msg in checks) + " END"
    raw_json = "to_json({" + ", ".join(f"{_q(col)}: {field}_raw" for field, col in cols.items()) + "})::VARCHAR"
    area = _txt("area") if has("area") else "NULL::VARCHAR"
    base_name = _q(src.name)
    duplicate_sql = _duplicates_sql(has("record_id"), shown.get("record_id", "'record_id'"))
    con.execute(f"""
        CREATE OR REPLACE TABLE {records_table(src.name)} AS
        WITH offsets AS (
            SELECT file_index, threshold, max(skipped) AS skipped FROM ({line_offsets_sql(src.name)}) GROUP BY ALL),
        located AS (
            SELECT r.*, r.ordinal + 1 + coalesce(o.skipped, 0) AS line
            FROM {raw_table(src.name)} r
            ASOF LEFT JOIN offsets o ON r.file_index = o.file_index AND r.ordinal > o.threshold),
        typed AS (
            SELECT *, {_txt('date')} AS date_txt, {_txt('offence')} AS offence_txt,
                   {_txt('latitude') if has('latitude') else 'NULL'} AS lat_txt,
                   {_txt('longitude') if has('longitude') else 'NULL'} AS lon_txt,
                   {_txt('count') if has('count') else 'NULL'} AS count_txt,
                   {date_value} AS occurred_on, {lat} AS latitude, {lon} AS longitude, {count} AS count,
                   coalesce({rid}, parse_filename(file) || ':' || line) AS record_id, {area} AS area
            FROM located),
        mapped AS (
            SELECT t.*, m.iccs_code FROM typed t
            LEFT JOIN (SELECT national_code, iccs_code FROM correspondence WHERE source = {base_name}) m
                   ON m.national_code = t.offence_txt),
        checked AS (
            SELECT *, {reason} AS reason_pre, {detail} AS detail_pre FROM mapped)
        {duplicate_sql}
        SELECT file_index, file, line, record_id, occurred_on, offence_txt AS national_code, iccs_code, area,
               latitude, longitude, count,
               coalesce(reason_pre, CASE WHEN is_duplicate THEN 'duplicate_record_id' END) AS reason,
               coalesce(detail_pre, CASE WHEN is_duplicate THEN duplicate_detail END) AS detail,
               CASE WHEN reason_pre IS NOT NULL OR is_duplicate THEN {raw_json} END AS raw
        FROM flagged""")
    return summarise(con, src.name)


def _duplicates_sql(has_ids: bool, shown_id: str) -> str:
    if not has_ids:
        return ", flagged AS (SELECT *, false AS is_duplicate, NULL AS duplicate_detail FROM checked)"
    return f"""
        , firsts AS (
            SELECT record_id, min(file_index * 1000000000000 + line) AS first_pos, count(*) AS n
            FROM checked WHERE reason_pre IS NULL GROUP BY record_id HAVING count(*) > 1),
        flagged AS (
            SELECT c.*, coalesce(c.reason_pre IS NULL AND f.first_pos <> c.file_index * 1000000000000 + c.line,
                                 false) AS is_duplicate,
                   {shown_id} || ': ''' || c.record_id || ''' already loaded from line '
                       || (f.first_pos % 1000000000000)::VARCHAR AS duplicate_detail
            FROM checked c LEFT JOIN firsts f ON f.record_id = c.record_id)"""


def summarise(con: duckdb.DuckDBPyConnection, source: str) -> ClassifySummary:
    table = records_table(source)
    total, valid, mapped = con.execute(
        f"SELECT count(*), count(*) FILTER (reason IS NULL), count(*) FILTER (iccs_code IS NOT NULL) FROM {table}"
    ).fetchone()
    reasons = dict(con.execute(
        f"SELECT reason, count(*) FROM {table} WHERE reason IS NOT NULL GROUP BY reason ORDER BY 2 DESC"
    ).fetchall())
    return ClassifySummary(records=total, valid=valid, reasons=reasons,
                           mapped_share=(mapped / total) if total else 0.0)
