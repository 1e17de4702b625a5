"""Figure builders shared by the report pages (plotly, offline; a dropdown instead of many separate charts).

Inputs are small tidy frames. Missing values stay NaN so plotly draws a gap instead of joining across it.
Data labels used in layout text (dropdown labels, titles) go through `page.plot_text`; trace values are
escaped later by `page.figure_html`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from reports.page import PLOT_TEMPLATE, plot_text

PALETTE: tuple[str, ...] = tuple(qualitative.Plotly) + tuple(qualitative.Dark24)
HEIGHT = 460


def _menu(labels: Sequence[str], trace_menu: Sequence[int], titles: Sequence[str], y: float = 1.02) -> list[dict]:
    """A dropdown just above the plot area (paper coordinates), below the title."""
    buttons = [
        {
            "label": plot_text(label),
            "method": "update",
            "args": [{"visible": [m == i for m in trace_menu]}, {"title.text": titles[i]}],
        }
        for i, label in enumerate(labels)
    ]
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


def _base_layout(fig: go.Figure, title: str, x_title: str, y_title: str, has_menu: bool) -> None:
    fig.update_layout(
        template=PLOT_TEMPLATE,
        height=HEIGHT,
        title={"text": title, "x": 0, "xanchor": "left", "y": 0.98, "yanchor": "top", "font": {"size": 15}},
        margin={"t": 110 if has_menu else 60, "l": 60, "r": 20, "b": 50},
        xaxis_title=x_title,
        yaxis_title=y_title,
        legend={"orientation": "h", "x": 0, "y": -0.14, "yanchor": "top", "font": {"size": 11}},
        hovermode="closest",
        modebar={"orientation": "v"},
    )


def add_breaks(fig: go.Figure, breaks: pd.DataFrame, *, x_of: Callable[[str], object] | None = None) -> None:
    """Dashed vertical lines (all panels) at declared series breaks (`period`, `kind`, `detail` columns).

    Drawn as paper-height shapes rather than `add_vline`, whose annotation fails on date axes.
    """
    for row in breaks.itertuples(index=False):
        x = x_of(row.period) if x_of else row.period
        if x is None:
            continue
        fig.add_shape(
            type="line",
            x0=x,
            x1=x,
            xref="x",
            y0=0,
            y1=1,
            yref="paper",
            line={"dash": "dash", "color": "#8a4b08", "width": 1.5},
        )
        fig.add_annotation(
            x=x,
            xref="x",
            y=1,
            yref="paper",
            yanchor="bottom",
            showarrow=False,
            text=plot_text(f"series break: {row.kind}"),
            hovertext=plot_text(str(row.detail or "")),
            font={"size": 10, "color": "#8a4b08"},
        )


def menu_lines(
    frame: pd.DataFrame,
    *,
    menu: str,
    trace: str,
    x: str,
    y: str,
    title: Callable[[str], str],
    x_title: str,
    y_title: str,
    partial: str | None = None,
    note: str | None = None,
    y_format: str = ",.1f",
) -> go.Figure:
    """One line per `trace` value, a dropdown over `menu` values. Rows flagged `partial` are drawn as open
    markers off the line (e.g. a year with only some months), labelled with the `note` column."""
    fig = go.Figure()
    labels = list(dict.fromkeys(frame[menu]))
    trace_menu: list[int] = []
    for i, label in enumerate(labels):
        sub = frame[frame[menu] == label]
        for j, (name, g) in enumerate(sub.groupby(trace, sort=False)):
            g = g.sort_values(x)
            color = PALETTE[j % len(PALETTE)]
            flagged = g[partial].fillna(False).astype(bool) if partial else pd.Series(False, index=g.index)
            fig.add_trace(
                go.Scatter(
                    x=g[x],
                    y=g[y].where(~flagged),
                    name=str(name),
                    legendgroup=f"{i}-{j}",
                    mode="lines+markers",
                    line={"color": color, "width": 2},
                    marker={"size": 6},
                    visible=i == 0,
                    hovertemplate=f"%{{fullData.name}}<br>%{{x}}: %{{y:{y_format}}}<extra></extra>",
                )
            )
            trace_menu.append(i)
            if flagged.any():
                fig.add_trace(
                    go.Scatter(
                        x=g.loc[flagged, x],
                        y=g.loc[flagged, y],
                        name=f"{name} (partial)",
                        legendgroup=f"{i}-{j}",
                        showlegend=False,
                        mode="markers",
                        marker={"color": color, "size": 9, "symbol": "circle-open", "line": {"width": 2}},
                        text=g.loc[flagged, note] if note else None,
                        visible=i == 0,
                        hovertemplate=f"%{{fullData.name}}<br>%{{x}}: %{{y:{y_format}}}<br>%{{text}}<extra></extra>",
                    )
                )
                trace_menu.append(i)
    titles = [plot_text(title(label)) for label in labels]
    _base_layout(fig, titles[0] if titles else "", x_title, y_title, len(labels) > 1)
    per_menu = frame.groupby(menu)[trace].nunique().max() if not frame.empty else 0
    fig.update_layout(height=HEIGHT + 22 * ((int(per_menu) + 1) // 2))
    if len(labels) > 1:
        fig.update_layout(updatemenus=_menu(labels, trace_menu, titles))
    if pd.api.types.is_integer_dtype(frame[x]):
        fig.update_xaxes(tickformat="d", dtick=1 if frame[x].nunique() <= 15 else None)
    return fig


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
) -> go.Figure:
    """Horizontal bars of `value` by `category`, a dropdown over `menu`; if `diverging`, red for rises and
    blue for falls, else one colour."""
    fig = go.Figure()
    labels = list(dict.fromkeys(frame[menu]))
    for i, label in enumerate(labels):
        g = frame[frame[menu] == label].sort_values(value)
        fig.add_trace(
            go.Bar(
                x=g[value],
                y=g[category],
                orientation="h",
                name=str(label),
                marker={"color": g[value].gt(0).map({True: "#b2182b", False: "#2166ac"}).tolist()}
                if diverging
                else {"color": "#1d4e89"},
                hovertext=g[hover] if hover else None,
                visible=i == 0,
                showlegend=False,
                hovertemplate=f"%{{y}}<br>%{{x:{value_format}}}"
                + ("<br>%{hovertext}" if hover else "")
                + "<extra></extra>",
            )
        )
    titles = [plot_text(title(label)) for label in labels]
    _base_layout(fig, titles[0] if titles else "", value_title, "", len(labels) > 1)
    rows = frame.groupby(menu)[category].nunique().max() if not frame.empty else 1
    fig.update_layout(height=max(HEIGHT, 140 + 24 * int(rows)), margin={"l": 260})
    fig.update_yaxes(automargin=True)
    if len(labels) > 1:
        fig.update_layout(updatemenus=_menu(labels, list(range(len(labels))), titles))
    return fig


def menu_decomposition(frames: dict[str, pd.DataFrame], *, title: Callable[[str], str], y_title: str) -> go.Figure:
    """STL panels (observed + trend, seasonal, remainder) per menu entry; each frame is indexed by month
    (Timestamp) with observed/trend/seasonal/remainder columns, NaN where a month is missing."""
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        row_heights=[0.5, 0.25, 0.25],
        subplot_titles=("Observed and trend", "Seasonal component", "Remainder"),
    )
    labels = list(frames)
    trace_menu: list[int] = []
    for i, label in enumerate(labels):
        comp = frames[label]
        specs = (
            ("observed", 1, "#7b8794", "lines+markers", "Observed"),
            ("trend", 1, "#1d4e89", "lines", "Trend"),
            ("seasonal", 2, "#2f855a", "lines", "Seasonal"),
            ("remainder", 3, "#b7791f", "lines+markers", "Remainder"),
        )
        for column, row, color, mode, name in specs:
            fig.add_trace(
                go.Scatter(
                    x=comp.index,
                    y=comp[column],
                    name=name,
                    mode=mode,
                    line={"color": color, "width": 2 if column == "trend" else 1.5},
                    marker={"size": 4},
                    visible=i == 0,
                    showlegend=row == 1,
                    hovertemplate=f"{name}<br>%{{x|%Y-%m}}: %{{y:,.1f}}<extra></extra>",
                ),
                row=row,
                col=1,
            )
            trace_menu.append(i)
    titles = [plot_text(title(label)) for label in labels]
    _base_layout(fig, titles[0] if titles else "", "", y_title, len(labels) > 1)
    fig.update_layout(height=640, legend={"orientation": "h", "x": 0, "y": -0.08}, margin={"t": 130})
    fig.update_xaxes(title_text="", type="date")
    if len(labels) > 1:
        fig.update_layout(updatemenus=_menu(labels, trace_menu, titles, y=1.07))
    return fig
