"""End-of-month updates: prices, demand response, substitution, capacity entry and sourcing.

Each moves a fraction 1/lag of the way to its target every month (first-order lags), so that
the lag parameters read as months to adjust; capacity entry is a pure delay.

- Tightness per market = stock gap below target (share of target, in [-1, 1]) + share of
  final use unmet. China's market counts its stock net of what the state reserve buys: the
  surplus above target up to ``china_reserve_share`` x target leaves the market, so lost
  export outlets press on the domestic price only beyond that (its own balance: its stocks,
  quotas through its capacity, its users' shortages).
- Input costs: a metal is priced at least at what its oxide costs in its market this month:
  1 + t of oxide per t x (oxide price - its base) / the metal's base price (``cost_floor``),
  so that a spike in an oxide carries into its metal, which never sells for less than its
  oxide (it did, at a fifth of it, in the 2010 hindcast). Magnets are left out: passing
  Dy/Tb costs on to them would price buyers out of magnets, and demand priced out counts as
  no loss (docs/history.md).
- Price target = base x multiple: in surplus 1 + price_sensitivity x tightness; in shortage
  (1 - min(tightness, price_choke_share))^-(scarcity_exponent x thinness), the price at which
  buyers of short-run elasticity 1 / (exponent x thinness) give up the missing share:
  convex, and bounded where demand destruction closes the gap rather than by a fixed cap
  (``price_max_multiple`` is only a numerical guard). Thinness, outside China = (largest
  market value / the product's market value)^price_thinness_exponent, market value = world
  base-year output x base price (``static.log_thinness``): Y oxide (~0.1 bn USD/yr) is about
  8x as steep as magnets, Dy 2.8x, Tb 3.8x, and no market steeper than one
  ``price_thinness_max_ratio`` (65) times smaller than the largest, about Y's; China's domestic
  market is deep (1). Prices are held under any cap, lifted to any floor.
- Demand = final demand x short-run response (landed price / base)^-demand_elasticity over
  ``demand_response_months``) x long-run response (^-demand_elasticity_long over
  ``demand_long_months``: recycling, ferrite or induction motors, designs without the
  product); landed price = market price x (1 + the importer's mean tariff).
- Substitution: magnets do without up to substitution_max_share of Dy/Tb metal, in
  proportion to how far the metal's price has risen towards substitution_full_multiple x
  base, over ``substitution_months``.
- Capacity entry: the revenue-weighted ex-China price multiple of each process's outputs,
  smoothed over ``capacity_signal_months``, commits new capacity outside China when it is
  above 1 + capacity_entry_hurdle (capacity_entry_per_year / 12 of the process's world base
  capacity per month and unit of excess, at most one); it produces from the month
  ``entry_lag_<stage>_months`` later (mine, separation, metal, magnet), spread over regions
  by their ex-China capacity and listed projects (``static.entry_weight``). As it enters,
  stocks rebuild and the price falls back.
- Sourcing: orders keep the baseline shares that policy allows; the blocked or taxed part
  (tariff weight (1 + rate)^-tariff_elasticity) moves to allowed suppliers in proportion to
  their spare supply (stock above target plus what idle capacity can make of spare inputs,
  down the chain: ``spare_supply``), over ``rerouting_months``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from rareflow.engine.numeric import AT_TARGET_SHARE, SPARE_FLOOR_T, safe_div
from rareflow.engine.parameters import ParamValue, per_draw
from rareflow.engine.state import PIPELINE_MONTHS, Flows, State
from rareflow.engine.static import ENTRY_LAGS, Static
from rareflow.engine.step import node_columns, node_rows, take, to_arcs
from rareflow.policies.channels import MonthEffects


def _by_market(static: Static, x: np.ndarray) -> np.ndarray:
    """(D, R, P) -> (D, P, M) summed over each market's regions."""
    return np.einsum("drp,mr->dpm", x, static.market_matrix)


def tightness(static: Static, flows: Flows, prm: Mapping[str, ParamValue]) -> np.ndarray:
    """(D, P, M) stock gap share + unmet share, per market.

    China's market counts its stock net of what the state reserve buys: the surplus above
    target, up to ``china_reserve_share`` x target, leaves the market (lost export outlets
    then press on the domestic price only beyond what the reserve takes).
    """
    target = _by_market(static, np.broadcast_to(flows.target, flows.stock_end.shape))
    stock = _by_market(static, flows.stock_end)
    if static.net.china >= 0:
        reserve = per_draw(prm["china_reserve_share"], 2) * target[:, :, 0]
        stock[:, :, 0] -= np.minimum(np.maximum(stock[:, :, 0] - target[:, :, 0], 0.0), reserve)
    gap = np.clip(safe_div(target - stock, target), -1.0, 1.0)
    unmet = safe_div(_by_market(static, flows.shortage), _by_market(static, flows.demand))
    return gap + unmet


def scarcity_multiple(
    tight: np.ndarray, sens: ParamValue, exponent: ParamValue, thin: np.ndarray, choke: ParamValue
) -> np.ndarray:
    """Target price / base price for a tightness.

    In surplus (tight < 0) 1 + sens x tight (``price_sensitivity``). In shortage the price
    at which buyers whose short-run elasticity is 1 / (exponent x thin) give up the missing
    share: (1 - min(tight, choke))^-(exponent x thin), convex in the shortage and bounded
    where demand destruction closes the gap (``price_choke_share``), so that a thin market
    (thin > 1) rises more than a thick one under the same tightness.
    """
    short = np.minimum(np.maximum(tight, 0.0), choke)
    with np.errstate(over="ignore"):  # inf in a very thin market: price_max_multiple caps it
        scarce = (1.0 - short) ** -(exponent * thin)
    return np.where(tight > 0.0, scarce, 1.0 + sens * np.minimum(tight, 0.0))


def thinness(static: Static, prm: Mapping[str, ParamValue]) -> np.ndarray:
    """(1|D, P, M) steepness of each product's price outside China: (largest market value /
    its value)^price_thinness_exponent (1 for the largest market). China's domestic market,
    where the producers, the state groups and the reserve trade most of every product, is
    deep for all (1); ex-China prices are spot quotes on small volumes. The ratio is held to
    ``price_thinness_max_ratio`` (yttrium's, the thinnest market whose prices were checked):
    thinner markets price as one that size rather than by an unchecked extrapolation."""
    theta = per_draw(prm["price_thinness_exponent"], 3)
    most = np.log(per_draw(prm["price_thinness_max_ratio"], 3))
    outside = np.zeros(len(static.net.markets))
    outside[-1] = 1.0
    return np.exp(theta * np.minimum(static.log_thinness[None, :, None], most) * outside)


def cost_floor(static: Static, price: np.ndarray) -> np.ndarray:
    """(D, P, M) the least multiple of each metal's base price that covers its inputs at
    ``price`` (D, P, M): 1 + sum_i (t of i per t) x (price_i - base_i) / base (below 1 where
    the inputs are cheaper than at base); 0 (no floor) for every other product
    (``Static.cost_product``)."""
    floor = np.zeros(price.shape)
    if not static.cost_product.size:
        return floor
    base = static.net.price0
    extra = np.einsum("fp,dpm->dfm", static.cost_inputs, price - base[None])
    own = base[static.cost_product]  # (F, M)
    rise = np.divide(extra, own[None], out=np.zeros_like(extra), where=own[None] > 0)
    floor[:, static.cost_product, :] = 1.0 + rise
    return floor


def update_prices(
    static: Static, state: State, flows: Flows, fx: MonthEffects, prm: Mapping[str, ParamValue]
) -> None:
    base = static.net.price0
    sens = per_draw(prm["price_sensitivity"], 3)
    lag = per_draw(prm["price_adjust_months"], 3)
    choke = per_draw(prm["price_choke_share"], 3)
    exponent = per_draw(prm["scarcity_exponent"], 3)
    tight = tightness(static, flows, prm)
    aim = scarcity_multiple(tight, sens, exponent, thinness(static, prm), choke)
    target = base * np.maximum(aim, cost_floor(static, state.price))
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
    """Short-run (``demand_elasticity`` over ``demand_response_months``) and long-run
    (``demand_elasticity_long`` over ``demand_long_months``: recycling, ferrite motors,
    designs without the product) responses to the landed price; demand_mult is their
    product."""
    short, long_ = (
        -per_draw(prm["demand_elasticity"], 3),
        -per_draw(prm["demand_elasticity_long"], 3),
    )
    if np.any(tariff):
        rel = np.maximum(landed_multiple(static, state, tariff), 1e-9)
        aim_short, aim_long = rel**short, rel**long_
    else:  # every region of a market sees the same multiple: raise M x P values, not R x P
        rel = np.maximum(market_multiple(static, state), 1e-9)
        aim_short = (rel**short)[:, static.market_of, :]
        aim_long = (rel**long_)[:, static.market_of, :]
    lag = np.maximum(per_draw(prm["demand_response_months"], 3), 1.0)
    lag_long = np.maximum(per_draw(prm["demand_long_months"], 3), 1.0)
    state.demand_short = state.demand_short + (aim_short - state.demand_short) / lag
    state.demand_long = state.demand_long + (aim_long - state.demand_long) / lag_long
    state.demand_mult = state.demand_short * state.demand_long


def update_substitution(static: Static, state: State, prm: Mapping[str, ParamValue]) -> None:
    """Magnets do without up to substitution_max_share of Dy/Tb metal (Dy-free grades,
    grain-boundary diffusion), in proportion to how far its price has risen towards
    ``substitution_full_multiple`` x base, over ``substitution_months``."""
    if not static.substitutable.any():
        return
    rel = landed_multiple(static, state, np.zeros(1))
    top = per_draw(prm["substitution_full_multiple"], 3)
    pressure = np.clip(safe_div(rel - 1.0, np.broadcast_to(top - 1.0, rel.shape)), 0.0, 1.0)
    target = per_draw(prm["substitution_max_share"], 3) * pressure * static.substitutable
    lag = np.maximum(per_draw(prm["substitution_months"], 3), 1.0)
    state.subst = state.subst + (target - state.subst) / lag


def entry_lags(static: Static, prm: Mapping[str, ParamValue], n_d: int) -> np.ndarray:
    """(D, K) int months from commitment to production of new capacity, by the process's
    stage (``static.ENTRY_LAGS``), rounded to whole months in [1, PIPELINE_MONTHS - 1]."""
    lags = np.stack(
        [np.broadcast_to(np.asarray(prm[name], dtype=float), (n_d,)) for name in ENTRY_LAGS],
        axis=1,
    )[:, static.entry_stage]
    return np.clip(np.floor(lags + 0.5), 1, PIPELINE_MONTHS - 1).astype(np.int64)


def update_capacity_entry(
    static: Static, state: State, month: int, prm: Mapping[str, ParamValue]
) -> None:
    """New capacity outside China answers sustained high ex-China prices, after a lag.

    signal: the revenue-weighted ex-China price multiple of a process's outputs, smoothed
    over ``capacity_signal_months``; above 1 + ``capacity_entry_hurdle`` it commits, each
    month, ``capacity_entry_per_year`` / 12 of the process's world base capacity per unit of
    excess (at most one); a commitment produces ``entry_lag_<stage>_months`` later (the
    month it enters is ``month + lag``), spread over regions by ``static.entry_weight``.
    """
    rel = market_multiple(static, state)[:, -1, :]  # (D, P) ex-China
    mean = rel[:, static.out_product] @ static.out_weight_matrix  # (D, K)
    mean = np.where(static.has_outputs, mean, 1.0)
    lag = np.maximum(per_draw(prm["capacity_signal_months"], 2), 1.0)
    state.signal = state.signal + (mean - state.signal) / lag
    hurdle = per_draw(prm["capacity_entry_hurdle"], 2)
    pressure = np.clip(state.signal - 1.0 - hurdle, 0.0, 1.0)
    rate = per_draw(prm["capacity_entry_per_year"], 2) / 12.0
    commit = static.entry_scale * rate * pressure  # (D, K)
    n_d, n_k = commit.shape
    slot = (month + entry_lags(static, prm, n_d)) % PIPELINE_MONTHS
    rows, cols = np.indices((n_d, n_k))
    state.pipeline[rows, cols, slot] += commit
    arrive = (month + 1) % PIPELINE_MONTHS
    state.entered = state.entered + state.pipeline[:, :, arrive]
    state.pipeline[:, :, arrive] = 0.0


def surplus_stock(flows: Flows) -> np.ndarray:
    """(D, R, P) t stock above target (beyond ``AT_TARGET_SHARE`` of it)."""
    return np.maximum(flows.stock_end - flows.target * (1.0 + AT_TARGET_SHARE), 0.0)


def spare_supply(static: Static, flows: Flows) -> np.ndarray:
    """(D, R, P) t an exporter could offer this month: stock above target plus what its idle
    capacity can make of the spare inputs, stage by stage down the chain (a mine's idle
    capacity needs no feed; a magnet plant's runs on spare metal, made of spare oxide ...).

    Idle nameplate capacity with no feed offers nothing: counting it steered a blocked
    importer's orders to plants that could not ship (issue 18: Japan's May 2025 stoppage).
    """
    recipe_in, recipe_out = static.net.recipe_in, static.net.recipe_out
    spare = surplus_stock(flows)
    idle = np.maximum(flows.capacity - flows.activity, 0.0)
    for stage in static.stages:  # in chain order: a stage's inputs are complete before it
        ks = stage.processes
        if not ks.size:
            continue
        uses = recipe_in[ks] > 0  # (Ks, P)
        per_input = spare[:, :, None, :] / np.where(uses, recipe_in[ks], 1.0)
        feed = np.where(uses, per_input, np.inf).min(axis=-1)  # (D, R, Ks) t activity
        made = np.minimum(idle[:, :, ks], feed) @ recipe_out[ks][:, stage.products]
        spare[:, :, stage.products] += made
    # round-off is none (a stock exported to zero kept 1e-13 t in the numpy step, 0 in the
    # kernel, and drew an importer's whole moved share onto it; so would idle capacity's)
    spare[spare < SPARE_FLOOR_T] = 0.0
    return spare


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
