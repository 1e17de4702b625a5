"""The reads behind hotspots.html: every query of the page, aggregated in DuckDB.

The grid section counts its records on the grid in DuckDB (`reports.hotspots.binning.bin_in_sql`), from the rows of
`grid_records_sql`; `grid_records` brings those rows (one per place, year, ICCS level-2 category, area and component)
to Python as numpy arrays, for the reference path and the rare grid DuckDB's arithmetic cannot settle.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from reports import queries
from warehouse.coverage import relation
from warehouse.sql import literal

VALID_POINT = "latitude BETWEEN -90 AND 90 AND longitude BETWEEN -180 AND 180"
# the ICCS level-2 category of each record (the record's own code when it is only coded at level 1)
_LEVEL2 = "LEFT JOIN iccs_ancestors a ON a.code = o.iccs_code AND a.ancestor_level = 2"


def has_offences(con: duckdb.DuckDBPyConnection) -> bool:
    return queries.table_exists(con, "offences")


def records(con: duckdb.DuckDBPyConnection, weapon: str | None = None) -> str:
    """The incident records the page maps (inside each source's coverage window), or only those committed with
    `weapon` (a code of ``iccs.disaggregations``: 'FIREARM')."""
    offences = relation(con, "offences")
    return offences if weapon is None else f"(SELECT * FROM {offences} WHERE weapon = {literal(weapon)})"


# weapon values that say nothing about the means used
UNKNOWN_WEAPON = ("_U", "_Z", "UNKNOWN_MEANS")


def weapon_datasets(con: duckdb.DuckDBPyConnection, weapon: str) -> pd.DataFrame:
    """Per source and unit whose records carry the weapon tag (some ``weapon`` not NULL): its records, those with
    the tag, those with a known weapon, and those committed with `weapon`, with a usable point and naming an area.
    Empty where no source gives the weapon (or in a warehouse written before the column existed)."""
    if not queries.has_columns(con, "offences", ["weapon"]):
        return pd.DataFrame(columns=["source", "unit", "countries", "records", "tagged", "known", "subset"])
    unknown = ", ".join(literal(u) for u in UNKNOWN_WEAPON)
    return queries.frame(
        con,
        f"""
        SELECT source, unit, string_agg(DISTINCT country, ', ' ORDER BY country) AS countries,
               count(*) AS records,
               count(weapon) AS tagged,
               count(*) FILTER (WHERE weapon NOT IN ({unknown})) AS known,
               count(*) FILTER (WHERE weapon = ?) AS subset,
               count(*) FILTER (WHERE weapon = ? AND {VALID_POINT}) AS with_points,
               count(*) FILTER (WHERE weapon = ? AND area IS NOT NULL) AS with_area
        FROM {relation(con, "offences")} GROUP BY source, unit HAVING count(weapon) > 0 ORDER BY source, unit
        """,
        [weapon, weapon, weapon],
    )


def datasets(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per source and unit: its countries, its records, and how many have a usable point or name an area."""
    return queries.frame(
        con,
        f"""
        SELECT source, unit, string_agg(DISTINCT country, ', ' ORDER BY country) AS countries,
               count(*) AS records,
               count(*) FILTER (WHERE {VALID_POINT}) AS with_points,
               count(*) FILTER (WHERE area IS NOT NULL) AS with_area
        FROM {relation(con, "offences")} GROUP BY source, unit ORDER BY source, unit
        """,
    )


def category_labels(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT code, label FROM iccs_categories").fetchall())


@dataclass(frozen=True)
class Records:
    """One dataset's geocoded records grouped by (place, year, ICCS level-2 code, area): equal-length arrays."""

    lon: np.ndarray
    lat: np.ndarray
    year: np.ndarray
    code: np.ndarray
    area: np.ndarray  # object array, None where the record has no area
    n: np.ndarray
    component: np.ndarray | None = None  # object array: the record's Target 16.4 component, None if not one


def _strings(column: pa.ChunkedArray) -> np.ndarray:
    """An Arrow string column as a numpy object array, decoding each distinct value once."""
    encoded = pc.dictionary_encode(column).combine_chunks()
    dictionary = np.asarray(encoded.dictionary.to_pylist() + [None], dtype=object)
    indices = encoded.indices.fill_null(len(encoded.dictionary)).to_numpy(zero_copy_only=False)
    return dictionary[indices.astype(np.int64)]


def grid_records_sql(
    con: duckdb.DuckDBPyConnection, source: str, unit: str, weapon: str | None = None
) -> tuple[str, list[str]]:
    """The query (and its parameters) of the dataset's records with a usable point (those committed with `weapon`
    only, when given), grouped by place, year, level-2 category, area and Target 16.4 component: lon, lat, year,
    code, area, component, n."""
    # a record is a Target 16.4 offence when its own ICCS code is on the 16.4 list (sub-categories included)
    components = (
        "SELECT iccs_code, min(component) AS component FROM sdg16_codes WHERE indicator = '16.4' GROUP BY iccs_code"
        if queries.table_exists(con, "sdg16_codes")
        else "SELECT NULL::VARCHAR AS iccs_code, NULL::VARCHAR AS component WHERE false"
    )
    sql = f"""
        SELECT o.longitude AS lon, o.latitude AS lat, year(o.occurred_on) AS year,
               coalesce(a.ancestor_code, o.iccs_code) AS code, o.area, s.component, count(*) AS n
        FROM {records(con, weapon)} o {_LEVEL2}
        LEFT JOIN ({components}) s ON s.iccs_code = o.iccs_code
        WHERE o.source = ? AND o.unit = ? AND {VALID_POINT}
        GROUP BY ALL
        """
    return sql, [source, unit]


def grid_records(con: duckdb.DuckDBPyConnection, source: str, unit: str, weapon: str | None = None) -> Records:
    """The dataset's records with a usable point, grouped by place, year, level-2 category, area and component
    (every distinct point comes to Python: the reference `reports.hotspots.binning.bin_in_sql` is checked against)."""
    sql, params = grid_records_sql(con, source, unit, weapon)
    table = con.execute(sql, params).to_arrow_table()
    return Records(
        lon=table.column("lon").to_numpy(),
        lat=table.column("lat").to_numpy(),
        year=table.column("year").to_numpy().astype(np.int64),
        code=_strings(table.column("code")),
        area=_strings(table.column("area")),
        n=table.column("n").to_numpy().astype(float),
        component=_strings(table.column("component")),
    )


def area_records(con: duckdb.DuckDBPyConnection, source: str, unit: str, weapon: str | None = None) -> pd.DataFrame:
    """The dataset's records that name an area (those committed with `weapon` only, when given), per country,
    area, year and level-2 category."""
    return queries.frame(
        con,
        f"""
        SELECT o.country, o.area, year(o.occurred_on) AS year, coalesce(a.ancestor_code, o.iccs_code) AS code,
               count(*) AS n
        FROM {records(con, weapon)} o {_LEVEL2}
        WHERE o.source = ? AND o.unit = ? AND o.area IS NOT NULL
        GROUP BY ALL
        """,
        [source, unit],
    )


def area_positions(con: duckdb.DuckDBPyConnection, rows: pd.DataFrame, shapes: pd.DataFrame) -> pd.DataFrame:
    """Each (country, area) of ``rows``: a point inside its shape where the source's boundaries give one (matched
    trimmed and case-insensitively), else the mean position of its geocoded records."""
    recorded = centroids(con, sorted(rows["country"].unique().tolist()))
    if shapes.empty:
        return recorded
    named = rows[["country", "area"]].drop_duplicates()
    key = shapes["country"] + "\x1f" + shapes["area"].str.strip().str.lower()
    points = shapes.assign(_k=key).drop_duplicates("_k").set_index("_k")[["lon", "lat"]]
    found = points.reindex(named["country"] + "\x1f" + named["area"].astype(str).str.strip().str.lower())
    shaped = named.assign(lon=found["lon"].to_numpy(), lat=found["lat"].to_numpy()).dropna(subset=["lon"])
    rest = recorded.merge(shaped[["country", "area"]], how="left", indicator=True)
    rest = rest[rest["_merge"] == "left_only"].drop(columns="_merge")
    return pd.concat([shaped, rest], ignore_index=True)


def centroids(con: duckdb.DuckDBPyConnection, countries: list[str]) -> pd.DataFrame:
    """Mean position of the geocoded records (of any source) of each (country, area)."""
    return queries.frame(
        con,
        f"""
        SELECT country, area, avg(longitude) AS lon, avg(latitude) AS lat
        FROM offences
        WHERE area IS NOT NULL AND {VALID_POINT} AND list_contains(?, country)
        GROUP BY ALL
        """,
        [countries],
    )
