"""`iccs map-draft --source S`: a draft correspondence table for a person to review, one row per national code.

The source is staged and classified exactly as `iccs map-check` does (:func:`pipelines.mapcheck.stage_and_classify`,
in a throw-away in-memory database: nothing is loaded, no warehouse is touched), and every national code its records
use that the current table does not map (every code with ``--all``, or when the source has no table yet) gets a row:
the top candidate of :func:`iccs.suggestions.rank` as ``iccs_code``, with its score, reasons and the next candidates.

Every row says ``basis: suggested``, which the loader refuses (``warehouse.correspondence``): a draft maps nothing
until a person has reviewed each row and set its basis. The extra columns (score, reasons, alternatives, records)
are ignored by the loader, so the reviewed file is the correspondence table itself.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from pipelines import settings
from pipelines.mapcheck import stage_and_classify
from schemas.correspondence import BASES, DRAFT_BASIS
from schemas.source_config import ConfigError, PipelineConfig, SourceConfig, load_config
from warehouse.correspondence import CorrespondenceError
from warehouse.ddl import ensure_schema
from warehouse.mapping_coverage import candidate_text, code_volumes, rankable_text
from warehouse.staging import SourceError

DRAFT_NAME = "correspondence.draft.csv"
ALTERNATIVES = 3
LANG = "auto"  # a source configuration names no language; the ranker searches English and Spanish either way
DRAFT_COLUMNS = [
    "national_code",
    "national_label",
    "iccs_code",
    "correspondence",
    "basis",
    "note",
    "score",
    "reasons",
    "alternatives",
    "records",
]
NO_TEXT = "no text to suggest from (a bare code): add its national label, or map it by hand"
NO_MATCH = "no ICCS category shares a word with this text: map it by hand"
EXIT_FAILED = 1
EXIT_USAGE = 2


class DraftError(ValueError):
    """The draft cannot be written where asked (it would replace a table or an earlier draft)."""


@dataclass(frozen=True)
class Draft:
    path: Path
    codes: int
    suggested: int
    has_table: bool


def run_map_draft(args: argparse.Namespace) -> int:
    """The command: one summary line and the next step, or one line on stderr and exit 1 (the source cannot be
    read) or 2 (bad source name, configuration or arguments)."""
    if args.limit < 0:
        return _fail(f"--limit must be 0 or more (got {args.limit})", EXIT_USAGE)
    config_path = args.config or settings.existing_config_path()
    if config_path is None:
        return _fail("no configuration: give --config FILE (or set ICCS_CONFIG)", EXIT_USAGE)
    try:
        draft = write_draft(config_path, args.source, args.out, args.all, args.limit, args.force)
    except (ConfigError, DraftError) as exc:
        return _fail(str(exc), EXIT_USAGE)
    except (SourceError, CorrespondenceError) as exc:
        return _fail(f"{args.source}: {exc}", EXIT_FAILED)
    except OSError as exc:  # --out in a folder that cannot be written
        return _fail(f"cannot write the draft: {exc.strerror or exc} ({exc.filename or args.out})", EXIT_FAILED)
    if draft.codes == 0:
        print(f"{args.source}: its table maps or excludes every national code; nothing to draft (--all drafts all)")
        return 0
    which = "national codes" if args.all or not draft.has_table else "national codes not mapped yet"
    print(f"wrote {draft.path}: {draft.codes:,} {which}, {draft.suggested:,} with a suggested ICCS code")
    print(
        f"next: review every row (iccs_code, correspondence, note), set its basis to one of {', '.join(BASES)}, "
        f"then point correspondence: of source '{args.source}' at the reviewed file (merged into the current table, "
        f"if any) and run iccs map-check --config {config_path} --source {args.source}"
    )
    return 0


def _fail(message: str, code: int) -> int:
    print(f"iccs map-draft: {message}", file=sys.stderr)
    return code


def write_draft(
    config_path: Path,
    source: str,
    out: Path | None = None,
    all_codes: bool = False,
    alternatives: int = ALTERNATIVES,
    force: bool = False,
) -> Draft:
    """Classify the source, rank its codes and write the draft; refuse to replace a table or an earlier draft."""
    config = load_config(config_path, drafting=True)
    if source not in config.sources:
        raise ConfigError(f"{config.path}: no source named '{source}' (have: {', '.join(sorted(config.sources))})")
    src = config.sources[source]
    path = _target(config, src, out, force)
    frame = draft_frame(src, all_codes, alternatives)
    if len(frame):
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
    return Draft(path, len(frame), int(frame["iccs_code"].notna().sum()), _has_table(src))


def _has_table(src: SourceConfig) -> bool:
    return src.correspondence is not None and src.correspondence.is_file()


def _target(config: PipelineConfig, src: SourceConfig, out: Path | None, force: bool) -> Path:
    """Where the draft goes; never onto a correspondence table of the configuration, onto a draft only with
    --force."""
    folder = src.correspondence.parent if src.correspondence is not None else config.path.parent
    path = (out or folder / DRAFT_NAME).resolve()
    tables = {s.correspondence.resolve() for s in config.sources.values() if s.correspondence is not None}
    tables |= {t.file.resolve() for t in config.correspondences.values()}
    if path in tables:
        raise DraftError(f"{path} is a correspondence table of {config.path}; a draft never replaces one (--out)")
    if path.exists() and not force:
        raise DraftError(f"{path} exists (an earlier draft?); review it, or replace it with --force, or give --out")
    return path


def draft_frame(src: SourceConfig, all_codes: bool, alternatives: int) -> pd.DataFrame:
    """The draft rows: the codes the records use (those the table does not map, unless ``all_codes``), by volume."""
    con = duckdb.connect()
    try:
        ensure_schema(con)
        stage_and_classify(con, src)
        per_code = code_volumes(con, src.name)
    finally:
        con.close()
    per_code = per_code[per_code["national_code"].notna()]
    if not (all_codes or not _has_table(src)):
        per_code = per_code[(per_code["mapped"] == 0) & (per_code["excluded"] == 0)]
    per_code = per_code.sort_values(["records", "national_code"], ascending=[False, True], ignore_index=True)
    rows = [
        _row(code, label, bool(shared), alternatives, now) | {"records": int(records)}
        for code, label, shared, records, now in zip(
            per_code["national_code"],
            per_code["national_label"],
            per_code["label_shared"],
            per_code["records"],
            _current(per_code),
            strict=True,
        )
    ]
    return pd.DataFrame(rows, columns=DRAFT_COLUMNS)


def _current(per_code: pd.DataFrame) -> list[str | None]:
    """What the current table does with each code, for a reviewer of an --all draft (None: nothing)."""
    now = np.select(
        [per_code["mapped"] > 0, per_code["excluded"] > 0, per_code["no_row_on_date"] > 0],
        [
            "mapped now to " + per_code["iccs_code"].astype(str),
            "excluded now: " + per_code["excluded_note"].fillna("").astype(str),
            "the table has this code, but no row valid on the dates of "
            + per_code["no_row_on_date"].astype(str)
            + " record(s)",
        ],
        default="",
    )
    return [text or None for text in now]


def _row(code: str, label: str | None, label_shared: bool, alternatives: int, now: str | None) -> dict[str, object]:
    """One code's suggestion: the top candidate as its iccs_code, the next ones as alternatives; the note says
    why there is none, and what the current table does with the code."""
    from iccs.suggestions import rank

    row: dict[str, object] = {"national_code": code, "national_label": label, "correspondence": "full"}
    text = rankable_text(code, label, label_shared)
    found = rank(text, lang=LANG, limit=1 + alternatives) if text else []
    if not found:
        hint = NO_TEXT if text is None else NO_MATCH
        return row | {"iccs_code": None, "basis": DRAFT_BASIS, "note": "; ".join(filter(None, [hint, now]))}
    top, rest = found[0], found[1:]
    return row | {
        "iccs_code": top.code,
        "basis": DRAFT_BASIS,
        "note": now,
        "score": round(top.score, 4),
        "reasons": " | ".join(top.reasons),
        "alternatives": "; ".join(candidate_text(s.code, s.label, s.score, ()) for s in rest) or None,
    }
