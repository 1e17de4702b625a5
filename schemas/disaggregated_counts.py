"""Disaggregated counts (``disaggregated_counts``): the cells of sources that configure disaggregations, by
victim and perpetrator sex and age, weapon and situational context, as published (``_T`` = total over a
variable: a table's all-sexes row beside its rows of men and women). The columns of ``offence_counts`` and one
per variable."""

import pandera.pandas as pa
from pandera.typing import Series

from iccs.disaggregations import AGE_CODE, VARIABLES, listed
from schemas.offence_counts import OffenceCountRow


def _listed(variable: str, description: str) -> object:
    return pa.Field(isin=listed(variable), description=description)


def _age(description: str) -> object:
    return pa.Field(str_matches=AGE_CODE, description=description)


class DisaggregatedCountRow(OffenceCountRow):
    victim_sex: Series[str] = _listed("victim_sex", "M, F, _U not known, _Z not applicable, _T all")
    victim_age: Series[str] = _age("SDMX age group (Y15T29, Y_GE60, Y_LT18, ...), _U, _Z, _T all ages")
    perpetrator_sex: Series[str] = _listed("perpetrator_sex", "as victim_sex, of the perpetrator")
    perpetrator_age: Series[str] = _age("as victim_age, of the perpetrator")
    weapon: Series[str] = _listed("weapon", "FIREARM, SHARP_OBJECT, OTHER_MEANS, UNKNOWN_MEANS, _U, _Z, _T all")
    situational_context: Series[str] = _listed(
        "situational_context", "ORGANIZED_CRIME, GANG, INTIMATE_PARTNER_FAMILY, ... (ICCS SiC), _U, _Z, _T all"
    )

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
