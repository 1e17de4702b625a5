"""The reads behind sdg16.html: the aggregated frames, each one SQL query over the warehouse.

Records are matched to an indicator on their *exact* ICCS code (offence_counts joined to sdg16_codes, whose code
lists already include descendants). Each record therefore counts once even when the list holds both 0703 and
07031, and a record mapped to a coarser code than the indicator's (0601 for drug trafficking 06012) is not
counted. The rolled-up view v_counts is deliberately not used here: it repeats each record under every ancestor.
Only records inside each source's coverage window (``warehouse.coverage``) count: a late report of an old offence
stays in the warehouse but starts no indicator series.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from reports import queries
from warehouse.coverage import relation

_COMMON = """
    WITH codes AS (
        SELECT DISTINCT indicator, coalesce(component, indicator) AS component, iccs_code FROM sdg16_codes),
    cov AS (
        SELECT source, country, year, count(DISTINCT month)::INTEGER AS months FROM {counts} GROUP BY ALL),
    kind AS (
        SELECT c.source, max(c.months) > 0 AS monthly, max(c.months) > 0 OR bool_or(s.level = 'incident') AS fill_zero
        FROM cov c LEFT JOIN sources s USING (source) GROUP BY c.source),
    matched AS (
        SELECT k.indicator, k.component, c.source, c.unit, c.stage, c.country, c.year, c.month, sum(c.count) AS count,
               sum(c.count) FILTER (c.partial_correspondence) AS partial_count,
               string_agg(DISTINCT c.national_code, '; ' ORDER BY c.national_code)
                   FILTER (c.partial_correspondence) AS partial_codes
        FROM {national} c JOIN codes k ON k.iccs_code = c.iccs_code
        GROUP BY ALL)
"""


def indicator_annual(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per indicator/component and series (source, unit, stage, country) and covered year: national count,
    population, rate per 100,000, and share of all recorded crime of the same source and unit;
    ``partial_correspondence`` (with ``partial_count`` and the national ``partial_codes``) when some of the count
    comes through a correspondence row marked partial."""
    return queries.frame(
        con,
        (
            _COMMON
            + """,
        yearly AS (
            SELECT indicator, component, source, unit, stage, country, year, sum(count) AS count,
                   sum(partial_count) AS partial_count,
                   string_agg(DISTINCT partial_codes, '; ' ORDER BY partial_codes) AS partial_codes
            FROM matched GROUP BY ALL),
        series AS (SELECT DISTINCT indicator, component, source, unit, stage, country FROM yearly),
        grid AS (
            SELECT s.*, cv.year, cv.months FROM series s JOIN cov cv USING (source, country)),
        totals AS (
            SELECT source, unit, stage, country, year, sum(count) AS all_recorded
            FROM {national} GROUP BY ALL)
        SELECT g.indicator, g.component, g.source, g.unit, g.stage, g.country, g.year,
               CASE WHEN y.count IS NOT NULL THEN y.count WHEN k.fill_zero THEN 0.0 END AS count,
               t.all_recorded, p.population, p.population_basis, p.areas_without_population, g.months, k.monthly,
               coalesce(k.monthly AND g.months < 12, false) AS partial,
               -- how much of the count comes through correspondence rows marked partial (v_national_counts)
               coalesce(y.partial_count > 0, false) AS partial_correspondence, y.partial_count, y.partial_codes
        FROM grid g
        JOIN kind k USING (source)
        LEFT JOIN yearly y USING (indicator, component, source, unit, stage, country, year)
        LEFT JOIN totals t USING (source, unit, stage, country, year)
        LEFT JOIN {population} p ON p.source = g.source AND p.country = g.country AND p.year = g.year
        ORDER BY ALL
        """
        ).format(
            counts=relation(con, "offence_counts"),
            national=queries.national_counts(con),
            population=queries.national_population(con),
        ),
    ).assign(
        rate_per_100k=lambda f: f["count"] * 100_000.0 / f["population"],
        share_pct=lambda f: f["count"] * 100.0 / f["all_recorded"].where(f["all_recorded"] > 0),
    )


def indicator_monthly(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Monthly national counts per indicator/component and series over the months the source covered."""
    return queries.frame(
        con,
        (
            _COMMON
            + """,
        months AS (SELECT DISTINCT source, country, year, month FROM {counts} WHERE month IS NOT NULL),
        series AS (
            SELECT DISTINCT indicator, component, source, unit, stage, country FROM matched
            WHERE month IS NOT NULL)
        SELECT s.indicator, s.component, s.source, s.unit, s.stage, s.country, m.year, m.month,
               coalesce(sum(x.count), 0.0) AS count
        FROM series s
        JOIN months m USING (source, country)
        LEFT JOIN matched x
            ON x.indicator = s.indicator AND x.component = s.component AND x.source = s.source
           AND x.unit = s.unit AND x.stage = s.stage AND x.country = s.country AND x.year = m.year
           AND x.month = m.month
        GROUP BY ALL
        ORDER BY ALL
        """
        ).format(counts=relation(con, "offence_counts"), national=queries.national_counts(con)),
    )


def indicators(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """indicator, component, title, unit and the ICCS codes (comma-separated) of every SDG 16 link."""
    return queries.frame(
        con,
        """
        SELECT indicator, coalesce(component, indicator) AS component, any_value(title) AS title,
               any_value(unit) AS unit, string_agg(DISTINCT iccs_code, ', ' ORDER BY iccs_code) AS codes
        FROM sdg16_codes GROUP BY ALL ORDER BY ALL
        """,
    )


def country_years(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every country and year with any recorded data, to tell which an indicator is missing."""
    return queries.frame(con, f"SELECT DISTINCT country, year FROM {relation(con, 'offence_counts')} ORDER BY ALL")


BY_SEX_AGE_COLUMNS = [
    "indicator",
    "component",
    "source",
    "unit",
    "stage",
    "country",
    "year",
    "sex",
    "age",
    "count",
    "population",
    "rate_per_100k",
    "breakdown_share",
]


def indicator_by_sex_age(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The indicators by the victim's sex and age (``v_sdg16_by_sex_age``: every breakdown, '_T' = all, the rate
    over the population of the same sex and age group) for the series that have a breakdown at all, in the years
    each source covers (its coverage window, as the rest of the page). Empty where nothing is broken down, or in a
    warehouse written before the view existed."""
    if not queries.breakdowns_readable(con, "v_sdg16_by_sex_age"):
        return pd.DataFrame(columns=BY_SEX_AGE_COLUMNS)
    return queries.frame(
        con,
        f"""
        WITH cells AS (
            SELECT v.indicator, coalesce(v.component, v.indicator) AS component, v.source, v.unit, v.stage,
                   v.country, v.year, v.sex, v.age, v.count, v.population, v.rate_per_100k, v.breakdown_share
            FROM {relation(con, "sdg16_by_sex_age")} v),
        broken AS (  -- the series with any breakdown: the others are shown as totals only, above
            SELECT DISTINCT indicator, component, source, unit, stage, country FROM cells
            WHERE sex <> '_T' OR age <> '_T')
        SELECT {", ".join(BY_SEX_AGE_COLUMNS)}
        FROM cells JOIN broken USING (indicator, component, source, unit, stage, country)
        ORDER BY ALL
        """,
    )
