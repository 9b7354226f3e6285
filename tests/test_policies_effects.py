"""Each instrument in isolation on the tiny network, against numbers computed by hand.

With ``FROZEN`` parameters and no growth the baseline is exactly steady: CHN ships 12.5 t of
magnets a month to each of USA and AUS, AUS 25 t of concentrate to CHN.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import xarray as xr

from rareflow.data.network import Network
from rareflow.engine.parameters import resolve_parameters
from rareflow.engine.result import to_dataset
from rareflow.engine.simulate import simulate
from rareflow.engine.static import build_static
from rareflow.model.compiled import compile_network, month_index
from rareflow.policies.effects import compile_policies, month_effects
from rareflow.scenarios.model import Scenario

START = "2026-11"
MAGNET = "ndfeb_sintered"


def sim(net: Network, params: dict[str, float], policies: list[dict[str, Any]], months: int = 12):
    scenario = Scenario.model_validate(
        {"name": "t", "start": START, "months": months, "parameters": params, "policies": policies}
    )
    compiled = compile_network(net)
    raw = simulate(compiled, scenario, resolve_parameters(compiled.parameters, params))
    return to_dataset(raw, compiled).isel(draw=0)


def flow(ds: xr.Dataset, product: str, exporter: str, importer: str) -> np.ndarray:
    return ds["shipments"].sel(product=product, region=exporter, partner=importer).values


def in_window(ds: xr.Dataset, start: str, end: str) -> np.ndarray:
    months = np.array([month_index(m) for m in ds["month"].values])
    return (months >= month_index(start)) & (months <= month_index(end))


def test_baseline_is_steady(tiny_network, frozen):
    ds = sim(tiny_network, frozen, [])
    assert np.allclose(flow(ds, MAGNET, "CHN", "USA"), 12.5)
    assert np.allclose(flow(ds, "concentrate_light", "AUS", "CHN"), 25.0)
    assert float(ds["shortage"].sum()) == 0.0
    assert np.allclose(ds["inventory"].values, ds["inventory"].values[:1])


def test_ban_with_leakage_cuts_flow_to_leakage_share(tiny_network, frozen):
    ban = {
        "type": "export_ban",
        "id": "ban",
        "items": {"products": [MAGNET]},
        "targets": ["USA"],
        "leakage_share": 0.2,
        "start": "2027-01",
        "end": "2027-06",
    }
    ds = sim(tiny_network, frozen, [ban])
    inside = in_window(ds, "2027-01", "2027-06")
    usa = flow(ds, MAGNET, "CHN", "USA")
    assert np.allclose(usa[inside], 2.5)
    assert np.allclose(usa[~inside], 12.5)
    assert np.allclose(flow(ds, MAGNET, "CHN", "AUS"), 12.5)  # not a target


def test_quota_caps_total_exports_pro_rata(tiny_network, frozen):
    quota = {
        "type": "export_quota",
        "id": "q",
        "items": {"products": [MAGNET]},
        "tonnes_per_year": 120.0,
        "start": START,
    }
    ds = sim(tiny_network, frozen, [quota])
    usa, aus = flow(ds, MAGNET, "CHN", "USA"), flow(ds, MAGNET, "CHN", "AUS")
    assert np.allclose(usa + aus, 10.0)
    assert np.allclose(usa, 5.0) and np.allclose(aus, 5.0)


def test_license_lead_time_approval_and_denied_sectors(tiny_network, frozen):
    lic = {
        "type": "export_license",
        "id": "lic",
        "items": {"elements": ["Dy"]},
        "approval_share": 0.5,
        "lead_time_months": 2,
        "denied_sectors": ["wind"],
        "start": "2027-01",
        "end": "2027-08",
    }
    ds = sim(tiny_network, frozen, [lic])
    usa, aus = flow(ds, MAGNET, "CHN", "USA"), flow(ds, MAGNET, "CHN", "AUS")
    lead = in_window(ds, "2027-01", "2027-02")
    approved = in_window(ds, "2027-03", "2027-08")
    assert np.allclose(usa[lead], 0.0) and np.allclose(aus[lead], 0.0)
    # wind is 50 of USA's 250 t and 50 of AUS's 150 t of magnet use
    assert np.allclose(usa[approved], 12.5 * 0.5 * (1 - 50 / 250))
    assert np.allclose(aus[approved], 12.5 * 0.5 * (1 - 50 / 150))
    assert np.allclose(usa[~(lead | approved)], 12.5)


def test_suspension_restores_flows(tiny_network, frozen):
    policies = [
        {"type": "export_ban", "id": "ban", "items": {"products": [MAGNET]}, "start": START},
        {
            "type": "suspension",
            "id": "truce",
            "policies": ["ban"],
            "start": "2027-02",
            "end": "2027-05",
        },
    ]
    ds = sim(tiny_network, frozen, policies)
    usa = flow(ds, MAGNET, "CHN", "USA")
    truce = in_window(ds, "2027-02", "2027-05")
    assert np.allclose(usa[truce], 12.5)
    assert np.allclose(usa[~truce], 0.0)


def test_license_lead_time_restarts_after_suspension(tiny_network):
    lic = {
        "type": "export_license",
        "id": "lic",
        "items": {"products": [MAGNET]},
        "approval_share": 1.0,
        "lead_time_months": 2,
        "start": "2026-01",
    }
    sus = {
        "type": "suspension",
        "id": "s",
        "policies": ["lic"],
        "start": "2026-06",
        "end": "2026-12",
    }
    scenario = Scenario.model_validate({"name": "t", "start": START, "policies": [lic, sus]})
    months = np.arange(month_index(START), month_index(START) + 6)
    plan = compile_policies(scenario.policies, months)
    assert plan.in_force[0].tolist() == [False, False, True, True, True, True]
    assert plan.age[0, 2:].tolist() == [0, 1, 2, 3]


def test_stockpile_release_adds_exactly_its_tonnes(tiny_network, frozen):
    release = {
        "type": "stockpile",
        "id": "r",
        "actor": "USA",
        "product": MAGNET,
        "action": "release",
        "tonnes_per_month": 5.0,
        "start": START,
        "end": "2027-04",
    }
    base = sim(tiny_network, frozen, [])
    ds = sim(tiny_network, frozen, [release])
    extra = (ds["inventory"] - base["inventory"]).sel(region="USA", product=MAGNET).values
    assert np.allclose(extra, [5, 10, 15, 20, 25, 30, 30, 30, 30, 30, 30, 30])
    others = (ds["inventory"] - base["inventory"]).drop_sel(region="USA")
    assert np.allclose(others.values, 0.0)


def test_stockpile_purchase_takes_its_tonnes(tiny_network, frozen):
    buy = {
        "type": "stockpile",
        "id": "b",
        "actor": "USA",
        "product": MAGNET,
        "action": "purchase",
        "tonnes_per_month": 2.0,
        "start": START,
        "end": "2027-01",
    }
    base = sim(tiny_network, frozen, [])
    ds = sim(tiny_network, frozen, [buy])
    less = (base["inventory"] - ds["inventory"]).sel(region="USA", product=MAGNET).values
    assert np.allclose(less[:4], [2, 4, 6, 6])


def test_tariff_moves_orders_to_supplier_with_spare(tiny_network, frozen):
    # CHN taxes AUS concentrate; USA has idle mining capacity (capacity 1.5 x output).
    frozen.update(rerouting_months=1.0, tariff_elasticity=2.0)
    tariff = {
        "type": "tariff",
        "id": "t",
        "actor": "CHN",
        "items": {"products": ["concentrate_light"]},
        "targets": ["AUS"],
        "rate": 0.25,
        "start": START,
    }
    ds = sim(tiny_network, frozen, [tariff], months=3)
    kept = 1.25**-2.0
    # the taxed part moves to suppliers by spare capacity x tariff weight: both mine with
    # 100 t/yr idle (AUS 500 - 400, USA 300 - 200), AUS's weight being ``kept``
    aus_share = kept + (1 - kept) * kept / (kept + 1.0)
    aus = flow(ds, "concentrate_light", "AUS", "CHN")
    usa = flow(ds, "concentrate_light", "USA", "CHN")
    assert np.isclose(aus[0], 25.0) and np.isclose(usa[0], 0.0)
    assert np.isclose(aus[1], 25.0 * aus_share)
    assert np.isclose(usa[1], 25.0 * (1 - aus_share))
    assert np.isclose(aus[2] + usa[2], 25.0)


def test_tariff_raises_landed_price_and_cuts_demand(tiny_network, frozen):
    frozen["demand_elasticity"] = 0.5
    frozen["demand_response_months"] = 1.0
    tariff = {
        "type": "tariff",
        "id": "t",
        "actor": "USA",
        "items": {"products": [MAGNET]},
        "targets": ["CHN"],
        "rate": 0.5,
        "start": START,
    }
    ds = sim(tiny_network, frozen, [tariff], months=2)
    # USA imports 150 of its 250 t of magnet supply; all from CHN
    landed = 1 + 0.5 * 150 / 250
    usa = ds["demand"].sel(region="USA", product=MAGNET).values
    assert np.isclose(usa[1], 250 / 12 * landed**-0.5)


def test_content_rule_on_actor_origin_share(tiny_network, frozen):
    # USA re-exports magnets to AUS: USA's magnet stock is 150/250 Chinese (imports), so its
    # Dy content counted as Chinese is 0.013 x 0.6 = 0.0078.
    t = tiny_network.tables
    t["trade"].loc[len(t["trade"])] = [MAGNET, "USA", "AUS", 2024, 30.0, "assumption", "", ""]
    t["trade"].loc[t["trade"]["importer"] == "AUS", "tonnes_per_year"] = [120.0, 30.0]
    t["demand"].loc[t["demand"]["region"] == "USA", "tonnes_per_year"] = [176.0, 44.0]
    rule = {
        "type": "content_rule",
        "id": "c",
        "elements": ["Dy"],
        "approval_share": 0.5,
        "start": START,
    }
    caught = sim(tiny_network, frozen, [{**rule, "threshold": 0.005}], months=3)
    free = sim(tiny_network, frozen, [{**rule, "threshold": 0.01}], months=3)
    assert np.allclose(flow(free, MAGNET, "USA", "AUS"), 2.5)
    assert np.allclose(flow(caught, MAGNET, "USA", "AUS"), 1.25)
    assert np.allclose(flow(caught, MAGNET, "CHN", "AUS"), 10.0)  # the actor's own: no rule


def test_capacity_investment_ramps_linearly(tiny_network):
    inv = {
        "type": "capacity_investment",
        "id": "i",
        "actor": "USA",
        "region": "USA",
        "process": "make_sintered",
        "tonnes_per_year": 120.0,
        "ramp_months": 4,
        "start": "2026-12",
    }
    scenario = Scenario.model_validate({"name": "t", "start": START, "policies": [inv]})
    compiled = compile_network(tiny_network)
    months = np.arange(month_index(START), month_index(START) + 7)
    plan = compile_policies(scenario.policies, months)
    added = [month_effects(plan, t, compiled).capacity[0, 1, 4] for t in range(7)]
    assert np.allclose(added, [0, 2.5, 5, 7.5, 10, 10, 10])


def test_flow_effects_on_cells_are_the_grid_gathered(tiny_network):
    """The engine asks for allowances, tariffs and quota masks on its trade arcs only; they
    must be the whole grid's values at those cells, per-draw values and switches included."""
    chn = {"actor": "CHN", "start": START}
    policies = [
        {**chn, "type": "export_license", "id": "lic", "items": {"products": [MAGNET]},
         "approval_share": 0.5, "lead_time_months": 0, "denied_sectors": ["wind"]},
        {**chn, "type": "export_ban", "id": "ban", "items": {"products": ["dy_oxide"]},
         "targets": ["USA"]},
        {**chn, "type": "export_quota", "id": "q", "items": {"products": ["ndpr_metal"]},
         "tonnes_per_year": 12.0},
        {"type": "tariff", "id": "t", "actor": "USA", "items": {"products": [MAGNET]},
         "targets": ["CHN"], "rate": 0.5, "start": START},
    ]  # fmt: skip
    scenario = Scenario.model_validate({"name": "t", "start": START, "policies": policies})
    compiled = compile_network(tiny_network)
    plan = compile_policies(scenario.policies, np.array([month_index(START)]))
    leak, rate, on = np.array([0.0, 0.2, 0.6]), np.array([0.1, 0.2, 0.3]), np.array([1, 0, 1])
    values = {"ban.leakage_share": leak, "t.rate": rate, "t.active": on}
    cells = build_static(compiled).arcs.cell
    grid = month_effects(plan, 0, compiled, values)
    arcs = month_effects(plan, 0, compiled, values, cells=cells)
    n_p, n_r = len(compiled.products), len(compiled.regions)
    assert grid.allow.shape == grid.tariff.shape == (3, n_p * n_r * n_r)
    for name in ("allow", "tariff"):  # (1|D, C): a leading 1 where no arc varies by draw
        on_cells = getattr(grid, name)[:, cells]
        np.testing.assert_array_equal(
            np.broadcast_to(getattr(arcs, name), on_cells.shape), on_cells
        )
    assert [q.mask.tolist() for q in arcs.quotas] == [q.mask[cells].tolist() for q in grid.quotas]
    allow, tariff = (x.reshape(-1, n_p, n_r, n_r) for x in (grid.allow, grid.tariff))
    magnet, dy = compiled.products.index(MAGNET), compiled.products.index("dy_oxide")
    assert np.allclose(allow[:, dy, 0, 1], leak) and np.allclose(allow[:, dy, 0, 2], 1.0)
    assert np.allclose(tariff[:, magnet, 0, 1], rate * on) and not tariff[:, :, 1:].any()
    assert np.all(allow[:, magnet, 0, 1:] < 0.5 + 1e-12) and np.all(allow[:, magnet, 1:] == 1.0)


def test_capacity_investment_lifts_output_under_a_ban(tiny_network):
    ban = {
        "type": "export_ban",
        "id": "ban",
        "items": {"products": [MAGNET]},
        "targets": ["USA"],
        "start": START,
    }
    inv = [
        {
            "type": "capacity_investment",
            "id": f"i{k}",
            "actor": "USA",
            "region": "USA",
            "process": k,
            "tonnes_per_year": v,
            "ramp_months": 0,
            "start": START,
        }
        for k, v in (
            ("make_sintered", 300.0),
            ("reduce_ndpr", 100.0),
            ("reduce_dy", 5.0),
            ("separate_light", 500.0),
            ("mine_light", 500.0),
        )
    ]
    params = {"demand_growth_per_year": 0.0, "capacity_growth_per_year": 0.0}
    without = sim(tiny_network, params, [ban], months=18)
    with_inv = sim(tiny_network, params, [ban, *inv], months=18)
    usa = {"region": "USA", "product": MAGNET}
    assert with_inv["production"].sel(**usa).sum() > without["production"].sel(**usa).sum()
    assert with_inv["shortage"].sel(**usa).sum() < without["shortage"].sel(**usa).sum()


def test_price_floor_holds(tiny_network, frozen):
    floor = {
        "type": "price_floor",
        "id": "f",
        "product": "ndpr_oxide",
        "market": "ex_china",
        "usd_per_kg": 110.0,
        "start": "2027-01",
        "end": "2027-03",
    }
    ds = sim(tiny_network, frozen, [floor], months=6)
    price = ds["price"].sel(product="ndpr_oxide", market="ex_china").values
    inside = in_window(ds, "2027-01", "2027-03")
    assert np.all(price[inside] >= 110.0)
    assert np.allclose(price[:2], 72.0)


def test_per_draw_policy_values(tiny_network, frozen):
    ban = {
        "type": "export_ban",
        "id": "ban",
        "items": {"products": [MAGNET]},
        "targets": ["USA"],
        "leakage_share": 0.2,
        "start": START,
    }
    scenario = Scenario.model_validate(
        {"name": "t", "start": START, "months": 3, "policies": [ban]}
    )
    compiled = compile_network(tiny_network)
    params = resolve_parameters(compiled.parameters, frozen)
    leak = np.array([0.0, 0.2, 0.6])
    raw = simulate(compiled, scenario, params, draws=3, values={"ban.leakage_share": leak})
    usa = raw.arrays["shipments"][:, :, 5, 0, 1]
    assert np.allclose(usa, 12.5 * leak[:, None])


@pytest.mark.parametrize("bad", [{"no_such": 1.0}])
def test_unknown_parameter_is_a_user_error(tiny_network, bad):
    from rareflow.errors import UserInputError

    with pytest.raises(UserInputError, match="no_such"):
        resolve_parameters(compile_network(tiny_network).parameters, bad)


def test_blocked_chinese_exports_raise_the_ex_china_price(tiny_network, frozen):
    frozen["price_adjust_months"] = 1.0
    ban = {"type": "export_ban", "id": "ban", "items": {"products": [MAGNET]}, "start": START}
    ds = sim(tiny_network, frozen, [ban], months=2)
    price = ds["price"].sel(product=MAGNET)
    # month 1: ex-China magnet stocks 25 t below their 100 t target (USA 62.5 + AUS 37.5 lose
    # a month of imports): tightness 0.25; magnets are the tiny network's largest market
    # (thinness 1), so the scarcity price is 60 x (1 - 0.25)^-0.4 (scarcity_exponent 0.4)
    assert np.isclose(float(price.sel(market="ex_china")[0]), 60.0 * 0.75**-0.4)
    assert float(price.sel(market="china")[0]) <= 50.0


def test_price_cap_holds_the_scarcity_price_down(tiny_network, frozen):
    """The ban above takes the ex-China magnet price to 60 x 0.75^-0.4 = 67.3 USD/kg in its
    first month; a cap at 62 holds it there, a floor above the cap takes precedence, and
    with demand answering price the capped market keeps more demand (rationed)."""
    frozen.update(price_adjust_months=1.0, demand_elasticity=0.5, demand_response_months=1.0)
    ban = {"type": "export_ban", "id": "ban", "items": {"products": [MAGNET]}, "start": START}
    cap = {"type": "price_cap", "id": "cap", "product": MAGNET, "market": "ex_china",
           "usd_per_kg": 62.0, "start": START}  # fmt: skip
    floor = {"type": "price_floor", "id": "floor", "product": MAGNET, "market": "ex_china",
             "usd_per_kg": 65.0, "start": START}  # fmt: skip
    free = sim(tiny_network, frozen, [ban], months=3)
    capped = sim(tiny_network, frozen, [ban, cap], months=3)
    both = sim(tiny_network, frozen, [ban, cap, floor], months=3)
    ex = {"product": MAGNET, "market": "ex_china"}
    assert float(free["price"].sel(**ex)[0]) > 65.0
    assert np.allclose(capped["price"].sel(**ex).values, 62.0)
    assert np.allclose(both["price"].sel(**ex).values, 65.0)
    usa = {"region": "USA", "product": MAGNET}
    assert float(capped["demand"].sel(**usa)[2]) > float(free["demand"].sel(**usa)[2])
