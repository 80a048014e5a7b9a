"""maskdet's benchmark suite: ``python -m benchmarks`` writes BENCHMARKS.md (see report.py)."""
