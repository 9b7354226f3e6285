"""End-of-month updates: prices, demand response, substitution and sourcing shares.

Each moves a fraction 1/lag of the way to its target every month (first-order lags), so that
the lag parameters read as months to adjust.

- Price target = base x (1 + price_sensitivity x tightness), tightness per market being the
  stock gap below target (share of target; negative when above), plus the share of final use
  unmet, plus (ex-China) the share of orders on China that policy blocks; bounded by
  price_min/max_multiple x base, held under any price cap, then lifted to any floor.
- Demand: final demand x (landed price / base)^-demand_elasticity, landed price = market
  price x (1 + the tariff the importer pays on its mean imported unit).
- Substitution: magnets do without up to substitution_max_share of Dy/Tb metal, in
  proportion to how far the metal's price has risen towards its maximum multiple.
- Sourcing: orders keep the baseline shares that policy allows; the blocked or taxed part
  (tariff weight (1 + rate)^-tariff_elasticity) moves to allowed suppliers in proportion to
  their spare stock and capacity, over ``rerouting_months``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rareflow.engine.numeric import safe_div
from rareflow.engine.parameters import ParamValue, per_draw
from rareflow.engine.state import Flows, State
from rareflow.engine.static import Static
from rareflow.engine.step import node_columns, node_rows, take, to_arcs
from rareflow.policies.channels import MonthEffects


def _by_market(static: Static, x: np.ndarray) -> np.ndarray:
    """(D, R, P) -> (D, P, M) summed over each market's regions."""
    return np.einsum("drp,mr->dpm", x, static.market_matrix)


def tightness(static: Static, flows: Flows) -> np.ndarray:
    """(D, P, M) stock gap share + unmet share (+ blocked share of Chinese orders, ex-China)."""
    target = _by_market(static, np.broadcast_to(flows.target, flows.stock_end.shape))
    gap = np.clip(safe_div(target - _by_market(static, flows.stock_end), target), -1.0, 1.0)
    unmet = safe_div(_by_market(static, flows.shortage), _by_market(static, flows.demand))
    tight = gap + unmet
    tight[:, :, -1] += flows.china_blocked
    return tight


def update_prices(
    static: Static, state: State, flows: Flows, fx: MonthEffects, prm: Mapping[str, ParamValue]
) -> None:
    base = static.net.price0
    sens = per_draw(prm["price_sensitivity"], 3)
    lag = per_draw(prm["price_adjust_months"], 3)
    target = base * (1.0 + sens * tightness(static, flows))
    price = state.price + (target - state.price) / np.maximum(lag, 1.0)
    low = base * per_draw(prm["price_min_multiple"], 3)
    high = base * per_draw(prm["price_max_multiple"], 3)
    state.price = np.maximum(np.minimum(np.clip(price, low, high), fx.cap), fx.floor)


def market_multiple(static: Static, state: State) -> np.ndarray:
    """(D, M, P) market price / base price (1 where unpriced)."""
    base = static.net.price0.T[None]  # (1, M, P)
    market = state.price.transpose(0, 2, 1)
    rel = safe_div(market, np.broadcast_to(base, market.shape))
    return np.where(base > 0, rel, 1.0)


def landed_multiple(static: Static, state: State, tariff: np.ndarray) -> np.ndarray:
    """(D, R, P) landed price / base price of each region's market, tariffs included
    (tariff: (1|D, A) on the trade arcs)."""
    rel = market_multiple(static, state)[:, static.market_of, :]
    if np.any(tariff):
        levied = static.arcs.to_importer @ (to_arcs(tariff) * state.share)  # (R x P, D)
        rel = rel * (1.0 + static.import_share * node_rows(levied, rel.shape[1]))
    return rel


def update_demand(
    static: Static, state: State, tariff: np.ndarray, prm: Mapping[str, ParamValue]
) -> None:
    power = -per_draw(prm["demand_elasticity"], 3)
    if np.any(tariff):
        target = np.maximum(landed_multiple(static, state, tariff), 1e-9) ** power
    else:  # every region of a market sees the same multiple: raise M x P values, not R x P
        rel = np.maximum(market_multiple(static, state), 1e-9)
        target = (rel**power)[:, static.market_of, :]
    lag = np.maximum(per_draw(prm["demand_response_months"], 3), 1.0)
    state.demand_mult = state.demand_mult + (target - state.demand_mult) / lag


def update_substitution(static: Static, state: State, prm: Mapping[str, ParamValue]) -> None:
    if not static.substitutable.any():
        return
    rel = landed_multiple(static, state, np.zeros(1))
    top = per_draw(prm["price_max_multiple"], 3)
    pressure = np.clip(safe_div(rel - 1.0, np.broadcast_to(top - 1.0, rel.shape)), 0.0, 1.0)
    target = per_draw(prm["substitution_max_share"], 3) * pressure * static.substitutable
    lag = np.maximum(per_draw(prm["substitution_months"], 3), 1.0)
    state.subst = state.subst + (target - state.subst) / lag


def spare_supply(static: Static, flows: Flows) -> np.ndarray:
    """(D, R, P) stock above target plus unused capacity's output, per exporter."""
    net = static.net
    surplus = np.maximum(flows.stock_end - flows.target, 0.0)
    idle = np.maximum(flows.capacity - flows.activity, 0.0) @ net.recipe_out
    return surplus + idle


def update_sourcing(
    static: Static,
    state: State,
    flows: Flows,
    allow: np.ndarray,
    tariff: np.ndarray,
    prm: Mapping[str, ParamValue],
    products: np.ndarray,
) -> None:
    """Move the sourcing shares of ``products`` (those policy touches or touched) to target."""
    if not products.size:
        return
    arcs = static.arcs
    sel, to_importer = arcs.of_products(products)  # (As,) arcs, (R x P, As) sums
    weight = allow[sel]  # (As, 1|D): arcs are cross-border
    if np.any(tariff):
        elasticity = prm["tariff_elasticity"]
        el = elasticity if np.ndim(elasticity) == 0 else np.reshape(elasticity, (1, -1))
        weight = weight * (1.0 + to_arcs(tariff)[sel]) ** -el
    share0 = arcs.share0[sel][:, None]
    kept = share0 * weight  # (As, 1|D)
    moved = np.where(arcs.has_imports[:, None], 1.0 - to_importer @ kept, 0.0)  # (R x P, 1|D)
    spare = take(node_columns(spare_supply(static, flows)), arcs.at_exporter[sel])  # (As, D)
    alt_total = to_importer @ (weight * spare)  # (R x P, D)
    # with no spare anywhere, the moved part stays with the usual suppliers
    stay = take(np.where(alt_total > 0, 0.0, moved), arcs.at_importer[sel])
    scale = take(safe_div(moved, alt_total), arcs.at_importer[sel])
    # target = kept + share0 x stay + weight x spare x scale, built in one (As, D) buffer
    target = np.multiply(weight, spare)
    target *= scale
    target += kept + share0 * stay if stay.any() else kept
    lag = prm["rerouting_months"]
    lag = np.maximum(lag if np.ndim(lag) == 0 else np.reshape(lag, (1, -1)), 1.0)
    share = state.share[sel]
    # share + (target - share) / lag, in place
    target -= share
    target /= lag
    target += share
    state.share[sel] = target
