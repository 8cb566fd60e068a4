"""Pin glibc's mmap threshold so large transient buffers go back to the system.

Why: glibc serves allocations above its mmap threshold (128 KiB at start) with
``mmap`` and returns them on ``free``; but each time such a block is freed it
raises the threshold to that block's size, up to 32 MiB. The worker's large
buffers (fetch responses, produce batches up to 256 KiB, batched audit and
portfolio messages) then come from the heap instead, and the heap cannot
shrink past its highest block still in use: resident memory creeps up while
Python's own heap is flat. Pinning the threshold turns the dynamic raise off.
Measured on a 300,000-event mix (``python -m bench.harness --long 300000
--candidates riskmon --skip drain,scale,latency``): RSS growth 1.51 unpinned,
1.33 with ``MALLOC_MMAP_THRESHOLD_=131072`` (docs/performance.md).

An operator's own ``MALLOC_MMAP_THRESHOLD_`` wins: glibc has read it already,
and this module then leaves it alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

__all__ = ["MMAP_THRESHOLD_BYTES", "pin_mmap_threshold"]

log = logging.getLogger(__name__)

#: glibc's own starting value: blocks of this size and above are mmapped.
MMAP_THRESHOLD_BYTES = 128 * 1024

_M_MMAP_THRESHOLD = -3  # from glibc's <malloc.h>


def pin_mmap_threshold(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Set a fixed mmap threshold; True when glibc accepted it.

    False (and nothing changed) where the C library is not glibc, or where
    the operator set ``MALLOC_MMAP_THRESHOLD_`` in the environment.
    """
    if os.environ.get("MALLOC_MMAP_THRESHOLD_"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError, TypeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    accepted = mallopt(_M_MMAP_THRESHOLD, threshold) == 1
    if not accepted:
        log.warning("glibc refused an mmap threshold of %d bytes; resident memory may creep", threshold)
    return accepted
