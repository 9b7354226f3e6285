"""The histogram count of ``stats.add_histogram``, compiled: one pass, no temporaries."""

from __future__ import annotations

import math

import numba as nb
import numpy as np


@nb.njit(nogil=True, cache=True, error_model="numpy")
def add_counts(
    x: np.ndarray, log: bool, low: float, lo: float, hi: float, count: int, out: np.ndarray
) -> None:
    """out[c, bin(x[d, c])] += 1 for every draw d; bin 0 holds x <= 0 (and NaN), bins
    1..count the scaled values (``Bins.index``): log10(max(x, low)) or x, on [lo, hi]."""
    for d in range(x.shape[0]):
        for c in range(x.shape[1]):
            v = x[d, c]
            if not v > 0:
                out[c, 0] += 1
                continue
            y = (math.log10(max(v, low)) - lo) / (hi - lo) if log else (v - lo) / (hi - lo)
            pos = int(min(max(y, 0.0), 1.0) * count)
            out[c, min(pos, count - 1) + 1] += 1
