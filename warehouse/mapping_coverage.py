"""How much of a source the correspondence table maps to ICCS, what is left, and hints for the rest.

Computed from the classified records (``staging.records_<source>``), so the figures are the ones the load uses.
Three kinds of national category are told apart: mapped; excluded (the correspondence table says ICCS cannot
place it, and why: such records are not a mapping gap); unmapped (nobody has mapped it yet: listed by volume,
each with up to three ICCS candidates from :func:`iccs.suggestions.rank`, the mapping assistant's one ranker, with
the first reason of each). A correspondence table published on its own (no records) gets the same summary over its
codes. The ranker is imported and its index built (about a second) only when a code with text needs candidates:
every loaded file is summarised here, and a run whose codes are all mapped must not pay for it.

Two warehouse tables, created here: ``mapping_coverage`` (one row per source or table) and
``mapping_coverage_codes`` (one row per national code that is not plainly mapped, plus every code of a table).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import pandas as pd

import iccs
from iccs.matching import has_words
from warehouse.classify import records_table
from warehouse.ddl import ensure_schema

TABLES = """
CREATE TABLE IF NOT EXISTS mapping_coverage (
    source VARCHAR, kind VARCHAR, records BIGINT, records_mapped BIGINT, records_excluded BIGINT,
    records_unmapped BIGINT, count_total DOUBLE, count_mapped DOUBLE, codes INTEGER, codes_mapped INTEGER,
    codes_excluded INTEGER, codes_unmapped INTEGER, mapped_share DOUBLE, placeable_share DOUBLE,
    computed_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS mapping_coverage_codes (
    source VARCHAR, national_code VARCHAR, national_label VARCHAR, status VARCHAR, records BIGINT, count DOUBLE,
    iccs_code VARCHAR, note VARCHAR, candidates VARCHAR);
COMMENT ON TABLE mapping_coverage IS 'per source (kind records) or published correspondence table (kind table):
share of records and national codes mapped to ICCS; placeable_share leaves out categories ICCS cannot place';
COMMENT ON TABLE mapping_coverage_codes IS 'national codes excluded from ICCS (with the reason) or not mapped yet
(by volume, with ICCS candidates ranked by iccs.suggestions)';
"""
CANDIDATES = 3


@dataclass
class Coverage:
    source: str
    kind: str  # 'records' (a source) or 'table' (a correspondence table on its own)
    records: int = 0
    records_mapped: int = 0
    records_excluded: int = 0
    count_total: float = 0.0
    count_mapped: float = 0.0
    codes: int = 0
    codes_mapped: int = 0
    codes_excluded: int = 0
    codes_unmapped: int = 0
    details: pd.DataFrame = field(default_factory=pd.DataFrame)
    levels: dict[int, int] = field(default_factory=dict)

    @property
    def records_unmapped(self) -> int:
        return self.records - self.records_mapped - self.records_excluded

    @property
    def mapped_share(self) -> float:
        total = self.records if self.kind == "records" else self.codes
        mapped = self.records_mapped if self.kind == "records" else self.codes_mapped
        return mapped / total if total else 0.0

    @property
    def placeable_share(self) -> float:
        """The mapped share among what ICCS can place at all (excluded categories left out)."""
        if self.kind == "records":
            total, mapped = self.records - self.records_excluded, self.records_mapped
        else:
            total, mapped = self.codes - self.codes_excluded, self.codes_mapped
        return mapped / total if total else 1.0

    def summary(self) -> dict[str, object]:
        """The figures as a small dict (for Dagster metadata, JSON, tests)."""
        return {
            "source": self.source,
            "kind": self.kind,
            "records": self.records,
            "records_mapped": self.records_mapped,
            "records_excluded": self.records_excluded,
            "records_unmapped": self.records_unmapped,
            "count_total": self.count_total,
            "count_mapped": self.count_mapped,
            "codes": self.codes,
            "codes_mapped": self.codes_mapped,
            "codes_excluded": self.codes_excluded,
            "codes_unmapped": self.codes_unmapped,
            "mapped_share": round(self.mapped_share, 6),
            "placeable_share": round(self.placeable_share, 6),
        }


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(TABLES)


def rankable_text(code: str | None, label: str | None, label_shared: bool = False) -> str | None:
    """What to rank for a national category: its label, else the code when it is text (a label source's code, or
    'Burglary'); None for a bare code such as '09A'. A label several codes share says what the column is, not which
    offence (Mexico's table gives 'bien jurídico > tipo > subtipo > modalidad' to every code): then the code's own
    text comes first."""
    for text in (code, label) if label_shared else (label, code):
        if has_words(text):
            return text
    return None


def candidate_text(code: str, label: str, score: float, reasons: tuple[str, ...]) -> str:
    """One candidate as a reviewer reads it: "0501 Burglary (0.73: inclusion: 'Breaking and entering')" (the score's
    scale is the ranking's: lexical 0-1, or standard scores with the model)."""
    why = f": {reasons[0]}" if reasons else ""
    return f"{code} {label} ({score:.2f}{why})"


def _candidates(text: str | None, use_semantic: bool | None) -> str | None:
    """Up to CANDIDATES ranked ICCS categories for a text with words in it, each with its first reason."""
    if not text:
        return None
    from iccs.suggestions import rank  # here, not at the top: scipy and the index only when a code needs them

    found = rank(text, limit=CANDIDATES, use_semantic=use_semantic)
    return "; ".join(candidate_text(c.code, c.label, c.score, c.reasons) for c in found) or None


def code_volumes(con: duckdb.DuckDBPyConnection, source: str) -> pd.DataFrame:
    """Per national code of a classified source: records and counts, how many mapped, excluded or without a row
    valid on their date, the most common target, the correspondence table's label and note, and whether other codes
    have the same label, and the records' own label (``offence_label``: the most frequent, and how many there are)
    (one scan of the records, in DuckDB). ``iccs map-check`` summarises it, ``iccs map-draft``
    drafts from it."""
    per_code = con.execute(
        f"""
        WITH corr AS (
            SELECT national_code, any_value(national_label) AS national_label,
                   any_value(note) FILTER (correspondence = 'excluded') AS excluded_note
            FROM correspondence WHERE source = ? GROUP BY 1),
        shared AS (  -- over the whole table, not only the codes the records use
            SELECT *, count(national_label) OVER (PARTITION BY national_label) > 1 AS label_shared FROM corr)
        SELECT r.*, c.national_label, c.excluded_note, coalesce(c.label_shared, false) AS label_shared FROM (
            SELECT national_code, count(*) AS records, sum(coalesce(count, 0)) AS count,
                   count(*) FILTER (iccs_code IS NOT NULL) AS mapped,
                   count(*) FILTER (mapping = 'excluded') AS excluded,
                   count(*) FILTER (exclusion = 'no_row_on_date') AS no_row_on_date,
                   sum(coalesce(count, 0)) FILTER (iccs_code IS NOT NULL) AS count_mapped,
                   mode(iccs_code) AS iccs_code,
                   mode(national_label) AS record_label, count(DISTINCT national_label) AS record_labels
            FROM {records_table(source)} GROUP BY national_code) r
        LEFT JOIN shared c USING (national_code)""",
        [source],
    ).fetch_df()
    per_code["unmapped"] = per_code["records"] - per_code["mapped"] - per_code["excluded"]
    for column in ("national_label", "excluded_note", "record_label"):  # None, never NaN
        per_code[column] = per_code[column].astype(object).where(per_code[column].notna(), None)
    return per_code


def source_coverage(con: duckdb.DuckDBPyConnection, source: str, use_semantic: bool | None = False) -> Coverage:
    """Coverage of a classified source: every staged record counts once, by its national code.

    The candidates of unmapped codes are ranked lexically by default (a few ms a code): a run computes coverage for
    every file it loads, and the embedding model cost ~45 ms a code there (397 unmapped codes: 20 s instead of 1.7 s).
    ``iccs map-check`` passes None: the model too, when it is installed."""
    per_code = code_volumes(con, source)
    cov = Coverage(
        source=source,
        kind="records",
        records=int(per_code["records"].sum()),
        records_mapped=int(per_code["mapped"].sum()),
        records_excluded=int(per_code["excluded"].sum()),
        count_total=float(per_code["count"].sum()),
        count_mapped=float(per_code["count_mapped"].fillna(0).sum()),
    )
    coded = per_code[per_code["national_code"].notna()]
    cov.codes = len(coded)
    cov.codes_mapped = int((coded["mapped"] > 0).sum())
    cov.codes_excluded = int(((coded["excluded"] > 0) & (coded["mapped"] == 0)).sum())
    cov.codes_unmapped = int(((coded["unmapped"] > 0) & (coded["excluded"] == 0) & (coded["mapped"] == 0)).sum())
    rows = []
    for row in per_code[(per_code["unmapped"] > 0) | (per_code["excluded"] > 0)].itertuples():
        code, label = row.national_code, row.national_label or row.record_label
        if row.excluded > 0:
            status, note = "excluded", row.excluded_note
        else:
            status = "unmapped" if code is not None else "empty"
            note = "partly mapped: no row valid on some dates" if row.mapped else None
        rows.append(
            {
                "source": source,
                "national_code": code,
                "national_label": label,
                "status": status,
                "records": int(row.records - row.mapped),
                "count": float(row.count - (row.count_mapped or 0)),
                "iccs_code": None,
                "note": note,
                "candidates": (
                    _candidates(rankable_text(code, label, bool(row.label_shared)), use_semantic)
                    if status == "unmapped"
                    else None
                ),
            }
        )
    cov.details = pd.DataFrame(rows, columns=_DETAIL_COLUMNS)
    if len(cov.details):
        cov.details = cov.details.sort_values(
            ["status", "records", "national_code"],
            ascending=[False, False, True],
            na_position="last",
            ignore_index=True,
        )
    return cov


_DETAIL_COLUMNS = [
    "source",
    "national_code",
    "national_label",
    "status",
    "records",
    "count",
    "iccs_code",
    "note",
    "candidates",
]


def table_coverage(name: str, frame: pd.DataFrame) -> Coverage:
    """Coverage of a correspondence table without records: its national codes, mapped or excluded, by level."""
    codes = frame.drop_duplicates("national_code")
    excluded = codes[codes["correspondence"] == "excluded"]
    mapped = codes[codes["iccs_code"].notna()]
    cov = Coverage(
        source=name,
        kind="table",
        codes=len(codes),
        codes_mapped=len(mapped),
        codes_excluded=len(excluded),
        codes_unmapped=len(codes) - len(mapped) - len(excluded),
    )
    cov.levels = {
        int(k): int(v)
        for k, v in mapped["iccs_code"].map(lambda c: iccs.get(c).level).value_counts().sort_index().items()
    }
    details = codes.assign(
        source=name,
        status=codes["correspondence"].where(codes["iccs_code"].isna(), "mapped"),
        records=None,
        count=None,
        candidates=None,
    )
    details["candidates"] = [
        _candidates(rankable_text(None, label), None) if status == "excluded" else None
        for label, status in zip(details["national_label"], details["status"], strict=True)
    ]
    cov.details = details[_DETAIL_COLUMNS].reset_index(drop=True)
    return cov


def write_coverage(con: duckdb.DuckDBPyConnection, cov: Coverage) -> None:
    """Replace the source's rows of mapping_coverage and mapping_coverage_codes."""
    ensure_schema(con)
    summary = cov.summary()
    con.execute("DELETE FROM mapping_coverage WHERE source = ?", [cov.source])
    con.execute("DELETE FROM mapping_coverage_codes WHERE source = ?", [cov.source])
    con.execute(
        "INSERT INTO mapping_coverage VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            cov.source,
            cov.kind,
            summary["records"],
            summary["records_mapped"],
            summary["records_excluded"],
            summary["records_unmapped"],
            summary["count_total"],
            summary["count_mapped"],
            cov.codes,
            cov.codes_mapped,
            cov.codes_excluded,
            cov.codes_unmapped,
            summary["mapped_share"],
            summary["placeable_share"],
            dt.datetime.now(),
        ],
    )
    if len(cov.details):
        frame = cov.details.astype(object).where(cov.details.notna(), None)
        con.register("coverage_codes", frame)
        try:
            con.execute(f"INSERT INTO mapping_coverage_codes SELECT {', '.join(_DETAIL_COLUMNS)} FROM coverage_codes")
        finally:
            con.unregister("coverage_codes")


def coverage_metadata(cov: Coverage, top: int = 10) -> dict[str, object]:
    """Small, flat figures plus a markdown list of the largest gaps: what a Dagster asset shows."""
    meta: dict[str, object] = {f"coverage_{k}": v for k, v in cov.summary().items() if k not in ("source", "kind")}
    gaps = cov.details[cov.details["status"].isin(["unmapped", "excluded"])].head(top)
    if len(gaps):
        lines = ["| national code | status | records | candidates / reason |", "|---|---|---|---|"]
        for row in gaps.itertuples():
            hint = (row.candidates if row.status == "unmapped" else row.note) or ""
            lines.append(f"| {row.national_code} | {row.status} | {row.records or ''} | {hint.replace('|', '/')} |")
        meta["coverage_gaps_md"] = "\n".join(lines)
    return meta


def coverage_text(cov: Coverage, top: int = 20) -> str:
    """The coverage as a few lines for a terminal."""
    if cov.kind == "table":
        levels = ", ".join(f"level {k}: {v}" for k, v in cov.levels.items())
        head = (
            f"{cov.source} (correspondence table): {cov.codes:,} national codes, {cov.codes_mapped:,} mapped "
            f"({cov.mapped_share:.1%}; {levels}), {cov.codes_excluded:,} excluded, {cov.codes_unmapped:,} "
            "without a target"
        )
    else:
        head = (
            f"{cov.source}: {cov.records:,} records, {cov.mapped_share:.2%} mapped to ICCS"
            f" ({cov.placeable_share:.2%} of what ICCS can place); {cov.codes:,} national codes: "
            f"{cov.codes_mapped:,} mapped, {cov.codes_excluded:,} excluded, {cov.codes_unmapped:,} unmapped"
        )
    lines = [head]
    excluded = cov.details[cov.details["status"] == "excluded"]
    if len(excluded):
        lines.append("  excluded by the correspondence table (its note says why):")
        for row in excluded.head(top).itertuples():
            volume = f"{int(row.records):,} records" if pd.notna(row.records) else (row.national_label or "")
            lines.append(f"    {row.national_code}  {volume}  {row.note or ''}".rstrip())
        if len(excluded) > top:
            lines.append(f"    ... {len(excluded) - top} more in mapping_coverage_codes")
    unmapped = cov.details[cov.details["status"].isin(["unmapped", "empty"])]
    if len(unmapped):
        lines.append("  not mapped yet, by volume (candidates as `iccs suggest` ranks them):")
        for row in unmapped.head(top).itertuples():
            code = "(empty)" if row.national_code is None else row.national_code
            lines.append(f"    {code}  {row.records:,} records  {row.note or ''}  {row.candidates or ''}".rstrip())
        if len(unmapped) > top:
            lines.append(f"    ... {len(unmapped) - top} more in mapping_coverage_codes")
    return "\n".join(lines)
