"""The ICCS v1.0 classification (UNODC, 2015): categories, hierarchy navigation and code clean-up.

The table ships with the package (``iccs/data/iccs_v1.csv``) so that classification never depends on network
access or on files outside the installed package. It is read once and cached.
"""

from __future__ import annotations

import csv
import difflib
import functools
import math
import re
from dataclasses import dataclass
from importlib import resources

import pandas as pd

LEVELS: tuple[int, ...] = (1, 2, 3, 4)
_CODE_LENGTH: dict[int, int] = {1: 2, 2: 4, 3: 5, 4: 6}
_PREFIX = re.compile(r"^ICCS[\s_-]*", re.IGNORECASE)
_FLOAT_SUFFIX = re.compile(r"^(\d+)\.0+$")


class UnknownCodeError(ValueError):
    """A code that is not an ICCS v1.0 category; a ValueError so callers can treat it as bad input."""


@dataclass(frozen=True, slots=True)
class Category:
    """One ICCS category; immutable so cached instances can be shared safely."""

    code: str
    level: int
    parent_code: str | None
    label: str
    label_es: str


@functools.cache
def _table() -> dict[str, Category]:
    """Read the shipped table once; codes are kept as strings because leading zeros are significant."""
    source = resources.files("iccs") / "data" / "iccs_v1.csv"
    with source.open(encoding="utf-8", newline="") as handle:
        rows = [
            Category(
                code=row["code"],
                level=int(row["level"]),
                parent_code=row["parent_code"] or None,
                label=row["label"],
                label_es=row["label_es"],
            )
            for row in csv.DictReader(handle)
        ]
    return {category.code: category for category in sorted(rows, key=lambda c: c.code)}


@functools.cache
def _children_index() -> dict[str, tuple[Category, ...]]:
    """Map each code to its direct children, built once because tree walks ask for it repeatedly."""
    index: dict[str, list[Category]] = {code: [] for code in _table()}
    for category in _table().values():
        if category.parent_code is not None:
            index[category.parent_code].append(category)
    return {code: tuple(kids) for code, kids in index.items()}


def categories() -> tuple[Category, ...]:
    """All 320 categories in code order (which is also depth-first tree order)."""
    return tuple(_table().values())


def is_valid(code: str) -> bool:
    """True when ``code`` is exactly an ICCS code (no clean-up; use ``normalise_code`` for raw input)."""
    return isinstance(code, str) and code in _table()


def _suggestions(code: str) -> list[str]:
    """Close matches for an error message, so a typo or a lost leading zero is easy to fix."""
    fixed = normalise_code(code)
    close = difflib.get_close_matches(str(code), list(_table()), n=4, cutoff=0.6)
    return ([fixed] if fixed else []) + [c for c in close if c != fixed]


def get(code: str) -> Category:
    """Look up a category by its exact code, failing loudly with suggestions rather than returning None."""
    found = _table().get(code) if isinstance(code, str) else None
    if found is not None:
        return found
    hints = _suggestions(code)
    hint = f"; did you mean {', '.join(repr(h) for h in hints)}?" if hints else ""
    raise UnknownCodeError(f"{code!r} is not an ICCS v1.0 code (codes are strings such as '0101'){hint}")


def _digits(raw: str | int | float) -> str | None:
    """Reduce raw input to a digit string, because codes often arrive as numbers or 'ICCS'-prefixed text."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, float):
        if math.isnan(raw) or not raw.is_integer():
            return None
        raw = int(raw)
    text = _PREFIX.sub("", str(raw).strip())
    text = _FLOAT_SUFFIX.sub(r"\1", text)
    return text if text.isdigit() else None


def normalise_code(raw: str | int | float | None) -> str | None:
    """Clean a source code: strip, drop an 'ICCS' prefix, restore a leading zero lost to numeric types.

    Returns None when no valid code results, so callers can flag the record instead of guessing.
    """
    if raw is None:
        return None
    digits = _digits(raw)
    if digits is None:
        return None
    for candidate in (digits, "0" + digits):
        if candidate in _table():
            return candidate
    return None


def parent(code: str) -> Category | None:
    """The parent category, or None for a level-1 section."""
    parent_code = get(code).parent_code
    return None if parent_code is None else get(parent_code)


def ancestors(code: str) -> list[Category]:
    """Ancestors from the level-1 section down, excluding the code itself."""
    chain: list[Category] = []
    current = parent(code)
    while current is not None:
        chain.append(current)
        current = parent(current.code)
    return chain[::-1]


def lineage(code: str) -> list[Category]:
    """Ancestors followed by the category itself (the full path from its section)."""
    return [*ancestors(code), get(code)]


def children(code: str) -> list[Category]:
    """Direct children in code order."""
    get(code)
    return list(_children_index()[code])


def descendants(code: str) -> list[Category]:
    """All categories below ``code``, depth-first in code order, excluding the code itself."""
    found: list[Category] = []
    for child in children(code):
        found.append(child)
        found.extend(descendants(child.code))
    return found


def rollup(code: str, level: int) -> str | None:
    """The code's ancestor at ``level`` (itself if already at it); None if the code is coarser than ``level``.

    Never invents a finer code: a level-2 record cannot be attributed to any level-3 category.
    """
    if level not in LEVELS:
        raise ValueError(f"ICCS level must be one of {LEVELS}, got {level!r}")
    category = get(code)
    if category.level < level:
        return None
    return next(c.code for c in lineage(code) if c.level == level)


def section(code: str) -> str:
    """The level-1 section code (e.g. '02' for '02041')."""
    return lineage(code)[0].code


def categories_frame() -> pd.DataFrame:
    """All categories as a DataFrame for loading into a database (string codes, NULL parent for sections)."""
    frame = pd.DataFrame(
        {
            "code": [c.code for c in categories()],
            "level": [c.level for c in categories()],
            "parent_code": [c.parent_code for c in categories()],
            "label": [c.label for c in categories()],
            "label_es": [c.label_es for c in categories()],
            "section": [section(c.code) for c in categories()],
        }
    )
    strings = ["code", "parent_code", "label", "label_es", "section"]
    return frame.astype({**dict.fromkeys(strings, "string"), "level": "int64"})


def ancestor_pairs_frame() -> pd.DataFrame:
    """(code, ancestor_code, ancestor_level) for every code and each of its lineage, itself included.

    Joining counts on ``code`` and grouping by ``ancestor_code`` rolls them up to every level in one query.
    """
    pairs = [(c.code, a.code, a.level) for c in categories() for a in lineage(c.code)]
    frame = pd.DataFrame(pairs, columns=["code", "ancestor_code", "ancestor_level"])
    return frame.astype({"code": "string", "ancestor_code": "string", "ancestor_level": "int64"})
