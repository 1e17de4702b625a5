"""Reference tables every query needs: the ICCS classification, code -> ancestor pairs for roll-ups, SDG 16 links."""

from __future__ import annotations

import duckdb

import iccs
from warehouse.transaction import transaction


def load_classification(con: duckdb.DuckDBPyConnection) -> int:
    categories = iccs.categories_frame()[["code", "level", "parent_code", "label", "label_es", "section"]]
    pairs = iccs.ancestor_pairs_frame()[["code", "ancestor_code", "ancestor_level"]]
    con.register("cat_frame", categories)
    con.register("pair_frame", pairs)
    con.register("sdg_frame", iccs.sdg16_frame()[["indicator", "component", "title", "unit", "iccs_code"]])
    try:
        with transaction(con):
            con.execute("DELETE FROM iccs_categories; INSERT INTO iccs_categories SELECT * FROM cat_frame")
            con.execute("DELETE FROM iccs_ancestors; INSERT INTO iccs_ancestors SELECT * FROM pair_frame")
            con.execute("DELETE FROM sdg16_codes; INSERT INTO sdg16_codes SELECT * FROM sdg_frame")
    finally:
        con.unregister("cat_frame")
        con.unregister("pair_frame")
        con.unregister("sdg_frame")
    return len(categories)
