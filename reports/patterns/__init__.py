"""patterns.html: what deserves an analyst's look — unusual months, level shifts and offence mix changes found by
the pipeline's tests (``warehouse/anomalies.py``'s tables), strongest first, each in a sentence and a small chart."""

from reports.patterns.render import render_patterns

__all__ = ["render_patterns"]
