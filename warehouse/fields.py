"""SQL for the fields of a staged record (a row of ``raw_table(source)``): text, missing markers, dates."""

from __future__ import annotations

import re

from schemas.source_config import ReadOptions, SourceConfig
from warehouse.sql import literal, one_of


def txt(field: str) -> str:
    """A field's staged text, trimmed; NULL when empty."""
    return f"nullif(trim({field}_raw), '')"


def is_marker(text: str, read: ReadOptions) -> str:
    """TRUE where ``text`` (trimmed) is one of the missing-value markers of a file read with ``read``."""
    return one_of(f"lower({text})", read.missing_markers)


def marked(text: str, src: SourceConfig) -> str:
    """TRUE where a numeric field's text is empty or one of the source's missing-value markers."""
    return f"({text} IS NULL OR {is_marker(text, src.read)})"


def numeric_txt(field: str, src: SourceConfig) -> str:
    """A numeric field's text, NULL where it is a missing-value marker (e.g. R's NA for no coordinates)."""
    return f"CASE WHEN NOT {marked(txt(field), src)} THEN {txt(field)} END"


def date_sql(src: SourceConfig, text: str) -> str:
    """The date of a record: strptime, or for a quarter format (``%q``) the first day of the quarter, with
    quarter 1 starting in ``fiscal_year_start`` of the year the %Y names (2017/18 Q4 from April = 2018-01-01)."""
    if "%q" not in src.date_format:
        return f"try_strptime({text}, {literal(src.date_format)})::DATE"
    groups: list[str] = []
    pattern = ""
    for token in re.split(r"(%[Yyq%])", src.date_format):
        if token == "%Y":
            pattern += r"(\d{4})"
            groups.append("Y")
        elif token == "%y":
            pattern += r"(\d{2})"
            groups.append("y")
        elif token == "%q":
            pattern += r"Q?([1-4])"
            groups.append("q")
        elif token == "%%":
            pattern += "%"
        else:
            pattern += re.escape(token)
    pattern = "^" + pattern + "$"
    year = (
        f"TRY_CAST(regexp_extract({text}, {literal(pattern)}, {groups.index('Y') + 1}) AS INTEGER)"
        if "Y" in groups
        else f"2000 + TRY_CAST(regexp_extract({text}, {literal(pattern)}, {groups.index('y') + 1}) AS INTEGER)"
    )
    quarter = f"TRY_CAST(regexp_extract({text}, {literal(pattern)}, {groups.index('q') + 1}) AS INTEGER)"
    months = f"({src.fiscal_year_start - 1} + ({quarter} - 1) * 3)"
    return f"make_date({year} + {months} // 12, {months} % 12 + 1, 1)"
