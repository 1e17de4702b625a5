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
from schemas.source_config import load_config
from warehouse import completeness, quality

HEATMAP_ROW_PX = 22
MISSING_COLOUR = "#d62728"
OUTSIDE_COLOUR = "#bcc5cf"  # neutral: records the correspondence table leaves out on purpose are not a fault
OUTSIDE_ICCS = "outside ICCS by the correspondence table"
TOP_CODES = 50  # unclassified national codes listed on the page; the CSV beside it has them all
RECORDS_SCALE = [[0.0, "#deebf7"], [0.5, "#6baed6"], [1.0, "#08306b"]]  # light = few records, dark = many
MIN_CHART_PX = 420  # the page's chart box is at least this tall
LOAD_LABELS = {
    "records_in": "records in (table cells for aggregate sources)",
    "records_loaded": "loaded",
    "records_outside_iccs": OUTSIDE_ICCS,
    "records_quarantined": "quarantined",
    "quarantined_share": "share quarantined",
    "balanced": "in = loaded + outside ICCS + quarantined",
    "quarantine_rows": "rows in quarantine table now",
    "counted_loaded": "loaded, in the source's unit",
    "counted_quarantined": "quarantined, in the source's unit (where known)",
    "cells_without_count": "quarantined cells with no usable count",
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


def count_key(con: duckdb.DuckDBPyConnection, source: str) -> str | None:
    """The column of an aggregate source's raw record that holds its count (from the source's configuration), or
    None when the configuration can no longer be read: the quarantined cells' counts are then not known."""
    row = con.execute("SELECT config FROM sources WHERE source = ?", [source]).fetchone()
    try:
        return load_config(row[0]).sources[source].columns.get("count", "count") if row and row[0] else None
    except Exception:  # noqa: BLE001 - a moved or edited configuration only costs the "where known" figure
        return None


def load_table(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The load summary with the records outside ICCS by the correspondence table apart from those quarantined
    by a fault, and, per source, what was loaded and quarantined in its own unit: one record is one offence of
    an incident source; for an aggregate source a record is a table cell, so its counts are summed."""
    summary = quality.load_summary(con)
    if summary.empty:
        return summary.assign(records_outside_iccs=0, counted_loaded=0.0, counted_quarantined=0.0,
                              cells_without_count=0)
    outside = quality.excluded_by_source(con).set_index("source")["records_excluded"]
    summary.insert(summary.columns.get_loc("records_quarantined"), "records_outside_iccs",
                   summary["source"].map(outside).fillna(0).astype("int64"))
    summary["records_quarantined"] -= summary["records_outside_iccs"]
    summary["quarantined_share"] = summary["records_quarantined"] / summary["records_in"].where(
        summary["records_in"] > 0)
    counted, sentences = [], {}
    for row in summary.itertuples():
        if row.level == "aggregate":
            units = quality.aggregate_units(con, row.source, count_key(con, row.source))
            units["loaded_cells"] = int(row.records_loaded)
            sentences[row.source] = aggregate_sentence(row.source, row.unit, units)
            without = int(units["quarantined_without_count"])
            counted.append((units["loaded"], units["quarantined_units"], without))
        else:
            counted.append((float(row.records_loaded), float(row.records_quarantined), 0))
    summary[["counted_loaded", "counted_quarantined", "cells_without_count"]] = pd.DataFrame(
        counted, index=summary.index)
    summary["cells_without_count"] = summary["cells_without_count"].astype("int64")
    summary.attrs["aggregate_sentences"] = sentences
    return summary


def _loads_chart(summary: pd.DataFrame) -> dict[str, Any]:
    sources = summary["source"].tolist()
    return {
        "data": [
            {"type": "bar", "orientation": "h", "y": sources, "x": summary["records_loaded"].tolist(),
             "name": "loaded", "marker": {"color": "#1d4e89"}},
            {"type": "bar", "orientation": "h", "y": sources, "x": summary["records_outside_iccs"].tolist(),
             "name": OUTSIDE_ICCS, "marker": {"color": OUTSIDE_COLOUR}},
            {"type": "bar", "orientation": "h", "y": sources, "x": summary["records_quarantined"].tolist(),
             "name": "quarantined", "marker": {"color": MISSING_COLOUR}},
        ],
        "layout": {"barmode": "stack", "title": {"text": "Records in, by where they went"},
                   "height": max(MIN_CHART_PX, 90 + 40 * len(sources)), "xaxis": {"title": {"text": "records"}},
                   "yaxis": {"type": "category", "automargin": True}, "template": page.template()},
    }


def cells_text(cells: int, units: float, without: int, unit: str, count_read: bool = True) -> str:
    """'312 cells (≈ 4,100 offences where known; 12 with no usable count)'; a cell whose count is missing or
    suppressed is never given a number, and when the counts could not be read at all the text says so."""
    if not count_read:
        known = "counts not read: the source's configuration is not readable"
    elif without >= cells:
        known = "no usable count"
    else:
        known = f"≈ {units:,.0f} {unit} where known" + (f"; {without:,} with no usable count" if without else "")
    return f"{cells:,} cell{'s' if cells != 1 else ''} ({known})"


def national_note(units: dict[str, float | int], unit: str) -> str:
    """' (a national total row among the areas is one of these cells: the national figure, counted once, is
    18,746,142 offences)' when the loaded cells add a total to its parts, else ''."""
    national, loaded = float(units.get("national", units["loaded"])), float(units["loaded"])
    if national >= loaded - 0.5:
        return ""
    return (f" (cells of a national total row among the areas are included: the national figure, counted once, is "
            f"{national:,.0f} {unit})")


def aggregate_sentence(source: str, unit: str, units: dict[str, float | int]) -> str:
    """'S: 1,204,311 offences in 8,869 table cells loaded; 312 cells (≈ 4,100 offences where known) quarantined.'
    for an aggregate source (`units` from quality.aggregate_units plus `loaded_cells`): counts in the source's
    unit, cells named as cells."""
    text = f"{source}: {units['loaded']:,.0f} {unit} in {int(units['loaded_cells']):,} table cells loaded"
    text += national_note(units, unit)
    for prefix, words in (("outside", OUTSIDE_ICCS), ("quarantined", "quarantined")):
        cells = int(units[f"{prefix}_cells"])
        if cells:
            text += "; " + cells_text(cells, units[f"{prefix}_units"], int(units[f"{prefix}_without_count"]), unit,
                                      bool(units["count_read"]))
            text += f" {words}"
    return text + "."


def _loads_section(summary: pd.DataFrame) -> str:
    if summary.empty:
        return page.section_html("Records in, loaded, quarantined",
                                 page.paragraph("No source has been loaded yet: run `iccs run` first.", cls="note"))
    unbalanced = summary.loc[~summary["balanced"].astype(bool), "source"].tolist()
    total_in = int(summary["records_in"].sum())
    total_q = int(summary["records_quarantined"].sum())
    total_out = int(summary["records_outside_iccs"].sum())
    outside = f", {total_out:,} {OUTSIDE_ICCS} (left out on purpose)" if total_out else ""
    cells = int(summary.loc[summary["level"] == "aggregate", "records_in"].sum())
    of_which = f" ({cells:,} of them table cells of aggregate sources)" if cells else ""
    text = (f"{total_in:,} records in{of_which} across {len(summary)} source(s): "
            f"{int(summary['records_loaded'].sum()):,} "
            f"loaded{outside} and {total_q:,} quarantined ({total_q / total_in:.2%})." if total_in else
            f"{len(summary)} source(s) loaded, with no records in.")
    for sentence in summary.attrs.get("aggregate_sentences", {}).values():
        text += " " + sentence
    text += (f" Not balanced (in ≠ loaded + outside ICCS + quarantined): {', '.join(unbalanced)}." if unbalanced
             else " Every record is accounted for: in = loaded + outside ICCS + quarantined for every source.")
    body = page.figure_html(_loads_chart(summary), div_id="loads-chart") + page.table_html(
        summary, caption="Records per source (latest load of each file)", csv_name="quality_loads",
        labels=LOAD_LABELS)
    return page.section_html("Records in, loaded, quarantined", body, summary=text, metadata={
        "Records in": "Data lines read from the source's files (malformed lines included), from the runs table. "
                      "For an aggregate source a record is one table cell (one count), not one offence: its "
                      "figures in the source's unit are the sums of the cells' counts.",
        "Outside ICCS": "Records whose national code the correspondence table places outside ICCS (an `excluded` "
                        "row, with its reason): left out on purpose, not a mapping gap or a fault. They are kept "
                        "in the quarantine table with reason excluded_offence, so nothing is lost.",
        "Quarantined": "Records not loaded because of a problem, each with a reason; `iccs quarantine --source S` "
                       "lists them. Fixing the input and re-running releases them. The share is of the records "
                       "in.",
        "In the source's unit": "Aggregate sources: the loaded counts summed; for quarantined cells, the sum of "
                                "the counts that read as a number. A cell whose count is missing, suppressed or "
                                "unreadable has no usable count and is counted apart, never given a number.",
        "Rows in quarantine table now": "Rows in the quarantine table now (outside ICCS and quarantined together); "
                                        "equals their sum when nothing was pruned.",
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


def rest_of_codes(codes: pd.DataFrame, shown: int) -> str:
    """'… and 999,950 more codes (2.1% of records); the CSV has them all.' for the codes past the first `shown`."""
    rest = codes.iloc[shown:]
    share = rest["records"].sum() / codes["records"].sum() if codes["records"].sum() else 0.0
    records = int(rest["records"].sum())
    return (f"… and {len(rest):,} more code{'s' if len(rest) != 1 else ''} ({records:,} records, {share:.1%} of the "
            "unclassified records); the CSV download has them all.")


def _reasons_section(reasons: pd.DataFrame, unmapped: pd.DataFrame) -> str:
    if reasons.empty:
        return page.section_html("Quarantine reasons", page.paragraph("No record is in quarantine."))
    body = page.table_html(reasons, caption="Records not loaded, by source and reason: outside ICCS by the "
                           "correspondence table (on purpose), or quarantined",
                           csv_name="quality_reasons", labels={"first_at": "first at (file:line)"})
    body += page.heading("National offence codes not classified to ICCS, by volume")
    if unmapped.empty:
        body += page.paragraph("Every national code found a row in its correspondence table.")
    else:
        shown = unmapped.drop(columns="note") if unmapped["note"].isna().all() else unmapped
        body += page.table_html(
            shown, caption="National codes without an ICCS code: not in the correspondence table, or outside "
            f"ICCS by it (most records first; the top {TOP_CODES})", csv_name="quality_unmapped_codes",
            csv=unmapped, max_rows=TOP_CODES,
            labels={"national_code": "national code", "note": "correspondence note",
                    "first_at": "first at (file:line)"})
        if len(unmapped) > TOP_CODES:
            body += page.paragraph(rest_of_codes(unmapped, TOP_CODES), cls="note")
    outside = reasons["meaning"].str.endswith(OUTSIDE_ICCS)
    faults = reasons[~outside]
    summary = (f"{int(faults['records'].sum()):,} records in quarantine; {_most_common(faults)}." if not faults.empty
               else "No record is quarantined by a fault.")
    if outside.any():
        summary += (f" {int(reasons.loc[outside, 'records'].sum()):,} records are {OUTSIDE_ICCS} (left out on "
                    "purpose; kept in the quarantine table with reason excluded_offence).")
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
    summary = load_table(con)
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
