"""Country codes: ISO 3166-1 alpha-3 (the warehouse's ``country``) to UN M49 numeric codes (the SDG database's
``REF_AREA``), shipped as data in ``data/m49.csv``.

For countries and territories M49 uses the ISO 3166-1 numeric code, so the table is ISO 3166-1 as published in the
``iso3166`` package 3.0.0 (249 entries: alpha-3, numeric, alpha-2, name), plus Kosovo (``XKX``, not in ISO 3166-1),
with the code 412 under which the UN SDG global database publishes it. Codes keep their leading zeros (``004``
Afghanistan); ``m49_of`` and ``iso3_of`` accept them with or without.
"""

from __future__ import annotations

import csv
import functools
from importlib import resources

import pandas as pd


@functools.cache
def _rows() -> tuple[dict[str, str], ...]:
    source = resources.files("iccs") / "data" / "m49.csv"
    with source.open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


def m49_frame() -> pd.DataFrame:
    """The table as strings: iso3, m49 (three digits), iso2, name."""
    return pd.DataFrame(list(_rows()), columns=["iso3", "m49", "iso2", "name"], dtype="string")


def m49_of(iso3: str) -> str | None:
    """The M49 code of an ISO alpha-3 code (``GBR`` -> ``826``); None for a code the table does not know."""
    return {r["iso3"]: r["m49"] for r in _rows()}.get(iso3.strip().upper())


def iso3_of(m49: str | int) -> str | None:
    """The ISO alpha-3 code of an M49 code (``826``, ``'004'`` or ``4``); None for a code the table does not know
    (a region, such as ``150`` Europe)."""
    text = str(m49).strip()
    if not text.isdigit():
        return None
    return {int(r["m49"]): r["iso3"] for r in _rows()}.get(int(text))
