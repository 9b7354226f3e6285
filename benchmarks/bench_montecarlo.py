"""Monte Carlo at scale: wall time, peak RSS, one-at-a-time cost, roofline, Dask scaling.

    .venv/bin/python benchmarks/bench_montecarlo.py [--draws 10000] [--months 120]
        [--sample 4] [--dask-draws 100000] [--dask-months 120] [--skip-dask]
        [--origin-rules 0|1|2]

Runs ``reimpose-oct-2025`` on the bundled baseline with an uncertainty section (parameters,
approval shares, the probability that the licences happen at all). Each measured run starts in
a fresh process so that its peak RSS (``resource.getrusage``) is its own. The roofline is the
bytes the monthly step must touch per draw (``bytes_per_draw_month``: the state it carries,
on the trade arcs, and the outputs the statistics read) times draws x months, divided by the
copy bandwidth measured here (one thread). ``--origin-rules`` adds buyer-side origin rules
(the US defence rule against Chinese origin; an EU one against Chinese and Burmese origin),
so that the cost of tracking origin on every tonne can be read against the same run without
them (the scenario's content rule alone tracks Chinese origin). Prints one table.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sys
import time
from typing import Any

import numpy as np

UNCERTAINTY = {
    "parameters": {
        "demand_elasticity": {"dist": "uniform", "low": 0.05, "high": 0.3},
        "price_sensitivity": {"dist": "triangular", "low": 1.0, "mode": 2.0, "high": 4.0},
        "rerouting_months": {"dist": "uniform", "low": 3.0, "high": 12.0},
    },
    "policies": {
        "april-2025-licence": {
            "probability": 0.8,
            "approval_share": {"dist": "beta", "a": 4.0, "b": 6.0},
        },
        "oct-2025-licence": {"approval_share": {"dist": "uniform", "low": 0.2, "high": 0.6}},
    },
}


ORIGIN_RULES = [
    {"type": "origin_rule", "id": "us-defence-origin", "actor": "USA", "origin": "CHN",
     "sectors": ["defence"], "from_stage": "mining", "start": "2027-01"},
    {"type": "origin_rule", "id": "eu-origin", "actor": "DEU", "origin": ["CHN", "MMR"],
     "sectors": ["defence", "wind"], "from_stage": "separation", "start": "2027-01"},
]  # fmt: skip


def scenario(months: int, origin_rules: int = 0) -> Any:
    from rareflow.scenarios.load import load_scenario
    from rareflow.scenarios.model import Scenario
    from rareflow.scenarios.uncertainty import Uncertainty

    scen = load_scenario("reimpose-oct-2025")
    if origin_rules:
        doc = scen.model_dump(exclude_none=True)
        doc["policies"] = [*doc["policies"], *ORIGIN_RULES[:origin_rules]]
        scen = Scenario.model_validate(doc)
    spec = Uncertainty.model_validate(UNCERTAINTY)
    return scen.model_copy(update={"uncertainty": spec, "months": months})


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def copy_bandwidth(mb: int = 256, repeat: int = 5) -> float:
    """Bytes per second that np.copyto moves (read + write), best of ``repeat``."""
    src = np.ones(mb * 2**20 // 8)
    dst = np.empty_like(src)
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - start)
    return 2 * src.nbytes / best


def bytes_per_draw_month(shape: dict[str, int]) -> int:
    """What one draw's month must read and write at the least, in 8-byte floats: the state
    carried to the next month, read and written (stock, demand multiple, substitution, origin
    share, pull: R x P each; sourcing shares: one per trade arc; prices: P x M), and the
    outputs the statistics fold, written then read (three R x S headline arrays, prices).
    A Monte Carlo run records no shipments, and its per-draw policy values are a few terms
    per measure, not an array per arc, so neither counts."""
    r, p, s, m, a = shape["region"], shape["product"], shape["sector"], 2, shape["arcs"]
    state = 5 * r * p + a + p * m
    outputs = 3 * r * s + p * m
    return 8 * 2 * (state + outputs)


def network_shape() -> dict[str, int]:
    """Regions, products, sectors and trade arcs of the benchmark's scenario."""
    from rareflow.data.network import load_network
    from rareflow.engine.prepare import scenario_static
    from rareflow.model.compiled import compile_network

    net = compile_network(load_network())
    arcs = scenario_static(net, scenario(1)).arcs
    return {**net.shape, "arcs": int(arcs.size)}


# -- measured runs (each in a fresh process) ---------------------------------------------------
def _montecarlo(
    draws: int, months: int, executor: str, workers: int, out: Any, origin_rules: int = 0
) -> None:
    from rareflow.uncertainty.executors import DaskExecutor, LocalExecutor
    from rareflow.uncertainty.run import run_montecarlo

    scen = scenario(months, origin_rules)
    runner: Any = LocalExecutor() if executor == "local" else DaskExecutor(n_workers=workers)
    with runner:
        start = time.perf_counter()
        result = run_montecarlo(scen, draws, seed=0, executor=runner)
        wall = time.perf_counter() - start
    out.put((wall, peak_rss_mb(), float(result.horizon()["value_lost_mean"].sum())))


def measured(
    draws: int, months: int, executor: str = "local", workers: int = 1, origin_rules: int = 0
) -> tuple:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    args = (draws, months, executor, workers, queue, origin_rules)
    proc = ctx.Process(target=_montecarlo, args=args)
    proc.start()
    result = queue.get()
    proc.join()
    return result


def one_at_a_time(months: int, sample: int, origin_rules: int = 0) -> float:
    """Seconds per draw when each draw is its own ``simulate`` call (mean of ``sample``)."""
    from rareflow.data.network import load_network
    from rareflow.engine.simulate import simulate
    from rareflow.uncertainty.montecarlo import Config
    from rareflow.uncertainty.run import make_job
    from rareflow.uncertainty.sampling import draw_inputs, factors, uniforms

    scen = scenario(months, origin_rules)
    job = make_job(scen, load_network(), Config(sample, 0, months))
    u = uniforms(0, 0, sample + 1, len(factors(scen)))

    def one(d: int, months: int) -> None:
        inputs = draw_inputs(scen, u[d : d + 1], months, job.parameters)
        params = {**job.parameters, **inputs.parameters}
        simulate(job.compiled, inputs.scenario, params, 1, months=months, values=inputs.values,
                 outputs=["shortage_share", "units_not_built", "value_lost", "price"])  # fmt: skip

    one(sample, 2)  # warm up: imports and caches are not per-draw costs
    start = time.perf_counter()
    for d in range(sample):
        one(d, months)
    return (time.perf_counter() - start) / sample


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--draws", type=int, default=10_000)
    parser.add_argument("--months", type=int, default=120)
    parser.add_argument("--sample", type=int, default=4)
    parser.add_argument("--dask-draws", type=int, default=100_000)
    parser.add_argument("--dask-months", type=int, default=120)
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--only-dask", action="store_true", help="just the Dask scaling rows")
    parser.add_argument("--origin-rules", type=int, choices=(0, 1, 2), default=0,
                        help="buyer-side origin rules added to the scenario")  # fmt: skip
    args = parser.parse_args()

    shape = network_shape()
    rows = [("machine", f"{os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}", "")]
    if not args.only_dask:
        rows += local_rows(args, shape)
    if not args.skip_dask:
        rows += dask_rows(args.dask_draws, args.dask_months)
    rows.append(("machine load at the end", f"{os.getloadavg()[0]:.1f}", ""))
    width = max(len(k) for k, _, _ in rows)
    print(f"{'measure':<{width}}  {'value':>14}  aim")
    for key, val, aim in rows:
        print(f"{key:<{width}}  {val:>14}  {aim}")


def dask_rows(n: int, t: int) -> list[tuple[str, str, str]]:
    one = measured(n, t, "dask", 1)[0]
    print(f"dask, 1 worker: {one:.1f} s", file=sys.stderr, flush=True)
    two = measured(n, t, "dask", 2)[0]
    print(f"dask, 2 workers: {two:.1f} s", file=sys.stderr, flush=True)
    return [
        (f"dask, 1 worker, {n} x {t} (s)", f"{one:.1f}", ""),
        (f"dask, 2 workers, {n} x {t} (s)", f"{two:.1f}", ""),
        ("dask speed-up, 2 vs 1 worker (x)", f"{one / two:.2f}", ">= 1.6"),
    ]


def local_rows(args: argparse.Namespace, shape: dict[str, int]) -> list[tuple[str, str, str]]:
    bandwidth = copy_bandwidth()
    per_draw_month = bytes_per_draw_month(shape)
    roofline = args.draws * args.months * per_draw_month / bandwidth
    single = one_at_a_time(args.months, args.sample, args.origin_rules)
    print(f"one at a time: {single:.3f} s/draw", file=sys.stderr, flush=True)
    wall, rss, value = measured(args.draws, args.months, origin_rules=args.origin_rules)
    print(f"Monte Carlo: {wall:.1f} s, {rss:.0f} MB", file=sys.stderr, flush=True)
    return [
        ("network (regions x products x sectors, arcs)",
         f"{shape['region']} x {shape['product']} x {shape['sector']}, {shape['arcs']}", ""),
        ("copy bandwidth (GB/s)", f"{bandwidth / 1e9:.1f}", ""),
        ("bytes per draw-month (KB)", f"{per_draw_month / 1e3:.0f}", ""),
        (f"roofline, {args.draws} x {args.months} (s)", f"{roofline:.1f}", ""),
        (f"Monte Carlo {args.draws} x {args.months}, local (s)", f"{wall:.1f}", "< 30"),
        ("  x roofline", f"{wall / roofline:.1f}", "<= 3"),
        ("  per draw-month (us)", f"{wall / args.draws / args.months * 1e6:.0f}", ""),
        ("  peak RSS (MB)", f"{rss:.0f}", "< 4000"),
        ("  E[total value lost] ($bn)", f"{value / 1e9:.2f}", ""),
        (f"one at a time, {args.sample} sampled (s/draw)", f"{single:.2f}", ""),
        (f"one at a time, {args.draws} extrapolated (s)", f"{single * args.draws:.0f}", ""),
        ("speed-up per draw (x)", f"{single * args.draws / wall:.1f}", ">= 50"),
    ]  # fmt: skip


if __name__ == "__main__":
    main()
