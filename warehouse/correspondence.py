"""Correspondence tables: national offence categories -> ICCS, checked before any record is mapped with them.

A bad table stops the run: mapping records with a wrong table would silently misclassify them, which is worse
than not loading. Errors name the file, the line and the problem. The checks are the pandera model
``schemas.correspondence.CorrespondenceRow``; this module reads the file into its shape first (codes trimmed,
a lost leading zero restored, dates and shares typed) and says which line a value could not be read on. Columns
beyond ours are ignored (a draft's score, reasons, alternatives and records), but a draft row itself (basis
``suggested``) is refused: a table must be reviewed by a person before it maps anything.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import duckdb
import pandas as pd
import pandera.errors

import iccs
from schemas.correspondence import BASES, DRAFT_BASIS, KINDS, PROBLEMS, CorrespondenceRow
from warehouse.replace import replace_rows

REQUIRED = ("national_code", "iccs_code")
OPTIONAL = ("national_label", "correspondence", "share", "valid_from", "valid_to", "basis", "note", "parent")
COLUMNS = (
    "national_code",
    "national_label",
    "iccs_code",
    "correspondence",
    "share",
    "valid_from",
    "valid_to",
    "basis",
    "note",
    "parent",
)
# Columns the warehouse table gained with the mapping engine; added to warehouses created before it.
_EXTRA_COLUMNS = {
    "correspondence": "VARCHAR",
    "share": "DOUBLE",
    "valid_from": "DATE",
    "valid_to": "DATE",
    "basis": "VARCHAR",
    "parent": "VARCHAR",
}


class CorrespondenceError(ValueError):
    """The correspondence table cannot be used; the message names file, line and problem."""


def _read_text(path: Path) -> pd.DataFrame:
    con = duckdb.connect()
    try:
        return con.execute(
            "SELECT * FROM read_csv(?, header = true, all_varchar = true, sample_size = -1)", [str(path)]
        ).fetch_df()
    except duckdb.Error as exc:
        raise CorrespondenceError(f"{path}: cannot be read as CSV: {str(exc).splitlines()[0]}") from None
    finally:
        con.close()


def _fail(path: Path, frame: pd.DataFrame, mask: pd.Series, field: str, problem: str) -> None:
    if mask.any():
        first = frame.index[mask.to_numpy()][0]
        raise CorrespondenceError(
            f"{path}: line {frame.loc[first, 'line']}: field '{field}': {problem} ({int(mask.sum())} such row(s))"
        )


def _refuse_draft(path: Path, frame: pd.DataFrame) -> None:
    """A row nobody reviewed (``iccs map-draft``'s) must not map records: said before any other problem of the row,
    since a draft's rows are often incomplete too (a bare code has no candidate)."""
    draft = frame["basis"].map(lambda v: isinstance(v, str) and v.lower() == DRAFT_BASIS)
    _fail(
        path,
        frame,
        draft,
        "basis",
        f"'{DRAFT_BASIS}' is a draft row written by iccs map-draft; review it and set basis to one of "
        f"{', '.join(BASES)}",
    )


def _typed(path: Path, frame: pd.DataFrame, excluded_values: Sequence[str]) -> pd.DataFrame:
    for column in COLUMNS:
        if column in frame.columns:
            frame[column] = frame[column].map(lambda v: v.strip() if isinstance(v, str) and v.strip() else None)
    _refuse_draft(path, frame)
    raw_codes = frame["iccs_code"]
    excluded_marker = raw_codes.isin(list(excluded_values))
    kind = frame["correspondence"].map(lambda v: v.lower() if isinstance(v, str) else None)
    kind = kind.where(kind.notna() | ~excluded_marker, "excluded").fillna("full")
    _fail(path, frame, ~kind.isin(KINDS), "correspondence", f"not one of {', '.join(KINDS)}")
    frame["correspondence"] = kind
    frame["note"] = frame["note"].where(frame["note"].notna() | ~excluded_marker, raw_codes)
    codes = raw_codes.where(~excluded_marker).map(lambda v: iccs.normalise_code(v) if isinstance(v, str) else None)
    bad = raw_codes.notna() & ~excluded_marker & codes.isna()
    first_bad = raw_codes[bad].iloc[0] if bad.any() else ""
    hint = " (or list it under excluded_values)" if excluded_values else ""
    _fail(path, frame, bad, "iccs_code", f"'{first_bad}' is not an ICCS v1.0 code{hint}")
    frame["iccs_code"] = codes
    shares = pd.to_numeric(frame["share"], errors="coerce")
    _fail(path, frame, frame["share"].notna() & shares.isna(), "share", "not a number")
    frame["share"] = shares.astype("float64")
    for column in ("valid_from", "valid_to"):
        dates = pd.to_datetime(frame[column], format="%Y-%m-%d", errors="coerce")
        _fail(path, frame, frame[column].notna() & dates.isna(), column, "not a date in YYYY-MM-DD form")
        frame[column] = dates
    return frame


def read_correspondence(
    path: Path, columns: Mapping[str, str] | None = None, excluded_values: Sequence[str] = ()
) -> pd.DataFrame:
    """The table checked and typed, with each row's file line in ``line``.

    ``columns`` renames the file's columns to ours (for tables published in their own layout); ``iccs_code``
    values in ``excluded_values`` mark rows as excluded, the value kept as the note.
    """
    path = Path(path)
    frame = _read_text(path)
    if columns:
        missing = [c for c in columns.values() if c not in frame.columns]
        if missing:
            raise CorrespondenceError(f"{path}: column(s) {missing} missing (columns: {', '.join(frame.columns)})")
        frame = frame[list(columns.values())].set_axis(list(columns), axis=1)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise CorrespondenceError(f"{path}: column(s) {missing} missing (columns: {', '.join(frame.columns)})")
    if frame.empty:
        raise CorrespondenceError(
            f"{path}: the table has a header but no rows: every record would be unmapped; add a row per national code"
        )
    for optional in OPTIONAL:
        if optional not in frame.columns:
            frame[optional] = None
    frame = frame.astype(object).where(frame.notna(), None).reset_index(drop=True)
    frame["line"] = range(2, len(frame) + 2)
    frame = _typed(path, frame, excluded_values)
    try:
        CorrespondenceRow.validate(frame, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        raise CorrespondenceError(_failure_text(path, frame, exc.failure_cases)) from None
    return frame


def _failure_text(path: Path, frame: pd.DataFrame, cases: pd.DataFrame) -> str:
    """The first failure as 'file: line N: national_code 'X': problem', plus how many there are in all."""
    with_index = cases[cases["index"].notna()]
    row = (with_index if len(with_index) else cases).iloc[0]
    check, column = str(row["check"]), row["column"]
    index = row["index"]
    line = frame.loc[index, "line"] if index in frame.index else "?"
    code = frame.loc[index, "national_code"] if index in frame.index else None
    problem = PROBLEMS.get(check)
    if problem is None:
        problem = f"field '{column}': {check} failed for '{row['failure_case']}'"
    subject = f"national_code '{code}': " if code is not None else ""
    return f"{path}: line {line}: {subject}{problem} ({len(cases)} problem(s) in all)"


def ensure_columns(con: duckdb.DuckDBPyConnection) -> None:
    """Give a warehouse created before the mapping engine the columns it needs (correspondence kind, share,
    validity and basis; offence_counts.flag)."""
    for column, kind in _EXTRA_COLUMNS.items():
        con.execute(f"ALTER TABLE correspondence ADD COLUMN IF NOT EXISTS {column} {kind}")
    # Status flags of published figures (Eurostat's p, e, b ...) travel with the counts they qualify.
    con.execute("ALTER TABLE offence_counts ADD COLUMN IF NOT EXISTS flag VARCHAR")


def store_frame(con: duckdb.DuckDBPyConnection, source: str, frame: pd.DataFrame) -> int:
    """Replace the source's rows of the warehouse `correspondence` table with a checked frame."""
    ensure_columns(con)
    table = frame[list(COLUMNS)].assign(source=source)
    table["valid_from"] = table["valid_from"].dt.date
    table["valid_to"] = table["valid_to"].dt.date
    con.register("corr_frame", table)
    try:
        replace_rows(
            con,
            "correspondence",
            "source = $source",
            f"SELECT source, {', '.join(COLUMNS)} FROM corr_frame",
            {"source": source},
        )
    finally:
        con.unregister("corr_frame")
    return len(table)


def load_correspondence(con: duckdb.DuckDBPyConnection, source: str, path: Path) -> int:
    """Check the table and replace the source's rows of `correspondence`; return the number of rows."""
    return store_frame(con, source, read_correspondence(path))
