"""The columns of the SYNTHETIC police feed and how numeric draws become their text, vectorised with Arrow."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.demo.incidents import Incidents
from pipelines.demo.victims import LABELS

# standard field (as in the source config) -> column name in the file
COLUMNS = {
    "record_id": "incident_id",
    "date": "date_occurred",
    "offence": "offence_code",
    "latitude": "latitude",
    "longitude": "longitude",
    "area": "district",
}
# disaggregating variable (as in the source config's `disaggregations`) -> column name in the file
DISAGGREGATION_COLUMNS = {"victim_sex": "victim_sex", "victim_age": "victim_age", "weapon": "weapon"}
FILE_COLUMNS = {**COLUMNS, **DISAGGREGATION_COLUMNS}  # every column of the file, in order
DATE_FORMAT = "%Y-%m-%d"
ID_PREFIX, ID_DIGITS = "XSY", 9


def record_ids(numbers: np.ndarray) -> pa.Array:
    """'XSY000000042' for 42: ids follow the order in which records were generated (by date)."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers, pa.int64()), pa.string()), ID_DIGITS, "0")
    return pc.binary_join_element_wise(ID_PREFIX, digits, "")


def coordinate_text(values: np.ndarray) -> pa.Array:
    """Shortest text of a coordinate already rounded to 5 decimals (about 1 m)."""
    return pc.cast(pa.array(values, pa.float64()), pa.string())


def format_columns(
    inc: Incidents, rows: np.ndarray, offence_codes: pa.Array, district_codes: pa.Array
) -> dict[str, pa.Array]:
    """Text of every column for generated rows ``rows``, keyed by standard field or disaggregating variable."""
    planted = {"victim_sex": inc.victim_sex, "victim_age": inc.victim_age, "weapon": inc.weapon}
    if any(values is None for values in planted.values()):
        raise ValueError("victims.plant_victims must plant victim sex, age and weapon before the text is made")
    return {
        "record_id": record_ids(rows + 1),
        "date": pc.cast(pa.array(inc.day[rows], pa.date32()), pa.string()),
        "offence": pc.take(offence_codes, pa.array(inc.offence[rows])),
        "latitude": coordinate_text(inc.lat[rows]),
        "longitude": coordinate_text(inc.lon[rows]),
        "area": pc.take(district_codes, pa.array(inc.district[rows])),
        **{v: pc.take(pa.array(LABELS[v], pa.string()), pa.array(planted[v][rows])) for v in DISAGGREGATION_COLUMNS},
    }


def header() -> str:
    return ",".join(FILE_COLUMNS.values()) + "\n"
