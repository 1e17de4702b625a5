"""Quarantine (``quarantine``): every input record that was not loaded, with the reason why."""

import pandera.pandas as pa
from pandera.typing import Series

# Reason codes, in the order they are tested: a record gets the first that applies.
REASONS: dict[str, str] = {
    "malformed_line": "the line could not be parsed (wrong number of fields, broken quoting, bad encoding)",
    "missing_field": "a required field (date, offence, country) is empty",
    "invalid_date": "the date does not match the source's date_format",
    "date_out_of_range": "the date is in the future or before the source's date_floor",
    "excluded_offence": "the correspondence table places the national category outside ICCS (its note says why)",
    "unmapped_offence": "the national offence code is not in the correspondence table",
    "invalid_coordinates": "latitude/longitude are not numbers or not valid degrees",
    "coordinates_outside_country": "the point lies outside the source's bounding box",
    "missing_count": "the count is missing or suppressed: an empty cell, a marker of the source's missing_values "
    "('..', ':', 'x', 'NaN', ...) or a NaN/infinite number from a typed file",
    "invalid_count": "the count is not a number, is negative, or has a fraction in a source of whole counts",
    "invalid_disaggregation": "a disaggregating variable's value (victim sex, age, weapon, ...) is neither in the "
    "source's disaggregations values nor a code of the variable: never folded into a total",
    "duplicate_record_id": "an earlier record of the same source has this id",
    "invalid_population": "a population row whose figure is not a positive finite number, or whose country or "
    "year cannot be read (source 'population'; never used as a denominator)",
}

# Why the national code of an `unmapped_offence` or `excluded_offence` record has no ICCS code: the quarantine
# table's `exclusion` column (NULL for the other reasons).
EXCLUSIONS: dict[str, str] = {
    "unmapped": "not in the correspondence table",
    "no_row_on_date": "in the correspondence table, but with no row valid on the record's date",
    "excluded": "outside ICCS by the correspondence table",
}


class QuarantineRow(pa.DataFrameModel):
    source: Series[str] = pa.Field(description="source name from the configuration")
    file: Series[str] = pa.Field(description="file the record was read from")
    row_number: Series[int] = pa.Field(ge=1, description="line in the file, header = line 1")
    reason: Series[str] = pa.Field(isin=list(REASONS), description="reason code, one of schemas.quarantine.REASONS")
    detail: Series[str] = pa.Field(description="what was wrong, naming the field and value")
    raw: Series[str] = pa.Field(nullable=True, description="the record as read")
    run_id: Series[str] = pa.Field(nullable=True, description="the run that quarantined it (see runs)")

    class Config:
        strict = False
