"""The Polars baseline: what a user would write with Polars instead of pandas — read, join, pandera, DuckDB.

The same steps and checks as bench/baseline.py, written the plain Polars way: ``pl.read_csv`` (every value as
text, as the pipeline reads it) or ``pl.read_parquet``, typing with ``str.strptime`` and ``cast(strict=False)``,
a left ``join`` with the correspondence table, a pandera ``DataFrameModel`` on pandera's Polars backend with the
pipeline's record checks (lazy, so every failure is collected), the split into accepted and quarantined records,
``group_by`` monthly counts, and the three tables written to a DuckDB file through Arrow. Standalone on purpose:
Polars, pandera, DuckDB and the source's YAML, not the pipeline's code.

Prints one JSON line: seconds per stage, rows in, loaded and quarantined (wall time and memory are measured
outside, by bench.run).

    python -m bench.baseline_polars SOURCES_YAML WAREHOUSE
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import duckdb
import pandera
import pandera.polars as pa
import polars as pl
import yaml

# The pipeline's reasons, in the order a record is judged: a record gets the first that applies.
REASONS = (
    "missing_field",
    "invalid_date",
    "date_out_of_range",
    "unmapped_offence",
    "invalid_coordinates",
    "coordinates_outside_country",
    "duplicate_record_id",
)
DATE_FLOOR = dt.date(1900, 1, 1)


def record_model(bbox: tuple[float, float, float, float]) -> type[pa.DataFrameModel]:
    """The pipeline's record checks as a pandera model (the bounding box is the source's): bench/baseline.py's."""
    min_lon, min_lat, max_lon, max_lat = bbox

    class Record(pa.DataFrameModel):
        record_id: str = pa.Field(nullable=False)
        date_text: str = pa.Field(nullable=False)
        national_code: str = pa.Field(nullable=False)
        occurred_on: pl.Date = pa.Field(nullable=False)
        iccs_code: str = pa.Field(nullable=False, str_matches=r"^\d{2,6}$")
        latitude: float = pa.Field(nullable=True, in_range={"min_value": -90, "max_value": 90})
        longitude: float = pa.Field(nullable=True, in_range={"min_value": -180, "max_value": 180})

        @pa.check("occurred_on", name="date_in_range")
        def date_in_range(cls, data: pa.PolarsData) -> pl.LazyFrame:
            return data.lazyframe.select(pl.col(data.key).is_between(DATE_FLOOR, dt.date.today()))

        @pa.dataframe_check(name="coordinates_are_numbers")
        def coordinates_are_numbers(cls, data: pa.PolarsData) -> pl.LazyFrame:
            return data.lazyframe.select(
                ~(
                    (pl.col("latitude_text").is_not_null() & pl.col("latitude").is_null())
                    | (pl.col("longitude_text").is_not_null() & pl.col("longitude").is_null())
                )
            )

        @pa.dataframe_check(name="inside_bbox")
        def inside_bbox(cls, data: pa.PolarsData) -> pl.LazyFrame:
            inside = pl.col("longitude").is_between(min_lon, max_lon) & pl.col("latitude").is_between(min_lat, max_lat)
            return data.lazyframe.select(pl.col("latitude").is_null() | pl.col("longitude").is_null() | inside)

        @pa.dataframe_check(name="first_occurrence_of_id")
        def first_occurrence_of_id(cls, data: pa.PolarsData) -> pl.LazyFrame:
            return data.lazyframe.select(pl.col("record_id").is_first_distinct())

        class Config:
            strict = False

    return Record


_CHECK_REASONS = {
    "date_in_range": "date_out_of_range",
    "coordinates_are_numbers": "invalid_coordinates",
    "in_range": "invalid_coordinates",
    "inside_bbox": "coordinates_outside_country",
    "first_occurrence_of_id": "duplicate_record_id",
}
_COLUMN_REASONS = {"occurred_on": "invalid_date", "iccs_code": "unmapped_offence"}


def _reason(column: object, check: str) -> str:
    """The pipeline's quarantine reason for one pandera failure (a frame-wide check fails on every column)."""
    for name, reason in _CHECK_REASONS.items():
        if check.startswith(name):
            return reason
    return _COLUMN_REASONS.get(str(column), "missing_field")


def _read(path: Path, fmt: str) -> pl.DataFrame:
    if fmt == "parquet":
        return pl.read_parquet(path)
    # Every value as text (as the pipeline reads it); only empty fields are missing, not 'NA' or 'null' text.
    return pl.read_csv(path, infer_schema=False, truncate_ragged_lines=True)


def run(config_path: Path, warehouse: Path) -> dict[str, object]:
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage] = round(now - clock, 3)
        clock = now

    doc = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    name, src = next(iter(doc["sources"].items()))
    cols = src["columns"]
    path = config_path.parent / src["files"]
    frame = _read(path, src.get("format", "csv"))
    lap("read")

    frame = frame.rename(
        {
            cols["record_id"]: "record_id",
            cols["date"]: "date_text",
            cols["offence"]: "national_code",
            cols["latitude"]: "latitude_text",
            cols["longitude"]: "longitude_text",
            cols["area"]: "area",
        }
    ).with_columns(
        pl.col("date_text").str.strptime(pl.Date, src["date_format"], strict=False).alias("occurred_on"),
        pl.col("latitude_text").cast(pl.Float64, strict=False).alias("latitude"),
        pl.col("longitude_text").cast(pl.Float64, strict=False).alias("longitude"),
    )
    lap("type")

    correspondence = pl.read_csv(config_path.parent / src["correspondence"], infer_schema=False)
    frame = frame.join(
        correspondence.select("national_code", "iccs_code"), on="national_code", how="left", maintain_order="left"
    )
    lap("map")

    rejected = pl.DataFrame(schema={"index": pl.Int64, "reason": pl.String})
    try:
        record_model(tuple(src["bbox"])).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases.filter(pl.col("index").is_not_null())
        reasons = [_reason(c, str(k)) for c, k in zip(cases["column"], cases["check"], strict=True)]
        rejected = (
            cases.select(pl.col("index").cast(pl.Int64))
            .with_columns(reason=pl.Series(reasons), rank=pl.Series([REASONS.index(r) for r in reasons]))
            .sort("rank")
            .group_by("index")
            .agg(pl.col("reason").first())
        )
    lap("validate")

    frame = frame.with_row_index("index").with_columns(pl.col("index").cast(pl.Int64))
    bad = frame["index"].is_in(rejected["index"].implode())
    accepted = frame.filter(~bad).with_columns(source=pl.lit(name), country=pl.lit(src["country"]))
    quarantined = frame.filter(bad).join(rejected, on="index", how="left")
    counts = (
        accepted.with_columns(year=pl.col("occurred_on").dt.year(), month=pl.col("occurred_on").dt.month())
        .group_by(["country", "area", "iccs_code", "national_code", "year", "month"])
        .agg(pl.len().alias("count"))
    )
    lap("split_and_aggregate")

    warehouse.unlink(missing_ok=True)
    con = duckdb.connect(str(warehouse))
    con.execute("SET enable_progress_bar = false")
    for view, frame_ in (("accepted", accepted), ("quarantined", quarantined), ("counts", counts)):
        con.register(view, frame_.to_arrow())
    con.execute("""CREATE TABLE offences AS SELECT source, country, record_id, occurred_on,
                   national_code, iccs_code, area, latitude, longitude FROM accepted""")
    con.execute(
        "CREATE TABLE quarantine AS SELECT record_id, date_text, national_code, latitude_text, "
        "longitude_text, area, reason FROM quarantined"
    )
    con.execute("CREATE TABLE offence_counts AS SELECT * FROM counts")
    con.close()
    lap("write")
    return {
        "seconds": seconds,
        "rows": frame.height,
        "loaded": accepted.height,
        "quarantined": quarantined.height,
        "reasons": dict(quarantined["reason"].value_counts().iter_rows()),
        "polars": pl.__version__,
        "pandera": pandera.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline_polars", description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="the source's sources.yaml")
    parser.add_argument("warehouse", type=Path, help="DuckDB file to write (replaced)")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.config, args.warehouse)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
