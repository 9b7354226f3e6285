"""Invariants over random scenarios on the tiny network (hypothesis).

Whatever the policies, dates and parameters: mass balance holds (simulate raises otherwise),
nothing goes negative, shares stay in [0, 1] and prices within their bounds (or floors).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import tiny_tables
from policy_strategies import MONTHS
from policy_strategies import scenarios as policy_scenarios
from rareflow.data.network import Network
from rareflow.engine.parameters import resolve_parameters
from rareflow.engine.simulate import simulate
from rareflow.model.compiled import compile_network
from rareflow.scenarios.model import Scenario

COMPILED = compile_network(Network(tables=tiny_tables()))
REGIONS = list(COMPILED.regions)
PRODUCTS = list(COMPILED.products)

month = st.sampled_from(MONTHS)


def scenarios() -> st.SearchStrategy[Scenario]:
    """Random scenarios over every registered instrument (``policy_strategies``)."""
    return policy_scenarios(COMPILED)


def price_bounds(scenario: Scenario, params: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """(P, M) lowest and highest price the engine may set: the multiples of base, held under
    any cap and lifted to any floor."""
    base = COMPILED.price0
    low, high = base * params["price_min_multiple"], base * params["price_max_multiple"]
    for p in scenario.policies:
        if p.type in ("price_floor", "price_cap"):
            at = (COMPILED.products.index(p.product), COMPILED.markets.index(p.market))
            if p.type == "price_floor":
                high[at] = max(high[at], p.usd_per_kg)
            else:
                low[at] = min(low[at], p.usd_per_kg)
    return low, high


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_invariants_hold(scenario: Scenario) -> None:
    params = resolve_parameters(COMPILED.parameters, scenario.parameters)
    raw = simulate(COMPILED, scenario, params, draws=2)  # raises MassBalanceError if broken
    a = raw.arrays
    assert raw.mass_balance_max_residual < 1e-9
    for name in (
        "production",
        "shipments",
        "inventory",
        "demand",
        "shortage",
        "units_not_built",
        "units_deferred",
        "units_lost",
        "value_lost",
        "value_deferred",
        "gross_output_lost",
    ):
        assert a[name].min() >= -1e-9, name
    # every unit short is caught up or lost once, never more (some may still be pending)
    settled = (a["units_lost"] + a["units_deferred"]).cumsum(axis=1)
    assert np.all(settled <= a["units_not_built"].cumsum(axis=1) * (1 + 1e-9) + 1e-9)
    assert np.all(a["value_lost"] <= a["gross_output_lost"] * (1 + 1e-9) + 1e-9)
    assert np.all((a["shortage_share"] >= 0) & (a["shortage_share"] <= 1))
    assert np.all(a["shortage"] <= a["demand"] + 1e-9)
    low, high = price_bounds(scenario, params)
    assert np.all(a["price"] >= low - 1e-9)
    assert np.all(a["price"] <= high + 1e-9)
    np.testing.assert_array_equal(a["shipments"][0], a["shipments"][1])  # draws alike


@settings(max_examples=20, deadline=None)
@given(st.floats(1.0, 500.0), st.sampled_from(MONTHS))
def test_price_floor_bounds(usd: float, start: str) -> None:
    floor = {
        "type": "price_floor",
        "id": "f",
        "product": "dy_oxide",
        "usd_per_kg": usd,
        "start": start,
    }
    scenario = Scenario.model_validate(
        {"name": "f", "start": "2026-06", "months": 20, "policies": [floor]}
    )
    params = resolve_parameters(COMPILED.parameters, {})
    price = simulate(COMPILED, scenario, params).arrays["price"][0, :, 2, 1]
    months = np.array(range(2026 * 12 + 5, 2026 * 12 + 25))
    in_force = months >= int(start[:4]) * 12 + int(start[5:]) - 1
    assert np.all(price[in_force] >= usd - 1e-9)
    assert np.all(price <= max(usd, 300.0 * params["price_max_multiple"]) + 1e-9)
