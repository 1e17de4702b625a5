"""Counts (``offence_counts``): incident sources aggregated, aggregate sources as given."""

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from schemas.checks import ISO3, iccs_code_field, number_field
from schemas.source_config import STAGES, UNITS


class OffenceCountRow(pa.DataFrameModel):
    source: Series[str] = pa.Field(description="source name from the configuration")
    country: Series[str] = pa.Field(str_matches=ISO3, description="ISO 3166-1 alpha-3")
    area: Series[str] = pa.Field(nullable=True, description="reporting area; NULL = whole country")
    iccs_code: Series[str] = iccs_code_field(description="ICCS v1.0 code the national code maps to (any level)")
    national_code: Series[str] = pa.Field(description="kept so that every count traces back to the source")
    year: Series[int] = pa.Field(in_range={"min_value": 1900, "max_value": 2100}, description="calendar year")
    month: Series[pd.Int64Dtype] = pa.Field(
        nullable=True, in_range={"min_value": 1, "max_value": 12}, description="1-12; NULL for annual data"
    )
    unit: Series[str] = pa.Field(isin=list(UNITS), description="counting unit; never summed across units")
    stage: Series[str] = pa.Field(isin=list(STAGES), description="recording stage (police, prosecution, ...)")
    count: Series[float] = number_field(ge=0, description="number of units (offences, victims, ...) in the cell")
    file: Series[str] = pa.Field(
        nullable=True, required=False, description="landed file the counts came from (files are loaded one by one)"
    )

    class Config:
        strict = False
        unique = ["source", "country", "area", "iccs_code", "national_code", "year", "month", "unit", "file"]
