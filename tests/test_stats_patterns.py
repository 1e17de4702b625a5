"""The orchestration of the patterns statistics (reports.stats.patterns): what is a series, what is missing,
what is not tested and why, on small hand-made frames."""

from __future__ import annotations

import numpy as np
import pandas as pd

from reports.stats.patterns import detect, is_monthly, month_index, month_label, series_matrix

EMPTY_BREAKS = pd.DataFrame(columns=["source", "iccs_code", "period", "kind"])
EMPTY_VALIDITY = pd.DataFrame(columns=["source", "national_code", "iccs_code", "valid_from", "valid_to"])
EMPTY_MIX = pd.DataFrame(columns=["source", "unit", "country", "area", "iccs_code", "year", "count"])
FIRST = month_index("2019-01")


def _frames(months: np.ndarray, counts: np.ndarray, area: str | None = "A1") -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.DataFrame(
        {
            "source": "s",
            "unit": "offences",
            "country": "XSY",
            "area": area,
            "iccs_code": "0501",
            "m": FIRST + months,
            "count": counts,
        }
    )
    present = frame[["source", "unit", "country", "area", "m"]].drop_duplicates()
    return frame, present


def test_month_labels_round_trip():
    assert month_label(month_index("2023-03")) == "2023-03"
    assert month_index("2019") == 2019 * 12


def test_a_month_the_area_did_not_report_is_missing_and_one_without_the_category_is_zero():
    counts = pd.DataFrame(
        {
            "source": "s",
            "unit": "offences",
            "country": "XSY",
            "area": ["A1", "A1", "A1"],
            "iccs_code": ["0501", "0501", "0401"],
            "m": [FIRST, FIRST + 2, FIRST + 1],
            "count": [5.0, 7.0, 3.0],
        }
    )
    present = pd.DataFrame(
        {"source": "s", "unit": "offences", "country": "XSY", "area": "A1", "m": [FIRST, FIRST + 1, FIRST + 2]}
    )
    keys, values, first = series_matrix(counts, present.iloc[[0, 2]])  # the area reported nothing in month 2
    assert first == FIRST
    row = keys.index[keys["iccs_code"] == "0501"][0]
    assert np.isnan(values[row, 1]) and values[row].tolist()[::2] == [5.0, 7.0]
    keys, values, _ = series_matrix(counts, present)
    row = keys.index[keys["iccs_code"] == "0401"][0]
    assert values[row].tolist() == [0.0, 3.0, 0.0]  # reported that month, none of this category: zero


def test_quarterly_counts_are_not_monthly():
    quarterly = pd.DataFrame({"m": FIRST + np.arange(0, 120, 3)})
    assert not is_monthly(quarterly)
    assert is_monthly(pd.DataFrame({"m": FIRST + np.r_[np.arange(40), np.arange(43, 72)]}))


def test_a_quarterly_source_is_said_untested_and_a_monthly_one_is_tested():
    rng = np.random.default_rng(1)
    quarterly, q_present = _frames(np.arange(0, 120, 3), rng.poisson(30, 40).astype(float))
    quarterly["source"] = q_present["source"] = "q"
    monthly, m_present = _frames(np.arange(72), rng.poisson(30, 72).astype(float))
    found = detect(
        pd.concat([quarterly, monthly]),
        pd.concat([q_present, m_present]),
        EMPTY_MIX,
        EMPTY_BREAKS,
        EMPTY_VALIDITY,
        pd.DataFrame({"source": ["q", "s"], "unit": "offences"}),
    )
    tests = found.tests.set_index(["source", "kind"])
    assert tests.loc[("q", "outlying_month"), "tests"] == 0
    assert "not monthly" in tests.loc[("q", "outlying_month"), "note"]
    assert tests.loc[("s", "outlying_month"), "tests"] == 72
    assert tests.loc[("s", "outlying_month"), "series"] == 1
    assert "no areas" in tests.loc[("s", "mix_change"), "note"]


def test_a_planted_month_becomes_one_row_with_its_chart():
    rng = np.random.default_rng(2)
    y = rng.poisson(40 * (1 + 0.3 * np.cos(2 * np.pi * np.arange(72) / 12))).astype(float)
    y[30] = 160
    frame, present = _frames(np.arange(72), y)
    found = detect(
        frame, present, EMPTY_MIX, EMPTY_BREAKS, EMPTY_VALIDITY, pd.DataFrame({"source": ["s"], "unit": "offences"})
    )
    (row,) = found.anomalies.itertuples(index=False)
    assert (row.kind, row.area, row.period, row.observed) == ("outlying_month", "A1", month_label(FIRST + 30), 160)
    assert row.q_value <= 0.1 and row.expected < 80
    chart = found.series[found.series["kind"] == "outlying_month"]
    assert len(chart) == 72 and (chart["lower"] <= chart["upper"]).all()


def test_nothing_found_still_has_the_contracts_types():
    """No finding at all (an annual source, or nothing unusual) gives empty frames with float and boolean columns,
    which the asset's contract accepts."""
    from schemas.anomalies import AnomalyRow

    found = detect(
        EMPTY_MIX.rename(columns={"year": "m"}),
        pd.DataFrame(columns=["source", "unit", "country", "area", "m"]),
        EMPTY_MIX,
        EMPTY_BREAKS,
        EMPTY_VALIDITY,
        pd.DataFrame({"source": ["annual"], "unit": "offences"}),
    )
    assert found.anomalies.empty and found.anomalies["observed"].dtype == float
    AnomalyRow.validate(found.anomalies)
    assert set(found.tests["note"]) >= {"no monthly counts: no month or shift tests"}


def test_a_spike_in_a_category_and_in_an_sdg_code_inside_it_is_one_finding():
    rng = np.random.default_rng(3)
    frames = []
    for code in ("0204", "02041"):
        y = rng.poisson(30 * (1 + 0.3 * np.cos(2 * np.pi * np.arange(72) / 12))).astype(float)
        y[40] = 150
        frame, present = _frames(np.arange(72), y)
        frames.append(frame.assign(iccs_code=code))
    found = detect(
        pd.concat(frames),
        present,
        EMPTY_MIX,
        EMPTY_BREAKS,
        EMPTY_VALIDITY,
        pd.DataFrame({"source": ["s"], "unit": "offences"}),
    )
    (row,) = found.anomalies.itertuples(index=False)
    assert row.iccs_code == "0204" and row.note == "also in 02041"
    assert set(found.series["iccs_code"]) == {"0204"}
