"""Small builders of SQL text: a quoted literal, a quoted identifier, a number parsed from text."""

from __future__ import annotations

import datetime as dt


def literal(value: object) -> str:
    """``value`` as a DuckDB literal: text quoted (``'it''s'``), booleans, numbers, dates and timestamps; any other
    type raises TypeError."""
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return f"TIMESTAMP '{value.isoformat(sep=' ')}'"
    if isinstance(value, dt.date):
        return f"DATE '{value.isoformat()}'"
    if isinstance(value, int | float):
        return repr(value)
    raise TypeError(f"value {value!r} has no SQL literal")


def ident(name: str) -> str:
    """A column or table name as a quoted identifier: in double quotes, an inner double quote doubled."""
    return '"' + name.replace('"', '""') + '"'


def one_of(text: str, values: object) -> str:
    """TRUE where the text expression ``text`` equals one of ``values``, NULL where ``text`` is NULL.

    A list test, not ``text IN (…)``: in the SELECT that classifies records DuckDB 1.5 plans each IN list as a
    join (a MARK hash join). For the dozen missing-value markers of latitude and longitude that cost 0.55 s per
    million records, as much as the rest of the classification; for a sex or age column's few codes it measured
    the same either way."""
    return f"list_contains([{', '.join(literal(v) for v in values)}]::VARCHAR[], {text})"


def to_number(text: str, decimal: str = ".", thousands: str = "") -> str:
    """SQL for the DOUBLE written in the text expression ``text`` ('1.563,5' with ``thousands`` '.' and
    ``decimal`` ','), NULL where it is not a number."""
    if thousands:
        text = f"replace({text}, {literal(thousands)}, '')"
    if decimal != ".":
        text = f"replace({text}, {literal(decimal)}, '.')"
    return f"TRY_CAST({text} AS DOUBLE)"


def scratch(name: str) -> str:
    """A step's scratch table (the staged and classified records): in the connection's temp catalog, so it is
    never written to the warehouse, two processes loading at once never share one, and a transaction may write it
    together with the warehouse (DuckDB lets one transaction write one attached database, plus temp)."""
    return f"temp.staging_{name}"
