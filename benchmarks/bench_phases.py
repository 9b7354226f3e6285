"""Where a Monte Carlo month goes: one block's time and the compiled kernel's phases.

    .venv/bin/python benchmarks/bench_phases.py [--months 120] [--blocks 3]

Runs blocks of ``reimpose-oct-2025`` with the benchmark's uncertainty section
(``bench_montecarlo.UNCERTAINTY``) on one thread (``RAREFLOW_THREADS=1``). Prints the seconds of
a block, best of ``--blocks``, and the share of the kernel's time in each phase of ``month``
(``_plan``, ``_ship`` ...), in CPU timestamp-counter cycles per tile and month. The cycles
come from a copy of the package whose ``month`` reads the counter around each phase
(``llvm.readcyclecounter``) and compiles afresh (about a minute); its block time is printed
beside the real one's, which is timed first. A tool for work on the kernel, not a test: the
installed package is not changed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

CHILD = """
import json, sys, time
sys.path.insert(0, {bench!r})
import bench_montecarlo as bm
from rareflow.data.network import load_network
from rareflow.engine import fast
from rareflow.uncertainty.montecarlo import BLOCK, Config, run_block
from rareflow.uncertainty.run import make_job
blocks = {blocks}
job = make_job(bm.scenario({months}), load_network(), Config(BLOCK * (blocks + 1), 0, {months}))
run_block(job, 0)  # compile, load and warm up
best = None
for b in range(1, blocks + 1):
    start = time.perf_counter()
    run_block(job, b)
    wall = time.perf_counter() - start
    cycles = fast.LAST_WORK.cycles[:, 0].tolist()
    if best is None or wall < best[0]:
        best = (wall, cycles)
print(json.dumps({{"wall": best[0], "cycles": best[1]}}))
"""

RDTSC = """
from numba.core import types as _types
from numba.extending import intrinsic as _intrinsic
import llvmlite.ir as _ir


@_intrinsic
def _rdtsc(typingctx):
    def codegen(context, builder, signature, args):
        fn = builder.module.declare_intrinsic("llvm.readcyclecounter", fnty=_ir.FunctionType(_ir.IntType(64), []))
        return builder.call(fn, [])
    return _types.int64(), codegen
"""


def instrument(package: Path) -> list[str]:
    """Rewrite the copied kernel so that ``month`` adds each phase's cycles to a new
    ``Work.cycles`` field (rows: phases, then the tile-month count); returns the phases."""
    kernel = package / "engine" / "kernel.py"
    text = kernel.read_text()
    text = text.replace("\nclass Topology(", RDTSC + "\n\nclass Topology(", 1)
    text = text.replace(
        "    active: np.ndarray  # (A + 1,)",
        "    cycles: np.ndarray  # (A, T) phase cycles (bench_phases)\n    active: np.ndarray  # (A + 1,)",
        1,
    )
    text = text.replace('    "quota": "Q",\n}', '    "quota": "Q",\n    "cycles": "A",\n}', 1)
    start = text.index("    for b in range(state.stock.shape[0]):\n", text.index("def month("))
    end = text.index("\n\n\n", start)
    phases: list[str] = []
    lines = []
    for line in text[start:end].split("\n"):
        call = re.match(r"^( +)(_\w+)\(", line)
        if call:
            indent, name = call.groups()
            lines += [f"{indent}_c0 = _rdtsc()", line,
                      f"{indent}w.cycles[{len(phases)}, 0] += _rdtsc() - _c0"]  # fmt: skip
            phases.append(name)
        else:
            lines.append(line)
    lines.append(f"        w.cycles[{len(phases)}, 0] += 1")
    kernel.write_text(text[:start] + "\n".join(lines) + text[end:])
    fast = package / "engine" / "fast.py"
    hook = "        kn.month(topo, fx, kstate, prm, int(month), out, w)\n"
    assert hook in fast.read_text(), "fast.run_months no longer calls kn.month as expected"
    fast.write_text(
        fast.read_text().replace(
            hook,
            "        if t == 0:\n            w.cycles[:] = 0.0\n" + hook
            + "        global LAST_WORK\n        LAST_WORK = w\n",
        )
    )  # fmt: skip
    return phases


def real_block(months: int, blocks: int) -> float:
    """Seconds of one block of the installed package, best of ``blocks``."""
    import bench_montecarlo as bm
    from rareflow.data.network import load_network
    from rareflow.uncertainty.montecarlo import BLOCK, Config, run_block
    from rareflow.uncertainty.run import make_job

    job = make_job(bm.scenario(months), load_network(), Config(BLOCK * (blocks + 1), 0, months))
    run_block(job, 0)
    best = float("inf")
    for b in range(1, blocks + 1):
        start = time.perf_counter()
        run_block(job, b)
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--months", type=int, default=120)
    parser.add_argument("--blocks", type=int, default=3)
    args = parser.parse_args()
    os.environ["RAREFLOW_THREADS"] = "1"
    import rareflow
    from rareflow.engine import kernel
    from rareflow.uncertainty.sampling import BLOCK

    real = real_block(args.months, args.blocks)
    with tempfile.TemporaryDirectory() as tmp:
        package = Path(tmp) / "rareflow"
        shutil.copytree(Path(rareflow.__file__).parent, package,
                        ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
        phases = instrument(package)
        code = CHILD.format(bench=str(Path(__file__).parent), blocks=args.blocks,
                            months=args.months)  # fmt: skip
        env = {**os.environ, "PYTHONPATH": tmp, "NUMBA_CACHE_DIR": str(Path(tmp) / "cache")}
        out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                             capture_output=True, text=True).stdout  # fmt: skip
    got = json.loads(out.strip().splitlines()[-1])
    cycles, tile_months = got["cycles"][: len(phases)], got["cycles"][len(phases)]
    total = sum(cycles)
    print(f"block of {BLOCK} draws x {args.months} months, one thread: {real:.3f} s "
          f"(instrumented: {got['wall']:.3f} s); tiles of {kernel.TILE} draws")  # fmt: skip
    print(f"kernel: {total / tile_months:,.0f} cycles per tile-month")
    width = max(map(len, phases))
    print(f"{'phase':<{width}}  {'share':>6}  cycles per tile-month")
    merged: dict[str, float] = {}
    for name, c in zip(phases, cycles, strict=True):
        merged[name] = merged.get(name, 0.0) + c
    for name, c in merged.items():
        print(f"{name:<{width}}  {c / total:>6.1%}  {c / tile_months:>12,.0f}")


if __name__ == "__main__":
    main()
