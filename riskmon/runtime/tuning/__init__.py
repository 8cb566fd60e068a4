"""Process tuning for the worker: garbage collector, malloc arenas, event loop, memory probe."""
