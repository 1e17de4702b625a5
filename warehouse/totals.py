"""Total rows and nested totals: the national figure of a source, counted once.

Many official tables list the country itself among their "regions", or publish a category beside its own
sub-categories. Summing such a table as it stands counts everything twice. This module holds the one rule for
the national figure and the evidence behind it:

- ``total_areas``: the area a source declares as its national total (``total_area``). Its rows are stored with
  ``area`` NULL (``warehouse.counts.counts_sql``); the population row of that name is the national population.
- ``v_total_areas``: declared totals and, for aggregate sources without a declaration, *detected* ones: an
  area whose count equals the sum of the other areas (``TOLERANCE_*``) in at least ``MOST`` of the cells
  compared. A cell (offence × period) is compared where every area of the source has a row, or, in a source
  none of whose counts was quarantined as missing or suppressed, where at least ``MIN_AREAS`` areas have one (a
  table of 3,000 small areas leaves out its zero cells: absent is zero there; a suppressed cell proves nothing),
  and some area counted something; at least ``MIN_CELLS`` cells and at least
  ``MIN_AREAS`` areas are needed: with two areas "one equals the sum of the others" only says they are equal,
  and nothing tells which is the total.
- ``v_national_counts``: per source, offence (ICCS and national code) and period, the national figure: the total
  row where the source has one for that cell, else the sum of its areas (and of rows without an area). Every
  national consumer reads it (``v_counts``, ``v_rates``, ``v_sdg16``, the trend and SDG 16 queries).
- ``v_area_counts``: the rows of real areas (never a total area).
- ``v_population``: the population table with the row of a total area as the national population.
- ``v_national_population``: per source, country and year, the denominator of the national rates: the national
  population where the national figure is the country's own (rows without an area, a total row) or sums every area
  the population table knows for the country; the sum of its areas' populations where they are only some of them
  (a source of one region's areas is not divided by the whole country); none where an area has no population and
  nothing shows the areas make up the country (a source reporting only "England and Wales" as GBR).
- ``v_total_coverage``: per source and year, how far the sum of the areas is from the national total.
- ``nested_shortfalls``: cells of a ``nested_totals`` source whose published sub-categories exceed the published
  total (the remainder was stored as 0): the evidence for the WARN check and quality.html.
- ``loaded_records``: per source, file and period, the input records loaded (incident records, or the table cells
  of an aggregate source, before cells of the same area, code and period are summed into one ``offence_counts``
  row): what ``v_coverage`` counts as records inside, before and after a window, so that they add up to the
  ``runs.records_loaded`` that the run summary and the pages give.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from schemas.source_config import SourceConfig
from warehouse.completeness import Finding
from warehouse.counts import FLAGS, nested_cells_sql
from warehouse.replace import replace_rows
from warehouse.sql import literal

MIN_AREAS = 3
MIN_CELLS = 4
MOST = 0.8
TOLERANCE_SHARE = 0.01  # |total - sum of the others| within 1% of the total ...
TOLERANCE_PER_AREA = 0.5  # ... or within half a unit per figure added (each published figure rounded)

FINDINGS: dict[str, str] = {
    "total_area_detected": "no area's counts equal the sum of the other areas (an undeclared national total row; "
    "declare it with total_area)",
    "nested_total_shortfall": "no published total is smaller than the sum of its published sub-categories "
    "(nested_totals)",
}

TABLES = """
CREATE TABLE IF NOT EXISTS total_areas (source VARCHAR NOT NULL, area VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS nested_shortfalls (
    source VARCHAR NOT NULL, file VARCHAR, country VARCHAR, area VARCHAR, year INTEGER, month INTEGER,
    national_code VARCHAR, published DOUBLE, parts DOUBLE, children VARCHAR);
CREATE TABLE IF NOT EXISTS loaded_records (
    source VARCHAR NOT NULL, file VARCHAR, unit VARCHAR NOT NULL, year INTEGER NOT NULL, month INTEGER,
    records BIGINT NOT NULL);
"""

VIEWS = f"""
CREATE OR REPLACE VIEW v_total_areas AS
WITH declared AS (
    SELECT DISTINCT t.source, c.country, c.unit, t.area FROM total_areas t JOIN offence_counts c USING (source)),
cells AS (
    SELECT c.source, c.country, c.unit, c.stage, c.area, c.iccs_code, c.national_code, c.year, c.month,
           sum(c.count) AS n
    FROM offence_counts c LEFT JOIN sources s USING (source)
    WHERE c.area IS NOT NULL AND coalesce(s.level, 'aggregate') <> 'incident'
      AND c.source NOT IN (SELECT source FROM total_areas)
    GROUP BY ALL),
areas AS (
    SELECT source, country, unit, count(DISTINCT area) AS n_areas FROM cells GROUP BY ALL
    HAVING count(DISTINCT area) >= {MIN_AREAS}),
suppressed AS (
    SELECT DISTINCT source FROM quarantine WHERE reason IN ('missing_count', 'invalid_count')),
framed AS (
    SELECT c.*, a.n_areas, sum(c.n) OVER w - c.n AS others, count(*) OVER w AS present,
           x.source IS NOT NULL AS has_suppressed
    FROM cells c JOIN areas a USING (source, country, unit) LEFT JOIN suppressed x ON x.source = c.source
    WINDOW w AS (PARTITION BY c.source, c.country, c.unit, c.stage, c.iccs_code, c.national_code, c.year, c.month)),
compared AS (
    SELECT *, abs(n - others) <= greatest({TOLERANCE_SHARE} * n, {TOLERANCE_PER_AREA} * present) AS matches
    FROM framed WHERE (present = n_areas OR (NOT has_suppressed AND present >= {MIN_AREAS})) AND n + others > 0),
judged AS (
    SELECT source, country, unit, area, count(*) AS cells_compared, count(*) FILTER (matches) AS cells_matching,
           arg_max(national_code || ' (ICCS ' || iccs_code || ') ' || year::VARCHAR
                   || coalesce('-' || lpad(month::VARCHAR, 2, '0'), '') || ': ' || n::VARCHAR
                   || ' = ' || others::VARCHAR || ' in the other ' || (n_areas - 1)::VARCHAR || ' areas', n)
               FILTER (matches) AS example
    FROM compared GROUP BY ALL),
detected AS (
    SELECT *, cells_matching / cells_compared AS share_matching FROM judged
    WHERE cells_compared >= {MIN_CELLS} AND cells_matching >= {MOST} * cells_compared
    QUALIFY row_number() OVER (PARTITION BY source, country, unit ORDER BY share_matching DESC, area) = 1)
SELECT source, country, unit, area, 'declared' AS basis, NULL::BIGINT AS cells_compared,
       NULL::BIGINT AS cells_matching, NULL::DOUBLE AS share_matching, NULL::VARCHAR AS example
FROM declared
UNION ALL
SELECT source, country, unit, area, 'detected', cells_compared, cells_matching, share_matching, example
FROM detected;

CREATE OR REPLACE VIEW v_offence_count_roles AS
SELECT c.*, CASE WHEN d.source IS NOT NULL THEN c.area IS NULL ELSE t.area IS NOT NULL END AS is_total
FROM offence_counts c
LEFT JOIN (SELECT DISTINCT source FROM total_areas) d ON d.source = c.source
LEFT JOIN (SELECT source, country, unit, area FROM v_total_areas WHERE basis = 'detected') t
    ON t.source = c.source AND t.country = c.country AND t.unit = c.unit AND t.area = c.area;

CREATE OR REPLACE VIEW v_offence_count_cells AS
-- Each cell with whether its national total is published beside it (same source, country, unit, stage, codes and
-- period): a join with the few total cells, not a window partitioned by every cell (13 s instead of 1.7 s over
-- 2M cells).
SELECT r.*, t.source IS NOT NULL AS has_total
FROM v_offence_count_roles r
LEFT JOIN (SELECT DISTINCT source, country, unit, stage, iccs_code, national_code, year, month
           FROM v_offence_count_roles WHERE is_total) t
    ON t.source IS NOT DISTINCT FROM r.source
    AND t.country IS NOT DISTINCT FROM r.country
    AND t.unit IS NOT DISTINCT FROM r.unit
    AND t.stage IS NOT DISTINCT FROM r.stage
    AND t.iccs_code IS NOT DISTINCT FROM r.iccs_code
    AND t.national_code IS NOT DISTINCT FROM r.national_code
    AND t.year IS NOT DISTINCT FROM r.year
    AND t.month IS NOT DISTINCT FROM r.month;

CREATE OR REPLACE VIEW v_national_counts AS
WITH cells AS (SELECT * FROM v_offence_count_cells),
national AS (
    SELECT source, country, iccs_code, national_code, year, month, unit, stage, sum(count) AS count,
           CASE WHEN bool_or(has_total) THEN 'total' ELSE 'areas' END AS basis,
           {FLAGS} AS flag  -- the flags of the cells summed, each once
    FROM cells WHERE is_total = has_total
    GROUP BY source, country, iccs_code, national_code, year, month, unit, stage),
links AS (
    -- the correspondence rows valid in a year, per source, ICCS code and national code
    SELECT n.source, n.iccs_code, n.national_code, n.year, r.national_code AS row_code,
           r.correspondence = 'partial' AS partial
    FROM (SELECT DISTINCT source, iccs_code, national_code, year FROM national) n
    JOIN correspondence r ON r.source = n.source AND r.iccs_code = n.iccs_code
     AND (r.valid_from IS NULL OR n.year >= year(r.valid_from)) AND (r.valid_to IS NULL OR n.year <= year(r.valid_to))),
judged AS (
    SELECT source, iccs_code, national_code, year,
           coalesce(bool_or(partial) FILTER (row_code = national_code), bool_or(partial), false) AS partial
    FROM links GROUP BY ALL)
SELECT n.*, coalesce(j.partial, false) AS partial_correspondence
FROM national n
LEFT JOIN judged j ON j.source = n.source AND j.iccs_code = n.iccs_code
 AND j.national_code IS NOT DISTINCT FROM n.national_code AND j.year = n.year;

CREATE OR REPLACE VIEW v_area_counts AS
SELECT * EXCLUDE (is_total) FROM v_offence_count_roles WHERE area IS NOT NULL AND NOT is_total;

CREATE OR REPLACE VIEW v_population AS
WITH names AS (SELECT DISTINCT country, area FROM v_total_areas),
relabelled AS (
    SELECT p.country, CASE WHEN n.area IS NULL THEN p.area END AS area, p.year, p.population,
           n.area IS NOT NULL AS from_total
    FROM population p LEFT JOIN names n ON n.country = p.country AND n.area = p.area
    WHERE p.sex = '_T' AND p.age = '_T')  -- all sexes and ages: v_population_by_sex_age has the groups
SELECT country, area, year, population FROM relabelled
QUALIFY row_number() OVER (PARTITION BY country, area, year ORDER BY from_total DESC) = 1;

CREATE OR REPLACE VIEW v_national_population AS
-- The denominator of a source's national rates: the population of the territory its national figure counts.
WITH frames AS (
    SELECT source, country, year, bool_or(is_total) AS has_total FROM v_offence_count_roles GROUP BY ALL),
areas AS (
    SELECT DISTINCT source, country, year, area FROM v_offence_count_roles WHERE area IS NOT NULL AND NOT is_total),
known AS (  -- the areas the population table knows in a country and year
    SELECT country, year, count(*) AS population_areas FROM v_population WHERE area IS NOT NULL GROUP BY ALL),
area_population AS (
    SELECT a.source, a.country, a.year, count(*) AS areas, count(p.population) AS areas_with_population,
           sum(p.population) AS population,
           string_agg(a.area, ', ' ORDER BY a.area) FILTER (p.population IS NULL) AS areas_without_population
    FROM areas a LEFT JOIN v_population p ON p.country = a.country AND p.area = a.area AND p.year = a.year
    GROUP BY ALL),
judged AS (
    SELECT f.source, f.country, f.year, a.areas, a.population AS areas_population, a.areas_without_population,
           CASE WHEN f.has_total OR a.areas IS NULL THEN 'country'
                WHEN a.areas_with_population = k.population_areas THEN 'country'
                WHEN a.areas_with_population = a.areas THEN 'areas' ELSE 'none' END AS population_basis
    FROM frames f
    LEFT JOIN area_population a USING (source, country, year)
    LEFT JOIN known k ON k.country = f.country AND k.year = f.year)
SELECT j.source, j.country, j.year,
       CASE j.population_basis WHEN 'country' THEN n.population WHEN 'areas' THEN j.areas_population END
           AS population,
       j.population_basis, coalesce(j.areas, 0) AS areas, j.areas_without_population
FROM judged j
LEFT JOIN v_population n ON n.country = j.country AND n.area IS NULL AND n.year = j.year;

CREATE OR REPLACE VIEW v_total_coverage AS
WITH cells AS (SELECT * FROM v_offence_count_cells)
SELECT source, country, unit, year, sum(count) FILTER (is_total) AS national_total,
       coalesce(sum(count) FILTER (NOT is_total AND area IS NOT NULL), 0) AS areas_sum,
       coalesce(sum(count) FILTER (NOT is_total AND area IS NOT NULL), 0)
           / nullif(sum(count) FILTER (is_total), 0) AS areas_share
FROM cells WHERE has_total
GROUP BY ALL
HAVING bool_or(area IS NOT NULL AND NOT is_total);
"""

COMMENTS: dict[str, str] = {
    "total_areas": "per source: the area declared as its national total (total_area); its rows have area NULL",
    "nested_shortfalls": "nested_totals cells whose published sub-categories exceed the published total "
    "(remainder stored as 0): published total vs sum of parts",
    "loaded_records": "per source, file, unit, year and month (NULL for annual data): the input records loaded "
    "(incident records, or table cells of an aggregate source before equal cells are summed into one "
    "offence_counts row); a file no longer in offence_counts was pruned and is not counted",
    "v_total_areas": "per source, country and unit: the national total area, declared or detected (an area equal "
    "to the sum of the others), with the evidence",
    "v_national_counts": "the national figure per source, offence and period: the total row where the source has "
    "one, else the sum of its areas (basis total/areas); every national statistic uses it. "
    "partial_correspondence: the correspondence table marks the link of this national code to this ICCS code "
    "'partial' (the national category and the ICCS category only overlap), or, where the record's offence text "
    "is not itself a national code of the table (label or hierarchy matching), some row to this ICCS code is "
    "partial: such a figure is not strictly the ICCS category; flag: the flags of the cells summed, each once",
    "v_area_counts": "offence_counts of real areas (never a national total row)",
    "v_population": "population with the row of a total area as the national population (area NULL)",
    "v_national_population": "per source, country and year: the denominator of the source's national rates, "
    "the population of the territory its national figure counts. population_basis 'country': the national "
    "population, where the figure is the country's own (rows without an area, a total row) or its areas include "
    "every area the population table knows for the country; 'areas': the sum of the populations of the source's "
    "areas, where it covers only some of them (one region's small areas); 'none': no rate, because the figure "
    "sums areas some of which have no population (areas_without_population) and the population table cannot "
    "show they make up the country (England and Wales alone is not the United Kingdom)",
    "v_total_coverage": "per source and year where a national total exists: the sum of the areas as a share of it",
    "v_offence_count_roles": "offence_counts with is_total: whether the row is a national total row",
    "v_offence_count_cells": "v_offence_count_roles with has_total: whether the cell's national total is "
    "published beside it (then the total counts nationally, not the sum of the areas)",
}


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Tables and views of this module (the views read ``offence_counts``, ``sources`` and ``population``)."""
    con.execute(TABLES)
    con.execute(VIEWS)
    for name, text in COMMENTS.items():
        kind = "VIEW" if name.startswith("v_") else "TABLE"
        con.execute(f"COMMENT ON {kind} {name} IS {literal(text)}")


def declare(con: duckdb.DuckDBPyConnection, src: SourceConfig) -> None:
    """Record the source's declared total area (or that it has none)."""
    rows = "SELECT $source AS source, $area::VARCHAR AS area WHERE $area IS NOT NULL"
    replace_rows(con, "total_areas", "source = $source", rows, {"source": src.name, "area": src.total_area})


def shortfalls_sql(src: SourceConfig, batch: str, where: str) -> str:
    """The nested_shortfalls rows of a batch (see ``warehouse.counts.nested_cells_sql``)."""
    return f"""
        SELECT DISTINCT country, area, year, month, national_code, published, parts, children, file
        FROM ({nested_cells_sql(src, batch, where)}) WHERE parts > published * (1 + 1e-9) + 1e-9"""


def record_load(con: duckdb.DuckDBPyConnection, src: SourceConfig, file: str, batch: str, where: str) -> None:
    """After a file's counts are stored: its declared total area, its records loaded per period and its
    nested-total shortfalls."""
    declare(con, src)
    # The file's own rows or, for a zip archive, its members' ('x.zip/a.csv'), as ``warehouse.load.FILE_MATCH``.
    for table in ("nested_shortfalls", "loaded_records"):
        con.execute(
            f"DELETE FROM {table} WHERE source = ? AND (file = ? OR starts_with(file, ? || '/'))",
            [src.name, file, file],
        )
    month = "month(occurred_on)" if src.period in ("day", "month") else "NULL::INTEGER"
    con.execute(
        f"""
        INSERT INTO loaded_records (source, file, unit, year, month, records)
        SELECT ?, file, ?, year(occurred_on), {month}, count(*) FROM {batch} WHERE {where} GROUP BY 2, 4, 5""",
        [src.name, src.unit],
    )
    if src.nested_totals:
        con.execute(
            f"""
            INSERT INTO nested_shortfalls (source, file, country, area, year, month, national_code, published,
                                           parts, children)
            SELECT ?, file, country, area, year, month, national_code, published, parts, children
            FROM ({shortfalls_sql(src, batch, where)})""",
            [src.name],
        )


def shortfalls(con: duckdb.DuckDBPyConnection, source: str | None = None) -> pd.DataFrame:
    """Shortfall cells of files still loaded (a pruned file's rows are gone from offence_counts)."""
    return con.execute(
        """
        SELECT s.source, s.country, s.area, s.year, s.month, s.national_code, s.published AS published_total,
               s.parts AS sum_of_parts, s.children AS sub_categories, parse_filename(s.file) AS file
        FROM nested_shortfalls s
        WHERE (? IS NULL OR s.source = ?)
          AND EXISTS (SELECT 1 FROM offence_counts c WHERE c.source = s.source AND c.file = s.file)
        ORDER BY ALL""",
        [source, source],
    ).fetch_df()


def detected(con: duckdb.DuckDBPyConnection, source: str | None = None) -> pd.DataFrame:
    return con.execute(
        "SELECT * FROM v_total_areas WHERE basis = 'detected' AND (? IS NULL OR source = ?) ORDER BY ALL",
        [source, source],
    ).fetch_df()


def coverage(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    return con.execute("SELECT * FROM v_total_coverage ORDER BY ALL").fetch_df()


def findings(con: duckdb.DuckDBPyConnection, source: str) -> list[Finding]:
    """The two WARN checks of one source, with their evidence (never blocking: the national figure is already
    counted once)."""
    found = detected(con, source)
    rows = found.to_dict("records")
    detected_finding = Finding(
        name="total_area_detected",
        passed=not rows,
        description="; ".join(
            f"area '{r['area']}' ({r['country']}, {r['unit']}) equals the sum of the other areas in "
            f"{r['cells_matching']} of {r['cells_compared']} cells compared ({r['share_matching']:.0%}), "
            f"e.g. {r['example']}: counted as the national total, not as an area (declare total_area: "
            f'"{r["area"]}" to make it explicit)'
            for r in rows
        )
        or "no area equals the sum of the others",
        metadata={"areas": [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in rows]},
    )
    short = shortfalls(con, source)
    nested_finding = Finding(
        name="nested_total_shortfall",
        passed=short.empty,
        description=(
            f"{len(short)} cell(s) where the published sub-categories exceed the published total "
            "(remainder stored as 0, so roll-ups show the parts' sum): "
            + "; ".join(_shortfall_text(r) for r in short.head(5).to_dict("records"))
        )
        if len(short)
        else "none",
        metadata={"cells": len(short)},
    )
    return [detected_finding, nested_finding]


def _shortfall_text(r: dict) -> str:
    month = "" if pd.isna(r["month"]) else f"-{int(r['month']):02d}"
    return (
        f"{r['area'] or r['country']} {r['year']}{month} '{r['national_code']}' published "
        f"{r['published_total']:,.0f} < parts {r['sum_of_parts']:,.0f} ({r['sub_categories']})"
    )
