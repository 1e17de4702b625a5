"""The sections of quality.html built from the load summary, the quarantine, completeness, series breaks and
the table contracts."""

from __future__ import annotations

import duckdb
import pandas as pd

from reports import names, numbers, page, tables
from reports.quality import data
from reports.quality.figures import heatmap, loads_chart
from reports.quality.text import OUTSIDE_ICCS, most_common, rest_of_codes
from warehouse import completeness, quality

TOP_CODES = 50  # unclassified national codes listed on the page; the CSV beside it has them all
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


def loads_section(summary: pd.DataFrame, sources: dict[str, str] | None = None) -> str:
    """Where each source's records went; `sources`: 'About these data' lines naming the sources (their
    descriptions) and their correspondence tables' partial and excluded codes."""
    if summary.empty:
        return page.section_html(
            "Records in, loaded, quarantined",
            page.paragraph("No source has been loaded yet: run `iccs run` first.", cls="note"),
        )
    unbalanced = summary.loc[~summary["balanced"].astype(bool), "source"].tolist()
    total_in = int(summary["records_in"].sum())
    total_q = int(summary["records_quarantined"].sum())
    total_out = int(summary["records_outside_iccs"].sum())
    outside = f", {total_out:,} {OUTSIDE_ICCS} (left out on purpose)" if total_out else ""
    cells = int(summary.loc[summary["level"] == "aggregate", "records_in"].sum())
    of_which = f" ({cells:,} of them table cells of aggregate sources)" if cells else ""
    text = (
        f"{total_in:,} records in{of_which} across {numbers.plural(len(summary), 'source')}: "
        f"{int(summary['records_loaded'].sum()):,} "
        f"loaded{outside} and {total_q:,} quarantined ({total_q / total_in:.2%})."
        if total_in
        else f"{numbers.plural(len(summary), 'source')} loaded, with no records in."
    )
    for sentence in summary.attrs.get("aggregate_sentences", {}).values():
        text += " " + sentence
    text += (
        f" Not balanced (in ≠ loaded + outside ICCS + quarantined): {', '.join(unbalanced)}."
        if unbalanced
        else " Every record is accounted for: in = loaded + outside ICCS + quarantined for every source."
    )
    body = page.figure_html(loads_chart(summary), div_id="loads-chart") + tables.table_html(
        summary, caption="Records per source (latest load of each file)", csv_name="quality_loads", labels=LOAD_LABELS
    )
    return page.section_html(
        "Records in, loaded, quarantined",
        body,
        summary=text,
        metadata={
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
            **(sources or {}),
        },
    )


def reasons_section(reasons: pd.DataFrame, unmapped: pd.DataFrame) -> str:
    if reasons.empty:
        return page.section_html("Quarantine reasons", page.paragraph("No record is in quarantine."))
    body = tables.table_html(
        reasons,
        caption="Records not loaded, by source and reason: outside ICCS by the "
        "correspondence table (on purpose), or quarantined",
        csv_name="quality_reasons",
        labels={"first_at": "first at (file:line)"},
    )
    body += page.heading("National offence codes not classified to ICCS, by volume")
    if unmapped.empty:
        body += page.paragraph("Every national code found a row in its correspondence table.")
    else:
        shown = unmapped.drop(columns="note") if unmapped["note"].isna().all() else unmapped
        body += tables.table_html(
            shown,
            caption="National codes without an ICCS code: not in the correspondence table, or outside "
            f"ICCS by it (most records first; the top {TOP_CODES})",
            csv_name="quality_unmapped_codes",
            csv=unmapped,
            max_rows=TOP_CODES,
            labels={
                "national_code": "national code",
                "note": "correspondence note",
                "first_at": "first at (file:line)",
            },
        )
        if len(unmapped) > TOP_CODES:
            body += page.paragraph(rest_of_codes(unmapped, TOP_CODES), cls="note")
    outside = reasons["meaning"].str.endswith(OUTSIDE_ICCS)
    faults = reasons[~outside]
    summary = (
        f"{int(faults['records'].sum()):,} records in quarantine; {most_common(faults)}."
        if not faults.empty
        else "No record is quarantined by a fault."
    )
    if outside.any():
        summary += (
            f" {int(reasons.loc[outside, 'records'].sum()):,} records are {OUTSIDE_ICCS} (left out on "
            "purpose; kept in the quarantine table with reason excluded_offence)."
        )
    if not unmapped.empty:
        kinds = unmapped.groupby("why")["records"].sum()
        summary += (
            " Unclassified national codes: "
            + "; ".join(
                f"{n:,} record{'s' if n != 1 else ''} {why}" for why, n in kinds.sort_values(ascending=False).items()
            )
            + "."
        )
    return page.section_html(
        "Quarantine reasons",
        body,
        summary=summary,
        metadata={
            "Order": "A record gets the first reason that applies, in the order of the reason list, so it is counted "
            "once.",
            "Unclassified codes": "A code not in the correspondence table: add it (or mark it outside ICCS) and "
            "re-run. A code outside ICCS by the correspondence table was left out on purpose: its note says why.",
        },
    )


def completeness_section(con: duckdb.DuckDBPyConnection, sources: list[str]) -> str:
    if not sources:
        return ""
    blocks = []
    checks = []
    titles = names.source_names(con)
    for source in sources:
        cov, whole = data.completeness_grid(con, source)
        for f in completeness.source_findings(con, source):
            checks.append({"source": source, "check": f.name, "passed": f.passed, "finding": f.description})
        if cov.empty:
            blocks.append(page.block_html(source, page.paragraph("No counts loaded.", cls="note")))
            continue
        summary = (
            f"{whole['missing']:,} of {whole['cells']:,} period × area cells have no records."
            if whole["missing"]
            else f"All {whole['cells']:,} period × area cells have records."
        )
        if whole["areas"] > cov["area"].nunique(dropna=False):
            summary += (
                f" The map shows the {cov['area'].nunique(dropna=False):,} of {whole['areas']:,} areas with the "
                "most missing cells; every cell is in the warehouse's completeness table."
            )
        blocks.append(
            page.block_html(
                f"Coverage: {source}",
                page.figure_html(heatmap(cov, titles.get(source, source)), div_id=f"heatmap-{page.slug(source)}"),
                summary=summary,
            )
        )
    findings = pd.DataFrame(checks, columns=["source", "check", "passed", "finding"])
    failed = findings[~findings["passed"]]
    body = (
        "".join(blocks)
        + page.heading("Completeness checks")
        + tables.table_html(
            findings,
            caption="Completeness checks per source (warnings: the records are loaded)",
            csv_name="quality_completeness_checks",
        )
    )
    summary = (
        f"{numbers.plural(len(failed), 'completeness warning')} across "
        f"{numbers.plural(failed['source'].nunique(), 'source')}."
        if len(failed)
        else "No completeness warning."
    )
    return page.section_html(
        "Completeness",
        body,
        summary=summary,
        metadata={
            "Expected cells": "Every month (or year, for annual data) of the source's coverage window, for "
            "every area that ever reports. A red cell is a hole in the data, not a zero.",
            "Checks": "; ".join(f"{k}: {v}" for k, v in completeness.FINDINGS.items()),
        },
    )


def breaks_section(breaks: pd.DataFrame) -> str:
    if breaks.empty:
        body = page.paragraph("No ICCS category appears or vanishes between periods.")
        summary = ""
    else:
        body = tables.table_html(
            breaks,
            caption="Series breaks: categories that appear or vanish",
            csv_name="quality_series_breaks",
            labels={"iccs_code": "ICCS code"},
        )
        summary = (
            f"{numbers.plural(len(breaks), 'series break')} in {numbers.plural(breaks['source'].nunique(), 'source')}: "
            "read changes across "
            "them as a likely recording change, not a trend."
        )
    return page.section_html(
        "Series-break flags",
        body,
        summary=summary,
        metadata={
            "Rule": "A category vanishes when it had records in each of the 3 periods before (2 for annual data) and "
            "none in the period and the ones after; it appears in the mirror case. Months missing from the "
            "whole feed are skipped.",
        },
    )


def contracts_section(con: duckdb.DuckDBPyConnection) -> str:
    results = quality.contract_results(con)
    failed = results[results["failures"] > 0]
    summary = (
        f"{len(failed)} of {len(results)} contract rules are broken."
        if len(failed)
        else f"All {len(results)} contract rules hold over the loaded tables."
    )
    return page.section_html(
        "Contracts of the loaded tables",
        tables.table_html(
            results,
            caption="Every rule of every table contract (schemas/): for offences, offence_counts and quarantine as "
            "each landed file's load checked it over the file's rows (failures summed over the files; 'proved' says "
            "what guarantees a rule the loads did not need to scan), the other tables checked whole in SQL",
            csv_name="quality_contracts",
        ),
        summary=summary,
    )
