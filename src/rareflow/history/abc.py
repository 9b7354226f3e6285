"""ABC-SMC: approximate Bayesian computation by adaptive population Monte Carlo (APMC).

The algorithm of Lenormand, Jabot and Deffuant (2013, "Adaptive approximate Bayesian
computation for complex models", Comput. Stat. 28), chosen because every generation is **one
batch** of simulations, which is what the batch engine makes cheap:

1. Draw ``n = keep / alpha`` particles from the prior, simulate them in one batch, keep the
   ``keep`` closest (the tolerance ``epsilon`` is the ``alpha`` quantile of the distances).
2. Each generation: draw ``n - keep`` new particles from the kept ones (by weight), perturbed
   by a Gaussian kernel with twice their weighted covariance (redrawn until inside the prior's
   box); simulate them in one batch; weight each by prior / kernel mixture density (importance
   weights); merge with the kept ones and keep the ``keep`` closest (adaptive epsilon).
3. Stop when the share of new particles closer than the previous tolerance falls to
   ``min_acceptance`` (the posterior no longer moves) or after ``max_generations``.

The prior is uniform on a box (``lower``, ``upper``); particles carry normalised weights.

Distances. ``simulate`` returns, per particle, one discrepancy per target family (n, F). The
distance is ``sum_f w_f d_f / s_f``: ``w_f`` the family's weight, ``s_f`` the median of the
family's discrepancy over the prior draws (generation 0), so that no family dominates by its
units. Why not pyabc: it evaluates particles one at a time through its samplers (giving up
the batch engine), keeps every run in a database, and adds redis, SQLAlchemy, GitPython and
scikit-learn to the environment; the whole algorithm is the ~100 lines below, tested on a
problem whose posterior is known (``tests/test_calibrate_abc.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

Simulate = Callable[[np.ndarray], np.ndarray]  # (n, k) parameters -> (n, F) discrepancies


@dataclass
class Generation:
    epsilon: float
    acceptance: float  # share of the new particles closer than the previous epsilon
    simulations: int


@dataclass
class ABCResult:
    particles: np.ndarray  # (keep, k)
    weights: np.ndarray  # (keep,) summing to 1
    distances: np.ndarray  # (keep,)
    discrepancies: np.ndarray  # (keep, F)
    scales: np.ndarray  # (F,) the prior draws' median discrepancy per family
    generations: list[Generation] = field(default_factory=list)
    prior_particles: np.ndarray | None = None  # generation 0 (for prior-vs-posterior checks)

    @property
    def simulations(self) -> int:
        return sum(g.simulations for g in self.generations)

    @property
    def converged(self) -> bool:
        return bool(self.generations) and self.generations[-1].acceptance <= self._min_acc

    _min_acc: float = 0.0


def weighted_quantile(x: np.ndarray, w: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """Quantiles ``q`` of values ``x`` with weights ``w`` (interpolated weighted CDF)."""
    order = np.argsort(x, kind="stable")
    xs, ws = np.asarray(x, float)[order], np.asarray(w, float)[order]
    cdf = (np.cumsum(ws) - 0.5 * ws) / ws.sum()
    return np.interp(q, cdf, xs)


def family_scales(disc: np.ndarray) -> np.ndarray:
    """Per family, the prior draws' median discrepancy; where it is 0 (a one-sided target most
    prior draws meet) their mean, and 1 where that is 0 too."""
    median, mean = np.median(disc, axis=0), disc.mean(axis=0)
    return np.where(median > 0, median, np.where(mean > 0, mean, 1.0))


def combined_distance(disc: np.ndarray, scales: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(n,) the calibration's distance: per-family discrepancies (n, F) over their scales,
    weighted and summed."""
    return np.asarray((disc / scales * weights).sum(axis=1))


def _importance(
    new: np.ndarray, old: np.ndarray, w_old: np.ndarray, cov: np.ndarray, log_prior: float
) -> np.ndarray:
    """prior / sum_j w_j N(new_i; old_j, cov) (w normalised): the importance weight of
    particles drawn from the kernel mixture, on the scale of a prior draw's (1)."""
    inv = np.linalg.inv(cov)
    diff = new[:, None, :] - old[None, :, :]  # (n, m, k)
    quad = np.einsum("nmk,kl,nml->nm", diff, inv, diff)
    _, logdet = np.linalg.slogdet(2.0 * np.pi * cov)
    log_terms = -0.5 * quad - 0.5 * logdet + np.log(w_old / w_old.sum())[None, :]
    top = log_terms.max(axis=1, keepdims=True)
    log_q = top[:, 0] + np.log(np.exp(log_terms - top).sum(axis=1))
    return np.asarray(np.exp(log_prior - log_q))


def _perturb(
    rng: np.random.Generator,
    kept: np.ndarray,
    w: np.ndarray,
    cov: np.ndarray,
    n: int,
    lower: np.ndarray,
    upper: np.ndarray,
) -> np.ndarray:
    """``n`` particles: a kept one by weight plus N(0, cov), redrawn outside the box."""
    out = np.empty((n, kept.shape[1]))
    todo = np.arange(n)
    chol = np.linalg.cholesky(cov)
    for _ in range(1000):
        pick = rng.choice(len(kept), size=len(todo), p=w / w.sum())
        cand = kept[pick] + rng.standard_normal((len(todo), kept.shape[1])) @ chol.T
        ok = np.all((cand >= lower) & (cand <= upper), axis=1)
        out[todo[ok]] = cand[ok]
        todo = todo[~ok]
        if not len(todo):
            return out
    out[todo] = rng.uniform(lower, upper, size=(len(todo), len(lower)))  # a box too narrow
    return out


def _covariance(x: np.ndarray, w: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Twice the weighted covariance, with a floor (0.1% of the range) on each sd."""
    cov = 2.0 * np.atleast_2d(np.cov(x.T, aweights=w / w.sum(), bias=True))
    floor = (1e-3 * (upper - lower)) ** 2
    return np.asarray(cov + np.diag(floor))


def abc_smc(
    simulate: Simulate,
    lower: Sequence[float],
    upper: Sequence[float],
    *,
    keep: int = 200,
    alpha: float = 0.5,
    min_acceptance: float = 0.05,
    max_generations: int = 12,
    family_weights: Sequence[float] | None = None,
    seed: int = 0,
    progress: Callable[[int, Generation], None] | None = None,
) -> ABCResult:
    """Run APMC; ``simulate`` maps (n, k) parameters to (n, F) discrepancies in one batch."""
    lo, hi = np.asarray(lower, float), np.asarray(upper, float)
    rng = np.random.default_rng(seed)
    n = round(keep / alpha)
    theta = rng.uniform(lo, hi, size=(n, len(lo)))
    disc = np.asarray(simulate(theta), float)
    fw = np.ones(disc.shape[1]) if family_weights is None else np.asarray(family_weights, float)
    scales = family_scales(disc)
    dist = combined_distance(disc, scales, fw)
    order = np.argsort(dist, kind="stable")[:keep]
    x, d, f, w = theta[order], dist[order], disc[order], np.ones(keep)  # importance weights
    log_prior = -float(np.log(hi - lo).sum())
    gens = [Generation(float(d.max()), 1.0, n)]
    if progress is not None:
        progress(0, gens[-1])
    for g in range(1, max_generations):
        cov = _covariance(x, w, lo, hi)
        new = _perturb(rng, x, w, cov, n - keep, lo, hi)
        new_disc = np.asarray(simulate(new), float)
        new_dist = combined_distance(new_disc, scales, fw)
        new_w = _importance(new, x, w, cov, log_prior)
        acceptance = float(np.mean(new_dist < d.max()))
        w_all = np.concatenate([w, new_w])
        x_all, d_all = np.concatenate([x, new]), np.concatenate([d, new_dist])
        f_all = np.concatenate([f, new_disc])
        order = np.argsort(d_all, kind="stable")[:keep]
        x, d, f, w = x_all[order], d_all[order], f_all[order], w_all[order]
        gens.append(Generation(float(d.max()), acceptance, n - keep))
        if progress is not None:
            progress(g, gens[-1])
        if acceptance <= min_acceptance:
            break
    result = ABCResult(x, w / w.sum(), d, f, scales, gens, prior_particles=theta)
    result._min_acc = min_acceptance
    return result
