"""Find what deserves a look in every source's series: outlying months, level shifts and changed offence mixes.

The three statistics are ``anomaly_months``, ``change_points`` and ``mix_change``; this module runs them over the
small frames the warehouse gives (``warehouse.anomalies``), controls the false discovery rate over all tests of a
kind at once (Benjamini-Hochberg, so "10 %" means the same whatever the number of sources), and returns the rows of
the ``anomalies``, ``anomaly_series`` and ``anomaly_tests`` tables. Series are grouped by their usable months, so
the month scores of every series of the same length are one matrix product.

Level shifts are found first: a series' shifts with p <= ``SHIFT_OFFSET_P`` (before the FDR, which needs all
series) are removed as a known step before its months are scored, so the trend does not smear a shift into
"outlying" months on either side of it. A shift within ``RECORDING_MONTHS`` of a declared series break of its
category, or of a correspondence row's validity date, is labelled a likely recording change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from reports.stats import anomaly_months as months
from reports.stats import change_points as shifts
from reports.stats import mix_change as mix
from reports.stats.hotspot import bh_adjust

FDR = 0.10
MIN_SHIFT_MEAN = 5.0  # mean monthly count below which a series is not searched for shifts (no power there)
SHIFT_OFFSET_P = 1e-3
RECORDING_MONTHS = 2
KEYS = ["source", "unit", "country", "area", "iccs_code"]
NATIONAL = "\0national"  # stands for the national figure (area NULL) where an index needs a value
ANOMALY_COLUMNS = [
    "source",
    "unit",
    "country",
    "area",
    "iccs_code",
    "period",
    "kind",
    "observed",
    "expected",
    "score",
    "q_value",
    "note",
    "baseline_period",
    "p_value",
    "recording_change",
]
SERIES_COLUMNS = [*KEYS, "kind", "period", "category", "observed", "expected", "lower", "upper"]
NUMBERS = ("observed", "expected", "score", "q_value", "p_value")
ANOMALY_TYPES = {**dict.fromkeys(NUMBERS, "float64"), "recording_change": "bool"}
SERIES_TYPES = dict.fromkeys(("observed", "expected", "lower", "upper"), "float64")
TEST_COLUMNS = ["source", "unit", "kind", "series", "tests", "flagged", "fdr", "note"]


@dataclass
class Found:
    anomalies: pd.DataFrame
    series: pd.DataFrame
    tests: pd.DataFrame
    figures: dict[str, int] = field(default_factory=dict)


def month_label(index: int) -> str:
    """'YYYY-MM' of a month counted as year * 12 + month - 1."""
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_index(period: object) -> int | None:
    text = str(period)
    if len(text) >= 7 and text[:4].isdigit() and text[5:7].isdigit():
        return int(text[:4]) * 12 + int(text[5:7]) - 1
    return int(text[:4]) * 12 if text[:4].isdigit() else None


def series_matrix(counts: pd.DataFrame, present: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray, int]:
    """(keys, values, first month) of one source and unit: `counts` (KEYS, m, count) as series × months, 0 where
    the area (or, for the national figure, the country) reported that month without the category, NaN where it
    reported nothing at all (a missing month is not a zero). Only the series `counts` holds become rows."""
    first, last = int(present["m"].min()), int(present["m"].max())
    keyed = counts.assign(area=counts["area"].fillna(NATIONAL))
    # the series that exist only (no key is missing once the national figure has a name: no row is dropped)
    wide = keyed.pivot_table(index=KEYS, columns="m", values="count", aggfunc="sum")
    wide = wide.reindex(columns=range(first, last + 1))
    keys = wide.index.to_frame(index=False)
    values = wide.to_numpy(dtype=float)
    # which months each area (country × area) reported: an area × month matrix, one row of it per series
    place = keys["country"].astype(str) + "\0" + keys["area"].astype(str)
    reported_place = present["country"].astype(str) + "\0" + present["area"].fillna(NATIONAL).astype(str)
    places = pd.Index(pd.concat([reported_place, place]).unique())
    reported_by_place = np.zeros((len(places), last - first + 1), dtype=bool)
    reported_by_place[places.get_indexer(reported_place), present["m"].to_numpy() - first] = True
    reported = reported_by_place[places.get_indexer(place)]
    values = np.where(reported, np.nan_to_num(values, nan=0.0), np.nan)
    keys["area"] = keys["area"].where(keys["area"] != NATIONAL, None)
    return keys, values, first


def is_monthly(present: pd.DataFrame) -> bool:
    """Whether a source's counts are monthly: most of the months it reported follow one another. Quarterly counts
    (one month in three) are not: bridging their "gaps" would invent two months in every three."""
    months = np.unique(present["m"].to_numpy())
    return len(months) > 1 and float(np.mean(np.diff(months) == 1)) >= 0.5


def _recording_notes(key: dict, index: int, breaks: pd.DataFrame, validity: pd.DataFrame) -> str:
    """What declared recording change coincides with a shift at month `index` of `key`'s series ('' for none)."""
    notes = []
    code = key["iccs_code"]
    mine = breaks[breaks["source"] == key["source"]]
    for b in mine.itertuples(index=False):
        at = month_index(b.period)
        concerns = not isinstance(b.iccs_code, str) or not b.iccs_code or b.iccs_code.startswith(code)
        if at is not None and concerns and abs(at - index) <= RECORDING_MONTHS:
            notes.append(f"series break: {b.iccs_code or 'whole source'} {b.kind} {b.period}")
    rows = validity[(validity["source"] == key["source"]) & validity["iccs_code"].str.startswith(code)]
    for r in rows.itertuples(index=False):
        for label, day, after in (("valid from", r.valid_from, 0), ("valid to", r.valid_to, 1)):
            if pd.isna(day):
                continue
            day = pd.Timestamp(day) + pd.Timedelta(days=after)
            at = day.year * 12 + day.month - 1
            if abs(at - index) <= RECORDING_MONTHS:
                when = f"{pd.Timestamp(day):%Y-%m-%d}"
                notes.append(f"correspondence row {r.national_code} -> {r.iccs_code} {label} {when}")
    return "; ".join(dict.fromkeys(notes))


def _monthly(
    counts: pd.DataFrame,
    present: pd.DataFrame,
    series_counts: pd.DataFrame,
    breaks: pd.DataFrame,
    validity: pd.DataFrame,
) -> tuple[list[dict], list[dict], list[dict]]:
    """Month and shift tests of every (source, unit): per-test rows with raw p-values, before the FDR."""
    month_tests: list[dict] = []
    shift_tests: list[dict] = []
    tested: list[dict] = []
    total = {(r.source, r.unit): int(r.series) for r in series_counts.itertuples(index=False)}
    for (source, unit), where in present.groupby(["source", "unit"], sort=True):
        part = counts[(counts["source"] == source) & (counts["unit"] == unit)]
        if not is_monthly(where):
            tested.append({"source": source, "unit": unit, "series": 0, "chosen": 0, "not_monthly": True})
            continue
        if part.empty:  # no series has a month that could be flagged
            tested.append({"source": source, "unit": unit, "series": total.get((source, unit), 0), "chosen": 0})
            continue
        keys, values, first = series_matrix(part, where)
        spans = [months.usable_stretch(row) for row in values]
        can_flag = np.nanmax(np.where(np.isnan(values), -1, values), axis=1) >= months.MIN_COUNT
        chosen = [i for i, span in enumerate(spans) if span is not None and can_flag[i]]
        tested.append(
            {
                "source": source,
                "unit": unit,
                "series": max(total.get((source, unit), 0), len(keys)),
                "chosen": len(chosen),
            }
        )
        by_span: dict[tuple[int, int], list[int]] = {}
        for i in chosen:
            by_span.setdefault(spans[i], []).append(i)
        for (start, stop), rows in by_span.items():
            raw = values[rows, start:stop]
            gaps = np.isnan(raw)
            filled = np.array([months.fill_gaps(r) for r in raw])
            offset = np.zeros_like(filled)
            unscored = np.zeros(filled.shape, dtype=bool)
            searched = np.flatnonzero(filled.mean(axis=1) >= MIN_SHIFT_MEAN)
            found_by_row = {
                j: shifts.level_shifts(v)
                for j, v in zip(searched, months.deseasonalised(filled[searched]), strict=True)
            }
            # again with the season estimated once the steps found are taken out: a step leaks into a seasonal
            # pattern fitted over it (the months after it are higher in some calendar months than in others)
            for j, found in found_by_row.items():
                first_steps = shifts.step_offset(stop - start, [s for s in found if s.p <= SHIFT_OFFSET_P])
                if first_steps.any():
                    found_by_row[j] = shifts.level_shifts(months.deseasonalised(filled[[j]], first_steps[None])[0])
            for j, found in found_by_row.items():
                key = keys.iloc[rows[j]].to_dict()
                observed = np.where(gaps[j], np.nan, filled[j])
                for s in found:
                    shift_tests.append(
                        {
                            **key,
                            "index": first + start + s.index,
                            "shift": s,
                            "p": s.p,
                            "large": shifts.large_enough(s.before, s.after),
                            "series_start": first + start,
                            "observed_series": observed,
                            "note": _recording_notes(key, first + start + s.index, breaks, validity),
                        }
                    )
                removed = [s for s in found if s.p <= SHIFT_OFFSET_P and shifts.large_enough(s.before, s.after)]
                offset[j] = shifts.step_offset(stop - start, removed)
                for s in removed:  # the months either side of a removed step depend on where exactly it is put
                    unscored[j, max(0, s.index - 1) : s.index + 1] = True
            scores = months.score_months(filled, offset)
            for j, row in enumerate(rows):
                skip = gaps[j] | unscored[j]
                month_tests.append(
                    {
                        **keys.iloc[row].to_dict(),
                        "start": first + start,
                        "observed": np.where(gaps[j], np.nan, filled[j]),
                        "expected": scores.expected[j],
                        "lower": scores.lower[j],
                        "upper": scores.upper[j],
                        "z": np.where(skip, np.nan, scores.z[j]),
                        "p": np.where(skip, np.nan, scores.p[j]),
                    }
                )
    return month_tests, shift_tests, tested


def _month_rows(month_tests: list[dict], fdr: float) -> tuple[list[dict], list[dict], int, dict]:
    if not month_tests:
        return [], [], 0, {}
    p_all = np.concatenate([t["p"] for t in month_tests])
    valid = ~np.isnan(p_all)
    q_all = np.full(p_all.shape, np.nan)
    q_all[valid] = bh_adjust(p_all[valid])
    rows, chart, offset = [], [], 0
    flagged_by: dict[tuple[str, str], int] = {}
    for t in month_tests:
        n = len(t["p"])
        q = q_all[offset : offset + n]
        offset += n
        hit = (np.nan_to_num(q, nan=1.0) <= fdr) & months.large_enough(
            np.nan_to_num(t["observed"], nan=-1.0), t["expected"], np.nan_to_num(t["z"])
        )
        if not hit.any():
            continue
        key = {k: t[k] for k in KEYS}
        flagged_by[(t["source"], t["unit"])] = flagged_by.get((t["source"], t["unit"]), 0) + int(hit.sum())
        for i in np.flatnonzero(hit):
            rows.append(
                {
                    **key,
                    "period": month_label(t["start"] + i),
                    "kind": "outlying_month",
                    "observed": float(t["observed"][i]),
                    "expected": float(t["expected"][i]),
                    "score": float(t["z"][i]),
                    "q_value": float(q[i]),
                    "note": "",
                    "baseline_period": None,
                    "p_value": float(t["p"][i]),
                    "recording_change": False,
                }
            )
        for i in range(n):
            chart.append(
                {
                    **key,
                    "kind": "outlying_month",
                    "period": month_label(t["start"] + i),
                    "category": None,
                    "observed": None if np.isnan(t["observed"][i]) else float(t["observed"][i]),
                    "expected": float(t["expected"][i]),
                    "lower": float(t["lower"][i]),
                    "upper": float(t["upper"][i]),
                }
            )
    return rows, chart, int(valid.sum()), flagged_by


def _shift_rows(shift_tests: list[dict], fdr: float) -> tuple[list[dict], list[dict], dict]:
    if not shift_tests:
        return [], [], {}
    q = bh_adjust(np.array([t["p"] for t in shift_tests]))
    rows, chart = [], []
    flagged_by: dict[tuple[str, str], int] = {}
    levels: dict[tuple, tuple[int, np.ndarray, np.ndarray]] = {}  # per series with a flag: its chart's lines
    for t, q_value in zip(shift_tests, q, strict=True):
        if q_value > fdr or not t["large"]:
            continue
        s: shifts.Shift = t["shift"]
        key = {k: t[k] for k in KEYS}
        flagged_by[(t["source"], t["unit"])] = flagged_by.get((t["source"], t["unit"]), 0) + 1
        recording = bool(t["note"])
        rows.append(
            {
                **key,
                "period": month_label(t["index"]),
                "kind": "level_shift",
                "observed": s.after,
                "expected": s.before,
                "score": s.t,
                "q_value": float(q_value),
                "note": ("likely recording change: " + t["note"]) if recording else "",
                "baseline_period": month_label(t["series_start"] + s.start),
                "p_value": s.p,
                "recording_change": recording,
            }
        )
        series = tuple(key.values())
        level = levels.setdefault(
            series, (t["series_start"], t["observed_series"], np.full(len(t["observed_series"]), np.nan))
        )[2]
        # the step's fitted levels over its test window; a later shift of the same series draws its own after it
        level[s.start : s.index] = s.before
        level[s.index : s.stop] = s.after
    for series, (series_start, observed, level) in levels.items():
        key = dict(zip(KEYS, series, strict=True))
        for i, value in enumerate(observed):
            chart.append(
                {
                    **key,
                    "kind": "level_shift",
                    "period": month_label(series_start + i),
                    "category": None,
                    "observed": None if np.isnan(value) else float(value),
                    "expected": None if np.isnan(level[i]) else float(level[i]),
                    "lower": None,
                    "upper": None,
                }
            )
    return rows, chart, flagged_by


def _mix_rows(mix_counts: pd.DataFrame, fdr: float) -> tuple[list[dict], list[dict], list[dict]]:
    """Mix tests of every (source, unit) with areas: `mix_counts` (source, unit, country, area, iccs_code, year,
    count) holds the first and the last full year of each source's window."""
    tests: list[tuple[dict, mix.MixTest]] = []
    tested: list[dict] = []
    for (source, unit), part in mix_counts.groupby(["source", "unit"], sort=True):
        years = sorted(part["year"].unique())
        if len(years) < 2:
            tested.append({"source": source, "unit": unit, "series": 0, "note": "one full year: no mix change"})
            continue
        first, last = years[0], years[-1]
        count = 0
        for country, within in part.groupby("country", sort=True):  # "the rest" is the rest of the same country
            cube = within.pivot_table(index=["area", "year"], columns="iccs_code", values="count", aggfunc="sum")
            cube = cube.reindex(pd.MultiIndex.from_product([sorted(within["area"].unique()), [first, last]]))
            cube = cube.fillna(0.0)
            categories = [str(c) for c in cube.columns]
            table = cube.to_numpy().reshape(-1, 2, len(categories))  # areas × (first, last) × categories
            whole = table.sum(axis=0)
            for area, own in zip(cube.index.get_level_values(0)[::2], table, strict=True):
                result = mix.mix_test(own, whole - own, categories)
                if result is None:
                    continue
                count += 1
                key = {"source": source, "unit": unit, "country": country, "area": area, "first": first, "last": last}
                tests.append((key, result))
        tested.append({"source": source, "unit": unit, "series": count, "note": ""})
    if not tests:
        return [], [], tested
    q = bh_adjust(np.array([r.p for _, r in tests]))
    rows, chart = [], []
    for (key, result), q_value in zip(tests, q, strict=True):
        if q_value > fdr or not mix.large_enough(result):
            continue
        k = mix.main_mover(result)
        total = result.observed.sum(axis=1)
        share = result.observed / total[:, None]
        moved = [
            f"{result.categories[i]} {share[0, i]:.0%} → {share[1, i]:.0%}" for i in (mix.movers(result) or [k])[:4]
        ]
        rows.append(
            {
                "source": key["source"],
                "unit": key["unit"],
                "country": key["country"],
                "area": key["area"],
                "iccs_code": result.categories[k],
                "period": str(key["last"]),
                "kind": "mix_change",
                "observed": float(result.observed[1, k]),
                "expected": float(result.expected[1, k]),
                "score": result.g2,
                "q_value": float(q_value),
                "note": "; ".join(moved),
                "baseline_period": str(key["first"]),
                "p_value": result.p,
                "recording_change": False,
            }
        )
        for y, year in enumerate((key["first"], key["last"])):
            for i, category in enumerate(result.categories):
                chart.append(
                    {
                        "source": key["source"],
                        "unit": key["unit"],
                        "country": key["country"],
                        "area": key["area"],
                        "iccs_code": result.categories[k],
                        "kind": "mix_change",
                        "period": str(year),
                        "category": category,
                        "observed": float(result.observed[y, i]),
                        "expected": float(result.expected[y, i]),
                        "lower": None,
                        "upper": None,
                    }
                )
    for t in tested:
        t["flagged"] = sum(1 for r in rows if (r["source"], r["unit"]) == (t["source"], t["unit"]))
        t["tests"] = t["series"]
    return rows, chart, tested


def detect(
    counts: pd.DataFrame,
    present: pd.DataFrame,
    mix_counts: pd.DataFrame,
    breaks: pd.DataFrame,
    validity: pd.DataFrame,
    sources: pd.DataFrame,
    series_counts: pd.DataFrame | None = None,
    fdr: float = FDR,
) -> Found:
    """Every finding of every source. `counts`: monthly counts (source, unit, area, iccs_code, m, count) with m =
    year * 12 + month - 1; `present`: the months each (source, unit, area) reported anything (area NULL: the
    source); `mix_counts`: see ``_mix_rows``; `breaks`: declared series breaks (source, iccs_code, period, kind);
    `validity`: correspondence rows with dates (source, national_code, iccs_code, valid_from, valid_to);
    `sources`: (source, unit) of every source with counts, to say what was not tested and why; `series_counts`:
    (source, unit, series) how many series each has, `counts` holding only those a month of which can be
    flagged."""
    series_counts = pd.DataFrame(columns=["source", "unit", "series"]) if series_counts is None else series_counts
    month_tests, shift_tests, tested = _monthly(counts, present, series_counts, breaks, validity)
    month_rows, month_chart, months_tested, months_flagged = _month_rows(month_tests, fdr)
    shift_rows, shift_chart, shifts_flagged = _shift_rows(shift_tests, fdr)
    mix_rows, mix_chart, mix_tested = _mix_rows(mix_counts, fdr)
    per_source_months: dict[tuple[str, str], int] = {}
    for t in month_tests:
        key = (t["source"], t["unit"])
        per_source_months[key] = per_source_months.get(key, 0) + int((~np.isnan(t["p"])).sum())
    shift_count: dict[tuple[str, str], int] = {}
    shift_series: dict[tuple[str, str], set] = {}
    for t in shift_tests:
        key = (t["source"], t["unit"])
        shift_count[key] = shift_count.get(key, 0) + 1
        shift_series.setdefault(key, set()).add((t["area"], t["iccs_code"]))
    test_rows = []
    monthly = {(t["source"], t["unit"]): t for t in tested}
    for source, unit in sources[["source", "unit"]].drop_duplicates().itertuples(index=False):
        key = (source, unit)
        t = monthly.get(key)
        if t is None:
            note = "no monthly counts: no month or shift tests"
            test_rows += [
                {"source": source, "unit": unit, "kind": kind, "series": 0, "tests": 0, "flagged": 0, "note": note}
                for kind in ("outlying_month", "level_shift")
            ]
        elif t.get("not_monthly"):
            note = "counts not monthly (quarterly or sparser): no month or shift tests"
            test_rows += [
                {"source": source, "unit": unit, "kind": kind, "series": 0, "tests": 0, "flagged": 0, "note": note}
                for kind in ("outlying_month", "level_shift")
            ]
        else:
            skipped = t["series"] - t["chosen"]
            note = (
                f"{skipped:,} of {t['series']:,} series not tested: fewer than {months.MIN_MONTHS} usable months, "
                f"or no month reaching {months.MIN_COUNT}"
                if skipped
                else ""
            )
            test_rows.append(
                {
                    "source": source,
                    "unit": unit,
                    "kind": "outlying_month",
                    "series": t["chosen"],
                    "tests": per_source_months.get(key, 0),
                    "flagged": months_flagged.get(key, 0),
                    "note": note,
                }
            )
            test_rows.append(
                {
                    "source": source,
                    "unit": unit,
                    "kind": "level_shift",
                    "series": len(shift_series.get(key, ())),
                    "tests": shift_count.get(key, 0),
                    "flagged": shifts_flagged.get(key, 0),
                    "note": f"series searched: those averaging at least {MIN_SHIFT_MEAN:g} a month",
                }
            )
        m = next((r for r in mix_tested if (r["source"], r["unit"]) == key), None)
        test_rows.append(
            {
                "source": source,
                "unit": unit,
                "kind": "mix_change",
                "series": m["series"] if m else 0,
                "tests": m["series"] if m else 0,
                "flagged": m.get("flagged", 0) if m else 0,
                "note": (m["note"] if m else "no areas with two full years: no mix test")
                or f"areas with at least {mix.MIN_RECORDS} records in each year",
            }
        )
    tests = pd.DataFrame(test_rows, columns=[c for c in TEST_COLUMNS if c != "fdr"]).assign(fdr=fdr)[TEST_COLUMNS]
    anomalies, series = nest(
        typed(pd.DataFrame(month_rows + shift_rows + mix_rows, columns=ANOMALY_COLUMNS), ANOMALY_TYPES),
        typed(pd.DataFrame(month_chart + shift_chart + mix_chart, columns=SERIES_COLUMNS), SERIES_TYPES),
    )
    return Found(
        anomalies=anomalies,
        series=series,
        tests=tests,
        figures={
            "months_tested": months_tested,
            "outlying_months": int((anomalies["kind"] == "outlying_month").sum()),
            "shift_candidates": len(shift_tests),
            "level_shifts": int((anomalies["kind"] == "level_shift").sum()),
            "recording_changes": int(anomalies["recording_change"].sum()),
            "mix_areas_tested": sum(t["series"] for t in mix_tested),
            "mix_changes": int((anomalies["kind"] == "mix_change").sum()),
        },
    )


def typed(frame: pd.DataFrame, types: dict[str, str]) -> pd.DataFrame:
    """The frame with its numbers as floats and flags as booleans, also when it has no row (the contract checks
    the types, and an empty frame of Python lists is all 'object')."""
    return frame.astype(types)


def nest(anomalies: pd.DataFrame, series: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One finding where a month or a shift is flagged in a category and in codes it contains (an SDG 16 code under
    its level-2 category: 02041 under 0204): the coarsest is kept, its note saying 'also in 02041'; the q-values
    are those of every test, this only groups what is shown."""
    if anomalies.empty:
        return anomalies, series
    same = ["source", "unit", "country", "area", "kind", "period"]
    dropped: set[int] = set()
    notes: dict[int, list[str]] = {}
    timed = anomalies[anomalies["kind"] != "mix_change"]
    for _, group in timed.groupby(same, dropna=False, sort=False):
        if len(group) < 2:
            continue
        codes = group["iccs_code"].tolist()
        for i, code in zip(group.index, codes, strict=True):
            parents = [
                j for j, other in zip(group.index, codes, strict=True) if other != code and code.startswith(other)
            ]
            if parents:
                dropped.add(i)
                top = min(parents, key=lambda j: len(anomalies.at[j, "iccs_code"]))
                notes.setdefault(top, []).append(code)
    if not dropped:
        return anomalies, series
    anomalies = anomalies.copy()
    for i, codes in notes.items():
        also = "also in " + ", ".join(sorted(codes))
        anomalies.at[i, "note"] = "; ".join(n for n in (anomalies.at[i, "note"], also) if n)
    gone = anomalies.loc[sorted(dropped), ["source", "unit", "country", "area", "iccs_code", "kind"]]
    kept = anomalies.drop(index=sorted(dropped)).reset_index(drop=True)
    # chart rows of a series none of whose findings is shown any more
    still = kept[["source", "unit", "country", "area", "iccs_code", "kind"]].drop_duplicates()
    orphan = gone.merge(still, how="left", indicator=True).query("_merge == 'left_only'").drop(columns="_merge")
    if len(orphan):
        marked = series.merge(orphan.drop_duplicates().assign(_orphan=True), how="left")
        series = series[marked["_orphan"].isna().to_numpy()].reset_index(drop=True)
    return kept, series
