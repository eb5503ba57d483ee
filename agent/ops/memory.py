"""Keep a long-running server's memory flat while it handles multi-megabyte images.

glibc keeps freed large buffers in per-thread arenas and hands little back to the system;
with image decoding in worker threads, resident memory then grows with every image (the load
benchmark measured about 14 MB per session). Serving big allocations from mmap (returned on
free) and capping the arenas keeps growth near 1 MB per session.
"""

from __future__ import annotations

import ctypes
import ctypes.util

_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8
MMAP_THRESHOLD_BYTES = 128 * 1024
ARENA_MAX = 2


def tune_allocator() -> bool:
    """Apply the settings on glibc; False where the C library has no ``mallopt``."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(
        mallopt(_M_ARENA_MAX, ARENA_MAX)
    )
