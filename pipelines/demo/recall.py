"""Which of a demo's planted patterns a warehouse's ``anomalies`` name: the recall the tests and
``bench/patterns_recall.py`` measure."""

from __future__ import annotations

import pandas as pd

from reports.stats.patterns import FDR, month_index

SHIFT_TOLERANCE = 2  # months between the planted start of a level shift and the month found


def found_plants(patterns: dict, anomalies: pd.DataFrame) -> dict[str, bool]:
    """Per planted anomaly of a demo manifest, whether the warehouse's anomalies at the FDR name it."""
    flagged = anomalies[anomalies["q_value"] <= FDR]
    months = flagged[flagged["kind"] == "outlying_month"]
    shifts = flagged[flagged["kind"] == "level_shift"]
    mixes = flagged[flagged["kind"] == "mix_change"]
    found = {
        s["id"]: bool(
            (
                (months["area"] == s["district"])
                & (months["iccs_code"] == s["iccs_level2"])
                & (months["period"] == s["month"])
                & (months["score"] > 0)
            ).any()
        )
        for s in patterns["spikes"]
    }
    shift = patterns["level_shift"]
    start = month_index(shift["from"])
    found["level_shift"] = bool(
        (
            shifts["area"].isna()
            & (shifts["iccs_code"] == shift["iccs_level2"])
            & shifts["period"].map(lambda p: abs(month_index(p) - start) <= SHIFT_TOLERANCE)
            & (shifts["score"] > 0)
        ).any()
    )
    change = patterns["mix_change"]
    found["mix_change"] = bool(
        (
            (mixes["area"] == change["district"])
            & (mixes["iccs_code"] == change["iccs_level2"])
            & (mixes["period"] == str(change["year"]))
        ).any()
    )
    return found
