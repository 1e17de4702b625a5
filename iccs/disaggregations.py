"""ICCS disaggregating variables ("tags") and the codes the warehouse stores them with.

``data/disaggregations.csv`` is ICCS Table A/II and the homicide Tables III-V as published (every variable, the
event's, the victim's, the perpetrator's). ``data/disaggregation_codes.csv`` lists the variables a fact can
carry and their SDMX-style codes, each linked to its ICCS variable and value where ICCS has one: ``_T`` the
total over the variable, ``_U`` not known, ``_Z`` not applicable, sex ``M``/``F`` as the SDG database codes it,
age groups as SDMX writes them (``Y15T29`` = 15 to 29 years, ``Y_GE60`` = 60 and over, ``Y_LT18`` = under 18).

Age groups differ between publishers (UNODC splits 15-29 into 15-17, 18-19, 20-24 and 25-29; a census has
five-year groups), so any well-formed SDMX age code is accepted, listed or not; the listed ones have labels.
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from importlib import resources

import pandas as pd

TOTAL = "_T"
NOT_KNOWN = "_U"
# The variables a fact carries, in the order of the warehouse's columns.
VARIABLES = ("victim_sex", "victim_age", "perpetrator_sex", "perpetrator_age", "weapon", "situational_context")
# The variables of a population file (its rates' denominators), named without a person: the population of a sex
# and age group is the denominator of victims and perpetrators alike.
POPULATION_VARIABLES = ("sex", "age")
# Any well-formed SDMX age group, in a syntax Python and DuckDB both read; AGE_CODE adds total, not known and not
# applicable (every value an age column may hold).
AGE_GROUP = r"^Y([0-9]{1,3}T[0-9]{1,3}|_GE[0-9]{1,3}|_LT[0-9]{1,3})$"
AGE_CODE = r"^(_T|_U|_Z|Y[0-9]{1,3}T[0-9]{1,3}|Y_GE[0-9]{1,3}|Y_LT[0-9]{1,3})$"
_AGE = re.compile(AGE_GROUP)


@dataclass(frozen=True)
class Code:
    variable: str
    code: str
    label: str
    iccs_variable: str
    iccs_value: str


def _read(name: str) -> tuple[dict[str, str], ...]:
    with (resources.files("iccs") / "data" / name).open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


@functools.cache
def codes() -> tuple[Code, ...]:
    """Every listed code of every variable a fact can carry."""
    return tuple(Code(**row) for row in _read("disaggregation_codes.csv"))


def kind(variable: str) -> str:
    """'sex', 'age' or the variable itself: the code list a variable (of a fact or a population) uses."""
    if variable in POPULATION_VARIABLES:
        return variable
    if variable not in VARIABLES:
        raise ValueError(f"unknown disaggregating variable {variable!r}; known: {', '.join(VARIABLES)}")
    return variable.rsplit("_", 1)[-1] if variable.endswith(("_sex", "_age")) else variable


def _listed(variable: str) -> dict[str, Code]:
    # a population's sex and age use the victims' lists (the perpetrators' are the same codes)
    name = {"sex": "victim_sex", "age": "victim_age"}.get(variable, variable)
    return {c.code: c for c in codes() if c.variable == name}


def listed(variable: str) -> list[str]:
    """The listed codes of a variable (an age also takes any SDMX age group: ``AGE_GROUP``)."""
    return list(_listed(variable))


def is_code(variable: str, code: str) -> bool:
    """Whether ``code`` is a code of ``variable``: listed, or for an age any SDMX age group."""
    return code in _listed(variable) or (kind(variable) == "age" and bool(_AGE.match(code)))


def label(variable: str, code: str) -> str:
    """The code's label ('Female', '15-29 years'); an unlisted age group spelled out from its code."""
    listed = _listed(variable).get(code)
    if listed is not None:
        return listed.label
    found = _AGE.match(code)
    if not found:
        raise ValueError(f"{code!r} is not a code of {variable}")
    part = found.group(1)
    if part.startswith("_GE"):
        return f"{int(part[3:])} years and over"
    if part.startswith("_LT"):
        return f"under {int(part[3:])} years"
    low, high = part.split("T")
    return f"{int(low)}-{int(high)} years"


def examples(variable: str) -> str:
    """The listed codes of a variable, for an error message."""
    shown = ", ".join(_listed(variable))
    return shown + (", or any SDMX age group such as Y20T24 or Y_GE65" if kind(variable) == "age" else "")


@functools.cache
def iccs_variables() -> tuple[dict[str, str], ...]:
    """ICCS Table A/II and Tables III-V as published (group, variable_code, variable_name, value_code,
    value_label, note)."""
    return _read("disaggregations.csv")


def disaggregations_frame() -> pd.DataFrame:
    """The warehouse's ``iccs_disaggregations``: every ICCS variable and value as published, with the variable
    and code a fact stores it under where it can carry it, and the codes ICCS has no value for (totals, finer
    age groups) with only those two."""
    ours = {(c.iccs_variable, c.iccs_value): c for c in codes() if c.iccs_variable}
    carried = {c.iccs_variable for c in codes() if c.iccs_variable}
    rows = []
    for row in iccs_variables():
        code = ours.get((row["variable_code"], row["value_code"]))
        rows.append(
            {
                "variable": code.variable if code else None,
                "code": code.code if code else None,
                "iccs_group": row["group"],
                "iccs_variable": row["variable_code"] or None,
                "iccs_variable_name": row["variable_name"],
                "iccs_value": row["value_code"] or None,
                "label": row["value_label"],
                "note": row["note"] or None,
                "carried": row["variable_code"] in carried,
            }
        )
    for code in codes():
        if not code.iccs_variable:
            rows.append(
                {
                    "variable": code.variable,
                    "code": code.code,
                    "iccs_group": None,
                    "iccs_variable": None,
                    "iccs_variable_name": None,
                    "iccs_value": None,
                    "label": code.label,
                    "note": "not an ICCS value: a total, or an age group finer than ICCS's (as UNODC publishes)",
                    "carried": True,
                }
            )
    return pd.DataFrame(rows)
