"""``disaggregations:`` of a source or a population file: which column gives a variable, and how its values
are recoded to the variable's codes (``iccs.disaggregations``).

    disaggregations:
      victim_sex: {column: sexo, values: {Hombre: M, Mujer: F, "No identificado": _U, Total: _T}}
      victim_age: {column: edad, values: {"0-17": Y_LT18, "18 y más": Y_GE18}}
      victim_age: {column: edad, age_groups: [0, 15, 30, 45, 60], values: {"-1": _U}}   # ages in years
      weapon: arma                      # the column already holds the codes (FIREARM, ...)
      victim_sex: {constant: F}         # a file of female victims only

A value is matched trimmed and case-insensitively, first against ``values``, then (an age with ``age_groups``, the
lower bounds of the groups in years, the first 0) as a whole number of years, then against the variable's own
codes; a value matching neither is quarantined (``invalid_disaggregation``), never folded into a total. An empty
cell is ``_U`` (not known): a part of the total like any other value. A value recoded to ``_T`` marks the row
as the total over that variable (a table that publishes all sexes beside men and women).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from iccs.disaggregations import examples, is_code, kind


class DisaggregationError(ValueError):
    """A ``disaggregations`` entry that cannot be used, as one line naming the field."""


@dataclass(frozen=True)
class Disaggregation:
    variable: str
    column: str | None = None
    constant: str | None = None
    # (value as read, trimmed and lower-cased; code), in the order given
    values: tuple[tuple[str, str], ...] = ()
    # the values as the configuration spells them, for messages
    given: tuple[str, ...] = ()
    # an age in whole years is put in the group of the largest lower bound not above it (the last one open)
    age_groups: tuple[int, ...] = ()

    def group_codes(self) -> list[tuple[int, str]]:
        """(lower bound, SDMX code) of each age group: [0, 15, 60] -> Y0T14, Y15T59, Y_GE60."""
        bounds = self.age_groups
        return [
            (low, f"Y{low}T{bounds[i + 1] - 1}" if i + 1 < len(bounds) else f"Y_GE{low}")
            for i, low in enumerate(bounds)
        ]

    @property
    def shown(self) -> str:
        return self.column if self.column is not None else f"{self.variable} (constant)"


def parse_disaggregations(where: str, given: Any, variables: tuple[str, ...]) -> dict[str, Disaggregation]:
    """The ``disaggregations`` mapping of a source (``variables``: ``iccs.disaggregations.VARIABLES``) or a
    population file (``POPULATION_VARIABLES``), checked: every code must be one of the variable's."""
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise DisaggregationError(
            f"{where}: field 'disaggregations' must map variables ({', '.join(variables)}) to a column or to "
            "{column: ..., values: {...}}"
        )
    parsed: dict[str, Disaggregation] = {}
    for variable, spec in given.items():
        key = f"{where}: field 'disaggregations.{variable}'"
        if variable not in variables:
            raise DisaggregationError(f"{key}: unknown variable; allowed: {', '.join(variables)}")
        if isinstance(spec, str) and spec.strip():
            spec = {"column": spec}
        if not isinstance(spec, dict) or set(spec) - {"column", "values", "constant", "age_groups"}:
            raise DisaggregationError(f"{key}: a column name, {{column: ..., values: {{...}}}} or {{constant: ...}}")
        if ("column" in spec) == ("constant" in spec):
            raise DisaggregationError(f"{key}: give either 'column' or 'constant'")
        if "constant" in spec:
            constant = str(spec["constant"]).strip()
            if not is_code(variable, constant):
                raise DisaggregationError(
                    f"{key}: constant '{constant}' is not a code of {variable} ({examples(variable)})"
                )
            parsed[variable] = Disaggregation(variable, constant=constant)
            continue
        column = spec["column"]
        if not isinstance(column, str) or not column.strip():
            raise DisaggregationError(f"{key}: field 'column' must name a column of the file")
        values = spec.get("values") or {}
        if not isinstance(values, dict):
            raise DisaggregationError(f"{key}: field 'values' must map the file's values to codes")
        recoded: dict[str, str] = {}
        for value, code in values.items():
            text, code = str(value).strip().lower(), str(code).strip()
            if not is_code(variable, code):
                raise DisaggregationError(
                    f"{key}: value '{value}' -> '{code}': not a code of {variable} ({examples(variable)})"
                )
            if recoded.get(text, code) != code:
                raise DisaggregationError(
                    f"{key}: value '{value}' is given twice with different codes (values are matched trimmed and "
                    "case-insensitively)"
                )
            recoded[text] = code
        given_values = tuple(dict.fromkeys(str(v).strip() for v in values))
        parsed[variable] = Disaggregation(
            variable,
            column=column,
            values=tuple(recoded.items()),
            given=given_values,
            age_groups=_age_groups(key, variable, spec.get("age_groups")),
        )
    return parsed


def _age_groups(key: str, variable: str, given: Any) -> tuple[int, ...]:
    if given is None:
        return ()
    if kind(variable) != "age":
        raise DisaggregationError(f"{key}: 'age_groups' is for an age variable (victim_age, perpetrator_age, age)")
    bounds = given if isinstance(given, list) else None
    if (
        not bounds
        or not all(isinstance(b, int) and not isinstance(b, bool) for b in bounds)
        or bounds[0] != 0
        or any(b >= c for b, c in zip(bounds, bounds[1:], strict=False))
        or bounds[-1] > 130
    ):
        raise DisaggregationError(
            f"{key}: 'age_groups' must list the groups' lower bounds in years, rising from 0 "
            f"(e.g. [0, 15, 30, 45, 60], the ICCS groups), got {given!r}"
        )
    return tuple(bounds)
