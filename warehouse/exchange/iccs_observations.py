"""The observations of the ICCS crime statistics structure (``schemas.sdmx.iccs_schema``), in SQL.

A figure counts in its own ICCS code and every ancestor (``levels='all'``, Eurostat's layout: ``ICCS02`` includes
``ICCS0201``), by area and for the whole country (the national figure of ``v_national_counts``: a source's total
row where it has one, else the sum of its areas), as a number (``NR``) and, for a whole year of a territory with a
population, per 100,000 inhabitants (``P_HTHAB``, the population ``v_rates`` divides by). ``levels='stored'``
gives each cell once, in the code it was loaded in: a file whose figures add up, for loading elsewhere.

OBS_STATUS carries the flags of the figure: where the source published the code itself (a row stored in it), that
row's flags (a Eurostat total keeps its own ``p``, not its sub-categories'), else the flags of the cells summed
into it; ``allocated`` whenever a count summed was spread over a split correspondence; ``partial_year`` on a year
the source covers for fewer than 12 months (no rate is given for it).
"""

from __future__ import annotations

from dataclasses import replace

from warehouse.exchange.selection import Selection
from warehouse.sql import literal

ALLOCATED = "allocated"  # warehouse.counts.ALLOCATED_FLAG
PARTIAL_YEAR = "partial_year"
COLUMNS = (
    "SOURCE",
    "FREQ",
    "ICCS",
    "UNIT",
    "COUNTING_UNIT",
    "STAGE",
    "GEO",
    "AREA",
    "TIME_PERIOD",
    "OBS_VALUE",
    "OBS_STATUS",
)
# The months a source covers in each year (0: it publishes years): fewer than 12 is a partial year.
COVERED_SQL = "SELECT source, unit, year, count(DISTINCT month) AS months FROM offence_counts GROUP BY ALL"
_CELL_COLUMNS = {"source", "country", "area", "iccs_code", "year", "month", "unit", "stage"}


def _tokens(lists: str) -> str:
    """The distinct flags of a list of comma-separated flag strings, as a list."""
    return f"list_distinct(flatten(list_transform(coalesce({lists}, []), f -> string_split(f, ','))))"


def _grouped(freq: str) -> str:
    month = "month" if freq == "M" else "NULL::INTEGER"
    where = "WHERE month IS NOT NULL" if freq == "M" else ""
    return f"""
    SELECT '{freq}' AS freq, source, country, area, code, level, unit, stage, year, {month} AS month,
           sum(count) AS count, bool_or(own) AS has_own,
           list(flag) FILTER (own AND flag IS NOT NULL) AS own_flags,
           list(flag) FILTER (flag IS NOT NULL) AS all_flags
    FROM rolled {where}
    GROUP BY source, country, area, code, level, unit, stage, year, {month}"""


def observations_sql(selection: Selection, frequencies: tuple[str, ...] = ("A",), levels: str = "all") -> str:
    """SELECT of the observations (``COLUMNS``, OBS_VALUE a DOUBLE), ordered by key; ``frequencies`` A (years)
    and/or M (months, for sources that date by month)."""
    cells_where = replace(selection, iccs_levels=()).where(_CELL_COLUMNS)
    stored = "AND a.ancestor_code = p.iccs_code" if levels == "stored" else ""
    level_where = (
        f"a.ancestor_level IN ({', '.join(str(int(v)) for v in selection.iccs_levels)})"
        if selection.iccs_levels
        else "true"
    )
    grouped = "\n    UNION ALL".join(_grouped(f) for f in frequencies)
    flags = f"""list_sort(list_distinct(
                   CASE WHEN g.has_own THEN {_tokens("g.own_flags")} ELSE {_tokens("g.all_flags")} END
                   || CASE WHEN list_contains({_tokens("g.all_flags")}, {literal(ALLOCATED)})
                           THEN [{literal(ALLOCATED)}] ELSE [] END
                   || CASE WHEN g.partial THEN [{literal(PARTIAL_YEAR)}] ELSE [] END))"""
    return f"""
WITH cells AS (
    SELECT source, country, area, iccs_code, year, month, unit, stage, count, flag FROM v_area_counts
    UNION ALL
    SELECT source, country, NULL::VARCHAR AS area, iccs_code, year, month, unit, stage, count, flag
    FROM v_national_counts),
picked AS (SELECT * FROM cells WHERE {cells_where}),
rolled AS (
    SELECT p.*, a.ancestor_code AS code, a.ancestor_level AS level, a.ancestor_code = p.iccs_code AS own
    FROM picked p JOIN iccs_ancestors a ON a.code = p.iccs_code {stored}
    WHERE {level_where}),
covered AS ({COVERED_SQL}),
grouped AS ({grouped}),
judged AS (
    SELECT g.*, g.freq = 'A' AND c.months BETWEEN 1 AND 11 AS partial,
           CASE WHEN g.area IS NULL THEN n.population ELSE p.population END AS population
    FROM grouped g
    LEFT JOIN covered c ON c.source = g.source AND c.unit = g.unit AND c.year = g.year
    LEFT JOIN v_population p ON g.area IS NOT NULL AND p.country = g.country AND p.area = g.area AND p.year = g.year
    LEFT JOIN v_national_population n
        ON g.area IS NULL AND n.source = g.source AND n.country = g.country AND n.year = g.year),
flagged AS (SELECT g.*, nullif(array_to_string({flags}, ','), '') AS status FROM judged g)
SELECT source AS SOURCE, freq AS FREQ, 'ICCS' || code AS ICCS, u.unit_code AS UNIT, unit AS COUNTING_UNIT,
       stage AS STAGE, country AS GEO, coalesce(area, '_T') AS AREA,
       CASE WHEN freq = 'M' THEN year::VARCHAR || '-' || lpad(month::VARCHAR, 2, '0') ELSE year::VARCHAR END
           AS TIME_PERIOD,
       -- counts to 6 decimals (an allocated count is fractional; a sum of them carries float noise), rates to 4
       CASE WHEN u.unit_code = 'NR' THEN round(count, 6) ELSE round(count * 100000.0 / population, 4) END
           AS OBS_VALUE,
       status AS OBS_STATUS
FROM flagged CROSS JOIN (VALUES ('NR'), ('P_HTHAB')) u(unit_code)
WHERE u.unit_code = 'NR' OR (freq = 'A' AND NOT partial AND population > 0)
ORDER BY SOURCE, GEO, AREA, ICCS, UNIT, FREQ, TIME_PERIOD, COUNTING_UNIT, STAGE"""
