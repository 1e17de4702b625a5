"""Do a source's breakdowns add up to its totals? The WARN check of disaggregated tables.

A table that publishes all victims beside men and women, or each sex beside its age groups, says the same thing
twice; where the parts do not add up to the total (victims of unknown sex left out, an age group suppressed, a
revision of one figure and not the other) the two breakdowns of one indicator disagree. The warehouse keeps both
as published and never adds them together (``warehouse.disaggregation``); this check names where they differ, so
an analyst knows which breakdown is partial before quoting it.

Compared: for each variable, the rows broken down by it against the row of its total with every other column
equal (men + women against all sexes, within the same age group, offence, area, period and file). A difference
within ``TOLERANCE_SHARE`` of the total, or half a unit per part added (published figures are rounded), is none.
"""

from __future__ import annotations

import duckdb

from iccs.disaggregations import TOTAL, VARIABLES
from warehouse.completeness import Finding
from warehouse.disaggregation import DISAGGREGATED_COUNTS

TOLERANCE_SHARE = 0.01
TOLERANCE_PER_PART = 0.5
EXAMPLES = 5
FINDINGS: dict[str, str] = {
    "breakdown_totals": "where a source publishes totals beside their breakdown (all sexes beside men and women), "
    "the parts add up to the total",
}


def _number(x: str) -> str:
    """A count as text: whole counts without '.0', estimates to one decimal."""
    return f"CASE WHEN {x} = trunc({x}) THEN {x}::BIGINT::VARCHAR ELSE round({x}, 1)::VARCHAR END"


_KEYS = ("country", "area", "iccs_code", "national_code", "year", "month", "unit", "stage", "file")


def _compare_sql(variable: str) -> str:
    others = [v for v in VARIABLES if v != variable]
    same = " AND ".join(f"t.{c} IS NOT DISTINCT FROM p.{c}" for c in (*_KEYS, *others))
    shown = (
        "t.country || coalesce(' ' || t.area, '') || ' ' || t.national_code || ' ' || t.year::VARCHAR"
        " || coalesce('-' || lpad(t.month::VARCHAR, 2, '0'), '')"
        + "".join(f" || CASE WHEN t.{o} <> '{TOTAL}' THEN ' {o} ' || t.{o} ELSE '' END" for o in others)
    )
    return f"""
        SELECT '{variable}' AS variable, t.count AS total, p.parts, p.n,
               {shown.replace("t.", "p.")} AS cell, p.values
        FROM (SELECT {", ".join((*_KEYS, *others))}, sum(count) AS parts, count(*) AS n,
                     string_agg({variable} || ' ' || {_number("count")}, ', ' ORDER BY {variable}) AS values
              FROM {DISAGGREGATED_COUNTS} WHERE source = $source AND {variable} <> '{TOTAL}' GROUP BY ALL) p
        JOIN (SELECT * FROM {DISAGGREGATED_COUNTS} WHERE source = $source AND {variable} = '{TOTAL}') t
          ON {same}"""


def findings(con: duckdb.DuckDBPyConnection, source: str) -> list[Finding]:
    """The ``breakdown_totals`` finding of one source (passed where it publishes no total beside a breakdown)."""
    compared_variables = _published_beside_parts(con, source)
    rows = _comparisons(con, source, compared_variables) if compared_variables else []
    texts = [
        f"{variable}: the parts differ from the published total in {bad} of {n} cells compared, e.g. "
        + "; ".join(examples)
        for variable, n, bad, examples in rows
        if bad
    ]
    # a cell lacks its total only where a variable's totals are published (parts alone are summed into one)
    alone, shown = _without_total(con, source) if compared_variables else (0, [])
    if alone:
        texts.append(
            f"{alone} cell(s) published only broken down, with no total row though the source publishes totals, "
            "are in no total (their parts may be incomplete: UNODC gives some countries' female victims alone), "
            "e.g. " + "; ".join(shown)
        )
    description = "; ".join(texts) or (
        "the parts add up to the published total in every cell compared"
        if rows
        else "no total published beside its breakdown"
    )
    return [
        Finding(
            name="breakdown_totals",
            passed=not texts,
            description=description,
            metadata={
                "variables": {
                    variable: {"compared": n, "differing": bad, "examples": examples or []}
                    for variable, n, bad, examples in rows
                },
                "cells_without_total": alone,
            },
        )
    ]


def _without_total(con: duckdb.DuckDBPyConnection, source: str) -> tuple[int, list[str]]:
    """Cells of ``disaggregated_counts`` with no ``offence_counts`` row: broken down, never totalled (parts are not
    summed over a variable whose totals the source publishes). With examples."""
    same = " AND ".join(f"c.{k} IS NOT DISTINCT FROM d.{k}" for k in _KEYS)
    n, examples = con.execute(
        f"""
        WITH alone AS (
            SELECT DISTINCT {", ".join(f"d.{k}" for k in _KEYS)} FROM {DISAGGREGATED_COUNTS} d
            WHERE d.source = $source
              AND NOT EXISTS (SELECT 1 FROM offence_counts c WHERE c.source = d.source AND {same}))
        SELECT count(*), list(country || coalesce(' ' || area, '') || ' ' || national_code || ' ' || year::VARCHAR
                              || coalesce('-' || lpad(month::VARCHAR, 2, '0'), '')
                              ORDER BY country, area, national_code, year, month)[:{EXAMPLES}]
        FROM alone""",
        {"source": source},
    ).fetchone()
    return n, examples or []


def _published_beside_parts(con: duckdb.DuckDBPyConnection, source: str) -> list[str]:
    """The variables the source gives both as totals and as parts (one scan): only they can disagree; a variable
    of parts alone (incident records' victim sex) or of totals alone (one the source does not give) cannot."""
    both = ", ".join(f"bool_or({v} = '{TOTAL}') AND bool_or({v} <> '{TOTAL}')" for v in VARIABLES)
    flags = con.execute(f"SELECT {both} FROM {DISAGGREGATED_COUNTS} WHERE source = ?", [source]).fetchone()
    return [v for v, flag in zip(VARIABLES, flags, strict=True) if flag]


def _comparisons(con: duckdb.DuckDBPyConnection, source: str, variables: list[str]) -> list[tuple]:
    """Per variable: cells compared, cells differing and the largest differences."""
    compared = " UNION ALL ".join(_compare_sql(v) for v in variables)
    return con.execute(
        f"""
        WITH compared AS ({compared}),
        judged AS (
            SELECT *, abs(parts - total) > greatest({TOLERANCE_SHARE} * total, {TOLERANCE_PER_PART} * n) AS differs
            FROM compared)
        SELECT variable, count(*) AS compared, count(*) FILTER (differs) AS differing,
               list(cell || ': total ' || {_number("total")} || ', parts ' || {_number("parts")}
                    || ' (' || values || ')'
                    ORDER BY abs(parts - total) DESC) FILTER (differs)[:{EXAMPLES}] AS examples
        FROM judged GROUP BY variable ORDER BY variable""",
        {"source": source},
    ).fetchall()
