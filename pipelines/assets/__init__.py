"""Assets by layer: reference data, per-source ingest → ICCS mapping → warehouse facts, and the reports."""
