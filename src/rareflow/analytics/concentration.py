"""Market-concentration measures on a vector of supplier quantities or shares.

Pure functions: they take tonnes or shares in any order (they normalise first, so the two give
the same answer) and return plain floats. ``rareflow.analytics.shares`` applies them to a
``Network``.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from rareflow.errors import UserInputError

# US DOJ/FTC convention on the 0-10,000 scale (see criticality_published_non_ree.csv).
HHI_MODERATE = 1500.0
HHI_HIGH = 2500.0


def shares(quantities: Iterable[float]) -> np.ndarray:
    """Quantities (tonnes or shares) as fractions summing to 1."""
    values = np.asarray(list(quantities), dtype=float)
    if values.size == 0 or np.any(values < 0) or not np.all(np.isfinite(values)):
        raise UserInputError(
            "shares need at least one finite, non-negative quantity", value=values.tolist()
        )
    total = values.sum()
    if total <= 0:
        raise UserInputError("shares need a positive total", value=values.tolist())
    return values / total


def hhi(quantities: Iterable[float]) -> float:
    """Herfindahl-Hirschman index on the 0-1 scale: the sum of squared shares."""
    s = shares(quantities)
    return float(np.sum(s * s))


def hhi_points(quantities: Iterable[float]) -> float:
    """HHI on the 0-10,000 scale used by competition authorities (shares in percent)."""
    return 10_000.0 * hhi(quantities)


def top_share(quantities: Iterable[float], k: int = 1) -> float:
    """Combined share of the ``k`` largest suppliers."""
    if k < 1:
        raise UserInputError("k must be at least 1", value=k)
    s = np.sort(shares(quantities))[::-1]
    return float(s[:k].sum())


def concentration_class(hhi_value: float) -> str:
    """DOJ label for an HHI on the 0-1 scale."""
    points = 10_000.0 * hhi_value
    if points >= HHI_HIGH:
        return "highly concentrated"
    if points >= HHI_MODERATE:
        return "moderately concentrated"
    return "competitive"
