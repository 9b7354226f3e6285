"""Which uncertain inputs drive the headline outputs: one-at-a-time, Morris, Sobol (SALib).

A scenario without an ``uncertainty:`` section is analysed over the documented default ranges
of the main behavioural parameters (``defaults.DEFAULT_RANGES``; ``Sensitivity.assumed``).

Every design lives on the unit cube of the factors' cumulative probabilities and maps to
values through each distribution's inverse CDF (``sampling.ppf``), so bounds, skew and
discrete choices are respected. Outputs are per-draw horizon totals: ``value_lost_usd``,
``units_not_built`` and ``peak_shortage_share`` (all regions and sectors).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rareflow.data.network import Network
from rareflow.errors import UserInputError
from rareflow.scenarios.model import Scenario
from rareflow.uncertainty.defaults import with_default_ranges
from rareflow.uncertainty.executors import DaskExecutor, LocalExecutor
from rareflow.uncertainty.montecarlo import BLOCK, Config, montecarlo
from rareflow.uncertainty.sampling import Factor, factors

METHODS = ("oat", "morris", "sobol")
OUTPUTS = ("value_lost_usd", "units_not_built", "peak_shortage_share")
EPS = 1e-6  # keep designs off 0 and 1, where unbounded inverse CDFs are infinite
LOW, HIGH = 0.05, 0.95  # one-at-a-time swings: each factor's 5th and 95th percentile


@dataclass
class Sensitivity:
    method: str
    output: str
    table: pd.DataFrame  # one row per factor, most influential first; 'importance' orders it
    runs: int
    assumed: bool = False  # the factors are the default ranges (the scenario declared none)
    ranges: str = "scenario"  # 'scenario', 'posterior' (bundled marginals) or 'defaults'


def design(method: str, fs: list[Factor], size: int, seed: int) -> np.ndarray:
    """(runs, factors) points on the unit cube."""
    k = len(fs)
    if method == "oat":
        rows = [np.full(k, 0.5)]
        for i in range(k):
            for u in (LOW, HIGH):
                row = np.full(k, 0.5)
                row[i] = u
                rows.append(row)
        return np.array(rows)
    problem = _problem(fs)
    if method == "morris":
        from SALib.sample import morris

        x = morris.sample(problem, size, num_levels=4, seed=seed)
    else:
        from SALib.sample import sobol

        x = sobol.sample(problem, size, calc_second_order=False, seed=seed)
    return np.clip(x, EPS, 1.0 - EPS)


def _problem(fs: list[Factor]) -> dict[str, object]:
    return {"num_vars": len(fs), "names": [f.name for f in fs], "bounds": [[0.0, 1.0]] * len(fs)}


def analyse(method: str, fs: list[Factor], x: np.ndarray, y: np.ndarray) -> pd.DataFrame:
    names = [f.name for f in fs]
    if method == "oat":
        base, low, high = y[0], y[1::2], y[2::2]
        table = pd.DataFrame({"factor": names, "base": base, "low": low, "high": high})
        table["importance"] = np.abs(high - low)
    elif method == "morris":
        from SALib.analyze import morris

        res = morris.analyze(_problem(fs), x, y, num_levels=4)
        table = pd.DataFrame({"factor": names, "mu_star": res["mu_star"],
                              "mu_star_conf": res["mu_star_conf"], "sigma": res["sigma"]})  # fmt: skip
        table["importance"] = table["mu_star"]
    else:
        from SALib.analyze import sobol

        res = sobol.analyze(_problem(fs), y, calc_second_order=False)
        table = pd.DataFrame({"factor": names, "S1": res["S1"], "S1_conf": res["S1_conf"],
                              "ST": res["ST"], "ST_conf": res["ST_conf"]})  # fmt: skip
        table["importance"] = table["ST"]
    table.insert(1, "kind", [f.kind for f in fs])
    return table.sort_values("importance", ascending=False, kind="stable").reset_index(drop=True)


def sensitivity(
    scenario: Scenario | str | Path,
    method: str = "oat",
    *,
    size: int = 16,
    seed: int = 0,
    output: str = "value_lost_usd",
    months: int | None = None,
    network: Network | None = None,
    executor: LocalExecutor | DaskExecutor | None = None,
    progress: Callable[[int], None] | None = None,
) -> Sensitivity:
    """Rank the scenario's uncertain inputs by their effect on ``output``.

    size: Morris trajectories, or the Sobol base sample (a power of 2); unused for OAT.
    """
    from rareflow.data.network import load_network
    from rareflow.uncertainty.run import load, make_job

    if method not in METHODS:
        raise UserInputError("unknown method", value=method, expected=", ".join(METHODS))
    if output not in OUTPUTS:
        raise UserInputError("unknown output", value=output, expected=", ".join(OUTPUTS))
    net = network if network is not None else load_network()
    scen = load(scenario, net)
    ranges = "scenario"
    if scen.uncertainty.posterior:
        scen, ranges = _marginals(scen, net), "posterior"
    fs = factors(scen)
    assumed = not fs
    if assumed:
        scen, ranges = _defaults(scen, net), "defaults"
        fs = factors(scen)
    x = design(method, fs, size, seed)
    config = Config(len(x), seed, months, keep_draw_totals=True)
    job = make_job(scen, net, config)
    job = type(job)(job.compiled, job.scenario, job.parameters, config, design=x)
    agg = montecarlo(job, (executor or LocalExecutor()).map, 4 * BLOCK, progress)
    y = np.concatenate(agg.totals[output])
    return Sensitivity(method, output, analyse(method, fs, x, y), len(x), assumed, ranges)


def _marginals(scenario: Scenario, network: Network) -> Scenario:
    """The posterior's joint draw replaced by each parameter's weighted marginal (a ranking
    needs one factor per input); the scenario's own distributions win."""
    from rareflow.engine.parameters import resolve_parameters
    from rareflow.history.posterior import load_bundled
    from rareflow.model.compiled import compile_network
    from rareflow.scenarios.uncertainty import Distribution

    names = tuple(sorted(resolve_parameters(compile_network(network).parameters)))
    sample = load_bundled(names)
    spec = scenario.uncertainty
    params = dict(spec.parameters)
    if sample is not None:
        for j, name in enumerate(sample.names):
            if name not in params and np.ptp(sample.values[:, j]) > 0:
                params[name] = Distribution.model_validate(sample.marginal(name))
    new = spec.model_copy(update={"posterior": False, "parameters": params})
    return scenario.model_copy(update={"uncertainty": new})


def _defaults(scenario: Scenario, network: Network) -> Scenario:
    """The default ranges of the parameters this network has."""
    from rareflow.engine.parameters import resolve_parameters
    from rareflow.model.compiled import compile_network

    names = set(resolve_parameters(compile_network(network).parameters))
    scen = with_default_ranges(scenario, names)
    if not factors(scen):
        raise UserInputError(
            "the scenario has no uncertainty section and the network none of the parameters "
            "with default ranges",
            column="uncertainty",
            hint="Add distributions under uncertainty.parameters or uncertainty.policies",
        )
    return scen


def tornado(result: Sensitivity, path: Path) -> Path:
    """A horizontal bar chart of the factors, most influential on top (PNG/SVG/PDF)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = result.table.iloc[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(t) + 1.5))
    if result.method == "oat":
        base = float(t["base"].iloc[0])
        ax.barh(t["factor"], t["low"] - base, left=base, color="#4c72b0", label="5th percentile")
        ax.barh(t["factor"], t["high"] - base, left=base, color="#dd8452", label="95th percentile")
        ax.axvline(base, color="black", linewidth=0.8)
        ax.legend(loc="lower right")
        ax.set_xlabel(result.output)
    else:
        ax.barh(t["factor"], t["importance"], color="#4c72b0")
        ax.set_xlabel(f"{'mu*' if result.method == 'morris' else 'total Sobol index'} "
                      f"of {result.output}")  # fmt: skip
    ax.set_title(f"What drives {result.output} ({result.method}, {result.runs} runs)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
