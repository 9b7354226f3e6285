"""``run``: load, compile, simulate and label one scenario (the API the CLI calls)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from rareflow.data.network import Network, load_network
from rareflow.engine.parameters import resolve_parameters
from rareflow.engine.result import RunResult, to_dataset
from rareflow.engine.simulate import simulate
from rareflow.model.compiled import compile_network
from rareflow.scenarios.model import Scenario


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _scenario(scenario: Scenario | str | Path, net: Network) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    from rareflow.scenarios.load import load_scenario

    return load_scenario(scenario, network=net)


def run(
    scenario: Scenario | str | Path = "baseline",
    *,
    network: Network | None = None,
    data_dir: str | Path | None = None,
    months: int | None = None,
    run_id: str | None = None,
) -> RunResult:
    """Simulate one scenario (a ``Scenario``, a bundled name or a YAML path) deterministically."""
    started = _now()
    net = network if network is not None else load_network(data_dir)
    scen = _scenario(scenario, net)
    compiled = compile_network(net)
    params = resolve_parameters(compiled.parameters, scen.parameters)
    raw = simulate(compiled, scen, params, draws=1, months=months)
    return RunResult(
        run_id=run_id or f"{scen.name}-{uuid.uuid4().hex[:8]}",
        scenario=scen,
        dataset=to_dataset(raw, compiled),
        mass_balance_max_residual=raw.mass_balance_max_residual,
        started_at=started,
        finished_at=_now(),
        parameters={k: float(v) if np.ndim(v) == 0 else v for k, v in raw.parameters.items()},
    )
