"""Plain-text rendering of the ICCS tree for the command line (``iccs codes``)."""

from __future__ import annotations

from iccs.classification import Category, categories, descendants, get, lineage, normalise_code
from iccs.search import search

_INDENT = "  "
_MATCH_MARK = "* "


def _line(category: Category, depth: int, marked: bool = False, marks_used: bool = False) -> str:
    """One tree row; a gutter is reserved for match marks so search output stays aligned."""
    gutter = (_MATCH_MARK if marked else " " * len(_MATCH_MARK)) if marks_used else ""
    return f"{gutter}{_INDENT * depth}{category.code:<6}  {category.label}"


def _resolve_root(root: str) -> Category:
    """Accept a CLI-typed root such as '204' or 'ICCS0204'; unknown codes raise UnknownCodeError."""
    return get(normalise_code(root) or root)


def _subtree(root: str | None) -> list[Category]:
    """The root with its descendants, or the whole classification."""
    if root is None:
        return list(categories())
    top = _resolve_root(root)
    return [top, *descendants(top.code)]


def _search_tree(scope: list[Category], query: str) -> str:
    """Matches within ``scope`` shown under their ancestry, so each hit is seen in context."""
    in_scope = {c.code for c in scope}
    hits = {c.code for c in search(query) if c.code in in_scope}
    if not hits:
        return f"No ICCS category matches {query!r}."
    shown = {a.code for code in hits for a in lineage(code)}
    rows = [c for c in categories() if c.code in shown]
    return "\n".join(_line(c, c.level - 1, c.code in hits, marks_used=True) for c in rows)


def render_tree(root: str | None = None, query: str | None = None) -> str:
    """Indented text tree: everything, one subtree (``root``), or search hits (``query``) with their ancestry.

    With both, the search is limited to the root's subtree. Matches are marked with '*'.
    """
    scope = _subtree(root)
    if query is not None:
        return _search_tree(scope, query)
    base = scope[0].level
    return "\n".join(_line(c, c.level - base) for c in scope)
