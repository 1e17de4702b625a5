"""The charts of quality.html: the coverage heat map (periods × areas) and the records-in bar chart."""

from __future__ import annotations

from typing import Any

import pandas as pd

from reports import page
from reports.quality.text import OUTSIDE_ICCS

HEATMAP_ROW_PX = 22
MISSING_COLOUR = "#d62728"
OUTSIDE_COLOUR = "#bcc5cf"  # neutral: records the correspondence table leaves out on purpose are not a fault
RECORDS_SCALE = [[0.0, "#deebf7"], [0.5, "#6baed6"], [1.0, "#08306b"]]  # light = few records, dark = many
MIN_CHART_PX = 420  # the page's chart box is at least this tall


def heatmap(cov: pd.DataFrame, source: str) -> dict[str, Any]:
    """Periods across, areas down; colour = records; missing cells drawn in red on top."""
    cov = cov.assign(area=cov["area"].fillna("(whole country)").astype(str))
    areas = sorted(cov["area"].unique(), key=str.lower, reverse=True)
    periods = sorted(cov["period"].unique())
    records = cov.pivot(index="area", columns="period", values="records").reindex(index=areas, columns=periods)
    present = cov.pivot(index="area", columns="period", values="present").reindex(index=areas, columns=periods)
    missing = present.eq(False)
    z = records.where(~missing).to_numpy(dtype=float)
    holes = missing.to_numpy()
    as_json = [[None if pd.isna(v) else float(v) for v in row] for row in z]
    hole_z = [[1 if h else None for h in row] for row in holes]
    hole_text = [
        [f"{area} · {period}: no records" if h else "" for h, period in zip(row, periods, strict=True)]
        for row, area in zip(holes, areas, strict=True)
    ]
    height = max(MIN_CHART_PX, min(1600, 120 + HEATMAP_ROW_PX * len(areas)))
    return {
        "data": [
            {
                "type": "heatmap",
                "x": periods,
                "y": areas,
                "z": as_json,
                "colorscale": RECORDS_SCALE,
                "colorbar": {"title": {"text": "records"}},
                "xgap": 1,
                "ygap": 1,
                "name": "records",
                "hovertemplate": "%{y} · %{x}: %{z:,.0f} records<extra></extra>",
            },
            {
                "type": "heatmap",
                "x": periods,
                "y": areas,
                "z": hole_z,
                "text": hole_text,
                "showscale": False,
                "colorscale": [[0, MISSING_COLOUR], [1, MISSING_COLOUR]],
                "xgap": 1,
                "ygap": 1,
                "name": "missing",
                "hovertemplate": "%{text}<extra></extra>",
            },
        ],
        "layout": {
            "title": {"text": f"Coverage of {page.plot_text(source)}: periods × reporting areas (red = no records)"},
            "height": height,
            "margin": {"l": 140, "r": 20, "t": 60, "b": 60},
            "xaxis": {"type": "category", "title": {"text": "period"}},
            "yaxis": {"type": "category", "automargin": True},
            "template": page.template(),
        },
    }


def loads_chart(summary: pd.DataFrame) -> dict[str, Any]:
    sources = summary["source"].tolist()
    return {
        "data": [
            {
                "type": "bar",
                "orientation": "h",
                "y": sources,
                "x": summary["records_loaded"].tolist(),
                "name": "loaded",
                "marker": {"color": "#1d4e89"},
            },
            {
                "type": "bar",
                "orientation": "h",
                "y": sources,
                "x": summary["records_outside_iccs"].tolist(),
                "name": OUTSIDE_ICCS,
                "marker": {"color": OUTSIDE_COLOUR},
            },
            {
                "type": "bar",
                "orientation": "h",
                "y": sources,
                "x": summary["records_quarantined"].tolist(),
                "name": "quarantined",
                "marker": {"color": MISSING_COLOUR},
            },
        ],
        "layout": {
            "barmode": "stack",
            "title": {"text": "Records in, by where they went"},
            "height": max(MIN_CHART_PX, 90 + 40 * len(sources)),
            "xaxis": {"title": {"text": "records"}},
            "yaxis": {"type": "category", "automargin": True},
            "template": page.template(),
        },
    }
