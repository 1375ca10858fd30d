"""Benchmarks of the bot's hot paths (run as modules: `python -m bench.bench_search`)."""
