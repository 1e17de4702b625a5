"""Checks shared by several contracts, registered by name so the SQL compiler can translate them too."""

from __future__ import annotations

import pandas as pd
import pandera.pandas as pa

import iccs

ISO3 = r"^[A-Z]{3}$"


def iccs_code_exists(series: pd.Series) -> pd.Series:
    """True where the value is an ICCS v1.0 code (any level)."""
    return series.map(lambda code: code is None or iccs.is_valid(code)).astype(bool)


def iccs_code_field(nullable: bool = False, description: str = "ICCS v1.0 code (any level)") -> object:
    return pa.Field(nullable=nullable, str_matches=r"^\d{2,6}$", description=description,
                    metadata={"check": "iccs_code_exists"})
