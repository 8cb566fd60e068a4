"""Benchmarks: real broker, real Redis, real worker process (see BENCHMARKS.md)."""
