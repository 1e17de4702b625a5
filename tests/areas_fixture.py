"""A warehouse of one annual, area-level source unlike the demo, for the area maps: 16 regions of a southern,
western-hemisphere country (CHL) on a 4 x 4 lattice of shapes in its own boundaries file, with the traps a real
publisher brings:

- a cluster of four touching high-rate regions in one corner (Local Moran's I must find it);
- `Ñuble` spelled ` ñUBLE ` in the boundaries file (matched trimmed and case-insensitively);
- `Isla Remota`, a region with records but no shape (listed, never dropped), and `Sin Datos`, a shape no record
  names (drawn as "no figure");
- `Pequeña`, a region with fewer than 20 offences a year (its rate is flagged unreliable);
- `Sin Padrón`, a region without population (a count, no rate);
- falling and rising regions, so that changes of both signs are drawn.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

from schemas.source_config import load_config
from warehouse.boundaries import load_boundaries
from warehouse.connection import connect
from warehouse.ddl import ensure_schema
from warehouse.reference import load_classification

SOURCE = "chile_regions"
COUNTRY = "CHL"
YEARS = range(2015, 2024)
WEST, NORTH, SIDE = -72.0, -30.0, 1.0  # the lattice's north-west corner and cell size, in degrees
NAMES = (
    "Alto Norte", "Cerro Alto", "Valle Central", "Sin Padrón",
    "Costa Alta", "Loma Alta", "Ñuble", "Pequeña",
    "Río Bajo", "Llanura", "Bosque", "Lagos",
    "Fiordos", "Estrecho", "Isla Remota", "Cabo",
)  # fmt: skip
HIGH = ("Alto Norte", "Cerro Alto", "Costa Alta", "Loma Alta")  # the north-west corner: touching, high rates
NO_SHAPE = "Isla Remota"
NO_RECORDS_SHAPE = "Sin Datos"
SMALL = "Pequeña"
NO_POPULATION = "Sin Padrón"
TINY_POPULATION = "Cabo"  # 3,000 residents: its rate is flagged whatever its count
FALLING = ("Río Bajo", "Llanura")  # fall 40% over the window
SHAPE_SPELLING = {"Ñuble": " ñUBLE "}


def count(name: str, year: int) -> float:
    if name == SMALL:
        return 12.0
    if name == TINY_POPULATION:
        return 21.0  # enough records, an ordinary rate (700 per 100,000), but on 3,000 residents
    base = 3000.0 if name in HIGH else 600.0 + 37 * NAMES.index(name)
    if name in FALLING:
        return round(base * (1 - 0.4 * (year - YEARS[0]) / (len(YEARS) - 1)))
    return round(base * (1 + 0.02 * (year - YEARS[0])))


def write_boundaries(path: Path) -> None:
    features = []
    for i, name in enumerate(NAMES):
        if name == NO_SHAPE:
            name = NO_RECORDS_SHAPE  # its place on the lattice goes to a shape no record names
        row, col = divmod(i, 4)
        x0, y1 = WEST + col * SIDE, NORTH - row * SIDE
        ring = [[x0, y1 - SIDE], [x0 + SIDE, y1 - SIDE], [x0 + SIDE, y1], [x0, y1], [x0, y1 - SIDE]]
        features.append(
            {
                "type": "Feature",
                "properties": {"REGION": SHAPE_SPELLING.get(name, name), "NOMBRE": f"Región {name}"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")


def write_config(folder: Path, boundaries: bool = True) -> Path:
    (folder / "map.csv").write_text("national_code,national_label,iccs_code\nT,Total,0502\n", encoding="utf-8")
    (folder / "data.csv").write_text("region,year,code,n\n", encoding="utf-8")
    lines = [
        "sources:",
        f"  {SOURCE}:",
        "    description: Recorded thefts by region (synthetic, shaped like a national statistics table)",
        f"    country: {COUNTRY}",
        "    level: aggregate",
        "    unit: offences",
        "    files: data.csv",
        "    columns: {area: region, date: year, offence: code, count: n}",
        "    date_format: '%Y'",
        "    correspondence: map.csv",
    ]
    if boundaries:
        write_boundaries(folder / "regions.geojson")
        lines.append("    boundaries: {file: regions.geojson, area: REGION, label: NOMBRE}")
    path = folder / "sources.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def build(folder: Path, boundaries: bool = True) -> duckdb.DuckDBPyConnection:
    config = load_config(write_config(folder, boundaries))
    con = connect(folder / "warehouse.duckdb")
    ensure_schema(con)
    load_classification(con)
    rows = [(name, year, count(name, year)) for name in NAMES for year in YEARS]
    con.execute("CREATE TEMP TABLE cells (area VARCHAR, year INTEGER, n DOUBLE)")
    con.executemany("INSERT INTO cells VALUES (?, ?, ?)", rows)
    con.execute(
        f"""INSERT INTO offence_counts
        (source, country, area, iccs_code, national_code, year, month, unit, stage, count)
        SELECT '{SOURCE}', '{COUNTRY}', area, '0502', 'T', year, NULL, 'offences', 'police', n FROM cells"""
    )
    con.execute(
        f"""INSERT INTO population (country, area, year, population)
        SELECT '{COUNTRY}', area, year, CASE area WHEN '{TINY_POPULATION}' THEN 3000 ELSE 250000 END
        FROM cells WHERE area <> '{NO_POPULATION}'
        UNION ALL SELECT '{COUNTRY}', NULL, year, 4000000 FROM range(2015, 2024) r(year)"""
    )
    con.execute(
        f"""INSERT INTO sources (source, country, level, unit, stage, period, description, files, correspondence,
        config) VALUES ('{SOURCE}', '{COUNTRY}', 'aggregate', 'offences', 'police', 'year',
        'Recorded thefts by region (synthetic)', 'data.csv', 'map.csv', 'sources.yaml')"""
    )
    load_boundaries(con, config.sources)
    return con
