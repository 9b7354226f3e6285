"""Deal speed (issue 16): evaluating the four bundled deals (24 months each, both arms), and
a 400-point frontier run as one batch of draws.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_deals.py [--points 400] [--kernel numba]

Aims: the four evaluations under 10 s in all; the frontier under 60 s. Each evaluation runs
its two arms against the history scenario from 2025-01 (``deals.arms.DEAL_HISTORY_START``)
to the deal's last month. The frontier varies ``london-release.customer_share`` of
``london-2025`` over ``--points`` levels; with the numba kernel the first call compiles (about
30 s, then cached under ``__pycache__``), so it is warmed on a 2-point grid first and the
warm-up is reported on its own row. Prints one table.
"""

from __future__ import annotations

import argparse
import time

from rareflow.deals.evaluate import evaluate
from rareflow.deals.frontier import frontier
from rareflow.deals.model import bundled_deals
from rareflow.engine.simulate import choose_kernel

DEALS = ("london-2025", "truce-2025", "truce-extended-2027", "no-deal-2026")
AXIS = "london-release.customer_share"


def timed(fn, *args, **kwargs) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--points", type=int, default=400)
    parser.add_argument("--kernel", choices=["numpy", "numba"], default=None)
    args = parser.parse_args()
    assert set(DEALS) <= set(bundled_deals())
    rows = []
    total = 0.0
    for name in DEALS:
        seconds = timed(evaluate, name)
        total += seconds
        rows.append((f"evaluate {name} (24 months, 2 arms)", seconds))
    rows.append(("evaluate the four deals (aim < 10 s)", total))
    # warm up on the kernel the full grid will choose (a 2-point grid alone stays on numpy,
    # and the grid's run would then time numba's first compile)
    kernel = choose_kernel(args.kernel, args.points)
    warm = timed(frontier, "london-2025", [f"{AXIS}=0:1:2"], kernel=kernel)
    rows.append((f"frontier warm-up (2 points, {kernel}; compiles numba once)", warm))
    grid = [f"{AXIS}=0:1:{args.points}"]
    rows.append(
        (
            f"frontier {args.points} points (aim < 60 s)",
            timed(frontier, "london-2025", grid, kernel=kernel),
        )
    )
    width = max(len(r[0]) for r in rows)
    print(f"{'what':<{width}}  seconds")
    for what, seconds in rows:
        print(f"{what:<{width}}  {seconds:7.2f}")


if __name__ == "__main__":
    main()
