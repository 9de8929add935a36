"""Benchmarks: ``python -m bench.run`` (``make bench``); ``bench/results/`` holds their JSON results."""
