"""HTML reports over the warehouse: trends, hot spots, SDG 16 indicators and data quality.

Reads the warehouse through SQL only; never imports dagster or pipelines.
"""

from reports.build import REPORT_KINDS, ReportUnavailableError, build_reports

__all__ = ["REPORT_KINDS", "ReportUnavailableError", "build_reports"]
