"""Benchmarks: real broker, real Redis, real worker process.

docs/performance.md says what each measures and how to run it.
"""
