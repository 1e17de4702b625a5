"""UNODC International Classification of Crime for Statistical Purposes (ICCS v1.0) and its SDG 16 links.

Self-contained (standard library + pandas) so any part of the pipeline can classify
without pulling in the rest.
"""

from iccs.classification import (
    LEVELS,
    Category,
    UnknownCodeError,
    ancestor_pairs_frame,
    ancestors,
    categories,
    categories_frame,
    children,
    descendants,
    get,
    is_valid,
    lineage,
    normalise_code,
    parent,
    rollup,
    section,
)
from iccs.definitions import Definition, Exclusion, definition, definitions, render_definition
from iccs.sdg16 import components, indicator_codes, sdg16_frame
from iccs.search import normalise_label, search
from iccs.tree import render_tree

__all__ = [
    "LEVELS",
    "Category",
    "Definition",
    "Exclusion",
    "UnknownCodeError",
    "ancestor_pairs_frame",
    "ancestors",
    "categories",
    "categories_frame",
    "children",
    "components",
    "definition",
    "definitions",
    "descendants",
    "get",
    "indicator_codes",
    "is_valid",
    "lineage",
    "normalise_code",
    "normalise_label",
    "parent",
    "render_definition",
    "render_tree",
    "rollup",
    "sdg16_frame",
    "search",
    "section",
]
