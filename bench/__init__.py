"""Benchmarks for tinyweb; run from the repository root, e.g. `python -m bench.capture`."""
