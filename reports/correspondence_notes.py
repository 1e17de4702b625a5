"""What a chart's 'About these data' says of the correspondence tables behind it: the national codes mapped only
'partial'ly to ICCS and those 'excluded' from it, each with the note that says why (the `correspondence` table of
the warehouse, as each source's correspondence CSV declares it).

A partial row concerns a chart when its ICCS code lies inside a category the chart draws (ICCS codes nest by
prefix: 02011 is inside 0201 and 02); an excluded row has no ICCS code, so it concerns every chart of its source
(its records are left out of all of them). Long lists stop at MAX_LISTED, with 'and N more' naming where the whole
table is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb
import pandas as pd

from reports import numbers, queries

MAX_LISTED = 6
KEYS = {"partial": "Partial correspondences", "excluded": "Excluded from ICCS"}
LEADS = {
    "partial": "each only partly the ICCS category it is counted in",
    "excluded": "outside ICCS by the correspondence table, counted in no figure here",
}


def rows(
    con: duckdb.DuckDBPyConnection,
    sources: Sequence[str],
    codes: Iterable[str] | None = None,
    nested: bool = True,
) -> pd.DataFrame:
    """The partial and excluded correspondence rows of `sources` that concern charts of `codes` (None: any code;
    `nested`: a code counts the codes inside it, else only itself, as SDG 16 indicators match), one per source,
    kind and national code (its ICCS codes and notes joined when it has several validities)."""
    wanted = sorted({str(s) for s in sources})
    columns = ["source", "correspondence", "national_code", "national_label", "iccs_code", "note", "file"]
    if not wanted or not queries.table_exists(con, "correspondence"):
        return pd.DataFrame(columns=columns)
    drawn = sorted({str(c) for c in codes}) if codes is not None else None
    inside = "len(list_filter(?, lambda d: starts_with(c.iccs_code, d))) > 0"
    concerns = "TRUE" if drawn is None else inside if nested else "list_contains(?, c.iccs_code)"
    return queries.frame(
        con,
        f"""
        SELECT c.source, c.correspondence, c.national_code, any_value(c.national_label) AS national_label,
               string_agg(DISTINCT c.iccs_code, ', ' ORDER BY c.iccs_code) AS iccs_code,
               string_agg(DISTINCT nullif(trim(c.note), ''), '; ') AS note,
               any_value(regexp_extract(s.correspondence, '[^/\\\\]+$')) AS file
        FROM correspondence c LEFT JOIN sources s USING (source)
        WHERE list_contains(?, c.source)
          AND (c.correspondence = 'excluded' OR (c.correspondence = 'partial' AND {concerns}))
        GROUP BY c.source, c.correspondence, c.national_code
        ORDER BY c.source, c.correspondence, c.national_code
        """,
        [wanted] if drawn is None else [wanted, drawn],
    )


def _line(r: pd.Series, with_source: bool) -> str:
    label = f" {r['national_label']}" if isinstance(r["national_label"], str) and r["national_label"] else ""
    target = f" → ICCS {r['iccs_code']}" if isinstance(r["iccs_code"], str) and r["iccs_code"] else ""
    note = r["note"] if isinstance(r["note"], str) and r["note"] else "no note given"
    where = f"{r['source']} " if with_source else ""
    return f"{where}{r['national_code']}{label}{target}: {note}"


def metadata(
    con: duckdb.DuckDBPyConnection, sources: Sequence[str], codes: Iterable[str] | None = None, nested: bool = True
) -> dict[str, str]:
    """The 'About these data' lines (KEYS) of a chart drawing `codes` of `sources` (`rows`); {} when no row
    concerns it."""
    found = rows(con, sources, codes, nested)
    out: dict[str, str] = {}
    with_source = found["source"].nunique() > 1
    for kind, key in KEYS.items():
        mine = found[found["correspondence"] == kind]
        if mine.empty:
            continue
        listed = "; ".join(_line(r, with_source) for _, r in mine.head(MAX_LISTED).iterrows())
        text = f"{numbers.plural(len(mine), 'national code')}, {LEADS[kind]}: {listed}"
        if len(mine) > MAX_LISTED:
            tables = ", ".join(
                f"{s}: {f}" if with_source else str(f)
                for s, f in mine[["source", "file"]].drop_duplicates().itertuples(index=False)
                if isinstance(f, str) and f
            )
            where = f"{tables}, the correspondence table" if tables else "the source's correspondence table"
            text += f"; and {len(mine) - MAX_LISTED} more (see {where})"
        out[key] = text
    return out
