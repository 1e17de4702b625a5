"""Type, check and ICCS-map every staged record in one SQL pass, giving each its quarantine reason or none.

The reasons are tested in the order of ``schemas.quarantine.REASONS``; a record gets the first that applies, so
every record is counted exactly once. Duplicates are judged only among records that pass every other check: the
first valid occurrence of an id is loaded, later ones are quarantined and say where the first one is.

Mapping. A record's offence text gives one or more keys: the text itself, or for an offence read from several
columns (a national hierarchy such as bien jurídico > tipo > subtipo > modalidad) every leading part of the path,
so a correspondence row may map a whole branch. With ``offence_match: label`` keys are folded labels
(:func:`iccs.matching.label_key`). The deepest key with a correspondence row valid on the record's date wins.
The work is done once per distinct (offence, date) pair, not per record. A split row group gives the record its
dominant target (largest share) and ``group_id``; ``counts_sql`` spreads counts over every target by share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb
import pandas as pd

from iccs.matching import label_key
from schemas.source_config import JOINERS, SourceConfig
from warehouse.correspondence import CorrespondenceError
from warehouse.sql import ident, literal, to_number
from warehouse.staging import line_offsets_sql, raw_table

_ISO3 = "^[A-Z]{3}$"
# Flag of a nested total smaller than its published sub-categories (see counts_sql).
NESTED_FLAG = "subcategories_exceed_total"
# Flag of a count spread over the targets of a split correspondence by share: fractional by design, not a count
# the source published (see counts_sql).
ALLOCATED_FLAG = "allocated"
_HIERARCHY = JOINERS["offence"]


@dataclass(frozen=True)
class ClassifySummary:
    records: int
    valid: int
    reasons: dict[str, int]
    mapped_share: float


def records_table(source: str) -> str:
    return f"staging.records_{source}"


def targets_table(source: str) -> str:
    """One row per correspondence row of the source: group (national code + validity), target and share."""
    return f"staging.targets_{source}"


def keys_table(source: str) -> str:
    return f"staging.offence_keys_{source}"


def _txt(field: str) -> str:
    return f"nullif(trim({field}_raw), '')"


def _marked(text: str, src: SourceConfig) -> str:
    """TRUE where a numeric field's text is empty or one of the source's missing-value markers."""
    markers = ", ".join(literal(m) for m in src.read.missing_markers)
    return f"({text} IS NULL OR lower({text}) IN ({markers}))"


def _numeric_txt(field: str, src: SourceConfig) -> str:
    """A numeric field's text, NULL where it is a missing-value marker (e.g. R's NA for no coordinates)."""
    return f"CASE WHEN NOT {_marked(_txt(field), src)} THEN {_txt(field)} END"


def _date_sql(src: SourceConfig, text: str) -> str:
    """The date of a record: strptime, or for a quarter format (``%q``) the first day of the quarter, with
    quarter 1 starting in ``fiscal_year_start`` of the year the %Y names (2017/18 Q4 from April = 2018-01-01)."""
    if "%q" not in src.date_format:
        return f"try_strptime({text}, {literal(src.date_format)})::DATE"
    groups: list[str] = []
    pattern = ""
    for token in re.split(r"(%[Yyq%])", src.date_format):
        if token == "%Y":
            pattern += r"(\d{4})"
            groups.append("Y")
        elif token == "%y":
            pattern += r"(\d{2})"
            groups.append("y")
        elif token == "%q":
            pattern += r"Q?([1-4])"
            groups.append("q")
        elif token == "%%":
            pattern += "%"
        else:
            pattern += re.escape(token)
    pattern = "^" + pattern + "$"
    year = (f"TRY_CAST(regexp_extract({text}, {literal(pattern)}, {groups.index('Y') + 1}) AS INTEGER)" if "Y" in groups
            else f"2000 + TRY_CAST(regexp_extract({text}, {literal(pattern)}, {groups.index('y') + 1}) AS INTEGER)")
    quarter = f"TRY_CAST(regexp_extract({text}, {literal(pattern)}, {groups.index('q') + 1}) AS INTEGER)"
    months = f"({src.fiscal_year_start - 1} + ({quarter} - 1) * 3)"
    return f"make_date({year} + {months} // 12, {months} % 12 + 1, 1)"


# ---------------------------------------------------------------------------------------------------------------
# Keys: what a record's offence text and a correspondence row are compared on


def _key_of(src: SourceConfig, text: str) -> str:
    return label_key(text) if src.offence_match == "label" else text.strip()


def _offence_keys(src: SourceConfig, offences: list[str]) -> pd.DataFrame:
    """Every key of each distinct offence text with its depth (a deeper key is a more specific category)."""
    hierarchical = len(src.source_columns("offence")) > 1
    rows = []
    for text in offences:
        parts = text.split(_HIERARCHY) if hierarchical else [text]
        for depth in range(1, len(parts) + 1):
            key = _key_of(src, _HIERARCHY.join(parts[:depth]))
            if key:
                rows.append((text, key, depth))
    return pd.DataFrame(rows, columns=["offence_txt", "key", "depth"]).astype(
        {"offence_txt": "string", "key": "string", "depth": "int64"})


def prepare_targets(con: duckdb.DuckDBPyConnection, src: SourceConfig) -> int:
    """Build the source's targets table from the warehouse `correspondence` rows; returns the number of groups.

    In label mode two national codes may fold to the same key: that would make the mapping depend on row order,
    so it stops the run like any other bad correspondence table.
    """
    rows = con.execute("""
        SELECT national_code, iccs_code, coalesce(correspondence, 'full') AS kind, share, valid_from, valid_to,
               note
        FROM correspondence WHERE source = ?""", [src.name]).fetch_df()
    rows["key"] = [_key_of(src, str(code)) for code in rows["national_code"]]
    if src.offence_match == "label":
        folded = rows.drop_duplicates(["national_code", "valid_from", "valid_to"])
        clash = folded[folded.duplicated(["key", "valid_from", "valid_to"], keep=False)]
        if len(clash):
            codes = sorted(clash["national_code"].astype(str))[:2]
            raise CorrespondenceError(
                f"{src.correspondence}: national codes {codes[0]!r} and {codes[1]!r} are the same label once case, "
                "accents and punctuation are ignored (offence_match: label); keep one row")
    missing = _hierarchy_missing(con, src)
    if missing is not None:
        raise missing
    con.register("corr_rows", rows)
    try:  # typed: a column empty in every row (every row excluded: no iccs_code) comes from pandas as type NULL
        con.execute(f"""
            CREATE OR REPLACE TABLE {targets_table(src.name)} AS
            SELECT dense_rank() OVER (ORDER BY national_code, valid_from NULLS FIRST, valid_to NULLS FIRST)
                       AS group_id,
                   national_code::VARCHAR AS national_code, key::VARCHAR AS key, valid_from::DATE AS valid_from,
                   valid_to::DATE AS valid_to, kind::VARCHAR AS kind, iccs_code::VARCHAR AS iccs_code,
                   CASE WHEN kind = 'split' THEN share::DOUBLE ELSE 1.0 END AS share, note::VARCHAR AS note
            FROM corr_rows""")
    finally:
        con.unregister("corr_rows")
    return con.execute(f"SELECT count(DISTINCT group_id) FROM {targets_table(src.name)}").fetchone()[0]


def _prepare_keys(con: duckdb.DuckDBPyConnection, src: SourceConfig) -> None:
    """Keys for the distinct offence texts of the staged records (few, even for millions of records)."""
    table = keys_table(src.name)
    if src.offence_match == "code" and len(src.source_columns("offence")) <= 1:
        con.execute(f"""CREATE OR REPLACE TABLE {table} AS
                        SELECT DISTINCT {_txt('offence')} AS offence_txt, {_txt('offence')} AS key, 1 AS depth
                        FROM {raw_table(src.name)} WHERE {_txt('offence')} IS NOT NULL""")
        return
    offences = [row[0] for row in con.execute(
        f"SELECT DISTINCT {_txt('offence')} FROM {raw_table(src.name)} WHERE {_txt('offence')} IS NOT NULL"
    ).fetchall()]
    frame = _offence_keys(src, offences)
    con.register("offence_key_frame", frame)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT offence_txt::VARCHAR AS offence_txt, "
                    "key::VARCHAR AS key, depth::INTEGER AS depth FROM offence_key_frame")
    finally:
        con.unregister("offence_key_frame")


def _lookup_sql(src: SourceConfig) -> str:
    lookup = src.country_lookup
    if lookup is None:
        return ""
    area = f"any_value(trim({ident(lookup.area)}::VARCHAR))" if lookup.area else "NULL::VARCHAR"
    return f"""
        , lookup AS (
            SELECT trim({ident(lookup.key)}::VARCHAR) AS lookup_key,
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
    """Replace ``staging.records_<source>`` with typed, mapped records and their reasons."""
    prepare_targets(con, src)
    _prepare_keys(con, src)
    if src.nested_totals:
        _prepare_tree(con, src)
    has = lambda field: _has(src, field)  # noqa: E731
    fmt = literal(src.date_format)
    shown = {field: literal(src.columns.get(field, f"{field} (constant)")) for field in
             ("record_id", "date", "offence", "latitude", "longitude", "area", "count", "country", "flag")}
    lat = to_number(_numeric_txt("latitude", src), src.read.decimal, "") if has("latitude") else "NULL::DOUBLE"
    lon = to_number(_numeric_txt("longitude", src), src.read.decimal, "") if has("longitude") else "NULL::DOUBLE"
    # A count is a finite number or NULL: NaN/inf (a typed Parquet or Excel cell, or text such as 'inf') never
    # reaches a sum; ``count_nonfinite`` keeps the fact for the quarantine reason.
    number = to_number(_txt("count"), src.read.decimal, src.read.thousands)
    count = f"CASE WHEN isfinite({number}) THEN {number} END" if has("count") else "1.0"
    nonfinite = f"coalesce(NOT isfinite({number}), false)" if has("count") else "false"
    rid = _txt("record_id") if has("record_id") else "NULL"
    if src.country_lookup is not None:
        country = "lk.lookup_country"
    elif has("country"):
        country = f"upper({_txt('country')})"
    else:
        country = literal(src.country)
    area = _txt("area") if has("area") else "NULL::VARCHAR"
    if src.country_lookup is not None:
        area = f"coalesce({area}, lk.lookup_area)"
    flag = _txt("flag") if has("flag") or src.read.format == "eurostat" else "NULL::VARCHAR"
    corr_name = literal(src.correspondence.name)[1:-1]
    checks: list[tuple[str, str, str]] = [
        ("missing_field", "date_txt IS NULL", f"{shown['date']} || ': empty'"),
        ("missing_field", "offence_txt IS NULL", f"{shown['offence']} || ': empty'"),
    ]
    if has("country"):
        where = (f"not in {src.country_lookup.file.name}" if src.country_lookup is not None
                 else "not an ISO 3166-1 alpha-3 code")
        checks.append(("missing_field", f"country IS NULL OR NOT regexp_full_match(country, '{_ISO3}')",
                       f"{shown['country']} || ': ''' || coalesce(country_txt, '') || ''' {where}'"))
    checks += [
        ("invalid_date", "occurred_on IS NULL",
         f"{shown['date']} || ': ''' || date_txt || ''' does not match ' || {fmt}"),
        ("date_out_of_range", "occurred_on > current_date",
         f"{shown['date']} || ': ' || occurred_on::VARCHAR || ' is in the future'"),
        ("date_out_of_range", f"occurred_on < DATE {literal(src.date_floor)}",
         f"{shown['date']} || ': ' || occurred_on::VARCHAR || ' is before the floor ' || {literal(src.date_floor)}"),
        ("excluded_offence", "iccs_code IS NULL AND mapping = 'excluded'",
         f"{shown['offence']} || ': national code ''' || offence_txt || ''' is excluded from ICCS by {corr_name}: '"
         " || coalesce(map_note, '')"),
        ("unmapped_offence", "iccs_code IS NULL",
         f"""{shown['offence']} || ': national code ''' || offence_txt || ''' ' || CASE
                 WHEN known THEN 'has no row in {corr_name} valid on ' || occurred_on::VARCHAR
                 ELSE 'is not in {corr_name}' END"""),
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
        flagged = "coalesce(', flag ''' || flag || '''', '')"
        checks.append(("missing_count", f"{_marked('count_txt', src)} OR count_nonfinite",
                       f"""{shown['count']} || ': ' || coalesce('''' || count_txt || '''', 'empty') || CASE
                               WHEN {_marked('count_txt', src)} THEN ' (missing' ELSE ' (not a finite number' END
                           || {flagged} || ')'"""))
        checks.append(("invalid_count", "count IS NULL OR count < 0",
                       f"{shown['count']} || ': ''' || count_txt || ''' is not a non-negative number'"))
        if not src.fractional_counts:
            checks.append(("invalid_count", "count <> trunc(count)",
                           f"{shown['count']} || ': ''' || count_txt || ''' is not a whole number (a source of "
                           "estimates with decimals sets fractional_counts: true)'"))
    reason = "CASE " + " ".join(f"WHEN {cond} THEN '{code}'" for code, cond, _ in checks) + " END"
    detail = "CASE " + " ".join(f"WHEN {cond} THEN {msg}" for _, cond, msg in checks) + " END"
    raw_fields = [f for f in shown if f"{f}_raw" in _raw_columns(con, src.name)]
    pairs_json = [f"{literal(src.columns.get(f, f))}: {f}_raw" for f in raw_fields]
    if src.read.reshaped:
        pairs_json.append("'column': cell")
    raw_json = "to_json({" + ", ".join(pairs_json) + "})::VARCHAR"
    cell_id = " || coalesce(':' || trim(cell), '')"
    lookup_join = "LEFT JOIN lookup lk ON lk.lookup_key = trim(t0.country_raw)" if src.country_lookup else ""
    mapping_join, known = _mapping_sql(con, src)
    located = _located_sql(con, src.name)

    def checked(where: str = "true") -> str:
        """Every staged record (or those ``where`` selects, on raw columns) typed, mapped and judged, streaming:
        no CTE over the records is read twice, so DuckDB never materialises them."""
        return f"""
            WITH {located.format(where=where)}
            {_lookup_sql(src)},
            typed AS (
                SELECT t0.*, {_txt('date') if has('date') else 'NULL'} AS date_txt, {_txt('offence')} AS offence_txt,
                       {_numeric_txt('latitude', src) if has('latitude') else 'NULL'} AS lat_txt,
                       {_numeric_txt('longitude', src) if has('longitude') else 'NULL'} AS lon_txt,
                       {_txt('count') if has('count') else 'NULL'} AS count_txt,
                       {_txt('country') if has('country') else 'NULL'} AS country_txt,
                       {_date_sql(src, _txt('date'))} AS occurred_on, {lat} AS latitude, {lon} AS longitude,
                       {count} AS count, {nonfinite} AS count_nonfinite, {country} AS country, {flag} AS flag,
                       coalesce({rid}, parse_filename(file) || ':' || line{cell_id}) AS record_id, {area} AS area
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
                   {shown['record_id']} || ': ''' || c.record_id || ''' already loaded from line '
                       || (f.first_pos % 1000000000000)::VARCHAR AS duplicate_detail
            FROM checked c LEFT JOIN {DUP_FIRST} f ON f.record_id = c.record_id"""
    else:
        flagged = "SELECT *, false AS is_duplicate, NULL AS duplicate_detail FROM checked"
    con.execute(f"""
        CREATE OR REPLACE TABLE {records_table(src.name)} AS
        WITH checked AS ({checked()}), flagged AS ({flagged})
        SELECT file_index, file, line, record_id, occurred_on, offence_txt AS national_code, iccs_code, area,
               latitude, longitude, count, country, flag, group_id, mapping, cell,
               coalesce(reason_pre, CASE WHEN is_duplicate THEN 'duplicate_record_id' END) AS reason,
               CASE WHEN reason_pre IS NOT NULL THEN {detail} WHEN is_duplicate THEN duplicate_detail END AS detail,
               CASE WHEN reason_pre IS NOT NULL OR is_duplicate THEN {raw_json} END AS raw
        FROM flagged""")
    for table in (DUP_IDS, DUP_FIRST):
        con.execute(f"DROP TABLE IF EXISTS {table}")
    return summarise(con, src.name)


def mapping_table(source: str) -> str:
    return f"staging.mapping_{source}"


def _mapping_sql(con: duckdb.DuckDBPyConnection, src: SourceConfig) -> tuple[str, str]:
    """How records meet their correspondence group: (join, 'known' expression).

    Without dated rows the group depends on the offence text alone: a table of the few distinct texts is built
    first and records join it on one key. With dated rows the group is found once per distinct (offence, date).
    """
    targets, keys = targets_table(src.name), keys_table(src.name)
    dominant = f"""
        SELECT group_id, any_value(kind) AS mapping, arg_max(iccs_code, share * 1e6 - rank_in_group) AS iccs_code,
               any_value(note) AS map_note
        FROM (SELECT *, row_number() OVER (PARTITION BY group_id ORDER BY iccs_code) AS rank_in_group FROM {targets})
        GROUP BY group_id"""
    dated = con.execute(f"SELECT count(*) FROM {targets} WHERE valid_from IS NOT NULL OR valid_to IS NOT NULL"
                        ).fetchone()[0] > 0
    if not dated:
        con.execute(f"""
            CREATE OR REPLACE TABLE {mapping_table(src.name)} AS
            SELECT m.offence_txt, d.*
            FROM (SELECT k.offence_txt, arg_max(g.group_id, k.depth) AS group_id
                  FROM {keys} k JOIN (SELECT DISTINCT group_id, key FROM {targets}) g ON g.key = k.key
                  GROUP BY k.offence_txt) m
            JOIN ({dominant}) d ON d.group_id = m.group_id""")
        return f"LEFT JOIN {mapping_table(src.name)} mp ON mp.offence_txt = t.offence_txt", "false"
    # Dated rows: the group is found once per distinct (offence, date text) of the staged rows, into the same
    # small table, so the records pass joins it instead of deduplicating the records itself.
    con.execute(f"""
        CREATE OR REPLACE TABLE {mapping_table(src.name)} AS
        WITH pairs AS (
            SELECT *, {_date_sql(src, 'date_txt')} AS occurred_on
            FROM (SELECT DISTINCT {_txt('offence')} AS offence_txt, {_txt('date')} AS date_txt
                  FROM {raw_table(src.name)} WHERE {_txt('offence')} IS NOT NULL)),
        groups AS (SELECT DISTINCT group_id, key, valid_from, valid_to FROM {targets}),
        matched AS (
            SELECT p.offence_txt, p.date_txt, arg_max(g.group_id, k.depth) AS group_id
            FROM pairs p JOIN {keys} k ON k.offence_txt = p.offence_txt JOIN groups g ON g.key = k.key
            WHERE (g.valid_from IS NULL OR p.occurred_on >= g.valid_from)
              AND (g.valid_to IS NULL OR p.occurred_on <= g.valid_to)
            GROUP BY ALL),
        known AS (SELECT DISTINCT k.offence_txt FROM {keys} k JOIN groups g ON g.key = k.key)
        SELECT p.offence_txt, p.date_txt, d.*, kn.offence_txt IS NOT NULL AS known
        FROM pairs p
        LEFT JOIN matched m ON m.offence_txt = p.offence_txt AND m.date_txt IS NOT DISTINCT FROM p.date_txt
        LEFT JOIN ({dominant}) d ON d.group_id = m.group_id
        LEFT JOIN known kn ON kn.offence_txt = p.offence_txt""")
    return (f"LEFT JOIN {mapping_table(src.name)} mp "
            "ON mp.offence_txt = t.offence_txt AND mp.date_txt IS NOT DISTINCT FROM t.date_txt",
            "coalesce(mp.known, false)")


def _raw_columns(con: duckdb.DuckDBPyConnection, source: str) -> set[str]:
    schema, table = raw_table(source).split(".")
    return {row[0] for row in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
        [schema, table]).fetchall()}


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


def tree_table(source: str) -> str:
    """The national hierarchy of a nested_totals source: (child, ancestor, distance) over its offence texts."""
    return f"staging.national_tree_{source}"


def _hierarchy_missing(con: duckdb.DuckDBPyConnection, src: SourceConfig) -> CorrespondenceError | None:
    """nested_totals without a national hierarchy would net nothing or the wrong thing: a configuration error."""
    if not src.nested_totals or len(src.source_columns("offence")) > 1:
        return None
    parents = con.execute("SELECT count(parent) FROM correspondence WHERE source = ?", [src.name]).fetchall()[0][0]
    if parents:
        return None
    return CorrespondenceError(
        f"{src.correspondence}: field 'parent': source '{src.name}' has nested_totals: true but no national "
        "hierarchy: give each sub-category the national_code of the category that contains it in a 'parent' "
        "column (or read the offence from several columns); nothing is netted without it")


def _prepare_tree(con: duckdb.DuckDBPyConnection, src: SourceConfig) -> None:
    """Every national ancestor of each offence text, from the correspondence ``parent`` column and, for an offence
    read from several columns, from the path itself (bien jurídico > tipo > ...), with its distance."""
    rows = con.execute("SELECT DISTINCT national_code, parent FROM correspondence WHERE source = ? "
                       "AND parent IS NOT NULL", [src.name]).fetchall()
    parents = pd.DataFrame([(_key_of(src, str(code)), _key_of(src, str(parent))) for code, parent in rows],
                           columns=["key", "parent_key"]).astype("string")
    con.register("parent_edges", parents)
    try:
        con.execute(f"""
            CREATE OR REPLACE TABLE {tree_table(src.name)} AS
            WITH RECURSIVE edges AS (
                SELECT key::VARCHAR AS key, parent_key::VARCHAR AS parent_key FROM parent_edges
                UNION
                SELECT c.key, p.key FROM {keys_table(src.name)} c
                JOIN {keys_table(src.name)} p ON p.offence_txt = c.offence_txt AND p.depth = c.depth - 1),
            up(key, ancestor, distance) AS (
                SELECT key, parent_key, 1 FROM edges WHERE key <> parent_key
                UNION
                SELECT u.key, e.parent_key, u.distance + 1 FROM up u JOIN edges e ON e.key = u.ancestor
                WHERE u.distance < 64),
            full_key AS (SELECT offence_txt, arg_max(key, depth) AS key FROM {keys_table(src.name)} GROUP BY 1)
            SELECT c.offence_txt AS child, a.offence_txt AS ancestor, min(u.distance) AS distance
            FROM full_key c JOIN up u ON u.key = c.key JOIN full_key a ON a.key = u.ancestor
            WHERE a.offence_txt <> c.offence_txt
            GROUP BY ALL""")
    finally:
        con.unregister("parent_edges")


def _grouped_sql(src: SourceConfig, batch: str, where: str) -> str:
    month = "month(b.occurred_on)" if src.period in ("day", "month") else "NULL::INTEGER"
    area = f"CASE WHEN b.area = {literal(src.total_area)} THEN NULL ELSE b.area END" if src.total_area else "b.area"
    return f"""
        SELECT b.country, {area} AS area, coalesce(t.iccs_code, b.iccs_code) AS iccs_code, b.national_code,
               year(b.occurred_on) AS year, {month} AS month, sum(b.count * coalesce(t.share, 1.0)) AS count,
               nullif(concat_ws(',', string_agg(DISTINCT b.flag, ',' ORDER BY b.flag),
                                CASE WHEN bool_or(t.share < 1) THEN '{ALLOCATED_FLAG}' END), '') AS flag, b.file
        FROM {batch} b
        LEFT JOIN {targets_table(src.name)} t ON t.group_id = b.group_id AND t.kind = 'split'
        WHERE {where}
        GROUP BY b.country, {area}, coalesce(t.iccs_code, b.iccs_code), b.national_code, year(b.occurred_on),
                 {month}, b.file"""


def nested_cells_sql(src: SourceConfig, batch: str, where: str) -> str:
    """The grouped counts of a nested_totals source, each with its national cell's ``published`` total (all
    ICCS targets of its national code in the same country, area, period and file), ``parts``: the published
    totals of its nearest published national descendants there (``tree_table``), and ``children`` naming them."""
    same = ("p.country = c.country AND p.area IS NOT DISTINCT FROM c.area AND p.year = c.year "
            "AND p.month IS NOT DISTINCT FROM c.month AND p.file = c.file")
    return f"""
        WITH cells AS (
            SELECT *, sum(count) OVER (PARTITION BY country, area, national_code, year, month, file) AS published
            FROM ({_grouped_sql(src, batch, where)})),
        nat AS (SELECT DISTINCT country, area, national_code, year, month, file, published FROM cells),
        linked AS (
            SELECT c.country, c.area, c.year, c.month, c.file, c.national_code AS child, c.published AS child_published,
                   p.national_code AS parent
            FROM nat c JOIN {tree_table(src.name)} t ON t.child = c.national_code
            JOIN nat p ON p.national_code = t.ancestor AND {same}
            QUALIFY row_number() OVER (PARTITION BY c.country, c.area, c.year, c.month, c.file, c.national_code
                                       ORDER BY t.distance, p.national_code) = 1),
        taken AS (
            SELECT country, area, year, month, file, parent, sum(child_published) AS parts,
                   string_agg(child || ': ' || child_published::VARCHAR, '; ' ORDER BY child) AS children
            FROM linked GROUP BY ALL)
        SELECT c.*, coalesce(t.parts, 0) AS parts, t.children
        FROM cells c LEFT JOIN taken t
          ON t.parent = c.national_code AND t.country = c.country AND t.area IS NOT DISTINCT FROM c.area
         AND t.year = c.year AND t.month IS NOT DISTINCT FROM c.month AND t.file = c.file"""


def counts_sql(src: SourceConfig, batch: str, where: str = "reason IS NULL") -> str:
    """The offence_counts rows of the records in ``batch`` (a table shaped like the records table):
    (country, area, iccs_code, national_code, year, month, count, flag, file).

    A record of a split national code counts in every target of its split, multiplied by the target's share;
    other records count once in their ICCS code. Flags of the records summed into a row are kept, joined; a row
    made by a split share below 1 is also flagged ``ALLOCATED_FLAG`` (its count may be fractional by design). Rows
    of the declared ``total_area`` are the national figure: stored with area NULL.
    With ``nested_totals`` (a table that publishes a category beside some of its sub-categories, as Eurostat
    does with 0301 and 03011), a national category is stored net of its nearest published national descendants
    in the same country, area, period and file, following the source's own hierarchy (``tree_table``), never
    the ICCS tree: a national total whose parts ICCS places on other branches (all theft including residential
    burglary) keeps only its own remainder, and the parts count in their own ICCS codes. A split category is
    netted in proportion to its targets. Where the published sub-categories exceed the published total
    (definitions differ between them), the category's remainder is 0 and its flag says so (``NESTED_FLAG``;
    the evidence goes to ``nested_shortfalls``): the roll-up then shows the parts' sum.
    """
    if not src.nested_totals:
        return _grouped_sql(src, batch, where)
    return f"""
        SELECT country, area, iccs_code, national_code, year, month,
               CASE WHEN parts > published * (1 + 1e-9) + 1e-9 THEN 0.0
                    WHEN count = published THEN greatest(published - parts, 0.0)
                    ELSE greatest(count - parts * count / published, 0.0) END AS count,
               CASE WHEN parts > published * (1 + 1e-9) + 1e-9 THEN concat_ws(',', flag, '{NESTED_FLAG}')
                    ELSE flag END AS flag,
               file
        FROM ({nested_cells_sql(src, batch, where)})"""


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
