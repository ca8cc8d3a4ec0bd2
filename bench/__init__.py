"""Benchmarks (`make bench`): each script prints its table and records it in bench/results.json."""
