"""Runtime state of a chunk of D draws, and the flows of one month (BoARIO-style shapes).

Everything is float64 numpy with a leading draw axis D; R regions, P products, K processes,
S sectors, M markets. Static inputs live in ``Static`` and the policy plan, never here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rareflow.engine.static import Static

NO_ORIGINS = np.zeros(0, dtype=np.int64)  # a run that tracks no origin
PIPELINE_MONTHS = 121  # capacity entry lags reach 120 months (``data.ranges``)


@dataclass
class State:
    stock: np.ndarray  # (D, R, P) t held at the end of the previous month
    share: np.ndarray  # (A, D) share of the importer's orders placed with the exporter, per
    # trade arc (product, exporter, importer) of ``Static.arcs``
    price: np.ndarray  # (D, P, M) USD/kg
    demand_mult: np.ndarray  # (D, R, P) final demand relative to trend (price response):
    # demand_short x demand_long
    demand_short: np.ndarray  # (D, R, P) short-run response (fewer units, delayed orders)
    demand_long: np.ndarray  # (D, R, P) long-run response (recycling, ferrite motors, designs)
    subst: np.ndarray  # (D, R, P) share of a substitutable input magnets do without
    origin: np.ndarray  # (D, R, P, O) share of the stock of each tracked origin
    # (``Prepared.origins``); exclusive: what the shares leave (1 - sum) is of no tracked origin
    pull: np.ndarray  # (D, R, P) last month's (needs + foreign orders - imports) off trend
    drawn: np.ndarray  # (D, R, P) t released so far from national stockpiles by their rule
    signal: np.ndarray  # (D, K) smoothed ex-China price multiple of each process's outputs
    pipeline: np.ndarray  # (D, K, PIPELINE_MONTHS) t activity/month committed, by the month
    # (modulo PIPELINE_MONTHS) it enters
    entered: np.ndarray  # (D, K) t activity/month of capacity entered in answer to prices
    # sector units not built and not yet caught up, by age: [..., a] fell short a + 1 months
    # ago (W = the longest catch-up window of the draws, at least 1)
    backlog_units: np.ndarray  # (D, R, S, W) units
    backlog_usd: np.ndarray  # (D, R, S, W) their gross output, USD
    at_sea: np.ndarray  # (A, D) t shipped last month on each trade arc, arriving this month


@dataclass
class Flows:
    """What happened in one month (t/month unless stated)."""

    stock_start: np.ndarray  # (D, R, P) t, start of month
    stock_end: np.ndarray  # (D, R, P) t, end of month
    in_transit: np.ndarray  # (D, R, P) t shipped to the region, at sea at the end of month
    activity: np.ndarray  # (D, R, K) t activity
    production: np.ndarray  # (D, R, P)
    process_use: np.ndarray  # (D, R, P)
    shipments: np.ndarray  # (A, D) cross-border, on the trade arcs (``Static.arcs``)
    imports: np.ndarray  # (D, R, P) shipments summed over exporters
    exports: np.ndarray  # (D, R, P) shipments summed over importers
    demand: np.ndarray  # (D, R, P) final use wanted
    delivered: np.ndarray  # (D, R, P) final use met
    shortage: np.ndarray  # (D, R, P) final use not met
    release: np.ndarray  # (D, R, P) stockpile releases onto the market
    purchase: np.ndarray  # (D, R, P) stockpile purchases off the market
    shortage_share: np.ndarray  # (D, R, S) fraction of the sector's tonnes of need not met
    units_not_built: np.ndarray  # (D, R, S) units short this month (lost or deferred later)
    units_deferred: np.ndarray  # (D, R, S) units of earlier months caught up this month
    units_lost: np.ndarray  # (D, R, S) units whose catch-up window ran out this month
    value_lost: np.ndarray  # (D, R, S) USD value added of the units lost
    value_deferred: np.ndarray  # (D, R, S) USD value added of the units deferred
    gross_output_lost: np.ndarray  # (D, R, S) USD gross output of the units lost
    capacity: np.ndarray  # (D|1, R, K) t activity available
    target: np.ndarray  # (D|1, R, P) t target stock
    allow: np.ndarray  # (A, 1|D) share of orders policy lets ship, on the trade arcs


def growth(static: Static, month: int, rate: float | np.ndarray) -> float | np.ndarray:
    """Demand trend relative to the base year's midpoint."""
    return (1.0 + rate) ** ((month - static.base_month) / 12.0)


def initial_state(
    static: Static,
    draws: int,
    first_month: int,
    rate: float | np.ndarray,
    origins: np.ndarray,
    cover: float | np.ndarray = 1.0,
    window: float | np.ndarray = 0.0,
) -> State:
    """Stocks at target cover of trend use, baseline sourcing and prices, no backlog.
    window: catch-up window (months, float or (D,)): sizes the backlog's age axis."""
    net = static.net
    g = np.broadcast_to(
        np.asarray(growth(static, first_month, rate)).reshape(-1, 1, 1), (draws, 1, 1)
    )
    n_r, n_p, n_k = len(net.regions), len(net.products), len(net.processes)
    stock = net.cover_months * np.reshape(cover, (-1, 1, 1)) * static.use0 * g
    return State(
        stock=np.ascontiguousarray(stock),
        share=np.repeat(static.arcs.share0[:, None], draws, axis=1),
        price=np.repeat(net.price0[None], draws, axis=0),
        demand_mult=np.ones((draws, n_r, n_p)),
        demand_short=np.ones((draws, n_r, n_p)),
        demand_long=np.ones((draws, n_r, n_p)),
        subst=np.zeros((draws, n_r, n_p)),
        origin=np.repeat(initial_origin(static, origins)[None], draws, axis=0),
        pull=np.zeros((draws, n_r, n_p)),
        drawn=np.zeros((draws, n_r, n_p)),
        signal=np.ones((draws, n_k)),
        pipeline=np.zeros((draws, n_k, PIPELINE_MONTHS)),
        entered=np.zeros((draws, n_k)),
        backlog_units=np.zeros((draws, n_r, len(net.sectors), backlog_ages(window))),
        backlog_usd=np.zeros((draws, n_r, len(net.sectors), backlog_ages(window))),
        # last month's baseline shipments at sea (trend of the month before the first)
        at_sea=np.ascontiguousarray(
            static.arcs.at_sea0[:, None]
            * np.broadcast_to(np.asarray(growth(static, first_month - 1, rate)), (draws,))
        ),
    )


def backlog_ages(window: float | np.ndarray) -> int:
    """Months a backlog keeps: a shortfall can be caught up in the next ceil(window) months."""
    return max(1, int(np.ceil(np.max(window))))


def initial_origin(static: Static, origins: np.ndarray) -> np.ndarray:
    """(R, P, O) share of each tracked origin's material in baseline stocks, by mixing
    baseline flows: a stage run in a tracked region makes output of that origin, a stage run
    elsewhere passes its inputs' origins through by mass, and stocks mix production and
    imports by mass (``step.step`` does the same each month)."""
    net = static.net
    origin = np.zeros((len(net.regions), len(net.products), len(origins)))
    if not len(origins):
        return origin
    own = own_origin(len(net.regions), origins)  # (R, O)
    tracked = own.any(axis=1)
    for _ in range(len(static.stages) + 1):
        for stage in static.stages:
            ps = stage.products
            made = net.activity0[:, stage.processes] @ net.recipe_out[stage.processes][:, ps]
            used = net.activity0[:, stage.processes] @ net.recipe_in[stage.processes]
            total = used.sum(axis=1)[:, None]
            o_in = np.divide(
                np.einsum("rp,rpo->ro", used, origin), total,
                out=np.zeros((len(total), len(origins))), where=total > 0,
            )  # fmt: skip
            o_in[tracked] = own[tracked]
            imports = np.einsum("pei,epo->ipo", net.trade0[ps] * static.offdiag, origin[:, ps])
            volume = (made + static.imports0[:, ps])[:, :, None]
            mixed = made[:, :, None] * o_in[:, None, :] + imports
            origin[:, ps] = np.divide(mixed, volume, out=np.zeros_like(mixed), where=volume > 0)
    return origin


def own_origin(n_regions: int, origins: np.ndarray) -> np.ndarray:
    """(R, O) one-hot: the tracked origin of each region's own output (a row of zeros where
    the region is not tracked)."""
    own = np.zeros((n_regions, len(origins)))
    own[origins, np.arange(len(origins))] = 1.0
    return own
