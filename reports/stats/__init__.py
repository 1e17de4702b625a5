"""Statistics behind the report pages, as plain functions over pandas Series."""
