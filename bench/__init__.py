"""Benchmark of the pipeline against DuckDB's bare load (the floor) and a pandas + pandera script (the baseline).

Run it with ``make bench`` or ``python -m bench.run``; see bench/README.md for what is measured and the profile.
"""
