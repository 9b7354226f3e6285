"""Run the monthly step over a horizon for D draws, in chunks, and collect raw arrays.

Draws are independent, so chunks of ``chunk_size`` draws run one after another and memory
stays bounded. Trade (sourcing shares, shipments) lives on the trade arcs that can carry it
(``Static.arcs``, A x D); dense (draw, month, product, region, partner) shipments are only
built when the ``shipments`` output is asked for.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from rareflow.engine.balance import check_balance
from rareflow.engine.market import (
    update_capacity_entry,
    update_demand,
    update_prices,
    update_sourcing,
    update_substitution,
)
from rareflow.engine.memory import keep_freed_memory
from rareflow.engine.outputs import OUTPUTS
from rareflow.engine.parameters import ParamValue, chunk_values
from rareflow.engine.prepare import Prepared, prepare, project_capacity
from rareflow.engine.state import Flows, State, initial_state
from rareflow.engine.static import Static
from rareflow.engine.step import step
from rareflow.errors import UserInputError
from rareflow.model.compiled import CompiledNetwork, month_label
from rareflow.policies.channels import MonthEffects
from rareflow.scenarios.model import Scenario


@dataclass
class RawResult:
    months: list[str]  # 'YYYY-MM'
    arrays: dict[str, np.ndarray]  # name -> (D, T, *OUTPUTS[name] dims)
    mass_balance_max_residual: float
    parameters: dict[str, ParamValue]


def _sizes(net: CompiledNetwork) -> dict[str, int]:
    return {
        "region": len(net.regions),
        "partner": len(net.regions),
        "product": len(net.products),
        "sector": len(net.sectors),
        "market": len(net.markets),
    }


def _recorded(flows: Flows, state: State, keep: Sequence[str]) -> dict[str, np.ndarray]:
    arrays = {
        "production": flows.production,
        "shipments": flows.shipments,
        "inventory": flows.stock_end,
        "in_transit": flows.in_transit,
        "demand": flows.demand,
        "shortage": flows.shortage,
        "shortage_share": flows.shortage_share,
        "units_not_built": flows.units_not_built,
        "units_deferred": flows.units_deferred,
        "units_lost": flows.units_lost,
        "value_lost": flows.value_lost,
        "value_deferred": flows.value_deferred,
        "gross_output_lost": flows.gross_output_lost,
        "price": state.price,
    }
    return {k: arrays[k] for k in keep}


def _touched(static: Static, fx: MonthEffects, flows: Flows) -> np.ndarray:
    """(P,) products whose flows (on the trade arcs) policy restricts or taxes this month."""
    touched = np.zeros(len(static.net.products), dtype=bool)
    touched[static.arcs.product[(flows.allow != 1.0).any(axis=1)]] = True
    touched[static.arcs.product[(fx.tariff != 0.0).any(axis=0)]] = True
    return touched


def simulate(
    compiled: CompiledNetwork,
    scenario: Scenario,
    parameters: Mapping[str, ParamValue],
    draws: int = 1,
    *,
    months: int | None = None,
    chunk_size: int = 500,
    values: Mapping[str, np.ndarray] | None = None,
    outputs: Sequence[str] | None = None,
    output_dtype: type = np.float64,
    workers: int | None = None,
    kernel: str | None = None,
) -> RawResult:
    """Simulate ``draws`` scenarios at once; returns arrays (D, T, ...) per output.

    parameters: resolved values (float or (D,) per draw) over the engine defaults.
    values: per-draw policy attributes, ``{"<policy id>.<attribute>": (D,) array}`` (or
        (D, T): one value per draw and month); ``"<id>.active"`` switches a measure per draw.
    outputs: names of ``OUTPUTS`` to keep (default all; leave out ``shipments`` for big runs).
    output_dtype: storage of the recorded arrays (np.float32 halves a big batch's memory; the
    step itself always runs in float64).
    workers: threads running chunks side by side (default: the CPUs this process may use,
    ``RAREFLOW_THREADS`` overrides). numpy releases the GIL inside its loops, so chunks of a
    few hundred draws run in parallel; draws are independent, so results do not depend on
    the chunking or the threads. A batch smaller than ``chunk_size`` is split between them.
    kernel: "numpy" (the reference step) or "numba" (the compiled step, ``kernel.py``);
    default: ``choose_kernel``.

    Memory: the state of one chunk is a few arrays of A (trade arcs) x chunk_size floats; the
    recorded outputs grow with draws x months (shipments dominate: P x R x R per draw-month).
    """
    keep_freed_memory()
    run = prepare(compiled, scenario, parameters, draws, months=months, values=values)
    horizon = len(run.month_ids)
    keep = list(outputs or OUTPUTS)
    sizes = _sizes(compiled)
    # month-major while filling (contiguous writes), handed back as (D, T, ...) views;
    # shipments are zeros off the trade arcs (calloc: pages only touched where written)
    by_month: dict[str, np.ndarray] = {
        k: (np.zeros if k == "shipments" else np.empty)(
            (horizon, draws, *(sizes[d] for d in OUTPUTS[k][0])), dtype=output_dtype
        )
        for k in keep
    }
    cells = run.static.arcs.cell
    engine = choose_kernel(kernel, draws)

    def fill(lo: int, hi: int) -> float:
        worst = 0.0
        for t, recorded, resid in _run_chunk(run, lo, hi, engine, keep):
            worst = max(worst, resid)
            for k in keep:
                if k == "shipments":  # (A, D) arcs scattered into the dense output
                    by_month[k][t, lo:hi].reshape(hi - lo, -1)[:, cells] = recorded[k].T
                else:
                    by_month[k][t, lo:hi] = recorded[k]
        return worst

    n_threads = max(1, workers or chunk_threads())
    size = min(chunk_size, max(MIN_CHUNK, -(-draws // n_threads)))
    bounds = [(lo, min(draws, lo + size)) for lo in range(0, draws, size)]
    if n_threads == 1 or len(bounds) == 1:
        worst = max(fill(lo, hi) for lo, hi in bounds)
    else:
        with ThreadPoolExecutor(min(n_threads, len(bounds))) as pool:
            worst = max(pool.map(lambda b: fill(*b), bounds))
    arrays = {k: np.moveaxis(v, 0, 1) for k, v in by_month.items()}
    labels = [month_label(int(m)) for m in run.month_ids]
    return RawResult(labels, arrays, worst, run.params)


MIN_CHUNK = 64  # draws: smaller chunks are not worth a thread of their own
KERNEL_MIN_DRAWS = 64  # from here the compiled step pays for loading it
KERNELS = ("numpy", "numba")


def choose_kernel(kernel: str | None, draws: int) -> str:
    """The step a run uses: as asked, else ``RAREFLOW_KERNEL``, else the compiled one for
    batches of ``KERNEL_MIN_DRAWS`` or more (a single run stays on numpy: no compile wait)."""
    kernel = kernel or os.environ.get("RAREFLOW_KERNEL") or None
    if kernel is None:
        return "numba" if draws >= KERNEL_MIN_DRAWS else "numpy"
    if kernel not in KERNELS:
        raise UserInputError("unknown kernel", value=kernel, expected=", ".join(KERNELS))
    return kernel


def chunk_threads() -> int:
    env = os.environ.get("RAREFLOW_THREADS")
    if env:
        return int(env)
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def stream(
    compiled: CompiledNetwork,
    scenario: Scenario,
    parameters: Mapping[str, ParamValue],
    draws: int,
    *,
    months: int | None = None,
    values: Mapping[str, np.ndarray] | None = None,
    kernel: str | None = None,
    outputs: Sequence[str] | None = None,
) -> Iterator[tuple[int, dict[str, np.ndarray], float]]:
    """Yield (t, recorded arrays (D, ...), max residual) month by month, keeping no paths (the
    Monte Carlo hook). Arrays are only valid until the next month is asked for.
    outputs: names of ``OUTPUTS`` to record (default all; the (D, P, R, R) shipments dominate
    the cost)."""
    keep_freed_memory()
    run = prepare(compiled, scenario, parameters, draws, months=months, values=values)
    shape = (len(compiled.products), len(compiled.regions), len(compiled.regions))
    engine = choose_kernel(kernel, draws)
    keep = tuple(outputs or OUTPUTS)
    for t, recorded, resid in _run_chunk(run, 0, draws, engine, keep):
        if "shipments" in keep:
            recorded["shipments"] = run.static.arcs.dense(recorded["shipments"], shape)
        yield t, recorded, resid


def _run_chunk(
    run: Prepared, lo: int, hi: int, kernel: str = "numpy", keep: Sequence[str] = tuple(OUTPUTS)
) -> Iterator[tuple[int, dict[str, np.ndarray], float]]:
    """Yield (t, recorded arrays, max residual) month by month for draws [lo, hi): the
    outputs named in ``keep``; shipments are (A, D) on the trade arcs, in one buffer reused
    every month (recorded arrays are valid until the next month is asked for)."""
    static, net, origins = run.static, run.static.net, run.origins
    prm = chunk_values(run.params, lo, hi)
    vals = {k: v[lo:hi] for k, v in run.values.items()}
    state = initial_state(
        static, hi - lo, int(run.month_ids[0]), prm["demand_growth_per_year"], origins,
        prm["cover_multiple"], prm["catchup_months"],
    )  # fmt: skip
    if kernel == "numba":
        yield from _run_kernel(run, state, prm, vals, lo, keep)
        return
    touched = np.zeros(len(net.products), dtype=bool)  # sourcing ever moved off baseline
    buffer = np.empty(state.share.shape)
    for t, month in enumerate(run.month_ids):
        fx = run.effects(t, vals)
        added = project_capacity(net, int(month))
        flows = step(static, state, fx, prm, int(month), added, origins, buffer)
        resid = check_balance(flows, net, int(month), lo, static.arcs)
        update_prices(static, state, flows, fx, prm)
        update_demand(static, state, fx.tariff, prm)
        update_substitution(static, state, prm)
        update_capacity_entry(static, state, int(month), prm)
        touched |= _touched(static, fx, flows)
        moving = np.flatnonzero(touched)
        update_sourcing(static, state, flows, flows.allow, fx.tariff, prm, moving)
        yield t, _recorded(flows, state, keep), resid


def _run_kernel(
    run: Prepared,
    state: State,
    prm: Mapping[str, ParamValue],
    values: Mapping[str, np.ndarray],
    lo: int,
    keep: Sequence[str],
) -> Iterator[tuple[int, dict[str, np.ndarray], float]]:
    """``_run_chunk`` on the compiled kernel (``fast.py``)."""
    from rareflow.engine import fast

    static = run.static

    def effects_of(t: int) -> Any:
        added = project_capacity(static.net, int(run.month_ids[t]))
        return fast.effects(static, run.effects(t, values), added)

    yield from fast.run_months(static, state, prm, run.month_ids, effects_of, run.origins, lo,
                               keep)  # fmt: skip
