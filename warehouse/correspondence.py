"""Correspondence tables: national offence codes -> ICCS, checked before any record is mapped with them.

A bad table stops the run: mapping records with a wrong table would silently misclassify them, which is worse
than not loading. Errors name the file, the line and the problem.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pandera.errors

import iccs
from schemas.correspondence import CorrespondenceRow

REQUIRED = ("national_code", "iccs_code")


class CorrespondenceError(ValueError):
    """The correspondence table cannot be used; the message names file, line and problem."""


def read_correspondence(path: Path) -> pd.DataFrame:
    """The table as strings, ICCS codes normalised (a lost leading zero restored), with its file line numbers."""
    con = duckdb.connect()
    try:
        frame = con.execute(
            "SELECT * FROM read_csv(?, header = true, all_varchar = true)", [str(path)]
        ).fetch_df()
    except duckdb.Error as exc:
        raise CorrespondenceError(f"{path}: cannot be read: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise CorrespondenceError(f"{path}: column(s) {missing} missing (columns: {', '.join(frame.columns)})")
    for optional in ("national_label", "note"):
        if optional not in frame.columns:
            frame[optional] = None
    frame = frame.astype(object).where(frame.notna(), None)
    frame["national_code"] = frame["national_code"].map(lambda v: v.strip() if isinstance(v, str) else v)
    raw_codes = frame["iccs_code"]
    frame["iccs_code"] = raw_codes.map(lambda v: iccs.normalise_code(v) if isinstance(v, str) else None)
    frame["line"] = range(2, len(frame) + 2)
    bad = frame[frame["iccs_code"].isna()]
    if len(bad):
        first = bad.iloc[0]
        raise CorrespondenceError(
            f"{path}: line {first['line']}: field 'iccs_code': '{raw_codes[bad.index[0]]}' is not an ICCS v1.0 code"
            f" ({len(bad)} such row(s))")
    try:
        CorrespondenceRow.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        row = cases.iloc[0]
        index = row["index"]
        line = frame.loc[index, "line"] if index in frame.index else "?"
        raise CorrespondenceError(f"{path}: line {line}: field '{row['column']}': {row['check']} failed for "
                                  f"'{row['failure_case']}' ({len(cases)} problem(s) in all)") from None
    return frame


def load_correspondence(con: duckdb.DuckDBPyConnection, source: str, path: Path) -> int:
    """Replace the source's rows of the warehouse `correspondence` table; return the number of codes."""
    frame = read_correspondence(path)
    table = frame[["national_code", "national_label", "iccs_code", "note"]].assign(source=source)
    con.register("corr_frame", table)
    try:
        con.execute("DELETE FROM correspondence WHERE source = ?", [source])
        con.execute("INSERT INTO correspondence SELECT source, national_code, national_label, iccs_code, note "
                    "FROM corr_frame")
    finally:
        con.unregister("corr_frame")
    return len(table)
