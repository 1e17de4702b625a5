"""Small-frame computations behind trends.html: latest full years, year-over-year change, trend tests.

Everything here works per *series* (source, unit, stage, country), so counts in different units are never
added or compared. A partial year (monthly data with fewer than 12 months) is never used as a full year.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from scipy import stats

from reports import numbers, queries, tables
from reports.breaks import concerns
from reports.queries import SERIES_KEYS
from reports.stats.trend import TrendResult, mk_annual, mk_monthly
from warehouse.quality import excluded_by_source

# Fewest records in the two compared years (first and last, or previous and latest) for a percent change to be
# a headline or a trend to be called significant: below it, one or two records more or less swing the figure.
MIN_RECORDS = 20
# Fewest records in the BASE year (the earlier of the two) for a percent change to be headlined. MIN_RECORDS
# alone lets 3 -> 1,200 through (+39,900%); from a base under MIN_BASE a sentence gives the two counts instead.
MIN_BASE = 20
# Largest percent a headline names: beyond +1,000% (elevenfold) a percent says nothing a reader can weigh, and
# it is most often the edge of a source's coverage rather than crime; the sentence gives the two counts.
MAX_HEADLINE_PCT = 1000.0
HEADLINE_RULE = (
    f"A percent change is headlined only from a base year with at least {MIN_BASE} records and up to "
    f"+{MAX_HEADLINE_PCT:,.0f}% (more than tenfold is said in words); otherwise the sentence gives the two "
    "counts with their years. Every change "
    "names the figures it was computed from: a change in the rate per 100,000 with the two rates, a change in "
    "the count with the two counts."
)


def headline_pct(pct: float, base: float) -> bool:
    """Whether a percent change may be named in a sentence: a finite change from a base of at least MIN_BASE
    records, no larger than MAX_HEADLINE_PCT (see HEADLINE_RULE)."""
    return bool(pd.notna(pct) and np.isfinite(pct) and pd.notna(base) and base >= MIN_BASE and pct <= MAX_HEADLINE_PCT)


def change_words(
    before: float, after: float, y0: float, y1: float, base: float, *, unit: str = "", rate: bool = False
) -> str:
    """'rose 12% from 1,000 in 2019 to 1,120 in 2024', or without the percent when HEADLINE_RULE forbids it
    ('rose from 3 in 2016 to 1,204 in 2023'): both figures and their years, always. `base` is the base year's
    record count (for a rate, its count); `rate`: the figures are rates, written by `numbers.rate`."""
    unit = f" {unit}" if unit else ""

    def shown(value: float) -> str:
        return (numbers.rate(value) or "nan") if rate else f"{value:,.0f}"

    figures = f"from {shown(before)}{unit} in {int(y0)} to {shown(after)}{unit} in {int(y1)}"
    if pd.isna(before) or pd.isna(after):
        return f"went {figures}"
    pct = (after - before) / before * 100 if before > 0 else np.nan
    if pd.notna(pct) and abs(pct) < 0.5:
        return f"was unchanged ({figures})"
    word = "rose" if after > before else "fell" if after < before else "was unchanged"
    if headline_pct(pct, base):
        return f"{word} {abs(pct):.0f}% {figures}"
    if pd.notna(pct) and pct > MAX_HEADLINE_PCT:
        return f"{word} more than tenfold {figures}"
    return f"{word} {figures}"


def dataset_label(source: str, unit: str, stage: str) -> str:
    return f"{source} — {unit} ({stage})"


def dataset_key(frame: pd.DataFrame) -> str:
    """The dataset of a frame by its keys (`dataset_label`), stable whatever the source's description: the names
    of its CSV downloads."""
    first = frame.iloc[0]
    return dataset_label(first["source"], first["unit"], first["stage"])


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


def reference_year(annual: pd.DataFrame) -> pd.DataFrame:
    """Per series: the year to show in snapshot tables. The latest full year; where a series has no full
    year at all (e.g. one month a year), its latest covered year, flagged partial and never compared."""
    full = latest_full_year(annual)
    covered = annual[annual["months"].notna()][SERIES_KEYS + ["year", "months", "partial"]].drop_duplicates()
    fallback = covered.sort_values("year").groupby(SERIES_KEYS, as_index=False).tail(1)
    fallback = fallback.rename(columns={"year": "latest"}).assign(has_previous=False)
    fallback = fallback.merge(full[SERIES_KEYS], on=SERIES_KEYS, how="left", indicator=True)
    fallback = fallback[fallback["_merge"] == "left_only"].drop(columns="_merge")
    full = full.assign(partial=False, months=np.nan)
    return pd.concat([full, fallback], ignore_index=True)


def yoy_table(annual: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Change from the previous full year to the latest full year for every category of every series, with an
    exact test of the change in counts (`p_value`); `significant` needs p < alpha and at least MIN_RECORDS
    records in the two years. Ranked within each series and level by that evidence."""
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
    out["records"] = out["count_previous"] + out["count_latest"]
    out["p_value"] = count_change_p(out["count_previous"], out["count_latest"])
    out["enough"] = out["records"] >= MIN_RECORDS
    out["significant"] = out["enough"] & (out["p_value"] < alpha)
    out["verdict"] = np.select(
        [out["records"].isna(), ~out["enough"], out["significant"] & (out["change"] > 0), out["significant"]],
        ["no count", "too few records", "significant rise", "significant fall"],
        "within chance",
    )
    # Most convincing changes first within each series and level: significant ones, then by p-value.
    out = out.assign(_order=np.where(out["enough"], out["p_value"], 2.0))
    return out.sort_values(SERIES_KEYS + ["level", "_order", "iccs_code"]).drop(columns="_order").reset_index(drop=True)


def count_change_p(before: pd.Series, after: pd.Series) -> np.ndarray:
    """Two-sided exact p-value that two yearly counts differ by more than chance: conditional on their sum n,
    the later count is Binomial(n, 1/2) when the underlying rate is the same (counts as Poisson; the small
    change in population from one year to the next is ignored). NaN where a count is missing."""
    a, b = before.to_numpy(dtype=float), after.to_numpy(dtype=float)
    valid = ~(np.isnan(a) | np.isnan(b))
    n = np.where(valid, np.rint(a) + np.rint(b), 0)
    k = np.where(valid, np.rint(b), 0)
    tail = np.minimum(stats.binom.cdf(k, n, 0.5), stats.binom.sf(k - 1, n, 0.5))
    return np.where(valid, np.minimum(1.0, 2 * tail), np.nan)


def _matrix(frame: pd.DataFrame, keys: list[str], column: str, value: str) -> pd.DataFrame:
    """Rows = series/category, columns = every period from the first to the last (absent = NaN)."""
    wide = frame.set_index(keys + [column])[value].unstack(column)
    if wide.empty:
        return wide
    full = range(int(wide.columns.min()), int(wide.columns.max()) + 1)
    return wide.reindex(columns=full)


def _first_last(matrix: np.ndarray, columns: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per row: first and last column with a value, and those values (NaN where the row is empty)."""
    if matrix.shape[1] == 0:
        nan = np.full(matrix.shape[0], np.nan)
        return nan, nan, nan, nan
    seen = ~np.isnan(matrix)
    has = seen.any(axis=1)
    first = np.where(has, seen.argmax(axis=1), 0)
    last = np.where(has, matrix.shape[1] - 1 - seen[:, ::-1].argmax(axis=1), 0)
    rows = np.arange(matrix.shape[0])
    nan = np.full(matrix.shape[0], np.nan)
    return (
        np.where(has, columns[first], nan),
        np.where(has, matrix[rows, first], nan),
        np.where(has, columns[last], nan),
        np.where(has, matrix[rows, last], nan),
    )


def trend_table(annual: pd.DataFrame, monthly: pd.DataFrame, alpha: float = 0.05) -> pd.DataFrame:
    """Mann-Kendall trend per series and ICCS category (levels in `annual`), ranked by significant change.

    Monthly sources use the seasonal test on monthly counts; annual sources the original test on full years,
    on rates per 100,000 when every full year has a population, otherwise on counts. Series are laid out as
    matrices (category x period) so that only the tests themselves run per category.
    """
    keys = SERIES_KEYS + ["iccs_code"]
    if annual.empty:
        return pd.DataFrame()
    full = annual[annual["months"].notna() & ~annual["partial"]]
    info = annual.drop_duplicates(keys).set_index(keys)[["level", "label", "monthly"]]
    counts = _matrix(full, keys, "year", "count").reindex(info.index)
    rates = _matrix(full, keys, "year", "rate_per_100k").reindex(index=info.index, columns=counts.columns)
    use_rate = counts.notna().any(axis=1) & ~(counts.notna() & rates.isna()).any(axis=1)
    measure = np.where(use_rate.to_numpy()[:, None], rates.to_numpy(), counts.to_numpy())
    years = counts.columns.to_numpy(dtype=float)
    y0, v0, y1, v1 = _first_last(measure, years)
    c0, c1 = _counts_at(counts.to_numpy(dtype=float), years, y0), _counts_at(counts.to_numpy(dtype=float), years, y1)
    r0, r1 = _counts_at(rates.to_numpy(dtype=float), years, y0), _counts_at(rates.to_numpy(dtype=float), years, y1)

    month_rows: dict[tuple, np.ndarray] = {}
    first_year = 0
    if not monthly.empty:
        first_year = int(monthly["year"].min())
        positions = monthly.assign(position=(monthly["year"] - first_year) * 12 + monthly["month"] - 1)
        wide = positions.set_index(keys + ["position"])["count"].unstack("position")
        wide = wide.reindex(columns=range(0, int(wide.columns.max()) + 1))
        month_rows = dict(zip(wide.index, wide.to_numpy(dtype=float), strict=True))

    results: list[TrendResult | None] = []
    tested: list[str] = []
    for i, (key, is_monthly) in enumerate(zip(info.index, info["monthly"], strict=True)):
        if bool(is_monthly) and key in month_rows:
            results.append(mk_monthly(month_rows[key], first_year, method="seasonal", alpha=alpha))
            tested.append("monthly count")
        else:
            results.append(mk_annual(measure[i], int(years[0]) if years.size else 0, alpha=alpha))
            tested.append("rate per 100,000" if use_rate.iloc[i] else "annual count")

    def pick(attribute: str, missing: object) -> list[object]:
        return [missing if r is None else getattr(r, attribute) for r in results]

    table = (
        info.reset_index()
        .assign(
            level=lambda f: f["level"].astype(int),
            measure=tested,
            change_measure=np.where(use_rate, "rate per 100,000", "count"),
            first_year=y0,
            first_value=v0,
            last_year=y1,
            last_value=v1,
            change_pct=np.where((v0 > 0) & (y1 > y0), (v1 - v0) / np.where(v0 > 0, v0, 1) * 100, np.nan),
            test=pick("test", "too few periods"),
            n=[
                int(np.count_nonzero(~np.isnan(row))) if r is None else r.n
                for r, row in zip(results, measure, strict=True)
            ],
            direction=pick("direction", "not tested"),
            p_value=pick("p_value", np.nan),
            slope_per_year=pick("slope_per_year", np.nan),
            relative_slope_pct=pick("relative_slope_pct", np.nan),
            significant=pick("significant", False),
            first_count=c0,
            last_count=c1,
            count_change_pct=_pct(c0, c1),
            rate_per_100k_first=r0,
            rate_per_100k_last=r1,
            rate_change_pct=_pct(r0, r1),
            records=c0 + c1,
        )
        .drop(columns="monthly")
    )
    table["enough"] = table["records"] >= MIN_RECORDS
    table["significant"] = table["significant"].astype(bool) & table["enough"]
    table["verdict"] = [
        verdict(r) for r in table[["test", "enough", "significant", "direction", "records"]].to_dict("records")
    ]
    table["rank_key"] = table["relative_slope_pct"].astype(float).abs().fillna(-1)
    table = table.sort_values(["significant", "rank_key"], ascending=[False, False]).drop(columns="rank_key")
    return table.reset_index(drop=True)


def _pct(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Percent change per element; NaN where the base is missing or not positive."""
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    safe = np.where(before > 0, before, 1.0)
    return np.where(before > 0, (after - before) / safe * 100, np.nan)


def _counts_at(counts: np.ndarray, years: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Per row: the count in the year `at` (NaN where `at` is NaN)."""
    if counts.shape[1] == 0:
        return np.full(counts.shape[0], np.nan)
    column = np.searchsorted(years, np.nan_to_num(at, nan=years[0]))
    column = np.clip(column, 0, counts.shape[1] - 1)
    return np.where(np.isnan(at), np.nan, counts[np.arange(counts.shape[0]), column])


def verdict(row: pd.Series | dict) -> str:
    """What a trend-table row allows one to say, in words for the table."""
    if row["test"] == "too few periods":
        return "too few periods"
    if not row["enough"]:
        records = row["records"]
        return "too few records" + ("" if pd.isna(records) else f" (n={records:,.0f})")
    if row["significant"]:
        return "significant rise" if row["direction"] == "increasing" else "significant fall"
    return "no significant trend"


def change_sentence(label: str, row: pd.Series | dict, unit_word: str = "", show_measure: bool = True) -> str:
    """'Theft rose 12% from 1,000 in 2019 to 1,120 in 2024 (Mann-Kendall p=0.01, significant).' from a
    trend_table row. A change in the rate per 100,000 is told with the two rates, and the count's own change
    beside it; a percent only as HEADLINE_RULE allows. `show_measure=False` when `label` already names the rate.
    """
    y0, y1 = row["first_year"], row["last_year"]
    if pd.isna(y0) or pd.isna(y1):
        return f"{label}: no full year to compare (partial years are not compared)."
    if y0 == y1:
        return f"{label}: one full year only ({int(y0)}), nothing to compare."
    records = row.get("records", np.nan)
    if pd.notna(records) and records < MIN_RECORDS:
        return (
            f"{label}: too few records to judge a trend (n={records:,.0f} in {int(y0)} and {int(y1)} together; "
            f"at least {MIN_RECORDS} needed)."
        )
    if row.get("test") == "too few periods" or pd.isna(row.get("p_value")):
        test = "too few periods for a trend test"
    else:
        verdict = "significant" if row["significant"] else "not significant"
        test = f"{row.get('test') or 'Mann-Kendall'} {format_p(row['p_value'])}, {verdict}"
    c0, c1 = row.get("first_count", np.nan), row.get("last_count", np.nan)
    if row.get("change_measure") == "rate per 100,000":
        rate = change_words(row["first_value"], row["last_value"], y0, y1, c0, rate=True)
        count = ""
        if pd.notna(c0) and pd.notna(c1):
            words = change_words(c0, c1, y0, y1, c0, unit=unit_word)
            count = f"; the count {words}"
        subject = f"{label}: the rate per 100,000" if show_measure else label
        return f"{subject} {rate} ({test}{count})."
    counts = change_words(
        c0 if pd.notna(c0) else row["first_value"],
        c1 if pd.notna(c1) else row["last_value"],
        y0,
        y1,
        c0,
        unit=unit_word,
    )
    return f"{label} {counts} ({test})."


def strongest_both_ways(t: pd.DataFrame) -> pd.DataFrame:
    """The strongest significant rise and the strongest significant fall of a trend table (each the largest
    Sen's slope of its direction, as % of the median level), rise first: a headline names both directions."""
    sig = t[t["significant"].astype(bool)]
    picked = []
    for direction in ("increasing", "decreasing"):
        rows = sig[sig["direction"] == direction]
        if not rows.empty:
            picked.append(rows.loc[rows["relative_slope_pct"].astype(float).abs().fillna(-1).idxmax()])
    return pd.DataFrame(picked)


TREND_COLUMNS = [
    "first_year",
    "last_year",
    "first_count",
    "last_count",
    "count_change_pct",
    "rate_per_100k_first",
    "rate_per_100k_last",
    "rate_change_pct",
]


def trend_labels(unit: str) -> dict[str, str]:
    """Headers of the first/last-year columns of a trend table: each change sits beside the figures it is
    computed from, and says whether it is a change in the count or in the rate per 100,000."""
    return {
        "first_year": "first full year",
        "last_year": "last full year",
        "first_count": f"{unit}, first year",
        "last_count": f"{unit}, last year",
        "count_change_pct": "change in count, first to last year",
        "rate_per_100k_first": "rate per 100,000, first year",
        "rate_per_100k_last": "rate per 100,000, last year",
        "rate_change_pct": "change in rate per 100,000, first to last year",
    }


TREND_KINDS = {"count_change_pct": tables.CHANGE, "rate_change_pct": tables.CHANGE}
# Columns of trend_table kept out of CSV downloads: the change of whichever measure was tested, which a reader
# could take for the count's; the CSV has count_change_pct and rate_change_pct instead, and `measure`.
INTERNAL_COLUMNS = ["change_pct", "first_value", "last_value", "change_measure"]


def outside_note(con, sources: Iterable[str]) -> str:
    """A metadata line naming, per source, the records its correspondence table places outside ICCS: not counted
    in any figure here, on purpose (never 'unmapped'); '' when there are none."""
    wanted = set(sources)
    outside = excluded_by_source(con)
    outside = outside[outside["source"].isin(wanted) & (outside["records_excluded"] > 0)]
    if outside.empty:
        return ""
    levels = queries.source_levels(con)
    return "; ".join(
        f"{r.source}: {r.records_excluded:,} {'table cells' if levels.get(r.source) == 'aggregate' else 'records'} "
        "outside ICCS by the correspondence table, not counted here (left out on purpose; quality.html lists them)"
        for r in outside.itertuples()
    )


def break_note(breaks: pd.DataFrame, source: str, codes: Iterable[str], first_year: float, last_year: float) -> str:
    """A sentence naming the declared series breaks of `source` that concern `codes` (the category or an
    ancestor series of the break's code) between `first_year` and `last_year`, or '' when there is none: a change
    across a break may come from recording rather than crime."""
    if breaks.empty or pd.isna(first_year) or pd.isna(last_year):
        return ""
    year = pd.to_numeric(breaks["period"].astype(str).str[:4], errors="coerce")
    mine = breaks[(breaks["source"] == source) & (year >= first_year) & (year <= last_year)]
    codes = list(codes)
    hits = [r for r in mine.to_dict("records") if any(concerns(r["iccs_code"], c) for c in codes)]
    if not hits:
        return ""
    listed = "; ".join(
        (f"{r['iccs_code']} " if isinstance(r["iccs_code"], str) else "") + f"{r['kind']} {r['period']}" for r in hits
    )
    return f" A series break lies in this period ({listed}): part of the change may come from recording, not crime."


def format_p(p: float) -> str:
    """'p<0.001' or 'p=0.049' (see tables.format_p)."""
    text = tables.format_p(p)
    return f"p{text}" if text.startswith("<") else f"p={text}"
