"""Disaggregated counts (``disaggregated_counts``): the cells of sources that configure disaggregations, by
victim and perpetrator sex and age, weapon and situational context, as published (``_T`` = total over a
variable: a table's all-sexes row beside its rows of men and women)."""

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from iccs.disaggregations import VARIABLES, codes
from schemas.checks import ISO3, iccs_code_field, number_field
from schemas.source_config import STAGES, UNITS

AGE_CODE = r"^(_T|_U|_Z|Y[0-9]{1,3}T[0-9]{1,3}|Y_GE[0-9]{1,3}|Y_LT[0-9]{1,3})$"


def _listed(variable: str, description: str) -> object:
    return pa.Field(isin=[c.code for c in codes() if c.variable == variable], description=description)


def _age(description: str) -> object:
    return pa.Field(str_matches=AGE_CODE, description=description)


class DisaggregatedCountRow(pa.DataFrameModel):
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
    victim_sex: Series[str] = _listed("victim_sex", "M, F, _U not known, _Z not applicable, _T all")
    victim_age: Series[str] = _age("SDMX age group (Y15T29, Y_GE60, Y_LT18, ...), _U, _Z, _T all ages")
    perpetrator_sex: Series[str] = _listed("perpetrator_sex", "as victim_sex, of the perpetrator")
    perpetrator_age: Series[str] = _age("as victim_age, of the perpetrator")
    weapon: Series[str] = _listed("weapon", "FIREARM, SHARP_OBJECT, OTHER_MEANS, UNKNOWN_MEANS, _U, _Z, _T all")
    situational_context: Series[str] = _listed(
        "situational_context", "ORGANIZED_CRIME, GANG, INTIMATE_PARTNER_FAMILY, ... (ICCS SiC), _U, _Z, _T all"
    )
    count: Series[float] = number_field(ge=0, description="number of units in the cell")
    file: Series[str] = pa.Field(nullable=True, description="landed file the counts came from")

    class Config:
        strict = False
        unique = [
            "source",
            "country",
            "area",
            "iccs_code",
            "national_code",
            "year",
            "month",
            "unit",
            "file",
            *VARIABLES,
        ]
