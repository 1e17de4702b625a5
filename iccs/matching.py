"""Label keys and offline candidate suggestions: how a national label is matched to ICCS without codes.

Two jobs. :func:`label_key` folds a free-text category ('Break and Enter Residential/Other', 'HOMICIDIO
CULPOSO') to the form both sides of a label correspondence are compared in. :func:`suggest` ranks ICCS
categories for a label nobody has mapped yet, by TF-IDF cosine over character n-grams and words of the English
and Spanish ICCS labels: no network and no model download, so an analyst gets the same hints on an air-gapped
machine. The hints are a starting point for a human decision, never a mapping.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from iccs.classification import Category, categories

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
# Fewer letters than this is a code, not a name ('09A', '2B'): it says nothing about the offence, so nothing ranks it.
MIN_LETTERS = 3


def has_words(text: str | None) -> bool:
    """Whether a text is worth ranking against ICCS: at least :data:`MIN_LETTERS` letters."""
    return bool(text) and sum(ch.isalpha() for ch in text) >= MIN_LETTERS


# Words that carry no meaning for matching; English and Spanish, since ICCS labels come in both.
_STOPWORDS = frozenset(
    {
        "a",
        "an",
        "and",
        "as",
        "at",
        "by",
        "for",
        "from",
        "in",
        "into",
        "of",
        "on",
        "or",
        "other",
        "the",
        "to",
        "with",
        "without",
        "al",
        "con",
        "de",
        "del",
        "e",
        "el",
        "en",
        "la",
        "las",
        "lo",
        "los",
        "o",
        "otra",
        "otras",
        "otro",
        "otros",
        "para",
        "por",
        "que",
        "sin",
        "su",
        "sus",
        "u",
        "un",
        "una",
        "y",
    }
)
_NGRAMS = (3, 4, 5)


def label_key(text: str | None) -> str:
    """Fold a label for matching: case, accents, punctuation and spacing removed (punctuation splits words).

    'Robo a casa-habitación' and 'ROBO A CASA HABITACION' give the same key; None or blank text gives ''.
    """
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NOT_ALNUM.sub(" ", plain).strip()


def char_ngrams(words: list[str]) -> Counter[str]:
    """Character 3- to 5-grams inside each word padded with a space: robust to inflection and word order."""
    features: Counter[str] = Counter()
    for word in words:
        padded = f" {word} "
        for n in _NGRAMS:
            features.update(padded[i : i + n] for i in range(max(len(padded) - n + 1, 0)))
    return features


def _features(key: str) -> Counter[str]:
    """Character n-grams inside padded words plus whole content words: robust to inflection and word order."""
    words = [w for w in key.split() if w not in _STOPWORDS] or key.split()
    features = char_ngrams(words)
    features.update("w:" + word for word in words)
    return features


@dataclass(frozen=True)
class _Index:
    idf: dict[str, float]
    documents: tuple[tuple[Category, dict[str, float]], ...]


def _weighted(features: Counter[str], idf: dict[str, float]) -> dict[str, float]:
    vector = {f: (1.0 + math.log(n)) * idf.get(f, 0.0) for f, n in features.items()}
    norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
    return {f: v / norm for f, v in vector.items()}


@functools.cache
def _index() -> _Index:
    """One document per ICCS label and language, weighted once; 640 small vectors."""
    labelled = [(c, _features(label_key(text))) for c in categories() for text in (c.label, c.label_es) if text]
    frequency: Counter[str] = Counter()
    for _, features in labelled:
        frequency.update(features.keys())
    total = len(labelled)
    idf = {f: math.log((1 + total) / (1 + n)) + 1.0 for f, n in frequency.items()}
    return _Index(idf=idf, documents=tuple((c, _weighted(f, idf)) for c, f in labelled))


@dataclass(frozen=True)
class Candidate:
    code: str
    label: str
    score: float


def suggest(text: str, limit: int = 3, min_score: float = 0.05) -> list[Candidate]:
    """Up to ``limit`` ICCS categories whose English or Spanish label is most similar to ``text``.

    Scores are cosine similarities in [0, 1]; a category counts once, with its best language. Returns [] for
    text with no letters or digits, or when nothing scores above ``min_score``.
    """
    key = label_key(text)
    if not key:
        return []
    index = _index()
    query = _weighted(_features(key), index.idf)
    best: dict[str, tuple[float, Category]] = {}
    for category, document in index.documents:
        small, large = (query, document) if len(query) < len(document) else (document, query)
        score = sum(v * large.get(f, 0.0) for f, v in small.items())
        if score > best.get(category.code, (-1.0, category))[0]:
            best[category.code] = (score, category)
    # Ties go to the broader category (shorter code): a hint should not be finer than the evidence.
    ranked = sorted(best.values(), key=lambda sc: (-round(sc[0], 9), len(sc[1].code), sc[1].code))
    return [Candidate(c.code, c.label, round(s, 4)) for s, c in ranked[:limit] if s >= min_score]
