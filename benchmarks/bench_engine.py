"""Engine speed: one deterministic run, a batch of scenarios against one-at-a-time runs, and
a big Monte Carlo run (10,000 draws x 120 months by default) with its peak memory.

    .venv/bin/python benchmarks/bench_engine.py [--draws 1000] [--sample 50] [--months 24]
        [--big-draws 10000] [--big-months 120] [--no-big]

The big run goes in a child process of its own so that its peak RSS (``getrusage``) is its
own; it keeps only the headline outputs (``BIG_OUTPUTS``, float32).

Runs on the bundled baseline when it loads, else on the tests' tiny network. The batch varies
``home_priority`` and ``rerouting_months`` per draw under a licensing scenario; the same
scenarios run one at a time on a sample, extrapolated to all draws. Batches run on both
kernels, the numpy reference step and the compiled one (``engine/kernel.py``), side by side. Times are the best of a
few runs where cheap; all outputs are kept unless the row says otherwise (shipments are the
D x T x P x R x R bulk). Prints one table.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from rareflow.data.network import Network, load_network
from rareflow.engine.parameters import resolve_parameters
from rareflow.engine.simulate import OUTPUTS, chunk_threads, simulate
from rareflow.model.compiled import compile_network
from rareflow.scenarios.model import Scenario

LICENSE = {
    "type": "export_license",
    "id": "lic",
    "actor": "CHN",
    "items": {"elements": ["Dy", "Tb", "Sm"]},
    "approval_share": 0.3,
    "lead_time_months": 2,
    "start": "2026-12",
    "end": "2027-09",
}


BIG_OUTPUTS = ["shortage_share", "value_lost", "price"]


def network() -> tuple[Network, str]:
    try:
        return load_network(), "bundled baseline"
    except Exception as exc:  # no or unfinished baseline: fall back to the tiny network
        sys.path.insert(0, str(Path(__file__).parents[1] / "tests"))
        from conftest import tiny_tables

        return Network(tables=tiny_tables()), f"tiny test network ({type(exc).__name__})"


def timed(fn: Any, repeat: int = 1) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=50)
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--chunk-size", type=int, default=None, help="default: the engine's")
    parser.add_argument("--big-draws", type=int, default=10_000)
    parser.add_argument("--big-months", type=int, default=120)
    parser.add_argument("--no-big", action="store_true", help="skip the big run")
    parser.add_argument("--big-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.big_only:
        big_run(args)
        return

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    net, label = network()
    compiled = compile_network(net)
    shape = compiled.shape
    baseline = Scenario(name="baseline", start="2026-11", months=args.months)
    scenario = Scenario.model_validate(
        {"name": "licence", "start": "2026-11", "months": args.months, "policies": [LICENSE]}
    )
    params = resolve_parameters(compiled.parameters, {})
    rng = np.random.default_rng(0)
    home = rng.uniform(0.0, 1.0, args.draws)
    rerouting = rng.uniform(1.0, 12.0, args.draws)
    batch_params = {**params, "home_priority": home, "rerouting_months": rerouting}

    simulate(compiled, scenario, params)  # warm up imports and caches
    warm = {**params, "home_priority": home[:64], "rerouting_months": rerouting[:64]}
    simulate(compiled, scenario, warm, 64, months=2, kernel="numba")  # load the kernel
    one_base = timed(lambda: simulate(compiled, baseline, params), repeat=5)
    one_policy = timed(lambda: simulate(compiled, scenario, params), repeat=5)
    chunk: dict[str, Any] = {} if args.chunk_size is None else {"chunk_size": args.chunk_size}
    lean = [k for k in OUTPUTS if k != "shipments"]

    def batch_time(kernel: str, outputs: list[str] | None = None) -> float:
        run = {**chunk, "kernel": kernel, "outputs": outputs}
        return timed(lambda: simulate(compiled, scenario, batch_params, args.draws, **run), 2)

    batch, batch_lean = batch_time("numba"), batch_time("numba", lean)
    batch_numpy, batch_numpy_lean = batch_time("numpy"), batch_time("numpy", lean)

    def singles(outputs: list[str] | None = None) -> None:
        for d in range(args.sample):
            p = {**params, "home_priority": float(home[d]), "rerouting_months": float(rerouting[d])}
            simulate(compiled, scenario, p, outputs=outputs)

    sample = timed(singles, repeat=2)
    sample_lean = timed(lambda: singles(lean), repeat=2)
    per_single, per_single_lean = sample / args.sample, sample_lean / args.sample
    per_batch, per_batch_lean = batch / args.draws, batch_lean / args.draws
    rows = [
        ("network", label),
        (
            "regions x products x processes",
            f"{shape['region']} x {shape['product']} x {shape['process']}",
        ),
        ("months", str(args.months)),
        ("CPUs for chunk threads (RAREFLOW_THREADS)", str(chunk_threads())),
        ("load average (1 min) at start", f"{load:.2f}"),
        ("one run, baseline (s)", f"{one_base:.3f}"),
        ("one run, licence scenario (s)", f"{one_policy:.3f}"),
        (f"batch of {args.draws} scenarios (s)", f"{batch:.2f}"),
        (f"one at a time, {args.sample} sampled (s)", f"{sample:.2f}"),
        (f"one at a time, {args.draws} extrapolated (s)", f"{per_single * args.draws:.1f}"),
        ("per scenario, batch (ms)", f"{per_batch * 1e3:.2f}"),
        ("per scenario, one at a time (ms)", f"{per_single * 1e3:.2f}"),
        ("speed-up per scenario (x)", f"{per_single / per_batch:.1f}"),
        ("without shipments: batch per scenario (ms)", f"{per_batch_lean * 1e3:.2f}"),
        ("without shipments: one at a time (ms)", f"{per_single_lean * 1e3:.2f}"),
        ("without shipments: speed-up (x)", f"{per_single_lean / per_batch_lean:.1f}"),
        ("numpy kernel: batch per scenario (ms)", f"{batch_numpy / args.draws * 1e3:.2f}"),
        ("numpy kernel: without shipments (ms)", f"{batch_numpy_lean / args.draws * 1e3:.2f}"),
        ("compiled vs numpy kernel, without shipments (x)", f"{batch_numpy_lean / batch_lean:.1f}"),
    ]
    if not args.no_big:
        big = [sys.executable, __file__, "--big-only", "--big-draws", str(args.big_draws)]
        big += ["--big-months", str(args.big_months)]
        if args.chunk_size is not None:
            big += ["--chunk-size", str(args.chunk_size)]
        out = subprocess.run(big, check=True, capture_output=True, text=True).stdout.split()
        rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        name = f"{args.big_draws} draws x {args.big_months} months"
        rows += [
            (f"{name}, {'+'.join(BIG_OUTPUTS)} f32 (s)", f"{float(out[-1]):.1f}"),
            (f"{name}, peak RSS (MB)", f"{rss_mb:.0f}"),
        ]
    width = max(len(k) for k, _ in rows)
    print(f"{'measure':<{width}}  value")
    for key, val in rows:
        print(f"{key:<{width}}  {val}")


def big_run(args: argparse.Namespace) -> None:
    """The big run alone (in the child process): prints its wall time in seconds."""
    net, _ = network()
    compiled = compile_network(net)
    scenario = Scenario.model_validate(
        {"name": "licence", "start": "2026-11", "months": args.big_months, "policies": [LICENSE]}
    )
    params = resolve_parameters(compiled.parameters, {})
    rng = np.random.default_rng(1)
    params["home_priority"] = rng.uniform(0.0, 1.0, args.big_draws)
    params["rerouting_months"] = rng.uniform(1.0, 12.0, args.big_draws)
    chunk = {} if args.chunk_size is None else {"chunk_size": args.chunk_size}
    start = time.perf_counter()
    simulate(
        compiled, scenario, params, args.big_draws, outputs=BIG_OUTPUTS,
        output_dtype=np.float32, **chunk,
    )  # fmt: skip
    print(time.perf_counter() - start)


if __name__ == "__main__":
    main()
