"""The ``coverage:`` setting of a source: the span of periods its publisher says it covers.

``coverage: {from: 2016-01, to: 2023-12}`` (either bound optional; ``2016`` is a whole year). A monthly bound
on an annual source would claim a precision the data cannot have and is refused. The bounds are kept as text
('YYYY' or 'YYYY-MM'); ``warehouse.coverage`` turns them into periods of the source's own granularity.
"""

from __future__ import annotations

import re
from typing import Any

_BOUND = re.compile(r"^(\d{4})(?:-(\d{2}))?$")


def parse_bound(value: Any) -> tuple[int, int | None] | None:
    """(year, month or None) from 2016, '2016' or '2016-01'; None when the text is not such a bound."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    found = _BOUND.match(str(value).strip())
    if not found:
        return None
    year, month = int(found.group(1)), int(found.group(2)) if found.group(2) else None
    if not 1800 <= year <= 2200 or (month is not None and not 1 <= month <= 12):
        return None
    return year, month


def check_coverage(where: str, spec: Any, period: str) -> tuple[str | None, str | None] | None:
    """The configured (from, to) bounds as 'YYYY' / 'YYYY-MM' text, or None when not configured.

    ``period`` is the source's granularity ('day', 'month' or 'year'); raises ValueError with one line naming
    the field on a bad value (the caller prefixes the file and source)."""
    if spec is None:
        return None
    if not isinstance(spec, dict) or not spec or set(spec) - {"from", "to"}:
        raise ValueError(
            f"{where}: field 'coverage' must be a mapping with 'from' and/or 'to' (e.g. {{from: 2016-01, to: 2023-12}})"
        )
    bounds: dict[str, tuple[int, int | None]] = {}
    for key in ("from", "to"):
        if spec.get(key) is None:
            continue
        bound = parse_bound(spec[key])
        if bound is None:
            raise ValueError(
                f"{where}: field 'coverage.{key}': {spec[key]!r} is not a year (2016) or a month "
                "(2016-01; quote it if YAML reads it as a date)"
            )
        if bound[1] is not None and period == "year":
            raise ValueError(
                f"{where}: field 'coverage.{key}': {spec[key]!r} names a month, but the source's "
                "date_format gives years only: write the year"
            )
        bounds[key] = bound
    if not bounds:
        raise ValueError(f"{where}: field 'coverage' needs 'from' and/or 'to'")
    if "from" in bounds and "to" in bounds:
        first = (bounds["from"][0], bounds["from"][1] or 1)
        last = (bounds["to"][0], bounds["to"][1] or 12)
        if first > last:
            raise ValueError(f"{where}: field 'coverage': from {spec['from']} is after to {spec['to']}")
    text = {k: f"{y:04d}" + (f"-{m:02d}" if m else "") for k, (y, m) in bounds.items()}
    return text.get("from"), text.get("to")
