"""The words of quality.html that are more than a table caption: counts of cells in a source's unit, the
national-total note, the most common quarantine reason and the codes past the list's end."""

from __future__ import annotations

import pandas as pd

OUTSIDE_ICCS = "outside ICCS by the correspondence table"


def cells_text(cells: int, units: float, without: int, unit: str, count_read: bool = True) -> str:
    """'312 cells (≈ 4,100 offences where known; 12 with no usable count)'; a cell whose count is missing or
    suppressed is never given a number, and when the counts could not be read at all the text says so."""
    if not count_read:
        known = "counts not read: the source's configuration is not readable"
    elif without >= cells:
        known = "no usable count"
    else:
        known = f"≈ {units:,.0f} {unit} where known" + (f"; {without:,} with no usable count" if without else "")
    return f"{cells:,} cell{'s' if cells != 1 else ''} ({known})"


def national_note(units: dict[str, float | int], unit: str) -> str:
    """' (a national total row among the areas is one of these cells: the national figure, counted once, is
    18,746,142 offences)' when the loaded cells add a total to its parts, else ''."""
    national, loaded = float(units.get("national", units["loaded"])), float(units["loaded"])
    if national >= loaded - 0.5:
        return ""
    return (
        f" (cells of a national total row among the areas are included: the national figure, counted once, is "
        f"{national:,.0f} {unit})"
    )


def aggregate_sentence(source: str, unit: str, units: dict[str, float | int]) -> str:
    """'S: 1,204,311 offences in 8,869 table cells loaded; 312 cells (≈ 4,100 offences where known) quarantined.'
    for an aggregate source (`units` from quality.aggregate_units plus `loaded_cells`): counts in the source's
    unit, cells named as cells."""
    text = f"{source}: {units['loaded']:,.0f} {unit} in {int(units['loaded_cells']):,} table cells loaded"
    text += national_note(units, unit)
    for prefix, words in (("outside", OUTSIDE_ICCS), ("quarantined", "quarantined")):
        cells = int(units[f"{prefix}_cells"])
        if cells:
            text += "; " + cells_text(
                cells, units[f"{prefix}_units"], int(units[f"{prefix}_without_count"]), unit, bool(units["count_read"])
            )
            text += f" {words}"
    return text + "."


def most_common(reasons: pd.DataFrame) -> str:
    """The most common reason, or the tie when several reasons share the largest count."""
    by_reason = reasons.groupby("reason", sort=True)["records"].sum().sort_values(ascending=False, kind="stable")
    most = int(by_reason.iloc[0])
    tied = list(by_reason[by_reason == most].index)
    if len(tied) == 1:
        where = f" in {reasons['source'].iloc[0]}" if reasons["source"].nunique() == 1 else ""
        return f"the most common reason is {tied[0]} ({most:,}{where})"
    names = ", ".join(tied[:-1]) + f" and {tied[-1]}"
    if len(tied) == len(by_reason):
        return f"all {len(tied)} reasons are tied at {most:,} record{'s' if most != 1 else ''} each ({names})"
    return f"the most common reasons are tied at {most:,} records each: {names}"


def rest_of_codes(codes: pd.DataFrame, shown: int) -> str:
    """'… and 999,950 more codes (2.1% of records); the CSV has them all.' for the codes past the first `shown`."""
    rest = codes.iloc[shown:]
    share = rest["records"].sum() / codes["records"].sum() if codes["records"].sum() else 0.0
    records = int(rest["records"].sum())
    return (
        f"… and {len(rest):,} more code{'s' if len(rest) != 1 else ''} ({records:,} records, {share:.1%} of the "
        "unclassified records); the CSV download has them all."
    )
