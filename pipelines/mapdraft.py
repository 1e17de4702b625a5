"""`iccs map-draft --source S`: a draft correspondence table for a person to review, one row per national code.

The source is staged and classified exactly as `iccs map-check` does (:func:`pipelines.mapcheck.stage_and_classify`,
in a throw-away in-memory database: nothing is loaded, no warehouse is touched), and every national code its records
use with records the current table does not map (every code with ``--all``, or when the source has no table yet) gets
a row: the top candidate of :func:`iccs.suggestions.rank` as ``iccs_code``, with its score, how it was ranked, its
reasons and the next candidates. A partly mapped code (no row valid on some records' dates) gets a row saying so; in
an ``offence_match: label`` source the spellings of one label are one row, keyed as the loader keys them.

Every row says ``basis: suggested``, which the loader refuses (``warehouse.correspondence``): a draft maps nothing
until a person has reviewed each row and set its basis. The extra columns (score, ranked_by, reasons, alternatives,
records) are ignored by the loader, so the reviewed file is the correspondence table itself.
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
from warehouse.mapping import key_of
from warehouse.mapping_coverage import candidate_text, code_volumes, rankable_text
from warehouse.staging import SourceError

DRAFT_NAME = "correspondence.{source}.draft.csv"  # one per source: the sources of a configuration share a folder
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
    "ranked_by",
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


class DraftWriteError(RuntimeError):
    """Writing the draft failed (a folder that cannot be written): kept apart from reading errors of the source."""


@dataclass(frozen=True)
class Draft:
    path: Path
    codes: int
    suggested: int
    has_table: bool
    no_offence: int  # records with an empty offence: nothing to draft, map-check lists them as missing_field


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
    except DraftWriteError as exc:
        return _fail(str(exc), EXIT_FAILED)
    except OSError as exc:  # reading, not writing: a file of the source or its table that went away or is locked
        return _fail(f"{args.source}: cannot read {exc.filename or 'a file'}: {exc.strerror or exc}", EXIT_FAILED)
    _report(draft, args.source, args.all, config_path)
    return 0


def _report(draft: Draft, source: str, all_codes: bool, config_path: Path) -> None:
    """The summary line, the records no row can be drafted for, and the next step when there is a draft."""
    if draft.codes == 0:
        print(_nothing_to_draft(source, draft))
    else:
        which = "national codes" if all_codes or not draft.has_table else "national codes not mapped yet"
        print(f"wrote {draft.path}: {draft.codes:,} {which}, {draft.suggested:,} with a suggested ICCS code")
    if draft.no_offence:
        print(
            f"{draft.no_offence:,} record(s) have no offence value: not drafted "
            "(iccs map-check lists them as missing_field)"
        )
    if draft.codes:
        print(
            f"next: review every row (iccs_code, correspondence, note), set its basis to one of {', '.join(BASES)}, "
            f"then point correspondence: of source '{source}' at the reviewed file (merged into the current table, "
            f"if any) and run iccs map-check --config {config_path} --source {source}"
        )


def _nothing_to_draft(source: str, draft: Draft) -> str:
    """Why no row was written: the table covers every code, or (no table yet) the records give no code at all."""
    if draft.has_table:
        return f"{source}: its table maps or excludes every national code; nothing to draft (--all drafts all)"
    if draft.no_offence:
        return f"{source}: no record has an offence value; nothing to draft (check its columns.offence)"
    return f"{source}: no records; nothing to draft"


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
    per_code = source_volumes(src)
    frame = draft_frame(src, per_code, all_codes, alternatives)
    if len(frame):
        _write(frame, path)
    no_offence = int(per_code.loc[per_code["national_code"].isna(), "records"].sum())
    return Draft(path, len(frame), int(frame["iccs_code"].notna().sum()), _has_table(src), no_offence)


def _write(frame: pd.DataFrame, path: Path) -> None:
    """The only step whose OSError means 'cannot write the draft' (a source that cannot be read is a SourceError)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False)
    except OSError as exc:
        raise DraftWriteError(f"cannot write the draft: {exc.strerror or exc} ({exc.filename or path})") from None


def _has_table(src: SourceConfig) -> bool:
    return src.correspondence is not None and src.correspondence.is_file()


def _target(config: PipelineConfig, src: SourceConfig, out: Path | None, force: bool) -> Path:
    """Where the draft goes; never onto a correspondence table of the configuration, onto a draft only with
    --force."""
    folder = src.correspondence.parent if src.correspondence is not None else config.path.parent
    path = (out or folder / DRAFT_NAME.format(source=src.name)).resolve()
    if path.is_dir():
        raise DraftError(f"{path} is a directory; give --out a file name")
    tables = {t.file.resolve() for t in config.correspondences.values()}
    pointed = {s.correspondence.resolve(): s.name for s in config.sources.values() if s.correspondence is not None}
    if path in pointed and not path.exists():
        raise DraftError(
            f"{path} is where correspondence: of source '{pointed[path]}' points; write the draft elsewhere (--out) "
            "and save it there once reviewed"
        )
    if path in tables or path in pointed:
        raise DraftError(f"{path} is a correspondence table of {config.path}; a draft never replaces one (--out)")
    if path.exists() and not force:
        raise DraftError(f"{path} exists (an earlier draft?); review it, or replace it with --force, or give --out")
    return path


def source_volumes(src: SourceConfig) -> pd.DataFrame:
    """The per-code frame of :func:`code_volumes`, from a throw-away database (nothing is loaded)."""
    con = duckdb.connect()
    try:
        ensure_schema(con)
        stage_and_classify(con, src)
        return code_volumes(con, src.name)
    finally:
        con.close()


def draft_frame(src: SourceConfig, per_code: pd.DataFrame, all_codes: bool, alternatives: int) -> pd.DataFrame:
    """The draft rows: the codes the records use (those with records the table does not map, unless
    ``all_codes``), by volume; a label source's spellings of one label are one row, as the loader keys them."""
    per_code = _with_record_labels(per_code[per_code["national_code"].notna()])
    if src.offence_match == "label":
        per_code = fold_spellings(per_code, src)
    if not (all_codes or not _has_table(src)):
        per_code = per_code[(per_code["unmapped"] > 0) & (per_code["excluded"] == 0)]
    per_code = per_code.sort_values(["records", "national_code"], ascending=[False, True], ignore_index=True)
    rows = [
        _row(code, label, bool(shared), alternatives, now) | {"records": int(records)}
        for code, label, shared, records, now in zip(
            per_code["national_code"],
            per_code["national_label"],
            per_code["label_shared"],
            per_code["records"],
            _notes(per_code),
            strict=True,
        )
    ]
    return pd.DataFrame(rows, columns=DRAFT_COLUMNS)


SUMMED = ["records", "mapped", "excluded", "no_row_on_date", "unmapped"]
FIRST = ["national_label", "excluded_note", "iccs_code", "label_note"]  # the first non-empty value of the spellings


def _with_record_labels(per_code: pd.DataFrame) -> pd.DataFrame:
    """The table's label of each code, else the records' own (``columns.offence_label``): the most frequent one,
    with a note when the records give the code several."""
    table_label = per_code["national_label"]
    several = table_label.isna() & (per_code["record_labels"] > 1)
    note = (
        "the records give "
        + per_code["record_labels"].astype(str)
        + " labels for this code; the most frequent is shown"
    )
    return per_code.assign(
        national_label=table_label.where(table_label.notna(), per_code["record_label"]),
        label_note=note.where(several, None),
    )


def fold_spellings(per_code: pd.DataFrame, src: SourceConfig) -> pd.DataFrame:
    """One row per label key (:func:`warehouse.mapping.key_of`): the loader refuses a table with two spellings of
    one label, so the most frequent spelling is the row's national_code and the others go to ``spellings``."""
    per_code = per_code.sort_values(["records", "national_code"], ascending=[False, True], ignore_index=True)
    keys = per_code["national_code"].map(lambda code: key_of(src, code) or code)  # one call per code, not record
    groups = per_code.groupby(keys, sort=False)
    folded = per_code[~keys.duplicated()].set_index(keys[~keys.duplicated()])
    folded[SUMMED] = groups[SUMMED].sum()
    folded[FIRST] = groups[FIRST].first()
    folded["label_shared"] = groups["label_shared"].any()
    others = per_code[keys.duplicated()]
    spelt = (
        (others["national_code"].map(repr) + " (" + others["records"].astype(str) + ")").groupby(keys).agg(", ".join)
    )
    folded["spellings"] = ("also spelt: " + spelt).reindex(folded.index)
    return folded.reset_index(drop=True)


def _notes(per_code: pd.DataFrame) -> list[str | None]:
    """What the current table does with each code, a label's other spellings, and the records' several labels of a
    code (None: nothing to say)."""
    spellings = per_code["spellings"] if "spellings" in per_code else pd.Series(None, index=per_code.index)
    return [
        "; ".join(filter(None, parts)) or None
        for parts in zip(
            _current(per_code), spellings.fillna(""), per_code["label_note"].astype(object).fillna(""), strict=True
        )
    ]


def _current(per_code: pd.DataFrame) -> list[str | None]:
    """What the current table does with each code (None: nothing), so a reviewer of a partly mapped code or of an
    --all draft does not undo a row that works."""
    now = np.select(
        [
            (per_code["mapped"] > 0) & (per_code["unmapped"] > 0),
            per_code["mapped"] > 0,
            per_code["excluded"] > 0,
            per_code["no_row_on_date"] > 0,
        ],
        [
            "partly mapped: no row valid on the dates of "
            + per_code["unmapped"].astype(str)
            + " record(s); the others are mapped now to "
            + per_code["iccs_code"].astype(str),
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
    from iccs.suggestions import rank, uses_semantic

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
        "ranked_by": "lexical+semantic" if uses_semantic() else "lexical",  # the score's scale differs between them
        "reasons": " | ".join(top.reasons),
        "alternatives": "; ".join(candidate_text(s.code, s.label, s.score, ()) for s in rest) or None,
    }
