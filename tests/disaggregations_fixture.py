"""A small incident source with the victim's sex and age and the weapon, run through the pipeline for report tests.

`XDI` (a user-assigned code): police incidents 2021-2023, one per row, homicides, assaults and robberies. Every
tenth record has no victim sex (``_U``: not known); robberies carry a weapon, and the firearm robberies are planted
in a 1 km disc, so firearm hot spots have one place to find. A population file gives all, male and female
residents per year. A second, plain source (``XPL``, no ``disaggregations:``) has no breakdown at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

COUNTRY, PLAIN_COUNTRY = "XDI", "XPL"
YEARS = (2021, 2022, 2023)
POPULATION = {"_T": 1_000_000, "M": 490_000, "F": 510_000}
CODES = {"HOM": ("0101", "Intentional homicide"), "ASS": ("02011", "Assault"), "ROB": ("0401", "Robbery")}
# records per year and code
VOLUME = {"HOM": 60, "ASS": 300, "ROB": 400}
LON0, LAT0 = 10.5, 40.5
HOT = (10.56, 40.53)  # the firearm cluster


@dataclass(frozen=True)
class Fixture:
    config: Path
    incidents: Path


CONFIG = """description: disaggregations report fixture (synthetic)
sources:
  xdi_police:
    description: synthetic incidents with victim sex and age and weapon
    country: XDI
    level: incident
    unit: offences
    files: incidents.csv
    columns: {record_id: id, date: date, offence: code, latitude: lat, longitude: lon}
    date_format: "%Y-%m-%d"
    disaggregations:
      victim_sex: {column: sex, values: {Male: M, Female: F}}
      victim_age: {column: age, values: {"0-29": Y0T29, "30+": Y_GE30}}
      weapon: {column: weapon, values: {gun: FIREARM, knife: SHARP_OBJECT, other: OTHER_MEANS}}
    correspondence: correspondence.csv
  xpl_police:
    description: synthetic incidents without any breakdown
    country: XPL
    level: incident
    unit: offences
    files: plain.csv
    columns: {record_id: id, date: date, offence: code, latitude: lat, longitude: lon}
    date_format: "%Y-%m-%d"
    correspondence: correspondence.csv
population:
  - files: population.csv
    columns: {country: country, year: year, population: population}
    disaggregations:
      sex: {column: sex, values: {All: _T, Male: M, Female: F}}
"""


def write_fixture(folder: Path, seed: int = 14) -> Fixture:
    """Write the fixture's files into `folder` (deterministic for a seed)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows, plain = ["id,date,code,lat,lon,sex,age,weapon"], ["id,date,code,lat,lon"]
    n = 0
    for year in YEARS:
        for code, volume in VOLUME.items():
            for i in range(volume):
                n += 1
                date = f"{year}-{1 + i % 12:02d}-{1 + i % 28:02d}"
                sex = "" if n % 10 == 0 else ("Male" if rng.random() < (0.8 if code == "HOM" else 0.55) else "Female")
                age = "0-29" if rng.random() < 0.4 else "30+"
                weapon = ""
                lon, lat = LON0 + rng.uniform(-0.1, 0.1), LAT0 + rng.uniform(-0.08, 0.08)
                if code == "ROB":
                    weapon = ("gun", "knife", "other", "")[i % 4]
                    if weapon == "gun" and i % 8 == 0:  # half the firearm robberies in the hot spot
                        r, a = 0.005 * np.sqrt(rng.random()), rng.uniform(0, 2 * np.pi)
                        lon, lat = HOT[0] + r * np.cos(a), HOT[1] + r * np.sin(a)
                rows.append(f"R{n},{date},{code},{lat:.5f},{lon:.5f},{sex},{age},{weapon}")
                plain.append(f"P{n},{date},{code},{lat:.5f},{lon:.5f}")
    incidents = folder / "incidents.csv"
    incidents.write_text("\n".join(rows) + "\n")
    (folder / "plain.csv").write_text("\n".join(plain) + "\n")
    (folder / "correspondence.csv").write_text(
        "national_code,national_label,iccs_code\n" + "".join(f"{k},{v[1]},{v[0]}\n" for k, v in CODES.items())
    )
    (folder / "population.csv").write_text(
        "country,year,sex,population\n"
        + "".join(
            f"{c},{y},{label},{POPULATION[code]}\n"
            for c in (COUNTRY, PLAIN_COUNTRY)
            for y in YEARS
            for label, code in (("All", "_T"), ("Male", "M"), ("Female", "F"))
            if c == COUNTRY or code == "_T"
        )
    )
    config = folder / "sources.yaml"
    config.write_text(CONFIG)
    return Fixture(config=config, incidents=incidents)
