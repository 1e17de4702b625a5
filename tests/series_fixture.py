"""Synthetic series for the statistics tests: a linear trend plus reproducible noise."""

from __future__ import annotations

import numpy as np


def noisy(n: int, slope: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return 100 + slope * np.arange(n) + rng.normal(0, 3, n)
