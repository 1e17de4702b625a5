"""The words of patterns.html: one plain sentence per finding, what was tested, and the methods in plain words.

Every number goes through one rule (`amount`, `times`, `q_text`, `share_text`, `numbers.signed_pct`), so a card's
sentence, its chart's hover and the CSV never disagree on what a figure is. The sentences are plain text; the page
escapes them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from reports import numbers
from reports.breaks import category_label
from reports.stats import anomaly_months as months
from reports.stats import change_points as shifts
from reports.stats import mix_change as mix
from reports.stats import patterns


@dataclass(frozen=True)
class Kind:
    title: str  # the section's title
    what: str  # what a finding is, in the plural ("unusual months")
    series: str  # what was tested, counted in anomaly_tests.series
    test: str  # one test, counted in anomaly_tests.tests


KINDS: dict[str, Kind] = {
    "outlying_month": Kind("Unusual months", "unusual months", "series", "month"),
    "level_shift": Kind("Level shifts", "level shifts", "series", "candidate shift"),
    "mix_change": Kind("Offence mix changes", "offence mix changes", "area", "area"),
}
TOP = 30  # cards shown per section (per group of level shifts); the CSV has every finding

INTRO = (
    "What deserves an analyst's look: months far from what a series' trend and season lead one to expect, series "
    "whose level stepped up or down and stayed there, and places whose mix of offences changed unlike the rest "
    "of the country's. Each is found by a statistical test over the series of every source that can be tested "
    "(what was and was not tested is said below), inside its coverage window, with the false discovery rate "
    "controlled over all the tests of a kind.\n\n"
    "A flag is a pointer to look, not a finding: an unusual figure can come from a change in recording, a "
    "late or missing delivery, a reclassification or a single large case as much as from a change in crime. "
    "Shifts that coincide with a declared series break or a change of the correspondence table are shown apart "
    "as likely recording changes."
)
CAUTION = (
    "A flag is a pointer to look, not a finding: the tests say a figure is unlikely under the series' own "
    "pattern, not why. Recorded crime reflects reporting and recording practice as well as crime."
)
METHODS: dict[str, dict[str, str]] = {
    "outlying_month": {
        "Expected": "every monthly series (per area and for the national figure, per ICCS level-2 category and "
        "SDG 16 code) is put on a square-root (Anscombe) scale and decomposed by STL into a trend over about "
        f"{months.TREND_WINDOW} months and one seasonal pattern for all years; the expected count of a month is its "
        f"trend plus its season. A month scoring beyond {months.REJECT_Z:g} is refitted without itself, so a spike "
        "does not raise its own expected value. A level shift found in the series (p at most "
        f"{patterns.SHIFT_OFFSET_P:g} before the FDR, and at least {shifts.MIN_CHANGE:.0%}) is removed first, so it "
        "is not read as unusual months on either side of it; the month before it and its first month are not "
        "scored, as they depend on exactly where the step is put. Nested codes flagged in the same month (an "
        "SDG 16 code inside its level-2 category) are shown as one finding, 'also in' the finer code.",
        "Score": "the month's distance from its expected value in units of the series' own noise (never less "
        "than a Poisson count's), corrected for how much of the month the fit itself contains; p is two-sided "
        "normal. Negative when the month was unusually low. The band on the chart is the 95% range of a month "
        "given its expected value and that noise.",
        "Size": f"a month is flagged only if it is also large in counts: at least {months.MIN_COUNT} recorded "
        f"(or expected, for a low month) and at least {months.MIN_RATIO:g} times (or at most 1/{months.MIN_RATIO:g} "
        "of) the expected count.",
        "Which series": f"series with fewer than {months.MIN_MONTHS} usable months inside the coverage window (a "
        f"gap of more than two missing months cuts a series), or with no month reaching {months.MIN_COUNT}, are "
        "not tested. A month in which the area (or the source) reported nothing at all is missing, not zero.",
    },
    "level_shift": {
        "Change points": "candidate shifts are found by PELT (ruptures) on each deseasonalised series averaging "
        f"at least {patterns.MIN_SHIFT_MEAN:g} a month, with the penalty {shifts.PENALTY_FACTOR:g}·sigma²·log(n) "
        "(a stricter form of the BIC-type penalty 2·sigma²·log(n); sigma from the month-to-month differences).",
        "Test": f"each candidate is tested by regressing the {shifts.WINDOW} months either side of it on a cubic "
        "trend and a step at the candidate, allowing for the months' autocorrelation (Cochrane-Orcutt), so slow "
        "cycles and runs of high months are not read as steps; the score is the step's t, and its p-value is "
        "multiplied by the number of months a step could have been placed at (the search chose the best). The "
        "levels reported are the trend's just before and just after the step, so growth over the years is not a "
        f"step; a shift is flagged only if they differ by at least {shifts.MIN_CHANGE:.0%}. Benjamini-Hochberg "
        "runs over the candidate shifts (a series PELT finds no candidate in adds no test).",
        "Recording changes": f"a shift within {patterns.RECORDING_MONTHS} months of a declared series break of "
        "its category (quality page) or of a date where the source's correspondence table changes is labelled "
        "a likely recording change: it says how crimes were counted changed, not that crime rose or fell.",
    },
    "mix_change": {
        "Test": "for each area, its counts by ICCS level-2 category in the first and last full years of the "
        "window are set beside the same counts for the rest of the country, and a log-linear model in which "
        "the area's mix may differ from the rest's and the mix may change, but changes alike in both, is "
        "fitted; its G statistic (chi-square, categories − 1 degrees of freedom) tests whether the area "
        "changed unlike the rest. Categories with fewer than "
        f"{mix.MIN_CATEGORY} records in the area are pooled as 'other'.",
        "Expected": "the count a category would have had in the last year had the area's mix changed as the "
        "rest of the country's did; the category named is the one furthest from it.",
        "Which areas": f"areas with at least {mix.MIN_RECORDS} records in each of the two years and two categories "
        "after pooling; a flag also needs the category that moved most to differ from its expected share by "
        f"{mix.MIN_SHARE_CHANGE:.0%} or more. A source of several countries is tested country by country.",
    },
}
COMMON = {
    "False discovery rate": "q-values are Benjamini-Hochberg adjusted over every test of a kind in this "
    "warehouse (all months of all series of every source, all candidate shifts, all areas); a finding is "
    "flagged when q is below the false discovery rate, 10%: about one flag in ten may be chance.",
    "Caution": CAUTION,
}


def amount(value: float | None) -> str:
    """A count or mean count: whole from 10 up ('1,204', '41'), one decimal below ('2.4', '3'), '–' for none."""
    if value is None or not math.isfinite(value):
        return "–"
    text = f"{abs(value):,.0f}" if abs(value) >= 10 else f"{abs(value):.1f}".removesuffix(".0")
    return (numbers.MINUS if value < 0 and text.strip("0.") else "") + text


def times(observed: float, expected: float) -> str:
    """'2.4×', '0.3×', '12×' (no ratio to an expected count of zero: '')."""
    if not (math.isfinite(observed) and math.isfinite(expected)) or expected <= 0:
        return ""
    ratio = observed / expected
    return f"{ratio:,.0f}×" if ratio >= 10 else f"{ratio:.1f}×" if ratio >= 0.1 else f"{ratio:.2f}×"


def q_text(q: float | None) -> str:
    """'q < 0.001', 'q = 0.004', 'q = 0.03' ('' when no q-value was computed)."""
    if q is None or not math.isfinite(q):
        return ""
    if q < 0.001:
        return "q < 0.001"
    return f"q = {q:.3f}" if q < 0.01 else f"q = {q:.2f}"


def share_text(share: float | None) -> str:
    """A share as a percentage: '21 %', '3.5 %', '0.4 %' ('–' for none)."""
    if share is None or not math.isfinite(share):
        return "–"
    pct = share * 100
    return f"{pct:.0f} %" if pct >= 10 else f"{pct:.1f} %"


def fdr_text(fdr: float | None) -> str:
    return f"{(0.1 if fdr is None or not math.isfinite(fdr) else fdr) * 100:g} %"


def iccs_name(code: str) -> str:
    """'Burglary (0501)'; the bare code when ICCS does not know it."""
    label = category_label(code)
    return f"{label} ({code})" if label else str(code)


def place_in(place: object) -> str:
    """'in Ashby Vale (D23)', or 'nationally' for the national figure."""
    return f"in {place}" if isinstance(place, str) and place else "nationally"


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def _q_clause(q: float | None) -> str:
    text = q_text(q)
    return f" ({text})" if text else ""


def month_sentence(row: pd.Series) -> str:
    """'In Ashby Vale (D23), Burglary (0501) recorded in 2023-03 was 98 offences, 2.4× the expected 41 (q < 0.001).'"""
    observed, expected = float(row["observed"]), float(row["expected"])
    ratio = times(observed, expected)
    against = f"{ratio} the expected {amount(expected)}" if ratio else f"against an expected {amount(expected)}"
    low = " — unusually low" if observed < expected else ""
    return (
        f"{_capital(place_in(row['place']))}, {iccs_name(row['iccs_code'])} recorded in {row['period']} was "
        f"{amount(observed)} {row['unit']}, {against}{low}{_q_clause(row['q_value'])}."
    )


def shift_sentence(row: pd.Series) -> str:
    """'From 2022-07, Burglary (0501) in Ashby Vale (D23) stepped up from 41 to 74 a month (+80 %; q < 0.001).',
    with '— likely a recording change: <note>' where it coincides with one."""
    after, before = float(row["observed"]), float(row["expected"])
    way = "up" if after >= before else "down"
    change = numbers.signed_pct((after / before - 1) * 100, decimals=0) if before > 0 else ""
    detail = "; ".join(t for t in (change, q_text(row["q_value"])) if t)
    text = (
        f"From {row['period']}, {iccs_name(row['iccs_code'])} {place_in(row['place'])} stepped {way} from "
        f"{amount(before)} to {amount(after)} {row['unit']} a month" + (f" ({detail})" if detail else "")
    )
    if bool(row["recording_change"]):
        note = str(row["note"]).strip().rstrip(".") if isinstance(row["note"], str) and row["note"].strip() else ""
        return text + " — likely a recording change" + (f": {note}." if note else ", not a change in crime.")
    return text + "."


def also_moved(note: object, code: str) -> str:
    """The categories the note names besides the one the sentence is about ('' when none)."""
    if not isinstance(note, str):
        return ""
    parts = [p.strip() for p in note.split(";") if p.strip() and not p.strip().startswith(str(code))]
    return "; ".join(parts)


def mix_sentence(row: pd.Series, shares: pd.DataFrame | None) -> str:
    """'In Ashby Vale (D23), Burglary (0501) made up 21 % of recorded offences in 2024 against 12 % in 2019; had the
    mix changed as in the rest of the country it would have been 235, not 410 (q < 0.001). Also moved: …'"""
    code = row["iccs_code"]
    where, name, last, first = _capital(place_in(row["place"])), iccs_name(code), row["period"], row["baseline_period"]
    mine = None if shares is None else shares[shares["code"] == code]
    if mine is not None and len(mine):
        share = mine.iloc[0]
        head = (
            f"{where}, {name} made up {share_text(share['last_share'])} of recorded {row['unit']} in {last} "
            f"against {share_text(share['base_share'])} in {first}"
        )
    else:
        head = f"{where}, the mix of recorded {row['unit']} changed between {first} and {last}, most for {name}"
    text = (
        f"{head}; had the mix changed as in the rest of the country it would have been "
        f"{amount(row['expected'])}, not {amount(row['observed'])}{_q_clause(row['q_value'])}."
    )
    others = also_moved(row["note"], code)
    return text + (f" Also moved: {others}." if others else "")


SENTENCES = {"outlying_month": month_sentence, "level_shift": shift_sentence}


def tested_sentence(name: str, unit: str, rows: pd.DataFrame) -> str:
    """What was tested for one source and unit, every kind in one sentence: '… Unusual months: 1,204 series and
    86,000 months tested, 12 flagged; …'."""
    parts = []
    for kind, spec in KINDS.items():
        found = rows[rows["kind"] == kind]
        if found.empty:
            continue
        r = found.iloc[0]
        if int(r["series"]) == 0:
            reason = f" ({r['note']})" if isinstance(r["note"], str) and r["note"] else ""
            parts.append(f"{spec.what}: not tested{reason}")
            continue
        what = numbers.plural(int(r["series"]), spec.series)
        if spec.test != spec.series:
            what += f" and {numbers.plural(int(r['tests']), spec.test)}"
        parts.append(f"{spec.what}: {what} tested, {int(r['flagged']):,} flagged at FDR {fdr_text(r['fdr'])}")
    return f"{name} ({unit}) — " + "; ".join(parts) + "." if parts else f"{name} ({unit}): nothing tested."


def nothing_flagged(kind: str, rows: pd.DataFrame) -> str:
    """The line of a section with no finding: 'Nothing flagged at FDR 10 % among 1,204 series tested.'"""
    spec = KINDS[kind]
    found = rows[rows["kind"] == kind]
    series = int(found["series"].sum()) if len(found) else 0
    if series == 0:
        return f"No {spec.series} was tested for {spec.what}."
    fdr = fdr_text(float(found["fdr"].max()))
    return f"Nothing flagged at FDR {fdr} among {numbers.plural(series, spec.series)} tested."


def shown_line(total: int, shown: int, what: str) -> str:
    """'The 30 strongest of 112 unusual months, strongest first; the other 82 are in the CSV below.'"""
    if total <= shown:
        return f"{numbers.plural(total, 'finding')}, strongest first (smallest q, then largest score)."
    return (
        f"The {shown} strongest of {total:,} {what}, strongest first (smallest q, then largest score); "
        f"and {total - shown:,} more in the CSV below."
    )
