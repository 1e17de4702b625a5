"""Population files -> the ``population`` table, the denominator of every rate."""

from __future__ import annotations

import duckdb

from schemas.source_config import PopulationConfig
from warehouse.staging import stage_population


def load_population(con: duckdb.DuckDBPyConnection, specs: tuple[PopulationConfig, ...]) -> int:
    """Replace the population table with the configured files; national rows have area NULL.

    Where a country-year has areas but no national row, the national row is the sum of its areas.
    """
    staged = stage_population(con, specs)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM population")
        if specs:
            con.execute(f"""
                INSERT INTO population
                SELECT country, area, year, sum(population) FROM {staged}
                WHERE year IS NOT NULL AND population > 0 AND regexp_full_match(country, '^[A-Z]{{3}}$')
                GROUP BY ALL""")
            # A national total where the files give only areas: the sum of the areas of that country and year.
            con.execute("""
                INSERT INTO population
                SELECT country, NULL, year, sum(population) FROM population a WHERE area IS NOT NULL
                  AND NOT EXISTS (SELECT 1 FROM population n WHERE n.area IS NULL AND n.country = a.country
                                  AND n.year = a.year)
                GROUP BY ALL""")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return con.execute("SELECT count(*) FROM population").fetchone()[0]
