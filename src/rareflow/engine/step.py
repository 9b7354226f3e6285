"""The monthly step: stockpiles, plans, then stage by stage produce -> ship -> allocate.

Order of operations (all vectorised over the draw axis D; the only loop is over the stages):
1. stockpile releases join the market (fixed ones, and national stockpiles' releases by their
   cover rule), purchases leave it (explicit balance terms);
2. trend demand x price response; target stocks = cover x trend use; each output's call =
   trend output + last month's net pull off trend (needs + foreign orders - imports) + the
   stock gap closed over ``restock_months``; a process runs at trend activity x the
   revenue-weighted mean of its outputs' calls, and at least its main output's (joint
   production), capped by capacity (new
   projects and investments add headroom); import orders = trend imports + the imported
   share of the gap;
3. policy allowances on each flow (licences, bans, content rules on origin shares);
4. for each stage in chain order: processes run as far as their inputs' allocation allows;
   exporters split stock between home needs (``home_priority``) and allowed foreign orders,
   quotas cap the result; each region then allocates what it holds to downstream processes
   and final use pro rata (a shortfall appears only when the stock is exhausted);
5. sector shortages -> units not built (the scarcest input decides) -> the backlog: caught
   up later at spare capacity (deferred) or lost when its window runs out (``settle``) ->
   value added lost (``docs/losses.md``).
Prices, demand response, substitution, capacity entry (``State.entered``, read by
``month_capacity``) and sourcing shares update after (``market.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from rareflow.engine.numeric import UNMET_FLOOR, safe_div
from rareflow.engine.parameters import ParamValue, per_draw
from rareflow.engine.state import NO_ORIGINS, Flows, State, growth, own_origin
from rareflow.engine.static import Index, Stage, Static
from rareflow.policies.channels import MonthEffects, Quota


def to_arcs(x: np.ndarray) -> np.ndarray:
    """(1|D, A) policy array (``month_effects`` on ``arcs.cell``) -> (A, 1|D) contiguous."""
    return np.ascontiguousarray(x.T)


def take(rows: np.ndarray, index: np.ndarray) -> np.ndarray:
    """rows[index] along the first axis (indices known valid: no bounds checks)."""
    return np.take(rows, index, axis=0, mode="clip")


def node_columns(x: np.ndarray) -> np.ndarray:
    """(D, R, Ps) -> (R x Ps, D) contiguous: nodes by draws, to gather onto arcs."""
    n_d, n_r, n_p = x.shape
    return np.ascontiguousarray(x.transpose(1, 2, 0)).reshape(n_r * n_p, n_d)


def node_rows(y: np.ndarray, n_r: int) -> np.ndarray:
    """(R x Ps, D) -> (D, R, Ps) view."""
    return y.reshape(n_r, -1, y.shape[-1]).transpose(2, 0, 1)


def effective_allow(
    static: Static, state: State, fx: MonthEffects, origins: np.ndarray = NO_ORIGINS
) -> np.ndarray:
    """(A, 1|D) allowances on the arcs, with content rules applied to exporters' shares of
    the rules' origins (``origins``: the tracked regions, ``State.origin``'s last axis)."""
    arcs = static.arcs
    allow = to_arcs(fx.allow)
    for rule in fx.content_rules:
        share = origin_share(state.origin, rule.origins[origins])  # (D, E, P)
        covered = rule.content * share >= rule.threshold
        covered[:, rule.origins, :] = False  # an origin's own exports: direct measures
        if rule.exporters is not None:
            covered[:, ~rule.exporters, :] = False
        on_arcs = covered.reshape(covered.shape[0], -1)[:, arcs.at_exporter].T  # (A, D)
        cells = on_arcs & rule.targets[arcs.importer][:, None]  # arcs are cross-border
        factor = rule.factor if np.ndim(rule.factor) == 0 else np.reshape(rule.factor, (1, -1))
        allow = allow * np.where(cells, factor, 1.0)
    return allow


def origin_share(origin: np.ndarray, read: np.ndarray) -> np.ndarray:
    """(D, R, P) share of the stocks of the tracked origins ``read`` ((O,) bool) together:
    the sum of their exclusive shares, added in the tracked order (as the kernel does)."""
    share = np.zeros(origin.shape[:-1])
    for o in np.flatnonzero(read):
        share = share + origin[..., o]
    return share


def ship(
    static: Static,
    k: int,
    stock: np.ndarray,
    orders: np.ndarray,
    share: np.ndarray,
    allow: np.ndarray | None,
    home_need: np.ndarray,
    home_priority: ParamValue,
    out: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(As, D) shipments on stage ``k``'s arcs, and (D, R, Ps) allowed foreign orders.

    stock, orders, home_need: (D, R, Ps); share (As, D); allow (As, 1|D), None when policy
    restricts none of the stage's products. Exporters serve ``home_priority`` of home needs
    first, then the rest of home needs and the allowed foreign orders pro rata. ``out`` (As, D)
    receives the shipments.
    """
    arcs = static.arcs
    n_r = stock.shape[1]
    wanted = np.take(node_columns(orders), arcs.stage_importer[k], axis=0, out=out, mode="clip")
    wanted *= share
    if allow is not None:
        wanted *= allow
    foreign = node_rows(arcs.stage_to_exporter[k] @ wanted, n_r)  # (D, R, Ps)
    h = per_draw(home_priority, 3)
    first = np.minimum(stock, h * home_need)
    rest = (1.0 - h) * home_need + foreign
    served = np.minimum(safe_div(stock - first, rest), 1.0)
    wanted *= take(node_columns(served), arcs.stage_exporter[k])
    return wanted, foreign


def arrivals(
    transit: np.ndarray, shipped: np.ndarray, at_sea: np.ndarray, arcs: Index
) -> np.ndarray:
    """(As, D) t arriving on a stage's ``arcs``: what was at sea since last month, and the share
    ``1 - transit`` of this month's ``shipped`` (As, D); the rest of it goes to sea. transit
    (A,) and at_sea (A, D, updated in place) are on every arc. Tonnes at sea carry their
    exporter's origin shares at arrival."""
    stays = transit[arcs][:, None]
    arrive = at_sea[arcs] + (1.0 - stays) * shipped
    at_sea[arcs] = stays * shipped
    return arrive


def apply_quotas(
    shipments: np.ndarray, arcs: Index, quotas: list[Quota], left: list[np.ndarray]
) -> np.ndarray:
    """Scale the stage's capped flows (As, D) pro rata to what is left of each monthly quota
    (in place); quota masks are on the trade arcs."""
    for quota, remaining in zip(quotas, left, strict=True):
        mask = quota.mask[arcs][:, None]  # (As, 1)
        if not mask.any():
            continue
        total = np.where(mask, shipments, 0.0).sum(axis=0)
        scale = np.minimum(safe_div(remaining, total, fill=1.0), 1.0)
        shipments *= np.where(mask, scale[None, :], 1.0)
        remaining -= total * scale
    return shipments


def run_stage_processes(
    stage: Stage,
    static: Static,
    desired: np.ndarray,
    fill: np.ndarray,
    subst: np.ndarray,
    recipes: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Activity (D, R, Ks), use (D, R, Pin) of the stage's inputs and output (D, R, Ps) of its
    products, limited by input fills (inputs are earlier stages' products, so the two never
    overlap)."""
    ks = stage.processes
    act = desired[:, :, ks]
    if stage.inputs.size:
        fin = fill[:, :, stage.inputs][:, :, None, :]  # (D, R, 1, Pin)
        act = act * np.where(stage.input_mask, fin, 1.0).min(-1)
    n_in = stage.inputs.size
    flows = act @ recipes  # (D, R, 2 Pin + Ps): use, substitutable use, output
    use = flows[:, :, :n_in] - flows[:, :, n_in : 2 * n_in] * subst[:, :, stage.inputs]
    return act, use, flows[:, :, 2 * n_in :]


class SectorLosses(NamedTuple):
    """A month's sector losses, each (D, R, S)."""

    share: np.ndarray  # fraction of the sector's tonnes of need not met
    units_short: np.ndarray  # units not built this month
    units_deferred: np.ndarray  # units of earlier months caught up this month
    units_lost: np.ndarray  # units whose catch-up window ran out this month
    value_lost: np.ndarray  # USD value added of the units lost
    value_deferred: np.ndarray  # USD value added of the units caught up
    gross_lost: np.ndarray  # USD gross output of the units lost


def sector_losses(
    static: Static,
    trend: np.ndarray,
    fill: np.ndarray,
    state: State,
    prm: Mapping[str, ParamValue],
) -> SectorLosses:
    """Units a sector does not build this month, and what earlier shortfalls become.

    A sector's unit needs every product it uses (Leontief): the scarcest one decides, so the
    units short are the units wanted x the largest unmet share of the sector's inputs in the
    region (``pair_gate``); a pair that is its own line of output (``pair_line``) adds its
    own units. Units short join the backlog (``settle``), which catch-up work at spare
    capacity draws down; what the catch-up window does not reach is lost.
    trend: (D, R, P) growth x demand response, so that final demand = final0 x trend.
    """
    n_d, n_r, _ = fill.shape
    if not static.pair_product.size:
        zero = np.zeros((n_d, n_r, len(static.net.sectors)))
        return SectorLosses(*(zero.copy() for _ in SectorLosses._fields))
    to_sector = static.pair_to_sector  # (Q, S): sums over each sector's pairs
    gap = (1.0 - fill)[:, :, static.pair_product]  # (D, R, Q)
    gap = np.where(gap > UNMET_FLOOR, gap, 0.0)
    scale = trend[:, :, static.pair_product]
    wanted = (scale * static.pair_demand) @ to_sector
    lost = gap * scale
    unmet = (lost * static.pair_demand) @ to_sector
    worst = np.zeros_like(wanted)  # the scarcest input of each region's sector unit
    worst[:, :, static.pair_sectors] = np.maximum.reduceat(
        gap * static.pair_gate, static.pair_starts, axis=2
    )
    rows = np.arange(n_r)[:, None]
    unit_scale = trend[:, rows, static.pair_product[static.unit_pair]]  # (D, R, S)
    unit_wanted = unit_scale * static.unit_units
    line_units = scale * static.pair_units * static.pair_line
    units_wanted = unit_wanted + line_units @ to_sector
    units_short = unit_wanted * worst + (gap * line_units) @ to_sector
    line_usd = (lost * static.pair_value * static.pair_line) @ to_sector
    usd_short = unit_wanted * worst * static.unit_usd + line_usd
    rate = per_draw(prm["catchup_rate"], 3)
    spare = rate * np.maximum(units_wanted - units_short, 0.0)
    window = per_draw(prm["catchup_months"], 3)
    caught, caught_usd, gone, gone_usd = settle(state, units_short, usd_short, spare, window)
    va = static.value_added_share
    share = np.minimum(safe_div(unmet, wanted), 1.0)
    return SectorLosses(share, units_short, caught, gone, gone_usd * va, caught_usd * va,
                        gone_usd)  # fmt: skip


def settle(
    state: State,
    units_short: np.ndarray,
    usd_short: np.ndarray,
    spare: np.ndarray,
    window: ParamValue,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Catch up on the backlog, oldest shortfall first, with up to ``spare`` units (D, R, S);
    expire what is ``window`` months old or more (a shortfall can be made up in the next
    ceil(window) months); age the rest and add this month's shortfall (lost at once when
    the window is 0). Updates ``state``'s backlog in place; returns units and gross USD
    caught up, and units and gross USD lost."""
    units, usd = state.backlog_units, state.backlog_usd
    n_ages = units.shape[-1]
    # oldest first: a cohort gets what the spare units leave after every older one
    older = np.cumsum(units[..., ::-1], axis=-1)[..., ::-1] - units
    take = np.minimum(np.maximum(spare[..., None] - older, 0.0), units)
    taken_usd = usd * safe_div(take, units)
    caught, caught_usd = take.sum(axis=-1), taken_usd.sum(axis=-1)
    units -= take
    usd -= taken_usd
    window = np.asarray(window)
    expired = np.arange(1, n_ages + 1) >= window[..., None]  # (1|D, 1, 1, W)
    gone = np.where(expired, units, 0.0).sum(axis=-1)
    gone_usd = np.where(expired, usd, 0.0).sum(axis=-1)
    units[:] = np.where(expired, 0.0, units)
    usd[:] = np.where(expired, 0.0, usd)
    units[..., 1:] = units[..., :-1].copy()
    usd[..., 1:] = usd[..., :-1].copy()
    keep = window > 0.0
    units[..., 0] = np.where(keep, units_short, 0.0)
    usd[..., 0] = np.where(keep, usd_short, 0.0)
    gone = gone + np.where(keep, 0.0, units_short)
    gone_usd = gone_usd + np.where(keep, 0.0, usd_short)
    return caught, caught_usd, gone, gone_usd


def desired_activity(
    static: Static, respond: np.ndarray, g3: ParamValue, capacity: np.ndarray
) -> np.ndarray:
    """(D, R, K) activity wanted: trend activity x the revenue-weighted mean of what its
    outputs call for (output wanted / trend output, >= 0), so that a joint process runs for
    its revenue and neither stops nor races for one by-product; never less than its main
    output alone calls for.

    respond: (D, R, P) output wanted off trend (pull off trend + stock gap over restock).
    Where a region made none of a product in the base year, new capacity answers the call
    directly (t wanted / yield).
    """
    net = static.net
    trend = np.asarray(net.activity0 * g3).reshape((-1, *net.activity0.shape))  # (D|1, R, K)
    made = np.asarray(static.production0 * g3).reshape((-1, *static.production0.shape))
    k, p = static.out_process, static.out_product
    ratio = 1.0 + safe_div(respond, made)  # output wanted / trend output
    scaled = trend[:, :, k] * ratio[:, :, p]
    direct = respond[:, :, p] / static.out_yield
    call = np.where(static.production0[:, p] > 0, scaled, direct)  # (D, R, O)
    call = np.maximum(call, 0.0)
    weighted = call @ static.out_weight_matrix  # (D, R, K)
    # A glut of a by-product (e.g. Dy held back by a licence) must not idle the process that
    # also makes its main product (NdPr, La/Ce): run at least for the main output's call.
    primary = call @ static.out_primary_matrix
    wanted = np.where(static.has_outputs, np.maximum(weighted, primary), trend)
    return np.clip(wanted, 0.0, capacity)


def reserve_release(static: Static, state: State, fx: MonthEffects, g3: ParamValue) -> np.ndarray:
    """(D, R, P) t national stockpiles release this month by their rule: what tops the
    region's stock up to ``reserve_cover`` months of trend use, at most ``reserve_rate`` and
    what is left of ``reserve``; adds it to ``state.drawn``."""
    start = state.stock + fx.release  # the stock with the month's fixed releases
    want = fx.reserve_cover * static.use0 * g3 - start
    rule = np.maximum(np.minimum(np.minimum(fx.reserve_rate, fx.reserve - state.drawn), want), 0.0)
    state.drawn = state.drawn + rule
    return rule


def month_capacity(
    static: Static,
    month: int,
    prm: Mapping[str, ParamValue],
    added: np.ndarray,
    fx: MonthEffects,
    entered: np.ndarray | None = None,
) -> np.ndarray:
    """(1|D, R, K) t activity/month: installed plants expanded along a trend
    (``capacity_growth_per_year``), plus projects ramped in (``added``), investments and the
    capacity that entered in answer to prices (``entered``: (D, K), ``State.entered``,
    spread over regions by ``static.entry_weight``)."""
    expand = growth(static, month, prm["capacity_growth_per_year"])
    capacity = static.net.capacity * per_draw(expand, 3) + added + fx.capacity
    if entered is None:
        return capacity
    return capacity + entered[:, None, :] * static.entry_weight


def step(
    static: Static,
    state: State,
    fx: MonthEffects,
    prm: Mapping[str, ParamValue],
    month: int,
    added: np.ndarray,
    origins: np.ndarray = NO_ORIGINS,
    shipments: np.ndarray | None = None,
) -> Flows:
    """Advance ``state`` by one month in place and return the month's flows.

    fx: ``month_effects`` on the trade arcs (``cells=static.arcs.cell``).
    added: (R, K) capacity of projects ramped in since the base year.
    origins: (O,) regions whose origin shares ``state.origin`` tracks (none: no tracking).
        A stage run in a tracked region makes output of its origin; a stage run elsewhere
        passes its inputs' origins through by mass; stocks mix what enters them by mass.
    shipments: (A, D) buffer the month's shipments on the arcs are written to (every cell
        overwritten); None: a new array.
    """
    net = static.net
    g = growth(static, month, prm["demand_growth_per_year"])
    g3, restock = per_draw(g, 3), per_draw(prm["restock_months"], 3)
    start = state.stock
    release = np.broadcast_to(fx.release, start.shape) + reserve_release(static, state, fx, g3)
    purchase = np.clip(start + release, 0.0, fx.purchase)  # never more than is held
    stock = start + release - purchase

    target = net.cover_months * per_draw(prm["cover_multiple"], 3) * static.use0 * g3
    # aim at the target ``restock`` months ahead so that stocks keep pace with a growing trend
    ahead = (1.0 + per_draw(prm["demand_growth_per_year"], 3)) ** (restock / 12.0)
    # the stock position counts what is at sea to the region (``Static.at_sea0`` at baseline)
    at_sea = node_rows(static.arcs.to_importer @ state.at_sea, stock.shape[1])  # (D, R, P)
    gap = target * ahead - stock + (static.at_sea0 * g3 - at_sea)
    trend = g3 * state.demand_mult  # (D, R, P): the same multiple for every sector
    final = static.final0 * trend
    capacity = month_capacity(static, month, prm, added, fx, state.entered)
    # trend activity, plus what last month's pull off trend and the stock gap call for
    respond = state.pull + gap / restock
    desired = desired_activity(static, respond, g3, capacity)
    need = desired @ net.recipe_in - (desired @ static.recipe_sub) * state.subst
    orders = np.maximum(static.imports0 * g3 + static.import_share * gap / restock, 0.0)
    allow = effective_allow(static, state, fx, origins)  # (A, 1|D)
    restricted = np.zeros(len(net.products), dtype=bool)
    restricted[static.arcs.product[(allow != 1.0).any(axis=1)]] = True

    n_d, n_r, n_p = stock.shape
    fill = np.ones((n_d, n_r, n_p))
    activity = np.zeros((n_d, n_r, len(net.processes)))
    production, use = np.zeros_like(fill), np.zeros_like(fill)
    if shipments is None:
        shipments = np.empty((static.arcs.size, n_d))
    if not static.arcs.staged:
        shipments.fill(0.0)  # arcs of products in no stage
    # t of each tracked origin held (D, R, P, O); no origins tracked: no bookkeeping
    origin_in = state.origin * stock[..., None] if len(origins) else None
    own = own_origin(n_r, origins)
    left = [np.broadcast_to(q.cap, (n_d,)).astype(float) for q in fx.quotas]
    home_need = need + final
    foreign, imports, exports = np.zeros_like(fill), np.zeros_like(fill), np.zeros_like(fill)
    for k, stage in enumerate(static.stages):
        ps, arcs = stage.products, static.arcs.stages[k]
        if stage.processes.size:
            act, used, made = run_stage_processes(
                stage, static, desired, fill, state.subst, static.stage_recipes[k]
            )
            activity[:, :, stage.processes] = act
            ins = stage.inputs
            use[:, :, ins] += used
            production[:, :, ps] += made
            stock[:, :, ins] -= used
            stock[:, :, ps] += made
            if origin_in is not None:
                o_in = _production_origin(state.origin[:, :, ins], used, own)
                origin_in[:, :, ps] += made[..., None] * o_in
        limits = allow[arcs] if restricted[ps].any() else None
        out = shipments[arcs] if isinstance(arcs, slice) else None  # a view: written in place
        xs, pulled = ship(
            static,
            k,
            stock[:, :, ps],
            orders[:, :, ps],
            state.share[arcs],
            limits,
            home_need[:, :, ps],
            prm["home_priority"],
            out,
        )
        foreign[:, :, ps] = pulled
        xs = apply_quotas(xs, arcs, fx.quotas, left)
        if xs is not out:
            shipments[arcs] = xs
        to_e, to_i = static.arcs.stage_to_exporter[k], static.arcs.stage_to_importer[k]
        arrive = arrivals(static.arcs.transit, xs, state.at_sea, arcs)
        imports[:, :, ps] = node_rows(to_i @ arrive, n_r)
        exports[:, :, ps] = node_rows(to_e @ xs, n_r)
        stock[:, :, ps] += imports[:, :, ps] - exports[:, :, ps]
        for o in range(len(origins) if origin_in is not None else 0):
            carried = take(node_columns(state.origin[:, :, ps, o]), static.arcs.stage_exporter[k])
            origin_in[:, :, ps, o] += node_rows(to_i @ (arrive * carried), n_r)  # type: ignore[index]
        fill[:, :, ps] = np.clip(safe_div(stock[:, :, ps], home_need[:, :, ps], fill=1.0), 0.0, 1.0)
        stock[:, :, ps] -= final[:, :, ps] * fill[:, :, ps]

    delivered = final * fill
    if origin_in is not None:
        inflow = start + release + production + imports
        state.origin = np.clip(safe_div(origin_in, (inflow - purchase)[..., None]), 0.0, 1.0)
    state.stock = stock
    state.pull = home_need + foreign - imports - static.net_pull0 * g3
    losses = sector_losses(static, trend, fill, state, prm)
    return Flows(
        stock_start=start,
        stock_end=stock,
        in_transit=node_rows(static.arcs.to_importer @ state.at_sea, n_r),
        activity=activity,
        production=production,
        process_use=use,
        shipments=shipments,
        imports=imports,
        exports=exports,
        demand=final,
        delivered=delivered,
        shortage=final - delivered,
        release=np.ascontiguousarray(release),
        purchase=purchase,
        shortage_share=losses.share,
        units_not_built=losses.units_short,
        units_deferred=losses.units_deferred,
        units_lost=losses.units_lost,
        value_lost=losses.value_lost,
        value_deferred=losses.value_deferred,
        gross_output_lost=losses.gross_lost,
        capacity=capacity,
        target=target,
        allow=allow,
    )


def _production_origin(origin: np.ndarray, used: np.ndarray, own: np.ndarray) -> np.ndarray:
    """(D, R, 1, O) origin shares of a stage's output: its inputs' shares by mass, and the
    region's own origin (``own``, (R, O) one-hot) where the region is tracked."""
    total = used.sum(axis=2)[..., None]
    o = safe_div(np.einsum("drp,drpo->dro", used, origin), total)
    tracked = own.any(axis=1)
    o[:, tracked] = own[tracked]
    return o[:, :, None, :]
