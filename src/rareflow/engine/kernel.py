"""The month (``step.py`` then ``market.py``) compiled with numba, a tile of draws at a time.

The numpy modules are the model's reference: readable, vectorised over draws, and what small
runs use. This kernel is the same arithmetic fused: it walks the network once per tile of
``TILE`` draws, and every innermost loop runs over the tile's draws, so that the index work
of an arc or a node is shared by the tile and the arithmetic runs in SIMD lanes, while the
tile's arrays stay in cache for its whole month. Batches use it (``simulate(...,
kernel="numba")``, driven by ``fast.py``); ``tests/test_kernel.py`` holds the two paths
together on every bundled scenario and on random draws. A change to the model is made in
both, in the same order of operations.

Layout: a chunk's D draws are padded to NT x TILE and stored tile-major, draws last: nodes
(NT, R, P, TILE), arcs (NT, A, TILE), prices (NT, P, M, TILE). Policy arrays have a leading
axis of 1 (shared by every tile) or NT. Outputs are written for the D real draws, (D, ...).
The kernel releases the GIL, so chunks run on threads side by side.

Vectors: ``month`` is compiled with no-alias arguments, without reference counts
(``KernelPipeline``) and with LLVM's SLP vectoriser (``compile_month``), and each quantity of
the tile's scratch is its own array (``Work``), so that a lane loop's loads and stores can
be packed; lane loops keep their stores unconditional (a select, not an ``if``) for the
same reason. The kernel allocates nothing: every temporary lives in ``Work``. Lags, restock
months, trend outputs and yields are applied as reciprocals (one division per draw or per
topology entry, not per node and draw), which round differently from the numpy step's
divisions in the last bit.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numba as nb
import numpy as np
from numba.core import config as numba_config
from numba.core.compiler import CompilerBase, DefaultPassBuilder
from numba.core.compiler_lock import global_compiler_lock

from rareflow.engine.numeric import (
    AT_TARGET_SHARE,
    SCALE_FLOOR,
    SPARE_FLOOR_T,
    TINY,
    TOLERANCE,
    UNMET_FLOOR,
)

AT_TARGET = 1.0 + AT_TARGET_SHARE  # stock above target x this is surplus (``surplus_stock``)
TILE = 16  # draws side by side in the innermost loops (four AVX2 vectors of float64)
# Arc indices are unsigned: numba wraps a signed index that may be negative (a compare and
# an add per access), and an arc loop's index work weighs as much as its lanes' arithmetic.
INDEX = np.uint64

# columns of the per-draw parameter matrix (D, len(PARAMETERS))
PARAMETERS = (
    "demand_growth_per_year",
    "restock_months",
    "cover_multiple",
    "capacity_growth_per_year",
    "home_priority",
    "price_sensitivity",
    "price_adjust_months",
    "price_min_multiple",
    "price_max_multiple",
    "demand_elasticity",
    "demand_response_months",
    "substitution_max_share",
    "substitution_months",
    "tariff_elasticity",
    "rerouting_months",
    "price_choke_share",
    "price_thinness_exponent",
    "china_reserve_share",
    "substitution_full_multiple",
    "demand_elasticity_long",
    "demand_long_months",
    "capacity_signal_months",
    "capacity_entry_hurdle",
    "capacity_entry_per_year",
    "entry_lag_mine_months",  # the stage lags in ``static.ENTRY_LAGS`` order, contiguous
    "entry_lag_separation_months",
    "entry_lag_metal_months",
    "entry_lag_magnet_months",
    "scarcity_exponent",
    "catchup_months",
    "catchup_rate",
    "price_thinness_max_ratio",
)
(GROWTH, RESTOCK, COVER, CAP_GROWTH, HOME, SENS, PRICE_LAG, PMIN, PMAX, ELAST, DEMAND_LAG,
 SUBST_MAX, SUBST_LAG, TARIFF_EL, REROUTE, CHOKE, THIN, RESERVE, SUBST_FULL, ELAST_LONG,
 DEMAND_LONG_LAG, SIGNAL_LAG, HURDLE, ENTRY_RATE, ENTRY_LAG0, _, _, _,
 SCARCITY, CATCH_MONTHS, CATCH_RATE, THIN_MAX) = range(len(PARAMETERS))  # fmt: skip

# the first broken check of a draw (``Out.check[d, 0]``; ``fast.check`` words it)
RESIDUAL, NEGATIVE_SHIPMENTS = 1, 2  # 3.. : a negative node quantity (``NODE_CHECKS``)
NODE_CHECKS = ("stock_end", "production", "process_use", "delivered", "release", "purchase")


class Topology(NamedTuple):
    """``Static`` flattened for the kernel (ragged per-stage lists as CSR pointers)."""

    base_month: int
    tracked: np.ndarray  # (O,) int: regions whose origin shares are tracked (O = 0: none)
    origin_of: np.ndarray  # (R,) int: the tracked origin of a region's own output (-1: none)
    china: int  # China's region index (-1: none)
    n_sectors: int
    cover_months: np.ndarray  # (R, P)
    use0: np.ndarray  # (R, P)
    final0: np.ndarray  # (R, P)
    demanded: np.ndarray  # (P,) bool: final0 > 0 in some region
    imports0: np.ndarray  # (R, P)
    import_share: np.ndarray  # (R, P)
    net_pull0: np.ndarray  # (R, P)
    production0: np.ndarray  # (R, P)
    inv_production0: np.ndarray  # (R, P) 1 / production0 (0 where none)
    has_imports: np.ndarray  # (R, P) bool
    capacity0: np.ndarray  # (R, K)
    activity0: np.ndarray  # (R, K)
    recipe_in: np.ndarray  # (K, P)
    recipe_sub: np.ndarray  # (K, P)
    recipe_out: np.ndarray  # (K, P)
    out_process: np.ndarray  # (O,) int
    out_product: np.ndarray  # (O,) int
    out_yield: np.ndarray  # (O,)
    inv_out_yield: np.ndarray  # (O,) 1 / out_yield
    out_weight: np.ndarray  # (O,)
    out_primary: np.ndarray  # (O,)
    has_outputs: np.ndarray  # (K,) bool
    proc_in_ptr: np.ndarray  # (K + 1,) process k's stage inputs: [ptr[k], ptr[k + 1]) into
    proc_in_product: np.ndarray  # product,
    proc_in_value: np.ndarray  # recipe_in (> 0)
    proc_in_sub: np.ndarray  # and recipe_sub
    proc_out_ptr: np.ndarray  # (K + 1,) process k's stage outputs: product,
    proc_out_product: np.ndarray
    proc_out_value: np.ndarray  # and recipe_out (!= 0)
    stage_procs_ptr: np.ndarray  # (NS + 1,) into stage_procs
    stage_procs: np.ndarray
    stage_ins_ptr: np.ndarray  # (NS + 1,) into stage_ins
    stage_ins: np.ndarray
    stage_prods_ptr: np.ndarray  # (NS + 1,) into stage_prods
    stage_prods: np.ndarray
    product_arcs_ptr: np.ndarray  # (P + 1,) INDEX: arcs of product p: [ptr[p], ptr[p + 1])
    in_product: np.ndarray  # recipe_in's nonzeros, by product then process: product,
    in_process: np.ndarray  # process,
    in_value: np.ndarray  # and t input per t activity
    sub_product: np.ndarray  # the same for recipe_sub
    sub_process: np.ndarray
    sub_value: np.ndarray
    arc_product: np.ndarray  # (A,) INDEX
    arc_exporter: np.ndarray  # (A,) INDEX
    arc_importer: np.ndarray  # (A,) INDEX
    share0: np.ndarray  # (A,)
    transit: np.ndarray  # (A,) months at sea (``Arcs.transit``)
    at_sea0: np.ndarray  # (R, P) t at sea to the region at baseline, trend 1
    price0: np.ndarray  # (P, M)
    market_of: np.ndarray  # (R,) int
    substitutable: np.ndarray  # (P,) bool
    pair_product: np.ndarray  # (Q,) int
    pair_sector: np.ndarray  # (Q,) int
    pair_demand: np.ndarray  # (R, Q)
    pair_units: np.ndarray  # (R, Q)
    pair_value: np.ndarray  # (R, Q)
    pair_gate: np.ndarray  # (R, Q)
    pair_line: np.ndarray  # (Q,)
    unit_pair: np.ndarray  # (R, S) int
    unit_units: np.ndarray  # (R, S)
    unit_usd: np.ndarray  # (R, S)
    value_added_share: np.ndarray  # (R, S)
    log_thinness: np.ndarray  # (P,) ln(largest market value / the product's)
    cost_product: np.ndarray  # (F,) int: products priced at least at their inputs' cost
    cost_inputs: np.ndarray  # (F, P) t of each input per t of the product
    entry_weight: np.ndarray  # (R, K) share of a process's capacity entry in each region
    entry_scale: np.ndarray  # (K,) t activity/month committed per unit of pressure and rate
    entry_stage: np.ndarray  # (K,) int: the stage lag (``ENTRY_LAG0`` + stage) that applies


class CellTerms(NamedTuple):
    """``effects.CellField`` on the trade arcs: a base and NM terms in order, each ``op(x,
    col * row)`` on its arcs in the draws where it is on (the kernel builds a tile's lanes)."""

    base: np.ndarray  # (A,)
    ptr: np.ndarray  # (NM + 1,) term m covers idx[ptr[m]:ptr[m + 1]]
    idx: np.ndarray  # (sum Cm,) INDEX arcs
    row: np.ndarray  # (sum Cm,) per-arc part of the operand
    col: np.ndarray  # (1|NT, NM, T) per-draw part
    on: np.ndarray  # (1|NT, NM, T) bool


class Effects(NamedTuple):
    """One month's policy effects, tiled like the state (leading axis 1: shared by all)."""

    allow: CellTerms  # multiplied: share of orders that may ship
    tariff: CellTerms  # added: ad valorem rate
    taxed: bool  # any tariff at all (else the tariff passes are skipped)
    release: np.ndarray  # (1|NT, R, P, T)
    purchase: np.ndarray  # (1|NT, R, P, T) wanted
    reserve: np.ndarray  # (1|NT, R, P, T) t national stockpiles released by rule
    reserve_cover: np.ndarray  # (1|NT, R, P, T) months of use below which they release
    reserve_rate: np.ndarray  # (1|NT, R, P, T) t/month most they release
    capacity: np.ndarray  # (1|NT, R, K, T) added by investments
    floor: np.ndarray  # (1|NT, P, M, T)
    cap: np.ndarray  # (1|NT, P, M, T)
    added: np.ndarray  # (R, K) project capacity ramped in
    quota_mask: np.ndarray  # (NQ, A) bool
    quota_cap: np.ndarray  # (1|NT, NQ, T) t/month
    rule_content: np.ndarray  # (NC, P)
    rule_threshold: np.ndarray  # (NC,)
    rule_origins: np.ndarray  # (NC, R) bool: the origins each rule reads
    rule_ptr: np.ndarray  # (NC + 1,) rule j may cover arcs rule_arcs[ptr[j]:ptr[j + 1]]:
    rule_arcs: np.ndarray  # INDEX: from another exporter to a target, of a product rich enough
    rule_lead: np.ndarray  # (A,) bool: arcs rule 0 may cover and no term does (not listed)
    rule_factor: np.ndarray  # (1|NT, NC, T) share approved


class KState(NamedTuple):
    """A chunk's state in tiles (``state.State`` says what each is)."""

    stock: np.ndarray  # (NT, R, P, T)
    share: np.ndarray  # (NT, A, T)
    price: np.ndarray  # (NT, P, M, T)
    demand_mult: np.ndarray  # (NT, R, P, T)
    demand_short: np.ndarray  # (NT, R, P, T)
    demand_long: np.ndarray  # (NT, R, P, T)
    subst: np.ndarray  # (NT, R, P, T)
    origin: np.ndarray  # (NT, R, P, O, T)
    pull: np.ndarray  # (NT, R, P, T)
    drawn: np.ndarray  # (NT, R, P, T)
    signal: np.ndarray  # (NT, K, T)
    pipeline: np.ndarray  # (NT, K, PIPELINE_MONTHS, T)
    entered: np.ndarray  # (NT, K, T)
    touched: np.ndarray  # (NT, P, T) bool: the draw's sourcing moved off baseline
    carries: np.ndarray  # (NT, A) bool: the arc has a sourcing share in some draw of the tile
    backlog_units: np.ndarray  # (NT, R, S, W, T)
    backlog_usd: np.ndarray  # (NT, R, S, W, T)
    at_sea: np.ndarray  # (NT, A, T)


class Out(NamedTuple):
    """The month's recorded outputs of the D real draws. The node outputs and ``shipments``
    may be empty (0, ...): not recorded (the statistics of a Monte Carlo run read none)."""

    production: np.ndarray  # (D, R, P)
    inventory: np.ndarray  # (D, R, P)
    in_transit: np.ndarray  # (D, R, P)
    demand: np.ndarray  # (D, R, P)
    shortage: np.ndarray  # (D, R, P)
    shortage_share: np.ndarray  # (D, R, S)
    units_not_built: np.ndarray  # (D, R, S)
    units_deferred: np.ndarray  # (D, R, S)
    units_lost: np.ndarray  # (D, R, S)
    value_lost: np.ndarray  # (D, R, S)
    value_deferred: np.ndarray  # (D, R, S)
    gross_output_lost: np.ndarray  # (D, R, S)
    price: np.ndarray  # (D, P, M) after the month's update
    shipments: np.ndarray  # (D, A) or (0, A)
    residual: np.ndarray  # (D,) largest relative residual (NaN if any)
    check: np.ndarray  # (D, 4) code, region, product, value of the first broken check


class Work(NamedTuple):
    """One tile's scratch, reused by the next tile and the next month: one array per
    quantity, so that the compiler sees that writing one never changes another (``month``
    is compiled with no-alias arguments) and packs a tile's lanes into vectors."""

    stock: np.ndarray  # (R, P, T) t running stock (the start is ``KState.stock`` until
    # ``_finish``)
    purchase: np.ndarray  # (R, P, T) t stockpile purchases
    release: np.ndarray  # (R, P, T) t stockpile releases: fixed and by rule
    target: np.ndarray  # (R, P, T) t target stock
    final: np.ndarray  # (R, P, T) t final use wanted
    orders: np.ndarray  # (R, P, T) t import orders
    home_need: np.ndarray  # (R, P, T) t process and final needs at home
    fill: np.ndarray  # (R, P, T) share of home needs met
    production: np.ndarray  # (R, P, T) t
    use: np.ndarray  # (R, P, T) t process use
    foreign: np.ndarray  # (R, P, T) t foreign orders allowed
    imports: np.ndarray  # (R, P, T) t
    exports: np.ndarray  # (R, P, T) t
    origin_in: np.ndarray  # (R, P, O, T) t of each tracked origin held
    served: np.ndarray  # (R, P, T) share of foreign orders served; then scratch
    carried: np.ndarray  # (R, P, O, T) t of each tracked origin carried in by imports
    spare: np.ndarray  # (R, P, T) t spare supply; scratch before sourcing
    kept: np.ndarray  # (R, P, T) sourcing sums; scratch before sourcing
    sea: np.ndarray  # (R, P, T) t at sea to the region short of the baseline's (the plan's)
    alt: np.ndarray  # (R, P, T) sourcing sums
    capacity: np.ndarray  # (R, K, T) t activity available
    desired: np.ndarray  # (R, K, T) t activity wanted
    activity: np.ndarray  # (R, K, T) t activity run
    weighted: np.ndarray  # (K, T) one region's calls on each process, by output weight
    primary: np.ndarray  # (K, T) and by its primary output
    allow: np.ndarray  # (A, T) share of orders that may ship
    xs: np.ndarray  # (A, T) t shipments
    weight: np.ndarray  # (A, T) sourcing weight
    tariff: np.ndarray  # (A, T) ad valorem rate
    wanted: np.ndarray  # (S, T) one region's sector needs, t
    unmet: np.ndarray  # (S, T) t
    worst: np.ndarray  # (S, T) largest unmet share of the sector unit's inputs
    line_units: np.ndarray  # (S, T) units wanted of pairs that are their own lines
    units: np.ndarray  # (S, T) and not built
    value: np.ndarray  # (S, T) and their gross output, USD
    m_target: np.ndarray  # (P, M, T) per market: target stock
    m_stock: np.ndarray  # (P, M, T) stock
    m_short: np.ndarray  # (P, M, T) shortage
    m_demand: np.ndarray  # (P, M, T) final demand
    m_aim: np.ndarray  # (P, M, T) demand multiple aimed at
    m_floor: np.ndarray  # (P, M, T) least price multiple that covers the inputs' cost
    used_in: np.ndarray  # (P, T) one region's use of each stage input
    used_sub: np.ndarray  # (P, T) and its substitutable part
    made: np.ndarray  # (P, T) one region's output of each stage product
    g: np.ndarray  # (T,) demand trend
    inv_g: np.ndarray  # (T,) 1 / g
    inv_restock: np.ndarray  # (T,) 1 / restock months
    inv_lag: np.ndarray  # (T,) 1 / a market lag (months, at least 1)
    inv_span: np.ndarray  # (T,) 1 / (price max multiple - 1), 0 where none
    ahead: np.ndarray  # (T,) trend over the restocking horizon
    expand: np.ndarray  # (T,) background capacity growth
    residual: np.ndarray  # (T,) largest relative residual
    lowest: np.ndarray  # (T,) least shipment (at most 0)
    total: np.ndarray  # (T,) a quota's flows
    scale: np.ndarray  # (T,) a quota's scale; the rerouting lag
    least: np.ndarray  # (T,) a process's least input fill
    used: np.ndarray  # (T,) one region's stage inputs used, in all
    mixed: np.ndarray  # (O, T) and of each tracked origin
    short: np.ndarray  # (T,) one sector's units short this month
    short_usd: np.ndarray  # (T,) and their gross output
    spare_units: np.ndarray  # (T,) units it can catch up this month
    older: np.ndarray  # (T,) backlog units older than a cohort
    caught: np.ndarray  # (T,) units caught up
    caught_usd: np.ndarray  # (T,) and their gross output
    gone: np.ndarray  # (T,) units lost
    gone_usd: np.ndarray  # (T,) and their gross output
    quota: np.ndarray  # (Q, T) t/month left of each quota (Q >= 1: ``work``)
    active: np.ndarray  # (A + 1,) INDEX: the month's arcs that carry orders; [A]: how many


def work(
    n_r: int, n_p: int, n_k: int, n_a: int, n_s: int, n_m: int, n_q: int, n_o: int = 0
) -> Work:
    """Scratch for a chunk, every field its own allocation (``Work`` says the shapes); n_q:
    the most quotas a month has; n_o: the origins tracked. ``month`` allocates nothing: it
    is compiled without reference counts (``compiled``)."""
    per = {"R, P": (n_r, n_p), "R, K": (n_r, n_k), "K": (n_k,), "A": (n_a,), "S": (n_s,),
           "P, M": (n_p, n_m), "P": (n_p,), "Q": (max(1, n_q),), "": (),
           "R, P, O": (n_r, n_p, n_o), "O": (n_o,)}  # fmt: skip
    shapes = [per[_WORK_DIMS[name]] for name in Work._fields[:-1]]
    return Work._make([*(np.empty((*shape, TILE)) for shape in shapes),
                       np.empty(n_a + 1, dtype=INDEX)])  # fmt: skip


# the leading dims of each float field of ``Work`` (before the tile axis T)
_WORK_DIMS = {
    **dict.fromkeys(("stock", "purchase", "release", "target", "final",
                     "orders", "home_need", "fill", "production", "use", "foreign",
                     "imports", "exports", "served", "spare", "kept", "alt", "sea"), "R, P"),
    **dict.fromkeys(("origin_in", "carried"), "R, P, O"),
    **dict.fromkeys(("capacity", "desired", "activity"), "R, K"),
    **dict.fromkeys(("weighted", "primary"), "K"),
    **dict.fromkeys(("allow", "xs", "weight", "tariff"), "A"),
    **dict.fromkeys(("wanted", "unmet", "worst", "line_units", "units", "value"), "S"),
    **dict.fromkeys(("m_target", "m_stock", "m_short", "m_demand", "m_aim", "m_floor"), "P, M"),
    **dict.fromkeys(("used_in", "used_sub", "made"), "P"),
    **dict.fromkeys(("g", "inv_g", "inv_restock", "inv_lag", "inv_span", "ahead", "expand",
                     "residual", "lowest", "total", "scale", "least", "used",
                     "short", "short_usd", "spare_units", "older", "caught", "caught_usd",
                     "gone", "gone_usd"), ""),
    "mixed": "O",
    "quota": "Q",
}  # fmt: skip


class KernelPipeline(CompilerBase):
    """Numba's nopython pipeline with two flags set for ``month``:

    - every array argument no-alias for LLVM: stores to one array can then not change loads
      from another, so the lanes of a tile's loops can be packed into vectors
      (``compile_month`` also turns on LLVM's SLP vectoriser);
    - no reference counts (numba's ``_nrt=False``): the kernel allocates nothing, and the
      increments and decrements numba makes of every array an inlined helper is handed
      (about 2,700 atomic calls per tile and month, some inside lane loops, where they also
      stop vectorising) would cost more than the arithmetic.
    """

    def __init__(self, *args: Any) -> None:  # (typingctx, targetctx, library, args, ...)
        flags = args[5]  # set before the target context is made from them
        flags.noalias, flags.nrt = True, False
        super().__init__(*args)

    def define_pipelines(self) -> list:
        return [DefaultPassBuilder.define_nopython_pipeline(self.state)]


compiled = nb.njit(nogil=True, cache=True, error_model="numpy", pipeline_class=KernelPipeline)
inline = nb.njit(inline="always")  # folded into ``month`` (no calls inside the hot loop)


def compile_month(*args: object) -> None:
    """Compile ``month`` for these arguments, or load it from the cache, before its first
    call. LLVM's SLP vectoriser (off by default in numba: numba#8705) is turned on for this
    compile alone, under numba's compiler lock so that no other compile sees it;
    ``tests/test_kernel.py`` holds the result to the numpy step."""
    signature = tuple(nb.typeof(a) for a in args)
    if signature in month.signatures:
        return
    with global_compiler_lock:
        slp = getattr(numba_config, "SLP_VECTORIZE", 0)
        setattr(numba_config, "SLP_VECTORIZE", 1)  # noqa: B010 (set at numba's import)
        try:
            month.compile(signature)
        finally:
            setattr(numba_config, "SLP_VECTORIZE", slp)  # noqa: B010


@inline
def _div(a: float, b: float, fill: float) -> float:
    """``numeric.safe_div`` of one value."""
    return a / b if b > TINY else fill


@inline
def _at(n: int, b: int) -> int:
    """Row of tile b in an array whose leading axis is 1 (shared) or NT."""
    return b if n > 1 else 0


@compiled
def month(
    topo: Topology,
    fx: Effects,
    state: KState,
    prm: np.ndarray,
    month_id: int,
    out: Out,
    w: Work,
) -> None:
    """Advance every draw of ``state`` by one month in place and record the month in ``out``.

    prm: (NT, len(PARAMETERS), T) per-draw parameters; month_id: absolute month index;
    w: scratch (``work``). No two arguments may share memory (they are compiled no-alias).
    """
    quota = w.quota
    for b in range(state.stock.shape[0]):
        _plan(topo, fx, state, prm[b], month_id, b, w, quota, out.shipments.shape[0] > 0)
        for s in range(topo.stage_prods_ptr.size - 1):
            _run_stage_processes(topo, s, state, b, w)
            _ship(topo, fx, state, s, b, prm[b, HOME], w, quota)
        _check_balance(topo, b, w, state.stock[b], w.release, out)  # before _finish: stock
        _finish(topo, state, b, w, w.release, out)
        _sector_losses(topo, state, b, prm[b], w, out)
        _update_prices(topo, fx, state, b, prm[b], w, out)
        _update_demand(topo, fx, state, b, prm[b], w)
        _update_substitution(topo, state, b, prm[b], w)
        _update_capacity_entry(topo, state, b, prm[b], month_id, w)
        _update_sourcing(topo, fx, state, b, prm[b], w)


@inline
def _plan(
    topo: Topology,
    fx: Effects,
    state: KState,
    prm: np.ndarray,
    month_id: int,
    b: int,
    w: Work,
    quota: np.ndarray,
    ships: bool,
) -> None:
    """``step.step`` steps 1-3: stockpiles, targets, orders, activity wanted, needs,
    allowances; resets the month's sums (and the shipments, where they are recorded)."""
    n_r, n_p = topo.use0.shape
    n_k = topo.recipe_in.shape[0]
    years = (month_id - topo.base_month) / 12.0
    for t in range(TILE):  # ``state.growth``
        w.g[t] = (1.0 + prm[GROWTH, t]) ** years
        w.ahead[t] = (1.0 + prm[GROWTH, t]) ** (prm[RESTOCK, t] / 12.0)
        w.expand[t] = (1.0 + prm[CAP_GROWTH, t]) ** years
        w.inv_g[t] = 1.0 / w.g[t]
        w.inv_restock[t] = 1.0 / prm[RESTOCK, t]
    g, per_restock = w.g, w.inv_restock
    _at_sea(topo, state.at_sea[b], g, w.sea)
    release = fx.release[_at(fx.release.shape[0], b)]
    wanted = fx.purchase[_at(fx.purchase.shape[0], b)]
    reserve = fx.reserve[_at(fx.reserve.shape[0], b)]
    trigger = fx.reserve_cover[_at(fx.reserve_cover.shape[0], b)]
    rate = fx.reserve_rate[_at(fx.reserve_rate.shape[0], b)]
    drawn = state.drawn[b]
    cap_add = fx.capacity[_at(fx.capacity.shape[0], b)]
    stock0, origin, mult = state.stock[b], state.origin[b], state.demand_mult[b]
    entered = state.entered[b]
    capacity, desired, activity = w.capacity, w.desired, w.activity
    for r in range(n_r):
        for p in range(n_p):
            for t in range(TILE):
                s0 = stock0[r, p, t]
                fixed = s0 + release[r, p, t]  # ``step.reserve_release``
                want = trigger[r, p, t] * topo.use0[r, p] * g[t] - fixed
                rule = min(min(rate[r, p, t], reserve[r, p, t] - drawn[r, p, t]), want)
                rule = max(rule, 0.0)
                drawn[r, p, t] += rule
                released = release[r, p, t] + rule
                w.release[r, p, t] = released
                bought = min(max(s0 + released, 0.0), wanted[r, p, t])
                w.purchase[r, p, t] = bought
                stock = s0 + released - bought
                w.stock[r, p, t] = stock
                target = topo.cover_months[r, p] * prm[COVER, t] * topo.use0[r, p] * g[t]
                w.target[r, p, t] = target
                gap = _gap(w, r, p, t)
                w.final[r, p, t] = topo.final0[r, p] * (g[t] * mult[r, p, t])
                order = topo.imports0[r, p] * g[t] + topo.import_share[r, p] * gap * per_restock[t]
                w.orders[r, p, t] = max(order, 0.0)
                w.fill[r, p, t] = 1.0
                w.production[r, p, t] = 0.0
                w.use[r, p, t] = 0.0
                w.foreign[r, p, t] = 0.0
                w.imports[r, p, t] = 0.0
                w.exports[r, p, t] = 0.0
            for o in range(origin.shape[2]):  # no origins tracked: no bookkeeping
                for t in range(TILE):
                    w.origin_in[r, p, o, t] = origin[r, p, o, t] * w.stock[r, p, t]
        for k in range(n_k):
            for t in range(TILE):
                cap = topo.capacity0[r, k] * w.expand[t] + fx.added[r, k] + cap_add[r, k, t]
                capacity[r, k, t] = cap + entered[k, t] * topo.entry_weight[r, k]
                activity[r, k, t] = 0.0
    _desired_activity(topo, state.pull[b], capacity, desired, w)
    need_in, need_sub = w.spare, w.kept  # scratch until sourcing
    _uses(topo.in_product, topo.in_process, topo.in_value, desired, need_in)
    _uses(topo.sub_product, topo.sub_process, topo.sub_value, desired, need_sub)
    subst = state.subst[b]
    for r in range(n_r):
        for p in range(n_p):
            for t in range(TILE):
                need = need_in[r, p, t] - need_sub[r, p, t] * subst[r, p, t]
                w.home_need[r, p, t] = need + w.final[r, p, t]
    _allowances(topo, fx, origin, b, w.allow, w.spare)  # spare: scratch until sourcing
    caps = fx.quota_cap[_at(fx.quota_cap.shape[0], b)]
    for q in range(fx.quota_mask.shape[0]):
        for t in range(TILE):
            quota[q, t] = caps[q, t]
    if ships:  # recorded shipments: arcs that carry no orders ship exactly 0
        w.xs[:, :] = 0.0
    w.active[-1] = 0
    w.lowest[:] = 0.0
    if fx.taxed:
        _lanes(fx.tariff, b, False, w.tariff)


@inline
def _uses(
    product: np.ndarray, process: np.ndarray, value: np.ndarray, act: np.ndarray, out: np.ndarray
) -> None:
    """(R, P, T) ``act @ recipe`` from the recipe's nonzeros (a recipe has a few dozen)."""
    out[:, :, :] = 0.0
    for r in range(act.shape[0]):
        for n in range(product.size):
            for t in range(TILE):
                out[r, product[n], t] += act[r, process[n], t] * value[n]


@inline
def _gap(w: Work, r: int, p: int, t: int) -> float:
    """t the stock falls short of its target ``restock`` months ahead (the plan's ``gap``),
    recomputed where it is read rather than kept in an array of its own."""
    return w.target[r, p, t] * w.ahead[t] - w.stock[r, p, t] + w.sea[r, p, t]


@inline
def _desired_activity(
    topo: Topology,
    pull: np.ndarray,
    capacity: np.ndarray,
    desired: np.ndarray,
    w: Work,
) -> None:
    """``step.desired_activity``: (R, K, T) activity wanted, written to ``desired``. Its
    divisions are products of reciprocals (a vector division costs as much as a dozen
    multiplications); they round differently from the numpy step's in the last bit."""
    n_r, n_k = capacity.shape[0], capacity.shape[1]
    weighted, primary = w.weighted, w.primary
    g, per_g, per_restock = w.g, w.inv_g, w.inv_restock
    for r in range(n_r):
        weighted[:, :] = 0.0
        primary[:, :] = 0.0
        for o in range(topo.out_process.size):
            k, p = topo.out_process[o], topo.out_product[o]
            made0, act0 = topo.production0[r, p], topo.activity0[r, k]
            per_made0, per_yield = topo.inv_production0[r, p], topo.inv_out_yield[o]
            for t in range(TILE):
                respond = pull[r, p, t] + _gap(w, r, p, t) * per_restock[t]
                if made0 > 0:
                    ratio = respond * (per_made0 * per_g[t]) if made0 * g[t] > TINY else 0.0
                    call = act0 * g[t] * (1.0 + ratio)
                else:
                    call = respond * per_yield
                call = max(call, 0.0)
                weighted[k, t] += call * topo.out_weight[o]
                primary[k, t] += call * topo.out_primary[o]
        for k in range(n_k):
            for t in range(TILE):
                if topo.has_outputs[k]:
                    want = max(weighted[k, t], primary[k, t])
                else:
                    want = topo.activity0[r, k] * g[t]
                desired[r, k, t] = min(max(want, 0.0), capacity[r, k, t])


@inline
def _lanes(terms: CellTerms, b: int, multiply: bool, lanes: np.ndarray) -> None:
    """(A, T) lanes of tile b: the base, then each term in order (as ``CellField.dense``)."""
    for a in range(lanes.shape[0]):
        for t in range(TILE):
            lanes[a, t] = terms.base[a]
    _terms(terms, b, multiply, lanes)


@inline
def _terms(terms: CellTerms, b: int, multiply: bool, lanes: np.ndarray) -> None:
    """Each term of tile b in order, on lanes that hold the base."""
    col, on = terms.col[_at(terms.col.shape[0], b)], terms.on[_at(terms.on.shape[0], b)]
    for m in range(terms.ptr.size - 1):
        for j in range(terms.ptr[m], terms.ptr[m + 1]):
            a, row = terms.idx[j], terms.row[j]
            for t in range(TILE):
                x = col[m, t] * row
                x = lanes[a, t] * x if multiply else lanes[a, t] + x
                lanes[a, t] = x if on[m, t] else lanes[a, t]


@inline
def _allowances(
    topo: Topology,
    fx: Effects,
    origin: np.ndarray,
    b: int,
    allow: np.ndarray,
    node_factor: np.ndarray,
) -> None:
    """``step.effective_allow`` of one tile: (A, T) allowances, content rules applied.
    A rule covers an arc by its exporter's origin share, so its factor is found once per
    node (``node_factor``: (R, P, T) scratch) and each arc it may cover reads its own.
    The first rule's factor is taken in the base pass on the arcs no term covers
    (``Effects.rule_lead``: the order of multiplications is unchanged there); it, and
    every other rule, then multiplies its listed arcs."""
    factors = fx.rule_factor[_at(fx.rule_factor.shape[0], b)]
    if fx.rule_content.shape[0]:
        _node_factors(topo, fx, 0, origin, factors, node_factor)
        lead, base = fx.rule_lead, fx.allow.base
        for a in range(allow.shape[0]):
            p, e = topo.arc_product[a], topo.arc_exporter[a]
            for t in range(TILE):  # a select, not a branch: x * 1.0 is x
                allow[a, t] = base[a] * (node_factor[e, p, t] if lead[a] else 1.0)
        _terms(fx.allow, b, True, allow)
    else:
        _lanes(fx.allow, b, True, allow)
    for j in range(fx.rule_content.shape[0]):
        if j:
            _node_factors(topo, fx, j, origin, factors, node_factor)
        for n in range(fx.rule_ptr[j], fx.rule_ptr[j + 1]):
            a = fx.rule_arcs[n]
            p, e = topo.arc_product[a], topo.arc_exporter[a]
            for t in range(TILE):
                allow[a, t] *= node_factor[e, p, t]  # exact: x * 1.0 is x


@inline
def _node_factors(
    topo: Topology,
    fx: Effects,
    j: int,
    origin: np.ndarray,
    factors: np.ndarray,
    node_factor: np.ndarray,
) -> None:
    """Rule j's factor on each exporter's product (R, P, T): 1 where it covers nothing. The
    rule reads the exporter's share of its origins together (``step.origin_share``: their
    exclusive shares added in the tracked order), summed in ``node_factor`` first."""
    content, threshold, reads = fx.rule_content[j], fx.rule_threshold[j], fx.rule_origins[j]
    for e in range(origin.shape[0]):
        for p in range(origin.shape[1]):
            for t in range(TILE):
                node_factor[e, p, t] = 0.0
            for o in range(origin.shape[2]):
                if reads[topo.tracked[o]]:
                    for t in range(TILE):
                        node_factor[e, p, t] += origin[e, p, o, t]
            for t in range(TILE):
                covered = content[p] * node_factor[e, p, t] >= threshold
                node_factor[e, p, t] = factors[j, t] if covered else 1.0


@inline
def _run_stage_processes(topo: Topology, s: int, state: KState, b: int, w: Work) -> None:
    """``step.run_stage_processes`` and its bookkeeping (use, production, stock, origin),
    from each process's nonzero recipe entries (``Topology.proc_in_ptr``)."""
    procs = topo.stage_procs[topo.stage_procs_ptr[s] : topo.stage_procs_ptr[s + 1]]
    if not procs.size:
        return
    ins = topo.stage_ins[topo.stage_ins_ptr[s] : topo.stage_ins_ptr[s + 1]]
    prods = topo.stage_prods[topo.stage_prods_ptr[s] : topo.stage_prods_ptr[s + 1]]
    desired, activity = w.desired, w.activity
    subst, origin = state.subst[b], state.origin[b]
    used_in, used_sub, made = w.used_in, w.used_sub, w.made  # (P, T), by product
    least, total = w.least, w.used
    for r in range(desired.shape[0]):
        for p in ins:
            used_in[p, :] = 0.0
            used_sub[p, :] = 0.0
        for p in prods:
            made[p, :] = 0.0
        for k in procs:
            least[:] = 1.0
            lo, hi = topo.proc_in_ptr[k], topo.proc_in_ptr[k + 1]
            for n in range(lo, hi):
                p = topo.proc_in_product[n]
                for t in range(TILE):
                    least[t] = min(least[t], w.fill[r, p, t])
            for t in range(TILE):
                act = desired[r, k, t] * least[t] if ins.size else desired[r, k, t]
                activity[r, k, t] = act
            for n in range(lo, hi):
                p, rin, rsub = topo.proc_in_product[n], topo.proc_in_value[n], topo.proc_in_sub[n]
                for t in range(TILE):
                    used_in[p, t] += activity[r, k, t] * rin
                    used_sub[p, t] += activity[r, k, t] * rsub
            for n in range(topo.proc_out_ptr[k], topo.proc_out_ptr[k + 1]):
                p, rout = topo.proc_out_product[n], topo.proc_out_value[n]
                for t in range(TILE):
                    made[p, t] += activity[r, k, t] * rout
        total[:] = 0.0
        for p in ins:
            for t in range(TILE):
                used = used_in[p, t] - used_sub[p, t] * subst[r, p, t]
                used_in[p, t] = used  # kept for the origins below
                w.use[r, p, t] += used
                w.stock[r, p, t] -= used
                total[t] += used
        for p in prods:
            for t in range(TILE):
                w.production[r, p, t] += made[p, t]
                w.stock[r, p, t] += made[p, t]
        _production_origin(topo, r, ins, prods, origin, w)


@inline
def _production_origin(
    topo: Topology, r: int, ins: np.ndarray, prods: np.ndarray, origin: np.ndarray, w: Work
) -> None:
    """``step._production_origin``: region r's output of the stage takes its own origin where
    r is tracked, else its inputs' origins by mass (``w.used_in``: the inputs used)."""
    own, mixed, total = topo.origin_of[r], w.mixed, w.used
    for o in range(origin.shape[2]):
        if own >= 0:  # a tracked region: its own origin, whatever its inputs'
            for t in range(TILE):
                mixed[o, t] = 1.0 if o == own else 0.0
        else:
            for t in range(TILE):
                mixed[o, t] = 0.0
            for p in ins:
                for t in range(TILE):
                    mixed[o, t] += w.used_in[p, t] * origin[r, p, o, t]
            for t in range(TILE):
                mixed[o, t] = _div(mixed[o, t], total[t], 0.0)
        for p in prods:
            for t in range(TILE):
                w.origin_in[r, p, o, t] += w.made[p, t] * mixed[o, t]


@inline
def _ship(
    topo: Topology,
    fx: Effects,
    state: KState,
    s: int,
    b: int,
    h: np.ndarray,
    w: Work,
    quota: np.ndarray,
) -> None:
    """``step.ship``, quotas, imports and exports, fills and final use of stage ``s``.

    Only arcs with a sourcing share in some draw of the tile carry orders; the rest ship
    exactly 0 and are skipped (most arcs of untouched products keep a baseline share of 0).
    They are listed without a branch (``w.active``): whether an arc carries follows no
    pattern a branch predictor could learn.
    """
    prods = topo.stage_prods[topo.stage_prods_ptr[s] : topo.stage_prods_ptr[s + 1]]
    allow, xs, active = w.allow, w.xs, w.active
    share, origin, carries = state.share[b], state.origin[b], state.carries[b]
    n_r = w.stock.shape[0]
    first_active = n = active[-1]  # the stage's arcs follow the earlier stages'
    for p in prods:
        for a in range(topo.product_arcs_ptr[p], topo.product_arcs_ptr[p + 1]):
            active[n] = a
            n += INDEX(carries[a])
    active[-1] = n
    for j in range(first_active, n):
        a = active[j]
        i, e, p = topo.arc_importer[a], topo.arc_exporter[a], topo.arc_product[a]
        for t in range(TILE):
            wanted = w.orders[i, p, t] * share[a, t]
            wanted *= allow[a, t]
            xs[a, t] = wanted
            w.foreign[e, p, t] += wanted
    for r in range(n_r):
        for p in prods:
            for t in range(TILE):
                stock, need = w.stock[r, p, t], w.home_need[r, p, t]
                first = min(stock, h[t] * need)
                rest = (1.0 - h[t]) * need + w.foreign[r, p, t]
                w.served[r, p, t] = min(_div(stock - first, rest, 0.0), 1.0)
    carried = w.carried
    for r in range(n_r):
        for p in prods:
            carried[r, p, :, :] = 0.0
    at_sea = state.at_sea[b]
    for p in prods:  # arcs that carry no orders this month: only what was at sea arrives
        for a in range(topo.product_arcs_ptr[p], topo.product_arcs_ptr[p + 1]):
            if not carries[a]:
                _ashore(topo, a, origin, at_sea, w)
    quotas = fx.quota_mask.shape[0]
    for j in range(first_active, n):  # served, and booked at once unless quotas scale it
        a = active[j]
        e, p = topo.arc_exporter[a], topo.arc_product[a]
        for t in range(TILE):
            xs[a, t] *= w.served[e, p, t]
        if not quotas:
            _book(topo, a, xs, origin, at_sea, w)
    for q in range(quotas):
        _apply_quotas(fx.quota_mask[q], active[first_active:n], xs, quota[q], w)
    for j in range(first_active, n if quotas else first_active):
        _book(topo, active[j], xs, origin, at_sea, w)
    for r in range(n_r):
        for p in prods:
            for o in range(origin.shape[2]):
                for t in range(TILE):
                    w.origin_in[r, p, o, t] += carried[r, p, o, t]
            for t in range(TILE):
                stock = w.stock[r, p, t] + (w.imports[r, p, t] - w.exports[r, p, t])
                fill = min(max(_div(stock, w.home_need[r, p, t], 1.0), 0.0), 1.0)
                w.fill[r, p, t] = fill
                w.stock[r, p, t] = stock - w.final[r, p, t] * fill


@inline
def _book(
    topo: Topology, a: int, xs: np.ndarray, origin: np.ndarray, at_sea: np.ndarray, w: Work
) -> None:
    """Arc a's shipments into its exporter's exports and the least shipment (``w.lowest``,
    checked), and its arrivals (``_arrive``)."""
    e, p = topo.arc_exporter[a], topo.arc_product[a]
    for t in range(TILE):
        w.exports[e, p, t] += xs[a, t]
        w.lowest[t] = min(w.lowest[t], xs[a, t])
    _arrive(topo, a, xs, origin, at_sea, w)


@inline
def _arrive(
    topo: Topology, a: int, xs: np.ndarray, origin: np.ndarray, at_sea: np.ndarray, w: Work
) -> None:
    """``step.arrivals`` on arc a: what was at sea and the share ``1 - transit`` of this
    month's shipments arrive; the rest goes to sea."""
    stays = topo.transit[a]
    for t in range(TILE):
        w.used[t] = at_sea[a, t] + (1.0 - stays) * xs[a, t]  # scratch until the next stage
        at_sea[a, t] = stays * xs[a, t]
    _land(topo, a, origin, w)


@inline
def _ashore(topo: Topology, a: int, origin: np.ndarray, at_sea: np.ndarray, w: Work) -> None:
    """Arrivals on arc a in a month it ships nothing (its ``xs`` is not written): what was
    at sea."""
    for t in range(TILE):
        w.used[t] = at_sea[a, t]
        at_sea[a, t] = 0.0
    _land(topo, a, origin, w)


@inline
def _land(topo: Topology, a: int, origin: np.ndarray, w: Work) -> None:
    """Arc a's arrivals (``w.used``) into its importer's imports, with the tracked origins
    they carry (``w.carried``: the exporter's shares)."""
    p, e, i = topo.arc_product[a], topo.arc_exporter[a], topo.arc_importer[a]
    for t in range(TILE):
        w.imports[i, p, t] += w.used[t]
    for o in range(origin.shape[2]):
        for t in range(TILE):
            w.carried[i, p, o, t] += w.used[t] * origin[e, p, o, t]


@inline
def _at_sea(topo: Topology, at_sea: np.ndarray, g: np.ndarray, sea: np.ndarray) -> None:
    """(R, P, T) t at sea to each region short of its baseline's (``step.step``'s part of
    the gap): ``at_sea0 x g`` less the arcs' tonnes at sea (at_sea: (A, T))."""
    n_r, n_p = topo.at_sea0.shape
    for r in range(n_r):
        for p in range(n_p):
            for t in range(TILE):
                sea[r, p, t] = topo.at_sea0[r, p] * g[t]
    for a in range(at_sea.shape[0]):
        i, p = topo.arc_importer[a], topo.arc_product[a]
        for t in range(TILE):
            sea[i, p, t] -= at_sea[a, t]


@inline
def _apply_quotas(
    mask: np.ndarray, arcs: np.ndarray, xs: np.ndarray, left: np.ndarray, w: Work
) -> None:
    """``step.apply_quotas`` for one quota: scale its flows among ``arcs`` pro rata to what
    is left of it (in place)."""
    total, scale = w.total, w.scale
    total[:] = 0.0
    hit = False
    for a in arcs:
        if mask[a]:
            hit = True
            for t in range(TILE):
                total[t] += xs[a, t]
    if not hit:
        return
    for t in range(TILE):
        scale[t] = min(_div(left[t], total[t], 1.0), 1.0)
    for a in arcs:
        if mask[a]:
            for t in range(TILE):
                xs[a, t] *= scale[t]
    for t in range(TILE):
        left[t] -= total[t] * scale[t]


@inline
def _finish(topo: Topology, state: KState, b: int, w: Work, release: np.ndarray, out: Out) -> None:
    """End of ``step.step``: origin shares, pull, stocks and the recorded outputs."""
    n_r, n_p = topo.use0.shape
    n_d = out.residual.size
    g = w.g
    origin, pull, stock = state.origin[b], state.pull[b], state.stock[b]
    for r in range(n_r):
        for p in range(n_p):
            for t in range(TILE):
                net = w.home_need[r, p, t] + w.foreign[r, p, t] - w.imports[r, p, t]
                pull[r, p, t] = net - topo.net_pull0[r, p] * g[t]
            for o in range(origin.shape[2]):
                for t in range(TILE):
                    inflow = stock[r, p, t] + release[r, p, t]  # stock: still the start's
                    inflow = inflow + w.production[r, p, t] + w.imports[r, p, t]
                    share = _div(w.origin_in[r, p, o, t], inflow - w.purchase[r, p, t], 0.0)
                    origin[r, p, o, t] = min(max(share, 0.0), 1.0)
            for t in range(TILE):
                stock[r, p, t] = w.stock[r, p, t]
    for t in range(min(TILE, n_d - b * TILE)):
        d = b * TILE + t
        _record(out.production, d, w.production, t)
        _record(out.inventory, d, w.stock, t)
        if out.in_transit.shape[0]:
            out.in_transit[d, :, :] = 0.0
            for a in range(state.at_sea.shape[1]):
                i, p = topo.arc_importer[a], topo.arc_product[a]
                out.in_transit[d, i, p] += state.at_sea[b, a, t]
        _record(out.demand, d, w.final, t)
        if out.shortage.shape[0]:
            for r in range(n_r):
                for p in range(n_p):
                    out.shortage[d, r, p] = _shortage(w, r, p, t)
        _record(out.shipments, d, w.xs, t)


@inline
def _shortage(w: Work, r: int, p: int, t: int) -> float:
    """t of final use not delivered (the numpy step's ``shortage``)."""
    final = w.final[r, p, t]
    return final - final * w.fill[r, p, t]


@inline
def _record(dst: np.ndarray, d: int, src: np.ndarray, t: int) -> None:
    """Lane t of ``src`` (..., T) into draw d of ``dst`` (D, ...); an empty ``dst`` (0, ...) is
    an output not recorded."""
    if not dst.shape[0]:
        return
    flat_dst, flat_src = dst[d].reshape(-1), src.reshape(-1, TILE)
    for n in range(flat_dst.size):
        flat_dst[n] = flat_src[n, t]


@inline
def _sector_losses(
    topo: Topology, state: KState, b: int, prm: np.ndarray, w: Work, out: Out
) -> None:
    """``step.sector_losses`` of one tile: units short (the scarcest input of a sector's unit
    decides; own lines add up), then ``_settle`` the backlog; written to ``out``."""
    mult = state.demand_mult[b]
    n_r, n_s = topo.unit_pair.shape
    n_d = out.residual.size
    fill, g = w.fill, w.g
    wanted, unmet, worst = w.wanted, w.unmet, w.worst
    line_units, line_short, line_usd = w.line_units, w.units, w.value
    for r in range(n_r):
        for x in (wanted, unmet, worst, line_units, line_short, line_usd):
            x[:, :] = 0.0
        for q in range(topo.pair_product.size):
            p, s = topo.pair_product[q], topo.pair_sector[q]
            gate, line = topo.pair_gate[r, q], topo.pair_line[q]
            for t in range(TILE):
                scale = g[t] * mult[r, p, t]
                gap = 1.0 - fill[r, p, t]
                gap = gap if gap > UNMET_FLOOR else 0.0
                lost = gap * scale
                wanted[s, t] += scale * topo.pair_demand[r, q]
                unmet[s, t] += lost * topo.pair_demand[r, q]
                worst[s, t] = max(worst[s, t], gap * gate)
                own = scale * topo.pair_units[r, q] * line
                line_units[s, t] += own
                line_short[s, t] += gap * own
                line_usd[s, t] += lost * topo.pair_value[r, q] * line
        for s in range(n_s):
            p = topo.pair_product[topo.unit_pair[r, s]] if topo.pair_product.size else 0
            for t in range(TILE):
                unit_wanted = g[t] * mult[r, p, t] * topo.unit_units[r, s]
                units_wanted = unit_wanted + line_units[s, t]
                short = unit_wanted * worst[s, t] + line_short[s, t]
                w.short[t] = short
                w.short_usd[t] = unit_wanted * worst[s, t] * topo.unit_usd[r, s] + line_usd[s, t]
                w.spare_units[t] = prm[CATCH_RATE, t] * max(units_wanted - short, 0.0)
            _settle(state, b, r, s, prm[CATCH_MONTHS], w)
            va = topo.value_added_share[r, s]
            for t in range(min(TILE, n_d - b * TILE)):
                d = b * TILE + t
                out.shortage_share[d, r, s] = min(_div(unmet[s, t], wanted[s, t], 0.0), 1.0)
                out.units_not_built[d, r, s] = w.short[t]
                out.units_deferred[d, r, s] = w.caught[t]
                out.units_lost[d, r, s] = w.gone[t]
                out.value_lost[d, r, s] = w.gone_usd[t] * va
                out.value_deferred[d, r, s] = w.caught_usd[t] * va
                out.gross_output_lost[d, r, s] = w.gone_usd[t]


@inline
def _settle(state: KState, b: int, r: int, s: int, window: np.ndarray, w: Work) -> None:
    """``step.settle`` of one region and sector, a tile's lanes side by side: catch up oldest
    first with ``w.spare_units``, expire what is ``window`` (T,) months old, age the rest,
    add ``w.short``; writes ``w.caught``, ``w.gone`` and their gross output."""
    units, usd = state.backlog_units[b, r, s], state.backlog_usd[b, r, s]  # (W, T)
    n_ages = units.shape[0]
    older, caught, caught_usd = w.older, w.caught, w.caught_usd
    gone, gone_usd = w.gone, w.gone_usd
    for t in range(TILE):
        older[t], caught[t], caught_usd[t], gone[t], gone_usd[t] = 0.0, 0.0, 0.0, 0.0, 0.0
    for a in range(n_ages - 1, -1, -1):  # oldest first: what older cohorts leave of spare
        for t in range(TILE):
            held = units[a, t]
            take = min(max(w.spare_units[t] - older[t], 0.0), held)
            older[t] += held
            taken_usd = usd[a, t] * _div(take, held, 0.0)
            caught[t] += take
            caught_usd[t] += taken_usd
            units[a, t] = held - take
            usd[a, t] -= taken_usd
    for a in range(n_ages):
        for t in range(TILE):
            expired = a + 1.0 >= window[t]
            gone[t] += units[a, t] if expired else 0.0
            gone_usd[t] += usd[a, t] if expired else 0.0
            units[a, t] = 0.0 if expired else units[a, t]
            usd[a, t] = 0.0 if expired else usd[a, t]
    for a in range(n_ages - 1, 0, -1):
        for t in range(TILE):
            units[a, t] = units[a - 1, t]
            usd[a, t] = usd[a - 1, t]
    for t in range(TILE):
        keep = window[t] > 0.0
        units[0, t] = w.short[t] if keep else 0.0
        usd[0, t] = w.short_usd[t] if keep else 0.0
        gone[t] += 0.0 if keep else w.short[t]
        gone_usd[t] += 0.0 if keep else w.short_usd[t]


@inline
def _flag(row: np.ndarray, code: int, r: int, p: int, value: float) -> None:
    if row[0] == 0:  # keep the first
        row[0], row[1], row[2], row[3] = code, r, p, value


@inline
def _balance(w: Work, start: np.ndarray, release: np.ndarray, r: int, p: int, t: int) -> tuple:
    """Node (r, p) of lane t: its relative residual, the least a checked quantity may be
    (value / scale < -TOLERANCE, without dividing), and the quantities ``NODE_CHECKS`` names."""
    delivered = w.final[r, p, t] * w.fill[r, p, t]
    inflow = start[r, p, t] + w.production[r, p, t]
    inflow = inflow + w.imports[r, p, t] + release[r, p, t]
    outflow = w.use[r, p, t] + delivered + w.exports[r, p, t]
    outflow = outflow + w.purchase[r, p, t]
    scale = max(inflow, SCALE_FLOOR)
    rel = abs(w.stock[r, p, t] - (inflow - outflow)) / scale
    values = (w.stock[r, p, t], w.production[r, p, t], w.use[r, p, t],
              delivered, release[r, p, t], w.purchase[r, p, t])  # fmt: skip
    return rel, -TOLERANCE * scale, values


@inline
def _check_balance(
    topo: Topology, b: int, w: Work, start: np.ndarray, release: np.ndarray, out: Out
) -> None:
    """``balance.check_balance`` of the tile's real draws: each one's largest relative
    residual (NaN if any) and its first broken check (code, region, product, value).
    The lanes are checked side by side; a node or arc that fails is looked at again lane
    by lane to flag it (rare: a broken balance stops the run). start: (R, P, T) t stock
    at the start of the month; release: (R, P, T) t stockpile releases."""
    worst = w.residual
    n_r, n_p = topo.use0.shape
    real = min(TILE, out.residual.size - b * TILE)
    worst[:] = 0.0
    for t in range(real):
        out.check[b * TILE + t, :] = 0.0
    for r in range(n_r):
        for p in range(n_p):
            ok = True
            for t in range(TILE):
                rel, low, values = _balance(w, start, release, r, p, t)
                worst[t] = rel if rel > worst[t] else worst[t]
                ok &= rel <= TOLERANCE and min(values) >= low
            if not ok:
                _flag_node(b, r, p, real, w, start, release, out)
    least = 0.0
    for t in range(TILE):  # booked arcs' least (``_book``); the others shipped exactly 0
        least = min(least, w.lowest[t])
    if least < -TOLERANCE:
        _flag_shipments(topo, b, real, w, out)
    for t in range(real):
        out.residual[b * TILE + t] = worst[t]


@inline
def _flag_node(
    b: int,
    r: int,
    p: int,
    real: int,
    w: Work,
    start: np.ndarray,
    release: np.ndarray,
    out: Out,
) -> None:
    """Flag the broken checks of node (r, p) in each real lane; a NaN residual sticks."""
    for t in range(real):
        rel, low, values = _balance(w, start, release, r, p, t)
        flags = out.check[b * TILE + t]
        if not rel <= TOLERANCE:  # too large, or NaN
            _flag(flags, RESIDUAL, r, p, rel)
            if rel != rel:
                w.residual[t] = rel  # NaN sticks: max() would drop it
        for n in range(len(values)):
            if values[n] < low:
                _flag(flags, 3 + n, r, p, values[n])


@inline
def _flag_shipments(topo: Topology, b: int, real: int, w: Work, out: Out) -> None:
    for j in range(w.active[-1]):
        a = w.active[j]
        for t in range(real):
            if w.xs[a, t] < -TOLERANCE:
                flags = out.check[b * TILE + t]
                e, p = topo.arc_exporter[a], topo.arc_product[a]
                _flag(flags, NEGATIVE_SHIPMENTS, e, p, w.xs[a, t])


@inline
def _update_prices(
    topo: Topology, fx: Effects, state: KState, b: int, prm: np.ndarray, w: Work, out: Out
) -> None:
    """``market.update_prices``: tightness per market moves prices towards target."""
    n_r, n_p = topo.use0.shape
    target, stock, short, demand = w.m_target, w.m_stock, w.m_short, w.m_demand
    for x in (target, stock, short, demand):
        x[:, :, :] = 0.0
    for r in range(n_r):
        m = topo.market_of[r]
        for p in range(n_p):
            for t in range(TILE):
                target[p, m, t] += w.target[r, p, t]
                stock[p, m, t] += w.stock[r, p, t]
                short[p, m, t] += _shortage(w, r, p, t)
                demand[p, m, t] += w.final[r, p, t]
    n_m = target.shape[1]
    if topo.china >= 0:  # the state reserve takes China's surplus up to its share of target
        for p in range(n_p):
            for t in range(TILE):
                held, aim_stock = stock[p, 0, t], target[p, 0, t]
                bought = min(max(held - aim_stock, 0.0), prm[RESERVE, t] * aim_stock)
                stock[p, 0, t] = held - bought
    floor = fx.floor[_at(fx.floor.shape[0], b)]
    cap = fx.cap[_at(fx.cap.shape[0], b)]
    price, per_lag = state.price[b], w.inv_lag
    for t in range(TILE):
        per_lag[t] = 1.0 / max(prm[PRICE_LAG, t], 1.0)
    costs = _cost_floor(topo, price, w.m_floor)  # from this month's prices, before any moves
    for p in range(n_p):
        for m in range(n_m):
            base = topo.price0[p, m]
            for t in range(TILE):
                gap = _div(target[p, m, t] - stock[p, m, t], target[p, m, t], 0.0)
                tight = min(max(gap, -1.0), 1.0) + _div(short[p, m, t], demand[p, m, t], 0.0)
                thin = 1.0  # China's domestic market is deep; ex-China thinness is capped
                if m == n_m - 1:
                    ratio = min(topo.log_thinness[p], np.log(prm[THIN_MAX, t]))
                    thin = np.exp(prm[THIN, t] * ratio)
                aim = base * max(_scarcity_multiple(tight, prm[SENS, t], prm[SCARCITY, t], thin,
                                                    prm[CHOKE, t]), costs[p, m, t])  # fmt: skip
                moved = price[p, m, t] + (aim - price[p, m, t]) * per_lag[t]
                moved = min(max(moved, base * prm[PMIN, t]), base * prm[PMAX, t])
                price[p, m, t] = max(min(moved, cap[p, m, t]), floor[p, m, t])
    for t in range(min(TILE, out.residual.size - b * TILE)):
        _record(out.price, b * TILE + t, price, t)


@inline
def _cost_floor(topo: Topology, price: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``market.cost_floor`` of a tile into ``out`` (P, M, T): 0 where no floor applies."""
    out[:, :, :] = 0.0
    n_p, n_m = topo.price0.shape
    for f in range(topo.cost_product.size):
        o = topo.cost_product[f]
        for m in range(n_m):
            own = topo.price0[o, m]
            for t in range(TILE):
                extra = 0.0
                for i in range(n_p):
                    per = topo.cost_inputs[f, i]
                    if per != 0.0:
                        extra += per * (price[i, m, t] - topo.price0[i, m])
                out[o, m, t] = 1.0 + (extra / own if own > 0 else 0.0)
    return out


@inline
def _scarcity_multiple(
    tight: float, sens: float, exponent: float, thin: float, choke: float
) -> float:
    """``market.scarcity_multiple`` of one value."""
    if tight > 0.0:
        return (1.0 - min(tight, choke)) ** -(exponent * thin)
    return 1.0 + sens * tight


@inline
def _market_multiple(topo: Topology, price: float, p: int, m: int) -> float:
    """``market.market_multiple``: market price / base price (1 where unpriced)."""
    base = topo.price0[p, m]
    return _div(price, base, 0.0) if base > 0 else 1.0


@inline
def _update_demand(
    topo: Topology, fx: Effects, state: KState, b: int, prm: np.ndarray, w: Work
) -> None:
    """``market.update_demand``: final demand follows the landed price (tariffs included).
    Products no region finally demands are skipped: their multiple is never read (final
    use is final0 x trend x multiple, and they are in no sector's pairs)."""
    n_r, n_p = topo.use0.shape
    tariff = w.tariff
    share = state.share[b]
    levied = w.spare  # scratch: mean tariff on each importer's orders
    levied[:, :, :] = 0.0
    for a in range(tariff.shape[0] if fx.taxed else 0):
        i, p = topo.arc_importer[a], topo.arc_product[a]
        for t in range(TILE):
            if tariff[a, t] != 0.0:
                levied[i, p, t] += tariff[a, t] * share[a, t]
    mult, price, per_lag = state.demand_mult[b], state.price[b], w.inv_lag
    short, long_, per_long = state.demand_short[b], state.demand_long[b], w.inv_span
    for t in range(TILE):
        per_lag[t] = 1.0 / max(prm[DEMAND_LAG, t], 1.0)
        per_long[t] = 1.0 / max(prm[DEMAND_LONG_LAG, t], 1.0)
    aims, aims_long = w.m_aim, w.m_stock  # the same multiple in a market without tariffs
    for p in range(n_p):
        for m in range(aims.shape[1] if topo.demanded[p] else 0):
            for t in range(TILE):
                rel = max(_market_multiple(topo, price[p, m, t], p, m), 1e-9)
                aims[p, m, t] = rel ** -prm[ELAST, t]
                aims_long[p, m, t] = rel ** -prm[ELAST_LONG, t]
    for r in range(n_r):
        m = topo.market_of[r]
        for p in range(n_p):
            if not topo.demanded[p]:
                continue
            for t in range(TILE):
                aim, aim_long = aims[p, m, t], aims_long[p, m, t]
                if fx.taxed and levied[r, p, t] != 0.0:
                    rel = _market_multiple(topo, price[p, m, t], p, m)
                    rel = max(rel * (1.0 + topo.import_share[r, p] * levied[r, p, t]), 1e-9)
                    aim = rel ** -prm[ELAST, t]
                    aim_long = rel ** -prm[ELAST_LONG, t]
                short[r, p, t] = short[r, p, t] + (aim - short[r, p, t]) * per_lag[t]
                long_[r, p, t] = long_[r, p, t] + (aim_long - long_[r, p, t]) * per_long[t]
                mult[r, p, t] = short[r, p, t] * long_[r, p, t]


@inline
def _update_substitution(topo: Topology, state: KState, b: int, prm: np.ndarray, w: Work) -> None:
    """``market.update_substitution``: magnets do without Dy/Tb as their prices rise."""
    n_r, n_p = topo.use0.shape
    subst, price = state.subst[b], state.price[b]
    per_lag, per_span = w.inv_lag, w.inv_span
    for t in range(TILE):
        per_lag[t] = 1.0 / max(prm[SUBST_LAG, t], 1.0)
        span = prm[SUBST_FULL, t] - 1.0
        per_span[t] = 1.0 / span if span > TINY else 0.0
    for p in range(n_p):
        for r in range(n_r):
            m = topo.market_of[r]
            for t in range(TILE):
                aim = 0.0
                if topo.substitutable[p]:
                    rel = _market_multiple(topo, price[p, m, t], p, m)
                    pressure = min(max((rel - 1.0) * per_span[t], 0.0), 1.0)
                    aim = prm[SUBST_MAX, t] * pressure
                subst[r, p, t] = subst[r, p, t] + (aim - subst[r, p, t]) * per_lag[t]


@inline
def _update_capacity_entry(
    topo: Topology, state: KState, b: int, prm: np.ndarray, month_id: int, w: Work
) -> None:
    """``market.update_capacity_entry``: sustained ex-China prices commit capacity outside
    China, which enters after its stage's lag."""
    n_k = topo.entry_scale.size
    n_m = topo.price0.shape[1]
    mean, price = w.weighted, state.price[b]  # weighted: scratch after the plan
    signal, pipeline, entered = state.signal[b], state.pipeline[b], state.entered[b]
    mean[:, :] = 0.0
    for o in range(topo.out_process.size):
        k, p = topo.out_process[o], topo.out_product[o]
        for t in range(TILE):
            mean[k, t] += (
                _market_multiple(topo, price[p, n_m - 1, t], p, n_m - 1) * topo.out_weight[o]
            )
    n_h = pipeline.shape[1]
    arrive = (month_id + 1) % n_h
    for k in range(n_k):
        for t in range(TILE):
            rel = mean[k, t] if topo.has_outputs[k] else 1.0
            signal[k, t] = signal[k, t] + (rel - signal[k, t]) / max(prm[SIGNAL_LAG, t], 1.0)
            pressure = min(max(signal[k, t] - 1.0 - prm[HURDLE, t], 0.0), 1.0)
            commit = topo.entry_scale[k] * (prm[ENTRY_RATE, t] / 12.0) * pressure
            lag = np.floor(prm[ENTRY_LAG0 + topo.entry_stage[k], t] + 0.5)
            lag = min(max(lag, 1.0), n_h - 1.0)
            slot = (month_id + int(lag)) % n_h
            pipeline[k, slot, t] += commit
            entered[k, t] = entered[k, t] + pipeline[k, arrive, t]
            pipeline[k, arrive, t] = 0.0


@inline
def _update_sourcing(
    topo: Topology, fx: Effects, state: KState, b: int, prm: np.ndarray, w: Work
) -> None:
    """``market.update_sourcing`` for the products policy touches or touched in each draw."""
    allow, weight = w.allow, w.weight
    tariff = w.tariff
    touched = state.touched[b]
    for p in range(touched.shape[0]):
        done = True
        for t in range(TILE):
            done &= touched[p, t]
        if done:
            continue  # touched stays touched: no need to look again
        for a in range(topo.product_arcs_ptr[p], topo.product_arcs_ptr[p + 1]):
            for t in range(TILE):
                hit = allow[a, t] != 1.0 or (fx.taxed and tariff[a, t] != 0.0)
                touched[p, t] = touched[p, t] or hit
    capacity, activity = w.capacity, w.activity
    n_r, n_p = topo.use0.shape
    spare, kept, alt = w.spare, w.kept, w.alt
    for r in range(n_r):  # ``market.spare_supply``: stock above target, then stage by stage
        for p in range(n_p):  # what idle capacity can make of the spare inputs
            for t in range(TILE):
                spare[r, p, t] = max(w.stock[r, p, t] - w.target[r, p, t] * AT_TARGET, 0.0)
        for s in range(topo.stage_procs_ptr.size - 1):
            for j in range(topo.stage_procs_ptr[s], topo.stage_procs_ptr[s + 1]):
                k = topo.stage_procs[j]
                lo, hi = topo.proc_in_ptr[k], topo.proc_in_ptr[k + 1]
                for t in range(TILE):
                    run = max(capacity[r, k, t] - activity[r, k, t], 0.0)
                    for n in range(lo, hi):
                        run = min(run, spare[r, topo.proc_in_product[n], t] / topo.proc_in_value[n])
                    for n in range(topo.proc_out_ptr[k], topo.proc_out_ptr[k + 1]):
                        spare[r, topo.proc_out_product[n], t] += run * topo.proc_out_value[n]
        for p in range(n_p):  # round-off is no spare supply (``numeric.SPARE_FLOOR_T``)
            for t in range(TILE):
                if spare[r, p, t] < SPARE_FLOOR_T:
                    spare[r, p, t] = 0.0
    share, lag = state.share[b], w.scale
    wt = weight if fx.taxed else allow  # without tariffs the weight is the allowance
    for t in range(TILE):
        lag[t] = 1.0 / max(prm[REROUTE, t], 1.0)
    for p in range(n_p):
        moving = False
        for t in range(TILE):
            moving |= touched[p, t]
        if not moving:
            continue
        lo, hi = topo.product_arcs_ptr[p], topo.product_arcs_ptr[p + 1]
        kept[:, p, :] = 0.0
        alt[:, p, :] = 0.0
        for a in range(lo, hi):
            i, e, s0 = topo.arc_importer[a], topo.arc_exporter[a], topo.share0[a]
            if fx.taxed:
                for t in range(TILE):
                    weight[a, t] = allow[a, t]
                    if tariff[a, t] != 0.0:
                        weight[a, t] *= (1.0 + tariff[a, t]) ** -prm[TARIFF_EL, t]
            if s0 != 0.0:  # most arcs had no baseline share: they add exactly 0 to kept
                for t in range(TILE):
                    kept[i, p, t] += s0 * wt[a, t]
            for t in range(TILE):
                alt[i, p, t] += wt[a, t] * spare[e, p, t]
        for i in range(n_r):  # per importer: the part moved, and its scale on spare supply
            for t in range(TILE):
                moved = 1.0 - kept[i, p, t] if topo.has_imports[i, p] else 0.0
                kept[i, p, t] = 0.0 if alt[i, p, t] > 0 else moved  # now: the part that stays
                alt[i, p, t] = _div(moved, alt[i, p, t], 0.0)  # now: the scale
        for a in range(lo, hi):
            i, e, s0 = topo.arc_importer[a], topo.arc_exporter[a], topo.share0[a]
            nonzero = False
            for t in range(TILE):
                aim = wt[a, t] * spare[e, p, t] * alt[i, p, t]
                if s0 != 0.0:  # else it adds exactly 0
                    aim += s0 * wt[a, t] + s0 * kept[i, p, t]
                moved = (aim - share[a, t]) * lag[t] + share[a, t]
                share[a, t] = moved if touched[p, t] else share[a, t]  # a select: no branch
                nonzero |= share[a, t] != 0.0
            state.carries[b, a] = nonzero


# Each mechanism of the numpy reference ("module.function" in engine/) and the kernel
# function that holds the same arithmetic, so that a reviewer compares pairs;
# tests/test_kernel.py checks that both sides exist and that no numpy mechanism is left out.
# The kernel stays one file: numba's on-disk cache keys a compiled function on its own file,
# so helpers inlined from other modules could be served stale after an edit there.
TWINS = {
    "step.step": "month",
    "step.month_capacity": "_plan",
    "step.reserve_release": "_plan",
    "step.desired_activity": "_desired_activity",
    "step.effective_allow": "_allowances",
    "step.origin_share": "_node_factors",
    "step.ship": "_ship",
    "step.apply_quotas": "_apply_quotas",
    "step.arrivals": "_arrive",
    "step.run_stage_processes": "_run_stage_processes",
    "step.sector_losses": "_sector_losses",
    "step.settle": "_settle",
    "market.tightness": "_update_prices",
    "market.update_prices": "_update_prices",
    "market.market_multiple": "_market_multiple",
    "market.landed_multiple": "_update_demand",
    "market.update_demand": "_update_demand",
    "market.update_substitution": "_update_substitution",
    "market.scarcity_multiple": "_scarcity_multiple",
    "market.cost_floor": "_cost_floor",
    "market.thinness": "_update_prices",
    "market.entry_lags": "_update_capacity_entry",
    "market.update_capacity_entry": "_update_capacity_entry",
    "market.surplus_stock": "_update_sourcing",
    "market.spare_supply": "_update_sourcing",
    "market.update_sourcing": "_update_sourcing",
    "balance.residual": "_balance",
    "balance.check_balance": "_check_balance",
}
