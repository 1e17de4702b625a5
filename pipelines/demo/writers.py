"""Write the SYNTHETIC demo files: the police feed in chunks, population, districts, config and bad-row list.

Every writer is deterministic (no timestamps, fixed ordering), so one seed always gives byte-identical files.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml

from pipelines.demo.columns import COLUMNS, DATE_FORMAT, DISAGGREGATION_COLUMNS, FILE_COLUMNS, format_columns, header
from pipelines.demo.country import (
    AGE_GROUPS,
    BBOX,
    COUNTRY,
    NAME,
    NOTICE,
    YEARS,
    Geography,
    correspondence_path,
    population_by_sex_age,
)
from pipelines.demo.defects import Plan
from pipelines.demo.incidents import Incidents
from pipelines.demo.victims import VALUE_MAPS

CHUNK = 1_000_000
SOURCE = "demo_police"
_PLAIN = pacsv.WriteOptions(include_header=False, quoting_style="none")


def _chunk_table(
    inc: Incidents, plan: Plan, start: int, stop: int, offence_codes: pa.Array, district_codes: pa.Array
) -> pa.Table:
    """Table rows [start, stop) as text, with the planted defects applied."""
    rows = plan.base_rows[plan.order[start:stop]]
    text = format_columns(inc, rows, offence_codes, district_codes)
    for field, (where, values) in plan.overrides.items():
        lo, hi = np.searchsorted(where, [start, stop])
        if hi > lo:
            mask = np.zeros(stop - start, bool)
            mask[where[lo:hi] - start] = True
            text[field] = pc.replace_with_mask(text[field], pa.array(mask), values.slice(lo, hi - lo))
    return pa.table({FILE_COLUMNS[f]: text[f] for f in FILE_COLUMNS})


def write_incidents(
    path: Path, fmt: str, inc: Incidents, plan: Plan, offence_codes: pa.Array, district_codes: pa.Array
) -> None:
    """The police feed; in CSV the malformed lines go, as raw text, where their records would have been."""
    if fmt == "parquet":
        schema = pa.schema([(name, pa.string()) for name in FILE_COLUMNS.values()], metadata={"description": NOTICE})
        with pq.ParquetWriter(path, schema, compression="zstd") as writer:
            for start in range(0, plan.n_rows, CHUNK):
                stop = min(start + CHUNK, plan.n_rows)
                table = _chunk_table(inc, plan, start, stop, offence_codes, district_codes)
                writer.write_table(table.replace_schema_metadata(schema.metadata))
        return
    before = plan.malformed_before
    with pa.OSFile(str(path), "wb") as sink:
        sink.write(header().encode())
        for start in range(0, plan.n_rows, CHUNK):
            stop = min(start + CHUNK, plan.n_rows)
            table = _chunk_table(inc, plan, start, stop, offence_codes, district_codes)
            cut = start
            for k in np.flatnonzero((before >= start) & (before < stop)):  # a handful of malformed lines
                if before[k] > cut:
                    pacsv.write_csv(table.slice(cut - start, before[k] - cut), sink, _PLAIN)
                    cut = int(before[k])
                sink.write((plan.malformed_text[k] + "\n").encode())
            if stop > cut:
                pacsv.write_csv(table.slice(cut - start), sink, _PLAIN)
        for k in np.flatnonzero(before >= plan.n_rows):
            sink.write((plan.malformed_text[k] + "\n").encode())


def write_bad_rows(path: Path, plan: Plan, csv: bool) -> pa.Table:
    """One line per planted bad row: its file line, id, expected quarantine reason, kind and spoiled value."""
    bad = plan.bad
    table_row = bad["table_row"].to_numpy()
    first = bad["first_table_row"].to_numpy()
    line = np.where(table_row >= 0, plan.lines(np.maximum(table_row, 0), csv), 0)
    malformed = table_row < 0
    line[malformed] = plan.malformed_lines()
    first_line = np.where(first >= 0, plan.lines(np.maximum(first, 0), csv), 0)
    keep = ~malformed if not csv else np.ones(len(line), bool)
    table = pa.table(
        {
            "line": pa.array(line),
            "record_id": bad["record_id"],
            "reason": bad["reason"],
            "kind": bad["kind"],
            "field": bad["field"],
            "value": bad["value"],
            "first_line": pa.array(first_line, mask=first < 0),
        }
    ).filter(pa.array(keep))
    table = table.take(pc.sort_indices(table, [("line", "ascending")]))
    pacsv.write_csv(table, str(path))
    return table


TOTAL_LABEL = "Total"  # the population file's label of all sexes or all ages
POPULATION_HEADER = b"country,district,year,population,sex,age_group\n"


def _population_rows(areas: list[str | None], values: np.ndarray, sexes: list[str], ages: list[str]) -> pa.Table:
    """Rows of ``values`` (areas, years, groups): area-year major, then the groups (labelled by sexes, ages)."""
    n_areas, n_years, n_groups = values.shape
    return pa.table(
        {
            "country": pa.array([COUNTRY] * values.size),
            "district": pa.array(np.repeat(np.array(areas, dtype=object), n_years * n_groups), pa.string()),
            "year": pa.array(np.tile(np.repeat(np.array(YEARS), n_groups), n_areas)),
            "population": pa.array(values.ravel().astype(np.int64)),
            "sex": pa.array(np.tile(np.array(sexes, dtype=object), n_areas * n_years), pa.string()),
            "age_group": pa.array(np.tile(np.array(ages, dtype=object), n_areas * n_years), pa.string()),
        }
    )


def write_population(path: Path, geo: Geography) -> None:
    """Residents by district and year, plus national rows (empty district) that are their sums: first the rows of
    all sexes and ages, then, for each area and year, by sex, by age group and by both (the groups sum exactly
    to the total, so rates by sex and age divide by the same residents as the overall rates)."""
    n_districts, n_years = geo.population.shape
    national = geo.population.sum(axis=0)
    totals = np.concatenate([national, geo.population.ravel()]).reshape(n_districts + 1, n_years, 1)
    areas = [None, *geo.codes]
    cells = population_by_sex_age(geo)
    cells = np.concatenate([cells.sum(axis=0, keepdims=True), cells])  # (areas, years, 2, 5)
    sexes, ages = ["Male", "Female"], list(AGE_GROUPS)
    groups = np.concatenate([cells.sum(axis=3), cells.sum(axis=2), cells.reshape(n_districts + 1, n_years, -1)], axis=2)
    group_sex = sexes + [TOTAL_LABEL] * len(ages) + [s for s in sexes for _ in ages]
    group_age = [TOTAL_LABEL] * len(sexes) + ages + ages * len(sexes)
    table = pa.concat_tables(
        [
            _population_rows(areas, totals, [TOTAL_LABEL], [TOTAL_LABEL]),
            _population_rows(areas, groups, group_sex, group_age),
        ]
    )
    with pa.OSFile(str(path), "wb") as sink:
        sink.write(POPULATION_HEADER)
        pacsv.write_csv(table, sink, _PLAIN)


def write_config(path: Path, incidents_file: str, fmt: str) -> None:
    """sources.yaml in the pipeline's format (schemas/source_config.py)."""
    source: dict[str, Any] = {
        "description": f"{NOTICE} Incident-level police records of {NAME}.",
        "country": COUNTRY,
        "level": "incident",
        "unit": "offences",
        "stage": "police",
        "files": incidents_file,
        "format": fmt,
        "columns": dict(COLUMNS),
        "date_format": DATE_FORMAT,
        "bbox": list(BBOX),
        "correspondence": "correspondence.csv",
        "boundaries": {"file": "districts.geojson", "area": "district", "label": "name"},
        "disaggregations": {
            v: {"column": DISAGGREGATION_COLUMNS[v], "values": VALUE_MAPS[v]} for v in DISAGGREGATION_COLUMNS
        },
    }
    doc = {
        "description": f"{NOTICE} Generated by `iccs demo-data`.",
        "sources": {SOURCE: source},
        "population": [
            {
                "files": "population.csv",
                "columns": {"country": "country", "area": "district", "year": "year", "population": "population"},
                "disaggregations": {
                    "sex": {"column": "sex", "values": {TOTAL_LABEL: "_T", "Male": "M", "Female": "F"}},
                    "age": {
                        "column": "age_group",
                        "values": {TOTAL_LABEL: "_T", **{a: VALUE_MAPS["victim_age"][a] for a in AGE_GROUPS}},
                    },
                },
            }
        ],
    }
    # The table travels with the data, so the folder stays valid wherever it is moved.
    shutil.copyfile(correspondence_path(), path.parent / "correspondence.csv")
    text = f"# SYNTHETIC demo configuration for {NAME} ({COUNTRY}): not real data.\n"
    path.write_text(text + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=110), encoding="utf-8")


def write_districts(path: Path, geo: Geography) -> None:
    """District rectangles as GeoJSON (EPSG:4326), for maps and spatial weights."""
    features = []
    for i, code in enumerate(geo.codes):
        x0, y0, x1, y1 = (round(float(v), 5) for v in geo.bounds[i])
        features.append(
            {
                "type": "Feature",
                "properties": {"district": code, "name": geo.names[i], "country": COUNTRY},
                "geometry": {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]},
            }
        )
    doc = {"type": "FeatureCollection", "name": f"{NAME} districts (SYNTHETIC)", "features": features}
    path.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


def write_json(path: Path, doc: dict[str, Any]) -> None:
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
