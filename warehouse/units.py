"""Unit discipline: counts in different counting units (offences, victims, suspects, ...) are never added.

Every fact row carries its unit and recording stage; a sum is only meaningful within one unit. The report
queries group by unit, and these guards make the rule checkable where a frame or a query is about to be summed:
call ``assert_single_unit`` on the rows of each group before adding them, or ``mixed_units`` on a query's result
to list the groups that would mix. A source whose configured unit changed between loads (files are loaded one
by one) holds two units: ``source_units`` shows it.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pandas as pd

from schemas import OffenceCountRow
from warehouse.contracts import allowed_values

UNITS: tuple[str, ...] = tuple(str(u) for u in allowed_values(OffenceCountRow, "unit"))


class MixedUnitsError(ValueError):
    """A sum would add counts of different units; the message names the groups and their units."""


def _describe(groups: pd.DataFrame, by: Sequence[str], limit: int = 5) -> str:
    shown = []
    for row in groups.head(limit).itertuples(index=False):
        key = ", ".join(f"{k}={v}" for k, v in zip(by, row[:-1], strict=True)) or "all rows"
        shown.append(f"{key}: {row[-1]}")
    more = f" (and {len(groups) - limit} more)" if len(groups) > limit else ""
    return "; ".join(shown) + more


def mixed_unit_groups(frame: pd.DataFrame, by: Sequence[str] = (), unit: str = "unit") -> pd.DataFrame:
    """The groups of ``by`` whose rows hold more than one unit, with the units as 'a, b'."""
    if unit not in frame.columns:
        raise MixedUnitsError(f"no '{unit}' column: counts without a unit cannot be summed safely")
    keys = list(by)
    if frame.empty:
        return pd.DataFrame(columns=[*keys, "units"])
    grouped = frame.assign(_all=0).groupby(keys or ["_all"], dropna=False)[unit]
    found = grouped.agg(n="nunique", units=lambda s: ", ".join(sorted(s.dropna().astype(str).unique())))
    found = found[found["n"] > 1].reset_index()
    return found[[*keys, "units"]].reset_index(drop=True)


def assert_single_unit(frame: pd.DataFrame, by: Sequence[str] = (), unit: str = "unit") -> None:
    """Raise MixedUnitsError unless every group of ``by`` (the whole frame when empty) holds one unit."""
    mixed = mixed_unit_groups(frame, by, unit)
    if not mixed.empty:
        raise MixedUnitsError(f"refusing to add counts of different units: {_describe(mixed, list(by))}")


def mixed_units(con: duckdb.DuckDBPyConnection, relation: str, by: Sequence[str] = (),
                params: Sequence[object] | None = None) -> pd.DataFrame:
    """The groups of ``by`` in ``relation`` (a table, view or ``(SELECT ...)``) holding more than one unit,
    computed in SQL so a large relation is never brought to pandas."""
    keys = ", ".join(f'"{k}"' for k in by)
    select = f"{keys}, " if keys else ""
    group = f"GROUP BY {keys}" if keys else ""
    sql = (f"SELECT {select}string_agg(DISTINCT unit, ', ' ORDER BY unit) AS units FROM {relation} {group} "
           "HAVING count(DISTINCT unit) > 1 ORDER BY ALL")
    return con.execute(sql, list(params or [])).fetch_df()


def assert_single_unit_sql(con: duckdb.DuckDBPyConnection, relation: str, by: Sequence[str] = (),
                           params: Sequence[object] | None = None) -> None:
    """``assert_single_unit`` for a relation in the warehouse."""
    mixed = mixed_units(con, relation, by, params)
    if not mixed.empty:
        raise MixedUnitsError(f"refusing to add counts of different units in {relation}: "
                              f"{_describe(mixed, list(by))}")


def source_units(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """source, units, rows: the units each source's counts are in (more than one is a warning sign)."""
    return con.execute("SELECT source, string_agg(DISTINCT unit, ', ' ORDER BY unit) AS units, count(*) AS rows "
                       "FROM offence_counts GROUP BY source ORDER BY source").fetch_df()
