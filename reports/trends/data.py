"""The reads behind trends.html: the aggregated frames, each one SQL query over the warehouse.

A *dataset* is one source and counting unit (and stage): counts are only ever added or compared within a
dataset's unit. Coverage is measured per source, country and year (months with any record): a month in which the
source recorded nothing at all is missing, while a category absent from a covered month is a true zero.

Every frame is built from the records inside each source's coverage window (``warehouse.coverage``): late reports
of offences decades old stay in the warehouse but start no series, so no trend, axis or headline reaches them.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from reports import queries
from warehouse.coverage import relation


def annual_national(con: duckdb.DuckDBPyConnection, max_level: int = 2) -> pd.DataFrame:
    """National yearly counts and rates for ICCS levels 1..max_level on a complete year grid per series.

    Years the source did not cover have a NULL count (a gap). Within covered years a category with no records
    is 0 for incident-level or monthly sources (absence of records is a zero) but stays NULL for annual
    aggregate tables, where an absent cell usually means "not reported". `partial` marks monthly data with
    fewer than 12 months in the year.
    """
    counts, national = relation(con, "offence_counts"), relation(con, "national_counts")
    population = queries.national_population(con)
    return queries.frame(
        con,
        f"""
        WITH base AS (  -- v_counts' national roll-up, inside the coverage windows
            SELECT c.source, c.unit, c.stage, c.country, a.ancestor_code AS iccs_code, a.ancestor_level AS level,
                   c.year, sum(c.count) AS count
            FROM {national} c JOIN iccs_ancestors a ON a.code = c.iccs_code
            WHERE a.ancestor_level <= ? GROUP BY ALL),
        cov AS (
            SELECT source, country, year, count(DISTINCT month)::INTEGER AS months
            FROM {counts} GROUP BY ALL),
        kind AS (
            SELECT c.source, max(c.months) > 0 OR bool_or(s.level = 'incident') AS fill_zero,
                   max(c.months) > 0 AS monthly
            FROM cov c LEFT JOIN sources s USING (source) GROUP BY c.source),
        series AS (
            SELECT source, unit, stage, country, min(year) AS y0, max(year) AS y1 FROM base GROUP BY ALL),
        codes AS (SELECT DISTINCT source, unit, stage, country, iccs_code, level FROM base),
        grid AS (
            SELECT k.*, unnest(range(s.y0, s.y1 + 1)) AS year
            FROM codes k JOIN series s USING (source, unit, stage, country))
        SELECT g.source, g.unit, g.stage, g.country, g.iccs_code, g.level, c.label, c.section, c.parent_code,
               p.label AS parent_label, g.year::INTEGER AS year,
               CASE WHEN b.count IS NOT NULL THEN b.count
                    WHEN cv.months IS NOT NULL AND k.fill_zero THEN 0.0 END AS count,
               pop.population, pop.population_basis,
               cv.months, k.monthly, coalesce(k.monthly AND cv.months < 12, false) AS partial
        FROM grid g
        JOIN iccs_categories c ON c.code = g.iccs_code
        LEFT JOIN iccs_categories p ON p.code = c.parent_code
        LEFT JOIN base b USING (source, unit, stage, country, iccs_code, year)
        LEFT JOIN cov cv ON cv.source = g.source AND cv.country = g.country AND cv.year = g.year
        LEFT JOIN kind k ON k.source = g.source
        -- the population of the territory the national figure counts (none where an area lacks one: no rate)
        LEFT JOIN {population} pop ON pop.source = g.source AND pop.country = g.country AND pop.year = g.year
        ORDER BY g.source, g.unit, g.stage, g.country, g.iccs_code, g.year
        """,
        [max_level],
    ).assign(rate_per_100k=lambda f: f["count"] * 100_000.0 / f["population"])


def monthly_national(con: duckdb.DuckDBPyConnection, max_level: int = 2) -> pd.DataFrame:
    """National monthly counts for ICCS levels 1..max_level over the months each source covered.

    A category with no records in a covered month is 0; months the source did not cover are absent (gaps).
    """
    counts, national = relation(con, "offence_counts"), relation(con, "national_counts")
    return queries.frame(
        con,
        f"""
        WITH months AS (
            SELECT DISTINCT source, country, year, month FROM {counts} WHERE month IS NOT NULL),
        rolled AS (
            SELECT c.source, c.unit, c.stage, c.country, a.ancestor_code AS iccs_code, a.ancestor_level AS level,
                   c.year, c.month, sum(c.count) AS count
            FROM {national} c
            JOIN iccs_ancestors a ON a.code = c.iccs_code AND a.ancestor_level <= ?
            WHERE c.month IS NOT NULL
            GROUP BY ALL),
        codes AS (SELECT DISTINCT source, unit, stage, country, iccs_code, level FROM rolled)
        SELECT k.source, k.unit, k.stage, k.country, k.iccs_code, k.level, cat.label, m.year, m.month,
               coalesce(r.count, 0.0) AS count
        FROM codes k
        JOIN months m USING (source, country)
        JOIN iccs_categories cat ON cat.code = k.iccs_code
        LEFT JOIN rolled r
            ON r.source = k.source AND r.unit = k.unit AND r.stage = k.stage AND r.country = k.country
           AND r.iccs_code = k.iccs_code AND r.year = m.year AND r.month = m.month
        ORDER BY ALL
        """,
        [max_level],
    )


def area_totals(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per area and year: all recorded crime of the dataset's unit (sum of ICCS sections) and the population."""
    return queries.frame(
        con,
        f"""
        WITH sections AS (  -- v_rates' area rows at level 1, inside the coverage windows
            SELECT c.source, c.unit, c.stage, c.country, c.area, c.year, sum(c.count) AS count
            FROM {relation(con, "detail_counts")} c
            JOIN iccs_ancestors a ON a.code = c.iccs_code AND a.ancestor_level = 1
            WHERE c.area IS NOT NULL GROUP BY ALL)
        SELECT s.source, s.unit, s.stage, s.country, s.area, s.year, s.count, p.population,
               s.count * 100000.0 / p.population AS rate_per_100k
        FROM sections s
        LEFT JOIN v_population p ON p.country = s.country AND p.area = s.area AND p.year = s.year
        ORDER BY ALL
        """,
    )


BY_SEX_COLUMNS = ["source", "unit", "stage", "country", "iccs_code", "level", "label", "year", "sex", "count"]


def national_by_sex(con: duckdb.DuckDBPyConnection, max_level: int = 2) -> pd.DataFrame:
    """National yearly counts by sex (all ages; '_T' = all sexes) for ICCS levels 1..max_level, from
    ``v_counts_by_sex_age``, for the series (source, unit, stage, country, category) that the source breaks down
    by sex, in the years each source covers. Empty where nothing is broken down, or in a warehouse written before
    the view existed."""
    if not queries.breakdowns_readable(con, "v_counts_by_sex_age"):
        return pd.DataFrame(columns=BY_SEX_COLUMNS)
    return queries.frame(
        con,
        f"""
        WITH cells AS (
            SELECT v.source, v.unit, v.stage, v.country, v.iccs_code, v.level, k.label, v.year, v.sex, v.count
            FROM {relation(con, "counts_by_sex_age")} v
            JOIN iccs_categories k ON k.code = v.iccs_code
            WHERE v.age = '_T' AND v.level <= ?),
        broken AS (SELECT DISTINCT source, unit, stage, country, iccs_code FROM cells WHERE sex <> '_T')
        SELECT {", ".join(BY_SEX_COLUMNS)}
        FROM cells JOIN broken USING (source, unit, stage, country, iccs_code)
        ORDER BY ALL
        """,
        [max_level],
    )
