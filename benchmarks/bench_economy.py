"""The economy layer's ARIO step against BoARIO 0.7.2, side by side in one run.

    PYTHONPATH=src python benchmarks/bench_economy.py [--quick] [--exiobase]

1. per step at ~2,500 industries (25 regions x 100 sectors, a random dense balanced table):
   BoARIO's ``Simulation.next_step`` against ``ario.step`` (one draw);
2. peak memory and per step at EXIOBASE size (49 x 163 = 7,987 industries, a random sparse
   table with 10% of Z nonzero), each in a fresh process; BoARIO steps the same table (held
   dense) only with ``--exiobase``: it needs about 8 GB and a few minutes;
3. 1,000 draws at 2,500 industries in one pass (``ario.simulate``, chunks of
   ``ario.draws_per_chunk``) against one draw, with the per-draw state in float64 (the
   default) and in float32 (``ario.cast``; ``--dtype float32`` on the CLI).

Each side gets ``--threads`` threads (BLAS and numba; default 1): on a shared machine more
threads wait on each other and the timings say more about the neighbours than the code.

Every table is balanced (x = Z 1 + Y 1) with a capacity loss on 5% of industries, so both
models ration, restock and reorder. Times are medians of the steps after a warm-up step.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings

import numpy as np
import scipy.sparse as sp


def table(regions: int, sectors: int, density: float, seed: int = 0) -> tuple[object, np.ndarray]:
    """Random Z (N, N) (dense when density >= 1) with column sums 60% of output, and final
    demand so that every row balances."""
    rng = np.random.default_rng(seed)
    n = regions * sectors
    x = rng.uniform(50, 150, n)
    if density >= 1:
        z = rng.uniform(0, 1, (n, n))
        z *= 0.6 * x / z.sum(axis=0)
        z_out: object = z
        rows = z.sum(axis=1)
    else:
        z = sp.random(n, n, density=density, format="csc", random_state=seed)
        z = z @ sp.diags(0.6 * x / np.maximum(np.asarray(z.sum(axis=0)).ravel(), 1e-12))
        z_out = sp.csr_matrix(z)
        rows = np.asarray(z.sum(axis=1)).ravel()
    final = np.maximum(x - rows, 0) + 0.2 * x  # output is whatever balances
    return z_out, final


def delta(n: int, draws: int, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.zeros((draws, n))
    hit = rng.choice(n, max(1, n // 20), replace=False)
    out[:, hit] = rng.uniform(0.2, 0.6, (draws, len(hit)))
    return out


def ours_steps(regions: int, sectors: int, density: float, draws: int, steps: int,
               dtype: str = "float64") -> dict:  # fmt: skip
    from rareflow.economy import ario

    z, final = table(regions, sectors, density)
    t0 = time.perf_counter()
    st = ario.cast(ario.static(z, final, regions, sectors), dtype)
    setup = time.perf_counter() - t0
    times = []
    chunk = ario.draws_per_chunk(st)
    for lo in range(0, draws, chunk):
        d = min(chunk, draws - lo)
        shock = delta(st.industries, d)
        t = time.perf_counter()
        for k, _ in enumerate(ario.simulate(st, (shock for _ in range(steps)), d)):
            now = time.perf_counter()  # the step just yielded ran since t
            if k > 0 or steps == 1:
                times.append((lo, now - t))
            t = time.perf_counter()
    per_chunk: dict[int, list[float]] = {}
    for lo, t in times:
        per_chunk.setdefault(lo, []).append(t)
    step_all = sum(float(np.median(v)) for v in per_chunk.values())  # one step of every draw
    return {"setup_s": setup, "step_s": step_all, "sparse": st.z.sparse, "n": st.industries,
            "chunk": chunk}  # fmt: skip


def boario_steps(regions: int, sectors: int, density: float, steps: int) -> dict:
    import logging

    import pandas as pd
    import pymrio
    from boario.event import EventArbitraryProd
    from boario.extended_models import ARIOPsiModel
    from boario.simulation import Simulation

    logging.getLogger("boario").setLevel(logging.ERROR)
    warnings.simplefilter("ignore")
    z, final = table(regions, sectors, density)  # the same table rareflow steps
    z = z.toarray() if sp.issparse(z) else z  # BoARIO holds Z dense
    n = regions * sectors
    idx = pd.MultiIndex.from_product(
        [[f"r{r:03d}" for r in range(regions)], [f"s{s:03d}" for s in range(sectors)]],
        names=["region", "sector"],
    )
    zf = pd.DataFrame(np.asarray(z), index=idx, columns=idx)
    cols = pd.MultiIndex.from_product([idx.levels[0], ["fd"]], names=["region", "category"])
    yf = pd.DataFrame(np.zeros((n, regions)), index=idx, columns=cols)
    for r in range(regions):  # final demand bought where it is made
        yf.iloc[r * sectors : (r + 1) * sectors, r] = final[r * sectors : (r + 1) * sectors]
    x = pymrio.calc_x(zf, yf)
    io = pymrio.IOSystem(Z=zf, Y=yf, x=x, A=pymrio.calc_A(zf, x))
    t0 = time.perf_counter()
    model = ARIOPsiModel(io)
    sim = Simulation(model, n_temporal_units_to_sim=steps + 5)  # event: whole run
    setup = time.perf_counter() - t0
    shock = delta(n, 1)[0]
    hit = np.flatnonzero(shock)
    impact = pd.Series(shock[hit], index=idx[hit])
    sim.add_event(EventArbitraryProd(impact=impact, recovery_tau=1, occurrence=1, duration=steps))
    times = []
    for k in range(steps):
        t = time.perf_counter()
        sim.next_step()
        if k > 1:
            times.append(time.perf_counter() - t)
    return {"setup_s": setup, "step_s": float(np.median(times)), "n": n}


THREADS = 1  # threads each side may use (BLAS, numba); --threads


def child(kind: str, regions: int, sectors: int, density: float, draws: int, steps: int,
          dtype: str = "float64") -> dict:  # fmt: skip
    """Run one measurement in a fresh process, with ``THREADS`` threads for BLAS and numba
    alike, and read its peak memory."""
    args = json.dumps([kind, regions, sectors, density, draws, steps, dtype])
    code = "import sys; sys.path.insert(0, 'benchmarks'); import bench_economy as b; b.measure()"
    env = dict(os.environ)
    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                 "NUMBA_NUM_THREADS"):  # fmt: skip
        env[name] = str(THREADS)
    out = subprocess.run([sys.executable, "-c", code, args], capture_output=True, text=True,
                         env=env)  # fmt: skip
    if out.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{out.stderr[-2000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def measure() -> None:
    kind, regions, sectors, density, draws, steps, dtype = json.loads(sys.argv[1])
    if kind == "ours_steps":
        result = ours_steps(regions, sectors, density, draws, steps, dtype)
    else:
        result = boario_steps(regions, sectors, density, steps)
    result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer steps")
    parser.add_argument("--exiobase", action="store_true",
                        help="also step BoARIO at EXIOBASE size (needs ~8 GB and minutes)")  # fmt: skip
    parser.add_argument("--threads", type=int, default=1,
                        help="threads for BLAS and numba on both sides (a shared machine: 1)")  # fmt: skip
    args = parser.parse_args(argv)
    global THREADS
    THREADS = args.threads
    steps = 4 if args.quick else 8
    print(f"python {sys.version.split()[0]}; {THREADS} thread(s) a side; load average "
          f"{os.getloadavg()[0]:.1f} at the start")  # fmt: skip
    b25 = child("boario_steps", 25, 100, 1.0, 1, steps)
    o25 = child("ours_steps", 25, 100, 1.0, 1, steps)
    print(f"1. per step at {b25['n']:,} industries (dense): BoARIO {b25['step_s'] * 1e3:.1f} ms,"
          f" rareflow {o25['step_s'] * 1e3:.2f} ms: {b25['step_s'] / o25['step_s']:.1f}x;"
          f" peak memory BoARIO {b25['peak_mb']:,.0f} MB, rareflow {o25['peak_mb']:,.0f} MB")  # fmt: skip
    ox = child("ours_steps", 49, 163, 0.1, 1, steps)
    head = (f"2. EXIOBASE size {ox['n']:,} industries (10% of Z nonzero, sparse={ox['sparse']}): "
            f"rareflow {ox['step_s'] * 1e3:.1f} ms a step, peak {ox['peak_mb']:,.0f} MB "
            f"(setup {ox['setup_s']:.1f} s)")  # fmt: skip
    if args.exiobase:
        bx = child("boario_steps", 49, 163, 0.1, 1, 4)  # the same table, held dense by BoARIO
        print(f"{head}; BoARIO {bx['step_s']:.2f} s a step, peak {bx['peak_mb']:,.0f} MB "
              f"(setup {bx['setup_s']:.1f} s): {bx['step_s'] / ox['step_s']:.0f}x")  # fmt: skip
    else:
        print(f"{head}; BoARIO not run at this size (--exiobase: about 7.3 GB, 2.24 s a step "
              f"in issue 14): vs that {2.24 / ox['step_s']:.0f}x")  # fmt: skip
    o1000 = child("ours_steps", 25, 100, 1.0, 1000, steps)
    h1000 = child("ours_steps", 25, 100, 1.0, 1000, steps, "float32")
    h1 = child("ours_steps", 25, 100, 1.0, 1, steps, "float32")
    one = o25["step_s"]
    print(f"3. one step of 1,000 draws at {o25['n']:,} industries in one pass (aim: under 100x "
          f"one draw, {one * 1e3:.2f} ms in float64; {h1['step_s'] * 1e3:.2f} ms in float32):")  # fmt: skip
    for name, run in (("float64", o1000), ("float32", h1000)):
        print(f"   {name}: {run['step_s']:.2f} s ({run['step_s']:.2f} ms a draw), "
              f"{run['step_s'] / one:.0f}x one float64 draw, "
              f"peak {run['peak_mb']:,.0f} MB (chunks of {run['chunk']})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
