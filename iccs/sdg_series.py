"""The SDG global database's series that ICCS counts can fill, shipped as data in ``data/sdg_series.csv``.

A series (``VC_IHR_PSRC``: victims of intentional homicide per 100,000 population) is one measure of an indicator
(16.1.1) over a set of ICCS codes: a record counts towards it when its own code is one of them, as in ``sdg16``
(no roll-up, nothing counted twice), and only from sources of its counting unit: the series of 16.1.1 and 16.2.2
count victims (a source counting offences does not fill them); ``VC_ARM_SZTRACE`` (16.4.2) is the share of
arms traced (unit traced_arms) among those seized, found or surrendered (unit seized_arms).
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from importlib import resources

from iccs.classification import descendants, get


@dataclass(frozen=True)
class Series:
    series: str  # the SDG database's SERIES code
    indicator: str
    measure: str  # count | rate (per 100,000 population) | share (counting_unit over denominator_unit, in %)
    codes: tuple[str, ...]  # the ICCS codes a record counts towards it on
    unit_measure: str  # the SDG database's UNIT_MEASURE: NUMBER | PER_100000_POP
    counting_unit: str  # what the source must count: victims, traced_arms
    denominator_unit: str | None  # of a share: the counting unit of its denominator (seized_arms)
    description: str


@functools.cache
def sdg_series() -> tuple[Series, ...]:
    """Every series, in the order the shipped table lists them."""
    source = resources.files("iccs") / "data" / "sdg_series.csv"
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    out = []
    for r in rows:
        named = [get(code).code for code in r["iccs_codes"].split(";")]
        below = r["include_descendants"].strip().lower() == "true"
        codes = {c for code in named for c in [code, *([d.code for d in descendants(code)] if below else [])]}
        out.append(
            Series(
                series=r["series"],
                indicator=r["indicator"],
                measure=r["measure"],
                codes=tuple(sorted(codes)),
                unit_measure=r["unit_measure"],
                counting_unit=r["counting_unit"],
                denominator_unit=r["denominator_unit"] or None,
                description=r["description"],
            )
        )
    return tuple(out)
