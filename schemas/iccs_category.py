"""ICCS v1.0 categories as loaded into the warehouse (``iccs_categories``)."""

import pandera.pandas as pa
from pandera.typing import Series

from schemas.checks import ICCS_CODE_PATTERN


class IccsCategoryRow(pa.DataFrameModel):
    code: Series[str] = pa.Field(
        unique=True, str_matches=ICCS_CODE_PATTERN, description="ICCS code, leading zeros kept"
    )
    level: Series[int] = pa.Field(
        in_range={"min_value": 1, "max_value": 4}, description="1 = section (01-11) down to 4"
    )
    parent_code: Series[str] = pa.Field(nullable=True, description="code one level up; empty for the 11 sections")
    label: Series[str] = pa.Field(str_length={"min_value": 1}, description="English label")
    section: Series[str] = pa.Field(str_matches=r"^\d{2}$", description="level-1 code")

    class Config:
        strict = False
