"""sdg16.html itself: one section per indicator."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd

from reports import names, page, queries
from reports.queries import SERIES_KEYS
from reports.sdg16 import data
from reports.sdg16.arms import arms_tracing
from reports.sdg16.series import indicator_trends
from reports.sdg16.target_16_4 import target_16_4
from reports.sdg16.text import CAVEAT
from reports.sdg16.victims import victims_block


def render_sdg16(con: duckdb.DuckDBPyConnection, out_dir: Path) -> Path:
    """Write sdg16.html into `out_dir` and return its path."""
    infos = data.indicators(con)
    annual = data.indicator_annual(con)
    monthly = data.indicator_monthly(con)
    country_years = data.country_years(con)
    trends = indicator_trends(annual, monthly)
    breaks = queries.series_breaks(con)
    by_sex_age = data.indicator_by_sex_age(con)
    # charts name a source by its description (names.source_name), tables and CSVs keep its key
    titles = names.source_names(con)
    annual, monthly, by_sex_age = (
        f.assign(source_name=f["source"].map(titles).fillna(f["source"])) for f in (annual, monthly, by_sex_age)
    )
    if trends.empty:
        trends = pd.DataFrame(columns=SERIES_KEYS + ["iccs_code", "significant"])

    def rows(indicator: str) -> pd.DataFrame:
        return annual[annual["indicator"] == indicator]

    def trend_rows(indicator: str) -> pd.DataFrame:
        codes = set(infos.loc[infos["indicator"] == indicator, "component"])
        return trends[trends["iccs_code"].isin(codes)]

    def info(indicator: str) -> pd.Series:
        found = infos[infos["indicator"] == indicator]
        if found.empty:
            raise ValueError(f"sdg16_codes has no indicator {indicator}: load the classification first")
        return found.iloc[0]

    def broken_down(indicator: str) -> pd.DataFrame:
        return by_sex_age[by_sex_age["indicator"] == indicator]

    sections = [
        *(
            victims_block(con, info(i), rows(i), trend_rows(i), country_years, breaks, by_sex_age=broken_down(i))
            for i in ("16.1.1", "16.2.2")
        ),
        target_16_4(con, infos[infos["indicator"] == "16.4"], rows("16.4"), trend_rows("16.4"), country_years, breaks),
        arms_tracing(con, info("16.4.2"), rows("16.4.2"), country_years),
    ]
    intro = (
        "Sustainable Development Goal 16 indicators that police-recorded data can inform, computed from records "
        "classified with ICCS v1.0. Indicators defined per victim use victim counts only; offence counts are "
        "shown apart and labelled.\n\n" + CAVEAT
    )
    return page.write_page(
        out_dir,
        "sdg16.html",
        "SDG 16: peace, justice and strong institutions",
        sections,
        intro=intro,
        notice=names.data_notice(con),
    )
