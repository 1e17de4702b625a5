"""Population files read into a temporary table, each row typed and judged: the same readers as the sources."""

from __future__ import annotations

import duckdb

from iccs.disaggregations import POPULATION_VARIABLES, TOTAL
from schemas.source_config import ReadOptions
from warehouse.disaggregation import recode_sql, values_hint
from warehouse.disaggregation import shown as shown_dis
from warehouse.fields import is_marker
from warehouse.files import Readable, SourceError, blank_lines, duckdb_encoding, readable_files
from warehouse.readers import delimiter_hint, filter_sql, relation_sql
from warehouse.sql import ident, literal, to_number

POPULATION_STAGED = "population_staged"


def _lookup_table(lookup, alias: str) -> str:
    """A lookup file as (key, value) pairs, one value per key."""
    encoding = literal(duckdb_encoding(lookup.encoding))
    return f"""(SELECT trim({ident(lookup.key)}::VARCHAR) AS {alias}_key,
                       min(trim({ident(lookup.value)}::VARCHAR)) AS {alias}_value
                FROM read_csv({literal(str(lookup.file))}, header = true, all_varchar = true,
                              delim = {literal(lookup.delimiter)}, encoding = {encoding})
                WHERE nullif(trim({ident(lookup.value)}::VARCHAR), '') IS NOT NULL GROUP BY 1)"""


def _population_columns(spec, item: Readable, present: list[str]) -> dict[str, str]:
    """The file column of each population field: as configured, or (``spec.implicit``) the column named like
    the field, case-insensitively; an absent implicit area means the file has national rows only."""
    col = dict(spec.columns)
    folded = {name.strip().lower(): name for name in present}
    for field in spec.implicit:
        if field in folded:
            col[field] = folded[field]
        elif field != "area":
            constant = " or give a constant" if field in ("country", "year") else ""
            raise SourceError(
                f"{item.shown}: population: field 'columns.{field}': no column named '{field}' in "
                f"the file (columns: {', '.join(present)}){delimiter_hint(present, spec.read)}; "
                f"name its column with columns.{field}{constant}"
            )
    needed = [(f"columns.{f}", c) for f, c in col.items()] + [("filter", c) for c, _ in spec.read.filters]
    needed += [(f"disaggregations.{v}", d.column) for v, d in spec.disaggregations.items() if d.column is not None]
    needed += [("exclude", c) for c, _ in spec.read.excludes]
    missing = [(key, c) for key, c in needed if c not in present]
    if missing:
        key, column = missing[0]
        raise SourceError(
            f"{item.shown}: population: field '{key}': column '{column}' not in the file "
            f"(columns: {', '.join(present)}){delimiter_hint(present, spec.read)}"
        )
    return col


def _line_sql(item: Readable, opts: ReadOptions) -> str:
    """A population row's physical line (header = line 1) from its ordinal: blank lines skipped by the reader
    are counted back in (the k-th blank line, at line L, comes after L - k - 1 rows)."""
    if opts.format == "parquet":
        return "ordinal + 1"
    thresholds = [line - k - 1 for k, line in enumerate(blank_lines(item), start=1)]
    if not thresholds:
        return "ordinal + 1"
    return f"ordinal + 1 + len(list_filter({thresholds}::BIGINT[], lambda t: t < ordinal))"


def _population_problem(spec, col: dict[str, str], country_problem: str) -> str:
    """SQL: what is wrong with a typed population row (the field and the value), NULL for a usable row."""

    def shown(field: str) -> str:
        return literal(col.get(field, f"{field} (constant)"))

    groups = "".join(
        f"\n        WHEN {v} IS NULL THEN {shown_dis(d)} || ': ''' || {v}_txt || ''' is not a value of {v} (expected "
        f"{values_hint(d).replace(chr(39), chr(39) * 2)})'"
        for v, d in spec.disaggregations.items()
    )
    population = shown("population")
    return f"""CASE
        WHEN country IS NULL OR NOT regexp_full_match(country, '^[A-Z]{{3}}$')
            THEN {shown("country")} || ': ' || coalesce('''' || country_txt || ''' ', 'empty: ') || {country_problem}
        WHEN year IS NULL OR year NOT BETWEEN 1900 AND 2100
            THEN {shown("year")} || ': ' || coalesce('''' || year_txt || '''', 'empty') || ' is not a year'
        WHEN pop_txt IS NULL OR {is_marker("pop_txt", spec.read)}
            THEN {population} || ': ' || coalesce('''' || nullif(pop_txt, '') || '''', 'empty') || ' (missing)'
        WHEN population IS NULL THEN {population} || ': ''' || pop_txt || ''' is not a number'
        WHEN NOT isfinite(population) THEN {population} || ': ''' || pop_txt || ''' is not a finite number'
        WHEN population <= 0 THEN {population} || ': ''' || pop_txt || ''' is not a positive number'{groups}
    END"""


def _population_select(spec, item: Readable, body: str, present: list[str]) -> str:
    """Each row of one population file typed and judged: (country, area, year, population, file, line, reason,
    detail, raw). A row is rejected (``invalid_population``) when its country or year cannot be read or its
    figure is not a positive finite number (a missing marker, text, NaN, infinity, zero or negative); a row whose
    fields are all empty (a spacer row of a sheet) is not a row at all."""
    col = _population_columns(spec, item, present)
    joins = []
    if spec.country_lookup is not None:
        joins.append(
            f"LEFT JOIN {_lookup_table(spec.country_lookup, 'cl')} cl "
            f"ON cl.cl_key = trim(p.{ident(col['country'])}::VARCHAR)"
        )
        country = "upper(cl.cl_value)"
        country_problem = literal(f"is not in {spec.country_lookup.file.name} (country_lookup)")
    elif "country" in col:
        country = f"upper(trim(p.{ident(col['country'])}::VARCHAR))"
        country_problem = literal("is not an ISO 3166-1 alpha-3 code")
    else:
        country = literal(spec.country or "")
        country_problem = literal("is not an ISO 3166-1 alpha-3 code")
    country_txt = f"nullif(trim(p.{ident(col['country'])}::VARCHAR), '')" if "country" in col else country
    area = f"nullif(trim(p.{ident(col['area'])}::VARCHAR), '')" if "area" in col else "NULL::VARCHAR"
    filters = filter_sql(spec.read, "p.")
    if spec.area_lookup is not None and "area" in col:
        # A small area the lookup does not place is left out: it must not become a national (NULL area) row.
        joins.append(f"LEFT JOIN {_lookup_table(spec.area_lookup, 'al')} al ON al.al_key = {area}")
        filters += f" AND ({area} IS NULL OR al.al_value IS NOT NULL)"
        area = "al.al_value"
    year_txt = f"nullif(trim(p.{ident(col['year'])}::VARCHAR), '')" if "year" in col else f"'{int(spec.year)}'"
    pop_txt = f"nullif(trim(p.{ident(col['population'])}::VARCHAR), '')"
    groups = ""
    for v in POPULATION_VARIABLES:  # sex and age: recoded where configured, '_T' (all) where not
        d = spec.disaggregations.get(v)
        text = f"nullif(trim(p.{ident(d.column)}::VARCHAR), '')" if d is not None and d.column else "NULL"
        groups += f", {recode_sql(d, text) if d is not None else literal(TOTAL)} AS {v}, {text} AS {v}_txt"
    columns = list(dict.fromkeys([*col.values(), *(d.column for d in spec.disaggregations.values() if d.column)]))
    raw = "to_json({" + ", ".join(f"{literal(c)}: p.{ident(c)}::VARCHAR" for c in columns) + "})::VARCHAR"
    anything = "coalesce(" + ", ".join(f"nullif(trim(p.{ident(c)}::VARCHAR), '')" for c in columns) + ")"
    return f"""
        SELECT country, area, year, CASE WHEN detail IS NULL THEN population END AS population, file, line,
               CASE WHEN detail IS NOT NULL THEN 'invalid_population' END AS reason, detail, raw, sex, age
        FROM (
            SELECT *, {_population_problem(spec, col, country_problem)} AS detail
            FROM (
                SELECT {country} AS country, {country_txt} AS country_txt, {area} AS area,
                       TRY_CAST({year_txt} AS INTEGER) AS year, {year_txt} AS year_txt, {pop_txt} AS pop_txt,
                       {to_number(pop_txt, spec.read.decimal, spec.read.thousands)} * {spec.multiplier} AS population,
                       {literal(item.shown)} AS file, {_line_sql(item, spec.read)} AS line, {raw} AS raw{groups}
                FROM ({body}) p {" ".join(joins)}
                WHERE {filters} AND {anything} IS NOT NULL))"""


def stage_population(con: duckdb.DuckDBPyConnection, specs) -> str:
    """Read every population file (any format or layout the sources accept) into the temporary table
    ``population_staged(country, area, year, population, file, line, reason, detail, raw)``, rows as given (not
    yet summed): ``reason`` is NULL for a usable row, else ``invalid_population`` with the field and the value
    in ``detail`` (its ``population`` is then NULL: never a denominator). Returns the table's name.

    ``multiplier`` scales the figures (1000 for a table in thousands), ``thousands`` and ``decimal`` read
    formatted numbers ('1,563'), ``filter`` keeps e.g. the both-sexes rows, ``country_lookup`` turns names into
    ISO3 codes and ``area_lookup`` maps small areas to the reporting areas whose population they sum to.
    """
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {POPULATION_STAGED} (country VARCHAR, area VARCHAR, year INTEGER, "
        "population DOUBLE, file VARCHAR, line BIGINT, reason VARCHAR, detail VARCHAR, raw VARCHAR, sex VARCHAR, "
        "age VARCHAR)"
    )
    for spec in specs:
        paths = spec.paths()
        if not paths:
            raise SourceError(f"{spec.files}: population: field 'files' matches no file (relative to {spec.base_dir})")
        for path in paths:
            with readable_files(path, spec.read, "population") as items:
                for item in items:
                    body, present = relation_sql(con, item, spec.read, "population")
                    select = _population_select(spec, item, body, present)
                    try:
                        con.execute(f"INSERT INTO {POPULATION_STAGED} {select}")
                    except duckdb.Error as exc:
                        raise SourceError(
                            f"{item.shown}: population: cannot be read: {str(exc).splitlines()[0]}"
                        ) from None
                    _national_rows_once(con, spec, item, present)
    return POPULATION_STAGED


def _national_rows_once(con: duckdb.DuckDBPyConnection, spec, item: Readable, present: list[str]) -> None:
    """A file read without an area column holds national rows: one per country and year. Several (London's 624
    ward rows of a year, in a file whose area column is 'Ward_Name') would be summed into a national population
    that is not the country's; stop with the columns to choose from instead."""
    if "area" in _population_columns(spec, item, present) or spec.area_lookup is not None:
        return
    rows = con.execute(
        f"""SELECT country, year, count(*) AS n FROM {POPULATION_STAGED}
                           WHERE file = ? AND reason IS NULL GROUP BY country, year, sex, age
                           HAVING count(*) > 1
                           ORDER BY n DESC, country, year LIMIT 1""",
        [item.shown],
    ).fetchall()
    if rows:
        country, year, n = rows[0]
        raise SourceError(
            f"{item.shown}: population: {n} rows for {country} {year} and no area column (no "
            f"columns.area and no column named 'area'; columns: {', '.join(present)}): a file "
            "without areas has one national row per country and year; name the area column with "
            "columns.area, or keep the national rows with filter"
        )
