"""Weighted least squares reconciliation: the pure maths.

Given priors ``x0`` with variances ``var`` and linear constraints ``A x = b``, the GLS
projection

    x = x0 - V A^T (A V A^T)^+ (A x0 - b),   V = diag(var)

is the minimum of sum((x - x0)^2 / var) subject to the constraints. Variables with zero variance
stay at their prior (structural values). Non-negative variables that come out negative are
clamped to zero (fixed) and the projection is repeated until none is negative.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class Solution:
    x: np.ndarray
    clamped: np.ndarray  # bool mask of variables fixed at zero
    iterations: int
    max_residual: float  # max |A x - b|


def relative_variance(prior: np.ndarray, rel_sigma: np.ndarray, floor: float = 0.0) -> np.ndarray:
    """Variance from a relative standard deviation: (rel_sigma * |prior|)^2 + floor^2."""
    return (rel_sigma * np.abs(prior)) ** 2 + floor**2


def gls_project(
    x0: np.ndarray, var: np.ndarray, a: sp.spmatrix | np.ndarray, b: np.ndarray
) -> np.ndarray:
    """Closed-form GLS projection of ``x0`` onto ``{x : A x = b}`` (weights 1/var)."""
    matrix = sp.csr_matrix(a)
    residual = matrix @ x0 - b
    av = matrix.multiply(var[np.newaxis, :]).tocsr()  # A V
    normal = (av @ matrix.T).toarray()  # A V A^T
    multipliers = np.linalg.lstsq(normal, residual, rcond=None)[0]
    return np.asarray(x0 - av.T @ multipliers, dtype=float)


def reconcile(
    x0: np.ndarray,
    var: np.ndarray,
    a: sp.spmatrix | np.ndarray,
    b: np.ndarray,
    nonneg: np.ndarray,
    max_iter: int = 100,
    tol: float = 1e-9,
) -> Solution:
    """GLS projection repeated with negative non-negative variables clamped to zero."""
    prior, variance = np.asarray(x0, float).copy(), np.asarray(var, float).copy()
    clamped = np.zeros(len(prior), dtype=bool)
    x, iterations = prior, 0
    while iterations < max_iter:
        iterations += 1
        x = gls_project(prior, variance, a, b)
        negative = nonneg & (x < -tol * np.maximum(1.0, np.abs(x0)))
        if not negative.any():
            break
        clamped |= negative
        prior[negative], variance[negative] = 0.0, 0.0
    x = np.where(nonneg & (x < 0), 0.0, x)
    x[clamped] = 0.0
    residual = sp.csr_matrix(a) @ x - b
    return Solution(x, clamped, iterations, float(np.abs(residual).max(initial=0.0)))


def relative_imbalance(
    a: sp.spmatrix | np.ndarray, x: np.ndarray, b: np.ndarray, throughput: np.ndarray
) -> np.ndarray:
    """|A x - b| per row relative to the row's throughput (0 where throughput is 0)."""
    residual = np.abs(sp.csr_matrix(a) @ x - b)
    return np.divide(residual, throughput, out=np.zeros_like(residual), where=throughput > 0)


def adjustment_note(source_note: str, prior: float, value: float, unit: str = "t") -> str:
    """Provenance note for a value moved by reconciliation."""
    change = (value / prior - 1.0) * 100.0 if prior else float("inf")
    return (
        f"reconciled (WLS) from: {source_note} | prior {prior:,.1f} {unit}, adjusted {change:+.1f}%"
    )


def within(prior: float, value: float, tolerance: float = 1e-3) -> bool:
    """True if the value moved by no more than ``tolerance`` of the prior."""
    return abs(value - prior) <= tolerance * max(abs(prior), 1e-12)
