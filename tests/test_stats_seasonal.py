"""reports.stats.seasonal: robust STL on monthly series, gaps bridged only to fit and left blank."""

from __future__ import annotations

import numpy as np
import pandas as pd
from series_fixture import noisy

from reports.stats import seasonal


def test_stl_bridges_a_short_gap_for_fitting_but_leaves_it_blank():
    index = pd.period_range("2016-01", "2020-12", freq="M")
    values = noisy(len(index), 0.3, 4) + 20 * np.sin(np.arange(len(index)) * 2 * np.pi / 12)
    series = pd.Series(values, index=index).drop(pd.Period("2018-04", "M"))
    result = seasonal.decompose(series)
    assert result.bridged_months == 1 and result.dropped_months == 0
    gap = result.components.loc[pd.Period("2018-04", "M")]
    assert gap.isna().all()
    assert result.components.drop(pd.Period("2018-04", "M")).notna().all().all()
    assert result.seasonal_strength > 0.8
    assert seasonal.decompose(series.iloc[:20]) is None


def test_stl_uses_the_longest_stretch_when_a_gap_is_long():
    index = pd.period_range("2015-01", "2020-12", freq="M")
    series = pd.Series(noisy(len(index), 0.3, 5), index=index)
    series = series[(series.index < pd.Period("2016-06", "M")) | (series.index > pd.Period("2016-11", "M"))]
    result = seasonal.decompose(series)
    assert result.components.index[0] == pd.Period("2016-12", "M")
    assert result.dropped_months == 17
