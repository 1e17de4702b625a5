"""The small charts of patterns.html, one per finding, as plain plotly JSON dicts (``reports/charts.py``'s way):
a month against its expected band, a series with its fitted levels, an area's offence mix in two years."""

from __future__ import annotations

from typing import Any

import pandas as pd

from reports import charts, page
from reports.breaks import category_label
from reports.patterns.text import iccs_name

HEIGHT = 300
OBSERVED = charts.PALETTE[0]
EXPECTED = "#52606d"
FLAGGED = "#d62728"
BAND = "rgba(82, 96, 109, 0.15)"
RECORDING = "#8a4b08"
MIX_CATEGORIES = 8  # bars shown: the categories that moved most (the flagged one always); the rest as 'other'


def _layout(title: str, y_title: str) -> dict[str, Any]:
    return {
        "template": page.template(),
        "height": HEIGHT,
        "title": {"text": charts.title_text(title), "x": 0, "xanchor": "left", "font": {"size": 13}},
        "margin": {"t": 40, "l": 55, "r": 45, "b": 40},
        "xaxis": {"automargin": True},
        "yaxis": {"title": {"text": y_title}, "automargin": True, "rangemode": "tozero"},
        "legend": {"orientation": "h", "x": 0, "y": -0.18, "yanchor": "top", "font": {"size": 10}},
        "showlegend": True,
        "hovermode": "x unified",
        "modebar": {"orientation": "v"},
    }


def _months(rows: pd.DataFrame) -> list[Any]:
    return charts.values(rows["period"].astype(str))


def month_chart(rows: pd.DataFrame, period: str, title: str, unit: str) -> dict[str, Any]:
    """Observed counts, the expected line and its 95% band (gaps where not computed), the flagged month marked."""
    x = _months(rows)
    data: list[dict[str, Any]] = []
    if rows["upper"].notna().any():
        data += [
            {"type": "scatter", "x": x, "y": charts.values(rows["upper"]), "mode": "lines", "line": {"width": 0},
             "showlegend": False, "hoverinfo": "skip", "connectgaps": False},
            {"type": "scatter", "x": x, "y": charts.values(rows["lower"]), "mode": "lines", "line": {"width": 0},
             "fill": "tonexty", "fillcolor": BAND, "name": "95% band", "hoverinfo": "skip", "connectgaps": False},
        ]  # fmt: skip
    data += [
        {"type": "scatter", "x": x, "y": charts.values(rows["expected"]), "mode": "lines", "name": "expected",
         "line": {"color": EXPECTED, "dash": "dash", "width": 1.5},
         "hovertemplate": "expected %{y:,.1f}<extra></extra>"},
        {"type": "scatter", "x": x, "y": charts.values(rows["observed"]), "mode": "lines+markers", "name": unit,
         "line": {"color": OBSERVED, "width": 1.5}, "marker": {"size": 3},
         "hovertemplate": "recorded %{y:,.0f}<extra></extra>"},
    ]  # fmt: skip
    flagged = rows[rows["period"].astype(str) == str(period)]
    if len(flagged):
        data.append(
            {
                "type": "scatter",
                "x": _months(flagged),
                "y": charts.values(flagged["observed"]),
                "mode": "markers",
                "name": f"flagged: {period}",
                "marker": {"color": FLAGGED, "size": 11, "symbol": "circle-open", "line": {"width": 2.5}},
                "hoverinfo": "skip",
            }
        )
    layout = _layout(title, unit)
    layout["xaxis"]["type"] = "date"
    return {"data": data, "layout": layout}


def shift_chart(rows: pd.DataFrame, period: str, title: str, unit: str, recording: bool) -> dict[str, Any]:
    """Observed counts with the fitted levels as a step, and a vertical line at the first month at the new level."""
    x = _months(rows)
    data = [
        {"type": "scatter", "x": x, "y": charts.values(rows["observed"]), "mode": "lines+markers", "name": unit,
         "line": {"color": OBSERVED, "width": 1.2}, "marker": {"size": 3},
         "hovertemplate": "recorded %{y:,.0f}<extra></extra>"},
        {"type": "scatter", "x": x, "y": charts.values(rows["expected"]), "mode": "lines", "name": "fitted level",
         "line": {"color": RECORDING if recording else FLAGGED, "width": 2.5, "shape": "hv"},
         "hovertemplate": "level %{y:,.1f}<extra></extra>"},
    ]  # fmt: skip
    layout = _layout(title, f"{unit} a month")
    layout["xaxis"]["type"] = "date"
    colour = RECORDING if recording else EXPECTED
    layout["shapes"] = [
        {"type": "line", "xref": "x", "yref": "paper", "x0": str(period), "x1": str(period), "y0": 0, "y1": 1,
         "line": {"color": colour, "width": 1.5, "dash": "dot"}}
    ]  # fmt: skip
    label = "recording change" if recording else "shift"
    layout["annotations"] = [
        {"x": str(period), "xref": "x", "y": 1, "yref": "paper", "yanchor": "bottom", "xanchor": "left",
         "text": f"{label}: {page.plot_text(period)}", "showarrow": False, "font": {"size": 10, "color": colour}}
    ]  # fmt: skip
    return {"data": data, "layout": layout}


def _short(code: str) -> str:
    label = category_label(code)
    if len(label) > 22:
        label = label[:21].rstrip() + "…"
    return f"{code} {label}".strip()


def mix_bars(shares: pd.DataFrame, flagged: str) -> pd.DataFrame:
    """The categories a mix chart draws: the MIX_CATEGORIES whose share moved most (the flagged one among them),
    then all the others summed as 'other'; in the order of their last-year share."""
    moved = (shares["last_share"] - shares["base_share"]).abs().fillna(0)
    ranked = shares.assign(_moved=moved.to_numpy(), _flagged=shares["code"] == flagged)
    ranked = ranked.sort_values(["_flagged", "_moved"], ascending=False)
    keep = ranked.head(MIX_CATEGORIES).drop(columns=["_moved", "_flagged"])
    rest = ranked.iloc[MIX_CATEGORIES:]
    keep = keep.sort_values("last_share", ascending=False)
    if len(rest):
        other = rest.drop(columns=["_moved", "_flagged", "code"]).sum(numeric_only=True)
        keep = pd.concat([keep, pd.DataFrame([{"code": "other", **other.to_dict()}])], ignore_index=True)
    return keep.reset_index(drop=True)


def mix_chart(shares: pd.DataFrame, flagged: str, baseline: str, last: str, title: str, unit: str) -> dict[str, Any]:
    """Grouped bars of each category's share of the area's recorded offences: baseline year, last year, and last
    year as expected had the mix changed as the rest of the country's (charts.menu_grouped_bars, one entry)."""
    bars = mix_bars(shares, flagged)
    names = [("base_share", str(baseline)), ("last_share", str(last)), ("expected_share", f"{last} expected")]
    label = [("other categories" if c == "other" else _short(c)) for c in bars["code"]]
    long = pd.concat(
        [
            pd.DataFrame({"menu": "", "category": label, "year": name, "share": bars[column] * 100})
            for column, name in names
        ],
        ignore_index=True,
    )
    figure = charts.menu_grouped_bars(
        long,
        menu="menu",
        category="category",
        group="year",
        value="share",
        title=lambda _: title,
        x_title="",
        y_title=f"% of recorded {unit}",
        value_format=".1f",
    )
    layout = figure["layout"]
    layout.update(height=HEIGHT + 60, margin={"t": 40, "l": 55, "r": 45, "b": 40})
    layout["title"]["font"] = {"size": 13}
    layout["xaxis"]["tickangle"] = -30
    layout["xaxis"]["tickfont"] = {"size": 10}
    layout["legend"]["y"] = -0.45
    layout["margin"]["b"] = 60
    return figure


def chart_title(row: pd.Series) -> str:
    """'Burglary (0501), Ashby Vale (D23)' (the national figure: 'national')."""
    place = row["place"] if isinstance(row["place"], str) and row["place"] else "national"
    return f"{iccs_name(row['iccs_code'])}, {place}"
