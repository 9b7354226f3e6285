"""Are two versions of the code the same model? Snapshot, then compare.

    # in each checkout (e.g. a worktree of the old commit, run with PYTHONPATH=<it>/src):
    python benchmarks/equivalence.py snapshot OUT_DIR [--data DATA_DIR]
    python benchmarks/equivalence.py compare OLD_DIR NEW_DIR

A snapshot holds every bundled scenario (and ``history``) on the numpy step and on the
compiled kernel, 3 draws with per-draw parameters over 36 months, and the per-draw totals of
a seeded 600-draw Monte Carlo run of ``reimpose-oct-2025`` with an uncertainty section. Pass
the same ``--data`` (e.g. an export of the older baseline) to both snapshots to compare code
alone. ``compare`` prints the largest relative difference per file and array.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

UNCERTAINTY = {
    "parameters": {"price_sensitivity": {"dist": "uniform", "low": 1.0, "high": 4.0}},
    "policies": {
        "april-2025-licence": {
            "probability": 0.5,
            "approval_share": {"dist": "beta", "a": 4.0, "b": 6.0},
        },
        "oct-2025-licence": {"approval_share": {"dist": "uniform", "low": 0.2, "high": 0.6}},
    },
}
PER_DRAW = {
    "demand_elasticity": np.array([0.05, 0.2, 0.4]),
    "rerouting_months": np.array([2.0, 6.0, 12.0]),
    "home_priority": np.array([0.0, 0.5, 1.0]),
}


def snapshot(out: Path, data: str | None) -> None:
    from rareflow.data.network import load_network
    from rareflow.engine.parameters import resolve_parameters
    from rareflow.engine.simulate import simulate
    from rareflow.model.compiled import compile_network
    from rareflow.scenarios.load import list_scenarios, load_scenario
    from rareflow.uncertainty.run import run_montecarlo

    out.mkdir(parents=True, exist_ok=True)
    network = load_network(data)
    compiled = compile_network(network)
    for row in list_scenarios():
        scenario = load_scenario(row["name"])
        params = resolve_parameters(compiled.parameters, {**scenario.parameters, **PER_DRAW})
        for kernel in ("numpy", "numba"):
            raw = simulate(compiled, scenario, params, 3, months=36, kernel=kernel)
            np.savez(out / f"{row['name']}-{kernel}.npz", **raw.arrays)
    scenario = load_scenario("reimpose-oct-2025")
    scenario = scenario.model_validate({**scenario.model_dump(), "uncertainty": UNCERTAINTY})
    mc = run_montecarlo(scenario, 600, seed=7, months=24, network=network, keep_draw_totals=True)
    totals = mc.draw_totals().select_dtypes("number")
    np.savez(out / "montecarlo-totals.npz", **{str(c): totals[c].to_numpy() for c in totals})
    print(f"wrote {len(list(out.glob('*.npz')))} files to {out}")


def compare(old: Path, new: Path) -> int:
    worst = 0.0
    for path in sorted(old.glob("*.npz")):
        if not (new / path.name).exists():
            print(f"{path.name}: only in {old}")
            continue
        a, b = np.load(path), np.load(new / path.name)
        for key in a.files:
            scale = max(float(np.abs(a[key]).max()), 1.0)
            diff = float(np.abs(a[key] - b[key]).max()) / scale
            worst = max(worst, diff)
            if diff > 0:
                print(f"{path.name} {key}: {diff:.3g}")
    print(f"largest relative difference: {worst:.3g}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    snap = sub.add_parser("snapshot")
    snap.add_argument("out", type=Path)
    snap.add_argument("--data", default=None)
    cmp_ = sub.add_parser("compare")
    cmp_.add_argument("old", type=Path)
    cmp_.add_argument("new", type=Path)
    args = parser.parse_args()
    if args.command == "snapshot":
        snapshot(args.out, args.data)
        return 0
    return compare(args.old, args.new)


if __name__ == "__main__":
    sys.exit(main())
