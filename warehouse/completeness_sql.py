"""The SQL of the completeness checks (``warehouse.completeness`` runs them): expected periods × areas, drops
between periods, and categories that appear or vanish. Each takes ``$source`` and ``$unit`` as parameters and the
counts relation to read, so the checks see only the records inside the coverage windows."""

from __future__ import annotations

import math

from warehouse.coverage import NO_BOUNDS


def period_index(is_monthly: bool) -> str:
    """The period of an offence_counts row as an integer (months since year 0, or the year)."""
    return "year * 12 + month - 1" if is_monthly else "year"


def period_label(is_monthly: bool, index: str = "p") -> str:
    """The period index (a column or an expression) as text: '2023-04' or '2023'."""
    return f"printf('%04d-%02d', ({index}) // 12, ({index}) % 12 + 1)" if is_monthly else f"({index})::VARCHAR"


def coverage_sql(
    is_monthly: bool, counts: str = "offence_counts", bounds: str = NO_BOUNDS, ordered: bool = True
) -> str:
    """Expected periods: the source's coverage window (``warehouse.coverage``) where it has one, else its first
    to last period; only the records inside the window count, so a tail of late reports is not "missing".
    ``ordered=False`` leaves the rows unsorted, for a table: sorting areas × periods rows inside an INSERT ran
    out of memory at 50,000 areas (6M rows) under the 1 GB limit, unsorted it takes 1.5 s."""
    index, label = period_index(is_monthly), period_label(is_monthly, "periods.p")
    kind = "month" if is_monthly else "year"
    return f"""
        WITH cells AS (
            SELECT area, {index} AS p, sum(count) AS n
            FROM {counts} WHERE source = $source AND unit = $unit AND {index} IS NOT NULL GROUP BY ALL),
        bounds AS (SELECT first_index AS p0, last_index AS p1 FROM ({bounds})
                   WHERE source = $source AND unit = $unit AND period_kind = '{kind}'),
        span AS (SELECT min(p) AS p0, max(p) AS p1 FROM cells),
        periods AS (SELECT unnest(range(coalesce(b.p0, s.p0), coalesce(b.p1, s.p1) + 1)) AS p
                    FROM span s LEFT JOIN bounds b ON true WHERE s.p0 IS NOT NULL),
        areas AS (
            SELECT DISTINCT area FROM cells WHERE area IS NOT NULL
            UNION ALL
            SELECT NULL FROM (SELECT count(area) AS with_area FROM cells) WHERE with_area = 0)
        SELECT $source AS source, a.area, {label} AS period, c.n IS NOT NULL AS present,
               coalesce(c.n, 0)::DOUBLE AS records
        FROM areas a CROSS JOIN periods
        LEFT JOIN cells c ON c.p = periods.p AND c.area IS NOT DISTINCT FROM a.area
        {"ORDER BY a.area NULLS FIRST, periods.p" if ordered else ""}"""


def drops_sql(is_monthly: bool, counts: str = "offence_counts") -> str:
    """Each present period against the previous present one, like for like: only the areas with records in both
    count, so an area that stopped sending shows in ``coverage``, not as a drop of the whole source.

    An area's cell of the previous present period, when it has one, is its own previous cell (no period of the
    source lies between the two): a window over each area's cells finds it, where a join of the area × period
    cells with themselves took 8.5 s at 50,000 areas × 120 months."""
    index = period_index(is_monthly)
    return f"""
        WITH cells AS (
            SELECT area, {index} AS p, sum(count) AS n FROM {counts}
            WHERE source = $source AND unit = $unit AND {index} IS NOT NULL GROUP BY ALL),
        pairs AS (SELECT p, lag(p) OVER (ORDER BY p) AS q FROM (SELECT DISTINCT p FROM cells)),
        linked AS (
            SELECT p, n, lag(p) OVER (PARTITION BY area ORDER BY p) AS area_q,
                   lag(n) OVER (PARTITION BY area ORDER BY p) AS previous_n
            FROM cells),
        compared AS (
            SELECT pairs.p, pairs.q, sum(l.n)::DOUBLE AS records, sum(l.previous_n)::DOUBLE AS previous_records,
                   count(*) AS areas
            FROM pairs JOIN linked l ON l.p = pairs.p AND l.area_q = pairs.q
            GROUP BY ALL)
        SELECT {period_label(is_monthly)} AS period, records, {period_label(is_monthly, "q")} AS previous_period,
               previous_records, records / previous_records - 1 AS change, areas
        FROM compared
        WHERE previous_records >= $min_records AND records < (1 - $threshold) * previous_records
        ORDER BY p"""


def breaks_sql(is_monthly: bool, run: int, alpha: float, counts: str = "offence_counts") -> str:
    """A category vanishes at period k when it had records in each of the ``run`` present periods before k and
    none in k and the ``run - 1`` after; it appears at k in the mirror case. Periods where the whole source is
    missing are skipped, so a gap in the feed is not read as every category vanishing.

    A rare category has empty periods by chance: the break also needs ``run`` empty periods to be improbable
    at the category's rate on the other side (Poisson: exp(-rate × run) < ``alpha``), so ~1 record a month
    going quiet for a quarter is not a break, while 50 a month stopping is. Only periods inside the coverage
    window count: the edge of a sparse tail of late reports is not a category "appearing"."""
    floor = math.log(1 / alpha)
    index, label = period_index(is_monthly), period_label(is_monthly)
    return f"""
        WITH cells AS (
            SELECT iccs_code, {index} AS p, sum(count) AS n
            FROM {counts} WHERE source = $source AND unit = $unit AND {index} IS NOT NULL GROUP BY ALL),
        codes AS (
            SELECT iccs_code, string_agg(DISTINCT national_code, ', ' ORDER BY national_code) AS codes
            FROM offence_counts WHERE source = $source AND unit = $unit GROUP BY ALL),
        periods AS (SELECT p, row_number() OVER (ORDER BY p) AS k FROM (SELECT DISTINCT p FROM cells)),
        grid AS (
            SELECT c.iccs_code, periods.p, periods.k, coalesce(x.n, 0) > 0 AS has, coalesce(x.n, 0) AS n
            FROM (SELECT DISTINCT iccs_code FROM cells) c CROSS JOIN periods
            LEFT JOIN cells x ON x.iccs_code = c.iccs_code AND x.p = periods.p),
        windows AS (
            SELECT *,
                   count(*) OVER before AS rows_before, count(*) FILTER (has) OVER before AS with_before,
                   avg(n) OVER before AS mean_before,
                   count(*) OVER after AS rows_after, count(*) FILTER (has) OVER after AS with_after,
                   avg(n) OVER after AS mean_after
            FROM grid
            WINDOW before AS (PARTITION BY iccs_code ORDER BY k ROWS BETWEEN {run} PRECEDING AND 1 PRECEDING),
                   after AS (PARTITION BY iccs_code ORDER BY k ROWS BETWEEN CURRENT ROW AND {run - 1} FOLLOWING)),
        flagged AS (
            SELECT *, CASE WHEN with_before = {run} AND with_after = 0 AND mean_before * {run} > {floor}
                                THEN 'vanished'
                           WHEN with_before = 0 AND with_after = {run} AND mean_after * {run} > {floor}
                                THEN 'appeared' END AS kind
            FROM windows WHERE rows_before = {run} AND rows_after = {run})
        SELECT $source AS source, f.iccs_code, {label} AS period, f.kind,
               f.iccs_code || ' ' || coalesce(i.label, '?') || ': ' ||
               CASE f.kind
                   WHEN 'vanished' THEN printf('records in each of the %d periods before (%.1f per period), none '
                                               'from %s for %d periods', {run}, f.mean_before, {label}, {run})
                   ELSE printf('no records in the %d periods before, then %.1f per period from %s',
                               {run}, f.mean_after, {label}) END
               || coalesce(' (national codes: ' || c.codes || ')', '') AS detail
        FROM flagged f LEFT JOIN iccs_categories i ON i.code = f.iccs_code LEFT JOIN codes c USING (iccs_code)
        WHERE f.kind IS NOT NULL
        ORDER BY f.p, f.iccs_code"""
