"""SDMX files written with ``pysdmx`` from the observations of one of our structures (``schemas.sdmx``).

``pysdmx`` builds a message from a pandas frame in memory: about 2 KB an observation at its peak (1M observations:
2.1 GB for SDMX-CSV, 1.7 GB for SDMX-ML, measured here). SDMX-CSV is therefore written in parts of ``PART_ROWS``
observations, each part's rows after the header line appended to the file, so its size has no bound; an SDMX-ML
message is one XML document, written whole, and refused above ``ML_MAX_OBSERVATIONS``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import duckdb
from pysdmx.io import write_sdmx
from pysdmx.io.format import Format
from pysdmx.io.pd import PandasDataset
from pysdmx.model import Schema

from warehouse.exchange.progress import Progress, silent
from warehouse.exchange.selection import ExportError

# (format, SDMX-CSV version) -> the library's format; SDMX-ML is structure-specific 2.1 (one Obs element per row).
_FORMATS = {
    ("sdmx-csv", 1): Format.DATA_SDMX_CSV_1_0_0,
    ("sdmx-csv", 2): Format.DATA_SDMX_CSV_2_0_0,
    ("sdmx-ml", 1): Format.DATA_SDMX_ML_2_1_STR,
    ("sdmx-ml", 2): Format.DATA_SDMX_ML_2_1_STR,
}
PART_ROWS = 200_000
ML_MAX_OBSERVATIONS = int(os.environ.get("ICCS_SDMX_ML_MAX_OBSERVATIONS", "1000000"))


def _parts(con: duckdb.DuckDBPyConnection, table: str, rows: int) -> Iterator:
    """The table's rows in order, as pandas frames of ``rows`` rows at most."""
    reader = con.execute(f"SELECT * FROM {table}").to_arrow_reader(rows)
    for batch in reader:
        if batch.num_rows:
            yield batch.to_pandas()


def check_size(fmt: str, observations: int) -> None:
    """ExportError where ``fmt`` cannot be written for that many observations."""
    if fmt == "sdmx-ml" and observations > ML_MAX_OBSERVATIONS:
        raise ExportError(
            f"{observations:,} observations: an SDMX-ML message of more than {ML_MAX_OBSERVATIONS:,} is not written "
            "(it is built whole in memory, about 2 KB an observation; ICCS_SDMX_ML_MAX_OBSERVATIONS raises the "
            "limit); narrow the selection (--national, --country, --source, --iccs-level, --from/--to) or write "
            "SDMX-CSV, which is written in parts"
        )


def write_sdmx_file(
    con: duckdb.DuckDBPyConnection,
    table: str,
    observations: int,
    schema: Schema,
    fmt: str,
    path: Path,
    version: int,
    progress: Progress = silent,
) -> None:
    """Write the observations of ``table`` (the schema's columns, in order; ``observations`` rows) to ``path`` in
    ``fmt``: first to a file beside it, renamed when whole, so a failed export never leaves half a file under the
    name a receiver picks up. ``progress`` is told the file, and each part of rows of an SDMX-CSV."""
    check_size(fmt, observations)
    progress(f"writing {path.name}")
    partial = path.with_name(path.name + ".part")
    try:
        if fmt == "sdmx-ml":
            frame = con.execute(f"SELECT * FROM {table}").to_arrow_table().to_pandas()
            write_sdmx(PandasDataset(structure=schema, data=frame), _FORMATS[(fmt, version)], output_path=str(partial))
        else:
            with partial.open("w", encoding="utf-8", newline="") as out:
                for number, frame in enumerate(_parts(con, table, PART_ROWS)):
                    progress(f"writing {path.name}, part {number + 1}", part=True)
                    text = write_sdmx(PandasDataset(structure=schema, data=frame), _FORMATS[(fmt, version)])
                    out.write(text if number == 0 else text.split("\n", 1)[1])  # the header line once
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def write_structure_file(schema: Schema, path: Path) -> None:
    """The schema's SDMX-ML 2.1 structure message (``schemas.sdmx.structure_artefacts``), written whole."""
    from schemas.sdmx import structure_artefacts

    partial = path.with_name(path.name + ".part")
    try:
        write_sdmx(structure_artefacts(schema), Format.STRUCTURE_SDMX_ML_2_1, output_path=str(partial))
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
