"""The monthly block of trends.html: national monthly series and their robust STL decomposition."""

from __future__ import annotations

import numpy as np
import pandas as pd

from reports import charts, numbers, page, tables, trend_tables
from reports.breaks import Figure, Series, add_breaks, month_of, of_source
from reports.stats.seasonal import Decomposition, decompose
from reports.stats.trend import monthly_grid
from reports.trends.metadata import block, metadata

MAX_STL_COUNTRIES = 3
MAX_STL_SECTIONS = 4


def seasonal_block(con, label: str, g: pd.DataFrame, monthly: pd.DataFrame, breaks: pd.DataFrame) -> str:
    unit = g["unit"].iloc[0]
    m = monthly[(monthly["source"] == g["source"].iloc[0]) & (monthly["unit"] == unit) & (monthly["level"] == 1)]
    if m.empty:
        return ""
    frames: dict[str, pd.DataFrame] = {}
    drawn: list[list[Series]] = []
    rows, sentences, skipped = [], [], []
    countries = m.groupby("country")["count"].sum().nlargest(MAX_STL_COUNTRIES).index
    for country in countries:
        mc = m[m["country"] == country]
        sections = mc.groupby("iccs_code")["count"].sum().nlargest(MAX_STL_SECTIONS).index
        for code in sections:
            series = mc[mc["iccs_code"] == code]
            name = f"{country} — {code} {series['label'].iloc[0]}"
            drawn.append([(series["source"].iloc[0], code, code)])
            comp, result = _stl_frame(series)
            if result is None:
                skipped.append(name)
            else:
                sentences.append(_stl_sentence(name, result, unit))
            frames[name] = comp
            rows.append(comp.reset_index(names="month").assign(series=name))
    observed_only = all(f[["trend"]].isna().all().all() for f in frames.values())
    table = pd.concat(rows)[["series", "month", "observed", "trend", "seasonal", "remainder"]]
    if observed_only:
        # Nothing decomposed: one plain monthly line per series, and no empty component panels or columns.
        table = table.drop(columns=["trend", "seasonal", "remainder"])
    fig = _monthly_figure(frames, table, label, unit, observed_only)
    source_breaks = add_breaks(fig, of_source(breaks, g["source"].iloc[0]), x_of=month_of, entries=drawn)
    table["month"] = table["month"].dt.strftime("%Y-%m")
    gaps = int(table["observed"].isna().sum())
    notes = []
    if skipped:
        notes.append("Not decomposed (fewer than 24 usable months): " + "; ".join(skipped) + ". Observed values shown.")
    if gaps:
        are = "is" if gaps == 1 else "are"
        notes.append(f"{numbers.plural(gaps, 'missing month')} {are} shown as gaps, not zeros.")
    summary = " ".join(sentences + notes)
    body = page.figure_html(fig) + tables.table_html(
        table,
        caption=f"{label}: monthly {unit}"
        + ("" if observed_only else " with STL components")
        + " (blank = missing month)",
        csv_name=f"trends_monthly_{page.slug(trend_tables.dataset_key(g))}",
        labels={"observed": f"{unit} (observed)"},
        kinds={"observed": tables.COUNT},
    )
    meta = metadata(
        con,
        g,
        "Robust STL decomposition (statsmodels, period 12) of national monthly counts for the largest sections. "
        "Gaps of up to 2 months are bridged only to fit the model and stay blank in every component; longer "
        "gaps split the series and the longest stretch is decomposed.",
        source_breaks,
    )
    title = f"{label}: monthly series" + ("" if observed_only else " and seasonal decomposition")
    return block(title, body, summary, meta)


def _stl_frame(series: pd.DataFrame) -> tuple[pd.DataFrame, Decomposition | None]:
    """One series' months from its first to its last observed one (gaps as NaN), indexed by month start, with its
    STL components (NaN throughout when it is too short to decompose) and the decomposition itself."""
    values = series.set_index(["year", "month"])["count"]
    grid = monthly_grid(values)
    grid = grid.loc[grid.first_valid_index() : grid.last_valid_index()]
    result = decompose(values)
    comp = pd.DataFrame({"observed": grid})
    if result is None:
        comp[["trend", "seasonal", "remainder"]] = np.nan
    else:
        comp = comp.join(result.components.drop(columns="observed"))
    comp.index = comp.index.to_timestamp()
    return comp, result


def _stl_sentence(name: str, result: Decomposition, unit: str) -> str:
    """The trend from its first to its last month, and the months of the seasonal peak and low."""
    seasonal = result.components["seasonal"].groupby(result.components.index.month).mean()
    peak, trough = int(seasonal.idxmax()), int(seasonal.idxmin())
    trend = result.components["trend"].dropna()
    change = (trend.iloc[-1] / trend.iloc[0] - 1) * 100 if trend.iloc[0] > 0 else np.nan
    pct = f"{change:+.0f}%, " if trend_tables.headline_pct(change, trend.iloc[0]) else ""
    return (
        f"{name}: trend {trend.iloc[0]:,.0f} to {trend.iloc[-1]:,.0f} {unit} a month "
        f"({pct}{trend.index[0]} to {trend.index[-1]}); seasonal peak in "
        f"{pd.Timestamp(2000, peak, 1):%B}, low in {pd.Timestamp(2000, trough, 1):%B} "
        f"(seasonal strength {result.seasonal_strength:.2f})."
    )


def _monthly_figure(
    frames: dict[str, pd.DataFrame], table: pd.DataFrame, label: str, unit: str, observed_only: bool
) -> Figure:
    """STL panels per series, or plain monthly lines when no series could be decomposed."""
    if observed_only:
        return charts.menu_lines(
            table.assign(what=unit),
            menu="series",
            trace="what",
            x="month",
            y="observed",
            title=lambda n: f"{label}: monthly {unit}, {n}",
            x_title="Month",
            y_title=unit,
            y_format=",.0f",
        )
    return charts.menu_decomposition(frames, title=lambda n: f"{label}: monthly {unit}, {n}", y_title=unit)
