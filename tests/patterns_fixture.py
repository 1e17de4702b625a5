"""A warehouse holding findings of every kind, written by hand into the tables of ``warehouse/anomalies.py``, for
patterns.html:

- four unusual months of one source (two with the same q, so |score| decides their order; one national and
  unusually low), one of them in an area whose boundaries' label carries a ``<script>``;
- a level shift up, and a national shift down at a declared series break (a likely recording change);
- an area whose offence mix changed (Burglary 12 % → 21 %) unlike the rest of the country;
- what was tested, with a second, annual source that was not (its note says why).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np

from warehouse.anomalies import ensure_tables
from warehouse.connection import connect
from warehouse.ddl import ensure_schema

SOURCE = "ashby_police"
ANNUAL = "annual_stats"
NAME = "Police records of Ashby"
EVIL = "<script>alert('x')</script> Marsh"
MONTHS = [f"{y}-{m:02d}" for y in (2021, 2022, 2023) for m in range(1, 13)]
# (area, code, period, observed, expected, score, q): ranked 0502, 0501 (same q, smaller |score|), 0101, 0401.
OUTLYING = [
    ("D23", "0501", "2023-03", 98.0, 41.0, 6.2, 0.0004),
    (None, "0401", "2022-11", 12.0, 40.0, -4.8, 0.03),
    ("D99", "0101", "2021-06", 30.0, 20.0, 3.5, 0.004),
    ("D23", "0502", "2022-02", 300.0, 150.0, 7.0, 0.0004),
]
RECORDING_NOTE = "declared series break 2022-01: new recording system"
MIX_NOTE = "0501 Burglary 12% → 21%; 0401 Robbery 9% → 6%"
# the mix of area D23: (category, first-year count, last-year count, last-year count expected)
MIX = [("0501", 120.0, 410.0, 235.0), ("0401", 90.0, 117.0, 180.0), ("0502", 790.0, 1425.0, 1537.0)]


def build(folder: Path, *, findings: bool = True, tables: bool = True) -> duckdb.DuckDBPyConnection:
    """The warehouse; `findings` False: the tables hold what was tested and nothing flagged; `tables` False: a
    warehouse written before the tables."""
    con = connect(folder / "warehouse.duckdb")
    ensure_schema(con)
    con.execute(
        f"""INSERT INTO sources (source, country, level, unit, stage, period, description) VALUES
        ('{SOURCE}', 'ASH', 'incident', 'offences', 'police', 'day',
         'SYNTHETIC DATA: nothing here is real. {NAME}; every offence'),
        ('{ANNUAL}', 'ASH', 'aggregate', 'offences', 'police', 'year', 'Annual statistics of Ashby')"""
    )
    con.execute(
        f"""INSERT INTO area_boundaries (source, country, area, label, geometry) VALUES
        ('{SOURCE}', 'ASH', 'D23', 'Ashby Vale', '{{}}'),
        ('{SOURCE}', 'ASH', 'D99', $evil, '{{}}')""",
        {"evil": EVIL},
    )
    if not tables:
        for name in ("anomalies", "anomaly_series", "anomaly_tests"):
            con.execute(f"DROP TABLE IF EXISTS {name}")
        return con
    ensure_tables(con)
    flagged = (4, 2, 1) if findings else (0, 0, 0)
    con.executemany(
        "INSERT INTO anomaly_tests VALUES (?, 'offences', ?, ?, ?, ?, 0.1, ?)",
        [
            (SOURCE, "outlying_month", 120, 4320, flagged[0], None),
            (SOURCE, "level_shift", 120, 35, flagged[1], None),
            (SOURCE, "mix_change", 24, 24, flagged[2], None),
            (ANNUAL, "outlying_month", 0, 0, 0, "annual data: no monthly tests"),
        ],
    )
    if findings:
        _findings(con)
    return con


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
    con.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [tuple(r.get(c) for c in columns) for r in rows],
    )


def _findings(con: duckdb.DuckDBPyConnection) -> None:
    base = {"source": SOURCE, "unit": "offences", "country": "XAS"}
    anomalies, series = [], []
    for area, code, period, observed, expected, score, q in OUTLYING:
        key = {**base, "area": area, "iccs_code": code, "kind": "outlying_month"}
        anomalies.append({**key, "period": period, "observed": observed, "expected": expected, "score": score,
                          "q_value": q, "p_value": q / 10})  # fmt: skip
        for i, month in enumerate(MONTHS):
            seen = observed if month == period else expected + (3 if i % 2 else -3)
            band = None if i < 3 else 0.25 * expected  # no band before the fit has a season
            series.append({**key, "period": month, "observed": seen, "expected": expected,
                           "lower": None if band is None else expected - band,
                           "upper": None if band is None else expected + band})  # fmt: skip
    for area, code, period, before, after, score, q, recording in (
        ("D23", "0501", "2022-07", 41.0, 74.0, 8.1, 0.0001, False),
        (None, "0401", "2022-01", 60.0, 30.0, -9.0, 0.0002, True),
    ):
        key = {**base, "area": area, "iccs_code": code, "kind": "level_shift"}
        anomalies.append({**key, "period": period, "observed": after, "expected": before, "score": score,
                          "q_value": q, "recording_change": recording,
                          "note": RECORDING_NOTE if recording else None})  # fmt: skip
        for i, month in enumerate(MONTHS):
            level = after if month >= period else before
            series.append({**key, "period": month, "observed": level + (2 if i % 3 else -2), "expected": level})
    key = {**base, "area": "D23", "iccs_code": "0501", "kind": "mix_change"}
    anomalies.append({**key, "period": "2024", "baseline_period": "2019", "observed": 410.0, "expected": 235.0,
                      "score": 54.2, "q_value": 0.0005, "note": MIX_NOTE})  # fmt: skip
    for category, first, last, expected in MIX:
        series.append({**key, "period": "2019", "category": category, "observed": first})
        series.append({**key, "period": "2024", "category": category, "observed": last, "expected": expected})
    _insert(con, "anomalies", anomalies)
    _insert(con, "anomaly_series", series)
    assert np.isclose(sum(m[2] for m in MIX), sum(m[3] for m in MIX))
