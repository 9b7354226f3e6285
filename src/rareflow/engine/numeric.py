"""Small numeric helpers shared by the engine's modules."""

from __future__ import annotations

import numpy as np

# Below this a denominator (tonnes, shares) is nothing: dividing by it would overflow to inf
# and turn a later 0 x inf into NaN (e.g. a subnormal approval share).
TINY = 1e-200
# Mass balance: the largest relative residual a node may show in a month, and the throughput
# (t) below which the tolerance is absolute (1e-9 t). The numpy check and the kernel share them.
TOLERANCE = 1e-9
SCALE_FLOOR = 1.0
# Stock within this share of its target is at target (``market.surplus_stock``): restocking
# converges on the target, and a round-off surplus must not draw a blocked importer's whole
# moved share (the numpy step and the kernel round it differently).
AT_TARGET_SHARE = 1e-6
# Spare supply below this (t) is none (``market.spare_supply``): the round-off left of a stock
# exported to zero, whose target is 0 (1e-13 t), or of a plant at full load drew an importer's
# whole moved share onto it.
SPARE_FLOOR_T = 1e-6
# A share of a need unmet below this is round-off, not a loss (``step.sector_losses``): a stock
# equal to its need divides to 1 - 1e-16 in one path and 1 in the other, and the units short
# it makes are caught up later as value deferred.
UNMET_FLOOR = 1e-12


def safe_div(a: np.ndarray | float, b: np.ndarray | float, fill: float = 0.0) -> np.ndarray:
    """a / b where b is more than TINY, else ``fill``."""
    out = np.full(np.broadcast(a, b).shape, fill)
    return np.divide(a, b, out=out, where=np.asarray(b) > TINY)
