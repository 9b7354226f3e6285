"""Stock in transit: a share ``transit_months`` of a month's shipments to a region arrives
the next month; what is at sea counts in the importer's stock position (``engine/step.py``
``arrivals``, ``kernel._arrive``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from conftest import FROZEN, tiny_tables
from policy_strategies import scenarios as policy_scenarios
from rareflow.data.network import Network
from rareflow.engine.parameters import resolve_parameters
from rareflow.engine.simulate import simulate
from rareflow.engine.step import arrivals
from rareflow.model.compiled import compile_network
from rareflow.scenarios.model import Scenario

TRANSIT = {"USA": 0.4, "AUS": 1.0, "CHN": 0.5}
MAGNET = "ndfeb_sintered"
CHN_TO_USA_T = 150.0 / 12.0  # the tiny network's magnets, t/month (``conftest.tiny_tables``)
BAN_MONTH = 3  # 2027-02, the fourth month of the run


def network(transit: dict[str, float] | None = TRANSIT) -> Any:
    tables = tiny_tables()
    if transit is not None:
        tables["transit"] = pd.DataFrame(
            {"region": list(transit), "transit_months": list(transit.values()),
             "provenance": "assumption", "source_url": "", "note": "test"}
        )  # fmt: skip
    return compile_network(Network(tables=tables))


def scenario(parameters: dict[str, float], policies: Sequence[dict[str, Any]] = ()) -> Scenario:
    return Scenario.model_validate(
        {"name": "s", "start": "2026-11", "months": 10, "parameters": parameters,
         "policies": list(policies)}
    )  # fmt: skip


def outputs(net: Any, scen: Scenario, kernel: str = "numpy") -> dict[str, np.ndarray]:
    params = resolve_parameters(net.parameters, scen.parameters)
    raw = simulate(net, scen, params, draws=1, kernel=kernel)
    assert raw.mass_balance_max_residual < 1e-9
    return {k: v[0] for k, v in raw.arrays.items()}  # (T, ...)


BAN = {"type": "export_ban", "id": "ban", "actor": "CHN", "targets": ["USA"],
       "items": {"products": [MAGNET]}, "start": "2027-02"}  # fmt: skip


def test_arrivals_keep_every_tonne() -> None:
    at_sea = np.array([[3.0], [0.0], [5.0]])
    shipped = np.array([[10.0], [4.0], [0.0]])
    transit = np.array([0.25, 1.0, 0.0])
    arrive = arrivals(transit, shipped, at_sea, np.arange(3))
    np.testing.assert_allclose(arrive[:, 0], [3.0 + 7.5, 0.0, 5.0])
    np.testing.assert_allclose(at_sea[:, 0], [2.5, 4.0, 0.0])


def test_baseline_is_steady_with_stock_at_sea() -> None:
    params = {"demand_growth_per_year": 0.0, "capacity_growth_per_year": 0.0}
    with_sea, without = (
        outputs(network(), scenario(params)),
        outputs(network(None), scenario(params)),
    )
    assert without["in_transit"].max() == 0.0  # no table: imports arrive the month they ship
    for name in ("inventory", "production", "shipments", "price"):
        np.testing.assert_allclose(with_sea[name], without[name], rtol=1e-12, atol=1e-12)
    usa = network().regions.index("USA")
    magnet = network().products.index(MAGNET)
    at_sea = with_sea["in_transit"][:, usa, magnet]
    np.testing.assert_allclose(at_sea, TRANSIT["USA"] * CHN_TO_USA_T, rtol=1e-12)


@pytest.mark.parametrize("kernel", ["numpy", "numba"])
def test_a_ban_reaches_the_importer_a_transit_later(kernel: str) -> None:
    net = network()
    usa, magnet = net.regions.index("USA"), net.products.index(MAGNET)
    runs = {
        name: outputs(n, scenario(FROZEN, [BAN]), kernel)
        for name, n in (("sea", net), ("instant", network(None)))
    }
    at_sea = runs["sea"]["in_transit"][:, usa, magnet]
    np.testing.assert_allclose(at_sea[:BAN_MONTH], TRANSIT["USA"] * CHN_TO_USA_T, rtol=1e-9)
    assert np.all(at_sea[BAN_MONTH:] == 0.0)  # nothing ships to the US from the ban on
    # the ban's first month: the month before's shipment still at sea arrives, nothing else
    gained = runs["sea"]["inventory"][BAN_MONTH, usa, magnet]
    gained -= runs["instant"]["inventory"][BAN_MONTH, usa, magnet]
    assert gained == pytest.approx(TRANSIT["USA"] * CHN_TO_USA_T, rel=1e-9)


def test_kernel_matches_the_numpy_step_with_stock_at_sea() -> None:
    scen = scenario({"demand_growth_per_year": 0.05}, [BAN])
    ref, fast = outputs(network(), scen, "numpy"), outputs(network(), scen, "numba")
    for name, value in ref.items():
        np.testing.assert_allclose(fast[name], value, rtol=1e-9, atol=1e-9, err_msg=name)


TRANSIT_NET = network()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy_scenarios(TRANSIT_NET))
def test_stock_at_sea_is_never_negative(scen: Scenario) -> None:
    params = resolve_parameters(TRANSIT_NET.parameters, scen.parameters)
    raw = simulate(TRANSIT_NET, scen, params, draws=2)  # raises MassBalanceError if broken
    assert raw.arrays["in_transit"].min() >= 0.0
    assert raw.arrays["inventory"].min() >= -1e-9
