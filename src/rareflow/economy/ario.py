"""The ARIO "Psi" model (Hallegatte 2008, 2013; Guan et al. 2020 orders) as BoARIO 0.7.2's
``ARIOPsiModel`` steps it, vectorised over a leading draw axis.

A step, in BoARIO's order (``Simulation.next_step``):

0. overproduction ``alpha`` moves towards ``alpha_max`` where demand exceeds production, back
   to ``alpha_base`` where it does not (from the third step on, as BoARIO);
1. capacity ``x_cap = x0 (1 - delta) alpha``; optimal production ``min(demand, x_cap)``;
   an input whose inventory is under ``psi`` times its target cuts production in proportion;
2. production is rationed to orders and final demand in proportion; inventories lose what
   production used and gain what suppliers delivered (BoARIO skips this when the two agree to
   ``np.allclose``; so do we, per draw);
3. orders for the next step: what production used plus the inventory gap closed at the
   restoration rate, spread over suppliers in proportion to their baseline flows times their
   capacity ratio (``order_type="alt"``; ``"noalt"``: baseline flows).

Shapes (N industries, region-major; S input sectors; R regions; D draws):

| array | shape | meaning |
|---|---|---|
| ``Static.x0`` | (N,) | baseline output per step |
| ``Static.tech`` | (S, N) | input ``s`` per unit of output of ``j`` (BoARIO ``tech_mat``) |
| ``Static.final`` | (N,) | final demand per step, all categories |
| ``State.stock`` | (S, D, N) | inventory of input ``s`` held by ``j`` |
| ``State.w`` | (S, D, N) | orders ``O[i, j] = Z0[i, j] ratio[i] w[s(i), j]`` |
| ``State.ratio`` | (D, N) | supplier weights of the orders (capacity / baseline) |
| ``State.orders``, ``overprod``, ``production`` | (D, N) | |

``delta`` (D, N), the share of each industry's capacity lost, is the event's input; it is
static per step (the caller builds the path).

On a dense table with finite inventories (``_step_dense``) the step is two compiled passes
(``fused.deliver``, ``fused.reorder_dense``) a sector at a time: the sector's Z products for
every draw of the chunk are one BLAS product into a block that stays in cache, never written
out as (S, D, N) arrays; suppliers at weight 1 in every draw cost nothing, the
draw-independent sums of Z (float64 whatever the state's dtype) standing in for them. The
inventories and order weights are kept as deviations from their baseline there
(``State.deviations``). Memory: three (S, D, N)
arrays (two stocks taking turns in ``simulate``, the order weights) and Z; ``cast`` puts them
in float32.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numba
import numpy as np
import scipy.sparse as sp

from rareflow.economy.coupling import Coupling, coupling, from_sdr, to_sdr

TECHNOLOGY_THRESHOLD = 1e-5  # BoARIO: an input under this share of output never constrains
CHUNK_CELLS = 1 << 22  # (S, D, N) cells per state array a pass over draws holds (32 MB)


@dataclass(frozen=True)
class Params:
    """BoARIO 0.7.2 ``ARIOPsiModel`` defaults, in temporal units (days by default)."""

    psi: float = 0.8
    alpha_base: float = 1.0
    alpha_max: float = 1.25
    alpha_tau: float = 365.0
    inventory: float | tuple[float, ...] = 90.0  # per input sector; inf: never constrains
    restoration_tau: float = 60.0
    order_type: str = "alt"
    units_per_year: int = 365
    units_by_step: int = 1

    @classmethod
    def monthly(cls) -> Params:
        """The same behaviour in month steps: 3 months of inventory, 2 to restore it, a year
        for overproduction to build up."""
        return cls(alpha_tau=12.0, inventory=3.0, restoration_tau=2.0, units_per_year=12)

    def inventories(self, sectors: int) -> np.ndarray:
        days = np.broadcast_to(np.asarray(self.inventory, dtype=np.float64), (sectors,))
        duration = days / self.units_by_step
        return np.where(duration <= 1, 2.0, duration)  # BoARIO sets these to 2


@dataclass(frozen=True)
class Static:
    regions: int
    sectors: int
    x0: np.ndarray  # (N,) per step
    tech: np.ndarray  # (S, N)
    final: np.ndarray  # (N,) per step
    inputs: np.ndarray  # (S, N) bool: tech counts as an input
    inv: np.ndarray  # (S,) inventory duration in steps (inf allowed)
    restore: np.ndarray  # (S,) share of the gap closed per step
    z: Coupling  # Z per step, per-sector blocks
    va_ratio: np.ndarray  # (N,) value added per unit of output (negative VA set to 0)
    baseline: np.ndarray  # (S, N) inventories at target at baseline output, x0 tech inv

    @property
    def industries(self) -> int:
        return self.regions * self.sectors


def static(
    z: np.ndarray | sp.spmatrix,
    final: np.ndarray,
    regions: int,
    sectors: int,
    params: Params = Params(),
) -> Static:
    """The model's constants from a yearly table: Z (N, N) and final demand summed over its
    categories (N,); output x = Z 1 + final."""
    zs = sp.csr_matrix(z) if sp.issparse(z) else np.asarray(z, dtype=np.float64)
    final = np.asarray(final, dtype=np.float64)
    x = np.asarray(zs.sum(axis=1)).ravel() + final
    per_step = params.units_by_step / params.units_per_year
    col = np.asarray(zs.sum(axis=0)).ravel()
    inv_x = np.divide(1.0, x, out=np.zeros_like(x), where=x != 0)
    zc = _by_sector(zs, regions, sectors)  # (S, N) yearly
    tech = zc * inv_x
    x0 = x * per_step
    va = np.maximum(x - col, 0.0)
    inv = params.inventories(sectors)
    restore = np.full(sectors, params.units_by_step / params.restoration_tau)
    with np.errstate(invalid="ignore"):  # 0 x inf: an input never used, never short
        baseline = np.nan_to_num(x0 * tech * inv[:, None], nan=np.inf, posinf=np.inf)
    return Static(
        regions=regions,
        sectors=sectors,
        x0=x0,
        tech=tech,
        final=final * per_step,
        inputs=zc > x0 * TECHNOLOGY_THRESHOLD,  # BoARIO compares yearly Z with step output
        inv=inv,
        restore=restore,
        z=coupling(zs * per_step, regions, sectors),
        va_ratio=va * inv_x,
        baseline=baseline,
    )


def _by_sector(z: np.ndarray | sp.csr_matrix, regions: int, sectors: int) -> np.ndarray:
    n = regions * sectors
    if sp.issparse(z):
        sector_of = np.tile(np.arange(sectors), regions)
        agg = sp.csr_matrix((np.ones(n), (sector_of, np.arange(n))), shape=(sectors, n))
        return np.asarray((agg @ z).todense())
    return np.asarray(z).reshape(regions, sectors, n).sum(axis=0)


def cast(st: Static, dtype: np.dtype | type | str) -> Static:
    """``st`` with Z in ``dtype``: ``initial`` and ``simulate`` then keep the per-draw
    (S, D, N) state (inventories, order weights) in it too, and the Z products run in it;
    the (D, N) vectors (overproduction, capacity, production, orders) stay float64, so that
    small steps of overproduction are not rounded away. float32 halves the bytes a step moves;
    docs/economy.md says what it costs in accuracy."""
    kind = np.dtype(dtype)
    if kind not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"dtype must be float32 or float64, not {kind}")
    if st.z.dtype == kind:
        return st
    z = st.z

    def f(a: np.ndarray | None) -> np.ndarray | None:
        return None if a is None else np.ascontiguousarray(a, dtype=kind)

    def m(a: sp.csr_matrix | None) -> sp.csr_matrix | None:
        return None if a is None else sp.csr_matrix(a, dtype=kind)

    # the sums of Z (what a draw at its baseline uses) stay float64
    coupled = replace(z, dense=f(z.dense), dense_t=f(z.dense_t), blocks=m(z.blocks),
                      blocks_t=m(z.blocks_t))  # fmt: skip
    return replace(st, z=coupled)


def draws_per_chunk(st: Static) -> int:
    """Draws stepped together: as many as keep each (S, D, N) array near ``CHUNK_CELLS``
    (measured at 2,500 industries and 100 sectors, one thread, on the shared machine: a draw
    6.3 ms in chunks of 8, 4.6 ms in chunks of 16, 5.8 ms in chunks of 67)."""
    return max(1, CHUNK_CELLS // (st.sectors * st.industries))


@dataclass
class State:
    stock: np.ndarray
    w: np.ndarray
    ratio: np.ndarray
    orders: np.ndarray
    overprod: np.ndarray
    production: np.ndarray
    step: int = 0
    # True: ``stock`` holds the inventories less their baseline (``Static.baseline``) and
    # ``w`` the order weights less 1, as the dense compiled step keeps them (in float32 a
    # draw near its baseline keeps the precision of its deviations); ``simulate`` yields so
    deviations: bool = False

    def inventories(self, st: Static) -> np.ndarray:
        """(S, D, N) inventories, whichever way they are held."""
        return st.baseline[:, None, :] + self.stock if self.deviations else self.stock

    def weights(self) -> np.ndarray:
        """(S, D, N) order weights, whichever way they are held."""
        return self.w + 1 if self.deviations else self.w

    def as_deviations(self, st: Static) -> State:
        """This state held as the dense compiled step holds it (``deviations``)."""
        if self.deviations:
            return self
        kind = self.stock.dtype
        stock = (self.stock - st.baseline[:, None, :]).astype(kind)
        return replace(self, stock=stock, w=(self.w - 1).astype(kind), deviations=True)

    def as_values(self, st: Static) -> State:
        """This state with inventories and weights as they are (not ``deviations``)."""
        if not self.deviations:
            return self
        return replace(self, stock=self.inventories(st), w=self.weights(), deviations=False)


def initial(st: Static, draws: int, params: Params = Params(),
            deviations: bool = False) -> State:  # fmt: skip
    """The baseline: inventories at target, orders equal to the table's flows; held as
    ``State.deviations`` (zero inventories and weights less 1, exact in any dtype) if asked."""
    kind = st.z.dtype  # of the (S, D, N) state: float64, or what ``cast`` made it
    ones = np.ones((draws, st.industries))
    # orders = Z0: the gap is each input's total flow, spread by the flows themselves
    zc = st.z.aggregate(np.ones((st.sectors, draws, st.regions), dtype=kind))
    w = (zc != 0).astype(kind)
    orders = from_sdr(st.z.baseline_rowdot(w)).astype(np.float64)
    if deviations:
        stocks = np.zeros((st.sectors, draws, st.industries), dtype=kind)
        w = w - 1
    else:
        stocks = np.repeat(st.baseline.astype(kind)[:, None, :], draws, axis=1)
    return State(
        stock=stocks,
        w=w,
        ratio=ones.copy(),
        orders=orders,
        overprod=np.full((draws, st.industries), params.alpha_base),
        production=np.repeat(st.x0[None, :], draws, axis=0),
        deviations=deviations,
    )


def overproduction(overprod: np.ndarray, demand: np.ndarray, production: np.ndarray,
                   params: Params) -> np.ndarray:  # fmt: skip
    """BoARIO ``calc_overproduction``: (D, N) -> (D, N)."""
    tau = params.units_by_step / params.alpha_tau
    scarcity = np.divide(demand - production, demand, out=np.zeros_like(demand),
                         where=demand != 0)  # fmt: skip
    scarcity[np.isnan(scarcity)] = 0
    change = (params.alpha_max - overprod) * scarcity * tau
    change += (params.alpha_base - overprod) * (scarcity == 0) * tau
    return np.maximum(overprod + change, 1.0)


def plan(st: Static, s: State, delta: np.ndarray, params: Params
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """A step's (D, N) demand (orders + final), overproduction, capacity and optimal
    production (demand capped by capacity)."""
    demand = s.orders + st.final
    overprod = s.overprod
    if s.step > 1:  # BoARIO: from current_temporal_unit 2 on
        overprod = overproduction(overprod, demand, s.production, params)
    cap = st.x0 * (1 - delta) * overprod
    return demand, overprod, cap, np.fmin(demand, cap)


def order_ratio(st: Static, cap: np.ndarray, params: Params) -> np.ndarray:
    """(D, N) how much of its baseline orders each client places with a supplier: its
    capacity over baseline output (``order_type: alt``), else 1."""
    if params.order_type == "alt":
        return np.divide(cap, st.x0, out=np.ones_like(cap), where=st.x0 != 0)
    return np.ones_like(cap)


def produce(st: Static, stock: np.ndarray, optimal: np.ndarray, psi: float) -> np.ndarray:
    """BoARIO ``calc_production`` (Psi): optimal production cut by the scarcest input whose
    inventory is under ``psi`` x its target. (S, D, N), (D, N) -> (D, N)."""
    inv = np.nan_to_num(st.inv, posinf=0.0)[:, None, None]
    need = optimal[None] * st.tech[:, None, :]
    need *= psi
    need *= inv
    ratio = np.ones_like(need)
    np.divide(stock, need, out=ratio, where=st.inputs[:, None, :] & (need != 0))
    return optimal * np.minimum(ratio.min(axis=0), 1.0)


def allclose_per_draw(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.allclose(a[:, d], b[:, d])`` for each draw d of (S, D, N) arrays: (D,) bool."""
    with np.errstate(invalid="ignore"):
        diff = np.subtract(a, b)
        np.abs(diff, out=diff)
        bound = np.abs(b)
        bound *= 1e-5
        bound += 1e-8
        close = diff <= bound
    if np.isinf(a).any():
        close |= (a == b) & np.isinf(a)
    return close.all(axis=(0, 2))


def close_per_draw(diff: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.allclose(b + diff, b)`` per draw from the difference already at hand (finite
    arrays): ``|diff| <= 1e-8 + 1e-5 |b|`` everywhere in the draw. (S, D, N) -> (D,)."""
    bound = np.abs(b)
    bound *= 1e-5
    bound += 1e-8
    bound -= np.abs(diff)
    return bound.min(axis=(0, 2)) >= 0


def step(st: Static, s: State, delta: np.ndarray, params: Params = Params(),
         fused: bool | None = None) -> State:  # fmt: skip
    """One step with capacity losses ``delta`` (D, N) in [0, 1]; returns the new state.
    ``fused``: the elementwise passes compiled (``fused.py``; the default where every
    inventory is finite) or this numpy reference."""
    if fused is None:
        fused = bool(np.isfinite(st.inv).all())
    if fused and not st.z.sparse:
        s = s.as_deviations(st)
        out, _ = _step_dense(st, s, delta, params, np.empty_like(s.stock), np.empty_like(s.w))
        return out.as_values(st)
    s = s.as_values(st)
    if fused:
        return _step_fused(st, s, delta, params)
    demand, overprod, cap, optimal = plan(st, s, delta, params)
    production = produce(st, s.stock, optimal, params.psi)

    # 2. distribute: each supplier serves its orders and final demand in proportion
    served = np.divide(production, demand, out=np.zeros_like(demand), where=demand != 0)
    r, n = st.regions, st.sectors
    net = st.z.aggregate(to_sdr(s.ratio * served, r, n))
    net *= s.w  # delivered
    used = production[None] * st.tech[:, None, :]
    net -= used  # delivered - used
    stock = s.stock + net
    still = close_per_draw(net, used)  # BoARIO: no update when the two agree (np.allclose)
    if still.any():
        stock[:, still] = s.stock[:, still]

    # 3. orders for the next step
    with np.errstate(invalid="ignore"):
        goal = optimal[None] * st.tech[:, None, :]
        goal *= st.inv[:, None, None]
    if np.isfinite(st.inv).all():
        gap = np.subtract(goal, stock)
        at_goal = close_per_draw(gap, goal)
    else:  # BoARIO: no gap where the goal is not finite (inputs never short)
        finite = np.isfinite(goal)
        gap = np.where(finite, goal - np.where(finite, stock, 0.0), 0.0)
        at_goal = allclose_per_draw(stock, goal)
    np.maximum(gap, 0.0, out=gap)
    gap[:, at_goal] = 0.0
    gap *= st.restore[:, None, None]
    gap += used
    ratio = order_ratio(st, cap, params)
    weight = st.z.aggregate(to_sdr(ratio, r, n))
    w = np.divide(gap, weight, out=np.zeros_like(gap), where=weight != 0)
    orders = ratio * from_sdr(st.z.rowdot(w))
    return State(stock, w, ratio, orders, overprod, production, s.step + 1)


def _step_fused(st: Static, s: State, delta: np.ndarray, params: Params) -> State:
    """``step`` with its elementwise passes in ``fused`` (finite inventories only)."""
    from rareflow.economy import fused

    demand, overprod, cap, optimal = plan(st, s, delta, params)
    production = fused.produce(s.stock, st.tech, st.inputs, st.inv, optimal, params.psi)
    served = np.divide(production, demand, out=np.zeros_like(demand), where=demand != 0)
    r, n = st.regions, st.sectors
    agg = st.z.aggregate(to_sdr(s.ratio * served, r, n))
    stock, _ = fused.restock(s.stock, agg, s.w, st.tech, production)
    ratio = order_ratio(st, cap, params)
    weight = st.z.aggregate(to_sdr(ratio, r, n))
    w = fused.reorder(stock, st.tech, st.inv, st.restore, optimal, production, weight)
    orders = ratio * from_sdr(st.z.rowdot(w))
    return State(stock, w, ratio, orders, overprod, production, s.step + 1)


class _OneThreadBlas:
    """BLAS held to one thread while any caller is inside, restored when the last leaves:
    threadpoolctl's own ``limit`` restores what it found on entry, so two overlapping
    callers (the service runs impacts side by side) would leave BLAS at one thread for good."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._inside = 0
        self._limiter: Any = None

    @cached_property
    def _controller(self) -> Any:
        """threadpoolctl's view of the loaded BLAS libraries (numba's ``np.dot`` calls
        scipy's, ``np.matmul`` numpy's); None where threadpoolctl is not installed."""
        try:
            import scipy.linalg.cython_blas  # noqa: F401  (load it, so that it is seen)
            from threadpoolctl import ThreadpoolController
        except ImportError:
            return None
        return ThreadpoolController()

    def __enter__(self) -> None:
        with self._lock:
            if self._inside == 0 and self._controller is not None:
                self._limiter = self._controller.limit(limits=1, user_api="blas")
            self._inside += 1

    def __exit__(self, *_: object) -> None:
        with self._lock:
            self._inside -= 1
            if self._inside == 0 and self._limiter is not None:
                self._limiter.restore_original_limits()
                self._limiter = None


_ONE_THREAD_BLAS = _OneThreadBlas()


def blas_single_threaded() -> AbstractContextManager[None]:
    """BLAS on one thread inside the compiled passes when numba runs them on several: each
    sector's products are already one thread's work, and a threaded BLAS under numba's
    threads oversubscribes the cores (2 threads on 2 cores: 1,000 draws took 1.9x as long
    as with BLAS held to one, ``benchmarks/bench_economy.py --threads 2``). ~30 us a step."""
    return _ONE_THREAD_BLAS if numba.get_num_threads() > 1 else nullcontext()


def _step_dense(st: Static, s: State, delta: np.ndarray, params: Params, stock_out: np.ndarray,
                w_out: np.ndarray, allowed: np.ndarray | None = None,
                ) -> tuple[State, np.ndarray]:  # fmt: skip
    """``step`` for a dense table with finite inventories, writing the new stock into
    ``stock_out`` and the order weights less 1 into ``w_out`` (which may be ``s.w``: it is
    read before it is written; ``s.w`` holds them so too). The Z products happen inside the
    two compiled passes. ``allowed``: (D, N) the output ``s.stock`` allows, as the last step
    returned it (None: ``produce`` finds it); returns the new state and what its stock
    allows (``fused.reorder_dense`` finds it with the order weights, saving a pass)."""
    assert s.deviations
    from rareflow.economy import fused

    demand, overprod, cap, optimal = plan(st, s, delta, params)
    if allowed is None:
        production = fused.produce(s.inventories(st), st.tech, st.inputs, st.inv, optimal,
                                   params.psi)  # fmt: skip
    else:  # optimal cut to what the scarcest input allows (``produce``, from the last pass)
        production = np.where(optimal == 0, 0.0, np.fmin(optimal, allowed))
    served = np.divide(production, demand, out=np.zeros_like(demand), where=demand != 0)
    r, n = st.regions, st.sectors
    zs, zc, zt = st.z.dense, st.z.dense_sum, st.z.dense_t
    assert zs is not None and zc is not None and zt is not None
    far = np.empty((3, n, len(demand)), dtype=np.int64)
    kind = zs.dtype  # the products' weights in Z's dtype, less 1 (their deviation kept)
    base = st.baseline  # the stocks are held less it
    with blas_single_threaded():  # the passes call BLAS from their own threads
        weights = to_sdr(s.ratio * served - 1, r, n).astype(kind, copy=False)
        fused.deliver(s.stock, s.w, zs, zc, weights, st.tech, st.inv, production, optimal,
                      stock_out, far, base)  # fmt: skip
        counts = far.sum(axis=1)  # (3, D)
        still = counts[0] == 0  # BoARIO: no update when delivered and used agree
        if still.any():
            stock_out[:, still] = s.stock[:, still]
        at_goal = np.where(still, counts[2], counts[1]) == 0
        ratio = order_ratio(st, cap, params)
        ordered = np.empty((n, len(demand), r), dtype=stock_out.dtype)
        allowed = np.empty_like(production)
        weights = to_sdr(ratio - 1, r, n).astype(kind, copy=False)
        fused.reorder_dense(stock_out, zs, zc, zt, weights, st.tech, st.inputs, st.inv,
                            st.restore, params.psi, optimal, production, at_goal, w_out,
                            ordered, allowed, numba.get_num_threads(), base)  # fmt: skip
    assert st.z.dense_rowsum is not None
    orders = ratio * from_sdr(st.z.dense_rowsum[:, None, :] + ordered)  # float64
    new = State(stock_out, w_out, ratio, orders, overprod, production, s.step + 1, deviations=True)
    return new, allowed


@dataclass(frozen=True)
class Record:
    """What a step leaves for the reports: (D, N) each."""

    production: np.ndarray
    capacity_loss: np.ndarray
    final_unmet: np.ndarray


def simulate(st: Static, deltas: Iterator[np.ndarray] | np.ndarray, draws: int,
             params: Params = Params(), dtype: np.dtype | type | str | None = None,
             ) -> Iterator[tuple[State, Record]]:  # fmt: skip
    """Step through ``deltas`` (T, D, N), yielding each step's state and record. On a dense
    table with finite inventories the (S, D, N) state is updated in place (two stock buffers
    taking turns, the order weights overwritten; both held as deviations from the baseline,
    ``State.deviations``: read them with ``State.inventories`` and ``State.weights``): a
    yielded state's ``stock`` and ``w`` hold only until the next step, so copy what you keep. ``dtype``: float32 keeps the state (and
    a copy of Z) in single precision (``cast``; pass a static already cast to save the copy);
    default: the static's, float64 from ``static``."""
    if dtype is not None:
        st = cast(st, dtype)
    in_place = not st.z.sparse and bool(np.isfinite(st.inv).all())
    s = initial(st, draws, params, deviations=in_place)  # as the dense step keeps them
    spare = np.empty_like(s.stock) if in_place else s.stock
    allowed = None  # the first step's production reads the stock (``produce``)
    for delta in deltas:
        delta = np.asarray(delta, dtype=np.float64)
        demand = s.orders + st.final
        if in_place:
            old = s.stock
            s, allowed = _step_dense(st, s, delta, params, spare, s.w, allowed)
            spare = old
        else:
            s = step(st, s, delta, params)
        unmet = st.final * (1 - np.divide(s.production, demand, out=np.zeros_like(demand),
                                          where=demand != 0))  # fmt: skip
        yield s, Record(s.production, delta, unmet)
