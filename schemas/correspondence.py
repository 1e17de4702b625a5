"""A correspondence table: national offence code -> ICCS code (any level)."""

import pandera.pandas as pa
from pandera.typing import Series

from schemas.checks import iccs_code_field


class CorrespondenceRow(pa.DataFrameModel):
    national_code: Series[str] = pa.Field(str_length={"min_value": 1}, unique=True)
    national_label: Series[str] = pa.Field(nullable=True)
    iccs_code: Series[str] = iccs_code_field(description="target ICCS code; must exist in ICCS v1.0")
    note: Series[str] = pa.Field(nullable=True)

    class Config:
        strict = False
