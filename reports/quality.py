"""quality.html: what came in, what was loaded, what was set aside and why, and where the data has holes.

Every number a user reads elsewhere rests on this page: records in = loaded + quarantined per source, the
reasons and the unmapped national codes by volume, a periods × areas heat map of coverage (a missing month is a
hole, not a zero), the categories that appear or vanish (a recording change, not a trend), and the contract
rules over the loaded tables. Completeness is read from the ``completeness`` and ``series_breaks`` tables the
pipeline writes, or computed on the spot (read-only) for a source that has none yet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from reports import coverage_window, page, queries
from reports.totals import totals_section
from warehouse import completeness, quality

HEATMAP_ROW_PX = 22
MISSING_COLOUR = "#d62728"
RECORDS_SCALE = [[0.0, "#deebf7"], [0.5, "#6baed6"], [1.0, "#08306b"]]  # light = few records, dark = many
MIN_CHART_PX = 420  # the page's chart box is at least this tall
LOAD_LABELS = {
    "records_in": "records in",
    "records_loaded": "loaded",
    "records_quarantined": "quarantined",
    "quarantined_share": "share quarantined",
    "balanced": "in = loaded + quarantined",
    "quarantine_rows": "rows in quarantine now",
    "last_loaded": "last loaded",
}


def _coverage(con: duckdb.DuckDBPyConnection, source: str) -> pd.DataFrame:
    if queries.table_exists(con, "completeness"):
        stored = con.execute("SELECT source, area, period, present, records FROM completeness WHERE source = ? "
                             "ORDER BY area NULLS FIRST, period", [source]).fetch_df()
        if not stored.empty:
            return stored
    return completeness.coverage(con, source)


def _breaks(con: duckdb.DuckDBPyConnection, sources: list[str]) -> pd.DataFrame:
    stored = (con.execute("SELECT source, iccs_code, period, kind, detail FROM series_breaks ORDER BY ALL").fetch_df()
              if queries.table_exists(con, "series_breaks") else pd.DataFrame())
    have = set(stored["source"]) if not stored.empty else set()
    computed = [completeness.series_breaks(con, s) for s in sources if s not in have]
    frames = [f for f in [stored, *computed] if not f.empty]
    if not frames:
        return pd.DataFrame(columns=["source", "iccs_code", "period", "kind", "detail"])
    return pd.concat(frames, ignore_index=True)


def _heatmap(cov: pd.DataFrame, source: str) -> dict[str, Any]:
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
    hole_text = [[f"{area} · {period}: no records" if h else "" for h, period in zip(row, periods, strict=True)]
                 for row, area in zip(holes, areas, strict=True)]
    height = max(MIN_CHART_PX, min(1600, 120 + HEATMAP_ROW_PX * len(areas)))
    return {
        "data": [
            {"type": "heatmap", "x": periods, "y": areas, "z": as_json, "colorscale": RECORDS_SCALE,
             "colorbar": {"title": {"text": "records"}}, "xgap": 1, "ygap": 1, "name": "records",
             "hovertemplate": "%{y} · %{x}: %{z:,.0f} records<extra></extra>"},
            {"type": "heatmap", "x": periods, "y": areas, "z": hole_z, "text": hole_text, "showscale": False,
             "colorscale": [[0, MISSING_COLOUR], [1, MISSING_COLOUR]], "xgap": 1, "ygap": 1, "name": "missing",
             "hovertemplate": "%{text}<extra></extra>"},
        ],
        "layout": {"title": {"text": f"Coverage of {page.plot_text(source)}: periods × reporting areas "
                                     "(red = no records)"},
                   "height": height, "margin": {"l": 140, "r": 20, "t": 60, "b": 60},
                   "xaxis": {"type": "category", "title": {"text": "period"}},
                   "yaxis": {"type": "category", "automargin": True}, "template": page.template()},
    }


def _loads_chart(summary: pd.DataFrame) -> dict[str, Any]:
    sources = summary["source"].tolist()
    return {
        "data": [
            {"type": "bar", "orientation": "h", "y": sources, "x": summary["records_loaded"].tolist(),
             "name": "loaded", "marker": {"color": "#1d4e89"}},
            {"type": "bar", "orientation": "h", "y": sources, "x": summary["records_quarantined"].tolist(),
             "name": "quarantined", "marker": {"color": MISSING_COLOUR}},
        ],
        "layout": {"barmode": "stack", "title": {"text": "Records in, by where they went"},
                   "height": max(MIN_CHART_PX, 90 + 40 * len(sources)), "xaxis": {"title": {"text": "records"}},
                   "yaxis": {"type": "category", "automargin": True}, "template": page.template()},
    }


def _loads_section(summary: pd.DataFrame) -> str:
    if summary.empty:
        return page.section_html("Records in, loaded, quarantined",
                                 page.paragraph("No source has been loaded yet: run `iccs run` first.", cls="note"))
    unbalanced = summary.loc[~summary["balanced"].astype(bool), "source"].tolist()
    total_in = int(summary["records_in"].sum())
    total_q = int(summary["records_quarantined"].sum())
    text = (f"{total_in:,} records in across {len(summary)} source(s): {int(summary['records_loaded'].sum()):,} "
            f"loaded and {total_q:,} quarantined ({total_q / total_in:.2%})." if total_in else
            f"{len(summary)} source(s) loaded, with no records in.")
    text += (f" Not balanced (in ≠ loaded + quarantined): {', '.join(unbalanced)}." if unbalanced
             else " Every record is accounted for: in = loaded + quarantined for every source.")
    body = page.figure_html(_loads_chart(summary), div_id="loads-chart") + page.table_html(
        summary, caption="Records per source (latest load of each file)", csv_name="quality_loads",
        labels=LOAD_LABELS)
    return page.section_html("Records in, loaded, quarantined", body, summary=text, metadata={
        "Records in": "Data lines read from the source's files (malformed lines included), from the runs table.",
        "Quarantined": "Records not loaded, each with a reason; `iccs quarantine --source S` lists them. Fixing "
                       "the input and re-running releases them. The share is of the records in.",
        "Rows in quarantine now": "Rows in the quarantine table now; equals the records quarantined when nothing "
                                  "was pruned.",
    })


def _most_common(reasons: pd.DataFrame) -> str:
    """The most common reason, or the tie when several reasons share the largest count."""
    by_reason = reasons.groupby("reason", sort=True)["records"].sum().sort_values(ascending=False, kind="stable")
    most = int(by_reason.iloc[0])
    tied = list(by_reason[by_reason == most].index)
    if len(tied) == 1:
        where = f" in {reasons['source'].iloc[0]}" if reasons["source"].nunique() == 1 else ""
        return f"the most common reason is {tied[0]} ({most:,}{where})"
    names = ", ".join(tied[:-1]) + f" and {tied[-1]}"
    if len(tied) == len(by_reason):
        return f"all {len(tied)} reasons are tied at {most:,} record{'s' if most != 1 else ''} each ({names})"
    return f"the most common reasons are tied at {most:,} records each: {names}"


def _reasons_section(reasons: pd.DataFrame, unmapped: pd.DataFrame) -> str:
    if reasons.empty:
        return page.section_html("Quarantine reasons", page.paragraph("No record is in quarantine."))
    body = page.table_html(reasons, caption="Quarantined records by source and reason",
                           csv_name="quality_reasons", labels={"first_at": "first at (file:line)"})
    body += page.heading("National offence codes not classified to ICCS, by volume")
    if unmapped.empty:
        body += page.paragraph("Every national code found a row in its correspondence table.")
    else:
        shown = unmapped.drop(columns="note") if unmapped["note"].isna().all() else unmapped
        body += page.table_html(
            shown, caption="National codes without an ICCS code: not in the correspondence table, or outside "
            "ICCS by it (most records first)", csv_name="quality_unmapped_codes", csv=unmapped,
            labels={"national_code": "national code", "note": "correspondence note",
                    "first_at": "first at (file:line)"})
    summary = f"{int(reasons['records'].sum()):,} records in quarantine; {_most_common(reasons)}."
    if not unmapped.empty:
        kinds = unmapped.groupby("why")["records"].sum()
        summary += " Unclassified national codes: " + "; ".join(
            f"{n:,} record{'s' if n != 1 else ''} {why}" for why, n in kinds.sort_values(ascending=False).items()
        ) + "."
    return page.section_html("Quarantine reasons", body, summary=summary, metadata={
        "Order": "A record gets the first reason that applies, in the order of the reason list, so it is counted "
                 "once.",
        "Unclassified codes": "A code not in the correspondence table: add it (or mark it outside ICCS) and re-run. "
                              "A code outside ICCS by the correspondence table was left out on purpose: its note "
                              "says why.",
    })


def _completeness_section(con: duckdb.DuckDBPyConnection, sources: list[str]) -> str:
    if not sources:
        return ""
    blocks = []
    checks = []
    for source in sources:
        cov = _coverage(con, source)
        for f in completeness.findings(con, source):
            checks.append({"source": source, "check": f.name, "passed": f.passed, "finding": f.description})
        if cov.empty:
            blocks.append(page.block_html(source, page.paragraph("No counts loaded.", cls="note")))
            continue
        missing = int((~cov["present"].astype(bool)).sum())
        summary = (f"{missing} of {len(cov)} period × area cells have no records." if missing
                   else f"All {len(cov)} period × area cells have records.")
        blocks.append(page.block_html(f"Coverage: {source}", page.figure_html(
            _heatmap(cov, source), div_id=f"heatmap-{page.slug(source)}"), summary=summary))
    findings = pd.DataFrame(checks, columns=["source", "check", "passed", "finding"])
    failed = findings[~findings["passed"]]
    body = "".join(blocks) + page.heading("Completeness checks") + page.table_html(
        findings, caption="Completeness checks per source (warnings: the records are loaded)",
        csv_name="quality_completeness_checks")
    summary = (f"{len(failed)} completeness warning(s) across {failed['source'].nunique()} source(s)."
               if len(failed) else "No completeness warning.")
    return page.section_html("Completeness", body, summary=summary, metadata={
        "Expected cells": "Every month (or year, for annual data) of the source's coverage window, for "
                          "every area that ever reports. A red cell is a hole in the data, not a zero.",
        "Checks": "; ".join(f"{k}: {v}" for k, v in completeness.FINDINGS.items()),
    })


def _breaks_section(breaks: pd.DataFrame) -> str:
    if breaks.empty:
        body = page.paragraph("No ICCS category appears or vanishes between periods.")
        summary = ""
    else:
        body = page.table_html(breaks, caption="Series breaks: categories that appear or vanish",
                               csv_name="quality_series_breaks", labels={"iccs_code": "ICCS code"})
        summary = (f"{len(breaks)} series break(s) in {breaks['source'].nunique()} source(s): read changes across "
                   "them as a likely recording change, not a trend.")
    return page.section_html("Series-break flags", body, summary=summary, metadata={
        "Rule": "A category vanishes when it had records in each of the 3 periods before (2 for annual data) and "
                "none in the period and the ones after; it appears in the mirror case. Months missing from the "
                "whole feed are skipped.",
    })


def _contracts_section(con: duckdb.DuckDBPyConnection) -> str:
    results = quality.contract_results(con)
    failed = results[results["failures"] > 0]
    summary = (f"{len(failed)} of {len(results)} contract rules are broken." if len(failed)
               else f"All {len(results)} contract rules hold over the loaded tables.")
    return page.section_html("Contracts of the loaded tables", page.table_html(
        results, caption="Every rule of every table contract (schemas/), checked in SQL over the whole table",
        csv_name="quality_contracts"), summary=summary)


def render_quality(con: duckdb.DuckDBPyConnection, out_dir: Path) -> Path:
    """Write quality.html into ``out_dir`` and return its path."""
    summary = quality.load_summary(con)
    sources = sorted(set(summary["source"]) | set(con.execute(
        "SELECT DISTINCT source FROM offence_counts").fetch_df()["source"]))
    sections = [
        _loads_section(summary),
        _reasons_section(quality.reasons(con), quality.unmapped_codes(con)),
        coverage_window.section(con),
        _completeness_section(con, sources),
        _breaks_section(_breaks(con, sources)),
        totals_section(con),
        _contracts_section(con),
    ]
    intro = ("Where every input record went, and where the data has holes. Nothing is dropped silently: a "
             "record is either loaded or in quarantine with its reason. Missing months, sudden drops, "
             "placeholder dates or places and categories that appear or vanish are warnings: the records are "
             "loaded, but a trend across them may be an artefact of recording.")
    return page.write_page(out_dir, "quality.html", "Data quality", [s for s in sections if s], intro=intro)
