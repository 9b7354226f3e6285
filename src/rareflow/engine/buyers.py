"""Buyers that differ: stoppages while a region as a whole still holds stock.

The engine pools each region's stock of a product. Real buyers each hold their own cover,
from days to months (``inventory_cover_2025.csv``), and when supply is cut each draws down
its own: the thinnest stop first, while the region's pool is far from empty. This module
reads a run's pooled stock path and spreads it over buyers whose covers are log-normal
around the pool's own cover, with a log standard deviation ``buyer_cover_log_sd``:

- the pool's cover in month t, ``c_t = inventory / final demand`` (months), has fallen by
  ``drawn = c_0 - c_t`` since the run's first month;
- a share ``buyer_pooling_share`` of that drawdown is shared out (distributors, makers and
  expediting serve whoever is about to stop: at 1 nobody stops before the pool is empty);
  the rest falls on buyers alike: every buyer with cover c has drawn ``min(c, X)``, where X,
  the drawdown of a buyer with ample stock, solves ``E[min(c, X)] = (1 - pooling) x drawn``
  (``own_drawdown``);
- the share of buyers whose own stock is used up is ``P(c < X)`` (``stopped_share``); such a
  buyer makes only what arrives, so the share of output stopped is ``P(c < X)`` times this
  month's shortfall of arrivals, ``clip(c_{t-1} - c_t, 0, 1)`` months of demand (a buyer
  restarts as soon as supply flows again, before its stock is rebuilt), and at least the
  engine's own unmet share;
- a sector's share stopped is the largest over the products it uses (a line stops when any
  part is missing).

Buyers are told apart for magnets only (the stage ``magnet``): the reported covers are magnet
users' covers; for oxides and metals the engine's pooled shortage stands.

It reads recorded outputs only: stopped buyers do not feed back into demand, prices or
trade (their demand is served from the pool as the engine has it). Shapes: D draws, T
months, R regions, P products, S sectors.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import ndtr

from rareflow.model.compiled import CompiledNetwork

BISECTION_STEPS = 60  # on log X: far below float resolution of the shares


def partial_mean(x: np.ndarray, mean: np.ndarray, sigma: float) -> np.ndarray:
    """E[min(c, x)] for c log-normal with the given mean and log standard deviation."""
    mu = np.log(mean) - 0.5 * sigma**2
    with np.errstate(divide="ignore"):
        z = (np.log(x) - mu) / sigma
    return mean * ndtr(z - sigma) + x * (1.0 - ndtr(z))


def own_drawdown(drawn: np.ndarray, mean: np.ndarray, sigma: float) -> np.ndarray:
    """X with ``partial_mean(X, mean) = drawn`` (months); 0 where nothing is drawn and inf
    where the pool is empty. Vectorised bisection on log X."""
    drawn, mean = np.broadcast_arrays(np.asarray(drawn, float), np.asarray(mean, float))
    out = np.zeros(drawn.shape)
    live = (drawn > 0) & (mean > 0)
    out[live & (drawn >= mean)] = np.inf
    live &= drawn < mean
    d, m = drawn[live], mean[live]
    lo, hi = np.log(d), np.log(m) + 10.0 * sigma + 10.0  # E[min(c, X)] <= X, and -> mean
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (lo + hi)
        low = partial_mean(np.exp(mid), m, sigma) < d
        lo, hi = np.where(low, mid, lo), np.where(low, hi, mid)
    out[live] = np.exp(0.5 * (lo + hi))
    return out


def stopped_share(drawn: np.ndarray, mean: np.ndarray, sigma: float) -> np.ndarray:
    """Share of buyers whose own cover is used up once the pool has drawn ``drawn`` months
    of a mean cover ``mean``: P(c < X)."""
    x = own_drawdown(drawn, mean, sigma)
    mu = np.log(np.where(mean > 0, mean, 1.0)) - 0.5 * sigma**2
    with np.errstate(divide="ignore"):
        share = ndtr((np.log(x) - mu) / sigma)
    return np.where(mean > 0, share, 0.0)


def product_stopped(
    inventory: np.ndarray, demand: np.ndarray, sigma: float, pooling: float | np.ndarray
) -> np.ndarray:
    """(D, T, R, P) share of each product's final use stopped by buyers out of stock, from
    the pool's path:
    inventory (t, end of month) and final demand (t/month), both (D, T, R, P); pooling:
    scalar or (D,)."""
    cover = np.divide(inventory, demand, out=np.zeros_like(inventory), where=demand > 0)
    mean = np.broadcast_to(cover[:, :1], cover.shape)  # first month: covers before any shock
    alone = 1.0 - np.reshape(pooling, (-1, 1, 1, 1))
    drawn = np.clip(mean - cover, 0.0, None) * alone
    before = np.concatenate([cover[:, :1], cover[:, :-1]], axis=1)
    shortfall = np.clip(before - cover, 0.0, 1.0)  # months of demand not arriving this month
    shortfall = np.where(shortfall > 1e-9, shortfall, 0.0)  # not the rounding of a steady pool
    return stopped_share(drawn, mean, sigma) * shortfall


def sector_stopped(
    by_product: np.ndarray, uses: np.ndarray, engine_share: np.ndarray
) -> np.ndarray:
    """(D, T, R, S) share of each sector's buyers stopped: the largest over the products the
    region's sector uses (``uses``: (R, S, P) bool), at least the engine's unmet share."""
    masked = np.where(uses[None, None], by_product[:, :, :, None, :], 0.0)
    return np.maximum(masked.max(axis=-1), engine_share)


def stopped(
    arrays: Mapping[str, np.ndarray],
    net: CompiledNetwork,
    parameters: Mapping[str, float | np.ndarray],
    pooling: float | np.ndarray | None = None,
) -> np.ndarray:
    """(D, T, R, S) share of each sector's buyers stopped, from a run's recorded
    ``inventory``, ``demand`` and ``shortage_share`` and its parameters
    (``buyer_cover_log_sd``, ``buyer_pooling_share``; ``pooling`` overrides the latter)."""
    sigma = float(np.mean(parameters["buyer_cover_log_sd"]))
    share = parameters["buyer_pooling_share"] if pooling is None else pooling
    by_product = product_stopped(arrays["inventory"], arrays["demand"], sigma, share)
    magnets = np.array([stage == "magnet" for stage in net.product_stage])
    uses = (net.demand0 > 0) & magnets
    return sector_stopped(by_product, uses, arrays["shortage_share"])
