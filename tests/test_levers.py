"""The levers of 2026 (issue 16), each on the tiny network against numbers computed by hand:
general licences, licence conditions, entity bans with their re-transfer clause, a coalition's
minimum import price and tariffs under several legal bases.

Tiny network (``conftest.tiny_tables``), frozen: CHN ships 12.5 t/month of sintered magnets
to each of USA and AUS; wind is 50 of USA's 250 t and 50 of AUS's 150 t of magnet use.
"""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from rareflow.scenarios.model import Scenario
from test_policies_effects import MAGNET, START, flow, in_window, sim

LICENCE = {
    "type": "export_license",
    "id": "lic",
    "items": {"products": [MAGNET]},
    "approval_share": 0.0,
    "start": START,
}


def general(share: float, **extra: object) -> dict[str, object]:
    return {
        "type": "general_license",
        "id": "gl",
        "items": {"products": [MAGNET]},
        "targets": ["USA"],
        "exporter": "JL MAG",
        "customers": ["a US carmaker"],
        "customer_share": share,
        "start": "2027-01",
        **extra,
    }


def test_general_licence_releases_its_customers_share_for_one_year(tiny_network, frozen):
    ds = sim(tiny_network, frozen, [LICENCE, general(0.4)], months=16)
    usa, aus = flow(ds, MAGNET, "CHN", "USA"), flow(ds, MAGNET, "CHN", "AUS")
    year = in_window(ds, "2027-01", "2027-12")
    assert np.allclose(usa[year], 12.5 * 0.4)
    assert np.allclose(usa[~year], 0.0)  # before it, and after its year
    assert np.allclose(aus, 0.0)  # not a destination of the general licence


def test_general_licence_adds_to_what_review_approves(tiny_network, frozen):
    lic = {**LICENCE, "approval_share": 0.5}
    ds = sim(tiny_network, frozen, [lic, general(0.4)], months=4)
    usa = flow(ds, MAGNET, "CHN", "USA")
    assert np.allclose(usa[in_window(ds, "2027-01", "2027-12")], 12.5 * (0.4 + 0.6 * 0.5))


def test_a_ban_takes_precedence_over_a_general_licence(tiny_network, frozen):
    ban = {"type": "export_ban", "id": "ban", "items": {"products": [MAGNET]}, "start": START}
    ds = sim(tiny_network, frozen, [ban, LICENCE, general(1.0)], months=4)
    assert np.allclose(flow(ds, MAGNET, "CHN", "USA"), 0.0)


def test_general_licence_runs_one_year_at_most():
    with pytest.raises(ValidationError, match="one year"):
        Scenario.model_validate({"name": "t", "policies": [general(0.4, end="2028-01")]})


def reexporting(net):
    """USA re-exports 30 t/yr of magnets to AUS; USA's magnet stock is 150/250 Chinese."""
    t = net.tables
    t["trade"].loc[len(t["trade"])] = [MAGNET, "USA", "AUS", 2024, 30.0, "assumption", "", ""]
    t["trade"].loc[t["trade"]["importer"] == "AUS", "tonnes_per_year"] = [120.0, 30.0]
    t["demand"].loc[t["demand"]["region"] == "USA", "tonnes_per_year"] = [176.0, 44.0]
    return net


def test_licence_condition_forbids_re_export_of_chinese_origin(tiny_network, frozen):
    net = reexporting(tiny_network)
    lic = {**LICENCE, "approval_share": 1.0, "targets": ["USA"]}
    free = sim(net, frozen, [lic], months=3)
    bound = sim(net, frozen, [{**lic, "conditions": {"no_reexport_to": ["AUS"]}}], months=3)
    assert np.allclose(flow(free, MAGNET, "USA", "AUS"), 2.5)
    assert np.allclose(flow(bound, MAGNET, "USA", "AUS"), 0.0)  # the licensee's re-exports
    assert np.allclose(flow(bound, MAGNET, "CHN", "USA"), flow(free, MAGNET, "CHN", "USA"))


def test_entity_ban_denies_the_entities_share_directly(tiny_network, frozen):
    ban = {
        "type": "entity_ban",
        "id": "eb",
        "items": {"products": [MAGNET]},
        "region": "USA",
        "sectors": ["wind"],
        "entities": ["a wind OEM"],
        "demand_share": 0.5,
        "share_basis": "assumption: half of US wind magnet use",
        "start": "2027-01",
    }
    ds = sim(tiny_network, frozen, [ban], months=4)
    on = in_window(ds, "2027-01", "2027-12")
    usa = flow(ds, MAGNET, "CHN", "USA")
    assert np.allclose(usa[on], 12.5 * (1 - 0.5 * 50 / 250))
    assert np.allclose(usa[~on], 12.5)
    assert np.allclose(flow(ds, MAGNET, "CHN", "AUS"), 12.5)


def test_entity_ban_re_transfer_clause_binds_third_countries(tiny_network, frozen):
    net = reexporting(tiny_network)
    ban = {
        "type": "entity_ban",
        "id": "eb",
        "items": {"products": [MAGNET]},
        "region": "AUS",
        "sectors": ["wind"],
        "demand_share": 1.0,
        "start": START,
    }
    kept = 1 - 50 / 150  # AUS wind: 50 of its 150 t of magnet use
    worldwide = sim(net, frozen, [ban], months=3)
    direct = sim(net, frozen, [{**ban, "retransfer": "allowed"}], months=3)
    assert np.allclose(flow(worldwide, MAGNET, "CHN", "AUS"), 10.0 * kept)
    assert np.allclose(flow(worldwide, MAGNET, "USA", "AUS"), 2.5 * kept)
    assert np.allclose(flow(direct, MAGNET, "USA", "AUS"), 2.5)


def test_import_price_floor_is_the_levy_up_to_the_floor(tiny_network, frozen):
    frozen["demand_elasticity"] = 0.5
    frozen["demand_response_months"] = 1.0
    # China's magnet price is 50 USD/kg: a 100 USD/kg floor is a 100% levy on Chinese
    # magnets; ex-China magnets (60 USD/kg) pay 100/60 - 1.
    floor = {
        "type": "import_price_floor",
        "id": "f",
        "actor": "USA",
        "members": ["AUS"],
        "product": MAGNET,
        "usd_per_kg": 100.0,
        "start": START,
    }
    levy = {
        "type": "tariff",
        "id": "t",
        "actor": "USA",
        "targets": ["CHN"],
        "items": {"products": [MAGNET]},
        "rate": 1.0,
        "start": START,
    }
    a = sim(tiny_network, frozen, [floor], months=4)
    b = sim(tiny_network, frozen, [levy, {**levy, "id": "t2", "actor": "AUS"}], months=4)
    for name in ("shipments", "demand", "price"):
        assert np.allclose(a[name].values, b[name].values), name


def test_tariffs_under_several_bases_stack(tiny_network, frozen):
    frozen["demand_elasticity"] = 0.5
    frozen["demand_response_months"] = 1.0
    base = {
        "type": "tariff",
        "actor": "USA",
        "targets": ["CHN"],
        "items": {"products": [MAGNET]},
        "start": START,
    }
    stacked = [
        {**base, "id": "s122", "basis": "section_122", "rate": 0.1},
        {**base, "id": "s301", "basis": "section_301", "rate": 0.25},
    ]
    a = sim(tiny_network, frozen, stacked, months=3)
    b = sim(tiny_network, frozen, [{**base, "id": "one", "rate": 0.35}], months=3)
    assert np.allclose(a["demand"].values, b["demand"].values)
    assert not np.allclose(a["demand"].values, sim(tiny_network, frozen, [], 3)["demand"].values)


def test_the_2025_2026_events_are_typed_with_the_new_levers() -> None:
    """Every 2025-2026 row is modelled or says why not; the levers of 2026 are typed."""
    from rareflow.history import timeline
    from rareflow.policies import instruments as ins

    events = [e for e in timeline.load_timeline() if e.date >= "2025"]
    assert len([e for e in events if not e.table]) == 58  # policy_events.csv's rows
    assert [e.table for e in events if e.table] == ["trade_flows_annual.csv"]  # MP's halt
    assert all(e.modelled or e.why_not_modelled for e in events)
    by_id = {p.id: p for e in events for p in e.policies}
    japan = by_id["cn-japan-military-2026"]
    assert isinstance(japan, ins.EntityBan) and japan.retransfer == "denied"
    assert isinstance(by_id["cn-us-entities-2026-06"], ins.EntityBan)
    general = [p for p in by_id.values() if isinstance(p, ins.GeneralLicense)]
    assert len(general) == 3 and all(p.start == "2025-12" for p in general)
    assert by_id["us-s122-surcharge"].basis == "section_122"  # type: ignore[attr-defined]
    for event in events:  # every assumed number is written down
        shares = [p for p in event.policies if isinstance(p, ins.EntityBan | ins.GeneralLicense)]
        assert not shares or event.assumptions, event.reference


def test_history_runs_to_the_last_event_with_the_2026_levers() -> None:
    from rareflow.history.scenario import history_scenario
    from rareflow.history.timeline import load_timeline

    last = max(e.date for e in load_timeline())[:7]
    scenario = history_scenario(last, start="2025-10")
    kinds = {p.type for p in scenario.policies}
    assert {"entity_ban", "general_license", "tariff"} <= kinds
    import rareflow

    result = rareflow.run(scenario)
    assert str(result.dataset["month"].values[-1])[:7] == last  # a datetime in the Python API


def test_origin_rule_binds_the_buyers_sectors_through_third_countries(tiny_network, frozen):
    net = reexporting(tiny_network)
    rule = {
        "type": "origin_rule",
        "id": "o",
        "actor": "AUS",
        "origin": "CHN",
        "sectors": ["wind"],
        "from_stage": "magnet",
        "start": START,
    }
    kept = 1 - 50 / 150  # AUS wind: 50 of its 150 t of magnet use
    ds = sim(net, frozen, [rule], months=3)
    assert np.allclose(flow(ds, MAGNET, "CHN", "AUS"), 10.0 * kept)
    assert np.allclose(flow(ds, MAGNET, "USA", "AUS"), 2.5 * kept)  # Chinese-origin stock
    assert np.allclose(
        flow(ds, MAGNET, "CHN", "USA"), flow(sim(net, frozen, [], 3), MAGNET, "CHN", "USA")
    )
    assert np.allclose(flow(ds, "concentrate_light", "AUS", "CHN"), 25.0)  # not its buyers
