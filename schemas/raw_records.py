"""Standardized raw records (``raw_table(source)``, a step's scratch): each input record as read, all as text.

Columns are named for the standard field they carry (``date_raw`` is whatever column ``columns.date`` names), so
one contract covers every source. Values are not judged here: an empty date is a quarantine reason decided in
the next layer. This layer's rules are about the reading itself — provenance on every row, one row per record.
"""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series


def _raw(field: str, *, required: bool) -> object:
    return pa.Field(
        nullable=True,
        coerce=True,
        required=required,
        description=f"the source column configured as columns.{field}, as text (NULL when empty)",
    )


class RawRecordRow(pa.DataFrameModel):
    file_index: Series[int] = pa.Field(
        ge=0, description="position of the file among the source's files (sorted); its path: files_table(source)"
    )
    ordinal: Series[int] = pa.Field(ge=1, description="position among the file's parsed records (1 = first)")
    record_id_raw: Series[str] = _raw("record_id", required=False)
    date_raw: Series[str] = _raw("date", required=True)
    offence_raw: Series[str] = _raw("offence", required=True)
    latitude_raw: Series[str] = _raw("latitude", required=False)
    longitude_raw: Series[str] = _raw("longitude", required=False)
    area_raw: Series[str] = _raw("area", required=False)
    count_raw: Series[str] = _raw("count", required=False)

    class Config:
        strict = False
        unique = ["file_index", "ordinal"]
