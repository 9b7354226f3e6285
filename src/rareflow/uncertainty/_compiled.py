"""The per-month passes of the streamed statistics, compiled: one pass each, no temporaries,
and the GIL released, so that Monte Carlo blocks on threads fold their months side by side."""

from __future__ import annotations

import numba as nb
import numpy as np

compiled = nb.njit(nogil=True, cache=True, error_model="numpy")


@compiled
def add_counts(
    x: np.ndarray, scaled: np.ndarray, lo: float, hi: float, count: int, out: np.ndarray
) -> None:
    """out[c, bin(x[d, c])] += 1 for every draw d; bin 0 holds x <= 0 (and NaN), bins
    1..count the ``scaled`` values (x, or log10(max(x, low))) on [lo, hi] (``Bins.index``)."""
    for d in range(x.shape[0]):
        for c in range(x.shape[1]):
            if not x[d, c] > 0:
                out[c, 0] += 1
                continue
            y = (scaled[d, c] - lo) / (hi - lo)
            pos = int(min(max(y, 0.0), 1.0) * count)
            out[c, min(pos, count - 1) + 1] += 1


@compiled
def moments(
    x: np.ndarray, mean: np.ndarray, m2: np.ndarray, low: np.ndarray, high: np.ndarray
) -> None:
    """``Moments.of`` of x (D, C) into mean, m2, low and high (C,): the same sums in the same
    (draw) order as numpy's reductions over a leading axis, so the same numbers to the last
    bit; low/high are the smallest and largest draws (NaN sticks, as in np.minimum)."""
    mean[:] = 0.0
    m2[:] = 0.0
    low[:] = x[0]
    high[:] = x[0]
    for d in range(x.shape[0]):
        for c in range(x.shape[1]):
            v = x[d, c]
            mean[c] += v
            if v < low[c] or v != v:
                low[c] = v
            if v > high[c] or v != v:
                high[c] = v
    for c in range(x.shape[1]):
        mean[c] /= x.shape[0]
    for d in range(x.shape[0]):
        for c in range(x.shape[1]):
            dev = x[d, c] - mean[c]
            m2[c] += dev * dev


@compiled
def shortage_totals(
    share: np.ndarray,
    units: np.ndarray,
    value: np.ndarray,
    threshold: float,
    short: float,
    exceed: np.ndarray,
    peak: np.ndarray,
    months: np.ndarray,
    units_total: np.ndarray,
    value_total: np.ndarray,
) -> None:
    """One month of (D, C) shortage shares, units and value into the per-cell exceedance
    count (C,) and the per-draw horizon totals (D, C): peak share, months short, sums."""
    for d in range(share.shape[0]):
        for c in range(share.shape[1]):
            s = share[d, c]
            exceed[c] += s > threshold
            if s > peak[d, c] or s != s:  # NaN sticks, as in np.maximum
                peak[d, c] = s
            months[d, c] += s > short
            units_total[d, c] += units[d, c]
            value_total[d, c] += value[d, c]
