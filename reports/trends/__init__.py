"""trends.html: how recorded crime changed, by ICCS section and category, country, area and month.

Every chart is per dataset (source + counting unit + stage) so counts in different units are never added or
compared; each chart comes with its data table, a CSV, a generated summary and its metadata.

data.py reads; the shared analysis is `reports.trend_tables`; text.py and metadata.py word it; sections.py,
changes.py, areas.py and monthly.py build the blocks; render.py assembles the page.
"""

from reports.trends.render import render_trends

__all__ = ["render_trends"]
