"""Coverage windows: the span of periods each source (and counting unit) really covers.

An incident extract of eight recent years also holds offences that *occurred* decades earlier and were reported
late. They are real records and stay loaded, but a series that starts at the oldest of them compares the
extract's first years with almost nothing: a trend "rises 39,000%", a chart's axis starts fifty years early,
a hot spot looks "new", and every empty old month is "missing". Every statistic is therefore computed inside the
source's window, and the records outside it are counted, not hidden (``v_coverage``).

The window is configured (``coverage: {from: 2016-01, to: 2023-12}``; a missing bound is the data's own first or
last period) or inferred from the data by this rule, computed in DuckDB per source and unit:

1. Periods are months when the source's counts carry months (daily and monthly data), else years; each period's
   volume is the sum of its counts, over the full range of periods (empty ones are 0).
2. The *typical* volume is the record-weighted median of the period volumes: the volume of the period in which
   the median record falls. A plain median of non-empty periods would be a tail value when a large source has
   a few late reports in each of hundreds of old months; weighting by records makes the tail (under 1% of the
   records) unable to move it.
3. A period is *dense* when its volume is at least ``DENSE_SHARE`` (10%) of the typical volume. 10% keeps a
   pandemic dip (-30 to -60%), a series that starts at a tenth of its later size, and a last month cut after
   three days; it drops tails of late reports, which run at a few percent of a period or less.
4. Dense periods separated by at most ``MAX_GAP`` sparse periods (12 months, or 2 years) form one run, so one
   bad month or a year's outage inside the series does not cut it in two.
5. The window runs from the first to the last dense period of every run that holds at least
   ``MIN_RUN_SHARE`` (5%) of the records, and always of the largest run: a stray dense month in the tail is
   left out, two halves of a series around a long outage are both in (the outage shows as missing periods).

6. An annual series of at least ``MIN_YEARS_FOR_CUT`` (4) years whose last year holds under
   ``YEAR_TO_DATE_SHARE`` (60%) of the year before ends the year before: publishers release the current year to
   date (Mexico's SESNSP table for 2025 holds six months, -52% on 2024), and annual data carries no months that
   would mark it partial, so "fell 58% from 2015 to 2025" would be read as a fall. A real drop of over 40% of a
   whole source in one year is rarer than a year to date; configure ``coverage: {to: 2025}`` to keep such a year.
   Only where the year before holds at least ``MIN_YEAR_TO_DATE_BASE`` (1,000) counts: a 40% fall of that many is
   far beyond chance (Poisson sd ~3%), while a small series (a country's 8 then 4 homicides) falls by half by chance
   and its last year must stay in.

With one or two periods, or a short annual table, every non-trivial period is dense and the window is the
whole series; the rule can only leave out sparse edges and small isolated runs, never the bulk of the data.
Sources without a row in ``coverage_windows`` (never assessed) are treated as covering everything, and periods
loaded after the last assessment beyond a window's open end (inferred, or configured without ``to``) count until the
next assessment (``data_quality``, which every run and the reports job repeat) places them.
"""

from __future__ import annotations

from collections.abc import Mapping

import duckdb

from schemas.coverage import parse_bound
from warehouse.ddl import ensure_schema
from warehouse.transaction import transaction

DENSE_SHARE = 0.10
MAX_GAP = {"month": 12, "year": 2}
MIN_RUN_SHARE = 0.05
YEAR_TO_DATE_SHARE = 0.6
MIN_YEARS_FOR_CUT = 4
MIN_YEAR_TO_DATE_BASE = 1000

TABLE = "coverage_windows"
COUNTS_IN_WINDOW = "v_offence_counts_in_window"
OFFENCES_IN_WINDOW = "v_offences_in_window"
NATIONAL_IN_WINDOW = "v_national_counts_in_window"
DETAIL_IN_WINDOW = "v_detail_counts_in_window"
# the shape of the window table when a warehouse has none (read-only, written before coverage windows)
NO_BOUNDS = (
    "SELECT NULL::VARCHAR AS source, NULL::VARCHAR AS unit, NULL::VARCHAR AS period_kind, "
    "NULL::INTEGER AS first_index, NULL::INTEGER AS last_index WHERE false"
)

_TABLES = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    source VARCHAR NOT NULL, unit VARCHAR NOT NULL, period_kind VARCHAR NOT NULL, first_index INTEGER NOT NULL,
    last_index INTEGER NOT NULL, first_period VARCHAR NOT NULL, last_period VARCHAR NOT NULL, basis VARCHAR NOT NULL,
    records_inside DOUBLE, records_before DOUBLE, records_after DOUBLE, count_inside DOUBLE, count_before DOUBLE,
    count_after DOUBLE, records_are VARCHAR, data_last_index INTEGER, open_end BOOLEAN);
"""


def position_sql(kind: str, first: str, last: str, year: str, month: str) -> str:
    """-1 / 0 / 1: the row is before, inside or after the window (NULL when there is no window).

    ``kind`` is 'month' or 'year', ``first``/``last`` the window's period indexes (year * 12 + month - 1 for
    months, the year for years). A row without a month in a monthly window is placed by its year."""
    index = f"({year} * 12 + {month} - 1)"
    return f"""CASE
        WHEN {kind} IS NULL THEN NULL
        WHEN {kind} = 'year' THEN CASE WHEN {year} < {first} THEN -1 WHEN {year} > {last} THEN 1 ELSE 0 END
        WHEN {month} IS NULL THEN CASE WHEN {year} < {first} // 12 THEN -1 WHEN {year} > {last} // 12 THEN 1
                                       ELSE 0 END
        ELSE CASE WHEN {index} < {first} THEN -1 WHEN {index} > {last} THEN 1 ELSE 0 END END"""


def inside_sql(year: str, month: str) -> str:
    """True when a row (of ``year``/``month``) counts for the window ``w``: no window, inside it, or newer than
    every period the window was assessed on while its end is open (inferred, or no configured ``to``), so a month
    loaded since the last assessment is in the reports before the next one, not silently left out."""
    inside = position_sql("w.period_kind", "w.first_index", "w.last_index", year, month)
    newer = position_sql("w.period_kind", "w.data_last_index + 1", "w.data_last_index + 1000000", year, month)
    return f"(w.source IS NULL OR {inside} = 0 OR (w.open_end AND {newer} = 0))"


def _views() -> str:
    return f"""
CREATE OR REPLACE VIEW {COUNTS_IN_WINDOW} AS
SELECT c.* FROM offence_counts c LEFT JOIN {TABLE} w ON w.source = c.source AND w.unit = c.unit
WHERE {inside_sql("c.year", "c.month")};
CREATE OR REPLACE VIEW {NATIONAL_IN_WINDOW} AS
SELECT c.* FROM v_national_counts c LEFT JOIN {TABLE} w ON w.source = c.source AND w.unit = c.unit
WHERE {inside_sql("c.year", "c.month")};
CREATE OR REPLACE VIEW {DETAIL_IN_WINDOW} AS
SELECT c.* EXCLUDE (is_total) FROM v_offence_count_roles c
LEFT JOIN {TABLE} w ON w.source = c.source AND w.unit = c.unit
WHERE NOT c.is_total AND {inside_sql("c.year", "c.month")};
CREATE OR REPLACE VIEW {OFFENCES_IN_WINDOW} AS
SELECT o.* FROM offences o LEFT JOIN {TABLE} w ON w.source = o.source AND w.unit = o.unit
WHERE {inside_sql("year(o.occurred_on)", "month(o.occurred_on)")};
CREATE OR REPLACE VIEW v_coverage AS
SELECT source, unit, first_period, last_period, basis, records_inside, records_before, records_after,
       count_inside, count_before, count_after, records_are
FROM {TABLE};
"""


COMMENTS = {
    TABLE: "per source and unit: the coverage window (period indexes and labels), configured or inferred, and "
    "the records inside, before and after it",
    "v_coverage": "per source and unit: the periods the source covers (first_period..last_period, basis "
    "configured | inferred) and its loaded records inside, before (late reports of old offences) and after "
    "the window, adding up to the records loaded (runs.records_loaded, loaded_records); records_are says what "
    "they are: records (incident sources), cells (the input table cells of an aggregate source, as the run "
    "summary and the pages count them), or offence_counts rows (an aggregate source loaded before "
    "loaded_records existed: reload it to count cells); count_* are the counts in the unit (offences, "
    "victims ...) of the national figure, a total row counted once (as v_national_counts)",
    COUNTS_IN_WINDOW: "offence_counts inside each source's coverage window: what every report's statistic uses",
    OFFENCES_IN_WINDOW: "offences (incident records) inside their source's coverage window",
    NATIONAL_IN_WINDOW: "v_national_counts (the national figure: total rows where a source has them, else the sum "
    "of its areas) inside each source's coverage window",
    DETAIL_IN_WINDOW: "offence_counts without national total rows (the rows of real areas, and the national rows "
    "of sources without areas) inside each source's coverage window",
}


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    """The window table and the views over it (the raw tables and v_counts keep every record)."""
    con.execute(_TABLES)
    con.execute(_views())
    for name, text in COMMENTS.items():
        kind = "TABLE" if name == TABLE else "VIEW"
        con.execute(f"COMMENT ON {kind} {name} IS '{text.replace(chr(39), chr(39) * 2)}'")


def _bound(bound: str | None) -> tuple[int | None, int | None]:
    """A configured bound as (year, month); a year bound on a monthly source spans the whole year."""
    parsed = parse_bound(bound) if bound is not None else None
    return parsed if parsed is not None else (None, None)


def _volumes_sql() -> str:
    """source, unit, kind, p, n: the volume of every period from the first to the last, empty periods as 0."""
    return """
        kinds AS (
            SELECT source, unit, CASE WHEN bool_or(month IS NOT NULL) THEN 'month' ELSE 'year' END AS kind
            FROM offence_counts GROUP BY ALL),
        given AS (
            SELECT c.source, c.unit, k.kind,
                   CASE WHEN k.kind = 'month' THEN c.year * 12 + c.month - 1 ELSE c.year END AS p,
                   sum(c.count) AS n
            FROM offence_counts c JOIN kinds k USING (source, unit)
            WHERE k.kind = 'year' OR c.month IS NOT NULL GROUP BY ALL),
        spans AS (SELECT source, unit, kind, min(p) AS p0, max(p) AS p1 FROM given GROUP BY ALL),
        vol AS (
            SELECT s.source, s.unit, s.kind, s.p, coalesce(v.n, 0) AS n
            FROM (SELECT source, unit, kind, unnest(range(p0, p1 + 1)) AS p FROM spans) s
            LEFT JOIN given v ON v.source = s.source AND v.unit = s.unit AND v.p = s.p)"""


def inferred_sql() -> str:
    """source, unit, kind, first_index, last_index: the inferred window of every source and unit (module rule)."""
    return f"""
        WITH {_volumes_sql().strip()},
        ranked AS (
            SELECT *, sum(n) OVER (PARTITION BY source, unit ORDER BY n, p ROWS UNBOUNDED PRECEDING) AS below,
                   sum(n) OVER (PARTITION BY source, unit) AS total
            FROM vol WHERE n > 0),
        typical AS (
            SELECT source, unit, min(n) FILTER (WHERE below >= total / 2) AS typical, any_value(total) AS total
            FROM ranked GROUP BY ALL),
        dense AS (
            SELECT v.source, v.unit, v.kind, v.p FROM vol v JOIN typical t USING (source, unit)
            WHERE v.n > 0 AND v.n >= {DENSE_SHARE} * t.typical),
        breaks AS (
            SELECT *, coalesce(p - lag(p) OVER (PARTITION BY source, unit ORDER BY p) - 1 >
                               CASE kind WHEN 'month' THEN {MAX_GAP["month"]} ELSE {MAX_GAP["year"]} END,
                               true)::INTEGER AS starts
            FROM dense),
        runs AS (
            SELECT source, unit, kind, min(p) AS p0, max(p) AS p1
            FROM (SELECT *, sum(starts) OVER (PARTITION BY source, unit ORDER BY p) AS run FROM breaks)
            GROUP BY source, unit, kind, run),
        weighed AS (
            SELECT r.*, sum(v.n) AS n, any_value(t.total) AS total
            FROM runs r JOIN vol v ON v.source = r.source AND v.unit = r.unit AND v.p BETWEEN r.p0 AND r.p1
            JOIN typical t ON t.source = r.source AND t.unit = r.unit
            GROUP BY ALL),
        kept AS (
            SELECT * FROM weighed
            WHERE n >= {MIN_RUN_SHARE} * total
               OR n = (SELECT max(n) FROM weighed x WHERE x.source = weighed.source AND x.unit = weighed.unit)),
        windows AS (SELECT source, unit, kind, min(p0) AS first_index, max(p1) AS last_index FROM kept GROUP BY ALL),
        trimmed AS (
            SELECT w.source, w.unit, w.kind, w.first_index,
                   CASE WHEN w.kind = 'year' AND w.last_index - w.first_index >= {MIN_YEARS_FOR_CUT - 1}
                             AND w.last_index = s.p1 AND lastv.n < {YEAR_TO_DATE_SHARE} * prevv.n
                             AND prevv.n >= {MIN_YEAR_TO_DATE_BASE}
                        THEN w.last_index - 1 ELSE w.last_index END AS last_index
            FROM windows w JOIN spans s USING (source, unit)
            LEFT JOIN vol lastv ON lastv.source = w.source AND lastv.unit = w.unit AND lastv.p = w.last_index
            LEFT JOIN vol prevv ON prevv.source = w.source AND prevv.unit = w.unit AND prevv.p = w.last_index - 1)
        SELECT s.source, s.unit, s.kind, coalesce(w.first_index, s.p0) AS first_index,
               coalesce(w.last_index, s.p1) AS last_index
        FROM spans s LEFT JOIN trimmed w USING (source, unit)"""


def _label(kind: str, index: str) -> str:
    return (
        f"CASE WHEN {kind} = 'month' THEN printf('%04d-%02d', {index} // 12, {index} % 12 + 1) "
        f"ELSE {index}::VARCHAR END"
    )


def compute(
    con: duckdb.DuckDBPyConnection, configured: Mapping[str, tuple[str | None, str | None] | None] | None = None
) -> None:
    """Replace ``coverage_windows`` with every source and unit's window and its inside/before/after counts.

    ``configured`` maps a source to its configured (from, to) bounds ('YYYY' or 'YYYY-MM'); an open bound is
    the data's first or last period. Other sources get the inferred window. One transaction: a reader never
    sees a half-written table."""
    ensure_schema(con)
    rows = [(source, bounds[0], bounds[1]) for source, bounds in (configured or {}).items() if bounds]
    with transaction(con):
        con.execute(f"CREATE OR REPLACE TEMP TABLE _inferred AS {inferred_sql()}")
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _configured (source VARCHAR, first_year INTEGER, "
            "first_month INTEGER, last_year INTEGER, last_month INTEGER)"
        )
        for source, first, last in rows:
            con.execute("INSERT INTO _configured VALUES (?, ?, ?, ?, ?)", [source, *_bound(first), *_bound(last)])
        position = position_sql("w.period_kind", "w.first_index", "w.last_index", "c.year", "c.month")
        loaded = position_sql("w.period_kind", "w.first_index", "w.last_index", "r.year", "r.month")
        con.execute(f"DELETE FROM {TABLE}")
        con.execute(f"""
            INSERT INTO {TABLE}
            WITH spans AS (
                SELECT c.source, c.unit, i.kind,
                       min(CASE WHEN i.kind = 'month' THEN c.year * 12 + coalesce(c.month, 1) - 1 ELSE c.year END)
                           AS p0,
                       max(CASE WHEN i.kind = 'month' THEN c.year * 12 + coalesce(c.month, 12) - 1 ELSE c.year END)
                           AS p1
                FROM offence_counts c JOIN _inferred i USING (source, unit) GROUP BY ALL),
            chosen AS (
                SELECT i.source, i.unit, i.kind AS period_kind,
                       CASE WHEN g.source IS NULL THEN i.first_index
                            WHEN i.kind = 'year' THEN coalesce(g.first_year, s.p0)
                            ELSE coalesce(g.first_year * 12 + coalesce(g.first_month, 1) - 1, s.p0) END
                           AS first_index,
                       CASE WHEN g.source IS NULL THEN i.last_index
                            WHEN i.kind = 'year' THEN coalesce(g.last_year, s.p1)
                            ELSE coalesce(g.last_year * 12 + coalesce(g.last_month, 12) - 1, s.p1) END
                           AS last_index,
                       CASE WHEN g.source IS NULL THEN 'inferred' ELSE 'configured' END AS basis,
                       s.p1 AS data_last_index, g.source IS NULL OR g.last_year IS NULL AS open_end
                FROM _inferred i JOIN spans s USING (source, unit) LEFT JOIN _configured g USING (source)),
            stored AS (SELECT DISTINCT source, unit, file FROM offence_counts),
            -- a source and unit whose every stored file has its loaded records per period (files loaded before
            -- loaded_records existed have none: such a source counts what it stored, and records_are says so)
            known AS (
                SELECT s.source, s.unit, bool_and(r.file IS NOT NULL) AS complete
                FROM stored s LEFT JOIN (SELECT DISTINCT source, unit, file FROM loaded_records) r
                  ON r.source = s.source AND r.unit = s.unit AND r.file IS NOT DISTINCT FROM s.file
                GROUP BY ALL),
            roles AS (SELECT * FROM v_offence_count_cells),
            placed AS (
                SELECT w.source, w.unit, {position} AS pos,
                       CASE WHEN c.is_total = c.has_total THEN c.count ELSE 0 END AS count,
                       CASE WHEN k.complete THEN 0 WHEN src.level = 'aggregate' THEN 1 ELSE c.count END AS records
                FROM roles c JOIN chosen w ON w.source = c.source AND w.unit = c.unit
                JOIN known k ON k.source = c.source AND k.unit = c.unit
                LEFT JOIN sources src ON src.source = c.source
                UNION ALL
                SELECT w.source, w.unit, {loaded} AS pos, 0 AS count, r.records
                FROM loaded_records r JOIN chosen w ON w.source = r.source AND w.unit = r.unit
                JOIN known k ON k.source = r.source AND k.unit = r.unit AND k.complete
                SEMI JOIN stored s ON s.source = r.source AND s.unit = r.unit AND s.file IS NOT DISTINCT FROM r.file)
            SELECT w.source, w.unit, w.period_kind, w.first_index, w.last_index,
                   {_label("w.period_kind", "w.first_index")}, {_label("w.period_kind", "w.last_index")}, w.basis,
                   coalesce(sum(p.records) FILTER (WHERE p.pos = 0), 0),
                   coalesce(sum(p.records) FILTER (WHERE p.pos < 0), 0),
                   coalesce(sum(p.records) FILTER (WHERE p.pos > 0), 0),
                   coalesce(sum(p.count) FILTER (WHERE p.pos = 0), 0),
                   coalesce(sum(p.count) FILTER (WHERE p.pos < 0), 0),
                   coalesce(sum(p.count) FILTER (WHERE p.pos > 0), 0),
                   CASE WHEN any_value(s.level) <> 'aggregate' OR any_value(s.level) IS NULL THEN 'records'
                        WHEN any_value(k.complete) THEN 'cells' ELSE 'offence_counts rows' END,
                   w.data_last_index, w.open_end
            FROM chosen w LEFT JOIN placed p USING (source, unit) LEFT JOIN sources s ON s.source = w.source
            LEFT JOIN known k ON k.source = w.source AND k.unit = w.unit
            GROUP BY ALL""")
        con.execute("DROP TABLE _inferred")
        con.execute("DROP TABLE _configured")


def relation(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The window-restricted view of ``table`` (offence_counts, offences, national_counts, detail_counts,
    counts_by_sex_age, sdg16_by_sex_age) when the
    warehouse has it, else the unrestricted relation (a warehouse written before coverage windows existed, opened
    read-only)."""
    view = {
        "offence_counts": COUNTS_IN_WINDOW,
        "offences": OFFENCES_IN_WINDOW,
        "national_counts": NATIONAL_IN_WINDOW,
        "detail_counts": DETAIL_IN_WINDOW,
        "counts_by_sex_age": "v_counts_by_sex_age_in_window",
        "sdg16_by_sex_age": "v_sdg16_by_sex_age_in_window",
    }[table]
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_schema = 'main'", [view]
    ).fetchall()
    return (
        view
        if rows[0][0]
        else {
            "national_counts": "v_national_counts",
            "detail_counts": "offence_counts",
            "counts_by_sex_age": "v_counts_by_sex_age",
            "sdg16_by_sex_age": "v_sdg16_by_sex_age",
        }.get(table, table)
    )


def bounds(con: duckdb.DuckDBPyConnection) -> str:
    """A query of (source, unit, period_kind, first_index, last_index) for every window (none when absent)."""
    if not _has_table(con):
        return NO_BOUNDS
    return f"SELECT source, unit, period_kind, first_index, last_index FROM {TABLE}"


def window_text(con: duckdb.DuckDBPyConnection, source: str) -> str:
    """'2016-01 to 2023-12 (inferred; 41 records before it, 0 after)' for a report's metadata, '' when unknown."""
    if not _has_table(con):
        return ""
    rows = con.execute(
        f"SELECT unit, first_period, last_period, basis, records_before, records_after, records_are "
        f"FROM {TABLE} WHERE source = ? ORDER BY unit",
        [source],
    ).fetchall()
    parts = []
    for unit, first, last, basis, before, after, are in rows:
        outside = (
            f"; {before:,.0f} {are} before it, {after:,.0f} after, loaded but left out of the statistics"
            if before or after
            else ""
        )
        parts.append(f"{first} to {last} ({basis}{outside})" + (f" [{unit}]" if len(rows) > 1 else ""))
    return "; ".join(parts)


def windows_line(con: duckdb.DuckDBPyConnection, sources: list[str]) -> str:
    """Each source's window for a report's metadata ('a: 2016-01 to 2023-12 (inferred); b: ...')."""
    parts = [f"{source}: {text}" for source in sources if (text := window_text(con, source))]
    return "; ".join(parts) or "not assessed: every loaded period is used"


def _has_table(con: duckdb.DuckDBPyConnection) -> bool:
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_schema = 'main'", [TABLE]
    ).fetchall()
    return bool(rows[0][0])
