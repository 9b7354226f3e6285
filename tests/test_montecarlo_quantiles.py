"""Monte Carlo quantiles are honest: exact within the memory budget, bounded beyond it, and
every row of the JSON has p5 <= p50 <= p95 and its mean within [min, max]."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rareflow.data.network import Network
from rareflow.engine.parameters import resolve_parameters
from rareflow.engine.simulate import simulate
from rareflow.errors import UserInputError
from rareflow.model.compiled import compile_network
from rareflow.scenarios.load import parse_scenario
from rareflow.scenarios.model import Scenario
from rareflow.uncertainty.executors import check_workers, max_workers
from rareflow.uncertainty.montecarlo import (
    BLOCK,
    EXACT_MONTHLY,
    Config,
    check_bounds,
    chunks,
    max_draws,
)
from rareflow.uncertainty.result import EXACT, MonteCarloResult
from rareflow.uncertainty.run import run_montecarlo
from rareflow.uncertainty.sampling import draw_inputs, factors, uniforms
from rareflow.uncertainty.stats import Exact

LICENCE = {"id": "lic", "type": "export_license", "actor": "CHN", "start": "2026-12",
           "items": {"products": ["ndfeb_sintered"]}, "approval_share": 0.3,
           "lead_time_months": 1}  # fmt: skip


@pytest.fixture
def tiny_network(tiny_network: Network) -> Network:
    """The tiny network without a catch-up window: every unit short is lost at once, so that
    value lost shows within the few months these statistics run (``docs/losses.md``)."""
    params = tiny_network.tables["parameters"]
    params.loc[params["name"] == "catchup_months", "value"] = 0.0
    return tiny_network


def make(uncertainty: dict[str, Any], months: int = 6) -> Scenario:
    return parse_scenario({"name": "mcq", "start": "2026-11", "months": months,
                           "policies": [LICENCE], "uncertainty": uncertainty})  # fmt: skip


UNCERTAIN = {
    "parameters": {"demand_elasticity": {"dist": "uniform", "low": 0.0, "high": 0.5}},
    "policies": {"lic": {"probability": 0.7,
                         "approval_share": {"dist": "uniform", "low": 0.0, "high": 0.8}}},
}  # fmt: skip


def raw_draws(scen: Scenario, net: Network, draws: int, seed: int) -> dict[str, np.ndarray]:
    compiled = compile_network(net)
    inputs = draw_inputs(scen, uniforms(seed, 0, draws, len(factors(scen))))
    params = {**resolve_parameters(compiled.parameters), **inputs.parameters}
    return simulate(compiled, inputs.scenario, params, draws, values=inputs.values).arrays


def test_quantiles_are_exact_within_the_budget(tiny_network: Network) -> None:
    scen = make(UNCERTAIN)
    draws = BLOCK + 37  # two blocks, the second partial
    mc = run_montecarlo(scen, draws, seed=2, network=tiny_network)
    raw = raw_draws(scen, tiny_network, draws, 2)
    assert raw["shortage_share"].max() > 0.1, "the licence must cause shortages"
    for k in ("shortage_share", "value_lost", "units_not_built"):
        q = mc.quantiles(k)
        want = np.quantile(raw[k], (0.05, 0.5, 0.95), axis=0)
        for i, name in enumerate(("p5", "p50", "p95")):
            if k in EXACT_MONTHLY:  # float32 draws: a relative 6e-8
                np.testing.assert_allclose(q[name], want[i].ravel(), rtol=1e-6, atol=1e-12)
            else:  # binned (test_montecarlo covers their error), within the exact range
                assert (q["min"] <= q[name]).all() and (q[name] <= q["max"]).all()
        np.testing.assert_array_equal(q["min"], raw[k].min(axis=0).ravel())
        np.testing.assert_array_equal(q["max"], raw[k].max(axis=0).ravel())
    totals = raw["value_lost"].sum(axis=1)  # (draws, R, S)
    h = mc.horizon()
    np.testing.assert_allclose(h["value_lost_p95"], np.quantile(totals, 0.95, axis=0).ravel())
    methods = mc.quantile_methods()
    assert {methods[f"monthly {k}"] for k in EXACT_MONTHLY} == {EXACT}
    assert methods["horizon value_lost"] == methods["horizon units_not_built"] == EXACT
    assert "relative error <= 5.9%" in methods["monthly units_not_built"]


def test_beyond_the_budget_quantiles_are_binned_and_memory_stays_bounded(
    tiny_network: Network,
) -> None:
    scen = make(UNCERTAIN)
    draws = 3 * BLOCK
    budget = 2 * draws * 4  # less than one float32 row of draws per output
    cfg = Config(draws, 2, exact_bytes=budget)
    from rareflow.uncertainty.executors import LocalExecutor
    from rareflow.uncertainty.montecarlo import montecarlo
    from rareflow.uncertainty.run import make_job

    agg = montecarlo(make_job(scen, tiny_network, cfg), LocalExecutor().map, BLOCK)
    assert agg.exact and all(ex.dropped and ex.nbytes == 0 for ex in agg.exact.values())
    assert not agg.cell_totals  # 2 outputs x 6 cells x draws do not fit a quarter either
    mc = MonteCarloResult("r", scen, cfg, agg, compile_network(tiny_network), ["m"] * 6)
    methods = mc.quantile_methods()
    assert "relative error <= 5.9%" in methods["monthly value_lost"]
    assert "absolute error <= 0.005" in methods["monthly shortage_share"]
    raw = raw_draws(scen, tiny_network, draws, 2)
    q = mc.quantiles("shortage_share")
    exact = np.quantile(raw["shortage_share"], 0.95, axis=0).ravel()
    assert np.abs(q["p95"].to_numpy() - exact).max() <= 2 / 200
    assert (q["p95"] <= q["max"]).all() and (q["p5"] >= q["min"]).all()


def test_exact_rows_grow_only_for_nonzero_cells_and_give_up_at_the_budget() -> None:
    ex = Exact(cells=10, draws=4, budget=3 * 4 * 4)  # three rows of float32
    ex.add(0, np.array([7]), np.array([[1.0, 2.0]]))
    ex.add(2, np.array([7, 2]), np.array([[3.0, 4.0], [5.0, 5.0]]))
    q = ex.quantiles((0.0, 0.5, 1.0), np.zeros(10), np.full(10, 9.0))
    np.testing.assert_allclose(q[:, 7], [1.0, 2.5, 4.0])
    np.testing.assert_allclose(q[:, 2], [0.0, 2.5, 5.0])  # draws 0-1 of cell 2 were zeros
    assert np.all(q[:, [0, 1, 3]] == 0.0) and ex.used == 2
    ex.add(0, np.array([0, 1]), np.ones((2, 2)))  # a fourth row: over the budget
    assert ex.dropped and ex.nbytes == 0


def test_identical_draws_give_the_value_and_a_warning(tiny_network: Network) -> None:
    scen = make({})
    mc = run_montecarlo(scen, 40, network=tiny_network)
    q = mc.quantiles("value_lost")
    assert (q["p5"] == q["p95"]).all() and (q["min"] == q["max"]).all()
    np.testing.assert_allclose(q["mean"], q["p50"], rtol=1e-12)
    assert mc.warnings and "no uncertainty section" in mc.warnings[0]
    assert not run_montecarlo(make(UNCERTAIN), 4, network=tiny_network).warnings


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    draws=st.integers(1, 2 * BLOCK + 3),
    seed=st.integers(0, 2**16),
    high=st.floats(0.05, 1.0),
    probability=st.floats(0.0, 1.0),
    exact=st.booleans(),
)
def test_every_row_is_ordered(
    tiny_network: Network, draws: int, seed: int, high: float, probability: float, exact: bool
) -> None:
    """p5 <= p50 <= p95 and min <= mean <= max in every JSON row, exact or binned."""
    from rareflow.cli.uncertainty import payload

    spec = {"policies": {"lic": {"probability": probability,
                                 "approval_share": {"dist": "uniform", "low": 0.0,
                                                    "high": high}}}}  # fmt: skip
    budget = None if exact else 64  # 64 bytes: nothing exact
    mc = run_with_budget(make(spec), draws, seed, tiny_network, budget)
    body = payload(mc)
    assert body["horizon"]  # monthly rows: those with any expected loss (maybe none)
    for row in body["monthly"]:
        assert row["p5"] <= row["p50"] <= row["p95"], row
        assert ordered(row["min"], row["mean"], row["max"]), row
    for row in body["horizon"]:
        for k in ("value_lost", "units_not_built"):
            assert row[f"{k}_p5"] <= row[f"{k}_p50"] <= row[f"{k}_p95"], row
            assert ordered(row[f"{k}_min"], row[f"{k}_mean"], row[f"{k}_max"]), row
            assert row[f"{k}_min"] <= row[f"{k}_p5"] and row[f"{k}_p95"] <= row[f"{k}_max"]


def ordered(low: float, mean: float, high: float) -> bool:
    """low <= mean <= high up to the rounding of a floating-point mean (a few ulps)."""
    slack = 1e-12 * max(abs(low), abs(high), 1e-300)
    return low - slack <= mean <= high + slack


def run_with_budget(
    scen: Scenario, draws: int, seed: int, net: Network, budget: int | None
) -> MonteCarloResult:
    return run_montecarlo(scen, draws, seed=seed, network=net, exact_bytes=budget)


def test_means_do_not_depend_on_the_budget(tiny_network: Network) -> None:
    scen = make(UNCERTAIN)
    a = run_with_budget(scen, BLOCK + 5, 9, tiny_network, None)
    b = run_with_budget(scen, BLOCK + 5, 9, tiny_network, 64)
    for k in ("shortage_share", "value_lost"):
        assert np.array_equal(a.aggregate.moments[k].mean, b.aggregate.moments[k].mean)
    assert np.array_equal(a.horizon()["value_lost_mean"], b.horizon()["value_lost_mean"])


# -- bounds (issue 15, F10) ----------------------------------------------------------------------
def test_chunks_are_lazy() -> None:
    spans = chunks(10**12, 4)  # a list would take hundreds of GB
    assert len(spans) == 25 * 10**10
    assert spans[0] == (0, 4) and spans[len(spans) - 1] == (10**12 - 4, 10**12)
    assert list(chunks(9, 4)) == [(0, 4), (4, 8), (8, 9)]


def test_draws_beyond_a_day_of_the_machine_are_refused() -> None:
    limit = max_draws(120, 2)
    assert 10_000 < limit < 10**9
    check_bounds(Config(limit), 120, 2, 15 * 8 * 120)
    with pytest.raises(UserInputError) as err:
        check_bounds(Config(10**12), 120, 2, 15 * 8 * 120)
    assert f"at most {limit:,} draws" in str(err.value) and "--draws" in str(err.value)
    with pytest.raises(UserInputError, match="--keep-paths"):
        check_bounds(Config(100, keep_paths=10**6), 120, 2, 15 * 8 * 120)


def test_workers_beyond_the_machine_are_refused() -> None:
    check_workers(max_workers())
    with pytest.raises(UserInputError, match=f"at most {max_workers()}"):
        check_workers(100_000)
