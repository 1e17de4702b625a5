"""The warehouse's tables and views, created idempotently so any connection can ensure them."""

from __future__ import annotations

import functools
import hashlib
import importlib
import sys
from pathlib import Path
from types import ModuleType

import duckdb

from iccs.disaggregations import POPULATION_VARIABLES, TOTAL, VARIABLES
from warehouse.sql import literal
from warehouse.transaction import retrying, transaction

# The version of the tables and views a warehouse was last brought to: see ``ensure_schema``.
SCHEMA_TABLE = "warehouse_schema"

TABLES = """
CREATE TABLE IF NOT EXISTS iccs_categories (
    code VARCHAR NOT NULL, level INTEGER NOT NULL, parent_code VARCHAR, label VARCHAR NOT NULL,
    label_es VARCHAR, section VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS iccs_ancestors (code VARCHAR, ancestor_code VARCHAR, ancestor_level INTEGER);
CREATE TABLE IF NOT EXISTS sdg16_codes (
    indicator VARCHAR NOT NULL, component VARCHAR, title VARCHAR, unit VARCHAR, iccs_code VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
    source VARCHAR NOT NULL, country VARCHAR, level VARCHAR, unit VARCHAR, stage VARCHAR,
    period VARCHAR, description VARCHAR, files VARCHAR, correspondence VARCHAR, config VARCHAR);
CREATE TABLE IF NOT EXISTS correspondence (
    source VARCHAR, national_code VARCHAR, national_label VARCHAR, iccs_code VARCHAR, note VARCHAR,
    correspondence VARCHAR, share DOUBLE, valid_from DATE, valid_to DATE, basis VARCHAR);
CREATE TABLE IF NOT EXISTS offences (
    source VARCHAR NOT NULL, country VARCHAR NOT NULL, record_id VARCHAR NOT NULL, occurred_on DATE NOT NULL,
    national_code VARCHAR NOT NULL, iccs_code VARCHAR NOT NULL, area VARCHAR, latitude DOUBLE, longitude DOUBLE,
    unit VARCHAR NOT NULL, stage VARCHAR NOT NULL, file VARCHAR, row_number BIGINT, victim_sex VARCHAR,
    victim_age VARCHAR, perpetrator_sex VARCHAR, perpetrator_age VARCHAR, weapon VARCHAR,
    situational_context VARCHAR);
CREATE TABLE IF NOT EXISTS offence_counts (
    source VARCHAR NOT NULL, country VARCHAR NOT NULL, area VARCHAR, iccs_code VARCHAR NOT NULL,
    national_code VARCHAR, year INTEGER NOT NULL, month INTEGER, unit VARCHAR NOT NULL, stage VARCHAR NOT NULL,
    count DOUBLE NOT NULL, file VARCHAR, flag VARCHAR);
CREATE TABLE IF NOT EXISTS population (country VARCHAR NOT NULL, area VARCHAR, year INTEGER NOT NULL,
    population DOUBLE NOT NULL, sex VARCHAR DEFAULT '_T', age VARCHAR DEFAULT '_T');
CREATE TABLE IF NOT EXISTS quarantine (
    source VARCHAR NOT NULL, file VARCHAR, row_number BIGINT, reason VARCHAR NOT NULL, detail VARCHAR, raw VARCHAR,
    run_id VARCHAR, national_code VARCHAR, exclusion VARCHAR, exclusion_note VARCHAR);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR, source VARCHAR, file VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP, records_in BIGINT,
    records_loaded BIGINT, records_quarantined BIGINT, files INTEGER, status VARCHAR);
CREATE TABLE IF NOT EXISTS area_boundaries (
    source VARCHAR NOT NULL, country VARCHAR NOT NULL, area VARCHAR NOT NULL, label VARCHAR NOT NULL,
    geometry VARCHAR NOT NULL, lon DOUBLE, lat DOUBLE, file VARCHAR);
CREATE TABLE IF NOT EXISTS warehouse_schema (fingerprint VARCHAR, applied_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS contract_checks (
    source VARCHAR NOT NULL, file VARCHAR NOT NULL, run_id VARCHAR, contract VARCHAR NOT NULL,
    "table" VARCHAR NOT NULL, rule VARCHAR NOT NULL, "column" VARCHAR, failures BIGINT NOT NULL, severity VARCHAR,
    proved VARCHAR, example VARCHAR);
"""

VIEWS = """
CREATE OR REPLACE VIEW v_counts AS
-- Counts rolled up to every ICCS ancestor of the mapped code (02011 also counts in 0201 and 02), by area and
-- for the whole country; a source mapped only to level 2 never shows up at level 3. The national figure is
-- v_national_counts (a source's total row where it has one, else the sum of its areas); a total area is no area.
WITH rolled AS (
    SELECT c.source, c.country, c.area, a.ancestor_code AS iccs_code, a.ancestor_level AS level, c.year,
           c.month, c.unit, c.stage, c.count
    FROM v_area_counts c JOIN iccs_ancestors a ON a.code = c.iccs_code
    UNION ALL
    SELECT c.source, c.country, NULL AS area, a.ancestor_code, a.ancestor_level, c.year, c.month, c.unit,
           c.stage, c.count
    FROM v_national_counts c JOIN iccs_ancestors a ON a.code = c.iccs_code)
SELECT source, country, area, iccs_code, level, year, unit, stage, sum(count) AS count,
       count(DISTINCT month) AS months
FROM rolled GROUP BY ALL;

CREATE OR REPLACE VIEW v_rates AS
-- Rates per 100,000 with the population of the same territory and year: an area's own population; for the
-- national figure (area NULL) the population of what it counts (v_national_population: the country's, or the sum
-- of the source's areas' populations where the figure is their sum, or none: then no rate). `months` says how
-- many months of the year the counts cover (0 for annual data): a partial year is not a yearly rate.
SELECT c.country, c.area, c.iccs_code, c.level, c.year, c.unit, c.count,
       CASE WHEN c.area IS NULL THEN n.population ELSE p.population END AS population,
       c.count * 100000.0 / CASE WHEN c.area IS NULL THEN n.population ELSE p.population END AS rate_per_100k,
       c.source, c.stage, c.months,
       CASE WHEN c.area IS NULL THEN coalesce(n.population_basis, 'country') ELSE 'area' END AS population_basis
FROM v_counts c
LEFT JOIN v_population p ON c.area IS NOT NULL AND p.country = c.country AND p.year = c.year AND p.area = c.area
LEFT JOIN v_national_population n
    ON c.area IS NULL AND n.source = c.source AND n.country = c.country AND n.year = c.year;

CREATE OR REPLACE VIEW v_counts_by_section_year AS
SELECT r.country, r.source, r.unit, r.stage, r.iccs_code AS section, c.label, r.year, r.count, r.population,
       r.rate_per_100k, r.months, r.population_basis
FROM v_rates r JOIN iccs_categories c ON c.code = r.iccs_code
WHERE r.level = 1 AND r.area IS NULL;

CREATE OR REPLACE VIEW v_sdg16 AS
-- A record counts towards an indicator when its own code is one of the indicator's codes (a record mapped to a
-- coarser code than the indicator's never does): no roll-up, so nothing is counted twice.
-- partial_correspondence: some of the count comes through a correspondence row marked 'partial' (a national
-- category that only overlaps the ICCS one): quote it with that caveat.
SELECT s.indicator, s.component, s.title, o.country, o.source, o.unit, o.stage, o.year, sum(o.count) AS count,
       any_value(p.population) AS population, sum(o.count) * 100000.0 / any_value(p.population) AS rate_per_100k,
       bool_or(o.partial_correspondence) AS partial_correspondence,
       any_value(p.population_basis) AS population_basis
FROM v_national_counts o
JOIN sdg16_codes s ON s.iccs_code = o.iccs_code
-- the population of the territory the national figure counts (v_national_population; none: no rate)
LEFT JOIN v_national_population p ON p.source = o.source AND p.country = o.country AND p.year = o.year
GROUP BY s.indicator, s.component, s.title, o.country, o.source, o.unit, o.stage, o.year;

CREATE OR REPLACE VIEW v_quarantine_summary AS
SELECT source, reason, count(*) AS records, count(DISTINCT file) AS files, min(detail) AS example
FROM quarantine GROUP BY ALL;

CREATE OR REPLACE VIEW v_latest_runs AS
SELECT * EXCLUDE (rn) FROM (
    SELECT *, row_number() OVER (PARTITION BY source, file ORDER BY finished_at DESC) AS rn FROM runs)
WHERE rn = 1;
"""

# Columns of the quarantine table that classify fills (warehouse.classify) and reports read (warehouse.quality).
QUARANTINE_FACTS = ("national_code", "exclusion", "exclusion_note")
# Rows quarantined before those columns existed carry the facts only in their English detail, worded
# "<column>: national code '<code>' <why>", <why> being "is not in <table>", "has no row in <table> valid on
# <date>" or "is excluded from ICCS by <table>: <note>" (older still: reason unmapped_offence with "is outside
# ICCS"); an excluded_offence detail may not quote the code, which is then the raw record's value of <column>.
# They are read from there once; rows written since carry the columns (their exclusion is never NULL).
FILL_QUARANTINE_FACTS = r"""
UPDATE quarantine SET
    exclusion = CASE WHEN reason = 'excluded_offence'
                          OR regexp_matches(detail, 'national code ''.*'' (is excluded from|is outside) ICCS')
                          THEN 'excluded'
                     WHEN regexp_matches(detail, 'national code ''.*'' has no row in') THEN 'no_row_on_date'
                     ELSE 'unmapped' END,
    national_code = coalesce(
        national_code,
        nullif(regexp_extract(detail, 'national code ''(.*?)'' '
                                      || '(?:is not in|has no row in|is excluded from ICCS|is outside ICCS)', 1), ''),
        json_extract_string(try_cast(raw AS JSON),
                            '$."' || nullif(regexp_extract(detail, '^([^:'']+): ', 1), '') || '"'),
        nullif(regexp_extract(detail, '''(.*?)''', 1), '')),
    exclusion_note = nullif(regexp_extract(detail, 'is excluded from ICCS by [^:]*: (.*)$', 1), '')
WHERE reason IN ('unmapped_offence', 'excluded_offence') AND exclusion IS NULL"""


COMMENTS: dict[str, str] = {
    "iccs_categories": "ICCS v1.0 categories: code (leading zeros kept), level 1-4, parent_code, English/Spanish label",
    "iccs_ancestors": "code -> each ancestor (itself included): join and group by ancestor_code to roll up counts",
    "sdg16_codes": "SDG 16 indicator (and 16.4 component) -> the exact ICCS codes that count towards it",
    "sources": "configured sources: country, level (incident/aggregate), counting unit, recording stage, files",
    "correspondence": "per source: national offence code -> ICCS code (any level)",
    "offences": "incident records that passed every check, one row each, with national and ICCS code",
    "offence_counts": "counts by source, area, ICCS code, year and month (NULL for annual data) and unit; "
    "incident sources aggregated, aggregate sources as given; count is always finite (a missing "
    "or suppressed cell is in quarantine as missing_count); whole, except where flag contains "
    "'allocated' (spread over the targets of a split correspondence by share) or the source "
    "publishes estimates (fractional_counts)",
    "area_boundaries": "per source, the shape of each area its boundaries file gives: GeoJSON in longitude/"
    "latitude (EPSG:4326), simplified for maps; lon/lat a point inside it; label the name maps show",
    "population": "population by country, area (NULL = national), year, sex and age ('_T' = all): the "
    "denominator of rates",
    "quarantine": "every input record that was not loaded: file, line, reason code, detail and the raw record; "
    "its national_code and, for a code without ICCS code, why (exclusion: unmapped, no_row_on_date "
    "or excluded) and the correspondence table's note on an excluded code (exclusion_note)",
    "contract_checks": "per landed file, each rule of the contracts of its rows in offences, offence_counts and "
    "quarantine as its load checked them: failures, or proved (not scanned: what guarantees the rule)",
    "runs": "one row per source and run: records in = loaded + quarantined; records_filtered = rows the "
    "source's filter/exclude left out (not records)",
    "v_counts": "offence_counts rolled up to every ICCS ancestor, by area and national (area NULL); months = "
    "months of the year covered (0 = annual data)",
    "v_rates": "v_counts with the population of the same territory and year and the rate per 100,000: an area's "
    "own; for national rows (area NULL) v_national_population's (population_basis country, areas = the sum of "
    "the source's areas' populations, or none = no rate: an area without population); never sum across unit",
    "completeness": "every expected period x reporting area of each source, present or not (data quality)",
    "series_breaks": "ICCS categories that appear or vanish between periods of a source: a likely recording change",
    "completeness_findings": "per source, each completeness check of the quality job: passed or not, what it "
    "found, and its evidence (metadata, JSON)",
    "mapping_coverage": "per source or correspondence table: records and national codes mapped to ICCS",
    "mapping_coverage_codes": "unmapped or excluded national codes by volume, with candidate ICCS categories",
    "v_counts_by_section_year": "national counts and rates by ICCS section (level 1) and year, with labels",
    "v_sdg16": "SDG 16 indicators and 16.4 components: counts and rates per 100,000 by country, year and unit "
    "(over the population of the territory counted: v_national_population, population_basis); "
    "partial_correspondence: some of the count comes through a correspondence row marked partial (the national "
    "category only overlaps the ICCS one), so the figure is not strictly the indicator's",
    "v_quarantine_summary": "quarantined records by source and reason, with an example detail",
    "v_latest_runs": "the latest load of every landed file: records in, loaded, quarantined",
    SCHEMA_TABLE: "the version of the code that last created the tables and views (a hash of it)",
}


# The other modules whose tables and views the warehouse has (imported when needed: they import this one).
_PARTS = (
    "anomalies",
    "completeness",
    "correspondence",
    "coverage",
    "disaggregated_views",
    "disaggregation",
    "mapping_coverage",
    "totals",
)


def _parts() -> tuple[ModuleType, ...]:
    return tuple(importlib.import_module(f"warehouse.{name}") for name in _PARTS)


def _modules() -> list[ModuleType]:
    return [sys.modules[__name__], *_parts()]


@functools.cache
def fingerprint() -> str:
    """A hash of the code that defines the tables and views: it changes whenever any of their definitions does."""
    digest = hashlib.sha256()
    for module in _modules():
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()[:16]


def _applied(con: duckdb.DuckDBPyConnection) -> str | None:
    """The fingerprint the warehouse was brought to; None for a new warehouse (or one from before the table)."""
    try:
        return con.execute(f"SELECT max(fingerprint) FROM {SCHEMA_TABLE}").fetchone()[0]
    except duckdb.CatalogException:
        return None


def is_current(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the warehouse's tables and views are those of this code (a read-only reader cannot bring them)."""
    return _applied(con) == fingerprint()


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Every table and view of the warehouse, so any client (and `iccs sql --tables`) sees the whole of it.

    Written in one transaction, and only when the warehouse was last brought to another version of this code: a
    step that finds it current writes nothing (on a DuckLake every statement would be a snapshot, and a catalog
    change conflicts with every other writer's commit)."""
    current = fingerprint()

    def bring() -> None:  # again after a conflict: the other writer may have brought it to this version already
        if _applied(con) == current:
            return
        with transaction(con):
            _create(con)
            con.execute(f"DELETE FROM {SCHEMA_TABLE}")
            con.execute(f"INSERT INTO {SCHEMA_TABLE} VALUES (?, now()::TIMESTAMP)", [current])

    retrying(bring, "creating the warehouse's tables and views")


def _create(con: duckdb.DuckDBPyConnection) -> None:
    anomalies, completeness, correspondence, coverage, disaggregated_views, disaggregation, mapping_coverage, totals = (
        _parts()
    )

    con.execute(TABLES)
    # rows a source's filter/exclude left out, per load (warehouses created before it get the column)
    con.execute("ALTER TABLE runs ADD COLUMN IF NOT EXISTS records_filtered BIGINT")
    for column in QUARANTINE_FACTS:  # warehouses created before them get the columns, filled from the detail
        con.execute(f"ALTER TABLE quarantine ADD COLUMN IF NOT EXISTS {column} VARCHAR")
    con.execute(FILL_QUARANTINE_FACTS)
    correspondence.ensure_columns(con)  # warehouses created before the mapping engine
    # warehouses created before disaggregations: incident records without them, population of all sexes and ages
    for variable in VARIABLES:
        con.execute(f"ALTER TABLE offences ADD COLUMN IF NOT EXISTS {variable} VARCHAR")
    for variable in POPULATION_VARIABLES:
        con.execute(f"ALTER TABLE population ADD COLUMN IF NOT EXISTS {variable} VARCHAR DEFAULT '{TOTAL}'")
    con.execute(disaggregation.TABLES)
    completeness.ensure_tables(con)
    mapping_coverage.ensure_tables(con)
    totals.ensure_tables(con)  # the national figure, read by the views below
    coverage.ensure_tables(con)  # coverage windows and the window-restricted views (of the national figure too)
    anomalies.ensure_tables(con)  # the patterns page's findings
    con.execute(VIEWS)
    disaggregated_views.ensure_views(con)
    for name, text in {**COMMENTS, **disaggregation.COMMENTS, **disaggregated_views.COMMENTS}.items():
        kind = "VIEW" if name.startswith("v_") else "TABLE"
        con.execute(f"COMMENT ON {kind} {name} IS {literal(text)}")
