"""Data tables of the report pages: plain-words headers, one display format per kind of column, and a CSV
download of the whole frame beside each table.

Every cell and header is HTML-escaped here. The CSV keeps the raw values and column names; a table longer than
the rows it shows has its CSV written as a file beside the page (`page.csv_file`), else embedded as a `data:` URI.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import pandas as pd

from reports import numbers
from reports.page import csv_file, esc, paragraph

MAX_TABLE_ROWS = 200


def csv_data_uri(frame: pd.DataFrame) -> str:
    return "data:text/csv;charset=utf-8," + urllib.parse.quote(frame.to_csv(index=False))


# Column kinds of a table, each with one display format (the CSV keeps the raw values).
COUNT, DELTA, RATE, SHARE, PERCENT, CHANGE, YEAR, P_VALUE, NUMBER, TEXT = (
    "count",
    "delta",
    "rate",
    "share",
    "percent",
    "change",
    "year",
    "p",
    "number",
    "text",
)
# Column names whose plain-words header is not just the name with spaces.
LABELS: dict[str, str] = {
    "iccs_code": "ICCS code",
    "rate_per_100k": "per 100,000",
    "rate_per_100k_latest": "per 100,000 (latest year)",
    "rate_per_100k_previous": "per 100,000 (previous year)",
    "rate_change_pct": "rate change",
    "change_pct": "change",
    "relative_slope_pct": "% per year",
    "slope_per_year": "Sen's slope per year",
    "p_value": "p",
    "share_pct": "share of all recorded",
    "first_at": "first seen at",
    "n": "periods tested",
    "quarantined_share": "quarantined",
    "share_of_source": "share of the source's records",
    "records_in": "records in",
    "partial": "partial year",
    "months": "months with data",
}
_COUNT_NAMES = {"count", "records", "population", "all_recorded", "files", "quarantine_rows", "failures", "n"}
_SIGNED_PERCENT = {"change_pct", "rate_change_pct", "relative_slope_pct"}


def header(column: str) -> str:
    """A column's header in plain words: LABELS, else the name with spaces for underscores."""
    return LABELS.get(column) or str(column).replace("_", " ")


def column_kind(column: str, values: pd.Series) -> str:
    """How a column is shown, from its name (the conventions of our frames) and failing that its type."""
    name = str(column).lower()
    if name in ("p", "p_value") or name.endswith("_p_value"):
        return P_VALUE
    if name in _SIGNED_PERCENT or name.startswith("change %"):
        return CHANGE
    if name.endswith("_share") or name.startswith("share_of") or name == "share":
        return SHARE
    if name.endswith("_pct") or "%" in name:
        return PERCENT
    if "per_100k" in name or "per 100,000" in name:
        return RATE
    if re.search(r"(^|[_ ])year($|[_ ])", name) and "per year" not in name and "per_year" not in name:
        return YEAR
    if name in ("change", "difference"):
        return DELTA
    if name in _COUNT_NAMES or name.startswith(("count_", "records_", "count (")) or name.endswith("_count"):
        return COUNT
    if pd.api.types.is_bool_dtype(values):
        return TEXT
    if pd.api.types.is_integer_dtype(values):
        return COUNT
    if pd.api.types.is_float_dtype(values):
        return NUMBER
    return TEXT


def percent(value: float, *, signed: bool = False) -> str:
    """A percentage with as many decimals as its size needs: 12%, 3.4%, 0.71%, <0.01%."""
    size = abs(value)
    sign = "+" if signed and value > 0 else ""
    if size == 0:
        return "0%"
    if size < 0.01:
        return ("-" if value < 0 else "") + "<0.01%"
    digits = 0 if size >= 100 else 1 if size >= 1 else 2
    return f"{sign}{value:,.{digits}f}%"


def format_p(p: float) -> str:
    """A p-value with 3 decimals near the usual thresholds (0.049 is not shown as 0.05), 2 above 0.1."""
    return "<0.001" if p < 0.001 else f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


def format_value(value: Any, kind: str) -> tuple[str, bool]:
    """Text of a table cell of the given kind and whether it is numeric (right-aligned)."""
    if value is None or (not isinstance(value, str | bytes) and pd.isna(value)):
        return "", False
    if isinstance(value, bool):
        return ("yes" if value else "no"), False
    if isinstance(value, pd.Timestamp | datetime):
        return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M" if pd.Timestamp(value).time() else "%Y-%m-%d"), False
    if not isinstance(value, int | float):
        return str(value), False
    number = float(value)
    if kind == YEAR:
        return (str(int(number)) if number.is_integer() else f"{number:g}"), True
    if kind in (COUNT, DELTA):
        sign = "+" if kind == DELTA else ""
        return (f"{number:{sign},.0f}" if number.is_integer() else f"{number:{sign},.1f}"), True
    if kind == RATE:
        return numbers.rate(number), True
    if kind == SHARE:
        return percent(number * 100), True
    if kind in (PERCENT, CHANGE):
        return percent(number, signed=kind == CHANGE), True
    if kind == P_VALUE:
        return format_p(number), True
    if number.is_integer() and abs(number) < 1e15:
        return f"{int(number):,}", True
    if abs(number) >= 1000:
        return f"{number:,.0f}", True
    return (f"{number:.2f}" if abs(number) >= 1 else f"{number:.3g}"), True


# The count each rate column of our frames is built on, to flag a rate on few records (numbers.SMALL_COUNT).
RATE_COUNTS = {
    "rate_per_100k": "count",
    "rate_per_100k_latest": "count_latest",
    "rate_per_100k_previous": "count_previous",
    "rate_per_100k_first": "first_count",
    "rate_per_100k_last": "last_count",
}


def small_rate_cells(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """Per rate column whose count column is in `frame`: the rows whose rate rests on fewer than
    numbers.SMALL_COUNT records."""
    return {
        rate: pd.to_numeric(frame[count], errors="coerce").lt(numbers.SMALL_COUNT) & frame[rate].notna()
        for rate, count in RATE_COUNTS.items()
        if rate in frame and count in frame
    }


WIDE_TABLE_COLUMNS = 8  # more columns than this: a smaller font so the table fits the page


def table_html(
    frame: pd.DataFrame,
    *,
    caption: str,
    csv_name: str,
    max_rows: int = MAX_TABLE_ROWS,
    labels: Mapping[str, str] | None = None,
    kinds: Mapping[str, str] | None = None,
    empty: str = "No data for this table.",
    csv: pd.DataFrame | None = None,
) -> str:
    """An escaped HTML table (first `max_rows` rows) and a CSV download of the whole frame (a `data:` URI when
    every row is shown, else a file `csv_name`.csv that the next `write_page` writes beside the page).

    The CSV keeps the frame as it is (raw values, column names); the page shows plain-words headers (`labels`,
    then LABELS, then the name with spaces) and formats each column by its kind (`kinds`, else `column_kind`):
    counts with thousands separators, rates by `numbers.rate` (marked † with a note under the table when built
    on fewer than numbers.SMALL_COUNT records), shares and percentages with a % sign. `csv` is
    the download instead of `frame` when it should hold more columns than fit on the page. An empty frame
    gives the one line `empty` instead of a table with no rows.
    """
    if frame.empty:
        return paragraph(f"{caption}: {empty}", cls="note")
    labels = labels or {}
    kinds = kinds or {}
    shown = frame.head(max_rows)
    column_kinds = [kinds.get(c) or column_kind(c, shown[c]) for c in shown.columns]
    num = ' class="num"'
    head = "".join(
        f"<th{num if kind != TEXT else ''}>{esc(labels.get(c) or header(c))}</th>"
        for c, kind in zip(shown.columns, column_kinds, strict=True)
    )
    small = small_rate_cells(shown)
    flagged = [small[c].tolist() if c in small else None for c in shown.columns]
    rows = []
    for r, record in enumerate(shown.itertuples(index=False, name=None)):
        cells = []
        for value, kind, marks in zip(record, column_kinds, flagged, strict=True):
            text, is_number = format_value(value.item() if hasattr(value, "item") else value, kind)
            if marks is not None and marks[r] and text:
                text = f"{text} {numbers.SMALL_MARK}"
            # A break opportunity after each underscore, so identifiers like coordinates_outside_country wrap.
            cells.append(f"<td{num if is_number else ''}>{esc(text).replace('_', '_<wbr>')}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    name = csv_name if csv_name.endswith(".csv") else f"{csv_name}.csv"
    more = (
        f"<span>First {len(shown):,} of {len(frame):,} rows shown; the CSV has all.</span>"
        if len(frame) > len(shown)
        else f"<span>{numbers.plural(len(frame), 'row')}.</span>"
    )
    wide = " wide" if len(shown.columns) > WIDE_TABLE_COLUMNS else ""
    download = frame if csv is None else csv
    href = csv_file(name, download) if len(download) > len(shown) else csv_data_uri(download)
    caution = paragraph(numbers.SMALL_NOTE, cls="note") if any(bool(m.any()) for m in small.values()) else ""
    return (
        f'<div class="table-wrap"><table class="data{wide}"><caption>{esc(caption)}</caption>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        f'<div class="table-foot">{more}<a class="csv" download="{esc(name)}" '
        f'href="{esc(href)}">Download CSV ({esc(name)})</a></div>{caution}'
    )
