"""The baseline: what a user would write without the pipeline — pandas, a merge, pandera, then DuckDB.

Reads the demo source's file with ``pandas.read_csv`` (every value as text, as the pipeline reads it), types the
date and coordinates, merges the correspondence table to get ICCS codes, validates a pandera ``DataFrameModel``
carrying the pipeline's record checks (lazily, so every failure is collected), splits the frame into accepted
and quarantined records, aggregates monthly counts and writes all three to a DuckDB file. Standalone on
purpose: it uses only pandas, pandera, DuckDB and the source's YAML, not the pipeline's code.

Prints one JSON line: seconds per stage, rows in, loaded and quarantined (wall time and memory are measured
outside, by bench.run).

    python -m bench.baseline SOURCES_YAML WAREHOUSE
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

import duckdb
import pandas as pd
import pandera
import pandera.pandas as pa
import yaml
from pandera.typing import Series

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
DATE_FLOOR = pd.Timestamp("1900-01-01")


def record_model(bbox: tuple[float, float, float, float]) -> type[pa.DataFrameModel]:
    """The pipeline's record checks as a pandera model (the bounding box is the source's)."""
    min_lon, min_lat, max_lon, max_lat = bbox

    class Record(pa.DataFrameModel):
        record_id: Series[str] = pa.Field(nullable=False)
        date_text: Series[str] = pa.Field(nullable=False)
        national_code: Series[str] = pa.Field(nullable=False)
        occurred_on: Series[pd.Timestamp] = pa.Field(nullable=False)
        iccs_code: Series[str] = pa.Field(nullable=False, str_matches=r"^\d{2,6}$")
        latitude: Series[float] = pa.Field(nullable=True, in_range={"min_value": -90, "max_value": 90})
        longitude: Series[float] = pa.Field(nullable=True, in_range={"min_value": -180, "max_value": 180})

        @pa.check("occurred_on", name="date_in_range")
        def date_in_range(cls, dates: Series[pd.Timestamp]) -> Series[bool]:
            return (dates >= DATE_FLOOR) & (dates <= pd.Timestamp(dt.date.today()))

        @pa.dataframe_check(name="coordinates_are_numbers")
        def coordinates_are_numbers(cls, df: pd.DataFrame) -> Series[bool]:
            return ~(
                (df["latitude_text"].notna() & df["latitude"].isna())
                | (df["longitude_text"].notna() & df["longitude"].isna())
            )

        @pa.dataframe_check(name="inside_bbox")
        def inside_bbox(cls, df: pd.DataFrame) -> Series[bool]:
            inside = df["longitude"].between(min_lon, max_lon) & df["latitude"].between(min_lat, max_lat)
            return df["latitude"].isna() | df["longitude"].isna() | inside

        @pa.dataframe_check(name="first_occurrence_of_id")
        def first_occurrence_of_id(cls, df: pd.DataFrame) -> Series[bool]:
            return ~df["record_id"].duplicated(keep="first")

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


def _read(path: Path, fmt: str) -> pd.DataFrame:
    if fmt == "parquet":
        return pd.read_parquet(path)
    # Every value as text (as the pipeline reads it); only empty fields are missing, not 'NA' or 'null' text.
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], on_bad_lines="skip")


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
        columns={
            cols["record_id"]: "record_id",
            cols["date"]: "date_text",
            cols["offence"]: "national_code",
            cols["latitude"]: "latitude_text",
            cols["longitude"]: "longitude_text",
            cols["area"]: "area",
        }
    )
    frame["occurred_on"] = pd.to_datetime(frame["date_text"], format=src["date_format"], errors="coerce")
    frame["latitude"] = pd.to_numeric(frame["latitude_text"], errors="coerce")
    frame["longitude"] = pd.to_numeric(frame["longitude_text"], errors="coerce")
    lap("type")

    correspondence = pd.read_csv(config_path.parent / src["correspondence"], dtype=str, keep_default_na=False)
    frame = frame.merge(correspondence[["national_code", "iccs_code"]], on="national_code", how="left")
    lap("map")

    rejected = pd.Series(dtype=object)
    try:
        record_model(tuple(src["bbox"])).validate(frame, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases.dropna(subset=["index"])
        reasons = pd.Series(
            [_reason(c, str(k)) for c, k in zip(cases["column"], cases["check"], strict=True)],
            index=cases["index"].astype("int64"),
        )
        ranked = pd.DataFrame(
            {"reason": reasons.values, "rank": reasons.map(REASONS.index).values}, index=reasons.index
        )
        rejected = ranked.sort_values("rank", kind="stable").groupby(level=0)["reason"].first()
    lap("validate")

    bad = frame.index.isin(rejected.index)
    accepted = frame[~bad]
    quarantined = frame[bad].assign(reason=rejected.reindex(frame.index[bad]).values)
    accepted = accepted.assign(source=name, country=src["country"])
    counts = (
        accepted.assign(year=accepted["occurred_on"].dt.year, month=accepted["occurred_on"].dt.month)
        .groupby(["country", "area", "iccs_code", "national_code", "year", "month"], dropna=False)
        .size()
        .rename("count")
        .reset_index()
    )
    lap("split_and_aggregate")

    warehouse.unlink(missing_ok=True)
    con = duckdb.connect(str(warehouse))
    con.execute("SET enable_progress_bar = false")
    for view, frame_ in (("accepted", accepted), ("quarantined", quarantined), ("counts", counts)):
        con.register(view, frame_)
    con.execute("""CREATE TABLE offences AS SELECT source, country, record_id, occurred_on::DATE AS occurred_on,
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
        "rows": len(frame),
        "loaded": len(accepted),
        "quarantined": int(bad.sum()),
        "reasons": {k: int(v) for k, v in quarantined["reason"].value_counts().items()},
        "pandas": pd.__version__,
        "pandera": pandera.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline", description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="the demo's sources.yaml")
    parser.add_argument("warehouse", type=Path, help="DuckDB file to write (replaced)")
    args = parser.parse_args(argv)
    print(json.dumps(run(args.config, args.warehouse)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
