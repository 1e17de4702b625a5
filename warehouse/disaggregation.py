"""Disaggregated counts: the SQL that recodes a variable's values and that sums cells without ever adding a total
to its own parts.

A cell's *pattern* is the set of variables it is broken down by (those not ``_T``), as a bit mask in
``VARIABLES`` order. A table may publish one cell at several patterns: all sexes and ages (pattern 0), each sex
over all ages, each sex and age group. The figure of a breakdown ``target`` (a set of variables, empty for the
total) is taken, for each cell key, from the rows of the *smallest* pattern that contains the target, summed over
the variables the target leaves out: the published total where there is one, else the sum of the coarsest
published parts, but never a sum over a variable whose totals the source publishes (``marginal_sql``). Rows of two
patterns are never added together, so no figure counts anything twice; incident records, broken down by every
variable their source gives, are simply summed.
"""

from __future__ import annotations

from iccs.disaggregations import AGE_GROUP, NOT_KNOWN, TOTAL, VARIABLES, kind, listed
from schemas.disaggregation_config import Disaggregation
from warehouse.sql import literal, one_of

DISAGGREGATED_COUNTS = "disaggregated_counts"

TABLES = f"""
CREATE TABLE IF NOT EXISTS {DISAGGREGATED_COUNTS} (
    source VARCHAR NOT NULL, country VARCHAR NOT NULL, area VARCHAR, iccs_code VARCHAR NOT NULL,
    national_code VARCHAR, year INTEGER NOT NULL, month INTEGER, unit VARCHAR NOT NULL, stage VARCHAR NOT NULL,
    {", ".join(f"{v} VARCHAR NOT NULL" for v in VARIABLES)}, count DOUBLE NOT NULL, file VARCHAR, flag VARCHAR);
CREATE TABLE IF NOT EXISTS iccs_disaggregations (
    variable VARCHAR, code VARCHAR, iccs_group VARCHAR, iccs_variable VARCHAR, iccs_variable_name VARCHAR,
    iccs_value VARCHAR, label VARCHAR NOT NULL, note VARCHAR, carried BOOLEAN NOT NULL);
"""
COMMENTS = {
    DISAGGREGATED_COUNTS: "offence_counts by victim and perpetrator sex and age, weapon and situational context, for "
    "the sources that configure disaggregations: every cell as published (a row of all sexes beside the rows of "
    "each sex: '_T' is the total over a variable) or as incident records give it. Never sum across rows with "
    "different '_T' columns: v_counts_by_sex_age and v_sdg16_by_sex_age choose the rows for each breakdown",
    "iccs_disaggregations": "ICCS disaggregating variables and values (Table A/II, homicide Tables III-V) with the "
    "column (variable) and code a fact stores them under where the warehouse carries the variable",
}


def recode_sql(d: Disaggregation, text: str) -> str:
    """The code of a value (``text``: trimmed, NULL when empty): as ``values`` recodes it, else the value itself
    where it is a code of the variable (any case), ``_U`` where empty, NULL where it is neither (quarantined)."""
    if d.constant is not None:
        return literal(d.constant)
    own = one_of(f"upper({text})", listed(d.variable))
    if kind(d.variable) == "age":
        own = f"({own} OR regexp_full_match(upper({text}), {literal(AGE_GROUP)}))"
    recoded = ""
    if d.age_groups:  # whole years, put in their group (the largest lower bound not above the age)
        groups = " ".join(
            f"WHEN TRY_CAST({text} AS INTEGER) >= {low} THEN {literal(code)}" for low, code in reversed(d.group_codes())
        )
        years = f"WHEN regexp_full_match({text}, '[0-9]{{1,3}}') THEN CASE {groups} END"
    else:
        years = ""
    if d.values:
        cases = " ".join(f"WHEN {literal(value)} THEN {literal(code)}" for value, code in d.values)
        recoded = f"WHEN {one_of(f'lower({text})', [v for v, _ in d.values])} THEN CASE lower({text}) {cases} END"
    return f"CASE WHEN {text} IS NULL THEN {literal(NOT_KNOWN)} {recoded} {years} WHEN {own} THEN upper({text}) END"


def values_hint(d: Disaggregation) -> str:
    """The values a column may hold, for a quarantine detail."""
    options = [*d.given[:8], *(["..."] if len(d.given) > 8 else [])]
    options += ["an age in years"] if d.age_groups else []
    return (", ".join(options) + " or " if options else "") + f"a code of {d.variable}"


def pattern_sql(variables: tuple[str, ...] = VARIABLES, prefix: str = "") -> str:
    """The row's pattern: bit i set where ``variables[i]`` is broken down (not ``_T``)."""
    return "(" + " + ".join(f"({prefix}{v} <> '{TOTAL}')::INTEGER * {1 << i}" for i, v in enumerate(variables)) + ")"


def mask(target: tuple[str, ...], variables: tuple[str, ...] = VARIABLES) -> int:
    return sum(1 << variables.index(v) for v in target)


def marginal_sql(
    relation: str,
    keys: list[str],
    target: tuple[str, ...],
    aggregates: str = "sum(count) AS count",
    variables: tuple[str, ...] = VARIABLES,
    scope: tuple[str, ...] = (),
) -> str:
    """Per ``keys`` and value of the ``target`` variables, the figure of that breakdown from ``relation`` (which has
    the columns of ``variables``): the rows of the smallest pattern containing the target, summed by
    ``aggregates`` over the other variables, which come out as ``_T``. Keys with no such pattern give no row.

    A variable whose total is published anywhere in the ``scope`` (the rows sharing its columns: a source, a
    country) is never summed: its figure over all values is the published total or none. Parts published beside
    totals are often incomplete (UNODC gives some countries' female victims and no total), so their sum is not
    a total; a table that never publishes the total (SESNSP: each sex and age group) is summed."""
    bits = mask(target, variables)
    key = ", ".join(keys)
    chosen = ", ".join(v if v in target else f"'{TOTAL}' AS {v}" for v in variables)
    grouped = ", ".join([*keys, *target])
    window = f"OVER (PARTITION BY {', '.join(scope)})" if scope else "OVER ()"
    published = ", ".join(f"bool_or({v} = '{TOTAL}') {window} AS {v}_published" for v in variables)
    summable = " AND ".join(f"({v} = '{TOTAL}' OR NOT {v}_published)" for v in variables if v not in target)
    return f"""
        SELECT {key}, {chosen}, {aggregates}
        FROM (
            SELECT * FROM (SELECT *, {pattern_sql(variables)} AS pattern, {published} FROM {relation})
            WHERE pattern & {bits} = {bits} AND {summable or "true"}
            QUALIFY dense_rank() OVER (PARTITION BY {key} ORDER BY bit_count(pattern), pattern) = 1)
        GROUP BY {grouped}"""


def raw_column(variable: str) -> str:
    """The staged (raw table) column of a variable read from a column."""
    return f"{variable}_raw"


def shown(d: Disaggregation) -> str:
    return literal(d.shown)
