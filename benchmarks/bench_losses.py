"""The headline losses of ``reimpose-oct-2025`` under the Monte Carlo benchmark's uncertainty.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_losses.py [--draws 200] [--months 120]

Draws the benchmark's uncertainty (``bench_montecarlo.UNCERTAINTY``: parameters, approval
shares, the probability that the licences happen at all), runs the draws in one batch and
prints, per year of the horizon and as the mean over draws: value lost (value added of the
units lost; before issue 14 the gross output of every unit short), gross output lost, and
the units of defence and EVs short, lost and deferred. Outputs this version of the engine
does not have are left out, so the same command measures the code before and after
(``docs/losses.md``). ``--format json`` prints one object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

SECTOR_OUTPUTS = ("units_not_built", "units_lost", "units_deferred", "value_lost",
                  "value_deferred", "gross_output_lost")  # fmt: skip


def measure(draws: int, months: int, seed: int = 0) -> dict[str, float]:
    from bench_montecarlo import scenario
    from rareflow.data.network import load_network
    from rareflow.engine.outputs import OUTPUTS
    from rareflow.engine.simulate import simulate
    from rareflow.uncertainty.montecarlo import Config
    from rareflow.uncertainty.run import make_job
    from rareflow.uncertainty.sampling import draw_inputs, factors, uniforms

    scen = scenario(months)
    job = make_job(scen, load_network(), Config(draws, seed, months))
    inputs = draw_inputs(scen, uniforms(seed, 0, draws, len(factors(scen))), months,
                         job.parameters)  # fmt: skip
    keep = [k for k in SECTOR_OUTPUTS if k in OUTPUTS]
    start = time.perf_counter()
    raw = simulate(job.compiled, inputs.scenario, {**job.parameters, **inputs.parameters},
                   draws, months=months, values=inputs.values, outputs=keep)  # fmt: skip
    wall = time.perf_counter() - start
    sectors = list(job.compiled.sectors)
    years = months / 12.0
    out: dict[str, float] = {"draws": draws, "months": months, "seconds": round(wall, 2)}
    for k in keep:  # (D, T, R, S): summed over months and regions, mean over draws, per year
        per_sector = raw.arrays[k].sum(axis=(1, 2)).mean(axis=0) / years
        scale = 1e9 if k.startswith(("value", "gross")) else 1.0
        unit = "usd_bn_per_year" if scale > 1 else "per_year"
        out[f"{k}_{unit}"] = float(per_sector.sum() / scale)
        for sector in ("defence", "ev_traction"):
            out[f"{sector}_{k}_{unit}"] = float(per_sector[sectors.index(sector)] / scale)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--months", type=int, default=120)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    result = measure(args.draws, args.months, args.seed)
    if args.format == "json":
        print(json.dumps(result, indent=2))
        return
    width = max(map(len, result))
    for key, value in result.items():
        print(f"{key:<{width}}  {value:,.6g}")


if __name__ == "__main__":
    main()
