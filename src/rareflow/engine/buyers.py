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

Sectors hold different covers: automotive buyers (``JUST_IN_TIME_SECTORS``: EV traction, and
"other", where the events table puts cars' small motors) run just-in-time, 2-4 weeks
(``inventories.csv``), where the pool's cover is months. Their mean cover is
``automotive_cover_ratio`` times the other sectors', scaled so that the sectors' covers,
weighted by their baseline use, average to the pool's cover (the engine's stock stands as
it is). The pool's drawdown then falls on a mixture of the sectors' log-normals: X solves
``sum_s w_s E[min(c_s, X)] = (1 - pooling) x drawn`` (``mixture_drawdown``) and each sector
stops ``P(c_s < X)``. At a ratio of 1 every sector's covers are the pool's, as before.

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

NEWTON_STEPS = 100  # monotone Newton (``mixture_drawdown``): a handful of steps in practice
DRAWDOWN_RTOL = 1e-12
# Sectors whose buyers run just-in-time (2-4 weeks of magnets: inventories.csv, automakers);
# "other" is where shortage_events_2025.csv puts cars' small motors (seats, wipers, doors).
JUST_IN_TIME_SECTORS = ("ev_traction", "other")


def partial_mean(x: np.ndarray, mean: np.ndarray, sigma: float) -> np.ndarray:
    """E[min(c, x)] for c log-normal with the given mean and log standard deviation."""
    mu = np.log(mean) - 0.5 * sigma**2
    with np.errstate(divide="ignore"):
        z = (np.log(x) - mu) / sigma
    return mean * ndtr(z - sigma) + x * (1.0 - ndtr(z))


def own_drawdown(drawn: np.ndarray, mean: np.ndarray, sigma: float) -> np.ndarray:
    """X with ``partial_mean(X, mean) = drawn`` (months); 0 where nothing is drawn and inf
    where the pool is empty (``mixture_drawdown`` with one sector)."""
    drawn, mean = np.broadcast_arrays(np.asarray(drawn, float), np.asarray(mean, float))
    out = np.zeros(drawn.shape)
    live = (drawn > 0) & (mean > 0)
    out[live & (drawn >= mean)] = np.inf
    live &= drawn < mean
    n = int(live.sum())
    out[live] = mixture_drawdown(drawn[live], mean[live][:, None], np.ones((n, 1)),
                                 np.full(n, float(sigma)))  # fmt: skip
    return out


def stopped_share(drawn: np.ndarray, mean: np.ndarray, sigma: float) -> np.ndarray:
    """Share of buyers whose own cover is used up once the pool has drawn ``drawn`` months
    of a mean cover ``mean``: P(c < X)."""
    return share_below(own_drawdown(drawn, mean, sigma), mean, sigma)


def share_below(x: np.ndarray, mean: np.ndarray, sigma: float | np.ndarray) -> np.ndarray:
    """P(c < x) for covers c log-normal with the given mean (0 where the mean is 0)."""
    mu = np.log(np.where(mean > 0, mean, 1.0)) - 0.5 * sigma**2
    with np.errstate(divide="ignore"):
        share = ndtr((np.log(x) - mu) / sigma)
    return np.where(mean > 0, share, 0.0)


def mixture_drawdown(
    drawn: np.ndarray, means: np.ndarray, weights: np.ndarray, sigma: np.ndarray
) -> np.ndarray:
    """(n,) X with ``sum_s weights_s x partial_mean(X, means_s) = drawn`` for n cells whose
    buyers are a mixture of log-normals (means, weights: (n, S); sigma: (n,)); requires
    0 < drawn < the mixture's mean.

    Newton from X = drawn: the left side is increasing and concave in X (its slope is the
    share of buyers with more than X, ``sum_s w_s P(c_s > X)``), so every step stays at or
    below the root and the iterates rise to it; stops when every cell is within
    ``DRAWDOWN_RTOL``."""
    sig = sigma[:, None]
    safe = np.where(means > 0, means, 1.0)
    mu = np.log(safe) - 0.5 * sig**2
    live = weights * (means > 0)
    x = drawn.copy()
    for _ in range(NEWTON_STEPS):
        z = (np.log(x)[:, None] - mu) / sig
        above = 1.0 - ndtr(z)
        used = (live * (safe * ndtr(z - sig) + x[:, None] * above)).sum(axis=1)
        slope = (live * above).sum(axis=1)
        gap = drawn - used
        if np.all((gap <= DRAWDOWN_RTOL * drawn) | (slope <= 0.0)):  # a cell with no buyers
            break  # has no slope and keeps X = drawn
        x = x + np.divide(gap, slope, out=np.zeros_like(gap), where=slope > 0)
    return x


def cover_factors(weights: np.ndarray, sectors: tuple[str, ...], ratio: np.ndarray) -> np.ndarray:
    """(D, R, P, S) each sector's mean cover over its pool's: ``ratio`` (per draw, (D,)) for
    the just-in-time sectors, 1 for the rest, scaled so that the use-weighted mean is 1
    (weights: (R, P, S), summing to 1 over S where a product is used)."""
    jit = np.array([s in JUST_IN_TIME_SECTORS for s in sectors])
    k = np.where(jit[None, :], np.reshape(ratio, (-1, 1)), 1.0)[:, None, None, :]  # (D,1,1,S)
    norm = (weights[None] * k).sum(axis=-1, keepdims=True)
    return np.asarray(np.divide(k, norm, out=np.ones(norm.shape[:3] + k.shape[-1:]),
                                where=norm > 0))  # fmt: skip


def sector_shares(
    inventory: np.ndarray,
    demand: np.ndarray,
    sigma: float | np.ndarray,
    pooling: float | np.ndarray,
    weights: np.ndarray,
    factors: np.ndarray,
) -> np.ndarray:
    """(D, T, R, S, P) share of each sector's use of each product stopped by buyers out of
    stock, from the pool's path: inventory (t, end of month) and final demand (t/month), both
    (D, T, R, P); sigma, pooling: scalar or (D,); weights (R, P, S): the sectors' shares of
    the product's use; factors (D, R, P, S): their mean cover over the pool's."""
    cover = np.divide(inventory, demand, out=np.zeros_like(inventory), where=demand > 0)
    mean = np.broadcast_to(cover[:, :1], cover.shape)  # first month: covers before any shock
    alone = 1.0 - np.reshape(pooling, (-1, 1, 1, 1))
    drawn = np.clip(mean - cover, 0.0, None) * alone
    before = np.concatenate([cover[:, :1], cover[:, :-1]], axis=1)
    shortfall = np.clip(before - cover, 0.0, 1.0)  # months of demand not arriving this month
    shortfall = np.where(shortfall > 1e-9, shortfall, 0.0)  # not the rounding of a steady pool
    sig = np.broadcast_to(np.reshape(np.asarray(sigma, float), (-1, 1, 1, 1)), cover.shape)
    fac = np.broadcast_to(factors[:, None], cover.shape + factors.shape[-1:])  # (D,T,R,P,S)
    means = mean[..., None] * fac
    x = np.where(drawn > 0, np.inf, 0.0)  # inf: the pool is empty
    live = (drawn > 0) & (drawn < mean)
    if live.any():
        r, p = np.nonzero(live)[2:]
        x[live] = mixture_drawdown(drawn[live], means[live], weights[r, p], sig[live])
    share = share_below(x[..., None], means, sig[..., None]) * shortfall[..., None]
    return np.moveaxis(share, -1, 3)


def product_stopped(
    inventory: np.ndarray, demand: np.ndarray, sigma: float, pooling: float | np.ndarray
) -> np.ndarray:
    """(D, T, R, P) share of each product's final use stopped, all buyers alike (one sector
    holding the pool's covers)."""
    one = np.ones((*inventory.shape[2:], 1))
    return sector_shares(inventory, demand, sigma, pooling, one, one[None])[:, :, :, 0]


def sector_stopped(
    by_product: np.ndarray, uses: np.ndarray, engine_share: np.ndarray
) -> np.ndarray:
    """(D, T, R, S) share of each sector's buyers stopped: the largest over the products the
    region's sector uses (``uses``: (R, S, P) bool; by_product (D, T, R, S, P)), at least the
    engine's unmet share."""
    masked = np.where(uses[None, None], by_product, 0.0)
    return np.maximum(masked.max(axis=-1), engine_share)


def stopped(
    arrays: Mapping[str, np.ndarray],
    net: CompiledNetwork,
    parameters: Mapping[str, float | np.ndarray],
    pooling: float | np.ndarray | None = None,
) -> np.ndarray:
    """(D, T, R, S) share of each sector's buyers stopped, from a run's recorded
    ``inventory``, ``demand`` and ``shortage_share`` and its parameters
    (``buyer_cover_log_sd``, ``buyer_pooling_share``, ``automotive_cover_ratio``, each a
    scalar or one per draw; ``pooling`` overrides the pooling share)."""
    magnets = [i for i, stage in enumerate(net.product_stage) if stage == "magnet"]
    use = np.moveaxis(net.demand0[..., magnets], 1, -1)  # (R, P, S)
    total = use.sum(axis=-1, keepdims=True)
    weights = np.divide(use, total, out=np.zeros_like(use), where=total > 0)
    ratio = np.atleast_1d(np.asarray(parameters.get("automotive_cover_ratio", 1.0), float))
    factors = cover_factors(weights, net.sectors, ratio)
    share = parameters["buyer_pooling_share"] if pooling is None else pooling
    by_sector = sector_shares(
        arrays["inventory"][..., magnets], arrays["demand"][..., magnets],
        np.asarray(parameters["buyer_cover_log_sd"], float), share, weights, factors,
    )  # fmt: skip
    return sector_stopped(by_sector, use.transpose(0, 2, 1) > 0, arrays["shortage_share"])
