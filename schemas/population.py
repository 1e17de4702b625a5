"""Population (``population``): the denominator of every rate, by country, area and year."""

import pandera.pandas as pa
from pandera.typing import Series

from iccs.disaggregations import AGE_CODE, listed
from schemas.checks import ISO3, number_field


class PopulationRow(pa.DataFrameModel):
    country: Series[str] = pa.Field(str_matches=ISO3, description="ISO 3166-1 alpha-3")
    area: Series[str] = pa.Field(
        nullable=True, description="reporting area, as named by the sources; NULL = whole country"
    )
    year: Series[int] = pa.Field(in_range={"min_value": 1900, "max_value": 2100}, description="calendar year")
    population: Series[float] = number_field(gt=0, description="residents (mid-year or as the file gives)")
    sex: Series[str] = pa.Field(isin=listed("sex"), description="M, F, ... ; '_T' = all sexes")
    age: Series[str] = pa.Field(
        str_matches=AGE_CODE,
        description="SDMX age group (Y15T29, Y_GE60, ...); '_T' = all ages",
    )

    class Config:
        strict = False
        unique = ["country", "area", "year", "sex", "age"]
