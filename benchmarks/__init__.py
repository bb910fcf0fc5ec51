"""Benchmarks: one training step timed five ways (bench.py), and memory-mapped vs in-memory rows (bench_memmap.py)."""
