"""Population (``population``): the denominator of every rate, by country, area and year."""

import pandera.pandas as pa
from pandera.typing import Series

from iccs.disaggregations import codes
from schemas.checks import ISO3, number_field


class PopulationRow(pa.DataFrameModel):
    country: Series[str] = pa.Field(str_matches=ISO3, description="ISO 3166-1 alpha-3")
    area: Series[str] = pa.Field(
        nullable=True, description="reporting area, as named by the sources; NULL = whole country"
    )
    year: Series[int] = pa.Field(in_range={"min_value": 1900, "max_value": 2100}, description="calendar year")
    population: Series[float] = number_field(gt=0, description="residents (mid-year or as the file gives)")
    sex: Series[str] = pa.Field(
        isin=[c.code for c in codes() if c.variable == "victim_sex"], description="M, F, ... ; '_T' = all sexes"
    )
    age: Series[str] = pa.Field(
        str_matches=r"^(_T|_U|_Z|Y[0-9]{1,3}T[0-9]{1,3}|Y_GE[0-9]{1,3}|Y_LT[0-9]{1,3})$",
        description="SDMX age group (Y15T29, Y_GE60, ...); '_T' = all ages",
    )

    class Config:
        strict = False
        unique = ["country", "area", "year", "sex", "age"]
