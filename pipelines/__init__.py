"""Dagster assets, checks, schedules, sensors and the `iccs` command line that tie the parts together."""
