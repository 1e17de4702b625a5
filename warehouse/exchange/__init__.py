"""The warehouse's figures leaving in the formats of statistical data exchange: SDMX-CSV and SDMX-ML (the
structures of ``schemas.sdmx``), Parquet and CSV. ``export`` is the entry point (``iccs export``, and the
``exchange_files`` asset after each load)."""

from warehouse.exchange.export import DATASETS, FORMATS, Exported, default_name, export, write_sdmx
from warehouse.exchange.selection import ExportError, Selection

__all__ = ["DATASETS", "FORMATS", "ExportError", "Exported", "Selection", "default_name", "export", "write_sdmx"]
