"""Benchmarks: ``python -m bench.<name>`` (``make bench-<name>``); figures in ``reports/``."""
