"""How numbers and counted things are written on every page: one rule each, so a chart's hover, a table cell and
a sentence never disagree.

- A rate per 100,000 keeps 3 significant figures, never loses a whole-number digit and has at most 2 decimals
  (4,761.51 → 4,762; 47.615 → 47.6; 4.7615 → 4.76; 0.476 → 0.48; below 0.005 → "<0.01"): more digits are
  noise on the counts behind crime rates (`rate`; charts and tables alike).
- A rate built on fewer than SMALL_COUNT records is flagged (`small`, `SMALL_NOTE`), as official statistics
  flag unreliable rates: one record more or less moves it by 5 % or more.
- A signed change is written with a true minus sign (U+2212), which stays legible where a hyphen is lost
  (`signed_pct`: "−12.3 %").
- A count of things is a word: "1 source", "2 countries" (`plural`).
"""

from __future__ import annotations

import math

SMALL_COUNT = 20
SMALL_MARK = "†"
SMALL_NOTE = (
    f"{SMALL_MARK} rate on fewer than {SMALL_COUNT} records: unreliable, one record more or less moves it by 5% or "
    "more; read it with caution."
)
MINUS = "\u2212"
RATE_DIGITS = 3
RATE_MAX_DECIMALS = 2
_IRREGULAR = {
    "country": "countries",
    "category": "categories",
    "entry": "entries",
    "series": "series",
    "query": "queries",
    "person": "persons",
    "is": "are",
    "has": "have",
}


def plural(n: float, word: str, many: str | None = None) -> str:
    """'1 source', '2 countries', '1,204 records': the count with thousands separators and the word agreeing."""
    count = f"{n:,.0f}" if float(n).is_integer() else f"{n:,}"
    return f"{count} {word if n == 1 else many or plural_word(word)}"


def plural_word(word: str) -> str:
    """The plural of an English noun as the reports use them (irregular ones listed, else -s/-es/-ies)."""
    head, _, last = word.rpartition(" ")
    prefix = f"{head} " if head else ""
    if last in _IRREGULAR:
        return prefix + _IRREGULAR[last]
    if last.endswith(("s", "x", "ch", "sh")):
        return prefix + last + "es"
    if last.endswith("y") and last[-2:-1] not in tuple("aeiou"):
        return prefix + last[:-1] + "ies"
    return prefix + last + "s"


def rate_decimals(value: float) -> int:
    """Decimals that give RATE_DIGITS significant figures, between 0 (whole digits are kept) and
    RATE_MAX_DECIMALS."""
    if not math.isfinite(value) or value == 0:
        return 0
    return min(RATE_MAX_DECIMALS, max(0, RATE_DIGITS - 1 - math.floor(math.log10(abs(value)))))


def rate(value: float | None) -> str:
    """A rate per 100,000 by the one rule of the reports ('' when absent): 4,762, 47.6, 4.76, 0.48, <0.01, 0."""
    if value is None or not math.isfinite(value):
        return ""
    if value == 0:
        return "0"
    if abs(value) < 0.5 * 10**-RATE_MAX_DECIMALS:
        return ("" if value > 0 else MINUS) + f"<{10**-RATE_MAX_DECIMALS:.{RATE_MAX_DECIMALS}f}"
    rounded = round(value, rate_decimals(value))  # 99.96 -> 100.0, then shown with 100's decimals: 100
    return f"{rounded:,.{rate_decimals(rounded)}f}".replace("-", MINUS)


def small(count: float | None) -> bool:
    """Whether a rate on `count` records is too small to trust (fewer than SMALL_COUNT; absent counts are not)."""
    return count is not None and math.isfinite(count) and count < SMALL_COUNT


def rate_with_caution(value: float | None, count: float | None) -> str:
    """The rate, marked with SMALL_MARK when it rests on fewer than SMALL_COUNT records."""
    text = rate(value)
    return f"{text} {SMALL_MARK}" if text and small(count) else text


def signed_pct(value: float | None, decimals: int = 1) -> str:
    """A change in percent with its sign always visible: '+8.0 %', '−12.3 %' (a true minus), '0.0 %'."""
    if value is None or not math.isfinite(value):
        return ""
    text = f"{abs(value):,.{decimals}f} %"
    if float(text.split(" ")[0].replace(",", "")) == 0:
        return f"0.{'0' * decimals} %" if decimals else "0 %"
    return ("+" if value > 0 else MINUS) + text
