"""Mass balance, checked every month at every (draw, region, product).

stock_end = stock_start + production + imports - process_use - delivered - exports
            + release - purchase                      (stockpile policy flows, explicit)
"""

from __future__ import annotations

import numpy as np

from rareflow.engine.numeric import SCALE_FLOOR, TOLERANCE
from rareflow.engine.state import Flows
from rareflow.engine.static import Arcs
from rareflow.errors import MassBalanceError
from rareflow.model.compiled import CompiledNetwork, month_label


def residual(flows: Flows) -> tuple[np.ndarray, np.ndarray]:
    """(D, R, P) residual and throughput (what entered the node, the residual's scale).

    Imports and exports are the step's own sums of the shipments (``Flows.imports``,
    ``Flows.exports``), not summed again here: that is two passes over the D x P x R x R
    shipments a month saved.
    """
    inflow = flows.stock_start + flows.production + flows.imports + flows.release
    outflow = flows.process_use + flows.delivered + flows.exports + flows.purchase
    return flows.stock_end - (inflow - outflow), inflow


def check_balance(
    flows: Flows, net: CompiledNetwork, month: int, draw0: int = 0, arcs: Arcs | None = None
) -> float:
    """Largest relative residual; raises ``MassBalanceError`` naming the worst node.

    arcs: the trade arcs ``flows.shipments`` (A, D) lie on; None: shipments are dense
    (D, P, E, I).
    """
    resid, inflow = residual(flows)
    scale = np.maximum(inflow, SCALE_FLOOR)
    rel = np.abs(resid) / scale
    worst = float(rel.max()) if rel.size else 0.0
    if not worst <= TOLERANCE:  # written so that a NaN anywhere fails too
        _raise(net, month, rel, draw0, f"relative residual {worst:.3g} > {TOLERANCE:g}")
    for name in ("stock_end", "production", "process_use", "delivered", "release", "purchase"):
        values = getattr(flows, name)
        if values.min() >= 0.0:  # the usual case: nothing negative, no need to scale
            continue
        low = values / scale
        if low.min() < -TOLERANCE:
            _raise(net, month, -low, draw0, f"negative {name} {float(values.min()):.3g} t")
    if flows.shipments.size and flows.shipments.min() < -TOLERANCE:
        ships = flows.shipments
        if arcs is not None:
            n_p, n_r = len(net.products), len(net.regions)
            ships = arcs.dense(ships, (n_p, n_r, n_r))
        low = -ships.min(axis=3).transpose(0, 2, 1)
        _raise(net, month, low, draw0, "negative shipments")
    return worst


def _raise(net: CompiledNetwork, month: int, bad: np.ndarray, draw0: int, what: str) -> None:
    d, r, p = np.unravel_index(int(np.argmax(bad)), bad.shape)
    raise MassBalanceError(
        f"mass balance broken in {month_label(month)} at region {net.regions[r]}, "
        f"product {net.products[p]} (draw {draw0 + int(d)}): {what}"
    )
