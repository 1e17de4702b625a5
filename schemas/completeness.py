"""Completeness findings (``completeness``, ``series_breaks``): written by ``warehouse.completeness`` per source."""

import pandera.pandas as pa
from pandera.typing import Series

from schemas.checks import number_field

PERIOD = r"^\d{4}(-(0[1-9]|1[0-2]))?$"


class CompletenessRow(pa.DataFrameModel):
    source: Series[str] = pa.Field(description="source name from the configuration")
    area: Series[str] = pa.Field(nullable=True, description="reporting area; NULL = the source has no areas")
    period: Series[str] = pa.Field(str_matches=PERIOD, description="'YYYY-MM', or 'YYYY' for annual data")
    present: Series[bool] = pa.Field(description="the period × area cell has records")
    records: Series[float] = number_field(ge=0, description="sum of counts in the cell, in the source's counted unit")

    class Config:
        strict = False
        unique = ["source", "area", "period"]


class SeriesBreakRow(pa.DataFrameModel):
    source: Series[str] = pa.Field(description="source name from the configuration")
    iccs_code: Series[str] = pa.Field(str_matches=r"^\d{2,6}$", description="ICCS code whose series breaks")
    period: Series[str] = pa.Field(str_matches=PERIOD, description="first period after the break")
    kind: Series[str] = pa.Field(isin=["appeared", "vanished"], description="the category appears or vanishes")
    detail: Series[str] = pa.Field(description="what changed, with the rates and national codes involved")

    class Config:
        strict = False
        unique = ["source", "iccs_code", "period", "kind"]
