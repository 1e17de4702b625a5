"""A small synthetic warehouse for report tests, generated in SQL (deterministic, no random state).

Three sources with traps the reports must handle:
- `alpha_police` (AAA): incident-level offences, monthly 2016-01..2023-06 with four areas. 2019-04 is missing
  (a gap, not a zero), 2023 is a partial year (6 months), one area is named `<script>alert(1)</script>`, and the
  area `Nowhere` has no population. Theft rises 10%/year, residential burglary falls 8%/year. Some records are
  coded coarser than the SDG 16.4 lists (0601, 0502) and must not count as drug trafficking/theft detail.
- `alpha_victims` (AAA): annual national homicide and trafficking *victims* (unit `victims`) 2012-2023 with 2016
  missing; it overlaps alpha_police's homicide *offences* so that summing across units would be visible.
- `beta_stats` (BBB and CCC, one multi-country table like Eurostat's): annual national offences 2010-2023;
  BBB's population for 2015 is missing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

from warehouse.connection import connect
from warehouse.ddl import ensure_schema
from warehouse.reference import load_classification

XSS_AREA = "<script>alert(1)</script>"
NO_POPULATION_AREA = "Nowhere"
MISSING_MONTH = (2019, 4)
PARTIAL_YEAR = 2023
BETA_MISSING_POPULATION_YEAR = 2015
VICTIMS_MISSING_YEAR = 2016

# (code, monthly national count in 2016, growth per year) for alpha_police
ALPHA_CODES = (
    ("0101", 2.0, 0.0),
    ("02011", 40.0, 0.02),
    ("0401", 15.0, -0.03),
    ("05012", 60.0, -0.08),
    ("05022", 120.0, 0.10),
    ("0502", 10.0, 0.0),
    ("060121", 8.0, 0.05),
    ("0601", 5.0, 0.0),
    ("07031", 3.0, 0.0),
    ("0703", 1.0, 0.0),
    ("07041", 2.0, 0.0),
)
# (area, share of records, population, latitude, longitude)
ALPHA_AREAS = (
    ("North", 0.40, 2_000_000, 53.80, -1.55),
    ("South", 0.30, 1_500_000, 53.70, -1.50),
    (XSS_AREA, 0.20, 500_000, 53.75, -1.60),
    (NO_POPULATION_AREA, 0.10, None, 53.65, -1.45),
)
BETA_CODES = (
    ("0101", 150.0, -0.02),
    ("0501", 40_000.0, -0.05),
    ("0502", 150_000.0, 0.03),
    ("0601", 20_000.0, 0.0),
    ("07041", 300.0, 0.08),
    ("09012", 50.0, 0.0),
)


def _values(rows: tuple[tuple, ...]) -> str:
    def lit(v: object) -> str:
        if v is None:
            return "NULL"
        if isinstance(v, str):
            return "'" + v.replace("'", "''") + "'"
        return repr(v)

    return ", ".join("(" + ", ".join(lit(v) for v in row) + ")" for row in rows)


def _temp_table(con: duckdb.DuckDBPyConnection, name: str, columns: str, rows: tuple[tuple, ...]) -> None:
    con.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM (VALUES {_values(rows)}) v({columns})")


def populate(con: duckdb.DuckDBPyConnection) -> None:
    """Insert the synthetic sources, records, counts, population and runs into an empty warehouse."""
    _temp_table(con, "alpha_codes", "code, base, growth", ALPHA_CODES)
    _temp_table(con, "alpha_areas", "area, share, population, lat, lon", ALPHA_AREAS)
    _temp_table(con, "beta_codes", "code, base, growth", BETA_CODES)
    # Expected monthly counts per code and area, with seasonality and deterministic noise from hash().
    con.execute(f"""
        CREATE TEMP TABLE alpha_cells AS
        WITH months AS (
            SELECT (DATE '2016-01-01' + INTERVAL (m) MONTH)::DATE AS month_start, m FROM range(90) t(m))
        SELECT c.code, a.area, a.lat, a.lon, mo.month_start,
               greatest(0, round(c.base * a.share * pow(1 + c.growth, mo.m / 12.0)
                    * (1 + 0.25 * sin(2 * pi() * month(mo.month_start) / 12.0))
                    * (0.9 + 0.2 * ((hash(c.code || a.area || mo.m) % 1000) / 1000.0))))::BIGINT AS n
        FROM alpha_codes c CROSS JOIN alpha_areas a CROSS JOIN months mo
        WHERE NOT (year(mo.month_start) = {MISSING_MONTH[0]} AND month(mo.month_start) = {MISSING_MONTH[1]})
    """)
    con.execute("""
        INSERT INTO offences (source, country, record_id, occurred_on, national_code, iccs_code, area, latitude,
                              longitude, unit, stage, file, row_number)
        SELECT 'alpha_police', 'AAA', code || '-' || strftime(month_start, '%Y%m') || '-' || area_no || '-' || k,
               (month_start + INTERVAL ((hash(code || area || month_start || k) % 28)) DAY)::DATE,
               'N' || code, code, area,
               lat + ((hash(k || code || area) % 1000) / 1000.0 - 0.5) * 0.04,
               lon + ((hash(area || k || code) % 1000) / 1000.0 - 0.5) * 0.06,
               'offences', 'police', 'alpha_' || year(month_start) || '.csv', k + 2
        FROM (SELECT *, dense_rank() OVER (ORDER BY area) AS area_no, unnest(range(n)) AS k FROM alpha_cells)
    """)
    con.execute("""
        INSERT INTO offence_counts (source, country, area, iccs_code, national_code, year, month, unit, stage, count)
        SELECT source, country, area, iccs_code, national_code, year(occurred_on), month(occurred_on), unit, stage,
               count(*)
        FROM offences WHERE source = 'alpha_police' GROUP BY ALL
    """)
    con.execute(f"""
        INSERT INTO offence_counts (source, country, area, iccs_code, national_code, year, month, unit, stage, count)
        SELECT 'alpha_victims', 'AAA', NULL, code, 'V' || code, y, NULL, 'victims', 'police', n
        FROM (VALUES ('0101', 30.0, -0.04), ('02041', 12.0, 0.06)) v(code, base, growth),
             LATERAL (SELECT y, round(base * pow(1 + growth, y - 2012)
                             * (0.95 + 0.1 * ((hash(code || y) % 1000) / 1000.0))) AS n
                      FROM range(2012, 2024) r(y)) t
        WHERE y <> {VICTIMS_MISSING_YEAR}
    """)
    con.execute("""
        INSERT INTO offence_counts (source, country, area, iccs_code, national_code, year, month, unit, stage, count)
        SELECT 'beta_stats', country, NULL, code, 'B' || code, y, NULL, 'offences', 'police',
               round(scale * base * pow(1 + growth, y - 2010)
                     * (0.97 + 0.06 * ((hash(code || y || country) % 1000) / 1000.0)))
        FROM beta_codes, range(2010, 2024) r(y), (VALUES ('BBB', 1.0), ('CCC', 0.3)) c(country, scale)
    """)
    con.execute("""
        INSERT INTO population (country, area, year, population)
        SELECT 'AAA', NULL, y, 5000000 * pow(1.005, y - 2012) FROM range(2012, 2024) r(y)
        UNION ALL
        SELECT 'AAA', area, y, population * pow(1.004, y - 2016)
        FROM alpha_areas, range(2016, 2024) r(y) WHERE population IS NOT NULL
        UNION ALL
        SELECT 'BBB', NULL, y, 10000000 * pow(1.003, y - 2010) FROM range(2010, 2024) r(y) WHERE y <> 2015
        UNION ALL
        SELECT 'CCC', NULL, y, 4000000 FROM range(2010, 2024) r(y)
    """)
    con.execute("""
        INSERT INTO sources (source, country, level, unit, stage, period, description, files, correspondence,
                             config) VALUES
        ('alpha_police', 'AAA', 'incident', 'offences', 'police', 'day',
         'Alpha national police, recorded offences (synthetic)', 'alpha_*.csv', 'alpha.csv', 'sources.yaml'),
        ('alpha_victims', 'AAA', 'aggregate', 'victims', 'police', 'year',
         'Alpha homicide and trafficking victims (synthetic)', 'victims.csv', 'victims_map.csv', 'sources.yaml'),
        ('beta_stats', 'BBB', 'aggregate', 'offences', 'police', 'year',
         'Beta statistical office, recorded offences (synthetic)', 'beta.csv', 'beta_map.csv', 'sources.yaml')
    """)
    con.execute("""
        INSERT INTO runs (run_id, source, started_at, finished_at, records_in, records_loaded, records_quarantined,
                          files, status)
        SELECT 'run-' || source, source, TIMESTAMP '2024-05-01 10:00:00', TIMESTAMP '2024-05-01 10:00:05',
               n, n, 0, 1, 'loaded'
        FROM (SELECT source, sum(count)::BIGINT AS n FROM offence_counts GROUP BY source)
    """)
    for name in ("alpha_codes", "alpha_areas", "beta_codes", "alpha_cells"):
        con.execute(f"DROP TABLE {name}")


def build_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """Create the warehouse file at `path`, fill it, and return an open read-write connection."""
    con = connect(path)
    ensure_schema(con)
    load_classification(con)
    populate(con)
    return con


def plotly_figures(html: str) -> list[tuple[str, list, dict]]:
    """(div id, data, layout) of every Plotly.newPlot call in a page."""
    decoder = json.JSONDecoder()
    figures = []
    for match in re.finditer(r'Plotly\.newPlot\(\s*"([^"]+)",\s*', html):
        data, end = decoder.raw_decode(html, match.end())
        while html[end] in ", \n\t":
            end += 1
        layout, _ = decoder.raw_decode(html, end)
        figures.append((match.group(1), data, layout))
    return figures


def break_labels(layout: dict) -> dict[str, list[str]]:
    """Per dropdown entry (or '' for a chart without one): the series-break labels it shows."""

    def labels(relayout: dict) -> list[str]:
        return [a["text"] for a in relayout.get("annotations", []) if a.get("text", "").startswith("series break")]

    menus = layout.get("updatemenus")
    if not menus:
        return {"": labels(layout)}
    return {b["label"]: labels(b["args"][1]) for b in menus[0]["buttons"]}


@contextmanager
def declared_breaks(con: duckdb.DuckDBPyConnection, rows: tuple[tuple, ...]) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor on `con` whose series_breaks table holds `rows` (source, iccs_code, period, kind, detail; a NULL
    code is a break of the whole source) until the block ends, when the original table comes back."""
    cursor = con.cursor()
    cursor.execute("CREATE OR REPLACE TEMP TABLE saved_breaks AS SELECT * FROM series_breaks")
    cursor.execute(
        "CREATE OR REPLACE TABLE series_breaks AS SELECT * FROM "
        f"(VALUES {_values(rows)}) v(source, iccs_code, period, kind, detail)"
    )
    try:
        yield cursor
    finally:
        cursor.execute("CREATE OR REPLACE TABLE series_breaks AS SELECT * FROM saved_breaks")
        cursor.execute("DROP TABLE saved_breaks")
        cursor.close()
