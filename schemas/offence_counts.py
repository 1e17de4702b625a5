"""Counts (``offence_counts``): incident sources aggregated, aggregate sources as given."""

import pandera.pandas as pa
from pandera.typing import Series

from schemas.checks import ISO3, iccs_code_field
from schemas.source_config import STAGES, UNITS


class OffenceCountRow(pa.DataFrameModel):
    source: Series[str]
    country: Series[str] = pa.Field(str_matches=ISO3)
    area: Series[str] = pa.Field(nullable=True, description="NULL = whole country")
    iccs_code: Series[str] = iccs_code_field()
    national_code: Series[str] = pa.Field(description="kept so that every count traces back to the source")
    year: Series[int] = pa.Field(in_range={"min_value": 1900, "max_value": 2100})
    month: Series[float] = pa.Field(nullable=True, in_range={"min_value": 1, "max_value": 12},
                                    description="NULL for annual data")
    unit: Series[str] = pa.Field(isin=list(UNITS))
    stage: Series[str] = pa.Field(isin=list(STAGES))
    count: Series[float] = pa.Field(ge=0)

    class Config:
        strict = False
        unique = ["source", "area", "iccs_code", "national_code", "year", "month", "unit"]
