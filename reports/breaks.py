"""Declared series breaks drawn on line charts: a dashed line where a source changed what a series counts.

A break marks only the series it concerns (ICCS codes nest by prefix), per dropdown entry, and only within the
x range that entry draws.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from iccs import classification
from reports.page import plot_text

Figure = dict[str, Any]
Series = tuple[str, str, str]  # (source, ICCS code a chart draws, the name to show for it)

BREAK_COLOUR = "#8a4b08"
LABEL_STEP, LABEL_ROWS = 0.07, 3


def concerns(break_code: object, drawn_code: str) -> bool:
    """A break in a category concerns the series of that category and of its ancestors (ICCS codes nest by
    prefix: a break in 02041 concerns 02041, 0204 and 02), never a sibling's or a descendant's; a break without
    a code concerns every series of its source."""
    return not isinstance(break_code, str) or not break_code or break_code.startswith(drawn_code)


def breaks_for(breaks: pd.DataFrame, series: Iterable[Series]) -> pd.DataFrame:
    """The breaks (`source`, `iccs_code`, ...) that concern any of `series`, with a `series` column naming the
    drawn series each one concerns (empty for a break without a code)."""
    drawn = list(series)
    rows = []
    for r in breaks.to_dict("records"):
        names = [name for source, code, name in drawn if source == r["source"] and concerns(r["iccs_code"], code)]
        if names:
            coded = isinstance(r["iccs_code"], str) and bool(r["iccs_code"])
            rows.append({**r, "series": ", ".join(dict.fromkeys(names)) if coded else ""})
    return pd.DataFrame(rows, columns=[*breaks.columns, "series"])


def _position(x: object) -> object:
    if isinstance(x, pd.Timestamp):
        return x.strftime("%Y-%m-%d")
    return int(x) if isinstance(x, np.integer) else x


def _x_span(fig: Figure, visible: Sequence[bool] | None) -> tuple[object, object] | None:
    """The smallest and largest x drawn by the traces an entry shows (None when it draws nothing)."""
    xs = [
        x
        for i, trace in enumerate(fig["data"])
        if visible is None or (i < len(visible) and visible[i])
        for x in trace.get("x") or []
        if x is not None
    ]
    return (min(xs), max(xs)) if xs else None


MAX_NAMED = 3


def category_label(code: object) -> str:
    """The ICCS label of a code ('' for none or a code ICCS does not know), to name what broke."""
    if not isinstance(code, str) or not code:
        return ""
    try:
        return classification.get(code).label
    except classification.UnknownCodeError:
        return ""


def break_label(group: pd.DataFrame) -> str:
    """The breaks at one position, each naming the category that broke and when: '02041 appeared 2022-11'
    ('whole source' for a break without a code); beyond MAX_NAMED, 'and N more' (the hover lists them)."""
    rows = group.drop_duplicates(["iccs_code", "kind", "period"])
    rows = rows.sort_values(["iccs_code", "kind"], na_position="first")
    named = [
        f"{c if isinstance(c, str) and c else 'whole source'} {k} {p}"
        for c, k, p in rows[["iccs_code", "kind", "period"]].itertuples(index=False)
    ]
    more = len(named) - MAX_NAMED
    return "; ".join(named[:MAX_NAMED]) + (f"; and {more} more" if more > 0 else "")


def _break_marks(marks: pd.DataFrame, span: tuple[object, object] | None) -> tuple[list[dict], list[dict]]:
    """Shapes and annotations for `marks` (with `x`, `kind`, `iccs_code`, `detail`, `series`) inside `span`."""
    shapes, notes = [], []
    for x, group in marks.groupby("x", sort=True):
        position = _position(x)
        if span is not None and not (span[0] <= position <= span[1]):
            continue
        text = "series break: " + break_label(group)
        details = "; ".join(
            (f"{c} {category_label(c)}: {d}" if isinstance(c, str) and c else str(d))
            + (f" [marked on {s}]" if isinstance(s, str) and s else "")
            for c, d, s in group[["iccs_code", "detail", "series"]].head(5).itertuples(index=False)
        )
        shapes.append(
            {
                "type": "line",
                "x0": position,
                "x1": position,
                "xref": "x",
                "y0": 0,
                "y1": 1,
                "yref": "paper",
                "line": {"dash": "dash", "color": BREAK_COLOUR, "width": 1.5},
            }
        )
        notes.append(
            {
                "x": position,
                "xref": "x",
                # inside the plot's top, stepped down per mark: clear of the dropdown and scale buttons above the
                # plot, and of the next mark's label
                "y": 1 - LABEL_STEP * (len(notes) % LABEL_ROWS),
                "yref": "paper",
                "yanchor": "top",
                "xanchor": "left",
                "showarrow": False,
                "text": plot_text(text),
                "hovertext": plot_text(details),
                "bgcolor": "rgba(255,255,255,0.85)",
                "font": {"size": 10, "color": BREAK_COLOUR},
            }
        )
    return shapes, notes


def add_breaks(
    fig: Figure,
    breaks: pd.DataFrame,
    *,
    x_of: Callable[[str], object] | None = None,
    entries: Sequence[Iterable[Series]] | None = None,
) -> pd.DataFrame:
    """Dashed vertical lines at declared series breaks (`source`, `iccs_code`, `period`, `kind`, `detail`), one
    per position however many categories break there, and only within the x range drawn.

    `entries` gives, per dropdown entry (in menu order; one for a chart without a menu), the series it draws as
    (source, ICCS code, name): an entry shows only the breaks that concern those series (`concerns`), labelled
    with their names, so a break in 02041 marks the 02 and 0204 lines but not a chart of section 05. Without
    `entries` every break is drawn on every entry. Returns the breaks drawn on any entry (for the metadata).
    """
    if breaks.empty:
        return breaks.assign(series=pd.Series(dtype=str))
    marks = breaks.assign(x=[x_of(p) if x_of else p for p in breaks["period"]]).dropna(subset=["x"])
    layout = fig["layout"]
    menus = [m for m in layout.get("updatemenus") or [] if m.get("name") != "scale"]  # entries, not the scale
    buttons = menus[0]["buttons"] if menus else []
    base_shapes, base_notes = list(layout.get("shapes", [])), list(layout.get("annotations", []))
    count = len(entries) if entries is not None else max(1, len(buttons))
    drawn = []
    for i in range(count):
        matched = breaks_for(marks, entries[i]) if entries is not None else marks.assign(series="")
        visible = buttons[i]["args"][0]["visible"] if i < len(buttons) else None
        shapes, notes = _break_marks(matched, _x_span(fig, visible))
        if shapes:
            drawn.append(matched)
        if i == 0:
            layout["shapes"], layout["annotations"] = base_shapes + shapes, base_notes + notes
        if i < len(buttons):
            buttons[i]["args"][1].update({"shapes": base_shapes + shapes, "annotations": base_notes + notes})
    if not drawn:
        return breaks.iloc[0:0].assign(series=pd.Series(dtype=str))
    return pd.concat(drawn).drop(columns="x").drop_duplicates(["source", "iccs_code", "period", "kind"])


def menu_series(frame: pd.DataFrame, menu: str, source: str, code: str, name: str) -> list[list[Series]]:
    """Per dropdown entry of `frame` (in the order the menu builders use), the (source, code, name) it draws."""
    entries = []
    for label in dict.fromkeys(frame[menu]):
        sub = frame.loc[frame[menu] == label, [source, code, name]].drop_duplicates()
        entries.append(list(sub.itertuples(index=False, name=None)))
    return entries


def of_source(breaks: pd.DataFrame, source: str) -> pd.DataFrame:
    return breaks[breaks["source"] == source]


def year_of(period: str) -> int | None:
    """The year a break's period ('2019', '2019-04') falls in, as the x of a yearly chart."""
    text = str(period)
    return int(text[:4]) if text[:4].isdigit() else None


def month_of(period: str) -> pd.Timestamp | None:
    """The first month a break's period covers, as the x of a monthly chart."""
    text = str(period)
    if len(text) >= 7 and text[:4].isdigit() and text[5:7].isdigit():
        return pd.Timestamp(int(text[:4]), int(text[5:7]), 1)
    return pd.Timestamp(int(text[:4]), 1, 1) if text[:4].isdigit() else None
