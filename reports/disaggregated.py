"""What the pages share about breakdowns by sex and age: the labels of the codes, the order of age groups, and the
coverage of a breakdown in words.

A breakdown's values are the codes of ``iccs.disaggregations``: ``_T`` all, ``M``/``F``, ``_U`` not known, ``_Z``
not applicable, SDMX age groups (``Y15T29``, ``Y_GE60``). Sex and age are the victim's for counts of offences and
victims, the perpetrator's for counts of persons (suspects, prosecuted, convicted), as the views choose them.
"""

from __future__ import annotations

import re

import pandas as pd

from iccs.disaggregations import NOT_KNOWN, TOTAL, label

NOT_APPLICABLE = "_Z"
UNKNOWN = (NOT_KNOWN, NOT_APPLICABLE)  # values that say nothing about the person
PERSON_UNITS = ("suspects", "prosecuted", "convicted")  # counted by the perpetrator's sex and age
_AGE = re.compile(r"^Y(?:(\d+)T(\d+)|_GE(\d+)|_LT(\d+))$")


def person(unit: str) -> str:
    """Whose sex and age a count of `unit` is broken down by: 'perpetrator' or 'victim'."""
    return "perpetrator" if unit in PERSON_UNITS else "victim"


def sex_label(code: str) -> str:
    """'Male', 'Female', 'Not known'; 'All' for the total (shorter than the code list's 'Total (both sexes)')."""
    return "All" if code == TOTAL else label("victim_sex", code)


def age_label(code: str) -> str:
    """'15-29 years', '60 years and over'; 'All ages' for the total."""
    return "All ages" if code == TOTAL else label("victim_age", code)


def age_key(code: str) -> tuple[int, int]:
    """Sort key of an age group: by its lower bound, then upper; not known and not applicable last."""
    found = _AGE.match(code)
    if not found:
        return (1_000 + UNKNOWN.index(code) if code in UNKNOWN else 2_000, 0)
    low, high, at_least, under = found.groups()
    if at_least is not None:
        return (int(at_least), 999)
    if under is not None:
        return (0, int(under) - 1)
    return (int(low), int(high))


def sex_order(code: str) -> int:
    """All, Male, Female, then not known and not applicable."""
    return {TOTAL: 0, "M": 1, "F": 2, NOT_KNOWN: 3, NOT_APPLICABLE: 4}.get(code, 5)


def known_share(rows: pd.DataFrame, column: str, keys: list[str]) -> pd.DataFrame:
    """Per `keys`: the share of the total (the row of all values: ``column`` and the other variable '_T') that the
    breakdown by `column` gives a known value (neither not known nor not applicable), the share recorded as not
    known, and the share not broken down at all (the source gives a total without its parts). `rows` holds the
    breakdown's rows and the total's, with ``count``."""
    total = rows[rows[column] == TOTAL].groupby(keys)["count"].sum().rename("total")
    parts = rows[rows[column] != TOTAL]
    known = parts[~parts[column].isin(UNKNOWN)].groupby(keys)["count"].sum().rename("known")
    unknown = parts[parts[column].isin(UNKNOWN)].groupby(keys)["count"].sum().rename("unknown")
    out = pd.concat([total, known, unknown], axis=1).fillna({"known": 0.0, "unknown": 0.0})
    out = out[out["total"] > 0]
    out["known_share"] = out["known"] / out["total"]
    out["unknown_share"] = out["unknown"] / out["total"]
    out["missing_share"] = 1.0 - out["known_share"] - out["unknown_share"]
    return out.reset_index()


def coverage_words(known: float, unknown: float, missing: float, what: str, counted: str) -> str:
    """'sex known for 98% of victims', with what the rest is: recorded as not known, or not broken down by the
    source (or the parts exceed the total)."""
    text = f"{what} known for {_pct(known)} of {counted}"
    rest = []
    if unknown > 0.0005:
        rest.append(f"{_pct(unknown)} recorded as not known")
    if missing > 0.0005:
        rest.append(f"{_pct(missing)} not broken down by the source")
    elif missing < -0.0005:
        rest.append(f"the parts exceed the total by {_pct(-missing)}")
    return text + (f" ({'; '.join(rest)})" if rest else "")


def _pct(share: float) -> str:
    value = share * 100
    if value >= 99.95 or value == 0:
        return f"{value:.0f}%"
    return f"{value:.1f}%" if value < 10 or value > 99 else f"{value:.0f}%"
