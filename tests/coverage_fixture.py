"""A city incident extract with a long tail of late reports, and a short annual table (coverage-window tests).

The city covers 2016-2023 (monthly seasonality, ~9,600 records, a downtown cluster that is busy every year);
about 0.4% of its records occurred between 1966 and 2015 and were reported late, denser in recent years, as real
extracts do. Synthetic, generated in the test's tmp_path; nothing here is real data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

FIRST_YEAR, LAST_YEAR = 2016, 2023
TAIL_FIRST = 1966
DOWNTOWN = (7.680, 45.070)  # lon, lat
CODES = {
    "ASS": ("Assault", "02011", 0.3),
    "THF": ("Theft", "0502", 0.38),
    "BUR": ("Burglary", "0501", 0.2),
    "ROB": ("Robbery", "0401", 0.1),
    "HOM": ("Homicide", "0101", 0.02),
}


def city_records(seed: int = 7, per_month: float = 100.0, tail_share: float = 0.004) -> pd.DataFrame:
    """id, date, code, lat, lon, district: the window's records plus ``tail_share`` of late-reported old ones."""
    rng = np.random.default_rng(seed)
    months = pd.period_range(f"{FIRST_YEAR}-01", f"{LAST_YEAR}-12", freq="M")
    season = 1 + 0.3 * np.sin(2 * np.pi * (months.month.to_numpy() - 4) / 12)
    per = rng.poisson(per_month * season)
    starts = np.repeat(months.to_timestamp().to_numpy(), per)
    days = rng.integers(0, 28, starts.size).astype("timedelta64[D]")
    dates = starts + days
    n_tail = int(round(tail_share * dates.size))
    # late reports: one in every month of the two years before the extract (so those read as full years), the
    # rest ever older and rarer back to about fifty years before it
    recent = min(24, n_tail)
    old_years = FIRST_YEAR - 3 - np.floor((FIRST_YEAR - 3 - TAIL_FIRST) * rng.random(n_tail - recent) ** 2)
    tail_years = np.concatenate([FIRST_YEAR - 2 + np.arange(recent) // 12, old_years]).astype(int)
    tail_months = np.concatenate([np.arange(recent) % 12 + 1, rng.integers(1, 13, n_tail - recent)])
    tail = pd.to_datetime({"year": tail_years, "month": tail_months, "day": rng.integers(1, 29, n_tail)})
    dates = np.concatenate([dates, tail.to_numpy()])
    n = dates.size
    downtown = rng.random(n) < 0.4
    lon = np.where(downtown, DOWNTOWN[0] + rng.normal(0, 0.002, n), rng.uniform(7.55, 7.81, n))
    lat = np.where(downtown, DOWNTOWN[1] + rng.normal(0, 0.002, n), rng.uniform(44.98, 45.16, n))
    names = list(CODES)
    code = rng.choice(names, n, p=[CODES[c][2] for c in names])
    district = np.where(lon < DOWNTOWN[0], "West", "East").astype(object) + np.where(
        lat < DOWNTOWN[1], " South", " North"
    )
    return pd.DataFrame(
        {
            "id": [f"c{i}" for i in range(n)],
            "date": pd.to_datetime(dates).strftime("%Y-%m-%d"),
            "code": code,
            "lat": lat.round(6),
            "lon": lon.round(6),
            "district": district,
        }
    )


def write_city(folder: Path, coverage: str = "", **kwargs: object) -> tuple[Path, pd.DataFrame]:
    """The city's CSV, correspondence and sources.yaml (with an optional ``coverage:`` line) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    records = city_records(**kwargs)
    records.to_csv(folder / "city.csv", index=False)
    pd.DataFrame(
        [
            {"national_code": c, "national_label": label, "iccs_code": iccs, "note": ""}
            for c, (label, iccs, _) in CODES.items()
        ]
    ).to_csv(folder / "correspondence.csv", index=False)
    (folder / "sources.yaml").write_text(f"""description: synthetic city with late reports (test fixture)
sources:
  city:
    country: XTS
    level: incident
    unit: offences
    files: city.csv
    columns: {{record_id: id, date: date, offence: code, latitude: lat, longitude: lon, area: district}}
    date_format: "%Y-%m-%d"
    date_floor: "1950-01-01"
    correspondence: correspondence.csv
{coverage}""")
    return folder / "sources.yaml", records


def write_annual(folder: Path, years: range = range(2019, 2024), coverage: str = "") -> Path:
    """A national region x offence x year table (aggregate, annual) with a sparse early year: sources.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        {"year": y, "offence": code, "region": region, "count": 100 + 10 * (y - years[0]) + i}
        for y in years
        for i, code in enumerate(CODES)
        for region in ("North", "South")
    ]
    rows += [{"year": years[0] - 6, "offence": "ASS", "region": "North", "count": 2}]  # one stray old cell
    pd.DataFrame(rows).to_csv(folder / "table.csv", index=False)
    pd.DataFrame(
        [
            {"national_code": c, "national_label": label, "iccs_code": iccs, "note": ""}
            for c, (label, iccs, _) in CODES.items()
        ]
    ).to_csv(folder / "correspondence.csv", index=False)
    (folder / "sources.yaml").write_text(f"""description: synthetic annual table (test fixture)
sources:
  annual:
    country: XTS
    level: aggregate
    unit: offences
    files: table.csv
    columns: {{date: year, offence: offence, area: region, count: count}}
    date_format: "%Y"
    correspondence: correspondence.csv
{coverage}""")
    return folder / "sources.yaml"


if __name__ == "__main__":  # python -m tests.coverage_fixture FOLDER: the city, to run `iccs run --config` on
    import sys

    config, _ = write_city(Path(sys.argv[1]))
    print(config)
