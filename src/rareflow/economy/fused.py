"""The elementwise parts of the ARIO step fused into single passes (numba), for finite
inventories: the numpy step in ``ario.step`` makes some 30 passes over the (S, D, N) arrays,
these make three. Same arithmetic in the same order per element; per-draw ``np.allclose``
checks are reductions inside the passes.
"""

from __future__ import annotations

import numba as nb
import numpy as np


@nb.njit(cache=True)
def produce(stock: np.ndarray, tech: np.ndarray, inputs: np.ndarray, inv: np.ndarray,
            optimal: np.ndarray, psi: float) -> np.ndarray:  # fmt: skip
    """``ario.produce``: (S, D, N) stock -> (D, N) production."""
    s_n, d_n, n_n = stock.shape
    out = np.empty((d_n, n_n))
    low = np.empty(n_n)
    for d in range(d_n):
        low[:] = 1.0
        for s in range(s_n):
            for j in range(n_n):
                need = optimal[d, j] * tech[s, j]
                need *= psi
                need *= inv[s]
                if inputs[s, j] and need != 0.0:
                    r = stock[s, d, j] / need
                    if r < low[j]:
                        low[j] = r
        for j in range(n_n):
            out[d, j] = optimal[d, j] * low[j]
    return out


@nb.njit(cache=True)
def restock(stock: np.ndarray, delivered_per_w: np.ndarray, w: np.ndarray, tech: np.ndarray,
            production: np.ndarray) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """New stock (stock + delivered - used) and, per draw, whether delivered and used agree
    to ``np.allclose`` (then BoARIO leaves the stock as it was)."""
    s_n, d_n, n_n = stock.shape
    out = np.empty_like(stock)
    close = np.ones(d_n, dtype=np.bool_)
    for d in range(d_n):
        ok = True
        for s in range(s_n):
            for j in range(n_n):
                used = production[d, j] * tech[s, j]
                net = delivered_per_w[s, d, j] * w[s, d, j] - used
                out[s, d, j] = stock[s, d, j] + net
                if not abs(net) <= 1e-8 + 1e-5 * abs(used):
                    ok = False
        close[d] = ok
        if ok:
            for s in range(s_n):
                for j in range(n_n):
                    out[s, d, j] = stock[s, d, j]
    return out, close


@nb.njit(cache=True)
def reorder(stock: np.ndarray, tech: np.ndarray, inv: np.ndarray, restore: np.ndarray,
            optimal: np.ndarray, production: np.ndarray, weight: np.ndarray) -> np.ndarray:  # fmt: skip
    """Order weights ``w = (restore max(goal - stock, 0) + used) / weight``, the gap zero in
    a draw whose stock is at its goal to ``np.allclose``."""
    s_n, d_n, n_n = stock.shape
    w = np.empty_like(stock)
    for d in range(d_n):
        at_goal = True
        for s in range(s_n):
            for j in range(n_n):
                goal = optimal[d, j] * tech[s, j]
                goal *= inv[s]
                gap = goal - stock[s, d, j]
                if not abs(gap) <= 1e-8 + 1e-5 * abs(goal):
                    at_goal = False
                gap = max(gap, 0.0) * restore[s] + production[d, j] * tech[s, j]
                wt = weight[s, d, j]
                w[s, d, j] = gap / wt if wt != 0.0 else 0.0
        if at_goal:
            for s in range(s_n):
                for j in range(n_n):
                    wt = weight[s, d, j]
                    used = production[d, j] * tech[s, j]
                    w[s, d, j] = used / wt if wt != 0.0 else 0.0
    return w
