"""Reference tables every query needs: the ICCS classification, code -> ancestor pairs for roll-ups, SDG 16 links."""

from __future__ import annotations

import duckdb

import iccs
from iccs.disaggregations import disaggregations_frame
from warehouse.replace import replace_rows
from warehouse.transaction import transaction


def load_classification(con: duckdb.DuckDBPyConnection) -> int:
    categories = iccs.categories_frame()[["code", "level", "parent_code", "label", "label_es", "section"]]
    pairs = iccs.ancestor_pairs_frame()[["code", "ancestor_code", "ancestor_level"]]
    con.register("cat_frame", categories)
    con.register("pair_frame", pairs)
    con.register("sdg_frame", iccs.sdg16_frame()[["indicator", "component", "title", "unit", "iccs_code"]])
    con.register("dis_frame", disaggregations_frame())
    try:
        with transaction(con):  # rewritten only where they changed: on a lake a rewrite is a snapshot for nothing
            replace_rows(con, "iccs_categories", "true", "SELECT * FROM cat_frame", {})
            replace_rows(con, "iccs_ancestors", "true", "SELECT * FROM pair_frame", {})
            replace_rows(con, "sdg16_codes", "true", "SELECT * FROM sdg_frame", {})
            replace_rows(con, "iccs_disaggregations", "true", "SELECT * FROM dis_frame", {})
    finally:
        con.unregister("cat_frame")
        con.unregister("pair_frame")
        con.unregister("sdg_frame")
        con.unregister("dis_frame")
    return len(categories)
