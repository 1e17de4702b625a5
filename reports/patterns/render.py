"""patterns.html itself: what was tested, then one section per kind of finding (unusual months, level shifts,
offence mix changes), each a ranked list of cards — one plain sentence and a small chart — and a table of every
finding with its CSV."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from reports import names, numbers, page, tables
from reports.patterns import data, figures
from reports.patterns.text import (
    COMMON,
    INTRO,
    KINDS,
    METHODS,
    SENTENCES,
    TOP,
    amount,
    fdr_text,
    mix_sentence,
    nothing_flagged,
    shown_line,
    tested_sentence,
)

FILENAME = "patterns.html"
TITLE = "Patterns worth a look"
# The cards: two a row on a wide screen, one on a narrow one; a card's chart is smaller than a section's.
STYLE = """<style>
.cards { display:grid; grid-template-columns:repeat(auto-fill, minmax(470px, 1fr)); gap:1rem; margin:.5rem 0 1rem; }
.card { border:1px solid var(--line); border-radius:6px; padding:.6rem .8rem; background:#fff; }
.card p.finding { margin:.1rem 0 .3rem; }
.card p.finding .rank { color:var(--muted); font-weight:600; margin-right:.3rem; }
.card p.recording { color:var(--warn); }
.card .chart { min-height:0; }
ul.tested li { margin:.3rem 0; }
</style>"""
NO_TABLES = (
    "This warehouse holds no patterns: its tables of findings (anomalies, anomaly_series, anomaly_tests) are not "
    "there, because it was written before they existed or opened read-only without being upgraded. Run "
    "`iccs run` on it to compute them."
)
SCORE = {"outlying_month": "z", "level_shift": "t", "mix_change": "G"}


def render_patterns(con: duckdb.DuckDBPyConnection, out_dir: Path) -> Path:
    """Write patterns.html into `out_dir` and return its path."""
    notice = names.data_notice(con)
    if not data.readable(con):
        note = page.paragraph(NO_TABLES, cls="note")
        return page.write_page(
            out_dir, FILENAME, TITLE, [page.section_html("No patterns computed", note)], intro=INTRO, notice=notice
        )
    source_names = names.source_names(con)
    tested = data.tested(con)
    found = {kind: data.findings(con, kind) for kind in KINDS}
    sections = [STYLE + _summary_section(tested, found, source_names)]
    sections += [_kind_section(con, kind, found[kind], tested, source_names) for kind in KINDS]
    return page.write_page(out_dir, FILENAME, TITLE, sections, intro=INTRO, notice=notice)


def _named(frame: pd.DataFrame, source_names: dict[str, str]) -> pd.Series:
    return frame["source"].map(lambda s: source_names.get(s, s))


def _summary_section(tested: pd.DataFrame, found: dict[str, pd.DataFrame], source_names: dict[str, str]) -> str:
    if tested.empty:
        body = page.paragraph(
            "No series was tested: no source has series inside its coverage window long enough to test.", cls="note"
        )
        return page.section_html("What was tested", body, metadata=COMMON)
    lines = []
    for (source, unit), rows in tested.groupby(["source", "unit"], sort=True):
        lines.append(f"<li>{page.esc(tested_sentence(source_names.get(source, source), unit, rows))}</li>")
    shifts = found["level_shift"]
    recording = int(shifts["recording_change"].sum()) if len(shifts) else 0
    months = len(found["outlying_month"])
    summary = (
        f"Flagged: {months:,} unusual {'month' if months == 1 else 'months'}, "
        f"{numbers.plural(len(shifts), 'level shift')}"
        + (f" ({_recording(recording)})" if recording else "")
        + f" and {numbers.plural(len(found['mix_change']), 'offence mix change')}, "
        f"over the series of {numbers.plural(tested['source'].nunique(), 'source')}."
    )
    table = tested.assign(
        source=_named(tested, source_names), kind=tested["kind"].map(lambda k: KINDS[k].title if k in KINDS else k)
    )
    body = f'<ul class="tested">{"".join(lines)}</ul>' + tables.table_html(
        table,
        caption="What was tested, per source, counting unit and kind",
        csv_name="patterns_tested",
        labels={"series": "series (or areas) tested", "tests": "tests", "flagged": "flagged", "fdr": "FDR"},
        kinds={"series": tables.COUNT, "tests": tables.COUNT, "flagged": tables.COUNT, "fdr": tables.SHARE},
    )
    return page.section_html("What was tested", body, summary=summary, metadata=COMMON)


def _kind_section(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    found: pd.DataFrame,
    tested: pd.DataFrame,
    source_names: dict[str, str],
) -> str:
    spec = KINDS[kind]
    metadata = dict(METHODS[kind])
    untested = tested[(tested["kind"] == kind) & tested["note"].notna() & (tested["note"].astype(str) != "")]
    if len(untested):
        metadata["Not tested"] = "; ".join(
            f"{source_names.get(r.source, r.source)} ({r.unit}): {r.note}" for r in untested.itertuples()
        )
    metadata |= COMMON
    if found.empty:
        body = page.paragraph(nothing_flagged(kind, tested), cls="note")
        return page.section_html(spec.title, body, metadata=metadata)
    if kind == "level_shift":
        crime = found[~found["recording_change"]]
        recording = found[found["recording_change"]]
        groups = [
            ("Shifts in the recorded figures", crime, "level shifts not at a known recording change"),
            ("Likely recording changes", recording, "level shifts at a declared break or correspondence change"),
        ]
        shown = pd.concat([g.head(TOP) for _, g, _ in groups])
    else:
        groups = [("", found, spec.what)]
        shown = found.head(TOP)
    rows = data.series(con, kind, shown["rank"].tolist())
    blocks = []
    for title, group, what in groups:
        if group.empty:
            if title:
                blocks.append(page.block_html(title, page.paragraph("None.", cls="muted")))
            continue
        cards = "".join(_card(kind, r, _series_of(rows, r), source_names) for _, r in group.head(TOP).iterrows())
        body = page.paragraph(shown_line(len(group), min(TOP, len(group)), what)) + f'<div class="cards">{cards}</div>'
        blocks.append(page.block_html(title, body) if title else body)
    blocks.append(_table(kind, found, source_names))
    summary = flagged_line(kind, found, tested)
    return page.section_html(spec.title, "".join(blocks), summary=summary, metadata=metadata)


def _recording(n: int) -> str:
    return f"{n:,} likely {'a recording change' if n == 1 else 'recording changes'}"


def flagged_line(kind: str, found: pd.DataFrame, tested: pd.DataFrame) -> str:
    """'4 unusual months flagged at FDR 10 % among 120 series tested.' (level shifts: how many are likely recording
    changes)."""
    spec = KINDS[kind]
    rows = tested[tested["kind"] == kind]
    series = int(rows["series"].sum())
    fdr = fdr_text(float(rows["fdr"].max())) if len(rows) else fdr_text(None)
    what = spec.what if len(found) != 1 else spec.what.removesuffix("s")
    text = f"{len(found):,} {what} flagged at FDR {fdr}"
    if series:
        text += f" among {numbers.plural(series, spec.series)} tested"
    recording = int(found["recording_change"].sum()) if kind == "level_shift" else 0
    return text + (f" ({_recording(recording)})" if recording else "") + "."


def _series_of(rows: pd.DataFrame, r: pd.Series) -> pd.DataFrame:
    same = (rows["source"] == r["source"]) & (rows["unit"] == r["unit"]) & (rows["iccs_code"] == r["iccs_code"])
    same &= rows["country"] == r["country"]
    area = rows["area"].isna() if pd.isna(r["area"]) else rows["area"] == r["area"]
    return rows[same & area].reset_index(drop=True)


def _signed(kind: str, value: float) -> str:
    """A score with one decimal, signed (a true minus) where it has a direction: '+6.2', '−4.8'; G unsigned."""
    if pd.isna(value):
        return ""
    sign = numbers.MINUS if value < 0 else "+" if kind != "mix_change" and value > 0 else ""
    return f"{sign}{abs(value):,.1f}"


def _score(kind: str, r: pd.Series) -> str:
    text = _signed(kind, r["score"])
    return f"{SCORE[kind]} = {text}" if text else f"{SCORE[kind]} not computed"


def _card(kind: str, r: pd.Series, rows: pd.DataFrame, source_names: dict[str, str]) -> str:
    title = figures.chart_title(r)
    unit = str(r["unit"])
    div_id = f"patterns-{kind}-{int(r['rank'])}"
    shares = None
    if kind == "mix_change":
        shares = data.mix_shares(rows, r["baseline_period"], r["period"]) if len(rows) else None
        sentence = mix_sentence(r, shares)
    else:
        sentence = SENTENCES[kind](r)
    if rows.empty:
        chart = page.paragraph("No chart: the series behind this finding is not in anomaly_series.", cls="muted")
    elif kind == "outlying_month":
        chart = page.figure_html(figures.month_chart(rows, r["period"], title, unit), div_id=div_id)
    elif kind == "level_shift":
        figure = figures.shift_chart(rows, r["period"], title, unit, bool(r["recording_change"]))
        chart = page.figure_html(figure, div_id=div_id)
    else:
        figure = figures.mix_chart(shares, r["iccs_code"], r["baseline_period"], r["period"], title, unit)
        chart = page.figure_html(figure, div_id=div_id)
    cls = "finding recording" if kind == "level_shift" and bool(r["recording_change"]) else "finding"
    source = f"{source_names.get(r['source'], r['source'])} — {unit}; {_score(kind, r)}"
    return (
        f'<div class="card" id="{page.esc(div_id)}-card"><p class="{cls}"><span class="rank">{int(r["rank"])}.</span>'
        f"{page.esc(sentence)}</p>{page.paragraph(source, cls='muted')}{chart}</div>"
    )


def _table(kind: str, found: pd.DataFrame, source_names: dict[str, str]) -> str:
    """Every finding of the kind, strongest first; the CSV keeps the raw columns of ``anomalies``."""
    table = pd.DataFrame(
        {
            "rank": found["rank"],
            "source": _named(found, source_names),
            "unit": found["unit"],
            "place": found["place"].fillna("national"),
            "ICCS code": found["iccs_code"],
            "period": found["period"],
            "observed": found["observed"].map(amount),
            "expected": found["expected"].map(amount),
            SCORE[kind]: [_signed(kind, v) for v in found["score"]],
            "q": found["q_value"],
        }
    )
    if kind == "level_shift":
        table["recording change"] = found["recording_change"].astype(bool)
    if kind == "mix_change":
        table.insert(5, "first year", found["baseline_period"])
    table["note"] = found["note"]
    csv = found.drop(columns=["kind"]).rename(columns={"place": "area_name"})
    return page.block_html(
        f"Every {KINDS[kind].what.removesuffix('s')}",
        tables.table_html(
            table,
            caption=f"{KINDS[kind].title}: every finding, strongest first",
            csv_name=f"patterns_{kind}",
            kinds={"q": tables.P_VALUE, "rank": tables.COUNT},
            csv=csv,
        ),
    )
