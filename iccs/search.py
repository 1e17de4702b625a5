"""Free-text search over ICCS labels in English and Spanish."""

from __future__ import annotations

import functools
import re
import unicodedata

from iccs.classification import Category, categories

_SPACES = re.compile(r"\s+")


def normalise_label(text: str) -> str:
    """Fold text for matching: lowercase, no accents, no punctuation, single spaces.

    Lets 'trafico' find 'Tráfico' and 'tip' find '(TIP)' without the user typing them exactly.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept = "".join(
        ch for ch in decomposed if not unicodedata.combining(ch) and not unicodedata.category(ch).startswith("P")
    )
    return _SPACES.sub(" ", kept).strip()


@functools.cache
def _search_index() -> tuple[tuple[Category, str, str], ...]:
    """Normalised English and Spanish labels, computed once."""
    return tuple((c, normalise_label(c.label), normalise_label(c.label_es)) for c in categories())


def search(text: str) -> list[Category]:
    """Categories whose English or Spanish label contains ``text`` (after normalisation), in code order."""
    needle = normalise_label(text)
    if not needle:
        raise ValueError("search text is empty after normalisation; give at least one letter or digit")
    return [c for c, label, label_es in _search_index() if needle in label or needle in label_es]
