"""Figure builders shared by the report pages (plotly, offline; a dropdown instead of many separate charts).

Figures are plain plotly JSON dicts ({"data": [...], "layout": {...}}), which `page.figure_html` renders
without building validated plotly objects: that is ~100x faster, and report time matters. Inputs are small
tidy frames; missing values stay NaN (None in JSON) so plotly draws a gap instead of joining across it.
Data labels used in layout text (dropdown labels, titles) go through `page.plot_text`; trace values are escaped
by `page.figure_html`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from plotly.colors import qualitative

from reports import numbers, page
from reports.breaks import Figure, Series, add_breaks
from reports.page import plot_text, template

PALETTE: tuple[str, ...] = tuple(qualitative.Plotly) + tuple(qualitative.Dark24)
HEIGHT = 460


def values(series: pd.Series) -> list[Any]:
    """JSON-ready values: NaN/NaT become None (a gap), numpy scalars become Python ones."""
    if pd.api.types.is_datetime64_any_dtype(series):
        return [None if pd.isna(v) else v.strftime("%Y-%m-%d") for v in series]
    array = series.to_numpy(dtype=object)
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in array.tolist()]


def _menu(
    labels: Sequence[str],
    trace_menu: Sequence[int],
    titles: Sequence[str],
    y: float = 1.02,
    y_titles: Sequence[str] | None = None,
) -> list[dict]:
    """A dropdown just above the plot area (paper coordinates), below the title; each entry shows its traces
    and sets the title (and y-axis title, when they differ by entry)."""
    buttons = []
    for i, label in enumerate(labels):
        relayout = {"title.text": titles[i]}
        if y_titles is not None:
            relayout["yaxis.title.text"] = y_titles[i]
        buttons.append(
            {
                "label": plot_text(label),
                "method": "update",
                "args": [{"visible": [m == i for m in trace_menu]}, relayout],
            }
        )
    return [
        {
            "buttons": buttons,
            "direction": "down",
            "x": 0,
            "xanchor": "left",
            "y": y,
            "yanchor": "bottom",
            "showactive": True,
        }
    ]


TITLE_LINE = 95  # characters of a 15 px title that fit the chart's width


def title_text(text: str) -> str:
    """A chart title as plotly layout text: escaped, and over two lines when too long for one (after its first
    ': ', where the dataset's name ends), so a title naming its source in words is never cut off."""
    escaped = plot_text(text)
    head, sep, tail = escaped.partition(": ")
    if len(escaped) <= TITLE_LINE or not sep or not tail:
        return escaped
    return f"{head}:<br>{tail}"


def wrapped(layout: dict[str, Any], titles: Sequence[str]) -> dict[str, Any]:
    """Room for a title over two lines (`title_text`) when any entry's title wraps: a lower title and a taller
    top margin, so its first line is not cut off."""
    if any("<br>" in t for t in titles):
        layout["title"].update(y=0.99, yanchor="top", pad={"t": 14})
        layout["margin"]["t"] += 24
    return layout


def _layout(title: str, x_title: str, y_title: str, has_menu: bool) -> dict[str, Any]:
    return {
        "template": template(),
        "height": HEIGHT,
        "title": {"text": title, "x": 0, "xanchor": "left", "y": 0.98, "yanchor": "top", "font": {"size": 15}},
        "margin": {"t": 110 if has_menu else 60, "l": 60, "r": 40, "b": 50},
        "xaxis": {"title": {"text": x_title}, "automargin": True},
        "yaxis": {"title": {"text": y_title}, "automargin": True},
        "legend": {"orientation": "h", "x": 0, "y": -0.14, "yanchor": "top", "font": {"size": 11}},
        "showlegend": True,
        "hovermode": "closest",
        "modebar": {"orientation": "v"},
    }


def drawable(frame: pd.DataFrame, *, menu: str, x: str, y: str, what: str = "year") -> tuple[pd.DataFrame, str]:
    """The rows of the dropdown entries that have something to draw, and, when the chart as a whole would show
    nothing worth a chart (no value, or values for one `what` only), one line saying why (else '')."""
    has = frame[y].notna()
    keep = frame[frame[menu].isin(set(frame.loc[has, menu]))]
    points = keep.loc[keep[y].notna(), x]
    if points.empty:
        return keep, "Nothing to chart: no values."
    if points.nunique() == 1:
        only = points.iloc[0]
        shown = only.strftime("%Y-%m") if isinstance(only, pd.Timestamp) else str(only)
        return keep, f"One {what} of data ({shown}): no chart over time; the table has the figures."
    return keep, ""


PARTIAL_ONLY = (
    "Every year shown is partial (fewer than 12 months with records): its points are open circles, not joined by "
    "lines, because partial years are not comparable with each other."
)


def partial_only(frame: pd.DataFrame, *, y: str, partial: str = "partial") -> str:
    """PARTIAL_ONLY when every value drawn is flagged partial (so no line is drawn at all), else ''."""
    drawn = frame[frame[y].notna()]
    return PARTIAL_ONLY if not drawn.empty and bool(drawn[partial].astype(bool).all()) else ""


def _full_years(g: pd.DataFrame, x: str) -> pd.DataFrame:
    """Insert rows for absent integer x values (years) so that the line shows a gap instead of joining."""
    if g.empty or not pd.api.types.is_integer_dtype(g[x]):
        return g
    years = pd.RangeIndex(int(g[x].min()), int(g[x].max()) + 1, name=x)
    if len(years) == len(g):
        return g
    return g.drop_duplicates(x).set_index(x).reindex(years).reset_index()


def menu_lines(
    frame: pd.DataFrame,
    *,
    menu: str,
    trace: str,
    x: str,
    y: str,
    title: Callable[[str], str],
    x_title: str,
    y_title: str | Callable[[str], str],
    partial: str | None = None,
    note: str | None = None,
    y_format: str | Callable[[str], str] = ",.1f",
    small: str | None = None,
    scale_toggle: bool | None = None,
) -> Figure:
    """One line per `trace` value, a dropdown over `menu` values. Rows flagged `partial` are drawn as open
    markers off the line (e.g. a year with only some months), labelled with the `note` column. `y_format` (a
    d3 format, or RATE for the reports' one rate rule `numbers.rate`; or a function of the dropdown entry giving
    either) formats values on hover; rows flagged in the `small` column (a rate on few records) carry
    `numbers.SMALL_NOTE` there. The y axis starts at zero; `scale_toggle` (default: when an entry's lines differ
    by SCALE_SPREAD times or more) adds buttons switching it to a log scale, so small lines are readable."""
    data: list[dict[str, Any]] = []
    labels = list(dict.fromkeys(frame[menu]))
    trace_menu: list[int] = []
    for i, label in enumerate(labels):
        sub = frame[frame[menu] == label]
        fmt = y_format(label) if callable(y_format) else y_format
        for j, (name, g) in enumerate(sub.groupby(trace, sort=False)):
            g = _full_years(g.sort_values(x), x)
            color = PALETTE[j % len(PALETTE)]
            flagged = g[partial].eq(True) if partial else pd.Series(False, index=g.index)
            hover = _hover_values(g, y, fmt, small)
            data.append(
                {
                    "type": "scatter",
                    "x": values(g[x]),
                    "y": values(g[y].where(~flagged)),
                    "customdata": hover,
                    "name": str(name),
                    "legendgroup": f"{i}-{j}",
                    "mode": "lines+markers",
                    "line": {"color": color, "width": 2},
                    "marker": {"size": 6},
                    "visible": i == 0,
                    "hovertemplate": "%{fullData.name}<br>%{x}: %{customdata[0]}%{customdata[1]}<extra></extra>",
                }
            )
            trace_menu.append(i)
            if flagged.any():
                data.append(
                    {
                        "type": "scatter",
                        "x": values(g.loc[flagged, x]),
                        "y": values(g.loc[flagged, y]),
                        "customdata": [h for h, f in zip(hover, flagged, strict=True) if f],
                        "name": f"{name} (partial)",
                        "legendgroup": f"{i}-{j}",
                        "showlegend": False,
                        "mode": "markers",
                        "marker": {"color": color, "size": 9, "symbol": "circle-open", "line": {"width": 2}},
                        "text": values(g.loc[flagged, note]) if note else None,
                        "visible": i == 0,
                        "hovertemplate": "%{fullData.name}<br>%{x}: %{customdata[0]}%{customdata[1]}<br>%{text}"
                        "<extra></extra>",
                    }
                )
                trace_menu.append(i)
    titles = [title_text(title(label)) for label in labels]
    y_titles = [plot_text(y_title(label)) for label in labels] if callable(y_title) else None
    first_y_title = (y_titles[0] if y_titles else "") if callable(y_title) else y_title
    layout = _layout(titles[0] if titles else "", x_title, first_y_title, len(labels) > 1)
    wrapped(layout, titles)
    per_menu = frame.groupby(menu)[trace].nunique().max() if not frame.empty else 0
    layout["height"] = HEIGHT + 22 * ((int(per_menu) + 1) // 2)
    if len(labels) > 1:
        layout["updatemenus"] = _menu(labels, trace_menu, titles, y_titles=y_titles)
    layout["yaxis"]["rangemode"] = "tozero"  # counts, rates and shares: the axis starts at zero
    if scale_toggle if scale_toggle is not None else wide_spread(frame, menu=menu, trace=trace, y=y):
        layout.setdefault("updatemenus", []).append(copy.deepcopy(SCALE_MENU))
    if not frame.empty and pd.api.types.is_integer_dtype(frame[x]):
        layout["xaxis"].update(tickformat="d")
        if frame[x].nunique() <= 15:
            layout["xaxis"]["dtick"] = 1
    return {"data": data, "layout": layout}


RATE = "rate"  # y_format of rates per 100,000: `numbers.rate`, the reports' one rule
SCALE_SPREAD = 20.0
LOG_NOTE = (
    "Lines of very different sizes share this chart: the 'Log scale' button above it shows the course of the small "
    "ones; on that scale the axis does not start at zero (a log axis cannot), and equal steps are equal ratios."
)
SCALE_MENU: dict[str, Any] = {
    "name": "scale",  # not a dropdown of entries: breaks.add_breaks leaves it alone
    "type": "buttons",
    "direction": "right",
    "x": 1,
    "xanchor": "right",
    "y": 1.02,
    "yanchor": "bottom",
    "showactive": True,
    "active": 0,
    "buttons": [
        {"label": "Linear, from 0", "method": "relayout", "args": [{"yaxis.type": "linear"}]},
        {"label": "Log scale", "method": "relayout", "args": [{"yaxis.type": "log"}]},
    ],
}


def wide_spread(frame: pd.DataFrame, *, menu: str, trace: str, y: str) -> bool:
    """Whether some dropdown entry draws lines whose typical (median) values differ SCALE_SPREAD times or more:
    then the small ones lie flat on a linear axis from zero, and a log scale shows their course."""
    positive = frame[frame[y] > 0]
    if positive.empty:
        return False
    typical = positive.groupby([menu, trace])[y].median()
    by_entry = typical.groupby(level=0).agg(["min", "max"])
    return bool((by_entry["max"] >= SCALE_SPREAD * by_entry["min"]).any())


SMALL_HOVER = f" {numbers.SMALL_MARK} fewer than {numbers.SMALL_COUNT} records: unreliable"


def _hover_values(g: pd.DataFrame, y: str, fmt: str, small: str | None) -> list[list[str]]:
    """Per point, [the value as text, a caution or '']: rates by `numbers.rate`, else the d3-like `fmt`."""
    cautions = g[small].eq(True) if small else pd.Series(False, index=g.index)
    out = []
    for v, warn in zip(g[y].tolist(), cautions.tolist(), strict=True):
        text = "" if v is None or pd.isna(v) else numbers.rate(v) if fmt == RATE else _d3(v, fmt)
        out.append([text, SMALL_HOVER if warn else ""])
    return out


def _d3(value: float, fmt: str) -> str:
    """The few d3 formats the reports use (',.0f', ',.2f', '+.1f', '.2f'), by Python's equivalent, with a true
    minus sign."""
    return format(value, fmt).replace("-", numbers.MINUS)


NO_VALUES = "Nothing to chart: no values."


def line_chart(
    frame: pd.DataFrame,
    *,
    menu: str,
    trace: str,
    x: str,
    y: str,
    title: Callable[[str], str],
    x_title: str,
    y_title: str | Callable[[str], str],
    partial: str | None = None,
    note: str | None = None,
    y_format: str | Callable[[str], str] = ",.1f",
    breaks: pd.DataFrame | None = None,
    x_of: Callable[[str], object] | None = None,
    entries: Callable[[pd.DataFrame], Sequence[Iterable[Series]]] | None = None,
    no_values: str = NO_VALUES,
    partial_note: bool = False,
    one_year_chart: bool = False,
    small: str | None = None,
    scale_toggle: bool | None = None,
) -> tuple[str, pd.DataFrame | None]:
    """A `menu_lines` chart as page HTML, with what every line chart of the reports needs around it: a note
    instead of the chart when it would show nothing over time (`drawable`; `no_values` words the case without
    any value, `one_year_chart` draws a single year anyway), the series `breaks` marked on the entries that
    `entries(drawn rows)` lists, and with `partial_note` the PARTIAL_ONLY note. Returns the HTML and the breaks
    drawn (None when none were asked for or no chart is drawn), which the metadata lists. Under the chart: why
    a log scale is offered (`LOG_NOTE`), and `numbers.SMALL_NOTE` when a point flagged `small` is drawn."""
    drawn, why_not = drawable(frame, menu=menu, x=x, y=y)
    if why_not and not (one_year_chart and why_not != NO_VALUES):
        return page.paragraph(why_not.replace(NO_VALUES, no_values), cls="note"), None
    fig = menu_lines(
        drawn,
        menu=menu,
        trace=trace,
        x=x,
        y=y,
        title=title,
        x_title=x_title,
        y_title=y_title,
        partial=partial,
        note=note,
        y_format=y_format,
        small=small,
        scale_toggle=scale_toggle,
    )
    drawn_breaks = None
    if breaks is not None:
        drawn_breaks = add_breaks(fig, breaks, x_of=x_of, entries=entries(drawn) if entries else None)
    html = page.figure_html(fig)
    if partial_note and (text := partial_only(drawn, y=y)):
        html += page.paragraph(text, cls="note")
    if any(m.get("name") == "scale" for m in fig["layout"].get("updatemenus", [])):
        html += page.paragraph(LOG_NOTE, cls="note")
    if small and bool(drawn.loc[drawn[y].notna(), small].eq(True).any()):
        html += page.paragraph(numbers.SMALL_NOTE + " Such points say so when pointed at.", cls="note")
    return html, drawn_breaks


MUTED_COLOUR = "#b8c2cc"
INK = "#1f2933"


def menu_bars(
    frame: pd.DataFrame,
    *,
    menu: str,
    category: str,
    value: str,
    title: Callable[[str], str],
    value_title: str,
    hover: str | None = None,
    value_format: str = "+.1f",
    diverging: bool = True,
    order: str | None = None,
    muted: str | None = None,
    text: str | None = None,
    value_text: Callable[[float], str] | None = None,
) -> Figure:
    """Horizontal bars of `value` by `category`, a dropdown over `menu`; if `diverging`, red for rises and
    blue for falls, else one colour. Bars are stacked bottom-up in ascending `order` (default: the value), so
    the largest `order` is on top; rows flagged in the `muted` column are grey (e.g. a change within chance),
    and `text` labels each bar (e.g. the counts behind a percentage). Hover values are
    `value_text(value)` (diverging bars: `numbers.signed_pct`), else `value_format` (d3)."""
    data: list[dict[str, Any]] = []
    ranges: list[list[float]] = []
    labels = list(dict.fromkeys(frame[menu]))
    for i, label in enumerate(labels):
        g = frame[frame[menu] == label].sort_values(order or value)
        colour: Any = g[value].gt(0).map({True: "#b2182b", False: "#2166ac"}) if diverging else None
        if muted:
            base = colour if colour is not None else pd.Series("#1d4e89", index=g.index)
            colour = base.where(~g[muted].astype(bool), MUTED_COLOUR)
        trace: dict[str, Any] = {
            "type": "bar",
            "orientation": "h",
            "x": values(g[value]),
            "y": values(g[category].astype(str)),
            "name": str(label),
            "marker": {"color": colour.tolist() if colour is not None else "#1d4e89"},
            "hovertext": values(g[hover]) if hover else None,
            "visible": i == 0,
            "showlegend": False,
            "hovertemplate": f"%{{y}}<br>%{{x:{value_format}}}"
            + ("<br>%{hovertext}" if hover else "")
            + "<extra></extra>",
        }
        shown = value_text or (numbers.signed_pct if diverging else None)
        if shown:  # e.g. a change with its sign always shown, a true minus (d3 would write a hyphen)
            trace["customdata"] = [shown(v) for v in g[value].tolist()]
            trace["hovertemplate"] = trace["hovertemplate"].replace(f"%{{x:{value_format}}}", "%{customdata}")
        if text:
            # Outside the bar end, in ink, never shrunk or moved inside a coloured bar: a minus sign stays legible.
            trace.update(
                text=values(g[text]),
                textposition="outside",
                cliponaxis=False,
                constraintext="none",
                textfont={"size": 11, "color": INK},
            )
            ranges.append(_padded_range(g[value]))
        data.append(trace)
    titles = [title_text(title(label)) for label in labels]
    layout = _layout(titles[0] if titles else "", value_title, "", len(labels) > 1)
    wrapped(layout, titles)
    if ranges:
        layout["xaxis"]["range"] = ranges[0]
    rows = frame.groupby(menu)[category].nunique().max() if not frame.empty else 1
    layout["height"] = max(HEIGHT, 140 + 24 * int(rows))
    layout["margin"]["l"] = 260
    if text:
        layout["margin"]["r"] = 140
    layout["showlegend"] = False
    if not diverging:
        layout["xaxis"]["rangemode"] = "tozero"
    if len(labels) > 1:
        layout["updatemenus"] = _menu(labels, list(range(len(labels))), titles)
        for button, x_range in zip(layout["updatemenus"][0]["buttons"], ranges, strict=False):
            button["args"][1]["xaxis.range"] = x_range
    return {"data": data, "layout": layout}


def _padded_range(values_: pd.Series, room: float = 0.4) -> list[float]:
    """An x range with `room` (a share of the data's span) beyond each end that has bars, for outside labels."""
    lo, hi = min(0.0, float(values_.min())), max(0.0, float(values_.max()))
    span = (hi - lo) or 1.0
    return [lo - room * span if lo < 0 else 0.0, hi + room * span if hi > 0 else 0.0]


def menu_decomposition(frames: dict[str, pd.DataFrame], *, title: Callable[[str], str], y_title: str) -> Figure:
    """STL panels (observed + trend, seasonal, remainder) sharing one date axis, per menu entry; each frame is
    indexed by month (Timestamp) with observed/trend/seasonal/remainder columns, NaN where a month is missing."""
    panels = (
        ("y", [0.5, 1.0], "Observed and trend"),
        ("y2", [0.26, 0.44], "Seasonal component"),
        ("y3", [0.0, 0.2], "Remainder"),
    )
    specs = (
        ("observed", "y", "#7b8794", "lines+markers", "Observed"),
        ("trend", "y", "#1d4e89", "lines", "Trend"),
        ("seasonal", "y2", "#2f855a", "lines", "Seasonal"),
        ("remainder", "y3", "#b7791f", "lines+markers", "Remainder"),
    )
    data: list[dict[str, Any]] = []
    labels = list(frames)
    trace_menu: list[int] = []
    for i, label in enumerate(labels):
        comp = frames[label]
        months = [ts.strftime("%Y-%m-%d") for ts in comp.index]
        for column, axis, color, mode, name in specs:
            data.append(
                {
                    "type": "scatter",
                    "x": months,
                    "y": values(comp[column]),
                    "xaxis": "x",
                    "yaxis": axis,
                    "name": name,
                    "mode": mode,
                    "line": {"color": color, "width": 2 if column == "trend" else 1.5},
                    "marker": {"size": 4},
                    "visible": i == 0,
                    "showlegend": axis == "y",
                    "hovertemplate": f"{name}<br>%{{x|%Y-%m}}: %{{y:,.1f}}<extra></extra>",
                }
            )
            trace_menu.append(i)
    titles = [title_text(title(label)) for label in labels]
    layout = _layout(titles[0] if titles else "", "", y_title, len(labels) > 1)
    layout.update(height=640, margin={"t": 130, "l": 60, "r": 40, "b": 50})
    wrapped(layout, titles)
    layout["legend"].update(y=-0.08)
    layout["xaxis"] = {"type": "date", "anchor": "y3", "automargin": True}
    for axis, domain, _ in panels:
        key = "yaxis" if axis == "y" else f"yaxis{axis[1:]}"
        layout[key] = {
            "domain": domain,
            "anchor": "x",
            "automargin": True,
            "title": {"text": y_title if axis == "y" else ""},
        }
        if axis == "y":
            layout[key]["rangemode"] = "tozero"  # observed counts and their trend: the axis starts at zero
    layout["annotations"] = [
        {
            "text": text,
            "x": 0.5,
            "xref": "paper",
            "xanchor": "center",
            "y": domain[1],
            "yref": "paper",
            "yanchor": "bottom",
            "showarrow": False,
            "font": {"size": 13},
        }
        for _, domain, text in panels
    ]
    if len(labels) > 1:
        layout["updatemenus"] = _menu(labels, trace_menu, titles, y=1.07)
    return {"data": data, "layout": layout}


def menu_grouped_bars(
    frame: pd.DataFrame,
    *,
    menu: str,
    category: str,
    group: str,
    value: str,
    title: Callable[[str], str],
    x_title: str,
    y_title: str,
    value_format: str = ",.2f",
    stacked: bool = False,
) -> Figure:
    """Vertical bars of `value` by `category` (in the frame's order), one bar per `group` value side by side (or
    `stacked`), a dropdown over `menu`. Each group keeps one colour in every entry, so 'Female' is always the
    same colour."""
    data: list[dict[str, Any]] = []
    labels = list(dict.fromkeys(frame[menu]))
    groups = list(dict.fromkeys(frame[group]))
    trace_menu: list[int] = []
    for i, label in enumerate(labels):
        sub = frame[frame[menu] == label]
        for name, g in sub.groupby(group, sort=False):
            data.append(
                {
                    "type": "bar",
                    "x": values(g[category].astype(str)),
                    "y": values(g[value]),
                    "name": str(name),
                    "marker": {"color": PALETTE[groups.index(name) % len(PALETTE)]},
                    "visible": i == 0,
                    "hovertemplate": f"%{{fullData.name}}<br>%{{x}}: %{{y:{value_format}}}<extra></extra>",
                }
            )
            trace_menu.append(i)
    titles = [title_text(title(label)) for label in labels]
    layout = _layout(titles[0] if titles else "", x_title, y_title, len(labels) > 1)
    wrapped(layout, titles)
    layout["barmode"] = "stack" if stacked else "group"
    layout["xaxis"]["type"] = "category"
    layout["xaxis"]["categoryorder"] = "array"
    layout["xaxis"]["categoryarray"] = values(pd.Series(list(dict.fromkeys(frame[category].astype(str)))))
    layout["yaxis"]["rangemode"] = "tozero"
    if len(labels) > 1:
        layout["updatemenus"] = _menu(labels, trace_menu, titles)
    return {"data": data, "layout": layout}
