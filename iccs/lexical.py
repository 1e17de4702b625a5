"""Lexical ranking of ICCS categories for a national offence label, over the labels *and* the Table I definitions.

:func:`rank` scores every ICCS category (sections, level 2-4) against a national label ('Break and Enter',
'ROBO CON VIOLENCIA EN LAS PERSONAS') by how much of its wording the label shares with the category's documents:
its English and Spanish labels, its Table I description, and each inclusion on its own ("Murder", "hooliganism",
"allanamiento de morada"), in both languages. Exclusions work the other way: a label that matches an exclusion of a
category better than the category itself pushes that category down and lifts the code(s) the exclusion points to.

Two feature channels, weighted TF-IDF and compared by dot product: word stems (accents folded, lower case, English and
Spanish stop words dropped, a light suffix stripping that makes 'robos'/'robo', 'burglaries'/'burglary',
'dañada'/'dañado' one stem) and character 3-5-grams inside words, which catch what stems miss ('homicide' and
'homicidio', 'vandalism' and 'vandalismo'). Vectors are compared by cosine (a BM25-like softer length
normalisation and a parent scoring a share of its best child were tried on the tables and moved nothing).
Everything is built once (cached) as sparse matrices; a query is two sparse products and a grouped maximum.

The weights (label > inclusion > description, the exclusion push) were chosen on the shipped correspondence tables of
``bench.mapping`` only; Chile's CNP is held out. No network, no model: the same hints on an air-gapped machine, and a
starting point for a human decision, never a mapping.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from iccs.classification import categories, get, is_valid
from iccs.definitions import definitions, listed_codes
from iccs.matching import char_ngrams, label_key


def _word_set(text: str) -> frozenset[str]:
    """The words of a space-separated list (a list of 80 one-word lines would hide the module)."""
    return frozenset(text.split())


_STOPWORDS = _word_set(
    "a act acto actos acts al all an and ante any are art articulo as at be by como con contra de del e el en "
    "entre es for from in inc into is it its la las le les ley lo los ni no not o of on or other otra otras "
    "otro otros over para por que se sin sobre su sus than that the their this to u un una unas under uno "
    "unos was were which with without y ya"
)
# Words every offence list uses: they say a label is about a crime, not which one ('Prostitution offences' is not
# a match for 'Unnatural sexual offences'). Measured on the shipped tables: national wording @1 up.
_GENERIC = _word_set(
    "crime crimes criminal delito delitos ilicita ilicitas ilicito ilicitos illegal involving offence "
    "offences offense offenses relacionada relacionadas relacionado relacionados related relating unlawful"
)
# Field kinds and their weights: a category's score is the maximum over its fields of weight x similarity.
LABEL, INCLUSION, DESCRIPTION, EXCLUSION = "label", "inclusion", "description", "exclusion"
_WEIGHTS = {LABEL: 1.0, INCLUSION: 0.9, DESCRIPTION: 0.6, EXCLUSION: 0.9}
_WORD_SHARE = 0.5  # similarity = share x word channel + (1 - share) x character channel
_EXCLUSION_PUSH = 0.5  # how far a category falls when one of its exclusions fits better than it does
_DESCRIPTION_SHARE = 0.5
_EXACT_BONUS = 0.01  # the weight of the optional description next to the label in the query
_APPLY_ALL_INCLUSIONS = re.compile(r"^\s*(?:apply all inclusions|aplicar todas las inclusiones)\b", re.IGNORECASE)
_IN_PARENTHESES = re.compile(r"\(\s*\d[\d\s,;-]*\)?|\b\d{2,6}\b")


@dataclass(frozen=True)
class Suggestion:
    """An ICCS category for a label: its code and English label, the score, and why it is here."""

    code: str
    label: str
    score: float
    reasons: tuple[str, ...]


def _stem(word: str) -> str:
    """A light English/Spanish suffix stripping: plurals and gender, nothing that changes a word's meaning."""
    if len(word) <= 3:
        return word
    for suffix, replacement in (
        ("ing", ""),
        ("ies", "y"),
        ("ces", "z"),
        ("iones", "ion"),
        ("ores", "or"),
        ("ales", "al"),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + replacement
    if word.endswith("s") and not word.endswith("ss") and len(word) > 4:
        word = word[:-1]
    if word[-1] in "aoe" and len(word) > 4:
        word = word[:-1]
    return word


def _words(text: str) -> list[str]:
    """Content words of a folded text; digits and one-letter words dropped (article numbers carry no offence)."""
    words = [w for w in label_key(text).split() if len(w) > 1 and not w.isdigit()]
    return [w for w in words if w not in _STOPWORDS and w not in _GENERIC] or words


def _word_features(words: list[str]) -> Counter[str]:
    return Counter(_stem(w) for w in words)


@dataclass(frozen=True)
class _Field:
    code: str  # the category whose field this is
    kind: str
    text: str
    lang: str
    targets: tuple[str, ...] = ()  # for an exclusion: the valid ICCS codes it points to


@dataclass(frozen=True)
class _Channel:
    vocabulary: dict[str, int]
    idf: np.ndarray
    matrix: sparse.csr_matrix  # fields x features, rows normalised


@dataclass(frozen=True)
class _Index:
    codes: tuple[str, ...]
    fields: tuple[_Field, ...]  # own fields first (grouped by category), then exclusions
    own: int  # the number of own fields
    group_starts: np.ndarray  # start of each category's own fields (every category has at least its labels)
    field_category: np.ndarray  # category index of every field
    weights: np.ndarray
    channels: tuple[_Channel, _Channel]
    exact: dict[str, tuple[int, ...]]  # folded label -> categories with that English or Spanish label
    position: dict[str, int]  # code -> category index
    other_language: dict[str, np.ndarray]  # lang -> a factor just under 1 for fields in the other language


def _expand(text: str) -> tuple[str, ...]:
    """The valid ICCS codes named in 'apply all inclusions listed in 01031 - 01032' (a range keeps those between)."""
    return tuple(c for c in listed_codes(text) if is_valid(c))


def _fields() -> tuple[list[_Field], list[_Field]]:
    own: list[_Field] = []
    excluded: list[_Field] = []
    tables = {lang: definitions(lang) for lang in ("en", "es")}
    for category in categories():
        code = category.code
        own += [_Field(code, LABEL, text, lang) for text, lang in ((category.label, "en"), (category.label_es, "es"))]
        for lang, table in tables.items():
            found = table.get(code)
            if found is None:
                continue
            # The first sentence group only: the " - Reckless as defined in footnote 54." notes match any label.
            own.append(_Field(code, DESCRIPTION, found.description.split(" - ")[0], lang))
            for item in found.inclusions:
                if _APPLY_ALL_INCLUSIONS.match(item):
                    # The listed categories' inclusions count here too (their own fields stay theirs).
                    for listed in _expand(item):
                        other = table.get(listed)
                        own += [_Field(code, INCLUSION, i, lang) for i in (other.inclusions if other else ())]
                else:
                    own.append(_Field(code, INCLUSION, item, lang))
            items = list(found.exclusions)
            for exclusion in found.exclusions:
                for listed in exclusion.exclusions_of:
                    other = table.get(listed)
                    items += [e for e in (other.exclusions if other else ()) if e.codes]
            for exclusion in items:
                targets = tuple(c for c in exclusion.codes if is_valid(c) and c != code)
                if targets:
                    text = _IN_PARENTHESES.sub(" ", exclusion.text)
                    excluded.append(_Field(code, EXCLUSION, text, lang, targets))
    own = [f for f in own if _words(f.text)]
    excluded = [f for f in excluded if _words(f.text)]
    # Keep each category's own fields together (code order), de-duplicated.
    own = list(dict.fromkeys(sorted(own, key=lambda f: f.code)))
    return own, list(dict.fromkeys(excluded))


def _channel(counts: list[Counter[str]]) -> _Channel:
    vocabulary: dict[str, int] = {}
    rows, cols, values = [], [], []
    for i, features in enumerate(counts):
        for feature, n in features.items():
            rows.append(i)
            cols.append(vocabulary.setdefault(feature, len(vocabulary)))
            values.append(1.0 + math.log(n))
    tf = sparse.csr_matrix((values, (rows, cols)), shape=(len(counts), len(vocabulary)))
    frequency = np.bincount(cols, minlength=len(vocabulary))
    idf = np.log((1 + len(counts)) / (1 + frequency)) + 1.0
    weighted = tf.multiply(idf[np.newaxis, :]).tocsr()
    norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
    scale = 1.0 / np.where(norms > 0, norms, 1.0)
    return _Channel(vocabulary, idf, sparse.diags(scale) @ weighted)


@functools.cache
def _index() -> _Index:
    own, excluded = _fields()
    fields = tuple(own + excluded)
    codes = tuple(c.code for c in categories())
    position = {code: i for i, code in enumerate(codes)}
    field_category = np.array([position[f.code] for f in fields])
    starts = np.searchsorted(field_category[: len(own)], np.arange(len(codes)))
    words = [_words(f.text) for f in fields]
    channels = (_channel([_word_features(w) for w in words]), _channel([char_ngrams(w) for w in words]))
    exact: dict[str, list[int]] = {}
    for category in categories():
        for text in (category.label, category.label_es):
            exact.setdefault(label_key(text), []).append(position[category.code])
    return _Index(
        exact={k: tuple(v) for k, v in exact.items()},
        position=position,
        other_language={lang: np.array([1.0 if f.lang == lang else 0.999 for f in fields]) for lang in ("en", "es")},
        codes=codes,
        fields=fields,
        own=len(own),
        group_starts=starts,
        field_category=field_category,
        weights=np.array([_WEIGHTS[f.kind] for f in fields]),
        channels=channels,
    )


def _query(channel: _Channel, features: Counter[str]) -> np.ndarray:
    vector = np.zeros(len(channel.vocabulary))
    for feature, n in features.items():
        j = channel.vocabulary.get(feature)
        if j is not None:
            vector[j] = (1.0 + math.log(n)) * channel.idf[j]
    norm = np.linalg.norm(vector)
    return vector / norm if norm else vector


def _similarities(label: str, description: str | None) -> np.ndarray:
    """Similarity of the query to every field, both channels mixed; the description, if any, adds to the label."""
    index = _index()
    out = np.zeros(len(index.fields))
    for text, share in ((label, 1.0), (description, _DESCRIPTION_SHARE)):
        words = _words(text) if text else []
        if not words:
            continue
        for channel, channel_share, features in (
            (index.channels[0], _WORD_SHARE, _word_features(words)),
            (index.channels[1], 1.0 - _WORD_SHARE, char_ngrams(words)),
        ):
            q = _query(channel, features)
            out += share * channel_share * (channel.matrix @ q)
    return out


def _quote(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Scores:
    """Every category's lexical score for one query (``codes`` order of the index), and what explains it."""

    codes: tuple[str, ...]
    values: np.ndarray
    own: np.ndarray
    base: np.ndarray
    pushed: dict[int, tuple[float, _Field]]
    lifted: dict[int, tuple[float, _Field]]
    exact: tuple[int, ...]


def score(label: str, lang: str = "auto", description: str | None = None) -> Scores | None:
    """Every category's score for a national label (see :func:`rank`); None for text with no words."""
    if lang not in ("auto", "en", "es"):
        raise ValueError(f"lang must be 'auto', 'en' or 'es', not {lang!r}")
    if not (_words(label) or (description and _words(description))):
        return None
    index = _index()
    similarity = _similarities(label, description)
    weighted = similarity * index.weights
    if lang != "auto":  # a hair in favour of the asked language, for the quoted reason only
        weighted = weighted * index.other_language[lang]
    own = weighted[: index.own]
    scores = np.maximum.reduceat(own, index.group_starts)

    # Exclusions: the best exclusion of each category, against what the category itself scores.
    pushed: dict[int, tuple[float, _Field]] = {}
    lifted: dict[int, tuple[float, _Field]] = {}
    excluded = weighted[index.own :]
    if len(excluded):
        hits = np.flatnonzero(excluded > 0)
        for j in hits[np.argsort(-excluded[hits])][:50]:  # the strongest few; the rest cannot change the top
            value = float(excluded[j])
            item = index.fields[index.own + j]
            owner = int(index.field_category[index.own + j])
            if value > scores[owner] and owner not in pushed:
                pushed[owner] = (value, item)
            for target in item.targets:
                t = index.position[target]
                if value > lifted.get(t, (0.0, item))[0]:
                    lifted[t] = (value, item)
    base = scores.copy()
    for owner, (value, _item) in pushed.items():
        scores[owner] = base[owner] - _EXCLUSION_PUSH * value
    for t, (value, _item) in lifted.items():
        scores[t] = max(scores[t], value)
    # The label word for word (stop words included: 'Other acts of fraud' is 07019, not 0701) wins a tie.
    exact = index.exact.get(label_key(label), ())
    for i in exact:
        scores[i] += _EXACT_BONUS
    return Scores(index.codes, scores, own, base, pushed, lifted, tuple(exact))


def reasons(scores: Scores, i: int) -> tuple[str, ...]:
    """Why category ``i`` (its position in ``scores.codes``) scores what it does, in words."""
    said = _reasons(_index(), scores.own, scores.base, i, scores.pushed.get(i), scores.lifted.get(i))
    if i in scores.exact:
        said = (said[0].replace(_SAY[LABEL], _SAY[LABEL] + " (exact)", 1), *said[1:])
    return said


def order(codes: tuple[str, ...], values: np.ndarray) -> list[int]:
    """Positions best first; ties go to the broader category (shorter code): a hint no finer than the evidence."""
    return sorted(range(len(codes)), key=lambda i: (-round(float(values[i]), 9), len(codes[i]), codes[i]))


def rank(label: str, lang: str = "auto", limit: int = 10, description: str | None = None) -> list[Suggestion]:
    """Up to ``limit`` ICCS categories for a national label, best first, each with the reasons it is there.

    ``lang`` ("auto", "en" or "es") only chooses the language of the quoted field when a category matches equally in
    both: every field of both languages is always searched, since national lists mix them and cross-language
    character n-grams help ('homicide'/'homicidio'). ``description``: optional longer text of the national category
    (a legal definition), weighed at half the label. Returns [] for text with no words.
    """
    scores = score(label, lang, description)
    if scores is None or limit <= 0:
        return []
    out = []
    for i in order(scores.codes, scores.values)[:limit]:
        if scores.values[i] <= 0:
            break
        code = scores.codes[i]
        out.append(Suggestion(code, get(code).label, round(float(scores.values[i]), 4), reasons(scores, i)))
    return out


_SAY = {LABEL: "label match", INCLUSION: "inclusion", DESCRIPTION: "description"}


def _reasons(
    index: _Index,
    own: np.ndarray,
    base: np.ndarray,
    i: int,
    pushed: tuple[float, _Field] | None,
    lifted: tuple[float, _Field] | None,
) -> tuple[str, ...]:
    """Why category ``i`` is suggested: its best field, an exclusion pointing here, an exclusion of its own."""
    reasons = []
    stop = index.group_starts[i + 1] if i + 1 < len(index.group_starts) else index.own
    if base[i] > 0:
        best = index.fields[index.group_starts[i] + int(np.argmax(own[index.group_starts[i] : stop]))]
        reasons.append(f"{_SAY[best.kind]}: '{_quote(best.text)}'")
    if lifted is not None and lifted[0] >= base[i]:
        item = lifted[1]
        reasons.append(f"exclusion of {item.code} points here: '{_quote(item.text)}'")
    if pushed is not None:
        item = pushed[1]
        where = ", ".join(item.targets)
        reasons.append(f"pushed down: fits its exclusion '{_quote(item.text)}' (→ {where}) better than itself")
    return tuple(reasons) or ("weak match",)
