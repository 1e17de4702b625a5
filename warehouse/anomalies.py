"""The tables of the patterns page: what deserves a look, found in each source's series inside its coverage window.

``anomalies`` holds one row per finding (an outlying month, a level shift, a place whose offence mix changed);
``anomaly_series`` holds, for the series behind each finding only, what its small chart draws. The statistics are
``reports/stats/anomaly_months.py``, ``change_points.py`` and ``mix_change.py``; the asset ``anomalies``
(``pipelines/assets/patterns.py``) computes them after the coverage windows and series breaks.
"""

from __future__ import annotations

import duckdb

from warehouse.sql import literal

KINDS = ("outlying_month", "level_shift", "mix_change")

TABLES = """
CREATE TABLE IF NOT EXISTS anomalies (
    source VARCHAR NOT NULL, unit VARCHAR NOT NULL, area VARCHAR, iccs_code VARCHAR NOT NULL, period VARCHAR NOT NULL,
    kind VARCHAR NOT NULL, observed DOUBLE, expected DOUBLE, score DOUBLE, q_value DOUBLE, note VARCHAR,
    baseline_period VARCHAR, p_value DOUBLE, recording_change BOOLEAN);
CREATE TABLE IF NOT EXISTS anomaly_series (
    source VARCHAR NOT NULL, unit VARCHAR NOT NULL, area VARCHAR, iccs_code VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    period VARCHAR NOT NULL, category VARCHAR, observed DOUBLE, expected DOUBLE, lower DOUBLE, upper DOUBLE);
CREATE TABLE IF NOT EXISTS anomaly_tests (
    source VARCHAR NOT NULL, unit VARCHAR NOT NULL, kind VARCHAR NOT NULL, series BIGINT NOT NULL,
    tests BIGINT NOT NULL, flagged BIGINT NOT NULL, fdr DOUBLE NOT NULL, note VARCHAR);
"""

COMMENTS = {
    "anomalies": "per source, unit, area (NULL = the national figure) and ICCS code: what deserves a look inside the "
    "coverage window. kind outlying_month: period YYYY-MM, observed count against expected (robust STL), score a "
    "robust z; level_shift: period the first month at the new level, observed and expected the mean monthly level "
    "after and before, score the shift's t; mix_change: period the last year, baseline_period the first, iccs_code "
    "the level-2 category that moved most, observed its count and expected the count had the area's mix changed as "
    "the rest of the country's did, score the G statistic. q_value: Benjamini-Hochberg over every test of its kind. "
    "recording_change: a shift at a declared series break or correspondence validity date (likely a recording "
    "change, not crime). note: what coincides, in words",
    "anomaly_series": "the series behind each row of anomalies, for its chart: monthly observed with expected and "
    "the 95% band (outlying_month), observed with the fitted levels (level_shift), the level-2 categories' counts "
    "(category) in the baseline and last year, expected under the rest of the country's change (mix_change)",
    "anomaly_tests": "per source, unit and kind: how many series (or areas) were tested, how many tests (months, "
    "candidate shifts, areas) Benjamini-Hochberg ran over, how many were flagged at the FDR, and why series were "
    "left untested (note)",
}


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(TABLES)
    for name, text in COMMENTS.items():
        con.execute(f"COMMENT ON TABLE {name} IS {literal(text)}")
