"""HTML reports over the warehouse: trends, hot spots, SDG 16 indicators and data quality.

Reads the warehouse through SQL only; never imports dagster or pipelines.
"""

from __future__ import annotations

from typing import Any

__all__ = ["REPORT_KINDS", "build_reports"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: `reports.build` imports every report (numpy, plotly, the statistics), which a command
    # that only needs `reports.quality` should not pay for.
    if name in __all__:
        from reports import build

        return getattr(build, name)
    raise AttributeError(f"module 'reports' has no attribute {name!r}")
