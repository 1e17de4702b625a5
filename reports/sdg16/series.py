"""How indicator rows become series: the components, labels, trend input, the latest year of each series, and
the ICCS codes whose series breaks concern a chart."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

import iccs
from reports import trend_tables
from reports.breaks import Series
from reports.queries import SERIES_KEYS

# The components come from the shipped indicator-to-ICCS mapping, so a component added there is counted here.
COMPONENTS_16_4 = iccs.components("16.4")


def component_name(component: str) -> str:
    return component.replace("_", " ").capitalize()


def series_label(frame: pd.DataFrame) -> pd.Series:
    """'XSY — Synthetica police records (offences)': the source by the name readers see (`source_name`, set by
    render_sdg16) when the frame has it, else by its key."""
    source = frame["source_name"] if "source_name" in frame else frame["source"]
    return frame["country"] + " — " + source + " (" + frame["unit"] + ")"


def as_trend_input(frame: pd.DataFrame) -> pd.DataFrame:
    """Shape indicator rows like trend_data frames so trend_tables can test them (component as category)."""
    return frame.assign(iccs_code=frame["component"], label=frame["component"].map(component_name), level=0)


def indicator_trends(annual: pd.DataFrame, monthly: pd.DataFrame) -> pd.DataFrame:
    if annual.empty:
        return pd.DataFrame()
    return trend_tables.trend_table(as_trend_input(annual), as_trend_input(monthly))


def code_list(codes: str) -> list[str]:
    return [c.strip() for c in str(codes).split(",") if c.strip()]


def break_entries(menu: str, codes: dict[str, str]) -> Callable[[pd.DataFrame], list[list[Series]]]:
    """Per dropdown entry of the drawn rows, the series whose breaks concern it: each drawn `component` with the
    ICCS codes it counts (`codes` maps a component to its comma-separated code list)."""

    def entries(data: pd.DataFrame) -> list[list[Series]]:
        return [
            [(r.source, code, name) for r in rows.itertuples() for name, code in named_codes(r.component, codes)]
            for rows in (
                data.loc[data[menu] == label, ["source", "component"]].drop_duplicates()
                for label in dict.fromkeys(data[menu])
            )
        ]

    return entries


def named_codes(component: str, codes: dict[str, str]) -> list[tuple[str, str]]:
    name = component if component[:2].isdigit() else component_name(component)
    return [(name, code) for code in code_list(codes.get(component, ""))]


def latest_rows(frame: pd.DataFrame, measure: str) -> pd.DataFrame:
    """Per series: the latest full year with a value of `measure`; where no year with a value is full, the latest
    partial year (its `partial` flag stays set, so the text can say so)."""
    have = frame[frame[measure].notna()]
    ranked = have.assign(full=~have["partial"].astype(bool)).sort_values(["full", "year"])
    return ranked.groupby(SERIES_KEYS + ["component"], as_index=False).tail(1).drop(columns="full")
