"""Changed offence mixes (reports.stats.mix_change): the fit is the Poisson log-linear model without three-way
association (checked against statsmodels' GLM), and a place that changed as the rest did is not flagged."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from reports.stats.mix_change import OTHER, large_enough, main_mover, mix_test, movers, no_three_way_fit, pool

CATEGORIES = ["0101", "0201", "0401", "0501", "0502"]


def _glm_no_three_way(table: np.ndarray) -> tuple[np.ndarray, float]:
    """The same model as a Poisson GLM with every two-way interaction (dummy coding): fitted values, deviance."""
    s, y, k = np.meshgrid(*[np.arange(n) for n in table.shape], indexing="ij")
    s, y, k = s.ravel(), y.ravel(), k.ravel()
    K = table.shape[2]
    columns = [np.ones_like(s), s, y, s * y]
    for j in range(1, K):
        columns += [(k == j).astype(int), s * (k == j), y * (k == j)]
    fit = sm.GLM(table.ravel(), np.column_stack(columns).astype(float), family=sm.families.Poisson()).fit()
    return fit.fittedvalues.reshape(table.shape), fit.deviance


def test_ipf_equals_the_poisson_glm():
    area = np.array([[120, 300, 40, 90, 200], [100, 280, 150, 80, 210]], float)
    rest = np.array([[2_000, 9_000, 700, 3_000, 8_000], [2_100, 8_500, 800, 2_700, 8_800]], float)
    fit = no_three_way_fit(np.stack([area, rest]))
    reference, deviance = _glm_no_three_way(np.stack([area, rest]))
    assert np.allclose(fit, reference, rtol=1e-6)
    result = mix_test(area, rest, CATEGORIES)
    assert result.g2 == pytest.approx(deviance, rel=1e-6)
    assert result.dof == 4
    assert result.p < 1e-8
    assert result.categories[main_mover(result)] == "0401"  # robbery: 40 -> 150 while the rest barely moved
    assert movers(result)[0] == main_mover(result)
    assert large_enough(result)


def test_a_place_that_changed_as_the_rest_did_is_not_flagged():
    rng = np.random.default_rng(3)
    share0 = np.array([0.02, 0.3, 0.05, 0.2, 0.43])
    share1 = np.array([0.02, 0.25, 0.05, 0.13, 0.55])  # the whole country's mix moved
    p = [
        mix_test(
            np.stack([rng.multinomial(800, share0), rng.multinomial(900, share1)]),
            np.stack([rng.multinomial(40_000, share0), rng.multinomial(42_000, share1)]),
            CATEGORIES,
        ).p
        for _ in range(200)
    ]
    assert np.mean(np.array(p) < 0.05) <= 0.09  # a valid test: about 5 % at the 5 % level


def test_sparse_categories_are_pooled_and_small_places_untested():
    area = np.array([[60, 3, 40, 0, 2], [70, 2, 35, 0, 4]], float)
    rest = np.array([[600, 30, 400, 10, 20], [700, 20, 350, 0, 40]], float)
    a, r, names = pool(area, rest, CATEGORIES)
    assert names == ["0101", "0401", OTHER]  # 0201 and 0502 (under 10 over both years) pooled; 0501 too
    assert a[:, -1].tolist() == [5.0, 6.0]
    assert mix_test(area / 4, rest, CATEGORIES) is None  # under the minimum records in a year
