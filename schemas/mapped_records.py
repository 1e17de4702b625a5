"""Mapped records (the scratch table ``records_table(source)``): each record typed, mapped to ICCS and judged.

The contract describes an *accepted* record (``reason`` NULL); ``warehouse.classify`` gives every record that
would break it a quarantine reason. Validated as an asset check over the rows with ``reason IS NULL``: an
accepted record that breaks the contract means the quarantine step missed something, and that blocks the load.
"""

from __future__ import annotations

import datetime as dt

import pandera.pandas as pa
from pandera.typing import Series

from schemas.checks import iccs_code_field, number_field
from schemas.quarantine import REASONS


class MappedRecordRow(pa.DataFrameModel):
    file_index: Series[int] = pa.Field(
        ge=0, description="position of the file among the source's files (sorted); its path: files_table(source)"
    )
    line: Series[int] = pa.Field(ge=2, description="physical line in the file (header = line 1)")
    record_id: Series[str] = pa.Field(
        unique=True, description="the source's id, or file:line where the source has none"
    )
    occurred_on: Series[dt.date] = pa.Field(description="date of the offence (first day of the period if coarser)")
    national_code: Series[str] = pa.Field(str_length={"min_value": 1}, description="offence code as recorded, trimmed")
    iccs_code: Series[str] = iccs_code_field(description="ICCS code from the source's correspondence table")
    area: Series[str] = pa.Field(nullable=True, description="reporting area (district, force area, ...)")
    latitude: Series[float] = number_field(
        nullable=True, in_range={"min_value": -90, "max_value": 90}, description="WGS84 degrees"
    )
    longitude: Series[float] = number_field(
        nullable=True, in_range={"min_value": -180, "max_value": 180}, description="WGS84 degrees"
    )
    count: Series[float] = number_field(
        ge=0, description="records this row stands for: 1 for an incident, as given for counts"
    )
    reason: Series[str] = pa.Field(
        nullable=True,
        isin=list(REASONS),
        description="quarantine reason code (schemas.quarantine.REASONS); NULL = accepted",
    )
    detail: Series[str] = pa.Field(nullable=True, description="what was wrong, naming the field and value")
    raw: Series[str] = pa.Field(nullable=True, description="the record as read (JSON), kept for quarantined rows")

    class Config:
        strict = False
