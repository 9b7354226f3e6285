"""Engine mechanics on the tiny network: steady baseline, batches, chunks, balance, results."""

from __future__ import annotations

import numpy as np
import pytest

import rareflow.engine.simulate as simulate_module
from rareflow.engine.balance import check_balance
from rareflow.engine.parameters import resolve_parameters
from rareflow.engine.run import run
from rareflow.engine.simulate import OUTPUTS, simulate
from rareflow.errors import MassBalanceError, UserInputError
from rareflow.model.compiled import compile_network
from rareflow.scenarios.model import Scenario

BAN = {
    "type": "export_license",
    "id": "lic",
    "items": {"elements": ["Dy"]},
    "approval_share": 0.3,
    "lead_time_months": 1,
    "start": "2026-12",
    "end": "2027-09",
}


def scenario(**kw) -> Scenario:
    return Scenario.model_validate({"name": "s", "start": "2026-11", "months": 18, **kw})


def test_baseline_without_growth_is_exactly_steady(tiny_network):
    result = run(scenario(parameters={"demand_growth_per_year": 0.0}), network=tiny_network)
    ds = result.dataset
    assert float(ds["shortage"].sum()) == 0.0
    assert np.allclose(ds["inventory"].values, ds["inventory"].values[:, :1], rtol=1e-12)
    assert np.allclose(ds["price"].values, ds["price"].values[:, :1], rtol=1e-12)
    assert result.mass_balance_max_residual < 1e-12


def test_baseline_with_growth_is_near_steady(tiny_network):
    ds = run(scenario(), network=tiny_network).dataset
    assert float(ds["shortage_share"].max()) < 1e-9
    assert float(ds["inventory"].min()) >= 0.0


def test_shortage_only_when_stock_is_exhausted(tiny_network):
    ds = run(scenario(policies=[BAN]), network=tiny_network).dataset.isel(draw=0)
    short = ds["shortage"] > 1e-9
    assert bool(short.any())
    assert np.all(ds["inventory"].where(short).fillna(0.0).values < 1e-6)
    usa = ds["shortage_share"].sel(region="USA")
    assert float(usa.isel(month=0).max()) == 0.0  # stocks carry the first months


def test_initial_stock_is_cover_times_use(tiny_network):
    compiled = compile_network(tiny_network)
    params = resolve_parameters(compiled.parameters, {"demand_growth_per_year": 0.0})
    raw = simulate(compiled, scenario(months=1), params)
    # USA magnets: 3 months x 250 t/yr use; steady so the first month ends where it began
    assert np.isclose(raw.arrays["inventory"][0, 0, 1, 5], 3 * 250 / 12)


def test_batch_equals_single_runs(tiny_network):
    compiled = compile_network(tiny_network)
    scen = scenario(policies=[BAN])
    home = np.array([0.0, 0.3, 0.7, 1.0])
    approval = np.array([0.0, 0.5, 0.2, 0.9])
    params = resolve_parameters(compiled.parameters, {})
    batch = simulate(
        compiled,
        scen,
        {**params, "home_priority": home},
        draws=4,
        values={"lic.approval_share": approval},
        chunk_size=3,
    )
    for d in range(4):
        one = scen.model_copy(deep=True)
        one.policies[0].approval_share = float(approval[d])  # type: ignore[union-attr]
        single = simulate(compiled, one, {**params, "home_priority": float(home[d])})
        for name in OUTPUTS:
            np.testing.assert_allclose(
                batch.arrays[name][d], single.arrays[name][0], rtol=1e-12, atol=1e-12
            )
    assert not np.allclose(batch.arrays["shortage"][0], batch.arrays["shortage"][3])


def test_chunking_does_not_change_results(tiny_network):
    compiled = compile_network(tiny_network)
    params = resolve_parameters(compiled.parameters, {})
    params["rerouting_months"] = np.array([1.0, 3.0, 6.0, 12.0, 24.0])
    whole = simulate(compiled, scenario(policies=[BAN]), params, draws=5, chunk_size=5)
    parts = simulate(compiled, scenario(policies=[BAN]), params, draws=5, chunk_size=2)
    for name in OUTPUTS:
        np.testing.assert_array_equal(whole.arrays[name], parts.arrays[name])


def test_per_draw_parameter_shape_is_checked(tiny_network):
    compiled = compile_network(tiny_network)
    params = {**resolve_parameters(compiled.parameters, {}), "home_priority": np.ones(3)}
    with pytest.raises(UserInputError):
        simulate(compiled, scenario(), params, draws=2)


def test_broken_mass_balance_raises(tiny_network, monkeypatch):
    real_step = simulate_module.step

    def leaky(*args, **kwargs):
        flows = real_step(*args, **kwargs)
        if args[4] == 24325:  # 2027-02: a tonne of magnets vanishes from USA's stock
            flows.stock_end[0, 1, 5] -= 1.0
        return flows

    monkeypatch.setattr(simulate_module, "step", leaky)
    with pytest.raises(MassBalanceError, match=r"2027-02.*USA.*ndfeb_sintered"):
        run(scenario(), network=tiny_network)


def test_negative_flow_raises(tiny_network, monkeypatch):
    real_step = simulate_module.step

    def negative(*args, **kwargs):
        flows = real_step(*args, **kwargs)
        flows.production[0, 2, 0] -= 100.0
        flows.stock_end[0, 2, 0] -= 100.0  # balanced, but negative
        return flows

    monkeypatch.setattr(simulate_module, "step", negative)
    with pytest.raises(MassBalanceError, match=r"AUS.*concentrate_light"):
        run(scenario(), network=tiny_network)


def test_check_balance_reports_residual(tiny_network):
    compiled = compile_network(tiny_network)
    raw = simulate(compiled, scenario(policies=[BAN]), resolve_parameters(compiled.parameters, {}))
    assert 0.0 <= raw.mass_balance_max_residual < 1e-9
    assert callable(check_balance)


def test_unknown_scenario_parameter(tiny_network):
    with pytest.raises(UserInputError, match="warp_speed"):
        run(scenario(parameters={"warp_speed": 9.0}), network=tiny_network)


def test_run_result_views(tiny_network):
    result = run(scenario(policies=[BAN]), network=tiny_network, months=12, run_id="r1")
    ds = result.dataset
    assert list(ds["month"].values[:2]) == ["2026-11", "2026-12"]
    assert ds["shipments"].dims == ("draw", "month", "product", "region", "partner")
    assert ds["price"].dims == ("draw", "month", "product", "market")
    assert ds["shortage_share"].attrs["unit"] == "fraction"
    tidy = result.tidy()
    assert list(tidy.columns) == [
        "run_id",
        "scenario",
        "draw",
        "month",
        "region",
        "partner",
        "product",
        "metric",
        "value",
        "unit",
    ]
    assert set(tidy["metric"]) >= {"production", "shipments", "inventory", "price", "demand"}
    ships = result.tidy("shipments")
    row = ships[(ships["region"] == "CHN") & (ships["partner"] == "USA")].iloc[0]
    assert row["product"] == "ndfeb_sintered"
    assert (result.tidy("production")["partner"] == "").all()
    prices = result.tidy("price")
    assert set(prices["region"]) == {"china", "ex_china"}
    assert len(prices) == 12 * 6 * 2  # prices keep zeros
    losses = result.tidy("value_lost")
    assert set(losses["product"]) <= {"ev_traction", "wind"}
    summary = result.summary()
    assert list(summary.columns) == [
        "region",
        "sector",
        "peak_shortage_share",
        "shortage_months",
        "units_not_built",
        "value_lost_usd",
        "peak_stopped_share",
        "stopped_months",
        "units_lost",
        "units_deferred",
        "value_deferred_usd",
        "gross_output_lost_usd",
        "units_pending",
    ]
    usa = summary[(summary["region"] == "AUS") & (summary["sector"] == "ev_traction")].iloc[0]
    assert usa["peak_shortage_share"] > 0 and usa["units_not_built"] > 0
    # the tiny network has no value-added table: a unit lost destroys its gross output
    assert usa["units_lost"] > 0
    assert np.isclose(usa["value_lost_usd"], usa["units_lost"] * 40000.0)
    assert np.isclose(usa["gross_output_lost_usd"], usa["value_lost_usd"])
    settled = usa["units_lost"] + usa["units_deferred"]
    assert settled <= usa["units_not_built"] * (1 + 1e-9)
    assert np.isclose(settled + usa["units_pending"], usa["units_not_built"])
    peaks = result.peak_prices()
    magnet = peaks[(peaks["product"] == "ndfeb_sintered") & (peaks["market"] == "ex_china")]
    assert float(magnet["base_usd_per_kg"].iloc[0]) == 60.0
    assert float(magnet["peak_usd_per_kg"].iloc[0]) > 60.0
    assert result.run_id == "r1" and result.started_at <= result.finished_at


def test_units_not_built_from_kg_per_unit(tiny_network):
    ds = run(scenario(policies=[BAN]), network=tiny_network).dataset.isel(draw=0)
    short = ds["shortage"].sel(region="AUS", product="ndfeb_sintered")
    demand = ds["demand"].sel(region="AUS", product="ndfeb_sintered")
    share = ds["shortage_share"].sel(region="AUS", sector="ev_traction")
    np.testing.assert_allclose(share, (short / demand).fillna(0.0), atol=1e-12)
    ev_units = ds["units_not_built"].sel(region="AUS", sector="ev_traction")
    # AUS ev_traction is 100 of 150 t of magnet use, 2 kg per vehicle
    np.testing.assert_allclose(ev_units, short * 100 / 150 * 1000 / 2.0, rtol=1e-9)


def test_substitution_cuts_dy_metal_use_when_prices_rise(tiny_network):
    params = {
        "demand_growth_per_year": 0.0,
        "substitution_max_share": 0.5,
        "substitution_months": 1.0,
    }
    ban = {
        "type": "export_ban",
        "id": "b",
        "items": {"products": ["dy_oxide", "ndfeb_sintered"]},
        "start": "2026-11",
    }
    none = run(
        scenario(parameters={**params, "substitution_max_share": 0.0}, policies=[ban]),
        network=tiny_network,
    ).dataset
    some = run(scenario(parameters=params, policies=[ban]), network=tiny_network).dataset
    usa_dy = {"region": "USA", "product": "dy_metal", "draw": 0}
    # without substitution USA runs out of Dy metal; with it, magnets need less and stocks hold
    assert float(none["inventory"].sel(**usa_dy)[-1]) == 0.0
    assert float(some["inventory"].sel(**usa_dy)[-1]) > 0.2
