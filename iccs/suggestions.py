"""The mapping assistant's ranking: ICCS categories for a national offence label, with the reasons for each.

Every caller (``iccs suggest``, ``iccs map-check``, ``iccs map-draft``, ``bench.mapping``) ranks through
:func:`rank`, so they agree. Two channels:

- **lexical** (:mod:`iccs.lexical`, always): words and character n-grams over the ICCS labels and the Table I
  descriptions, inclusions and exclusions; its reasons quote the field that matched.
- **semantic** (:mod:`iccs.semantic`, when the optional model is installed): the cosine of the label's embedding to
  each category's definition; it finds what shares meaning but no word ('SUSTRACCION DE MENORES' and child
  abduction).

The two are put on one scale per query (standard scores over the 320 categories) and added, the semantic one with
weight :data:`SEMANTIC_WEIGHT`, chosen on our shipped correspondence tables (``bench.mapping``; Chile's and the
Philippines' tables are held out). Without the model the ranking is the lexical one.
"""

from __future__ import annotations

import numpy as np

from iccs import lexical, semantic
from iccs.classification import get
from iccs.lexical import Suggestion
from iccs.matching import MIN_LETTERS, has_words

__all__ = ["MIN_LETTERS", "SEMANTIC_WEIGHT", "Suggestion", "has_words", "rank", "uses_semantic"]

SEMANTIC_WEIGHT = 1.5
# The model's rank is given as a reason for a category among its closest this many; further down it says little
# (multilingual-e5's cosines crowd between 0.80 and 0.92). A rank, not a verdict: 'Murder' puts 11011 Torture first.
SEMANTIC_SAID = 20


def uses_semantic() -> bool:
    """Whether :func:`rank` uses the semantic channel here (the optional model is installed)."""
    return semantic.available()


def _standard(values: np.ndarray) -> np.ndarray:
    spread = float(values.std())
    return (values - values.mean()) / spread if spread > 0 else np.zeros_like(values)


def rank(
    label: str,
    lang: str = "auto",
    limit: int = 10,
    description: str | None = None,
    use_semantic: bool | None = None,
) -> list[Suggestion]:
    """Up to ``limit`` ICCS categories for ``label`` (and an optional longer ``description``), best first.

    ``use_semantic``: None uses the model when it is installed; False ranks lexically only. No suggestion, with or
    without the model, for text of fewer than :data:`MIN_LETTERS` letters ('09A': a bare code says nothing about its
    meaning), nor for text that shares nothing with any ICCS label or definition ('zzz qqq': the model ranks
    anything). Once the lexical channel has found something, the combined score ranks every category, so categories
    the model alone finds may rank too ('Estafa': 07 and 070211 fifth and sixth, sharing no word with it). With the
    semantic channel a score is a sum of standard scores (comparable within one label only); without it, the
    lexical score.
    """
    if use_semantic is None:
        use_semantic = uses_semantic()
    if limit <= 0 or not has_words(f"{label} {description or ''}"):
        return []
    if not use_semantic:
        return lexical.rank(label, lang=lang, limit=limit, description=description)
    scores = lexical.score(label, lang, description)
    if scores is None or not (scores.values > 0).any():
        return []
    codes, cosine = semantic.similarities(label, description)
    if codes != scores.codes:
        raise RuntimeError("iccs.semantic's vectors are not in the classification's order: rebuild them")
    combined = _standard(scores.values) + SEMANTIC_WEIGHT * _standard(cosine)
    semantic_rank = np.empty(len(codes), dtype=int)
    semantic_rank[np.argsort(-cosine, kind="stable")] = np.arange(1, len(codes) + 1)
    out = []
    # A label that is an ICCS label word for word names its category: first, whatever the model says (ICCS's own
    # 320 labels: exact code first 0.93 without this, 0.99 with it; no other case set moved). Sorting is stable.
    ranked = sorted(lexical.order(codes, combined), key=lambda i: i not in scores.exact)
    for i in ranked[:limit]:
        said = lexical.reasons(scores, i) if scores.values[i] > 0 or i in scores.lifted else ()
        said = tuple(r for r in said if r != "weak match")
        if semantic_rank[i] <= SEMANTIC_SAID:
            said += (f"semantic: the model ranks it #{semantic_rank[i]} of {len(codes)} (cosine {cosine[i]:.2f})",)
        out.append(Suggestion(codes[i], get(codes[i]).label, round(float(combined[i]), 4), said or ("weak match",)))
    return out
