"""Population files -> the ``population`` table, the denominator of every rate.

A row whose figure is not a positive finite number (empty, a missing marker, text, NaN, infinity, zero,
negative) or whose country or year cannot be read never becomes a denominator: it would give NaN, infinite or
zero rates. It is not dropped either: it is kept in ``quarantine`` under the source name ``population`` with
reason ``invalid_population``, file, line and the field and value that were wrong
(``iccs quarantine --source population``).
"""

from __future__ import annotations

import duckdb

from iccs.disaggregations import POPULATION_VARIABLES, TOTAL
from schemas.source_config import POPULATION_SOURCE, PopulationConfig
from warehouse.disaggregation import marginal_sql
from warehouse.population_staging import stage_population
from warehouse.transaction import transaction


def load_population(con: duckdb.DuckDBPyConnection, specs: tuple[PopulationConfig, ...]) -> int:
    """Replace the population table (and the population rows of the quarantine) with the configured files;
    national rows have area NULL. Returns the rows stored.

    Rows of one country, area and year are summed (small areas of an ``area_lookup``), so where one of them was
    rejected the others are kept out too, with a detail naming it: a sum without it would be short. Where a
    country-year has areas but no national row, the national row is the sum of its areas, provided none of its
    area rows was rejected.
    """
    staged = stage_population(con, specs)
    with transaction(con):
        con.execute("DELETE FROM population")
        con.execute("DELETE FROM quarantine WHERE source = ?", [POPULATION_SOURCE])
        if specs:
            con.execute(f"""
                UPDATE {staged} s SET reason = 'invalid_population',
                       detail = 'population: ' || s.population::VARCHAR || ' not used: ' || r.first
                                || ' of the same country, area and year was rejected (the sum would be short)'
                FROM (SELECT country, area, year, sex, age,
                             min(parse_filename(file) || ' line ' || line) AS first FROM {staged}
                      WHERE reason IS NOT NULL AND regexp_full_match(country, '^[A-Z]{{3}}$') AND year IS NOT NULL
                      GROUP BY ALL) r
                WHERE s.reason IS NULL AND s.country = r.country AND s.area IS NOT DISTINCT FROM r.area
                  AND s.year = r.year AND s.sex IS NOT DISTINCT FROM r.sex AND s.age IS NOT DISTINCT FROM r.age""")
            con.execute(f"""
                INSERT INTO population (country, area, year, population, sex, age)
                SELECT country, area, year, sum(population), sex, age FROM {staged} WHERE reason IS NULL
                GROUP BY country, area, year, sex, age""")
            con.execute(
                f"""
                INSERT INTO quarantine (source, file, row_number, reason, detail, raw, run_id)
                SELECT ?, file, line, reason, detail, raw, NULL FROM {staged} WHERE reason IS NOT NULL
                ORDER BY file, line""",
                [POPULATION_SOURCE],
            )
            # A national total where the files give only areas: the sum of the areas of that country and year,
            # unless an area row of that year was rejected (the sum would understate the country).
            con.execute(f"""
                INSERT INTO population (country, area, year, population, sex, age)
                SELECT country, NULL, year, sum(population), sex, age FROM population a WHERE area IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM population n WHERE n.area IS NULL AND n.country = a.country
                                  AND n.year = a.year AND n.sex = a.sex AND n.age = a.age)
                  AND NOT EXISTS (SELECT 1 FROM {staged} r WHERE r.reason IS NOT NULL AND r.area IS NOT NULL
                                  AND r.country = a.country AND r.year = a.year)
                GROUP BY ALL""")
            # The population of all sexes and ages where a file gives only groups (men and women): the sum of
            # the coarsest groups given, never a total added to its parts (warehouse.disaggregation).
            totals = marginal_sql(
                "population",
                ["country", "area", "year"],
                (),
                "sum(population) AS population",
                POPULATION_VARIABLES,
                ("country",),
            )
            con.execute(f"""
                INSERT INTO population (country, area, year, population, sex, age)
                SELECT t.country, t.area, t.year, t.population, '{TOTAL}', '{TOTAL}' FROM ({totals}) t
                WHERE NOT EXISTS (SELECT 1 FROM population p WHERE p.country = t.country
                                  AND p.area IS NOT DISTINCT FROM t.area AND p.year = t.year
                                  AND p.sex = '{TOTAL}' AND p.age = '{TOTAL}')""")
    return con.execute("SELECT count(*) FROM population").fetchone()[0]


def rejected_population(con: duckdb.DuckDBPyConnection) -> int:
    """Population rows of the last load kept out of the table (in quarantine as ``invalid_population``)."""
    return con.execute("SELECT count(*) FROM quarantine WHERE source = ?", [POPULATION_SOURCE]).fetchone()[0]
