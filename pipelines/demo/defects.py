"""Plant the bad rows of the SYNTHETIC police feed: one problem each, so its quarantine reason is unambiguous.

Bad rows are ordinary background records with one field spoiled the way real feeds spoil them (day-first
dates, century typos, Excel's 1899-12-30, a letter O for a zero, a sign lost from a longitude, a record sent
twice, a line cut short...). Hotspot and pattern records are never spoiled, so the planted clusters and patterns
keep their exact sizes.
Malformed lines are wrong in their number of fields whether or not the reader honours double quotes, and
contain no unterminated quote that could swallow the lines after them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.demo.columns import FILE_COLUMNS, coordinate_text, format_columns, record_ids
from pipelines.demo.incidents import BACKGROUND, Incidents, calendar_year

# share of all records, per quarantine reason (the pipeline's names, schemas/quarantine.py)
BAD_SHARES = {
    "missing_field": 0.0010,
    "invalid_date": 0.0012,
    "date_out_of_range": 0.0006,
    "unmapped_offence": 0.0015,
    "invalid_coordinates": 0.0008,
    "coordinates_outside_country": 0.0010,
    "duplicate_record_id": 0.0010,
}
MALFORMED_LINES = 6
# Victim sex values the source's disaggregations do not list: quarantined as invalid_disaggregation, never
# folded into a total. A share of all records, at least one of each kind.
INVALID_SEX_SHARE = 0.0004
INVALID_SEX = (("letter_x", "X"), ("typo", "Femal"), ("other_language", "Hombre?"))
MISSING_COORDINATES_SHARE = 0.003  # valid records that were never geocoded: loaded, not quarantined
UNMAPPED_CODES = ("999", "099", "2O4", "40l", "1050", "SY-105", "000")

INVALID_DATE_KINDS = ("day_first", "no_separators", "impossible_day", "month_13", "with_time", "text")
OUT_OF_RANGE_KINDS = ("century_typo_future", "millennium_typo_past", "excel_epoch")
INVALID_COORDINATE_KINDS = (
    "latitude_na",
    "longitude_excel_error",
    "latitude_hemisphere_letter",
    "longitude_hemisphere_letter",
)
OUTSIDE_KINDS = ("longitude_sign_lost", "null_island", "latitude_decimal_shift", "latitude_sign_flipped")
MISSING_KINDS = ("date_empty", "offence_empty")
MALFORMED_KINDS = ("extra_field", "truncated_line", "semicolon_delimited", "quoted_extra_field")
CORRUPTING = (
    "missing_field",
    "invalid_date",
    "date_out_of_range",
    "unmapped_offence",
    "invalid_coordinates",
    "coordinates_outside_country",
)


def bad_counts(records: int) -> dict[str, int]:
    """How many rows of each quarantine reason a feed of ``records`` data lines carries."""
    counts = {reason: max(1, round(share * records)) for reason, share in BAD_SHARES.items()}
    counts["malformed_line"] = MALFORMED_LINES
    counts["invalid_disaggregation"] = max(len(INVALID_SEX), round(INVALID_SEX_SHARE * records))
    return counts


@dataclass(frozen=True)
class Plan:
    """Where every bad row goes; table rows exclude malformed lines, which are written between them."""

    base_rows: np.ndarray  # generated row of each base row (malformed records removed), in date order
    order: np.ndarray  # table row -> base row; a duplicate's copy repeats its original
    overrides: dict[str, tuple[np.ndarray, pa.Array]]  # field -> (sorted table rows, replacement text)
    malformed_before: np.ndarray  # table row before which each malformed line is written (sorted)
    malformed_text: list[str]
    bad: pa.Table  # table_row (-1: malformed), first_table_row, record_id, reason, kind, field, value
    valid_base: np.ndarray  # bool per base row: loaded by the pipeline
    kinds: dict[str, dict[str, int]]
    missing_coordinates: int

    @property
    def n_rows(self) -> int:
        return len(self.order)

    def lines(self, table_rows: np.ndarray, csv: bool) -> np.ndarray:
        """File line (header = 1) of table rows; in CSV, malformed lines written before them push them down."""
        shift = np.searchsorted(self.malformed_before, table_rows, side="right") if csv else 0
        return table_rows + 2 + shift

    def malformed_lines(self) -> np.ndarray:
        return self.malformed_before + 2 + np.arange(len(self.malformed_before))


def _cycle(n: int, kinds: tuple[str, ...]) -> np.ndarray:
    return np.arange(n) % len(kinds)


def _choose(sub: np.ndarray, *candidates: pa.Array) -> pa.Array:
    return pc.choose(pa.array(sub.astype(np.int8)), *candidates)


def _const(value: str | None, n: int) -> pa.Array:
    return pa.array([value] * n, pa.string()) if value is not None else pa.nulls(n, pa.string())


def _join_present(arrays: list[pa.Array]) -> pa.Array:
    """Element-wise 'a+b' of the non-null values (pyarrow's null_handling='skip' drops all-null rows)."""
    joined = arrays[0]
    for other in arrays[1:]:
        both = pc.binary_join_element_wise(joined, other, "+")
        joined = pc.if_else(pc.is_null(joined), other, pc.if_else(pc.is_null(other), joined, both))
    return joined


def _spoil(
    reason: str, rng: np.random.Generator, inc: Incidents, rows: np.ndarray, text: dict[str, pa.Array]
) -> tuple[np.ndarray, list[tuple[str, np.ndarray, pa.Array]]]:
    """(kind index per row, [(field, selector of rows, replacement text)]) for one reason."""
    n = len(rows)
    if reason == "missing_field":
        sub = _cycle(n, MISSING_KINDS)
        return sub, [
            ("date", sub == 0, _const(None, int((sub == 0).sum()))),
            ("offence", sub == 1, _const(None, int((sub == 1).sum()))),
        ]
    if reason == "invalid_date":
        sub = _cycle(n, INVALID_DATE_KINDS)
        dates = pa.array(inc.day[rows], pa.date32())
        formats = ("%d/%m/%Y", "%Y%m%d", "%Y-02-30", "%Y-13-%d", "%Y-%m-%d 00:00:00")
        values = _choose(sub, *(pc.strftime(dates, format=f) for f in formats), _const("unknown", n))
        return sub, [("date", np.ones(n, bool), values)]
    if reason == "date_out_of_range":
        sub = _cycle(n, OUT_OF_RANGE_KINDS)
        dates = pa.array(inc.day[rows], pa.date32())
        month_day = pc.strftime(dates, format="-%m-%d")
        year = calendar_year(inc.day[rows])
        shifted = [
            pc.binary_join_element_wise(pc.cast(pa.array(year + delta), pa.string()), month_day, "")
            for delta in (100, -1000)
        ]
        return sub, [("date", np.ones(n, bool), _choose(sub, *shifted, _const("1899-12-30", n)))]
    if reason == "unmapped_offence":
        codes = pc.take(pa.array(UNMAPPED_CODES), pa.array(rng.integers(0, len(UNMAPPED_CODES), n)))
        return np.zeros(n, int), [("offence", np.ones(n, bool), codes)]
    if reason == "invalid_coordinates":
        sub = _cycle(n, INVALID_COORDINATE_KINDS)
        lat = _choose(sub // 2, _const("N/A", n), pc.binary_join_element_wise(text["latitude"], "N", ""))
        lon = _choose(sub // 2, _const("#VALUE!", n), pc.binary_join_element_wise(text["longitude"], "W", ""))
        on_lat = sub % 2 == 0
        return sub, [
            ("latitude", on_lat, lat.filter(pa.array(on_lat))),
            ("longitude", ~on_lat, lon.filter(pa.array(~on_lat))),
        ]
    if reason == "coordinates_outside_country":
        sub = _cycle(n, OUTSIDE_KINDS)
        lat, lon = inc.lat[rows], inc.lon[rows]
        new_lon = np.where(sub == 0, -lon, np.where(sub == 1, 0.0, lon))
        new_lat = np.where(sub == 1, 0.0, np.where(sub == 2, np.round(lat / 10, 5), np.where(sub == 3, -lat, lat)))
        on_lon, on_lat = np.isin(sub, (0, 1)), np.isin(sub, (1, 2, 3))
        return sub, [
            ("longitude", on_lon, coordinate_text(new_lon[on_lon])),
            ("latitude", on_lat, coordinate_text(new_lat[on_lat])),
        ]
    raise ValueError(reason)


KIND_NAMES = {
    "missing_field": MISSING_KINDS,
    "invalid_date": INVALID_DATE_KINDS,
    "date_out_of_range": OUT_OF_RANGE_KINDS,
    "unmapped_offence": ("unknown_code",),
    "invalid_coordinates": INVALID_COORDINATE_KINDS,
    "coordinates_outside_country": OUTSIDE_KINDS,
}


def _malformed(
    inc: Incidents, rows: np.ndarray, text: dict[str, pa.Array], district_names: pa.Array
) -> tuple[np.ndarray, list[str]]:
    n = len(rows)
    sub = _cycle(n, MALFORMED_KINDS)
    fields = [pc.fill_null(text[f], "") for f in FILE_COLUMNS]  # a weapon not known is an empty field
    quoted = pc.binary_join_element_wise(
        '"', pc.take(district_names, pa.array(inc.district[rows])), ', town centre"', ""
    )
    lines = _choose(
        sub,
        pc.binary_join_element_wise(*fields, _const("CHECK", n), ","),
        pc.binary_join_element_wise(*fields[:-1], ","),
        pc.binary_join_element_wise(*fields, ";"),
        pc.binary_join_element_wise(*fields, quoted, ","),
    )
    return sub, lines.to_pylist()


def plan_defects(
    rng: np.random.Generator,
    inc: Incidents,
    counts: dict[str, int],
    offence_codes: pa.Array,
    district_codes: pa.Array,
    district_names: pa.Array,
) -> Plan:
    """Choose the records to spoil, duplicate, un-geocode and break, and where each lands in the file."""
    n_gen = len(inc.day)
    n_missing_xy = max(1, round(MISSING_COORDINATES_SHARE * n_gen))
    groups = [*CORRUPTING, "missing_coordinates", "duplicate_record_id", "malformed_line"]
    sizes = [counts[g] if g != "missing_coordinates" else n_missing_xy for g in groups]
    eligible = np.flatnonzero(inc.cluster == BACKGROUND)
    if sum(sizes) > len(eligible) // 2:
        raise ValueError(f"{n_gen} records are too few for the planted defects")
    picked = rng.choice(eligible, sum(sizes), replace=False)
    chosen = {g: np.sort(part) for g, part in zip(groups, np.split(picked, np.cumsum(sizes)[:-1]), strict=True)}

    removed = chosen["malformed_line"]
    keep = np.ones(n_gen, bool)
    keep[removed] = False
    base_rows = np.flatnonzero(keep)
    n_base = len(base_rows)

    def to_base(rows: np.ndarray) -> np.ndarray:
        return rows - np.searchsorted(removed, rows)

    originals = to_base(chosen["duplicate_record_id"])
    positions = np.minimum(originals + 1 + rng.integers(0, 2000, len(originals)), n_base)
    order = np.insert(np.arange(n_base), positions, originals)
    is_copy = np.insert(np.zeros(n_base, bool), positions, True)
    sorted_positions = np.sort(positions)

    def to_table(base: np.ndarray) -> np.ndarray:
        return base + np.searchsorted(sorted_positions, base, side="right")

    overrides: dict[str, list[tuple[np.ndarray, pa.Array]]] = {}
    bad_parts: list[dict[str, object]] = []
    kinds: dict[str, dict[str, int]] = {}
    valid_base = np.ones(n_base, bool)
    for reason in CORRUPTING:
        rows = chosen[reason]
        text = format_columns(inc, rows, offence_codes, district_codes)
        sub, edits = _spoil(reason, rng, inc, rows, text)
        table_rows = to_table(to_base(rows))
        valid_base[to_base(rows)] = False
        field_cols, value_cols = [], []
        for field, selector, values in edits:
            overrides.setdefault(field, []).append((table_rows[selector], values))
            mask = pa.array(selector)
            field_cols.append(pc.if_else(mask, field, pa.scalar(None, pa.string())))
            value_cols.append(pc.replace_with_mask(_const(None, len(rows)), mask, values))
        names = KIND_NAMES[reason]
        kinds[reason] = {names[k]: int((sub == k).sum()) for k in range(len(names)) if (sub == k).any()}
        bad_parts.append(
            {
                "table_row": table_rows,
                "record_id": text["record_id"],
                "reason": reason,
                "kind": pc.take(pa.array(names), pa.array(sub)),
                "field": _join_present(field_cols),
                "value": _join_present(value_cols),
            }
        )

    missing_rows = to_table(to_base(chosen["missing_coordinates"]))
    for field in ("latitude", "longitude"):
        overrides.setdefault(field, []).append((missing_rows, _const(None, len(missing_rows))))

    copy_rows = np.flatnonzero(is_copy)
    copy_gen = base_rows[order[copy_rows]]
    copy_ids = format_columns(inc, copy_gen, offence_codes, district_codes)["record_id"]
    kinds["duplicate_record_id"] = {"resent_record": len(copy_rows)}
    bad_parts.append(
        {
            "table_row": copy_rows,
            "record_id": copy_ids,
            "reason": "duplicate_record_id",
            "kind": _const("resent_record", len(copy_rows)),
            "field": _const("record_id", len(copy_rows)),
            "value": copy_ids,
            "first_table_row": to_table(order[copy_rows]),
        }
    )

    text = format_columns(inc, removed, offence_codes, district_codes)
    sub, lines = _malformed(inc, removed, text, district_names)
    malformed_before = to_table(removed - np.arange(len(removed)))
    kinds["malformed_line"] = {
        MALFORMED_KINDS[k]: int((sub == k).sum()) for k in range(len(MALFORMED_KINDS)) if (sub == k).any()
    }
    bad_parts.append(
        {
            "table_row": np.full(len(removed), -1),
            "record_id": text["record_id"],
            "reason": "malformed_line",
            "kind": pc.take(pa.array(MALFORMED_KINDS), pa.array(sub)),
            "field": _const(None, len(removed)),
            "value": pa.array(lines, pa.string()),
        }
    )

    merged = {}
    for field, parts in overrides.items():
        rows = np.concatenate([p[0] for p in parts])
        values = pa.concat_arrays([p[1] for p in parts])
        ordering = np.argsort(rows, kind="stable")
        merged[field] = (rows[ordering], values.take(pa.array(ordering)))
    return Plan(
        base_rows=base_rows,
        order=order,
        overrides=merged,
        malformed_before=malformed_before,
        malformed_text=lines,
        bad=_bad_table(bad_parts),
        valid_base=valid_base,
        kinds=kinds,
        missing_coordinates=len(missing_rows),
    )


def _bad_table(parts: list[dict[str, object]]) -> pa.Table:
    tables = []
    for part in parts:
        n = len(part["table_row"])
        tables.append(
            pa.table(
                {
                    "table_row": pa.array(part["table_row"], pa.int64()),
                    "first_table_row": pa.array(part.get("first_table_row", np.full(n, -1)), pa.int64()),
                    "record_id": part["record_id"],
                    "reason": _const(part["reason"], n),
                    "kind": part["kind"],
                    "field": part["field"],
                    "value": part["value"],
                }
            )
        )
    return pa.concat_tables(tables)


def plant_invalid_sex(rng: np.random.Generator, plan: Plan, inc: Incidents, count: int) -> Plan:
    """The plan with ``count`` otherwise valid records given a victim sex the configuration does not list.

    Chosen among background records of offences against a person that no other defect touches (not spoiled,
    not un-geocoded, not sent twice), so each is quarantined for this reason alone. Drawn from ``rng``, not the
    records' stream, so every other planted defect stays where it was.
    """
    n_base = len(plan.base_rows)
    touched = np.zeros(n_base, bool)
    for rows, _ in plan.overrides.values():
        touched[plan.order[rows]] = True
    resent = np.bincount(plan.order, minlength=n_base) > 1
    generated = plan.base_rows
    person = inc.victim_sex[generated] < 3  # Male, Female or Unknown: an offence with a natural-person victim
    eligible = np.flatnonzero(plan.valid_base & ~touched & ~resent & (inc.cluster[generated] == BACKGROUND) & person)
    base = np.sort(rng.choice(eligible, count, replace=False))
    table_rows = np.unique(plan.order, return_index=True)[1][base]  # a record's first (only) table row
    sub = _cycle(count, tuple(kind for kind, _ in INVALID_SEX))
    values = pc.take(pa.array([value for _, value in INVALID_SEX]), pa.array(sub))
    valid_base = plan.valid_base.copy()
    valid_base[base] = False
    part = {
        "table_row": table_rows,
        "record_id": record_ids(generated[base] + 1),
        "reason": "invalid_disaggregation",
        "kind": pc.take(pa.array([kind for kind, _ in INVALID_SEX]), pa.array(sub)),
        "field": _const("victim_sex", count),
        "value": values,
    }
    kinds = {kind: int((sub == k).sum()) for k, (kind, _) in enumerate(INVALID_SEX) if (sub == k).any()}
    return replace(
        plan,
        overrides={**plan.overrides, "victim_sex": (table_rows, values)},
        bad=pa.concat_tables([plan.bad, _bad_table([part])]),
        valid_base=valid_base,
        kinds={**plan.kinds, "invalid_disaggregation": kinds},
    )
