"""The names readers see for sources, and the data notices their descriptions carry.

A chart title names a source by its own description (sources.yaml `description`, in the `sources` table), never
by its configuration key: "Incident-level police records of Synthetica", not "demo_police". A description may
open with a notice in capitals ("SYNTHETIC DATA: … is real."): that sentence is a warning for every page
(`data_notice`), not part of the name.
"""

from __future__ import annotations

import re

import duckdb

from reports import queries

MAX_NAME = 70
MIN_NAME = 30
# A sentence opening with a label in capitals and a colon ("SYNTHETIC DATA:", "PROVISIONAL:") is a notice.
_NOTICE = re.compile(r"^[A-Z][A-Z0-9 ]{2,}:")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")
SYNTHETIC = re.compile(r"\bsynthetic\b", re.IGNORECASE)


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def notices(description: str | None) -> list[str]:
    """The notice sentences of a description (see the module's docstring)."""
    return [s for s in sentences(description or "") if _NOTICE.match(s)]


def source_name(source: str, description: str | None) -> str:
    """What a reader calls the source: its description's first sentence that is not a notice, cut at its first
    ';' and, when longer than MAX_NAME characters, at its last clause that fits (else a word); the key itself
    when there is no description."""
    rest = [s for s in sentences(description or "") if not _NOTICE.match(s)]
    if not rest:
        return source
    name = rest[0].split(";")[0].strip().rstrip(".")
    if len(name) <= MAX_NAME:
        return name
    # the longest cut at a clause (before ', ' or ' (') that fits, else at a word, marked '…'
    clauses = [
        m.start()
        for m in re.finditer(r", | \(", name[: MAX_NAME + 1])
        if m.start() >= MIN_NAME and name[: m.start()].count("(") == name[: m.start()].count(")")
    ]
    if clauses:
        return name[: clauses[-1]]
    return name[:MAX_NAME].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def source_names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Source key -> the name readers see (`source_name`), for every configured source."""
    if not queries.table_exists(con, "sources"):
        return {}
    rows = con.execute("SELECT source, description FROM sources ORDER BY source").fetchall()
    return {source: source_name(source, description) for source, description in rows}


def dataset_title(names: dict[str, str], source: str, unit: str, stage: str) -> str:
    """A dataset (one source, counting unit and stage) as chart titles name it: 'Alpha police records — offences
    (police)'."""
    return f"{names.get(source, source)} — {unit} ({stage})"


def data_notice(con: duckdb.DuckDBPyConnection) -> str:
    """One line every page shows when some source is not real data: the notices of their descriptions, or, for a
    description that only calls itself synthetic, the source and its description; '' when every source is real."""
    if not queries.table_exists(con, "sources"):
        return ""
    rows = con.execute("SELECT source, coalesce(description, '') FROM sources ORDER BY source").fetchall()
    parts: list[str] = []
    for source, description in rows:
        found = notices(description)
        if found:
            parts.extend(n for n in found if n not in parts)
        elif SYNTHETIC.search(description) or SYNTHETIC.search(source):
            parts.append(f"SYNTHETIC DATA: {source} ({description}) is not real.")
    return " ".join(parts)
