"""Type, check and ICCS-map every staged record in one SQL pass, giving each its quarantine reason or none.

The reasons are tested in the order of ``schemas.quarantine.REASONS``; a record gets the first that applies, so
every record is counted exactly once. Duplicates are judged only among records that pass every other check: the
first valid occurrence of an id is loaded, later ones are quarantined and say where the first one is. How a
record meets its correspondence group is ``warehouse.mapping``; its counts are ``warehouse.counts``.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from schemas.source_config import STANDARD_FIELDS, SourceConfig
from warehouse.disaggregation import raw_column, recode_sql, values_hint
from warehouse.disaggregation import shown as shown_dis
from warehouse.fields import date_sql, marked, numeric_txt, txt
from warehouse.mapping import mapping_sql, prepare_keys, prepare_targets, prepare_tree
from warehouse.sql import ident, literal, scratch, to_number
from warehouse.staging import files_table, line_offsets_sql, raw_table

_ISO3 = "^[A-Z]{3}$"


@dataclass(frozen=True)
class ClassifySummary:
    records: int
    valid: int
    reasons: dict[str, int]
    mapped_share: float


# The rules of the MappedRecordRow contract that the classification pass guarantees for every accepted record
# (``reason`` NULL) by the SELECT that writes the records table, so its check does not scan them (the column
# types are still checked, from the table's description). The id's uniqueness is still scanned (hashes first):
# the pass quarantines every accepted occurrence of a read id but the first, but an id made of the file's name and
# the line (a record without one) could equal a read id, or another file's (two members of an archive, or files
# in two folders, may share a name).
_FROM_RAW = "copied from the staged row, whose RawRecordRow rule it is (a constant of the reading SELECT)"
_REASON = "a record failing it gets the reason {reason} (classify_source), so no accepted record does"
_CORRESPONDENCE = (
    "a target of the source's correspondence table, checked against ICCS by its contract when it was loaded for "
    "this file"
)
MAPPED_PROVED = {
    "not_null(file_index)": _FROM_RAW,
    "greater_than_or_equal_to(file_index)": _FROM_RAW,
    **dict.fromkeys(
        ("not_null(line)", "greater_than_or_equal_to(line)"),
        "the staged row's ordinal (at least 1) + 1 for the header + the rejected and blank lines before it",
    ),
    "not_null(record_id)": "the source's id, or the file's name and the line where it has none (never NULL)",
    "not_null(occurred_on)": _REASON.format(reason="missing_field or invalid_date"),
    **dict.fromkeys(
        ("not_null(national_code)", "str_length(national_code)"),
        _REASON.format(reason="missing_field (the code is trimmed and an empty one is NULL)"),
    ),
    "not_null(iccs_code)": _REASON.format(reason="excluded_offence or unmapped_offence"),
    **dict.fromkeys(("str_matches(iccs_code)", "iccs_code_exists(iccs_code)"), _CORRESPONDENCE),
    **dict.fromkeys(
        ("in_range(latitude)", "finite(latitude)", "in_range(longitude)", "finite(longitude)"),
        _REASON.format(reason="invalid_coordinates (NaN and infinities compare above 90 and 180)"),
    ),
    **dict.fromkeys(
        ("not_null(count)", "greater_than_or_equal_to(count)", "finite(count)"),
        _REASON.format(reason="missing_count or invalid_count (a count that is not finite is NULL)"),
    ),
    "isin(reason)": "the contract is checked over the accepted records only, whose reason is NULL",
}


def records_table(source: str) -> str:
    return scratch(f"records_{source}")


def _lookup_key(text: str, numeric: bool) -> str:
    """The key a lookup compares: the trimmed text, or for numeric codes (M49) the number written without leading
    zeros ('004', '04' and '4' are one code; anything but digits matches nothing)."""
    key = f"trim({text}::VARCHAR)"
    if not numeric:
        return key
    return f"CASE WHEN regexp_full_match({key}, '[0-9]{{1,9}}') THEN {key}::BIGINT::VARCHAR END"


def _lookup_sql(src: SourceConfig) -> str:
    lookup = src.country_lookup
    if lookup is None:
        return ""
    area = f"any_value(trim({ident(lookup.area)}::VARCHAR))" if lookup.area else "NULL::VARCHAR"
    return f"""
        , lookup AS (
            SELECT {_lookup_key(ident(lookup.key), lookup.numeric)} AS lookup_key,
                   min(upper(trim({ident(lookup.value)}::VARCHAR))) AS lookup_country, {area} AS lookup_area
            FROM read_csv({literal(str(lookup.file))}, header = true, all_varchar = true,
                          delim = {literal(lookup.delimiter)}, encoding = {literal(lookup.encoding)})
            WHERE nullif(trim({ident(lookup.value)}::VARCHAR), '') IS NOT NULL
            GROUP BY 1)"""


def _has(src: SourceConfig, field: str) -> bool:
    return field in src.columns or field in src.constants


# ---------------------------------------------------------------------------------------------------------------
# The classification pass


def classify_source(con: duckdb.DuckDBPyConnection, src: SourceConfig) -> ClassifySummary:
    """Replace ``records_table(source)`` with typed, mapped records and their reasons; a record whose national
    code has no ICCS code also gets its ``exclusion`` (``schemas.quarantine.EXCLUSIONS``) and, when the table
    excludes it, the table's note (``exclusion_note``).

    The records are written once, as a scratch table, and the load reads it several times (facts, counts,
    quarantine, tallies). Not writing it (a view the load's writes evaluate) measured slower: the classification
    costs about as much as writing its result (bench/designs.py, bench/README.md)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE {records_table(src.name)} AS {classified_sql(con, src)}")
    for table in (DUP_IDS, DUP_FIRST):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return summarise(con, src.name)


def classified_sql(con: duckdb.DuckDBPyConnection, src: SourceConfig) -> str:
    """The SELECT of every staged record typed, mapped and judged, after preparing the small tables it joins
    (correspondence targets and keys, the ids accepted more than once); the SELECT reads them, so they stay until
    the caller has written it (``classify_source`` then drops the duplicate-id tables)."""
    prepare_targets(con, src)
    prepare_keys(con, src)
    if src.nested_totals:
        prepare_tree(con, src)
    has = lambda field: _has(src, field)  # noqa: E731
    fmt = literal(src.date_format)
    shown = {field: literal(src.columns.get(field, f"{field} (constant)")) for field in STANDARD_FIELDS}
    lat = to_number(numeric_txt("latitude", src), src.read.decimal, "") if has("latitude") else "NULL::DOUBLE"
    lon = to_number(numeric_txt("longitude", src), src.read.decimal, "") if has("longitude") else "NULL::DOUBLE"
    # A count is a finite number or NULL: NaN/inf (a typed Parquet or Excel cell, or text such as 'inf') never
    # reaches a sum; ``count_nonfinite`` keeps the fact for the quarantine reason.
    number = to_number(txt("count"), src.read.decimal, src.read.thousands)
    count = f"CASE WHEN isfinite({number}) THEN {number} END" if has("count") else "1.0"
    nonfinite = f"coalesce(NOT isfinite({number}), false)" if has("count") else "false"
    rid = txt("record_id") if has("record_id") else "NULL"
    if src.country_lookup is not None:
        country = "lk.lookup_country"
    elif has("country"):
        country = f"upper({txt('country')})"
    else:
        country = literal(src.country)
    area = txt("area") if has("area") else "NULL::VARCHAR"
    if src.country_lookup is not None:
        area = f"coalesce({area}, lk.lookup_area)"
    flag = txt("flag") if has("flag") or src.read.format == "eurostat" else "NULL::VARCHAR"
    corr_name = literal(src.correspondence.name)[1:-1]
    checks: list[tuple[str, str, str]] = [
        ("missing_field", "date_txt IS NULL", f"{shown['date']} || ': empty'"),
        ("missing_field", "offence_txt IS NULL", f"{shown['offence']} || ': empty'"),
    ]
    if has("country"):
        if src.country_lookup is not None and src.country_lookup.numeric:
            where = f"is not a country or territory of UN M49 ({src.country_lookup.file.name}; a region or group?)"
        elif src.country_lookup is not None:
            where = f"not in {src.country_lookup.file.name}"
        else:
            where = "not an ISO 3166-1 alpha-3 code"
        checks.append(
            (
                "missing_field",
                f"country IS NULL OR NOT regexp_full_match(country, '{_ISO3}')",
                f"{shown['country']} || ': ''' || coalesce(country_txt, '') || ''' {where}'",
            )
        )
    checks += [
        (
            "invalid_date",
            "occurred_on IS NULL",
            f"{shown['date']} || ': ''' || date_txt || ''' does not match ' || {fmt}",
        ),
        (
            "date_out_of_range",
            "occurred_on > current_date",
            f"{shown['date']} || ': ' || occurred_on::VARCHAR || ' is in the future'",
        ),
        (
            "date_out_of_range",
            f"occurred_on < DATE {literal(src.date_floor)}",
            f"{shown['date']} || ': ' || occurred_on::VARCHAR || ' is before the floor ' || {literal(src.date_floor)}",
        ),
        (
            "excluded_offence",
            "iccs_code IS NULL AND mapping = 'excluded'",
            f"{shown['offence']} || ': national code ''' || offence_txt || ''' is excluded from ICCS by {corr_name}: '"
            " || coalesce(map_note, '')",
        ),
        (
            "unmapped_offence",
            "iccs_code IS NULL",
            f"""{shown["offence"]} || ': national code ''' || offence_txt || ''' ' || CASE
                 WHEN known THEN 'has no row in {corr_name} valid on ' || occurred_on::VARCHAR
                 ELSE 'is not in {corr_name}' END""",
        ),
    ]
    if has("latitude"):
        shown_ll = f"{shown['latitude']} || '/' || {shown['longitude']}"
        checks.append(
            (
                "invalid_coordinates",
                "(lat_txt IS NOT NULL OR lon_txt IS NOT NULL) AND (latitude IS NULL OR longitude IS NULL "
                "OR abs(latitude) > 90 OR abs(longitude) > 180)",
                f"{shown_ll} || ': ''' || coalesce(lat_txt, '') || ''', ''' || coalesce(lon_txt, '') "
                "|| ''' are not valid coordinates'",
            )
        )
        if src.bbox:
            x0, y0, x1, y1 = src.bbox
            checks.append(
                (
                    "coordinates_outside_country",
                    f"latitude IS NOT NULL "
                    f"AND NOT (longitude BETWEEN {x0} AND {x1} AND latitude BETWEEN {y0} AND {y1})",
                    f"{shown_ll} || ': (' || latitude || ', ' || longitude || ') is outside {src.country} "
                    f"bbox [{x0}, {y0}, {x1}, {y1}]'",
                )
            )
    if has("count"):
        flagged = "coalesce(', flag ''' || flag || '''', '')"
        checks.append(
            (
                "missing_count",
                f"{marked('count_txt', src)} OR count_nonfinite",
                f"""{shown["count"]} || ': ' || coalesce('''' || count_txt || '''', 'empty') || CASE
                               WHEN {marked("count_txt", src)} THEN ' (missing' ELSE ' (not a finite number' END
                           || {flagged} || ')'""",
            )
        )
        checks.append(
            (
                "invalid_count",
                "count IS NULL OR count < 0",
                f"{shown['count']} || ': ''' || count_txt || ''' is not a non-negative number'",
            )
        )
        if not src.fractional_counts:
            checks.append(
                (
                    "invalid_count",
                    "count <> trunc(count)",
                    f"{shown['count']} || ': ''' || count_txt || ''' is not a whole number (a source of "
                    "estimates with decimals sets fractional_counts: true)'",
                )
            )
    dis_txt = {v: f"nullif(trim({raw_column(v)}), '')" for v, d in src.disaggregations.items() if d.column}
    for v, d in src.disaggregations.items():
        if d.column:
            expected = values_hint(d).replace("'", "''")
            checks.append(
                (
                    "invalid_disaggregation",
                    f"{v} IS NULL",
                    f"{shown_dis(d)} || ': ''' || {dis_txt[v]} || ''' is not a value of {v} (expected {expected})'",
                )
            )
    dis_typed = "".join(f", {recode_sql(d, dis_txt.get(v, 'NULL'))} AS {v}" for v, d in src.disaggregations.items())
    dis_out = "".join(f", {v}" for v in src.disaggregations)
    reason = "CASE " + " ".join(f"WHEN {cond} THEN '{code}'" for code, cond, _ in checks) + " END"
    detail = "CASE " + " ".join(f"WHEN {cond} THEN {msg}" for _, cond, msg in checks) + " END"
    raw_fields = [f for f in shown if f"{f}_raw" in _raw_columns(con, src.name)]
    pairs_json = [f"{literal(src.columns.get(f, f))}: {f}_raw" for f in raw_fields]
    keys = {src.columns.get(f, f) for f in raw_fields}  # a column read by a field and a variable is shown once
    pairs_json += [
        f"{literal(d.column)}: {raw_column(v)}"
        for v, d in src.disaggregations.items()
        if d.column and d.column not in keys
    ]
    if src.read.reshaped:
        pairs_json.append("'column': cell")
    raw_json = "to_json({" + ", ".join(pairs_json) + "})::VARCHAR"
    cell_id = " || coalesce(':' || trim(cell), '')"
    lookup_join = (
        f"LEFT JOIN lookup lk ON lk.lookup_key = {_lookup_key('t0.country_raw', src.country_lookup.numeric)}"
        if src.country_lookup
        else ""
    )
    # A record without an id is named by its file's name and line: the names are one list, computed once.
    names = f"(SELECT list(parse_filename(file) ORDER BY file_index) FROM {files_table(src.name)})"
    record_id = f"coalesce({rid}, {names}[t0.file_index + 1] || ':' || line{cell_id})"
    mapping_join, known = mapping_sql(con, src)
    located = _located_sql(con, src.name)

    def checked(where: str = "true") -> str:
        """Every staged record (or those ``where`` selects, on raw columns) typed, mapped and judged, streaming:
        no CTE over the records is read twice, so DuckDB never materialises them."""
        return f"""
            WITH {located.format(where=where)}
            {_lookup_sql(src)},
            typed AS (
                SELECT t0.*, {txt("date") if has("date") else "NULL"} AS date_txt, {txt("offence")} AS offence_txt,
                       {txt("offence_label") if has("offence_label") else "NULL"} AS label_txt,
                       {numeric_txt("latitude", src) if has("latitude") else "NULL"} AS lat_txt,
                       {numeric_txt("longitude", src) if has("longitude") else "NULL"} AS lon_txt,
                       {txt("count") if has("count") else "NULL"} AS count_txt,
                       {txt("country") if has("country") else "NULL"} AS country_txt,
                       {date_sql(src, txt("date"))} AS occurred_on, {lat} AS latitude, {lon} AS longitude,
                       {count} AS count, {nonfinite} AS count_nonfinite, {country} AS country, {flag} AS flag,
                       {record_id} AS record_id, {area} AS area{dis_typed}
                FROM located t0 {lookup_join}),
            mapped AS (
                SELECT t.*, mp.group_id, mp.mapping, mp.iccs_code, mp.map_note, {known} AS known
                FROM typed t {mapping_join})
            SELECT *, {reason} AS reason_pre FROM mapped"""

    if has("record_id"):
        # Duplicates are judged among valid records only, but ids seen twice are few: find their hashes on the
        # raw ids (an 8-byte aggregate, cheaper than one on the strings), judge just those records, and keep each
        # id's first valid position for the one streaming pass below; a hash collision drops out there, where
        # the ids themselves are grouped.
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {DUP_IDS} AS
            SELECT hash({rid}) AS h FROM {raw_table(src.name)} WHERE {rid} IS NOT NULL
            GROUP BY 1 HAVING count(*) > 1""")
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {DUP_FIRST} AS
            SELECT record_id, min(file_index * 1000000000000 + line) AS first_pos
            FROM ({checked(f"hash({rid}) IN (SELECT h FROM {DUP_IDS})")})
            WHERE reason_pre IS NULL GROUP BY record_id HAVING count(*) > 1""")
        flagged = f"""
            SELECT c.*, coalesce(c.reason_pre IS NULL AND f.first_pos <> c.file_index * 1000000000000 + c.line,
                                 false) AS is_duplicate,
                   {shown["record_id"]} || ': ''' || c.record_id || ''' already loaded from line '
                       || (f.first_pos % 1000000000000)::VARCHAR AS duplicate_detail
            FROM checked c LEFT JOIN {DUP_FIRST} f ON f.record_id = c.record_id"""
    else:
        flagged = "SELECT *, false AS is_duplicate, NULL AS duplicate_detail FROM checked"
    return f"""
        WITH checked AS ({checked()}), flagged AS ({flagged})
        SELECT file_index, line, record_id, occurred_on, offence_txt AS national_code, label_txt AS national_label,
               iccs_code, area,
               latitude, longitude, count, country, flag, group_id, mapping, cell{dis_out},
               coalesce(reason_pre, CASE WHEN is_duplicate THEN 'duplicate_record_id' END) AS reason,
               CASE WHEN reason_pre IS NOT NULL THEN {detail} WHEN is_duplicate THEN duplicate_detail END AS detail,
               CASE WHEN reason_pre IS NOT NULL OR is_duplicate THEN {raw_json} END AS raw,
               CASE reason_pre WHEN 'excluded_offence' THEN 'excluded'
                               WHEN 'unmapped_offence' THEN CASE WHEN known THEN 'no_row_on_date' ELSE 'unmapped' END
               END AS exclusion,
               CASE WHEN reason_pre = 'excluded_offence' THEN nullif(map_note, '') END AS exclusion_note
        FROM flagged"""


def _raw_columns(con: duckdb.DuckDBPyConnection, source: str) -> set[str]:
    return {column[0] for column in con.execute(f"SELECT * FROM {raw_table(source)} LIMIT 0").description}


# Small working tables of one classification (temporary: they live only on this connection).
DUP_IDS = "classify_dup_ids"
DUP_FIRST = "classify_dup_first"
# Up to this many rejected or blank lines in a source's files, a row's line is a sum of comparisons with them;
# beyond, an ASOF join (which sorts every staged row) is used.
MAX_LINE_TERMS = 64


def _located_sql(con: duckdb.DuckDBPyConnection, source: str) -> str:
    """The CTE ``located``: staged rows (``{where}`` selects them) with their physical line.

    A row's line is its ordinal + 1 + the number of non-row lines (rejected, blank) before it, i.e. of those whose
    threshold is below its ordinal (see ``line_offsets_sql``). Files usually have none or a handful: then that
    number is a sum of comparisons with constants, computed as the rows stream by.
    """
    raw = raw_table(source)
    offsets = con.execute(f"SELECT file_index, threshold FROM ({line_offsets_sql(source)}) ORDER BY ALL").fetchall()
    if len(offsets) <= MAX_LINE_TERMS:
        terms = "".join(f" + (r.file_index = {f} AND r.row_ordinal > {t})::BIGINT" for f, t in offsets)
        return f"located AS (SELECT r.*, r.row_ordinal + 1{terms} AS line FROM {raw} r WHERE {{where}})"
    return f"""offsets AS (
            SELECT file_index, threshold, max(skipped) AS skipped FROM ({line_offsets_sql(source)}) GROUP BY ALL),
        located AS (
            SELECT r.*, r.row_ordinal + 1 + coalesce(o.skipped, 0) AS line
            FROM {raw} r ASOF LEFT JOIN offsets o ON r.file_index = o.file_index AND r.row_ordinal > o.threshold
            WHERE {{where}})"""


def summarise(con: duckdb.DuckDBPyConnection, source: str) -> ClassifySummary:
    table = records_table(source)
    total, valid, mapped = con.execute(
        f"SELECT count(*), count(*) FILTER (reason IS NULL), count(*) FILTER (iccs_code IS NOT NULL) FROM {table}"
    ).fetchone()
    reasons = dict(
        con.execute(
            f"SELECT reason, count(*) FROM {table} WHERE reason IS NOT NULL GROUP BY reason ORDER BY 2 DESC"
        ).fetchall()
    )
    return ClassifySummary(records=total, valid=valid, reasons=reasons, mapped_share=(mapped / total) if total else 0.0)
