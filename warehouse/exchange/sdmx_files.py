"""SDMX files written with ``pysdmx`` from a frame and one of our structures (``schemas.sdmx``)."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
from pysdmx.io import write_sdmx
from pysdmx.io.format import Format
from pysdmx.io.pd import PandasDataset
from pysdmx.model import Schema

# (format, SDMX-CSV version) -> the library's format; SDMX-ML is structure-specific 2.1 (one Obs element per row).
_FORMATS = {
    ("sdmx-csv", 1): Format.DATA_SDMX_CSV_1_0_0,
    ("sdmx-csv", 2): Format.DATA_SDMX_CSV_2_0_0,
    ("sdmx-ml", 1): Format.DATA_SDMX_ML_2_1_STR,
    ("sdmx-ml", 2): Format.DATA_SDMX_ML_2_1_STR,
}


def write_sdmx_file(frame: pd.DataFrame, schema: Schema, fmt: str, path: Path, sdmx_version: int = 2) -> None:
    """Write ``frame`` (the schema's columns, in order) to ``path`` in ``fmt``: first to a file beside it, renamed
    when whole, so a failed export never leaves half a file under the name a receiver picks up."""
    dataset = PandasDataset(structure=schema, data=frame)
    partial = path.with_name(path.name + ".part")
    try:
        write_sdmx(dataset, _FORMATS[(fmt, sdmx_version)], output_path=str(partial))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
