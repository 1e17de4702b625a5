"""Incident-level facts (``offences``): one row per loaded record of an incident source."""

import datetime as dt

import pandera.pandas as pa
from pandera.typing import Series

from schemas.checks import ISO3, iccs_code_field, number_field
from schemas.source_config import STAGES, UNITS


class OffenceRow(pa.DataFrameModel):
    source: Series[str] = pa.Field(description="source name from the configuration")
    country: Series[str] = pa.Field(str_matches=ISO3, description="ISO 3166-1 alpha-3")
    record_id: Series[str] = pa.Field(description="the source's id, or file:line where the source has none")
    occurred_on: Series[dt.date] = pa.Field(description="date of the offence (first day of the period if coarser)")
    national_code: Series[str] = pa.Field(str_length={"min_value": 1}, description="offence code as recorded")
    iccs_code: Series[str] = iccs_code_field(description="ICCS v1.0 code the national code maps to (any level)")
    area: Series[str] = pa.Field(nullable=True, description="reporting area (district, force area, ...)")
    latitude: Series[float] = number_field(
        nullable=True,
        in_range={"min_value": -90, "max_value": 90},
        description="WGS84 degrees; NULL where the source has no coordinates",
    )
    longitude: Series[float] = number_field(
        nullable=True,
        in_range={"min_value": -180, "max_value": 180},
        description="WGS84 degrees; NULL where the source has no coordinates",
    )
    unit: Series[str] = pa.Field(isin=list(UNITS), description="counting unit; never summed across units")
    stage: Series[str] = pa.Field(isin=list(STAGES), description="recording stage (police, prosecution, ...)")
    file: Series[str] = pa.Field(nullable=True, description="file the record was read from")
    row_number: Series[int] = pa.Field(nullable=True, ge=1, description="line in that file (header = line 1)")

    class Config:
        strict = False
        unique = ["source", "record_id"]
