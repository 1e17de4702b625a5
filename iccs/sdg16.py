"""SDG 16 indicators mapped to ICCS codes (shipped as data in ``iccs/data/sdg16.csv``).

Codes are the categories a record may carry to count towards an indicator: match records on their exact code.
Rows flagged ``include_descendants`` stand for the whole subtree, expanded here so consumers need not walk it.
"""

from __future__ import annotations

import csv
import functools
from importlib import resources

import pandas as pd

from iccs.classification import descendants, get

_TRUE = {"true": True, "false": False}


@functools.cache
def _rows() -> tuple[dict[str, str], ...]:
    """Read the shipped mapping once, as strings (codes keep their leading zeros)."""
    source = resources.files("iccs") / "data" / "sdg16.csv"
    with source.open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


def _expand(code: str, include_descendants: str) -> list[str]:
    """The code itself plus, when flagged, every category below it."""
    flag = _TRUE[include_descendants.strip().lower()]
    return [get(code).code, *([c.code for c in descendants(code)] if flag else [])]


def _select(indicator: str, component: str | None) -> list[dict[str, str]]:
    """Mapping rows for an indicator (and component), failing loudly on ids the mapping does not know."""
    rows = [r for r in _rows() if r["indicator"] == indicator]
    if not rows:
        known = sorted({r["indicator"] for r in _rows()})
        raise ValueError(f"unknown SDG indicator {indicator!r}; known: {', '.join(known)}")
    if component is None:
        return rows
    chosen = [r for r in rows if r["component"] == component]
    if not chosen:
        known = sorted({r["component"] for r in rows if r["component"]})
        raise ValueError(f"indicator {indicator!r} has no component {component!r}; known: {known}")
    return chosen


def components(indicator: str) -> tuple[str, ...]:
    """The indicator's components in the order the shipped mapping lists them (empty when it has none)."""
    return tuple(dict.fromkeys(r["component"] for r in _select(indicator, None) if r["component"]))


def indicator_codes(indicator: str, component: str | None = None) -> list[str]:
    """Sorted, de-duplicated ICCS codes for an indicator (all its components unless one is named)."""
    rows = _select(indicator, component)
    return sorted({code for r in rows for code in _expand(r["iccs_code"], r["include_descendants"])})


def sdg16_frame() -> pd.DataFrame:
    """The expanded mapping, one row per (indicator, component, iccs_code), for loading into a database."""
    records = {
        (r["indicator"], r["component"] or None, code): (r["title"], r["unit"])
        for r in _rows()
        for code in _expand(r["iccs_code"], r["include_descendants"])
    }
    frame = pd.DataFrame(
        [(ind, comp, title, unit, code) for (ind, comp, code), (title, unit) in records.items()],
        columns=["indicator", "component", "title", "unit", "iccs_code"],
    )
    return frame.sort_values(["indicator", "component", "iccs_code"], na_position="first", ignore_index=True).astype(
        "string"
    )
