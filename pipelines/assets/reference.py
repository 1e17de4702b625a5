"""Reference layer: the ICCS classification with its SDG 16 links, the population denominators and the shapes of
the areas."""

import dagster as dg

from pipelines.checks import population_check_specs, population_checks, reference_check_specs, reference_checks
from pipelines.resources import SourcesConfig, WarehouseResource
from warehouse.boundaries import load_boundaries
from warehouse.ddl import ensure_schema
from warehouse.population import load_population, rejected_population
from warehouse.reference import load_classification

WRITER_POOL = "iccs_writer"


@dg.asset(
    group_name="reference",
    pool=WRITER_POOL,
    kinds={"duckdb"},
    check_specs=reference_check_specs(),
    description="ICCS v1.0 categories, code → ancestor pairs for roll-ups, and SDG 16 indicator codes.",
)
def iccs_reference(duckdb: WarehouseResource) -> dg.MaterializeResult:
    with duckdb.get_connection() as con:
        ensure_schema(con)
        categories = load_classification(con)
        levels = dict(con.execute("SELECT level, count(*) FROM iccs_categories GROUP BY 1 ORDER BY 1").fetchall())
        sdg_codes = con.execute("SELECT count(*) FROM sdg16_codes").fetchone()[0]
        check_results = reference_checks(con)
    return dg.MaterializeResult(
        check_results=check_results,
        metadata={
            "categories": categories,
            "sdg16_codes": sdg_codes,
            **{f"level_{level}": count for level, count in levels.items()},
        },
    )


@dg.asset(
    group_name="reference",
    pool=WRITER_POOL,
    kinds={"duckdb"},
    check_specs=population_check_specs(),
    description="Population by country, area (NULL = national) and year: the denominator of every rate.",
)
def population(duckdb: WarehouseResource, sources: SourcesConfig) -> dg.MaterializeResult:
    config = sources.load()
    with duckdb.get_connection() as con:
        ensure_schema(con)
        rows = load_population(con, config.population)
        countries, first, last = con.execute(
            "SELECT count(DISTINCT country), min(year), max(year) FROM population"
        ).fetchone()
        check_results = population_checks(con)
        rejected = rejected_population(con)
    return dg.MaterializeResult(
        check_results=check_results,
        metadata={
            "rows": rows,
            "countries": countries,
            "first_year": first,
            "last_year": last,
            "files": len(config.population),
            # rows kept out as invalid_population (iccs quarantine --source population)
            "rejected_rows": rejected,
        },
    )


@dg.asset(
    group_name="reference",
    pool=WRITER_POOL,
    kinds={"duckdb"},
    description="The shapes of the areas of every source that names a boundaries file: the places on the maps.",
)
def boundaries(duckdb: WarehouseResource, sources: SourcesConfig) -> dg.MaterializeResult:
    config = sources.load()
    with duckdb.get_connection() as con:
        ensure_schema(con)
        loaded = load_boundaries(con, config.sources)
    return dg.MaterializeResult(
        metadata={
            "sources": len(loaded),
            "shapes": sum(r.shapes for r in loaded),
            "features_without_area": sum(r.without_area for r in loaded),
            "files": ", ".join(f"{r.source}: {r.file} ({r.shapes} shapes)" for r in loaded) or "none",
        }
    )
