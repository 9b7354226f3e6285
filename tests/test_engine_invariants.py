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
from rareflow.data.network import Network
from rareflow.engine.parameters import resolve_parameters
from rareflow.engine.simulate import simulate
from rareflow.model.compiled import compile_network, month_label
from rareflow.scenarios.model import Scenario

COMPILED = compile_network(Network(tables=tiny_tables()))
REGIONS = list(COMPILED.regions)
PRODUCTS = list(COMPILED.products)
MONTHS = [month_label(m) for m in range(2026 * 12 + 3, 2028 * 12)]

month = st.sampled_from(MONTHS)
share = st.floats(0.0, 1.0)
targets = st.one_of(st.just(["all"]), st.lists(st.sampled_from(REGIONS), min_size=1, unique=True))
items = st.one_of(
    st.builds(lambda p: {"products": p}, st.lists(st.sampled_from(PRODUCTS), min_size=1)),
    st.builds(
        lambda e, c: {"elements": e, "min_content": c},
        st.lists(st.sampled_from(["Nd", "Dy", "Pr"]), min_size=1),
        st.floats(0, 0.1),
    ),
)


def _policy(kind: str, draw: Any) -> dict[str, Any]:
    start = draw(month)
    base: dict[str, Any] = {"type": kind, "start": start, "actor": draw(st.sampled_from(REGIONS))}
    if draw(st.booleans()):
        base["end"] = max(start, draw(month))
    if kind in ("export_license", "export_ban", "export_quota", "tariff"):
        base.update(items=draw(items), targets=draw(targets))
    extra = {
        "export_license": lambda: {
            "approval_share": draw(share),
            "lead_time_months": draw(st.integers(0, 4)),
            "denied_sectors": draw(st.sampled_from([[], ["wind"]])),
        },
        "export_ban": lambda: {"leakage_share": draw(share)},
        "export_quota": lambda: {"tonnes_per_year": draw(st.floats(0, 500))},
        "tariff": lambda: {"rate": draw(st.floats(0, 3))},
        "content_rule": lambda: {
            "elements": ["Dy"],
            "threshold": draw(st.floats(1e-4, 0.02)),
            "approval_share": draw(share),
            "targets": draw(targets),
            "lead_time_months": draw(st.integers(0, 3)),
        },
        "stockpile": lambda: {
            "product": draw(st.sampled_from(PRODUCTS)),
            "action": draw(st.sampled_from(["release", "purchase"])),
            "tonnes_per_month": draw(st.floats(0.1, 30)),
        },
        "capacity_investment": lambda: {
            "region": draw(st.sampled_from(REGIONS)),
            "process": draw(st.sampled_from(COMPILED.processes)),
            "tonnes_per_year": draw(st.floats(1, 500)),
            "ramp_months": draw(st.integers(0, 12)),
        },
    }[kind]()
    return {**base, **extra}


@st.composite
def scenarios(draw: Any) -> Scenario:
    kinds = [
        "export_license",
        "export_ban",
        "export_quota",
        "tariff",
        "content_rule",
        "stockpile",
        "capacity_investment",
    ]
    chosen = draw(st.lists(st.sampled_from(kinds), max_size=4))
    policies = [{**_policy(k, draw), "id": f"p{i}"} for i, k in enumerate(chosen)]
    if policies and draw(st.booleans()):
        named = draw(st.lists(st.sampled_from([p["id"] for p in policies]), min_size=1))
        policies.append(
            {
                "type": "suspension",
                "id": "s",
                "policies": named,
                "start": draw(st.sampled_from(MONTHS[:-6])),
                "end": draw(st.sampled_from(MONTHS[-6:])),
            }
        )
    params = {
        "home_priority": draw(share),
        "rerouting_months": draw(st.floats(0.5, 24)),
        "restock_months": draw(st.floats(0.5, 24)),
        "demand_elasticity": draw(st.floats(0, 1)),
        "substitution_max_share": draw(st.floats(0, 1)),
        "price_sensitivity": draw(st.floats(0, 5)),
    }
    return Scenario.model_validate(
        {
            "name": "h",
            "start": draw(month),
            "months": 14,
            "parameters": params,
            "policies": policies,
        }
    )


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
        "value_lost",
    ):
        assert a[name].min() >= -1e-9, name
    assert np.all((a["shortage_share"] >= 0) & (a["shortage_share"] <= 1))
    assert np.all(a["shortage"] <= a["demand"] + 1e-9)
    base = COMPILED.price0
    assert np.all(a["price"] >= base * params["price_min_multiple"] - 1e-9)
    assert np.all(a["price"] <= base * params["price_max_multiple"] + 1e-9)
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
