"""The mapping assistant's ranking: ICCS categories for a national offence label, with the reasons for each.

Every caller (``iccs suggest``, ``iccs map-check``, ``iccs map-draft``, ``bench.mapping``) ranks through
:func:`rank`, so they agree. The ranking is :func:`iccs.lexical.rank` for now; the semantic channel joins here.
"""

from __future__ import annotations

from iccs.lexical import Suggestion
from iccs.lexical import rank as lexical_rank

__all__ = ["Suggestion", "rank"]


def rank(label: str, lang: str = "auto", limit: int = 10, description: str | None = None) -> list[Suggestion]:
    """Up to ``limit`` ICCS categories for ``label`` (and an optional longer ``description``), best first."""
    return lexical_rank(label, lang=lang, limit=limit, description=description)
