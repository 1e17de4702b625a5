"""How a staged record's offence text meets the correspondence table of its source: keys, groups, hierarchy.

A record's offence text gives one or more keys: the text itself, or for an offence read from several columns (a
national hierarchy such as bien jurídico > tipo > subtipo > modalidad) every leading part of the path, so a
correspondence row may map a whole branch. With ``offence_match: label`` keys are folded labels
(:func:`iccs.matching.label_key`). The deepest key with a correspondence row valid on the record's date wins.
The work is done once per distinct (offence, date) pair, not per record. A split row group gives the record its
dominant target (largest share) and ``group_id``; ``warehouse.counts.counts_sql`` spreads counts over every
target by share.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from iccs.matching import label_key
from schemas.source_config import JOINERS, SourceConfig
from warehouse.correspondence import CorrespondenceError
from warehouse.fields import date_sql, txt
from warehouse.sql import scratch
from warehouse.staging import raw_table

_HIERARCHY = JOINERS["offence"]


def targets_table(source: str) -> str:
    """One row per correspondence row of the source: group (national code + validity), target and share."""
    return scratch(f"targets_{source}")


def keys_table(source: str) -> str:
    return scratch(f"offence_keys_{source}")


def mapping_table(source: str) -> str:
    return scratch(f"mapping_{source}")


def tree_table(source: str) -> str:
    """The national hierarchy of a nested_totals source: (child, ancestor, distance) over its offence texts."""
    return scratch(f"national_tree_{source}")


# ---------------------------------------------------------------------------------------------------------------
# Keys: what a record's offence text and a correspondence row are compared on


def key_of(src: SourceConfig, text: str) -> str:
    """The key an offence text or national code is compared on: the folded label or the trimmed text."""
    return label_key(text) if src.offence_match == "label" else text.strip()


def _offence_keys(src: SourceConfig, offences: list[str]) -> pd.DataFrame:
    """Every key of each distinct offence text with its depth (a deeper key is a more specific category)."""
    hierarchical = len(src.source_columns("offence")) > 1
    rows = []
    for text in offences:
        parts = text.split(_HIERARCHY) if hierarchical else [text]
        for depth in range(1, len(parts) + 1):
            key = key_of(src, _HIERARCHY.join(parts[:depth]))
            if key:
                rows.append((text, key, depth))
    return pd.DataFrame(rows, columns=["offence_txt", "key", "depth"]).astype(
        {"offence_txt": "string", "key": "string", "depth": "int64"}
    )


def prepare_targets(con: duckdb.DuckDBPyConnection, src: SourceConfig) -> int:
    """Build the source's targets table from the warehouse `correspondence` rows; returns the number of groups.

    In label mode two national codes may fold to the same key: that would make the mapping depend on row order,
    so it stops the run like any other bad correspondence table.
    """
    rows = con.execute(
        """
        SELECT national_code, iccs_code, coalesce(correspondence, 'full') AS kind, share, valid_from, valid_to,
               note
        FROM correspondence WHERE source = ?""",
        [src.name],
    ).fetch_df()
    rows["key"] = [key_of(src, str(code)) for code in rows["national_code"]]
    if src.offence_match == "label":
        folded = rows.drop_duplicates(["national_code", "valid_from", "valid_to"])
        clash = folded[folded.duplicated(["key", "valid_from", "valid_to"], keep=False)]
        if len(clash):
            codes = sorted(clash["national_code"].astype(str))[:2]
            raise CorrespondenceError(
                f"{src.correspondence}: national codes {codes[0]!r} and {codes[1]!r} are the same label once case, "
                "accents and punctuation are ignored (offence_match: label); keep one row"
            )
    missing = _hierarchy_missing(con, src)
    if missing is not None:
        raise missing
    con.register("corr_rows", rows)
    try:  # typed: a column empty in every row (every row excluded: no iccs_code) comes from pandas as type NULL
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {targets_table(src.name)} AS
            SELECT dense_rank() OVER (ORDER BY national_code, valid_from NULLS FIRST, valid_to NULLS FIRST)
                       AS group_id,
                   national_code::VARCHAR AS national_code, key::VARCHAR AS key, valid_from::DATE AS valid_from,
                   valid_to::DATE AS valid_to, kind::VARCHAR AS kind, iccs_code::VARCHAR AS iccs_code,
                   CASE WHEN kind = 'split' THEN share::DOUBLE ELSE 1.0 END AS share, note::VARCHAR AS note
            FROM corr_rows""")
    finally:
        con.unregister("corr_rows")
    return con.execute(f"SELECT count(DISTINCT group_id) FROM {targets_table(src.name)}").fetchone()[0]


def prepare_keys(con: duckdb.DuckDBPyConnection, src: SourceConfig) -> None:
    """Keys for the distinct offence texts of the staged records (few, even for millions of records)."""
    table = keys_table(src.name)
    if src.offence_match == "code" and len(src.source_columns("offence")) <= 1:
        con.execute(f"""CREATE OR REPLACE TEMP TABLE {table} AS
                        SELECT DISTINCT {txt("offence")} AS offence_txt, {txt("offence")} AS key, 1 AS depth
                        FROM {raw_table(src.name)} WHERE {txt("offence")} IS NOT NULL""")
        return
    offences = [
        row[0]
        for row in con.execute(
            f"SELECT DISTINCT {txt('offence')} FROM {raw_table(src.name)} WHERE {txt('offence')} IS NOT NULL"
        ).fetchall()
    ]
    frame = _offence_keys(src, offences)
    con.register("offence_key_frame", frame)
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT offence_txt::VARCHAR AS offence_txt, "
            "key::VARCHAR AS key, depth::INTEGER AS depth FROM offence_key_frame"
        )
    finally:
        con.unregister("offence_key_frame")


# ---------------------------------------------------------------------------------------------------------------
# Groups: the correspondence group of each distinct offence text (and date)


def mapping_sql(con: duckdb.DuckDBPyConnection, src: SourceConfig) -> tuple[str, str]:
    """How records meet their correspondence group: (join, 'known' expression).

    Without dated rows the group depends on the offence text alone: a table of the few distinct texts is built
    first and records join it on one key. With dated rows the group is found once per distinct (offence, date).
    """
    targets, keys = targets_table(src.name), keys_table(src.name)
    dominant = f"""
        SELECT group_id, any_value(kind) AS mapping, arg_max(iccs_code, share * 1e6 - rank_in_group) AS iccs_code,
               any_value(note) AS map_note
        FROM (SELECT *, row_number() OVER (PARTITION BY group_id ORDER BY iccs_code) AS rank_in_group FROM {targets})
        GROUP BY group_id"""
    dated = (
        con.execute(f"SELECT count(*) FROM {targets} WHERE valid_from IS NOT NULL OR valid_to IS NOT NULL").fetchone()[
            0
        ]
        > 0
    )
    if not dated:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {mapping_table(src.name)} AS
            SELECT m.offence_txt, d.*
            FROM (SELECT k.offence_txt, arg_max(g.group_id, k.depth) AS group_id
                  FROM {keys} k JOIN (SELECT DISTINCT group_id, key FROM {targets}) g ON g.key = k.key
                  GROUP BY k.offence_txt) m
            JOIN ({dominant}) d ON d.group_id = m.group_id""")
        return f"LEFT JOIN {mapping_table(src.name)} mp ON mp.offence_txt = t.offence_txt", "false"
    # Dated rows: the group is found once per distinct (offence, date text) of the staged rows, into the same
    # small table, so the records pass joins it instead of deduplicating the records itself.
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {mapping_table(src.name)} AS
        WITH pairs AS (
            SELECT *, {date_sql(src, "date_txt")} AS occurred_on
            FROM (SELECT DISTINCT {txt("offence")} AS offence_txt, {txt("date")} AS date_txt
                  FROM {raw_table(src.name)} WHERE {txt("offence")} IS NOT NULL)),
        groups AS (SELECT DISTINCT group_id, key, valid_from, valid_to FROM {targets}),
        matched AS (
            SELECT p.offence_txt, p.date_txt, arg_max(g.group_id, k.depth) AS group_id
            FROM pairs p JOIN {keys} k ON k.offence_txt = p.offence_txt JOIN groups g ON g.key = k.key
            WHERE (g.valid_from IS NULL OR p.occurred_on >= g.valid_from)
              AND (g.valid_to IS NULL OR p.occurred_on <= g.valid_to)
            GROUP BY ALL),
        known AS (SELECT DISTINCT k.offence_txt FROM {keys} k JOIN groups g ON g.key = k.key)
        SELECT p.offence_txt, p.date_txt, d.*, kn.offence_txt IS NOT NULL AS known
        FROM pairs p
        LEFT JOIN matched m ON m.offence_txt = p.offence_txt AND m.date_txt IS NOT DISTINCT FROM p.date_txt
        LEFT JOIN ({dominant}) d ON d.group_id = m.group_id
        LEFT JOIN known kn ON kn.offence_txt = p.offence_txt""")
    return (
        f"LEFT JOIN {mapping_table(src.name)} mp "
        "ON mp.offence_txt = t.offence_txt AND mp.date_txt IS NOT DISTINCT FROM t.date_txt",
        "coalesce(mp.known, false)",
    )


# ---------------------------------------------------------------------------------------------------------------
# The national hierarchy (nested_totals)


def _hierarchy_missing(con: duckdb.DuckDBPyConnection, src: SourceConfig) -> CorrespondenceError | None:
    """nested_totals without a national hierarchy would net nothing or the wrong thing: a configuration error."""
    if not src.nested_totals or len(src.source_columns("offence")) > 1:
        return None
    parents = con.execute("SELECT count(parent) FROM correspondence WHERE source = ?", [src.name]).fetchall()[0][0]
    if parents:
        return None
    return CorrespondenceError(
        f"{src.correspondence}: field 'parent': source '{src.name}' has nested_totals: true but no national "
        "hierarchy: give each sub-category the national_code of the category that contains it in a 'parent' "
        "column (or read the offence from several columns); nothing is netted without it"
    )


def prepare_tree(con: duckdb.DuckDBPyConnection, src: SourceConfig) -> None:
    """Every national ancestor of each offence text, from the correspondence ``parent`` column and, for an offence
    read from several columns, from the path itself (bien jurídico > tipo > ...), with its distance."""
    rows = con.execute(
        "SELECT DISTINCT national_code, parent FROM correspondence WHERE source = ? AND parent IS NOT NULL", [src.name]
    ).fetchall()
    parents = pd.DataFrame(
        [(key_of(src, str(code)), key_of(src, str(parent))) for code, parent in rows], columns=["key", "parent_key"]
    ).astype("string")
    con.register("parent_edges", parents)
    try:
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {tree_table(src.name)} AS
            WITH RECURSIVE edges AS (
                SELECT key::VARCHAR AS key, parent_key::VARCHAR AS parent_key FROM parent_edges
                UNION
                SELECT c.key, p.key FROM {keys_table(src.name)} c
                JOIN {keys_table(src.name)} p ON p.offence_txt = c.offence_txt AND p.depth = c.depth - 1),
            up(key, ancestor, distance) AS (
                SELECT key, parent_key, 1 FROM edges WHERE key <> parent_key
                UNION
                SELECT u.key, e.parent_key, u.distance + 1 FROM up u JOIN edges e ON e.key = u.ancestor
                WHERE u.distance < 64),
            full_key AS (SELECT offence_txt, arg_max(key, depth) AS key FROM {keys_table(src.name)} GROUP BY 1)
            SELECT c.offence_txt AS child, a.offence_txt AS ancestor, min(u.distance) AS distance
            FROM full_key c JOIN up u ON u.key = c.key JOIN full_key a ON a.key = u.ancestor
            WHERE a.offence_txt <> c.offence_txt
            GROUP BY ALL""")
    finally:
        con.unregister("parent_edges")
