"""Counts and rates by sex and age: the national figure of each breakdown, and its population.

``disaggregated_counts`` holds every cell as published (or as incident records give it). These views give, for
each breakdown — all sexes and ages, by sex, by age group, by sex and age group — the national figure of each
cell (the source's total row where it has one, else the sum of its areas, as ``v_national_counts``), taken from
the coarsest rows that carry the breakdown (``warehouse.disaggregation.marginal_sql``), so that no figure adds a
total to its parts. ``sex`` and ``age`` are the victim's for counts of offences and victims, the perpetrator's
for counts of suspects, prosecuted and convicted persons; the rate divides by the population of the same sex and
age group (``v_population_by_sex_age``), and only where the national figure is the whole country's
(``v_national_population``: population_basis 'country').

``breakdown_share`` says how much of the total a breakdown accounts for: the sum over its values (men and women)
divided by the figure of all sexes and ages. Below 1 where some of the total has no breakdown (a code or month
published only as a total, victims whose sex is not published), above 1 where the parts exceed the total.
"""

from __future__ import annotations

import duckdb

from iccs.disaggregations import TOTAL, VARIABLES
from warehouse.coverage import TABLE as WINDOWS
from warehouse.coverage import inside_sql
from warehouse.disaggregation import DISAGGREGATED_COUNTS, marginal_sql

PERSONS = ("suspects", "prosecuted", "convicted")  # units counted by the perpetrator's sex and age
BREAKDOWNS = ((), ("sex",), ("age",), ("sex", "age"))
_OTHERS = tuple(v for v in VARIABLES if not v.startswith("victim_"))  # 'others' of a victims row, in order
_NATIONAL_KEYS = ["source", "country", "iccs_code", "national_code", "year", "month", "unit", "stage"]


def _person(variable: str) -> str:
    """A row's ``sex`` or ``age``: the counted person's (victim or perpetrator by the unit)."""
    units = ", ".join(f"'{u}'" for u in PERSONS)
    return f"CASE WHEN unit IN ({units}) THEN perpetrator_{variable} ELSE victim_{variable} END"


def _others() -> str:
    """The four variables besides the counted person's sex and age, as o1..o4 (never dropped: a row broken down
    by weapon is a part of the row of all weapons)."""
    units = ", ".join(f"'{u}'" for u in PERSONS)
    pairs = zip(
        ("victim_sex", "victim_age", "weapon", "situational_context"),
        _OTHERS,
        strict=True,
    )
    # for persons units the 'others' are the victim's sex and age; for the rest the perpetrator's
    return ", ".join(
        f"CASE WHEN unit IN ({units}) THEN {p} ELSE {o} END AS o{i}" for i, (p, o) in enumerate(pairs, start=1)
    )


_PERSON_VARIABLES = ("sex", "age", "o1", "o2", "o3", "o4")


# Which breakdown a row belongs to (0 all, 1 by sex, 2 by age, 3 both), and whether its values are known: the shares
# of a breakdown are over the figure of all sexes and ages of the same series.
_KNOWN = "sex NOT IN ('_U', '_Z') AND age NOT IN ('_U', '_Z')"


def _breakdown(prefix: str = "") -> str:
    return f"({prefix}sex <> '{TOTAL}')::INTEGER + 2 * ({prefix}age <> '{TOTAL}')::INTEGER"


def _shared(series: str) -> str:
    """breakdown_share and known_share of each row (``series``: the columns of one series)."""
    total = f"nullif(max(count) FILTER (breakdown = 0) OVER (PARTITION BY {series}), 0)"
    return f"""
        sum(count) OVER (PARTITION BY {series}, breakdown) / {total} AS breakdown_share,
        coalesce(sum(count) FILTER ({_KNOWN}) OVER (PARTITION BY {series}, breakdown), 0) / {total} AS known_share"""


_RATED = """
       CASE WHEN n.population_basis = 'country' THEN p.population END AS population,
       s.count * 100000.0 / CASE WHEN n.population_basis = 'country' THEN p.population END AS rate_per_100k,
       s.breakdown_share, s.known_share"""
_POPULATION = """
LEFT JOIN v_national_population n ON n.source = s.source AND n.country = s.country AND n.year = s.year
LEFT JOIN v_population_by_sex_age p
    ON p.country = s.country AND p.area IS NULL AND p.year = s.year AND p.sex = s.sex AND p.age = s.age"""


def _counts_view(name: str, national: str) -> str:
    """Rolled up to every ICCS ancestor, nationally, with rates: a code published only as a total has no row in
    a breakdown, which breakdown_share shows."""
    return f"""
CREATE OR REPLACE VIEW {name} AS
WITH rolled AS (
    SELECT c.source, c.country, a.ancestor_code AS iccs_code, a.ancestor_level AS level, c.year, c.month, c.unit,
           c.stage, c.sex, c.age, c.count
    FROM {national} c JOIN iccs_ancestors a ON a.code = c.iccs_code),
summed AS (
    SELECT source, country, iccs_code, level, year, unit, stage, sex, age, sum(count) AS count,
           count(DISTINCT month) AS months, {_breakdown()} AS breakdown
    FROM rolled GROUP BY ALL),
shared AS (SELECT *, {_shared("source, country, iccs_code, year, unit, stage")} FROM summed)
SELECT s.country, s.iccs_code, s.level, s.year, s.unit, s.sex, s.age, s.count, {_RATED}, s.source, s.stage,
       s.months
FROM shared s {_POPULATION};"""


def _sdg16_view(name: str, national: str) -> str:
    """As v_sdg16 (a record counts towards an indicator on its exact ICCS code), by the victim's sex and age."""
    return f"""
CREATE OR REPLACE VIEW {name} AS
WITH summed AS (
    SELECT s.indicator, s.component, s.title, c.country, c.source, c.unit, c.stage, c.year, c.sex, c.age,
           sum(c.count) AS count, count(DISTINCT c.month) AS months, {_breakdown("c.")} AS breakdown
    FROM {national} c JOIN sdg16_codes s ON s.iccs_code = c.iccs_code
    GROUP BY ALL),
shared AS (SELECT *, {_shared("indicator, component, country, source, unit, stage, year")} FROM summed)
SELECT s.indicator, s.component, s.title, s.country, s.source, s.unit, s.stage, s.year, s.sex, s.age, s.count,
       {_RATED}, s.months
FROM shared s {_POPULATION};"""


def views_sql() -> str:
    same = " AND ".join(
        f"t.{c} IS NOT DISTINCT FROM r.{c}"
        for c in ("source", "country", "unit", "stage", "iccs_code", "national_code", "year", "month", *VARIABLES)
    )
    national = f"""
        WITH roles AS (
            SELECT c.*, CASE WHEN d.source IS NOT NULL THEN c.area IS NULL ELSE t.area IS NOT NULL END AS is_total
            FROM {DISAGGREGATED_COUNTS} c
            LEFT JOIN (SELECT DISTINCT source FROM total_areas) d ON d.source = c.source
            LEFT JOIN (SELECT source, country, unit, area FROM v_total_areas WHERE basis = 'detected') t
                ON t.source = c.source AND t.country = c.country AND t.unit = c.unit AND t.area = c.area),
        totals AS (  -- the few cells with a national total row: joined, not a window over every cell
            SELECT DISTINCT source, country, unit, stage, iccs_code, national_code, year, month, {", ".join(VARIABLES)}
            FROM roles WHERE is_total),
        cells AS (
            SELECT r.*, t.source IS NOT NULL AS has_total
            FROM roles r LEFT JOIN totals t ON {same})
        SELECT source, country, iccs_code, national_code, year, month, unit, stage, {", ".join(VARIABLES)},
               sum(count) AS count
        FROM cells WHERE is_total = has_total GROUP BY ALL"""
    person = "person"  # the national rows, computed once for the four breakdowns (a MATERIALIZED CTE)
    marginals = "\n        UNION ALL ".join(
        "SELECT * EXCLUDE (o1, o2, o3, o4) FROM "
        f"({marginal_sql(person, _NATIONAL_KEYS, b, variables=_PERSON_VARIABLES, scope=('source',))})"
        for b in BREAKDOWNS
    )
    pop_marginals = "\n        UNION ALL ".join(
        marginal_sql(
            "named", ["country", "area", "year"], b, "sum(population) AS population", ("sex", "age"), ("country",)
        )
        for b in BREAKDOWNS
    )
    return f"""
CREATE OR REPLACE VIEW v_national_counts_disaggregated AS {national};

CREATE OR REPLACE VIEW v_population_by_sex_age AS
WITH names AS (SELECT DISTINCT country, area FROM v_total_areas),
named AS (
    SELECT p.country, CASE WHEN n.area IS NULL THEN p.area END AS area, p.year, p.population, p.sex, p.age
    FROM population p LEFT JOIN names n ON n.country = p.country AND n.area = p.area)
{pop_marginals};

CREATE OR REPLACE VIEW v_national_counts_by_sex_age AS
WITH person AS MATERIALIZED (
    SELECT {", ".join(_NATIONAL_KEYS)}, {_person("sex")} AS sex, {_person("age")} AS age, {_others()}, count
    FROM v_national_counts_disaggregated)
{marginals};

CREATE OR REPLACE VIEW v_national_counts_by_sex_age_in_window AS
SELECT c.* FROM v_national_counts_by_sex_age c LEFT JOIN {WINDOWS} w ON w.source = c.source AND w.unit = c.unit
WHERE {inside_sql("c.year", "c.month")};
{_counts_view("v_counts_by_sex_age", "v_national_counts_by_sex_age")}
{_counts_view("v_counts_by_sex_age_in_window", "v_national_counts_by_sex_age_in_window")}
{_sdg16_view("v_sdg16_by_sex_age", "v_national_counts_by_sex_age")}
{_sdg16_view("v_sdg16_by_sex_age_in_window", "v_national_counts_by_sex_age_in_window")}
"""


COMMENTS = {
    "v_national_counts_disaggregated": "disaggregated_counts as national figures: per source, offence, period "
    "and value of every variable, the total row where the source has one, else the sum of its areas",
    "v_population_by_sex_age": "population by country, area (NULL = national), year, sex and age, every breakdown "
    "(all '_T', by sex, by age, by both): as published, else summed from the coarsest groups published",
    "v_national_counts_by_sex_age": "national counts per source, offence and period for each breakdown (sex and "
    "age '_T' = all; by sex; by age; by both), from the coarsest published rows that carry it: sex and age are "
    "the victim's (offences, victims) or the perpetrator's (suspects, prosecuted, convicted)",
    "v_counts_by_sex_age": "national counts by sex and age rolled up to every ICCS ancestor, with the population of "
    "the same sex and age group and the rate per 100,000 (where the figure is the whole country's); "
    "breakdown_share: the breakdown's values summed over the figure of all sexes and ages; known_share: the same "
    "without the values not known (_U) or not applicable (_Z); months: months of the year covered (0 = annual)",
    "v_sdg16_by_sex_age": "SDG 16 indicators by sex and age (as v_sdg16: exact ICCS codes), with the population of "
    "the same sex and age group, the rate per 100,000, breakdown_share and known_share (see v_counts_by_sex_age)",
    "v_national_counts_by_sex_age_in_window": "v_national_counts_by_sex_age inside each source's coverage window",
    "v_counts_by_sex_age_in_window": "v_counts_by_sex_age inside each source's coverage window (the reports')",
    "v_sdg16_by_sex_age_in_window": "v_sdg16_by_sex_age inside each source's coverage window (the reports')",
}


def ensure_views(con: duckdb.DuckDBPyConnection) -> None:
    """The views of this module (they read the totals views: create those first)."""
    con.execute(views_sql())
