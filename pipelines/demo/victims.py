"""Plant victim sex, victim age group and weapon on the SYNTHETIC demo's incidents, by offence and by place.

The file carries them as a publisher would (``Male``, ``30-44``, ``Knife``, ``n/a``, an empty weapon when it is
not known); the generated sources.yaml recodes them to the warehouse's codes (``VALUE_MAPS``), so every demo run
exercises the recoding. The shares differ by offence (homicide victims mostly men, sexual-violence and
harassment victims mostly women) and by place (``WEAPON_SIGNALS``: guns in the capital's homicides, knives in
the nightlife hotspot), so the reports by sex, age and weapon show something real. The draws come from their
own random stream, so the records' other columns are those the same seed gave before they were planted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from pipelines.demo.country import CLUSTERS, Geography
from pipelines.demo.incidents import Incidents

STREAM = 14  # spawn key of the victims' random stream (issue 14), independent of the records' stream

# label in the file, code in the warehouse; the last value of each is "not applicable"
SEX = (("Male", "M"), ("Female", "F"), ("Unknown", "_U"), ("n/a", "_Z"))
AGE = (
    ("0-14", "Y0T14"),
    ("15-29", "Y15T29"),
    ("30-44", "Y30T44"),
    ("45-59", "Y45T59"),
    ("60+", "Y_GE60"),
    ("Unknown", "_U"),
    ("n/a", "_Z"),
)
WEAPON = (("Firearm", "FIREARM"), ("Knife", "SHARP_OBJECT"), ("Other", "OTHER_MEANS"), ("", "_U"), ("n/a", "_Z"))
# The file's labels (None: an empty cell, which the pipeline reads as not known) by variable.
LABELS = {
    "victim_sex": tuple(label for label, _ in SEX),
    "victim_age": tuple(label for label, _ in AGE),
    "weapon": tuple(label or None for label, _ in WEAPON),
}
CODES = {"victim_sex": [c for _, c in SEX], "victim_age": [c for _, c in AGE], "weapon": [c for _, c in WEAPON]}
# sources.yaml `disaggregations` values: label -> code (an empty cell needs no entry: it is not known)
VALUE_MAPS = {
    variable: {label: code for label, code in pairs if label}
    for variable, pairs in (("victim_sex", SEX), ("victim_age", AGE), ("weapon", WEAPON))
}

# Age structure of victims (0-14, 15-29, 30-44, 45-59, 60+, not known).
AGE_MIXES = {
    "violence": (0.06, 0.40, 0.29, 0.16, 0.06, 0.03),
    "sexual": (0.22, 0.48, 0.18, 0.07, 0.02, 0.03),
    "trafficking": (0.15, 0.60, 0.18, 0.04, 0.01, 0.02),
    "adult": (0.04, 0.28, 0.30, 0.22, 0.13, 0.03),
    "older": (0.01, 0.14, 0.25, 0.28, 0.29, 0.03),
}
# Offences against a person: (male, female, not known) shares of victims and their age mix. Every other offence
# has no natural-person victim (the State, a business, the public): sex and age "n/a".
VICTIMS: dict[str, tuple[float, float, float, str]] = {
    "101": (0.80, 0.18, 0.02, "violence"),
    "102": (0.78, 0.20, 0.02, "violence"),
    "104": (0.68, 0.30, 0.02, "violence"),
    "105": (0.62, 0.35, 0.03, "violence"),
    "106": (0.55, 0.42, 0.03, "adult"),
    "108": (0.12, 0.86, 0.02, "trafficking"),
    "109": (0.62, 0.36, 0.02, "trafficking"),
    "110": (0.63, 0.32, 0.05, "adult"),
    "111": (0.23, 0.75, 0.02, "adult"),
    "112": (0.08, 0.90, 0.02, "sexual"),
    "113": (0.18, 0.80, 0.02, "sexual"),
    "114": (0.55, 0.42, 0.03, "adult"),
    "201": (0.62, 0.35, 0.03, "violence"),
    "204": (0.50, 0.46, 0.04, "older"),
    "206": (0.63, 0.32, 0.05, "adult"),
    "207": (0.58, 0.37, 0.05, "adult"),
    "208": (0.40, 0.58, 0.02, "adult"),
    "211": (0.50, 0.45, 0.05, "adult"),
    "212": (0.58, 0.37, 0.05, "adult"),
    "401": (0.48, 0.48, 0.04, "older"),
}
# Means used (firearm, knife, other, not known) where ICCS records a weapon; "n/a" for every other offence.
WEAPON_MIXES = {
    "lethal": (0.30, 0.35, 0.25, 0.10),
    "lethal_capital": (0.60, 0.20, 0.12, 0.08),
    "injury": (0.08, 0.30, 0.50, 0.12),
    "assault": (0.01, 0.05, 0.80, 0.14),
    "assault_nightlife": (0.02, 0.25, 0.60, 0.13),
    "threat": (0.10, 0.15, 0.55, 0.20),
    "sexual": (0.03, 0.07, 0.75, 0.15),
    "robbery": (0.10, 0.30, 0.45, 0.15),
    "robbery_nightlife": (0.05, 0.60, 0.25, 0.10),
    "armed_robbery": (0.35, 0.25, 0.25, 0.15),
    "disorder": (0.03, 0.12, 0.70, 0.15),
    "firearm": (1.0, 0.0, 0.0, 0.0),
}
WEAPONS = {
    "101": "lethal",
    "102": "lethal",
    "104": "injury",
    "105": "assault",
    "106": "threat",
    "110": "threat",
    "112": "sexual",
    "113": "sexual",
    "201": "robbery",
    "202": "armed_robbery",
    "501": "disorder",
    "601": "firearm",
    "602": "firearm",
}


@dataclass(frozen=True)
class WeaponSignal:
    """A place where some offences are committed with other means than elsewhere: a district or a hotspot."""

    id: str
    name: str
    district: str | None  # every record of the codes in this district ...
    cluster: str | None  # ... or the records of this planted hotspot (CLUSTERS id)
    mixes: tuple[tuple[str, str], ...]  # (national code, WEAPON_MIXES key inside)


WEAPON_SIGNALS = (
    WeaponSignal("W1", "Port Averin gun violence", "D23", None, (("101", "lethal_capital"), ("102", "lethal_capital"))),
    WeaponSignal(
        "W2", "Oldmere nightlife knife crime", None, "H2", (("105", "assault_nightlife"), ("201", "robbery_nightlife"))
    ),
)


def _cumulative(rows: list[tuple[float, ...]]) -> np.ndarray:
    """(profiles, categories - 1) cumulative shares: a uniform draw u falls in category #(u > bound)."""
    table = np.array(rows, float)
    if not np.allclose(table.sum(axis=1), 1.0):
        raise ValueError("planted shares must sum to 1")
    return np.cumsum(table, axis=1)[:, :-1]


def _draw(u: np.ndarray, profile: np.ndarray, bounds: np.ndarray, not_applicable: int) -> np.ndarray:
    """Category of each record from its profile (-1: not applicable), looping over categories, not records."""
    category = np.zeros(len(u), np.int8)
    safe = np.maximum(profile, 0)
    for j in range(bounds.shape[1]):
        category += u > bounds[safe, j]
    category[profile < 0] = not_applicable
    return category


def weapon_mix_index(inc: Incidents, codes: tuple[str, ...], geo: Geography) -> np.ndarray:
    """WEAPON_MIXES position of every record's weapon draw (-1: not applicable), the signals' places included."""
    names = list(WEAPON_MIXES)
    by_code = np.array([names.index(WEAPONS[c]) if c in WEAPONS else -1 for c in codes])
    mix = by_code[inc.offence]
    for signal in WEAPON_SIGNALS:
        place = _in_signal(inc, signal, geo)
        for code, name in signal.mixes:
            mix[place & (inc.offence == codes.index(code))] = names.index(name)
    return mix


def _in_signal(inc: Incidents, signal: WeaponSignal, geo: Geography) -> np.ndarray:
    if signal.district is not None:
        return inc.district == geo.codes.index(signal.district)
    return inc.cluster == [c.id for c in CLUSTERS].index(signal.cluster)


def plant_victims(seed: int, inc: Incidents, codes: tuple[str, ...], geo: Geography) -> Incidents:
    """The incidents with victim sex, victim age and weapon drawn for every record (as positions in SEX, AGE,
    WEAPON), from a stream of ``seed`` of their own."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(STREAM,)))
    n = len(inc.day)
    victim = np.array([c in VICTIMS for c in codes])
    position = np.cumsum(victim) - 1
    person = np.where(victim[inc.offence], position[inc.offence], -1)
    listed = [VICTIMS[c] for c in codes if c in VICTIMS]
    sex = _draw(rng.random(n), person, _cumulative([v[:3] for v in listed]), len(SEX) - 1)
    age = _draw(rng.random(n), person, _cumulative([AGE_MIXES[v[3]] for v in listed]), len(AGE) - 1)
    bounds = _cumulative(list(WEAPON_MIXES.values()))
    weapon = _draw(rng.random(n), weapon_mix_index(inc, codes, geo), bounds, len(WEAPON) - 1)
    return replace(inc, victim_sex=sex, victim_age=age, weapon=weapon)


def _counted(values: np.ndarray, pairs: tuple[tuple[str, str], ...]) -> dict[str, int]:
    counts = np.bincount(values, minlength=len(pairs))
    return {code: int(counts[i]) for i, (_, code) in enumerate(pairs) if counts[i]}


def _planted(shares: tuple[float, ...], pairs: tuple[tuple[str, str], ...]) -> dict[str, float]:
    return {code: share for (_, code), share in zip(pairs, shares, strict=False) if share}


def details(inc: Incidents, valid: np.ndarray, codes: tuple[str, ...], geo: Geography) -> dict[str, Any]:
    """The manifest's ``disaggregations``: the planted shares and, per offence and per signal, the counts of every
    code among the records the pipeline must load (``valid``: generated rows), which the warehouse must equal."""
    offence, sex, age, weapon = inc.offence[valid], inc.victim_sex[valid], inc.victim_age[valid], inc.weapon[valid]
    per_offence = {}
    for i, code in enumerate(codes):
        mine = offence == i
        entry: dict[str, Any] = {}
        if code in VICTIMS:
            male, female, unknown, ages = VICTIMS[code]
            entry["victim_sex_planted"] = _planted((male, female, unknown), SEX)
            entry["victim_age_planted"] = _planted(AGE_MIXES[ages], AGE)
        if code in WEAPONS:
            entry["weapon_planted"] = _planted(WEAPON_MIXES[WEAPONS[code]], WEAPON)
        entry["victim_sex"] = _counted(sex[mine], SEX)
        entry["victim_age"] = _counted(age[mine], AGE)
        entry["weapon"] = _counted(weapon[mine], WEAPON)
        per_offence[code] = entry
    signals = []
    for signal in WEAPON_SIGNALS:
        place = _in_signal(inc, signal, geo)[valid]
        for code, name in signal.mixes:
            mine = offence == codes.index(code)
            signals.append(
                {
                    "id": signal.id,
                    "name": signal.name,
                    "district": signal.district,
                    "cluster": signal.cluster,
                    "national_code": code,
                    "planted_inside": _planted(WEAPON_MIXES[name], WEAPON),
                    "planted_elsewhere": _planted(WEAPON_MIXES[WEAPONS[code]], WEAPON),
                    "inside": _counted(weapon[mine & place], WEAPON),
                    "elsewhere": _counted(weapon[mine & ~place], WEAPON),
                }
            )
    return {
        "note": "victim sex and age group and weapon of every valid record, as codes (the file's labels are "
        "recoded by sources.yaml's disaggregations values); '_Z' = not applicable (no natural-person victim, no "
        "weapon recorded for the offence), '_U' = not known (an empty weapon cell)",
        "values": VALUE_MAPS,
        "weapon_signals": signals,
        "offences": per_offence,
    }
