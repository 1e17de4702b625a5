"""The ICCS v1.0 Table I definitions: each category's description, inclusions and exclusions, in English and Spanish.

Shipped as ``iccs/data/iccs_v1_definitions.csv`` and ``iccs_v1_definitions_es.csv`` (provenance in
``iccs/data/README.md``): one row per level 2-4 code; the 11 sections have no definition in Table I. The text is kept
as printed. An exclusion names, in parentheses, the code the excluded act belongs to ("... (0106)"); one that says
"apply all exclusions listed in 0501" (or "0701 - 0704") brings in another category's exclusions instead. Three printed
codes are not ICCS codes and are kept as printed (misprints of Table I, in both languages): ``070219`` (in 070211;
070212 is meant), ``8042`` (in 0609; 08042) and ``02010`` (in 0808, "wage or employment discrimination"; 0210).
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from importlib import resources

from iccs.classification import categories, get, is_valid

LANGUAGES: tuple[str, ...] = ("en", "es")
_FILES = {"en": "iccs_v1_definitions.csv", "es": "iccs_v1_definitions_es.csv"}
_SEPARATOR = " | "
# "(0106)" anywhere in the item; the "(" alone also counts because 070211 prints "non-cash payment (070219".
_IN_PARENTHESES = re.compile(r"\((\d{2,6})\b")
_APPLY_ALL = re.compile(r"^\s*(?:apply all exclusions|aplicar todas las exclusiones)\b", re.IGNORECASE)
# "0501", "0701-0704", "0101 – 0107", "0701 a 0704", "0301 y 0302": a range keeps the ICCS codes between its ends.
_CODE_OR_RANGE = re.compile(r"(\d{2,6})(?:\s*(?:-|–|\ba\b|\by\b)\s*(\d{2,6}))?")


@dataclass(frozen=True, slots=True)
class Exclusion:
    """One exclusion as printed, with the code(s) it points to.

    ``codes``: the codes in parentheses, where the excluded act is classified (most items have one, "(0701) or
    (0502)" has two, notes such as "Legal abortion/legal feticide" none). ``exclusions_of``: for "apply all exclusions
    listed in ...", the categories whose exclusions apply here too.
    """

    text: str
    codes: tuple[str, ...] = ()
    exclusions_of: tuple[str, ...] = ()

    @property
    def targets(self) -> tuple[str, ...]:
        """Every code the item names: ``codes`` then ``exclusions_of``."""
        return self.codes + self.exclusions_of


@dataclass(frozen=True, slots=True)
class Definition:
    """A category's Table I entry in one language."""

    code: str
    description: str
    inclusions: tuple[str, ...]
    exclusions: tuple[Exclusion, ...]
    lang: str = "en"


def _items(cell: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in cell.split(_SEPARATOR) if item.strip())


def _expand(first: str, last: str | None) -> tuple[str, ...]:
    """A printed range as the ICCS codes of the same length between its ends (inclusive)."""
    if last is None or len(first) != len(last):
        return (first,) if last is None else (first, last)
    return tuple(c.code for c in categories() if len(c.code) == len(first) and first <= c.code <= last)


def listed_codes(text: str) -> tuple[str, ...]:
    """The codes an "apply all … listed in 0701 - 0704" item names, ranges expanded, each once, in printed order."""
    listed = (code for m in _CODE_OR_RANGE.finditer(text) for code in _expand(m.group(1), m.group(2)))
    return tuple(dict.fromkeys(listed))


def parse_exclusion(text: str) -> Exclusion:
    """Split one printed exclusion into its text and the codes it names."""
    if _APPLY_ALL.match(text):
        return Exclusion(text, exclusions_of=listed_codes(text))
    return Exclusion(text, codes=tuple(dict.fromkeys(_IN_PARENTHESES.findall(text))))


def _check_lang(lang: str) -> str:
    if lang not in _FILES:
        raise ValueError(f"no ICCS definitions in {lang!r}; languages: {', '.join(LANGUAGES)}")
    return lang


@functools.cache
def definitions(lang: str = "en") -> dict[str, Definition]:
    """Every Table I definition in ``lang`` ("en" or "es"), by code, in code order. Read once and cached."""
    source = resources.files("iccs") / "data" / _FILES[_check_lang(lang)]
    with source.open(encoding="utf-8", newline="") as handle:
        rows = [
            Definition(
                code=row["code"],
                description=row["description"],
                inclusions=_items(row["inclusions"]),
                exclusions=tuple(parse_exclusion(item) for item in _items(row["exclusions"])),
                lang=lang,
            )
            for row in csv.DictReader(handle)
        ]
    return {d.code: d for d in sorted(rows, key=lambda d: d.code)}


def definition(code: str, lang: str = "en") -> Definition | None:
    """The Table I definition of ``code`` in ``lang``, or None (a section, an unknown code, or no row in that language).

    No fallback to another language: a missing Spanish row is None, never the English text.
    """
    return definitions(lang).get(code)


_HEADINGS = {
    "en": ("Table I definition", "Description", "Inclusions", "Exclusions", "exclusions of", "not an ICCS code"),
    "es": (
        "Definición (Cuadro I)",
        "Descripción",
        "Inclusiones",
        "Exclusiones",
        "exclusiones de",
        "no es un código ICCS",
    ),
}


def _target_label(code: str, lang: str, unknown: str) -> str:
    if not is_valid(code):
        return f"{code} ({unknown})"
    category = get(code)
    return f"{code} {category.label_es if lang == 'es' else category.label}"


def render_definition(code: str, lang: str = "en") -> str:
    """Plain text of one definition for the command line (``iccs codes 0501``): the description, the inclusions, and
    each exclusion with the code(s) it points to. Says so when there is none in ``lang``."""
    title, description, inclusions, exclusions, listed, unknown = _HEADINGS[_check_lang(lang)]
    found = definition(code, lang)
    if found is None:
        if len(code) == 2:
            return f"{title}: none for a section ({code}); its categories have one."
        return f"{title}: none for {code} in {lang!r}."
    lines = [f"{title}, {code} ({lang})", f"{description}: {found.description}"]
    if found.inclusions:
        lines += [f"{inclusions}:", *(f"  - {item}" for item in found.inclusions)]
    if found.exclusions:
        lines.append(f"{exclusions}:")
        for item in found.exclusions:
            points = [_target_label(c, lang, unknown) for c in item.codes]
            points += [f"{listed} {_target_label(c, lang, unknown)}" for c in item.exclusions_of]
            lines.append(f"  - {item.text}" + (f"  -> {'; '.join(points)}" if points else ""))
    return "\n".join(lines)
