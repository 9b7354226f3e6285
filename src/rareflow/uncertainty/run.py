"""``run_montecarlo``: the Python API behind ``rareflow montecarlo``."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from rareflow.data.network import Network, load_network
from rareflow.engine.parameters import resolve_parameters
from rareflow.model.compiled import compile_network, month_index, month_label
from rareflow.scenarios.model import Scenario
from rareflow.scenarios.uncertainty import check_uncertainty
from rareflow.uncertainty.executors import DaskExecutor, LocalExecutor
from rareflow.uncertainty.montecarlo import BLOCK, Config, Job, check_bounds, montecarlo
from rareflow.uncertainty.result import MonteCarloResult


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def load(scenario: Scenario | str | Path, network: Network | None = None) -> Scenario:
    """A scenario (object, bundled name or YAML path) with its uncertainty section checked."""
    from rareflow.scenarios.load import GENERATED, ScenarioError, load_scenario, resolve

    net = network if network is not None else load_network()
    if isinstance(scenario, Scenario):
        scen, file = scenario, "<scenario>"
    else:  # a generated scenario (history) has no file: its name stands for one
        file = str(scenario) if scenario in GENERATED else str(resolve(scenario))
        scen = load_scenario(scenario, network=net)
    names = resolve_parameters(compile_network(net).parameters)
    scen = with_posterior(scen)
    try:
        check_uncertainty(scen, names)
    except ScenarioError as exc:
        raise ScenarioError(exc.message, file=file, field=exc.field, value=exc.value,
                            expected=exc.expected, hint=exc.hint) from None  # fmt: skip
    return scen


def with_posterior(scenario: Scenario) -> Scenario:
    """A scenario without its own ``uncertainty:`` draws its parameters from the bundled
    posterior (when there is one); an explicit section wins."""
    from rareflow.history.posterior import has_posterior

    if not scenario.uncertainty.is_empty() or not has_posterior():
        return scenario
    spec = scenario.uncertainty.model_copy(update={"posterior": True})
    return scenario.model_copy(update={"uncertainty": spec})


def make_job(scenario: Scenario, network: Network, config: Config) -> Job:
    compiled = compile_network(network)
    params = resolve_parameters(compiled.parameters, scenario.parameters)
    return Job(compiled, scenario, params, config)


def run_montecarlo(
    scenario: Scenario | str | Path,
    draws: int,
    *,
    seed: int = 0,
    months: int | None = None,
    network: Network | None = None,
    executor: LocalExecutor | DaskExecutor | None = None,
    chunk_draws: int | None = None,
    threshold: float = 0.1,
    keep_paths: int = 0,
    keep_draw_totals: bool = False,
    progress: Callable[[int], None] | None = None,
    run_id: str | None = None,
    kernel: str | None = None,
    exact_bytes: int | None = None,
) -> MonteCarloResult:
    """Run ``draws`` draws of the scenario's uncertainty and return streamed statistics.

    kernel: "numba" (the compiled month, the default for blocks) or "numpy" (the reference
    step: slower, the same numbers to rounding). exact_bytes: memory for exact per-draw values
    (quantiles); None: ``stats.exact_budget()``."""
    from rareflow.engine.simulate import choose_kernel

    started = _now()
    choose_kernel(kernel, BLOCK)  # an unknown name fails here, not in a worker
    net = network if network is not None else load_network()
    scen = load(scenario, net)
    config = Config(
        draws, seed, months, threshold, keep_paths, keep_draw_totals, kernel, exact_bytes
    )
    job = make_job(scen, net, config)
    runner = executor or LocalExecutor()
    cells = (months or scen.months) * len(job.compiled.regions) * len(job.compiled.sectors)
    check_bounds(config, months or scen.months, runner.workers, cells)
    if chunk_draws is None:  # any size gives the same numbers; local: finer progress
        chunk_draws = BLOCK if isinstance(runner, LocalExecutor) else 4 * BLOCK
    agg = montecarlo(job, runner.map, chunk_draws, progress)
    first = month_index(scen.start)
    labels = [month_label(first + t) for t in range(months or scen.months)]
    return MonteCarloResult(
        run_id=run_id or f"{scen.name}-mc-{uuid.uuid4().hex[:8]}",
        scenario=scen,
        config=config,
        aggregate=agg,
        compiled=job.compiled,
        months=labels,
        started_at=started,
        finished_at=_now(),
        executor=runner.name,
        parameters={"montecarlo": config.__dict__, "executor": runner.name},
    )
