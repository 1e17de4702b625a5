"""Small-frame computations behind trends.html: latest full years, year-over-year change, trend tests.

Everything here works per *series* (source, unit, stage, country), so counts in different units are never
added or compared. A partial year (monthly data with fewer than 12 months) is never used as a full year.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from reports.stats.trend import TrendResult, annual_trend, monthly_trend, percent_change
from reports.trend_data import SERIES_KEYS


def dataset_label(source: str, unit: str, stage: str) -> str:
    return f"{source} — {unit} ({stage})"


def category_label(code: str, label: str) -> str:
    return f"{code} {label}"


def full_years(annual: pd.DataFrame) -> pd.DataFrame:
    """Per series: every covered full year, with its predecessor when that is also a covered full year."""
    covered = annual[annual["months"].notna() & ~annual["partial"]][SERIES_KEYS + ["year"]].drop_duplicates()
    previous = covered.assign(year=covered["year"] + 1, has_previous=True)
    merged = covered.merge(previous, on=SERIES_KEYS + ["year"], how="left")
    return merged.assign(has_previous=merged["has_previous"].eq(True))


def latest_full_year(annual: pd.DataFrame) -> pd.DataFrame:
    """Per series: the latest covered full year and whether the year before it is a full year too."""
    years = full_years(annual)
    if years.empty:
        return years.assign(latest=pd.Series(dtype=int))
    latest = years.sort_values("year").groupby(SERIES_KEYS, as_index=False).tail(1)
    return latest.rename(columns={"year": "latest"})


def yoy_table(annual: pd.DataFrame) -> pd.DataFrame:
    """Change from the previous full year to the latest full year for every category of every series."""
    latest = latest_full_year(annual)
    latest = latest[latest["has_previous"]]
    cols = SERIES_KEYS + ["iccs_code", "level", "label", "section", "year", "count", "rate_per_100k"]
    last = annual[cols].merge(latest[SERIES_KEYS + ["latest"]], on=SERIES_KEYS)
    last = last[last["year"] == last["latest"]]
    prev = annual[cols].merge(latest[SERIES_KEYS + ["latest"]], on=SERIES_KEYS)
    prev = prev[prev["year"] == prev["latest"] - 1]
    keys = SERIES_KEYS + ["iccs_code", "level", "label", "section"]
    out = prev[keys + ["year", "count", "rate_per_100k"]].merge(
        last[keys + ["year", "count", "rate_per_100k"]], on=keys, suffixes=("_previous", "_latest")
    )
    out["change"] = out["count_latest"] - out["count_previous"]
    out["change_pct"] = np.where(
        out["count_previous"] > 0, out["change"] / out["count_previous"].where(out["count_previous"] > 0) * 100, np.nan
    )
    out["rate_change_pct"] = (out["rate_per_100k_latest"] / out["rate_per_100k_previous"] - 1) * 100
    return out.sort_values(SERIES_KEYS + ["iccs_code"]).reset_index(drop=True)


def _endpoints(g: pd.DataFrame, measure: str) -> tuple[float, float, float, float]:
    full = g[g["months"].notna() & ~g["partial"] & g[measure].notna()]
    if full.empty:
        return (np.nan,) * 4
    first, last = full.iloc[0], full.iloc[-1]
    return float(first["year"]), float(first[measure]), float(last["year"]), float(last[measure])


def trend_table(annual: pd.DataFrame, monthly: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Mann-Kendall trend per series and ICCS category (levels in `annual`), ranked by significant change.

    Monthly sources use the seasonal test on monthly counts; annual sources the original test on full years,
    on rates per 100,000 when every full year has a population, otherwise on counts.
    """
    rows: list[dict[str, object]] = []
    monthly_groups = (
        {key: g for key, g in monthly.groupby(SERIES_KEYS + ["iccs_code"], sort=False)} if not monthly.empty else {}
    )
    for key, g in annual.sort_values("year").groupby(SERIES_KEYS + ["iccs_code"], sort=False):
        full = g[g["months"].notna() & ~g["partial"] & g["count"].notna()]
        use_rate = not full.empty and full["rate_per_100k"].notna().all()
        measure = "rate_per_100k" if use_rate else "count"
        result: TrendResult | None
        if bool(g["monthly"].iloc[0]) and key in monthly_groups:
            m = monthly_groups[key]
            result = monthly_trend(m.set_index(["year", "month"])["count"], method="seasonal", alpha=alpha)
            tested = "monthly count"
        else:
            result = annual_trend(full.set_index("year")[measure], alpha=alpha)
            tested = "rate per 100,000" if use_rate else "annual count"
        y0, v0, y1, v1 = _endpoints(g, measure)
        first = g.iloc[0]
        row: dict[str, object] = dict(zip(SERIES_KEYS + ["iccs_code"], key, strict=True))
        row.update(
            level=int(first["level"]),
            label=first["label"],
            measure=tested,
            change_measure="rate per 100,000" if use_rate else "count",
            first_year=y0,
            first_value=v0,
            last_year=y1,
            last_value=v1,
            change_pct=percent_change(v0, v1),
        )
        if result is None:
            row.update(
                test="too few periods",
                n=int(full.shape[0]),
                direction="not tested",
                p_value=np.nan,
                slope_per_year=np.nan,
                relative_slope_pct=np.nan,
                significant=False,
            )
        else:
            row.update(
                test=result.test,
                n=result.n,
                direction=result.direction,
                p_value=result.p_value,
                slope_per_year=result.slope_per_year,
                relative_slope_pct=result.relative_slope_pct,
                significant=result.significant,
            )
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table["rank_key"] = table["relative_slope_pct"].abs().fillna(-1)
    table = table.sort_values(["significant", "rank_key"], ascending=[False, False]).drop(columns="rank_key")
    return table.reset_index(drop=True)


def change_sentence(label: str, row: pd.Series | dict, unit_word: str = "", show_measure: bool = True) -> str:
    """'Theft rose 12% from 2019 to 2024 (Mann-Kendall p=0.01)' from a trend_table row."""
    y0, y1, v0, v1 = row["first_year"], row["last_year"], row["first_value"], row["last_value"]
    if pd.isna(y0) or pd.isna(y1) or y0 == y1:
        return f"{label}: fewer than two full years to compare."
    pct = row["change_pct"]
    if pd.isna(pct):
        change = f"went from {v0:,.0f} to {v1:,.0f}{(' ' + unit_word) if unit_word else ''}"
    elif abs(pct) < 0.5:
        change = "was unchanged"
    else:
        change = f"{'rose' if pct > 0 else 'fell'} {abs(pct):.0f}%"
    if row.get("test") == "too few periods" or pd.isna(row.get("p_value")):
        test = "too few periods for a trend test"
    else:
        verdict = "significant" if row["significant"] else "not significant"
        test = f"Mann-Kendall {format_p(row['p_value'])}, {verdict}"
    measure = " (rate per 100,000)" if show_measure and row.get("change_measure") == "rate per 100,000" else ""
    return f"{label}{measure} {change} from {int(y0)} to {int(y1)} ({test})."


def format_p(p: float) -> str:
    return "p<0.001" if p < 0.001 else f"p={p:.3f}" if p < 0.01 else f"p={p:.2f}"
