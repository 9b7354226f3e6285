"""Keep freed array memory in the process between monthly steps (glibc only).

The step allocates and frees the same few 1-40 MB temporaries every month. By default glibc
serves those with fresh ``mmap`` pages and hands them back on free, so every month pays the
page faults again; on small VMs that doubled run times. Raising the mmap and trim thresholds
lets the heap reuse them. Set ``RAREFLOW_MALLOPT=0`` to leave the allocator alone.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 64 << 20  # bytes: bigger blocks (the run's outputs) still come from mmap
TRIM_THRESHOLD = 256 << 20  # bytes of free heap kept before giving memory back

_done = False


def keep_freed_memory() -> bool:
    """Tune glibc once per process; True when the thresholds were set."""
    global _done
    if _done or not sys.platform.startswith("linux") or os.environ.get("RAREFLOW_MALLOPT") == "0":
        return _done
    _done = True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
        return ok and libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    except (OSError, AttributeError):  # not glibc (musl, ...): nothing to tune
        return False
