"""generate_demo: write a SYNTHETIC country's police feed, population, config and ground-truth manifest.

Deterministic: one seed gives byte-identical files. No dagster here, so a notebook can call it directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

import iccs
from pipelines.demo import victims
from pipelines.demo.columns import COLUMNS, DATE_FORMAT, DISAGGREGATION_COLUMNS
from pipelines.demo.country import (
    BBOX,
    BBOX_NOTE,
    CLUSTERS,
    COUNTRY,
    END,
    FALLING,
    LAYOUT_SEED,
    LEVEL_SHIFT,
    MIX_CHANGE,
    NAME,
    NOTICE,
    OFFENCE_PROFILES,
    RISING,
    SEASONAL_SUMMER,
    SEASONAL_WINTER,
    SPIKES,
    START,
    SUMMER,
    WINTER,
    YEARS,
    Geography,
    cluster_centre,
    correspondence_rows,
    geography,
    population_by_sex_age,
)
from pipelines.demo.defects import CORRUPTING, Plan, bad_counts, plan_defects, plant_invalid_sex
from pipelines.demo.incidents import (
    Incidents,
    Patterns,
    background_intensity,
    calendar_year,
    cluster_sizes,
    draw_incidents,
    plan_patterns,
)
from pipelines.demo.manifest import MANIFEST_FILE, DemoManifest
from pipelines.demo.writers import (
    SOURCE,
    write_bad_rows,
    write_config,
    write_districts,
    write_incidents,
    write_json,
    write_population,
)

DEFAULT_SEED = 20261127
DEFAULT_RECORDS = 200_000
MIN_RECORDS = 2_000
FORMATS = ("csv", "parquet")
SDG_16_4_COMPONENTS = (
    "firearms_trafficking",
    "drug_trafficking",
    "money_laundering",
    "corruption",
    "trafficking_in_persons",
    "migrant_smuggling",
    "organized_criminal_group",
    "terrorism_financing",
    "wildlife_trafficking",
)


def generate_demo(
    out_dir: str | Path,
    records: int = DEFAULT_RECORDS,
    seed: int = DEFAULT_SEED,
    fmt: str = "csv",
    plant: bool = True,
) -> DemoManifest:
    """Write incidents.<fmt>, population.csv, districts.geojson, bad_rows.csv, sources.yaml and manifest.json.

    ``records`` is the number of data lines of the CSV (bad and malformed ones included); Parquet has the same
    rows minus the malformed lines, which only a text file can carry. ``plant=False`` plants neither hotspots nor
    patterns (outlying months, level shift, mix change): background, seasons, trends and bad rows only, the
    country where a detector should find nothing.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    if records < MIN_RECORDS:
        raise ValueError(f"records must be at least {MIN_RECORDS:,} (got {records:,})")
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    geo = geography()
    rows = correspondence_rows()
    codes = tuple(r["national_code"] for r in rows)
    if set(codes) != set(OFFENCE_PROFILES):
        raise RuntimeError("correspondence.csv and OFFENCE_PROFILES list different national codes")
    counts = bad_counts(records)
    n_generated = records - counts["duplicate_record_id"]  # each duplicate is a copy of a generated record
    n_valid = n_generated - counts["malformed_line"] - sum(counts[r] for r in CORRUPTING)
    sizes = cluster_sizes(n_valid) if plant else [0] * len(CLUSTERS)
    patterns = plan_patterns(n_generated, sizes, codes, geo) if plant else None
    inc = victims.plant_victims(seed, draw_incidents(rng, n_generated, sizes, codes, geo, patterns), codes, geo)
    offence_codes, district_codes = pa.array(codes), pa.array(geo.codes)
    plan = plan_defects(rng, inc, counts, offence_codes, district_codes, pa.array(geo.names))
    # planted last, from a stream of their own: the records and defects above are those the seed always gave
    spoil = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(victims.STREAM, 1)))
    plan = plant_invalid_sex(spoil, plan, inc, counts["invalid_disaggregation"])

    incidents_file = f"incidents.{fmt}"
    stale = out_dir / f"incidents.{'parquet' if fmt == 'csv' else 'csv'}"
    stale.unlink(missing_ok=True)
    write_incidents(out_dir / incidents_file, fmt, inc, plan, offence_codes, district_codes)
    write_bad_rows(out_dir / "bad_rows.csv", plan, csv=fmt == "csv")
    write_population(out_dir / "population.csv", geo)
    write_districts(out_dir / "districts.geojson", geo)
    write_config(out_dir / "sources.yaml", incidents_file, fmt)
    expected = {reason: n for reason, n in counts.items() if fmt == "csv" or reason != "malformed_line"}
    written = plan.n_rows + (counts["malformed_line"] if fmt == "csv" else 0)
    details = _details(inc, plan, geo, rows, sizes, patterns, expected, written, seed, fmt, incidents_file)
    write_json(out_dir / MANIFEST_FILE, details)
    return DemoManifest.from_details(out_dir, details)


def _year_index(days: np.ndarray) -> np.ndarray:
    return calendar_year(days) - YEARS[0]


def _population_by_sex(geo: Geography) -> dict[str, dict[str, int]]:
    """National residents of each sex by year, as population.csv gives them (the denominators of rates by sex)."""
    by_sex = population_by_sex_age(geo).sum(axis=(0, 3))  # (years, sex)
    return {str(y): {"M": int(by_sex[i, 0]), "F": int(by_sex[i, 1])} for i, y in enumerate(YEARS)}


def _details(
    inc: Incidents,
    plan: Plan,
    geo: Geography,
    rows: tuple[dict[str, str], ...],
    sizes: list[int],
    patterns: Patterns | None,
    expected: dict[str, int],
    written: int,
    seed: int,
    fmt: str,
    incidents_file: str,
) -> dict[str, Any]:
    """The ground truth: what a correct pipeline must load, quarantine and find."""
    n_years = len(YEARS)
    valid = plan.base_rows[plan.valid_base]
    year = _year_index(inc.day[valid])
    by_code_year = np.bincount(inc.offence[valid] * n_years + year, minlength=len(rows) * n_years).reshape(-1, n_years)
    by_district_year = np.bincount(inc.district[valid] * n_years + year, minlength=len(geo.codes) * n_years).reshape(
        -1, n_years
    )
    codes = [r["national_code"] for r in rows]
    lam = background_intensity(tuple(codes), geo, planted=patterns is not None)
    planted = sum(sizes) + (int(patterns.spike_records.sum()) + patterns.mix_added if patterns is not None else 0)
    scale = (len(valid) - planted) / lam.sum()

    def offence(i: int) -> dict[str, Any]:
        r, p = rows[i], OFFENCE_PROFILES[codes[i]]
        return {
            "national_code": r["national_code"],
            "label": r["national_label"],
            "iccs_code": r["iccs_code"],
            "iccs_level": iccs.get(r["iccs_code"]).level,
            "nominal_rate_per_100k": p.rate,
            "urban": p.urban,
            "season_amplitude": p.season_amplitude,
            "peak_month": p.peak_month,
            "annual_change": p.annual_change,
            "valid_records": int(by_code_year[i].sum()),
            "valid_records_by_year": dict(zip(map(str, YEARS), map(int, by_code_year[i]), strict=True)),
        }

    def trend(code: str) -> dict[str, Any]:
        entry = offence(codes.index(code))
        return {k: entry[k] for k in ("national_code", "label", "iccs_code", "annual_change", "valid_records_by_year")}

    cluster_year = _year_index(inc.day)
    clusters = []
    for k, (spec, size) in enumerate(zip(CLUSTERS, sizes, strict=True)):
        if not size:  # nothing planted
            continue
        lon, lat = cluster_centre(spec, geo)
        members = inc.cluster == k
        per_year = np.bincount(cluster_year[members], minlength=n_years)
        clusters.append(
            {
                "id": spec.id,
                "name": spec.name,
                "kind": spec.kind,
                "district": spec.district,
                "centre": {"lon": round(lon, 5), "lat": round(lat, 5)},
                "radius_km": spec.radius_km,
                "years": list(spec.years),
                "national_codes": list(spec.codes),
                "iccs_codes": [rows[codes.index(c)]["iccs_code"] for c in spec.codes],
                "records": size,
                "records_by_year": {str(y): int(per_year[i]) for i, y in enumerate(YEARS) if per_year[i]},
            }
        )
    iccs_of = {r["national_code"]: r["iccs_code"] for r in rows}
    return {
        "synthetic": True,
        "notice": NOTICE,
        "country": {
            "iso3": COUNTRY,
            "name": NAME,
            "iso_note": "XSY is in the ISO 3166-1 user-assigned range",
            "bbox": list(BBOX),
            "bbox_note": BBOX_NOTE,
        },
        "generator": {"seed": seed, "records": written, "format": fmt, "layout_seed": LAYOUT_SEED},
        "files": {
            "incidents": incidents_file,
            "population": "population.csv",
            "config": "sources.yaml",
            "bad_rows": "bad_rows.csv",
            "districts": "districts.geojson",
            "manifest": MANIFEST_FILE,
        },
        "source": SOURCE,
        "columns": dict(COLUMNS),
        "disaggregation_columns": dict(DISAGGREGATION_COLUMNS),
        "date_format": DATE_FORMAT,
        "period": {"start": START.isoformat(), "end": END.isoformat(), "years": list(YEARS)},
        "records": written,
        "valid_records": len(valid),
        "missing_coordinates": plan.missing_coordinates,
        "expected_quarantine": expected,
        "defect_kinds": {r: kinds for r, kinds in plan.kinds.items() if r in expected},
        "rate_scale": {
            "factor": round(float(scale), 4),
            "note": "records per nominal expected record: rates in the data are the nominal "
            "per-100k rates times this factor (the record count is fixed by the caller)",
        },
        "offences": [offence(i) for i in range(len(rows))],
        "disaggregations": victims.details(inc, valid, tuple(codes), geo),
        "population_by_sex": _population_by_sex(geo),
        "districts": [
            {
                "code": c,
                "name": geo.names[i],
                "bbox": [round(float(v), 5) for v in geo.bounds[i]],
                "population": dict(zip(map(str, YEARS), map(int, geo.population[i]), strict=True)),
                "valid_records_by_year": dict(zip(map(str, YEARS), map(int, by_district_year[i]), strict=True)),
            }
            for i, c in enumerate(geo.codes)
        ],
        "trends": {"rising": trend(RISING), "falling": trend(FALLING)},
        "seasonality": {
            "summer_peak": {
                "peak_month": SUMMER,
                "national_codes": list(SEASONAL_SUMMER),
                "iccs_codes": [iccs_of[c] for c in SEASONAL_SUMMER],
            },
            "winter_peak": {
                "peak_month": WINTER,
                "national_codes": list(SEASONAL_WINTER),
                "iccs_codes": [iccs_of[c] for c in SEASONAL_WINTER],
            },
        },
        "planted": patterns is not None,
        "clusters": clusters,
        "patterns": _patterns(patterns, geo, rows),
        "sdg_16_4": {
            comp: sorted(c for c in codes if iccs_of[c] in set(iccs.indicator_codes("16.4", comp)))
            for comp in SDG_16_4_COMPONENTS
        },
    }


def _level2(iccs_code: str) -> str | None:
    """The ICCS level-2 category of ``iccs_code`` (itself at level 2; None for a level-1 section)."""
    return next((c.code for c in iccs.lineage(iccs_code) if c.level == 2), None)


def _patterns(patterns: Patterns | None, geo: Geography, rows: tuple[dict[str, str], ...]) -> dict[str, Any]:
    """The manifest's ``patterns``: the planted outlying months, level shift and mix change (none when nothing
    was planted), with the ICCS code and level-2 category each national code counts under."""
    if patterns is None:
        return {"spikes": [], "level_shift": None, "mix_change": None}
    iccs_of = {r["national_code"]: r["iccs_code"] for r in rows}

    def code(national: str) -> dict[str, Any]:
        return {"national_code": national, "iccs_code": iccs_of[national], "iccs_level2": _level2(iccs_of[national])}

    spikes = [
        {
            "id": spec.id,
            "district": spec.district,
            **code(spec.code),
            "month": spec.month,
            "added": int(added),
            "expected": round(float(expected), 1),
            "records": int(records),
        }
        for spec, added, expected, records in zip(
            SPIKES, patterns.spike_added, patterns.spike_expected, patterns.spike_records, strict=True
        )
    ]
    return {
        "note": "a spike's month holds 'records' valid records of its code in its district: 'added' on top of "
        "ceil('expected'), the background it would hold unplanted (at small sizes the added records also make "
        "that month an outlier of the code's national series); the level shift multiplies the code's background "
        "in every district from 'from' on; the mix change adds 'added' records of its code over 'year' in its "
        "district (whose 'expected' background that year is given). Hotspots change their districts' offence "
        "mix and level too (see clusters: emerging ones start, diminishing ones stop).",
        "spikes": spikes,
        "level_shift": {
            **code(LEVEL_SHIFT.code),
            "from": LEVEL_SHIFT.start,
            "factor": LEVEL_SHIFT.factor,
            "districts": "all",
        },
        "mix_change": {
            "district": geo.codes[patterns.mix_district],
            **code(MIX_CHANGE.code),
            "year": MIX_CHANGE.year,
            "baseline_year": MIX_CHANGE.baseline_year,
            "added": patterns.mix_added,
            "expected": round(patterns.mix_expected, 1),
        },
    }
