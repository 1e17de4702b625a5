"""Population files -> the ``population`` table, the denominator of every rate."""

from __future__ import annotations

import duckdb

from schemas.source_config import PopulationConfig
from warehouse.staging import SourceError


def _q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def load_population(con: duckdb.DuckDBPyConnection, specs: tuple[PopulationConfig, ...]) -> int:
    """Replace the population table with the configured files; national rows have area NULL.

    Where a country-year has areas but no national row, the national row is the sum of its areas.
    """
    selects = []
    for spec in specs:
        paths = spec.paths()
        if not paths:
            raise SourceError(f"{spec.files}: population: field 'files' matches no file (relative to {spec.base_dir})")
        for path in paths:
            reader = (f"read_parquet({_q(str(path))})" if spec.format == "parquet"
                      else f"read_csv({_q(str(path))}, header = true, all_varchar = true)")
            present = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}").fetchall()]
            for field, column in spec.columns.items():
                if column not in present:
                    raise SourceError(f"{path}: population: field 'columns.{field}': column '{column}' not in the "
                                      f"file (columns: {', '.join(present)})")
            col = spec.columns
            country = f'trim("{col["country"]}"::VARCHAR)' if "country" in col else _q(spec.country or "")
            area = f"nullif(trim(\"{col['area']}\"::VARCHAR), '')" if "area" in col else "NULL"
            selects.append(f"""
                SELECT {country} AS country, {area} AS area, TRY_CAST("{col['year']}" AS INTEGER) AS year,
                       TRY_CAST("{col['population']}" AS DOUBLE) AS population FROM {reader}""")
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("DELETE FROM population")
        if selects:
            con.execute(f"""
                INSERT INTO population
                SELECT country, area, year, sum(population) FROM ({' UNION ALL '.join(selects)})
                WHERE year IS NOT NULL AND population > 0 GROUP BY ALL""")
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
