"""Benchmarks: ratios measured in one run, written to docs/benchmarks.md by ``make bench``."""
