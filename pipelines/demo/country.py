"""Synthetica (XSY): the fixed facts of the SYNTHETIC demo country, apart from any random draw.

Everything here is invented. The country sits in open North Pacific water where no land exists, so its points
can never be mistaken for a real place. The user's seed changes the incidents drawn, never the country itself:
districts, towns, population, offence profiles, planted hotspots and planted patterns are the same for every seed.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

COUNTRY = "XSY"  # ISO 3166-1 alpha-3 user-assigned range (AAA-AAZ, QMA-QZZ, XAA-XZZ, ZZA-ZZZ): never a real country
NAME = "Synthetica"
NOTICE = (
    "SYNTHETIC DATA: Synthetica (XSY) is a fictional country invented to demonstrate the pipeline; "
    "none of these records, places or populations is real."
)
# [min_lon, min_lat, max_lon, max_lat]: open North Pacific, ~1,900 km west of California and ~1,700 km
# north-east of Hawaii; there is no land in this box.
BBOX = (-151.0, 36.0, -147.0, 38.0)
BBOX_NOTE = "open North Pacific Ocean (no land): about 350 km east-west by 220 km north-south"
START = dt.date(2019, 1, 1)
END = dt.date(2024, 12, 31)
YEARS = tuple(range(START.year, END.year + 1))
ROWS, COLS = 5, 10
LAYOUT_SEED = 1127  # fixes the country's geography; independent of the user's seed
KM_PER_DEG_LAT = 110.57
KM_PER_DEG_LON = 111.32 * float(np.cos(np.radians((BBOX[1] + BBOX[3]) / 2)))


def km_per_deg_lon(lat: float) -> float:
    """Kilometres per degree of longitude at ``lat`` (KM_PER_DEG_LON is the country's mid-latitude value)."""
    return 111.32 * float(np.cos(np.radians(lat)))


DISTRICT_NAMES = (
    "Northreach",
    "Kestrel Point",
    "Saltcombe",
    "Vellan",
    "Corrin Bay",
    "Tamsey",
    "Brackenfold",
    "Oldmere",
    "Fennick",
    "Greyhaven",
    "Lowmarsh",
    "Ashby Vale",
    "Marrowby",
    "Halden Cross",
    "Quillon",
    "Estermoor",
    "Dunmarrow",
    "Pellory",
    "Sorrel Heights",
    "Wyncote",
    "Caddon",
    "Rookfield",
    "Port Averin",
    "Averin Harbour",
    "Thessaly Down",
    "Merrow Glen",
    "Otterline",
    "Calder Rise",
    "Brisk Hollow",
    "Yarrowick",
    "Stonecrest",
    "Lindell",
    "Gorse End",
    "Hallowmere",
    "Nettlebay",
    "Orrin",
    "Pike Landing",
    "Ravelston",
    "Sandmoor",
    "Tollgate",
    "Umberley",
    "Westshore",
    "Amberlee",
    "Bramwick",
    "Coldwater Sound",
    "Dovecote",
    "Elmstead Quay",
    "Foxmouth",
    "Gullhaven",
    "Southreach",
)

# district code -> (population 2019, town spread in km, share of activity in towns): the named cities.
CITIES = {
    "D23": (165_000, 3.0, 0.95),  # Port Averin, the capital
    "D08": (72_000, 2.2, 0.92),  # Oldmere
    "D47": (61_000, 2.0, 0.92),  # Elmstead Quay
    "D35": (46_000, 1.8, 0.90),  # Nettlebay
    "D14": (41_000, 1.8, 0.88),  # Halden Cross
}


@dataclass(frozen=True)
class OffenceProfile:
    """How often and where a national offence happens; the rate is per 100,000 residents per year."""

    rate: float
    urban: float = 1.0  # -1 rural .. 2 strongly urban: district weight exponent and share in towns
    season_amplitude: float = 0.0  # relative swing of the monthly cycle
    peak_month: int = 7
    annual_change: float = 0.0  # growth per year of the per-capita rate (0.2 = +20 % a year)


SUMMER, WINTER = 7, 12
OFFENCE_PROFILES: dict[str, OffenceProfile] = {
    "101": OffenceProfile(2.0),
    "102": OffenceProfile(3.0),
    "104": OffenceProfile(55, 1.0, 0.15, SUMMER),
    "105": OffenceProfile(320, 1.0, 0.25, SUMMER),
    "106": OffenceProfile(80),
    "108": OffenceProfile(0.8, 1.5),
    "109": OffenceProfile(0.6, 0.0),
    "110": OffenceProfile(6, 1.0),
    "111": OffenceProfile(70),
    "112": OffenceProfile(18, 0.5, 0.1, SUMMER),
    "113": OffenceProfile(35, 1.0, 0.1, SUMMER),
    "114": OffenceProfile(15),
    "201": OffenceProfile(40, 2.0, 0.1, SUMMER),
    "202": OffenceProfile(7, 1.5),
    "204": OffenceProfile(280, 0.5, 0.2, WINTER, annual_change=-0.12),
    "205": OffenceProfile(110, 1.0, 0.1, WINTER),
    "206": OffenceProfile(100, 1.0),
    "207": OffenceProfile(250, 1.5),
    "208": OffenceProfile(180, 2.0, 0.3, SUMMER),
    "209": OffenceProfile(300, 1.5),
    "211": OffenceProfile(380, 1.0, 0.1, SUMMER),
    "212": OffenceProfile(180, 1.0, 0.1, SUMMER),
    "213": OffenceProfile(140, 1.5, 0.2, SUMMER),
    "301": OffenceProfile(170, 1.5, 0.1, SUMMER),
    "302": OffenceProfile(22, 1.0),
    "401": OffenceProfile(220, 1.0, annual_change=0.20),
    "402": OffenceProfile(15),
    "403": OffenceProfile(18, 1.0),
    "404": OffenceProfile(2.0, 1.5),
    "405": OffenceProfile(1.5, 1.5),
    "407": OffenceProfile(3.0, 2.0),
    "501": OffenceProfile(8, 2.0, 0.3, SUMMER),
    "502": OffenceProfile(4, -1.0, 0.2, SUMMER),
    "504": OffenceProfile(40),
    "505": OffenceProfile(110, 0.0, 0.15, SUMMER),
    "601": OffenceProfile(12, 0.5),
    "602": OffenceProfile(1.2),
    "603": OffenceProfile(1.5, 1.0),
    "604": OffenceProfile(0.2, 2.0),
    "605": OffenceProfile(14, 1.5),
    "701": OffenceProfile(6, -1.0, 0.3, SUMMER),
    "702": OffenceProfile(0.8, -0.5),
}
RISING = "401"  # online and card fraud: +20 % a year
FALLING = "204"  # residential burglary: -12 % a year
SEASONAL_SUMMER = tuple(c for c, p in OFFENCE_PROFILES.items() if p.peak_month == SUMMER and p.season_amplitude >= 0.2)
SEASONAL_WINTER = tuple(c for c, p in OFFENCE_PROFILES.items() if p.peak_month == WINTER and p.season_amplitude >= 0.2)


@dataclass(frozen=True)
class ClusterSpec:
    """A planted hotspot: offences concentrated in a disc around a point near a district's main town."""

    id: str
    name: str
    kind: str  # persistent, emerging (starts mid-series) or diminishing (stops mid-series)
    district: str
    offset_km: tuple[float, float]  # east, north of the district's main town
    radius_km: float
    years: tuple[int, ...]
    year_weights: tuple[float, ...]
    codes: tuple[str, ...]
    code_weights: tuple[float, ...]
    share: float  # of the valid records


CLUSTERS = (
    ClusterSpec(
        "H1",
        "Averin docks",
        "persistent",
        "D23",
        (8.0, -5.0),
        1.5,
        YEARS,
        (1,) * 6,
        ("302", "602", "502", "603", "407"),
        (5, 1, 2, 1, 1),
        0.004,
    ),
    ClusterSpec(
        "H2",
        "Oldmere nightlife strip",
        "persistent",
        "D08",
        (3.5, 2.5),
        1.0,
        YEARS,
        (1,) * 6,
        ("105", "201", "301"),
        (5, 2, 3),
        0.008,
    ),
    ClusterSpec(
        "H3",
        "Nettlebay retail park",
        "emerging",
        "D35",
        (-6.0, 4.0),
        1.5,
        (2022, 2023, 2024),
        (1, 2, 3),
        ("206", "207"),
        (1, 2),
        0.005,
    ),
    ClusterSpec(
        "H4",
        "Elmstead Quay waterfront",
        "emerging",
        "D47",
        (5.0, -4.0),
        2.0,
        (2023, 2024),
        (1, 2),
        ("108", "109"),
        (3, 1),
        0.0015,
    ),
    ClusterSpec(
        "H5",
        "Halden Cross estate",
        "diminishing",
        "D14",
        (-4.0, -4.0),
        1.2,
        (2019, 2020, 2021),
        (3, 2, 1),
        ("212", "213"),
        (1, 1),
        0.004,
    ),
)


# Planted patterns for the anomaly detection (outlying months, level shifts, offence mix changes): fixed like the
# hotspots; only their records are drawn from the seed. None is in a hotspot's district, and each plant has its own
# district and code, so one never hides or mimics another.


@dataclass(frozen=True)
class SpikeSpec:
    """One outlying month: extra records of one national code in one district and month."""

    id: str
    district: str
    code: str
    month: str  # YYYY-MM


SPIKES = (
    SpikeSpec("S1", "D26", "105", "2020-10"),  # common assault
    SpikeSpec("S2", "D10", "212", "2021-04"),  # criminal damage to vehicles
    SpikeSpec("S3", "D44", "505", "2023-02"),  # drink-driving
    SpikeSpec("S4", "D18", "111", "2023-09"),  # harassment and stalking
)
# a spike adds max(SPIKE_MIN, ceil(SPIKE_FACTOR * expected records of its level-2 category there that month))
# records to its cell, whose own background is then exactly ceil(expected): the level-2 series' month holds at
# least four times its expected count and SPIKE_MIN more, at any size
SPIKE_FACTOR, SPIKE_MIN = 3.0, 40


@dataclass(frozen=True)
class LevelShiftSpec:
    """A national level shift: the code's intensity times ``factor`` in every district from ``start`` on."""

    code: str
    start: str  # YYYY-MM
    factor: float


LEVEL_SHIFT = LevelShiftSpec("301", "2022-07", 1.8)  # possession of drugs: a police operation from July 2022


@dataclass(frozen=True)
class MixChangeSpec:
    """A district whose offence mix changes: extra records of one code spread over the last year."""

    district: str
    code: str
    year: int
    baseline_year: int
    share: float  # added records per expected background record of the district in ``year``
    minimum: int


# street robbery: a robbery crew. Its level-2 category (0401 robbery) is a small share everywhere, so the change
# shows in the level-2 mix the detector tests (theft of a motor vehicle would drown in 0502 theft, 40 % of all).
MIX_CHANGE = MixChangeSpec("D33", "201", 2024, 2019, 0.3, 60)


def correspondence_path() -> Path:
    """The shipped correspondence table of the demo's national codes to ICCS v1.0."""
    return Path(str(resources.files("pipelines") / "sources" / "demo" / "correspondence.csv")).resolve()


@functools.cache
def correspondence_rows() -> tuple[dict[str, str], ...]:
    with correspondence_path().open(encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


@dataclass(frozen=True)
class Geography:
    """Districts as rectangles (row-major from the north-west), their towns and population by year."""

    codes: tuple[str, ...]
    names: tuple[str, ...]
    bounds: np.ndarray  # (D, 4) min_lon, min_lat, max_lon, max_lat
    town_lon: np.ndarray  # (D, 3); unused slots have weight 0
    town_lat: np.ndarray
    town_sigma_km: np.ndarray
    town_weight: np.ndarray  # (D, 3), rows sum to 1
    town_share: np.ndarray  # (D,) share of a typical offence that happens in a town
    population: np.ndarray  # (D, years) residents at mid-year
    growth: np.ndarray  # (D,) annual population growth


@functools.cache
def geography() -> Geography:
    """The fixed map of Synthetica, drawn once from LAYOUT_SEED."""
    rng = np.random.default_rng(LAYOUT_SEED)
    n = ROWS * COLS
    codes = tuple(f"D{i + 1:02d}" for i in range(n))
    lat_edges = np.linspace(BBOX[3], BBOX[1], ROWS + 1)  # north to south
    bounds = np.zeros((n, 4))
    for row in range(ROWS):
        edges = np.linspace(BBOX[0], BBOX[2], COLS + 1)
        edges[1:-1] += rng.uniform(-0.08, 0.08, COLS - 1)
        for col in range(COLS):
            bounds[row * COLS + col] = (edges[col], lat_edges[row + 1], edges[col + 1], lat_edges[row])
    width, height = bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1]
    frac = rng.uniform(0.3, 0.7, (n, 3, 2))
    frac[:, 1:] = rng.uniform(0.15, 0.85, (n, 2, 2))
    n_towns = rng.integers(1, 4, n)
    weight = rng.uniform(0.15, 0.45, (n, 3))
    weight[:, 0] = 1.0
    weight[np.arange(3)[None, :] >= n_towns[:, None]] = 0.0
    sigma = rng.uniform(1.0, 1.8, (n, 3))
    town_share = rng.uniform(0.55, 0.85, n)
    population = np.exp(rng.normal(np.log(15_000), 0.45, n))
    growth = rng.uniform(0.002, 0.012, n)
    for code, (pop, spread, share) in CITIES.items():
        i = codes.index(code)
        frac[i, 0] = (0.5, 0.5)
        sigma[i, 0], town_share[i], population[i] = spread, share, pop
        weight[i] = (1.0, 0.12, 0.0)
        growth[i] = 0.015 if code == "D23" else 0.01
    town_lon = bounds[:, [0]] + frac[:, :, 0] * width[:, None]
    town_lat = bounds[:, [1]] + frac[:, :, 1] * height[:, None]
    years = np.arange(len(YEARS))
    pop = np.round(population[:, None] * (1 + growth[:, None]) ** years[None, :])
    return Geography(
        codes=codes,
        names=DISTRICT_NAMES,
        bounds=bounds,
        town_lon=town_lon,
        town_lat=town_lat,
        town_sigma_km=sigma,
        town_weight=weight / weight.sum(1, keepdims=True),
        town_share=town_share,
        population=pop,
        growth=growth,
    )


# Residents by age group (0-14, 15-29, 30-44, 45-59, 60+) and men's share of each age group: women outlive men,
# and towns draw young adults (AGE_TOWN_TILT: log-change per unit of town share above the average).
AGE_GROUPS = ("0-14", "15-29", "30-44", "45-59", "60+")
AGE_STRUCTURE = (0.17, 0.21, 0.21, 0.20, 0.21)
AGE_TOWN_TILT = (0.0, 0.6, 0.3, -0.2, -0.7)
MALE_SHARE_BY_AGE = (0.512, 0.508, 0.500, 0.492, 0.445)


def _whole_parts(raw: np.ndarray, totals: np.ndarray) -> np.ndarray:
    """Whole numbers near ``raw`` (totals.shape + parts) that sum exactly to ``totals``: the largest remainders
    are rounded up, so a total of all sexes and ages is always the sum of its groups."""
    flat = raw.reshape(*totals.shape, -1)
    base = np.floor(flat)
    short = np.rint(totals - base.sum(axis=-1)).astype(np.int64)
    rank = np.argsort(np.argsort(base - flat, axis=-1, kind="stable"), axis=-1, kind="stable")
    return (base + (rank < short[..., None])).astype(np.int64).reshape(raw.shape)


def population_by_sex_age(geo: Geography) -> np.ndarray:
    """(districts, years, sex (male, female), age group) residents: whole numbers whose sum is exactly each
    district's population of the year. Fixed by LAYOUT_SEED like the rest of the country."""
    rng = np.random.default_rng(LAYOUT_SEED + 2)
    n = len(geo.codes)
    towns = geo.town_share - geo.town_share.mean()
    ages = np.array(AGE_STRUCTURE) * np.exp(towns[:, None] * np.array(AGE_TOWN_TILT) + rng.normal(0, 0.05, (n, 5)))
    ages /= ages.sum(axis=1, keepdims=True)
    male = np.clip(np.array(MALE_SHARE_BY_AGE) + rng.normal(0, 0.006, (n, 5)), 0.4, 0.6)
    shares = np.stack([ages * male, ages * (1 - male)], axis=1)  # (districts, 2, 5), summing to 1
    return _whole_parts(geo.population[:, :, None, None] * shares[:, None], geo.population)


def cluster_centre(spec: ClusterSpec, geo: Geography) -> tuple[float, float]:
    """(lon, lat) of a planted hotspot: offset from the main town, kept a margin inside its district."""
    i = geo.codes.index(spec.district)
    lon = geo.town_lon[i, 0] + spec.offset_km[0] / KM_PER_DEG_LON
    lat = geo.town_lat[i, 0] + spec.offset_km[1] / KM_PER_DEG_LAT
    margin_lon, margin_lat = (spec.radius_km + 1) / KM_PER_DEG_LON, (spec.radius_km + 1) / KM_PER_DEG_LAT
    x0, y0, x1, y1 = geo.bounds[i]
    return (
        float(np.clip(lon, x0 + margin_lon, x1 - margin_lon)),
        float(np.clip(lat, y0 + margin_lat, y1 - margin_lat)),
    )
