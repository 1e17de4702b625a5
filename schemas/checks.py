"""Checks shared by several contracts, registered with pandera by name so that the SQL compiler
(``warehouse.contracts``) can translate them too: pandera on pandas and the SQL pass run the same rule.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pandera.extensions as extensions
import pandera.pandas as pa

import iccs

ISO3 = r"^[A-Z]{3}$"
ICCS_CODE_PATTERN = r"^\d{2,6}$"


@cache
def _iccs_codes() -> frozenset[str]:
    return frozenset(c.code for c in iccs.categories())


@extensions.register_check_method(statistics=[], supported_types=pd.Series)
def iccs_code_exists(series: pd.Series) -> pd.Series:
    """True where the value is an ICCS v1.0 code (any level); SQL: ``code IN (SELECT code FROM iccs_categories)``."""
    return series.isin(_iccs_codes()) | series.isna()


@extensions.register_check_method(statistics=[], supported_types=pd.Series)
def finite(series: pd.Series) -> pd.Series:
    """True where the number is finite: NaN and ±inf are not numbers a sum or a rate can use. pandas cannot tell
    NaN from NULL (a non-nullable column's NaN fails ``not_null``); SQL can, so there ``NOT isfinite(value)``
    catches the NaN that ``value IS NULL`` and ``value < 0`` let through."""
    return pd.Series(np.isfinite(series.to_numpy(dtype=float, na_value=np.nan)), index=series.index) | series.isna()


def number_field(**kwargs: object) -> object:
    """A numeric column of the warehouse: ``finite`` (no NaN, no ±inf) on top of the given rules."""
    return pa.Field(finite=(), **kwargs)


def iccs_code_field(nullable: bool = False, description: str = "ICCS v1.0 code (any level)") -> object:
    """An ICCS code column: two to six digits (leading zeros kept) and a category of ICCS v1.0."""
    return pa.Field(nullable=nullable, str_matches=ICCS_CODE_PATTERN, iccs_code_exists=(), description=description)
