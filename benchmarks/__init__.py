"""Benchmarks: each prints one JSON line of ratios with its context. Run `python -m benchmarks NAME`."""
