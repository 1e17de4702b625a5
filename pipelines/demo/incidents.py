"""Draw the valid incidents of the SYNTHETIC demo country: counts, dates and places, all vectorised.

Background offences follow a rate per resident that varies by offence, district, season and year; counts per
(offence, district, month) come from one multinomial draw, so the total is exact. Planted hotspots add records
uniformly inside small discs; planted patterns (outlying months, a national level shift, a district whose offence
mix changes) add records placed like the background, or raise one code's intensity. Nothing loops over records.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from pipelines.demo.country import (
    CLUSTERS,
    KM_PER_DEG_LAT,
    KM_PER_DEG_LON,
    LAYOUT_SEED,
    LEVEL_SHIFT,
    MIX_CHANGE,
    OFFENCE_PROFILES,
    SPIKE_FACTOR,
    SPIKE_MIN,
    SPIKES,
    YEARS,
    ClusterSpec,
    Geography,
    cluster_centre,
    correspondence_rows,
    km_per_deg_lon,
)

EPOCH = dt.date(1970, 1, 1)
EDGE_KM = 0.005
BACKGROUND, PATTERN = -1, -2  # ``cluster`` of background records and of planted pattern records


@dataclass(frozen=True)
class Incidents:
    """Valid records sorted by date; ``cluster`` is the index in CLUSTERS of a hotspot's records, else BACKGROUND
    or PATTERN (the records of an outlying month or of a mix change, spoiled by no defect, like a hotspot's)."""

    day: np.ndarray  # int32 days since 1970-01-01
    offence: np.ndarray  # int16 index into the offence list
    district: np.ndarray  # int16 index into the districts
    lon: np.ndarray
    lat: np.ndarray
    cluster: np.ndarray  # int8
    # int8 positions in victims.SEX, AGE and WEAPON: drawn after the records (victims.plant_victims)
    victim_sex: np.ndarray | None = None
    victim_age: np.ndarray | None = None
    weapon: np.ndarray | None = None


def calendar_year(days: np.ndarray) -> np.ndarray:
    """Calendar year of days counted from 1970-01-01."""
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def month_starts() -> np.ndarray:
    """Days since 1970 of the first day of every month of the series, plus the day after its end."""
    months = [dt.date(y, m, 1) for y in YEARS for m in range(1, 13)] + [dt.date(YEARS[-1] + 1, 1, 1)]
    return np.array([(d - EPOCH).days for d in months], dtype=np.int32)


def district_weights(codes: tuple[str, ...], geo: Geography) -> np.ndarray:
    """(offences, districts) relative risk, scaled so the population-weighted national rate is the nominal one."""
    urban = np.array([OFFENCE_PROFILES[c].urban for c in codes])
    relative = geo.town_share / np.average(geo.town_share, weights=geo.population[:, 0])
    noise = np.random.default_rng(LAYOUT_SEED + 1).lognormal(0.0, 0.15, (len(codes), len(geo.codes)))
    weights = relative[None, :] ** urban[:, None] * noise
    return weights / np.average(weights, axis=1, weights=geo.population[:, 0])[:, None]


def intensity(codes: tuple[str, ...], geo: Geography) -> np.ndarray:
    """Expected records (offences, districts, months) at the nominal rates."""
    profiles = [OFFENCE_PROFILES[c] for c in codes]
    rate = np.array([p.rate for p in profiles]) / 100_000 / 12
    month = np.tile(np.arange(1, 13), len(YEARS))
    year = np.repeat(np.arange(len(YEARS)), 12)
    amplitude = np.array([p.season_amplitude for p in profiles])[:, None]
    peak = np.array([p.peak_month for p in profiles])[:, None]
    season = 1 + amplitude * np.cos(2 * np.pi * (month[None, :] - peak) / 12)
    trend = (1 + np.array([p.annual_change for p in profiles]))[:, None] ** year[None, :]
    pop = geo.population[:, year]  # (districts, months)
    return (
        rate[:, None, None] * district_weights(codes, geo)[:, :, None] * pop[None, :, :] * (season * trend)[:, None, :]
    )


def month_index(month: str) -> int:
    """Position of 'YYYY-MM' among the months of the series."""
    year, number = (int(part) for part in month.split("-"))
    index = (year - YEARS[0]) * 12 + number - 1
    if not 0 <= index < 12 * len(YEARS) or not 1 <= number <= 12:
        raise ValueError(f"{month!r} is not a month of {YEARS[0]}-{YEARS[-1]}")
    return index


def background_intensity(codes: tuple[str, ...], geo: Geography, planted: bool) -> np.ndarray:
    """intensity(), with the planted level shift when ``planted``: the background records are drawn from it."""
    lam = intensity(codes, geo)
    if planted:
        lam[codes.index(LEVEL_SHIFT.code), :, month_index(LEVEL_SHIFT.start) :] *= LEVEL_SHIFT.factor
    return lam


@dataclass(frozen=True)
class Patterns:
    """The sizes of the planted outlying months (SPIKES) and mix change (MIX_CHANGE) at one record count.

    A spike's cell (offence, district, month) is left out of the background draw and gets ``spike_base`` =
    ceil(expected) records of its own plus ``spike_added``, SPIKE_FACTOR times the expected records of its ICCS
    level-2 category in that district and month (the series the patterns page tests) and at least SPIKE_MIN: that
    series' month holds at least four times its expected count, whatever the seed and size.
    """

    spike_cells: np.ndarray  # (spikes, 3) offence, district and month index
    spike_expected: np.ndarray  # background records of the cell (at the nominal rates times the record scale)
    spike_base: np.ndarray
    spike_added: np.ndarray
    mix_offence: int
    mix_district: int
    mix_expected: float  # background records of the district in MIX_CHANGE.year
    mix_added: int

    @property
    def added(self) -> int:
        """Records added on top of the background."""
        return int(self.spike_added.sum()) + self.mix_added

    @property
    def spike_records(self) -> np.ndarray:
        return self.spike_base + self.spike_added


def plan_patterns(n_rows: int, sizes: list[int], codes: tuple[str, ...], geo: Geography) -> Patterns:
    """The planted patterns' sizes for ``n_rows`` generated records of which ``sizes`` are hotspot records."""
    lam = background_intensity(codes, geo, planted=True)
    cells = np.array(
        [(codes.index(s.code), geo.codes.index(s.district), month_index(s.month)) for s in SPIKES], dtype=np.int64
    )
    mix_offence, mix_district = codes.index(MIX_CHANGE.code), geo.codes.index(MIX_CHANGE.district)
    year = slice(month_index(f"{MIX_CHANGE.year}-01"), month_index(f"{MIX_CHANGE.year}-12") + 1)
    # sized at the scale before the plants take their records: never smaller than at the final scale
    upper = (n_rows - sum(sizes)) / lam.sum()
    # sized on the series the detector tests: the spike's ICCS level-2 category in its district and month
    level2 = {r["national_code"]: r["iccs_code"][:4] for r in correspondence_rows()}
    series = np.array(
        [lam[[i for i, c in enumerate(codes) if level2[c] == level2[codes[o]]], d, m].sum() for o, d, m in cells]
    )
    added = np.maximum(SPIKE_MIN, np.ceil(SPIKE_FACTOR * series * upper)).astype(np.int64)
    mix_added = max(MIX_CHANGE.minimum, int(np.ceil(MIX_CHANGE.share * lam[:, mix_district, year].sum() * upper)))
    scale = (n_rows - sum(sizes) - int(added.sum()) - mix_added) / lam.sum()
    expected = lam[tuple(cells.T)] * scale
    return Patterns(
        spike_cells=cells,
        spike_expected=expected,
        spike_base=np.ceil(expected).astype(np.int64),
        spike_added=added,
        mix_offence=mix_offence,
        mix_district=mix_district,
        mix_expected=float(lam[:, mix_district, year].sum() * scale),
        mix_added=mix_added,
    )


PLACE_CHUNK = 2_000_000  # bounds the memory of placing 10M records; fixed so draws do not depend on size


def _place(
    rng: np.random.Generator, offence: np.ndarray, district: np.ndarray, codes: tuple[str, ...], geo: Geography
) -> tuple[np.ndarray, np.ndarray]:
    """Points inside each record's district: around a town (Gaussian) or anywhere in the district (rural)."""
    urban = np.array([OFFENCE_PROFILES[c].urban for c in codes])
    cum = np.cumsum(geo.town_weight, axis=1)
    lon, lat = np.empty(len(district)), np.empty(len(district))
    for start in range(0, len(district), PLACE_CHUNK):
        part = slice(start, start + PLACE_CHUNK)
        d, o = district[part], offence[part]
        n = len(d)
        in_town = rng.random(n) < np.clip(geo.town_share[d] * (0.6 + 0.2 * urban[o]), 0.05, 0.98)
        town = (rng.random(n)[:, None] > cum[d]).sum(axis=1)
        sigma = geo.town_sigma_km[d, town]
        x0, y0, x1, y1 = (geo.bounds[d, k] for k in range(4))
        near_lon = geo.town_lon[d, town] + rng.standard_normal(n) * sigma / KM_PER_DEG_LON
        near_lat = geo.town_lat[d, town] + rng.standard_normal(n) * sigma / KM_PER_DEG_LAT
        any_lon = x0 + rng.random(n) * (x1 - x0)
        any_lat = y0 + rng.random(n) * (y1 - y0)
        inset = 1e-4  # keeps rounded coordinates inside the district
        lon[part] = np.clip(np.where(in_town, near_lon, any_lon), x0 + inset, x1 - inset)
        lat[part] = np.clip(np.where(in_town, near_lat, any_lat), y0 + inset, y1 - inset)
    return lon, lat


def cluster_sizes(n_valid: int) -> list[int]:
    return [max(12, round(spec.share * n_valid)) for spec in CLUSTERS]


def _cluster(
    rng: np.random.Generator, spec: ClusterSpec, size: int, codes: tuple[str, ...], geo: Geography
) -> tuple[np.ndarray, ...]:
    years = np.array(spec.years)
    p = np.outer(np.array(spec.year_weights, float), np.array(spec.code_weights, float)).ravel()
    counts = rng.multinomial(size, p / p.sum())
    cell = np.repeat(np.arange(len(p)), counts)
    code = np.array([codes.index(c) for c in spec.codes])[cell % len(spec.codes)]
    first = np.array([(dt.date(int(y), 1, 1) - EPOCH).days for y in years])
    length = np.array([(dt.date(int(y) + 1, 1, 1) - dt.date(int(y), 1, 1)).days for y in years])
    index = cell // len(spec.codes)
    day = first[index] + np.floor(rng.random(size) * length[index]).astype(np.int64)
    lon0, lat0 = cluster_centre(spec, geo)
    # a few metres inside the edge: points rounded to 5 decimals stay in the disc the manifest gives (its centre
    # rounded too), so every hotspot record lies within radius_km of the manifest's centre
    radius = (spec.radius_km - EDGE_KM) * np.sqrt(rng.random(size))
    angle = 2 * np.pi * rng.random(size)
    lon = lon0 + radius * np.cos(angle) / km_per_deg_lon(lat0)  # a disc at the hotspot's own latitude
    lat = lat0 + radius * np.sin(angle) / KM_PER_DEG_LAT
    district = np.full(size, geo.codes.index(spec.district))
    return day, code, district, lon, lat


def _patterns(
    rng: np.random.Generator, patterns: Patterns, codes: tuple[str, ...], geo: Geography
) -> tuple[np.ndarray, ...]:
    """The records of the spike cells (uniform days in their month) and of the mix change (uniform days in its
    year), placed in their district like background records."""
    n_spike = patterns.spike_records
    cell = np.repeat(np.arange(len(n_spike)), n_spike)
    offence, district, month = (patterns.spike_cells[cell, k] for k in range(3))
    starts = month_starts()
    spike_day = starts[month] + np.floor(rng.random(len(cell)) * (starts[month + 1] - starts[month])).astype(np.int64)
    first, after = dt.date(MIX_CHANGE.year, 1, 1), dt.date(MIX_CHANGE.year + 1, 1, 1)
    mix_day = (first - EPOCH).days + np.floor(rng.random(patterns.mix_added) * (after - first).days).astype(np.int64)
    day = np.concatenate([spike_day, mix_day])
    offence = np.concatenate([offence, np.full(patterns.mix_added, patterns.mix_offence)])
    district = np.concatenate([district, np.full(patterns.mix_added, patterns.mix_district)])
    lon, lat = _place(rng, offence, district, codes, geo)
    return day, offence, district, lon, lat


def draw_incidents(
    rng: np.random.Generator,
    n_rows: int,
    sizes: list[int],
    codes: tuple[str, ...],
    geo: Geography,
    patterns: Patterns | None = None,
) -> Incidents:
    """Exactly ``n_rows`` records: background plus ``sizes[k]`` for planted hotspot k, plus the planted
    ``patterns`` (None: nothing planted, no level shift either), sorted by date (stable)."""
    n_background = n_rows - sum(sizes) - (patterns.added if patterns is not None else 0)
    lam = background_intensity(codes, geo, planted=patterns is not None)
    if patterns is not None:  # a spike's cell gets its background with the spike
        lam[tuple(patterns.spike_cells.T)] = 0.0
        n_background -= int(patterns.spike_base.sum())
    if n_background <= 0:
        raise ValueError(f"{n_rows} records leave no room for background offences")
    n_codes, n_districts, n_months = lam.shape
    counts = rng.multinomial(n_background, (lam / lam.sum()).ravel())
    cell = np.repeat(np.arange(counts.size, dtype=np.int32), counts)
    offence = (cell // (n_districts * n_months)).astype(np.int16)
    district = ((cell // n_months) % n_districts).astype(np.int16)
    month = cell % n_months
    del cell
    starts = month_starts()
    day = starts[month] + np.floor(rng.random(n_background) * (starts[month + 1] - starts[month])).astype(np.int32)
    del month
    lon, lat = _place(rng, offence, district, codes, geo)
    parts = [(day, offence, district, lon, lat, np.full(n_background, BACKGROUND, np.int8))]
    for k, (spec, size) in enumerate(zip(CLUSTERS, sizes, strict=True)):
        if size:
            c_day, c_code, c_district, c_lon, c_lat = _cluster(rng, spec, size, codes, geo)
            parts.append((c_day, c_code, c_district, c_lon, c_lat, np.full(size, k, np.int8)))
    if patterns is not None:
        planted = _patterns(rng, patterns, codes, geo)
        parts.append((*planted, np.full(len(planted[0]), PATTERN, np.int8)))
    columns = [np.concatenate(col) for col in zip(*parts, strict=True)]
    # by date, in random order within a day (as reports arrive), not in the order the cells were drawn
    order = np.argsort(columns[0].astype(np.int64) << 32 | rng.integers(0, 1 << 32, len(columns[0])))
    day, offence, district, lon, lat, cluster = (col[order] for col in columns)
    return Incidents(
        day=day.astype(np.int32),
        offence=offence.astype(np.int16),
        district=district.astype(np.int16),
        lon=np.round(lon, 5),
        lat=np.round(lat, 5),
        cluster=cluster.astype(np.int8),
    )
