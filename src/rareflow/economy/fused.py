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
    out = np.empty((d_n, n_n), dtype=optimal.dtype)
    low = np.empty(n_n, dtype=optimal.dtype)
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


# The dense table's step: the Z products computed a sector at a time inside the passes (one
# BLAS product for every draw of the chunk, into a (D, N) block that stays in cache), so the
# (S, D, N) products are never written to memory. Sectors run in parallel; a sector's block of
# Z, (R, N), stays in cache while every draw of the chunk passes through it.
FAST = {"contract", "reassoc"}  # sums may reassociate; NaN and inf keep their meaning
MIN_WEIGHT = 0.01  # below it the supply rows are summed plainly (see _supply_block)


@nb.njit(fastmath=FAST)
def _supply_block(zs: np.ndarray, c: np.ndarray, s: int, rows: np.ndarray) -> np.ndarray:
    """``rows[d, j] + summed[d] zc[s, j] = sum_r (1 + c[s, d, r]) zs[s, r, j]`` for every
    draw d of the chunk, as one BLAS product; returns ``summed`` (D,). ``c`` holds the
    suppliers' weights less 1 (computed in float64, so a weight a hair off 1 keeps its
    deviation in float32). The regions whose weight is 1 in every draw (suppliers running
    unconstrained at baseline capacity: most) cost nothing: the rows hold only the other
    regions' deviations and the caller adds the draw-independent ``zc[s] = sum_r zs[s, r]``
    (summed 1), held in float64 whatever Z's dtype, so that a draw at its baseline is not
    moved by Z's rounding. A draw with a weight under ``MIN_WEIGHT`` (a supplier all but
    destroyed) gets the plain sum instead (summed 0): in the deviation form a row is at
    least that share of ``zc``, so cancellation costs at most ~2 / MIN_WEIGHT ulps (4e-14
    relative in float64)."""
    r_n = zs.shape[1]
    n_n = zs.shape[2]
    d_n = c.shape[1]
    pick = np.empty(r_n, dtype=np.int64)
    summed = np.ones(d_n)
    k = 0
    for r in range(r_n):
        moved = False
        for d in range(d_n):
            v = c[s, d, r]
            if v != 0.0:
                moved = True
                if v + 1.0 < MIN_WEIGHT:
                    summed[d] = 0.0
        if moved:
            pick[k] = r
            k += 1
    if k == 0:
        rows[:] = 0.0
    elif k == r_n:
        np.dot(c[s], zs[s], rows)
    else:
        dev = np.empty((d_n, k), dtype=c.dtype)
        part = np.empty((k, n_n), dtype=zs.dtype)
        for i in range(k):
            r = pick[i]
            for d in range(d_n):
                dev[d, i] = c[s, d, r]
            part[i] = zs[s, r]
        np.dot(dev, part, rows)
    for d in range(d_n):
        if summed[d] == 0.0:
            weight = (c[s, d : d + 1] + 1.0).astype(c.dtype)
            np.dot(weight, zs[s], rows[d : d + 1])
    return summed


@nb.njit(parallel=True, fastmath=FAST, cache=True)
def deliver(stock: np.ndarray, w: np.ndarray, zs: np.ndarray, zc: np.ndarray, served: np.ndarray,
            tech: np.ndarray, inv: np.ndarray, production: np.ndarray, optimal: np.ndarray,
            out: np.ndarray, far: np.ndarray, base: np.ndarray) -> None:  # fmt: skip
    """``out = stock + delivered - used`` with ``delivered = ((1 + served) @ Zs) w`` per
    sector (``served``: the suppliers' weights less 1, as ``_supply_block`` takes them),
    the order weights held as ``w - 1`` (as ``reorder_dense`` writes them) and the stocks as
    their difference from ``base`` (S, N), the baseline inventories: a draw near its
    baseline keeps the precision of its deviations in float32.
    ``far[k, s, d]`` counts the industries where, k = 0, delivered and used differ beyond
    ``np.allclose``'s bounds (the draw's stock stays put where no sector has any); k = 1, 2,
    the new (1) and old (2) stock differ so from their goal. (S, D, N) arrays; served
    (S, D, R)."""
    s_n, d_n, n_n = stock.shape
    for s in nb.prange(s_n):
        rows = np.empty((d_n, n_n), dtype=zs.dtype)
        plain = _supply_block(zs, served, s, rows)
        for d in range(d_n):
            row = rows[d]
            at_base = plain[d]
            far_net = 0  # counts, not flags: integer sums vectorise
            far_new = 0
            far_old = 0
            for j in range(n_n):
                used = production[d, j] * tech[s, j]
                net = (at_base * zc[s, j] + row[j]) * (1.0 + w[s, d, j]) - used
                moved = stock[s, d, j] + net
                out[s, d, j] = moved
                old = base[s, j] + stock[s, d, j]
                new = base[s, j] + moved
                goal = optimal[d, j] * tech[s, j]
                goal *= inv[s]
                bound = 1e-8 + 1e-5 * abs(goal)
                far_net += not abs(net) <= 1e-8 + 1e-5 * abs(used)
                far_new += not abs(goal - new) <= bound
                far_old += not abs(goal - old) <= bound
            far[0, s, d] = far_net
            far[1, s, d] = far_new
            far[2, s, d] = far_old


@nb.njit(parallel=True, fastmath=FAST, cache=True)
def reorder_dense(stock: np.ndarray, zs: np.ndarray, zc: np.ndarray, zt: np.ndarray,
                  ratio: np.ndarray, tech: np.ndarray, inputs: np.ndarray, inv: np.ndarray,
                  restore: np.ndarray, psi: float, optimal: np.ndarray, production: np.ndarray,
                  at_goal: np.ndarray, w: np.ndarray, ordered: np.ndarray, allowed: np.ndarray,
                  threads: int, base: np.ndarray) -> None:  # fmt: skip
    """Order weights ``w = (restore max(goal - stock, 0) + used) / (ratio @ Zs)``, no gap in
    a draw ``at_goal``, written as ``w - 1`` (a draw near its baseline has w near 1: its
    deviation keeps its precision in float32, where w itself would be rounded to 6e-8 and
    that noise, cut off by capacity above the baseline, would bias the losses); what they
    order from each supplier less its baseline, ``ordered[s] = (w[s] - 1) @ Zs[s].T`` (S, D, R; the caller adds ``Zs 1`` in float64, so a
    draw at its baseline orders exactly its baseline whatever Z's dtype): a BLAS product per
    sector on the sector's weights just written, while they are still in cache (``zt``: Zs
    transposed, (S, N, R)); and, from the same read of the
    stock, the output its inputs allow next step (``produce`` without its pass):
    ``allowed[d, j] = min_s stock[s, d, j] / (tech[s, j] psi inv[s])`` over j's inputs (inf
    where none). Sectors are split into one group per thread (``threads``: numba's, passed
    in because reading it here would keep the function from being cached), each group
    keeping its own minimum."""
    s_n, d_n, n_n = stock.shape
    groups = max(1, min(threads, s_n))
    low = np.full((groups, d_n, n_n), np.inf)
    for g in nb.prange(groups):
        for s in range(g, s_n, groups):
            rows = np.empty((d_n, n_n), dtype=zs.dtype)
            plain = _supply_block(zs, ratio, s, rows)
            for d in range(d_n):
                row = rows[d]
                at_base = plain[d]
                keep = 0.0 if at_goal[d] else 1.0
                for j in range(n_n):
                    goal = optimal[d, j] * tech[s, j]
                    goal *= inv[s]
                    used = production[d, j] * tech[s, j]
                    held = base[s, j] + stock[s, d, j]  # held as the deviation
                    gap = max(goal - held, 0.0) * keep * restore[s] + used
                    wt = at_base * zc[s, j] + row[j]
                    value = gap / wt if wt != 0.0 else 0.0
                    w[s, d, j] = value - 1.0
                    if inputs[s, j]:
                        lasts = held / (tech[s, j] * psi * inv[s])
                        low[g, d, j] = min(low[g, d, j], lasts)
            np.dot(w[s], zt[s], ordered[s])
    for d in range(d_n):
        for j in range(n_n):
            least = low[0, d, j]
            for g in range(1, groups):
                least = min(least, low[g, d, j])
            allowed[d, j] = least
