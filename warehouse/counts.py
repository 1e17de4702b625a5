"""The offence_counts rows of classified records: split shares spread, nested national totals netted."""

from __future__ import annotations

from iccs.disaggregations import TOTAL, VARIABLES
from schemas.source_config import SourceConfig
from warehouse.disaggregation import marginal_sql
from warehouse.mapping import targets_table, tree_table
from warehouse.sql import literal
from warehouse.staging import files_table

# Flag of a nested total smaller than its published sub-categories (see counts_sql).
NESTED_FLAG = "subcategories_exceed_total"
# Flag of a count spread over the targets of a split correspondence by share: fractional by design, not a count
# the source published (see counts_sql).
ALLOCATED_FLAG = "allocated"


def _grouped_sql(src: SourceConfig, batch: str, where: str, variables: tuple[str, ...] = ()) -> str:
    month = "month(b.occurred_on)" if src.period in ("day", "month") else "NULL::INTEGER"
    area = f"CASE WHEN b.area = {literal(src.total_area)} THEN NULL ELSE b.area END" if src.total_area else "b.area"
    # The distinct flags of a cell, sorted: a list aggregate, not ``string_agg(DISTINCT … ORDER BY …)``, which
    # DuckDB 1.5 runs as a sort per group (73 s instead of 14 s for 2M cells); no aggregate at all without flags.
    flagged = "flag" in src.columns or "flag" in src.constants or src.read.format == "eurostat"
    flags = "nullif(array_to_string(list_sort(list_distinct(list(b.flag))), ','), '')" if flagged else "NULL"
    # the source's disaggregating variables, a cell per value of each (``counts_sql`` sums them to the total)
    keys, kept = "".join(f", b.{v}" for v in variables), "".join(f", g.{v}" for v in variables)
    # Grouped by the file's position, named after: a path in every group's key made the aggregate of 10M cells
    # a quarter slower (bench/README.md).
    return f"""
        SELECT g.country, g.area, g.iccs_code, g.national_code, g.year, g.month, g.count, g.flag, f.file{kept}
        FROM (
            SELECT b.country, {area} AS area, coalesce(t.iccs_code, b.iccs_code) AS iccs_code, b.national_code,
                   year(b.occurred_on) AS year, {month} AS month, sum(b.count * coalesce(t.share, 1.0)) AS count,
                   nullif(concat_ws(',', {flags},
                                    CASE WHEN bool_or(t.share < 1) THEN '{ALLOCATED_FLAG}' END), '') AS flag,
                   b.file_index{keys}
            FROM {batch} b
            LEFT JOIN {targets_table(src.name)} t ON t.group_id = b.group_id AND t.kind = 'split'
            WHERE {where}
            GROUP BY b.country, {area}, coalesce(t.iccs_code, b.iccs_code), b.national_code, year(b.occurred_on),
                     {month}, b.file_index{keys}) g
        JOIN {files_table(src.name)} f USING (file_index)"""


# A cell of offence_counts: what a row is unique on, within a source and unit.
CELL_KEYS = ["country", "area", "iccs_code", "national_code", "year", "month", "file"]
# The flags of summed cells, each once, sorted: a list aggregate (see _grouped_sql) of the flagged rows only (most
# cells have none). v_national_counts sums with it too (warehouse.totals).
FLAGS = (
    "nullif(array_to_string(list_sort(list_distinct(flatten("
    "list(string_split(flag, ',')) FILTER (flag IS NOT NULL)))), ','), '')"
)


def disaggregated_sql(src: SourceConfig, batch: str, where: str) -> str:
    """The disaggregated_counts rows of the records in ``batch``: a cell per value of each variable the source
    gives, as published (its totals included), ``_T`` for the variables it does not give:
    (country, area, iccs_code, national_code, year, month, <VARIABLES>, count, flag, file)."""
    variables = tuple(src.disaggregations)
    chosen = ", ".join(v if v in variables else f"'{TOTAL}' AS {v}" for v in VARIABLES)
    return f"""
        SELECT country, area, iccs_code, national_code, year, month, {chosen}, count, flag, file
        FROM ({_grouped_sql(src, batch, where, variables)})"""


def totals_sql(src: SourceConfig, cells: str) -> str:
    """The offence_counts rows of a disaggregated source from its disaggregated cells (``cells``, shaped as
    ``disaggregated_sql`` gives them): the total of each cell, never a total added to its own parts."""
    totals = marginal_sql(cells, CELL_KEYS, (), f"sum(count) AS count, {FLAGS} AS flag", tuple(src.disaggregations))
    return f"SELECT country, area, iccs_code, national_code, year, month, count, flag, file FROM ({totals})"


def nested_cells_sql(src: SourceConfig, batch: str, where: str) -> str:
    """The grouped counts of a nested_totals source, each with its national cell's ``published`` total (all
    ICCS targets of its national code in the same country, area, period and file), ``parts``: the published
    totals of its nearest published national descendants there (``tree_table``), and ``children`` naming them."""
    same = (
        "p.country = c.country AND p.area IS NOT DISTINCT FROM c.area AND p.year = c.year "
        "AND p.month IS NOT DISTINCT FROM c.month AND p.file = c.file"
    )
    return f"""
        WITH cells AS (
            SELECT *, sum(count) OVER (PARTITION BY country, area, national_code, year, month, file) AS published
            FROM ({_grouped_sql(src, batch, where)})),
        nat AS (SELECT DISTINCT country, area, national_code, year, month, file, published FROM cells),
        linked AS (
            SELECT c.country, c.area, c.year, c.month, c.file, c.national_code AS child, c.published AS child_published,
                   p.national_code AS parent
            FROM nat c JOIN {tree_table(src.name)} t ON t.child = c.national_code
            JOIN nat p ON p.national_code = t.ancestor AND {same}
            QUALIFY row_number() OVER (PARTITION BY c.country, c.area, c.year, c.month, c.file, c.national_code
                                       ORDER BY t.distance, p.national_code) = 1),
        taken AS (
            SELECT country, area, year, month, file, parent, sum(child_published) AS parts,
                   string_agg(child || ': ' || child_published::VARCHAR, '; ' ORDER BY child) AS children
            FROM linked GROUP BY ALL)
        SELECT c.*, coalesce(t.parts, 0) AS parts, t.children
        FROM cells c LEFT JOIN taken t
          ON t.parent = c.national_code AND t.country = c.country AND t.area IS NOT DISTINCT FROM c.area
         AND t.year = c.year AND t.month IS NOT DISTINCT FROM c.month AND t.file = c.file"""


def counts_sql(src: SourceConfig, batch: str, where: str = "reason IS NULL") -> str:
    """The offence_counts rows of the records in ``batch`` (a table shaped like the records table):
    (country, area, iccs_code, national_code, year, month, count, flag, file).

    A record of a split national code counts in every target of its split, multiplied by the target's share;
    other records count once in their ICCS code. Flags of the records summed into a row are kept, joined; a row
    made by a split share below 1 is also flagged ``ALLOCATED_FLAG`` (its count may be fractional by design). Rows
    of the declared ``total_area`` are the national figure: stored with area NULL.
    With ``nested_totals`` (a table that publishes a category beside some of its sub-categories, as Eurostat
    does with 0301 and 03011), a national category is stored net of its nearest published national descendants
    in the same country, area, period and file, following the source's own hierarchy (``tree_table``), never
    the ICCS tree: a national total whose parts ICCS places on other branches (all theft including residential
    burglary) keeps only its own remainder, and the parts count in their own ICCS codes. A split category is
    netted in proportion to its targets. Where the published sub-categories exceed the published total
    (definitions differ between them), the category's remainder is 0 and its flag says so (``NESTED_FLAG``;
    the evidence goes to ``nested_shortfalls``): the roll-up then shows the parts' sum.
    """
    if src.disaggregations:
        return totals_sql(src, f"({disaggregated_sql(src, batch, where)})")
    if not src.nested_totals:
        return _grouped_sql(src, batch, where)
    return f"""
        SELECT country, area, iccs_code, national_code, year, month,
               CASE WHEN parts > published * (1 + 1e-9) + 1e-9 THEN 0.0
                    WHEN count = published THEN greatest(published - parts, 0.0)
                    ELSE greatest(count - parts * count / published, 0.0) END AS count,
               CASE WHEN parts > published * (1 + 1e-9) + 1e-9 THEN concat_ws(',', flag, '{NESTED_FLAG}')
                    ELSE flag END AS flag,
               file
        FROM ({nested_cells_sql(src, batch, where)})"""
