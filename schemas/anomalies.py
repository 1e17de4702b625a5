"""The findings of the patterns page (``anomalies``): written by the asset ``anomalies`` after the quality layer."""

import pandera.pandas as pa
from pandera.typing import Series

from schemas.checks import iccs_code_field, number_field

PERIOD = r"^\d{4}(-(0[1-9]|1[0-2]))?$"


class AnomalyRow(pa.DataFrameModel):
    source: Series[str] = pa.Field(description="source name from the configuration")
    unit: Series[str] = pa.Field(description="counting unit of the series (counts of units are never added)")
    country: Series[str] = pa.Field(description="ISO 3166-1 alpha-3 code of the country the series counts in")
    area: Series[str] = pa.Field(nullable=True, description="area; NULL = the national figure")
    iccs_code: Series[str] = iccs_code_field(description="ICCS code of the series (level 2 or an SDG 16 code)")
    period: Series[str] = pa.Field(
        str_matches=PERIOD, description="the month (outlying_month, level_shift) or the last year (mix_change)"
    )
    kind: Series[str] = pa.Field(isin=["outlying_month", "level_shift", "mix_change"], description="what was found")
    observed: Series[float] = number_field(ge=0, description="recorded count, or the monthly level just after a shift")
    expected: Series[float] = number_field(ge=0, description="what the model expected (see the table's comment)")
    score: Series[float] = pa.Field(description="robust z (months), step t (shifts) or G statistic (mixes)")
    q_value: Series[float] = pa.Field(ge=0, le=1, description="Benjamini-Hochberg p over every test of its kind")
    p_value: Series[float] = pa.Field(ge=0, le=1, description="the test's own p-value")
    recording_change: Series[bool] = pa.Field(description="a shift at a declared series break or validity date")

    class Config:
        strict = False
        unique = ["source", "unit", "country", "area", "iccs_code", "period", "kind"]
