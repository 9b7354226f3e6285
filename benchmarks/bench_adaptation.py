"""How the chain adapts to a long restriction and how a price spike unwinds (issue 18).

    PYTHONPATH=src python benchmarks/bench_adaptation.py

1. ``reimpose-oct-2025`` run for 120 months (numpy step, one draw, the stored calibration):
   value lost per year, with every answer to prices and with capacity entry and the long-run
   demand response switched off.
2. The 2010-2011 episode (``history.crisis2010``, the ``both`` scenario: quota cut and Japan
   hold) run on to 2016-12: the ex-China Dy, Tb and NdPr oxide price relative to the
   baseline run, its peak month and multiple, its level at 2013-12 and its yearly means.
Not a timed test: it measures the model, not the code.
"""

from __future__ import annotations

import numpy as np

from rareflow.data.network import load_network
from rareflow.engine.parameters import resolve_parameters
from rareflow.engine.simulate import simulate
from rareflow.history.crisis2010 import modelled_paths
from rareflow.history.parameters import engine_overrides
from rareflow.model.compiled import compile_network
from rareflow.scenarios.load import load_scenario

FROZEN = {"capacity_entry_per_year": 0.0, "demand_elasticity_long": 0.0}


def yearly_loss_bn_usd(extra: dict[str, float], years: int = 10) -> np.ndarray:
    net = compile_network(load_network())
    params = resolve_parameters(net.parameters, {**engine_overrides(), **extra})
    raw = simulate(
        net, load_scenario("reimpose-oct-2025"), params, months=12 * years,
        outputs=["value_lost"], kernel="numpy",
    )  # fmt: skip
    lost = raw.arrays["value_lost"][0].sum(axis=(1, 2))
    return lost.reshape(years, 12).sum(axis=1) / 1e9


def crisis_paths(until: str = "2016-12") -> None:
    paths = modelled_paths(until)
    for product in ("dy_oxide", "tb_oxide", "ndpr_oxide"):
        part = paths[(paths["product"] == product) & (paths["market"] == "ex_china")]
        series = part.set_index("month")["modelled_multiple"]
        peak, end = series.idxmax(), series["2013-12"]
        means = " ".join(f"{year}:{values.mean():.2f}"
                         for year, values in series.groupby(series.index.str[:4]))  # fmt: skip
        print(
            f"  {product} ex-China: peak {series[peak]:.2f}x in {peak}; "
            f"2013-12 {end:.2f}x ({end / series[peak]:.0%} of peak); {means}"
        )


def main() -> None:
    print("reimpose-oct-2025 over 120 months, value lost per year (bn USD):")
    for name, extra in (("adapting", {}), ("no entry, no long-run demand", FROZEN)):
        row = " ".join(f"{x:.2f}" for x in yearly_loss_bn_usd(extra))
        print(f"  {name}: {row}")
    print("2010-2011 quota cut + Japan hold, run to 2016-12:")
    crisis_paths()


if __name__ == "__main__":
    main()
