"""The observations of the SDG global database's layout (``schemas.sdmx.sdg_schema``), in SQL.

Each series of ``iccs.sdg_series`` over the national figures (``v_national_counts``), a record counting towards it
on its own ICCS code, only from sources of the series' counting unit (victims for 16.1.1 and 16.2.2):
- a count: the sum; a rate: per 100,000 of the population the national figure counts (``v_national_population``:
  none, no rate); a share (16.4.2): traced_arms over seized_arms of the same country and year, in percent;
- by sex and by age where the source publishes them (``v_sdg16_by_sex_age``: the coarsest published rows that
  carry a breakdown), for the series that are a whole indicator (VC_IHR_PSRC(N), VC_HTF_DETV(R)); sex and age not
  known (``_U``) or not applicable (``_Z``) have no SDG code and are left out;
- ``REF_AREA`` the country's M49 code (``iccs.countries``; a country without one is left out, and said);
- only whole years: a year a source covers for fewer than 12 months is left out, and said.
Two sources giving the same series for the same country and year are an error to resolve with ``--source``:
the SDG database holds one value per key.
"""

from __future__ import annotations

from dataclasses import replace

from iccs.sdg16 import indicator_codes
from iccs.sdg_series import sdg_series
from schemas.sdmx import SDG_UNFILLED, TOTAL
from warehouse.exchange.iccs_observations import COVERED_SQL
from warehouse.exchange.selection import Selection
from warehouse.sql import literal

COLUMNS = (
    "FREQ",
    "REPORTING_TYPE",
    "SERIES",
    "REF_AREA",
    "SEX",
    "AGE",
    *SDG_UNFILLED,
    "TIME_PERIOD",
    "OBS_VALUE",
    "UNIT_MEASURE",
    "UNIT_MULT",
    "NATURE",
    "SOURCE_DETAIL",
    "COMMENT_OBS",
)
M49_TABLE = "exchange_m49"  # registered by the caller: iso3, m49 (iccs.countries.m49_frame)
PARTIAL = "partial correspondence: some of the count comes through a national category that only overlaps the ICCS one"
AREAS = "population: the sum of the populations of the source's areas"


def series_codes_sql() -> str:
    """The series table of ``iccs.sdg_series`` as a relation, a row per series and ICCS code: series, measure,
    iccs_code, counting_unit, denominator_unit ('' where none), unit_measure."""
    rows = [
        f"({literal(s.series)}, {literal(s.measure)}, {literal(code)}, {literal(s.counting_unit)}, "
        f"{literal(s.denominator_unit or '')}, {literal(s.unit_measure)})"
        for s in sdg_series()
        for code in s.codes
    ]
    return (
        f"(VALUES {', '.join(rows)}) "
        "AS series_codes(series, measure, iccs_code, counting_unit, denominator_unit, unit_measure)"
    )


def _indicator_series() -> str:
    """(indicator, series, measure) of the series whose codes are the whole indicator's: those by sex and age."""
    rows = [
        f"({literal(s.indicator)}, {literal(s.series)}, {literal(s.measure)}, {literal(s.unit_measure)}, "
        f"{literal(s.counting_unit)})"
        for s in sdg_series()
        if s.measure in ("count", "rate") and list(s.codes) == indicator_codes(s.indicator)
    ]
    return ", ".join(rows)


def figures_sql(selection: Selection) -> str:
    """Every figure before the checks: series, country, year, sex, age, value, unit_measure, sources (how many and
    which), months covered, comments. ``observations_sql`` shapes it; ``warehouse.exchange.sdg`` reports what it
    leaves out."""
    where = replace(selection, iccs_levels=(), national_only=False, units=()).where(
        {"source", "country", "year", "unit"}
    )
    return f"""
WITH series AS (SELECT * FROM {series_codes_sql()}),
whole(indicator, series, measure, unit_measure, counting_unit) AS (VALUES {_indicator_series()}),
covered AS ({COVERED_SQL}),
national AS (SELECT * FROM v_national_counts WHERE {where}),
counted AS (
    SELECT s.series, s.measure, s.unit_measure, n.unit = s.counting_unit AS numerator, n.source, n.country, n.year,
           n.unit, sum(n.count) AS count, bool_or(n.partial_correspondence) AS partial
    FROM national n JOIN series s ON s.iccs_code = n.iccs_code AND n.unit IN (s.counting_unit, s.denominator_unit)
    GROUP BY ALL),
totals AS (
    SELECT c.series, c.country, c.year, '{TOTAL}' AS sex, '{TOTAL}' AS age,
           CASE WHEN c.measure = 'rate' THEN c.count * 100000.0 / nullif(p.population, 0) ELSE c.count END AS value,
           c.unit_measure, c.source AS sources, 1 AS n_sources, cv.months,
           concat_ws('; ', CASE WHEN c.partial THEN {literal(PARTIAL)} END,
                     CASE WHEN c.measure = 'rate' AND p.population_basis = 'areas' THEN {literal(AREAS)} END) AS comment
    FROM counted c
    LEFT JOIN v_national_population p ON p.source = c.source AND p.country = c.country AND p.year = c.year
    LEFT JOIN covered cv ON cv.source = c.source AND cv.unit = c.unit AND cv.year = c.year
    WHERE c.measure IN ('count', 'rate')),
shares AS (
    SELECT series, country, year, '{TOTAL}' AS sex, '{TOTAL}' AS age,
           100.0 * sum(count) FILTER (numerator) / nullif(sum(count) FILTER (NOT numerator), 0) AS value,
           any_value(unit_measure) AS unit_measure,
           string_agg(DISTINCT source, ', ' ORDER BY source) AS sources,
           greatest(count(DISTINCT source) FILTER (numerator), count(DISTINCT source) FILTER (NOT numerator))
               AS n_sources,
           12 AS months, CASE WHEN bool_or(partial) THEN {literal(PARTIAL)} END AS comment
    FROM counted WHERE measure = 'share'
    GROUP BY series, country, year
    HAVING count(*) FILTER (numerator) > 0 AND count(*) FILTER (NOT numerator) > 0),
breakdowns AS (
    SELECT w.series, b.country, b.year, b.sex, b.age,
           CASE WHEN w.measure = 'rate' THEN b.rate_per_100k ELSE b.count END AS value,
           w.unit_measure, b.source AS sources, 1 AS n_sources, cv.months,
           '' AS comment
    FROM (SELECT * FROM v_sdg16_by_sex_age WHERE {where}) b
    JOIN whole w ON w.indicator = b.indicator AND b.component IS NULL AND w.counting_unit = b.unit
    LEFT JOIN covered cv ON cv.source = b.source AND cv.unit = b.unit AND cv.year = b.year
    WHERE NOT (b.sex = '{TOTAL}' AND b.age = '{TOTAL}') AND b.sex IN ('{TOTAL}', 'F', 'M')
      AND b.age NOT IN ('_U', '_Z'))
SELECT f.*, m.m49
FROM (SELECT * FROM totals UNION ALL SELECT * FROM shares UNION ALL SELECT * FROM breakdowns) f
LEFT JOIN {M49_TABLE} m ON m.iso3 = f.country"""


def observations_sql(figures: str) -> str:
    """SELECT of the observations (``COLUMNS``) from the figures table ``figures`` that pass: an M49 code, a whole
    year, a value."""
    unfilled = ", ".join(f"'{TOTAL}' AS {name}" for name in SDG_UNFILLED)
    return f"""
SELECT 'A' AS FREQ, 'N' AS REPORTING_TYPE, series AS SERIES, m49 AS REF_AREA, sex AS SEX, age AS AGE, {unfilled},
       year::VARCHAR AS TIME_PERIOD, round(value, CASE WHEN unit_measure = 'NUMBER' THEN 6 ELSE 4 END) AS OBS_VALUE,
       unit_measure AS UNIT_MEASURE, '0' AS UNIT_MULT,
       'C' AS NATURE, sources AS SOURCE_DETAIL, nullif(comment, '') AS COMMENT_OBS
FROM {figures}
WHERE m49 IS NOT NULL AND coalesce(months, 0) IN (0, 12) AND value IS NOT NULL
ORDER BY SERIES, REF_AREA, TIME_PERIOD, SEX, AGE"""
