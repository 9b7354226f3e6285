"""Origin tracked on every tonne, for several origins and rules at once (issue 16).

The engine carries, for each region and product, the share of its stock of each tracked
origin (every region some measure reads: ``engine.prepare.tracked_origins``); the shares are
exclusive, so with what they leave (of no tracked origin) they sum to one. A stage run in a
tracked region makes output of its origin, a stage run elsewhere passes its inputs' origins
through by mass, and stocks mix what enters them by mass.

Tiny network (``conftest.tiny_tables``): CHN mines 1000 t REO and imports 300 from AUS; it
separates, reduces and makes magnets; USA makes 100 t of magnets from its own ore and imports
150 from CHN; AUS imports 150 t of magnets from CHN.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policy_strategies import per_draw_values
from policy_strategies import scenarios as policy_scenarios
from rareflow.engine.market import (
    update_capacity_entry,
    update_demand,
    update_prices,
    update_sourcing,
    update_substitution,
)
from rareflow.engine.parameters import resolve_parameters
from rareflow.engine.prepare import prepare, project_capacity, tracked_origins
from rareflow.engine.simulate import simulate
from rareflow.engine.state import initial_origin, initial_state
from rareflow.engine.static import build_static
from rareflow.engine.step import step
from rareflow.model.compiled import CompiledNetwork, compile_network
from rareflow.scenarios.model import Scenario
from test_engine_invariants import COMPILED
from test_kernel import BUNDLED, assert_same, both
from test_levers import reexporting
from test_policies_effects import MAGNET, START, flow, sim

CHN, USA, AUS = (COMPILED.regions.index(r) for r in ("CHN", "USA", "AUS"))


def origin_rule(rule_id: str, actor: str, origin: str | list[str], sectors: list[str],
                **extra: Any) -> dict[str, Any]:  # fmt: skip
    return {"type": "origin_rule", "id": rule_id, "actor": actor, "origin": origin,
            "sectors": sectors, "start": START, **extra}  # fmt: skip


def product(name: str) -> int:
    return COMPILED.products.index(name)


def test_initial_shares_blend_two_origins_by_mass() -> None:
    origin = initial_origin(build_static(COMPILED), np.array([CHN, AUS]))  # (R, P, O)
    # CHN's concentrate: 1000 t mined at home, 300 t imported from AUS's mines
    np.testing.assert_allclose(origin[CHN, product("concentrate_light")], [1000 / 1300, 300 / 1300])
    # CHN separates: its oxide is Chinese whatever the ore; 20 t of AUS-separated oxide join it
    np.testing.assert_allclose(origin[CHN, product("ndpr_oxide")], [260 / 280, 20 / 280])
    # USA's magnets: 100 t of its own (no tracked origin), 150 t from CHN
    np.testing.assert_allclose(origin[USA, product(MAGNET)], [150 / 250, 0.0])
    np.testing.assert_allclose(origin[AUS, product(MAGNET)], [1.0, 0.0])
    assert np.all(origin >= 0.0) and np.all(origin.sum(axis=-1) <= 1.0 + 1e-12)


def test_the_tracked_origins_are_every_origin_a_measure_reads_in_order() -> None:
    scenario = Scenario.model_validate({"name": "t", "policies": [
        origin_rule("us", "USA", "CHN", ["defence"]),
        origin_rule("eu", "DEU", ["CHN", "MMR"], ["defence"]),
        {"type": "export_ban", "id": "ban", "items": {"products": [MAGNET]}},
    ]})  # fmt: skip
    tracked = tracked_origins(BUNDLED, scenario.policies)
    assert [BUNDLED.regions[r] for r in tracked] == ["CHN", "MMR"]
    baseline = Scenario.model_validate({"name": "b", "policies": []})
    assert tracked_origins(BUNDLED, baseline.policies).size == 0  # no bookkeeping at all


def numpy_months(net: CompiledNetwork, scenario: Scenario, draws: int = 2) -> list[np.ndarray]:
    """``State.origin`` after each month of the numpy reference (``simulate._run_chunk``)."""
    params = resolve_parameters(net.parameters, scenario.parameters)
    run = prepare(net, scenario, params, draws)
    prm = run.params
    state = initial_state(run.static, draws, int(run.month_ids[0]),
                          prm["demand_growth_per_year"], run.origins, prm["cover_multiple"],
                          prm["catchup_months"])  # fmt: skip
    seen = [state.origin.copy()]
    moving = np.arange(len(net.products))
    for t, month in enumerate(run.month_ids):
        fx = run.effects(t, {})
        flows = step(run.static, state, fx, prm, int(month),
                     project_capacity(net, int(month)), run.origins)  # fmt: skip
        update_prices(run.static, state, flows, fx, prm)
        update_demand(run.static, state, fx.tariff, prm)
        update_substitution(run.static, state, prm)
        update_capacity_entry(run.static, state, int(month), prm)
        update_sourcing(run.static, state, flows, flows.allow, fx.tariff, prm, moving)
        seen.append(state.origin.copy())
    return seen


def test_shares_stay_put_in_a_steady_baseline(frozen: dict[str, float]) -> None:
    """Rules not yet in force: flows are the base year's, so are the origin shares."""
    rules = [origin_rule("a", "AUS", "CHN", ["wind"], start="2030-01"),
             origin_rule("u", "USA", ["CHN", "AUS"], ["wind"], start="2030-01")]  # fmt: skip
    scenario = Scenario.model_validate(
        {"name": "t", "start": START, "months": 4, "parameters": frozen, "policies": rules}
    )
    months = numpy_months(COMPILED, scenario)
    for origin in months[1:]:
        np.testing.assert_allclose(origin, months[0], atol=1e-12)


@st.composite
def with_origin_rules(draw: Any) -> Scenario:
    """A random scenario of every instrument, plus one to three origin rules with one or
    several origins each."""
    scenario = draw(policy_scenarios(COMPILED, max_policies=3))
    regions = list(COMPILED.regions)
    rules = []
    for n in range(draw(st.integers(1, 3))):
        actor = draw(st.sampled_from(regions))
        origins = draw(st.lists(st.sampled_from(regions), min_size=1, max_size=2, unique=True))
        rules.append(origin_rule(f"o{n}", actor, origins, ["wind"],
                                 from_stage=draw(st.sampled_from(["mining", "magnet"])),
                                 start=draw(st.sampled_from(["2026-11", "2027-02"]))))  # fmt: skip
    doc = scenario.model_dump(exclude_none=True)
    doc["start"], doc["months"] = START, 8
    doc["policies"] = [*doc["policies"], *rules]
    return Scenario.model_validate(doc)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(with_origin_rules())
def test_shares_are_non_negative_and_sum_to_one(scenario: Scenario) -> None:
    """Whatever the measures and parameters: every origin share is in [0, 1] and the shares,
    with the rest (of no tracked origin), sum to one in every region, product and month."""
    for origin in numpy_months(COMPILED, scenario):
        assert origin.shape[-1] >= 1
        rest = 1.0 - origin.sum(axis=-1)
        assert np.all(origin >= 0.0)
        assert np.all(rest >= -1e-9)
        np.testing.assert_allclose(origin.sum(axis=-1) + rest, 1.0)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(with_origin_rules(), st.data())
def test_random_origin_rules_match_the_reference(scenario: Scenario, data: st.DataObject) -> None:
    """The kernel's origin bookkeeping against the numpy step: one to three origin rules of
    one or two origins each, among random measures with per-draw values."""
    params = resolve_parameters(COMPILED.parameters, scenario.parameters)
    values = per_draw_values(data.draw, scenario, 3)
    assert_same(*both(COMPILED, scenario, params, 3, values=values))


def test_two_rules_bind_at_once(tiny_network: Any, frozen: dict[str, float]) -> None:
    """AUS's wind makers may not use Chinese magnets; USA's EV makers may not use Chinese
    or Australian material from the mine on. USA re-exports 2.5 t/month of magnets to AUS
    from a stock 150/250 Chinese."""
    net = reexporting(tiny_network)
    rules = [origin_rule("aus", "AUS", "CHN", ["wind"], from_stage="magnet"),
             origin_rule("usa", "USA", ["CHN", "AUS"], ["ev_traction"])]  # fmt: skip
    ds = sim(net, frozen, rules, months=3)
    aus_wind, usa_ev = 50 / 150, 176 / 220  # the sectors' shares of the buyers' magnet use
    assert np.allclose(flow(ds, MAGNET, "CHN", "AUS"), 10.0 * (1 - aus_wind))
    assert np.allclose(flow(ds, MAGNET, "CHN", "USA"), 12.5 * (1 - usa_ev))
    # the re-exports carry Chinese-origin magnets: AUS's rule binds them through USA
    assert np.allclose(flow(ds, MAGNET, "USA", "AUS"), 2.5 * (1 - aus_wind))
    alone = sim(net, frozen, rules[:1], months=3)
    assert np.allclose(flow(alone, MAGNET, "CHN", "USA"), 12.5)  # USA's rule, not AUS's


def test_an_intermediate_from_an_origin_loses_the_sectors_share(
    tiny_network: Any, frozen: dict[str, float]
) -> None:
    """From the mine on: CHN's rule against Australian material cuts AUS's concentrate and
    oxide by the share of CHN's use its wind makers hold (100 of 400 t of magnets)."""
    rule = origin_rule("chn", "CHN", "AUS", ["wind"])
    ds = sim(tiny_network, frozen, [rule], months=2)
    assert np.allclose(flow(ds, "concentrate_light", "AUS", "CHN"), 25.0 * (1 - 100 / 400))


def test_the_kernel_tracks_two_rules_as_the_reference_does() -> None:
    """The US defence rule against Chinese origin and an EU one against Chinese and Burmese
    origin, on the bundled network: the compiled kernel agrees with the numpy step."""
    scenario = Scenario.model_validate({"name": "two-rules", "start": "2026-06", "months": 14,
                                        "policies": [
        origin_rule("us", "USA", "CHN", ["defence"], start="2026-08"),
        origin_rule("eu", "DEU", ["CHN", "MMR"], ["defence", "wind"], start="2026-09"),
        {"type": "content_rule", "id": "c", "elements": ["Dy", "Tb"], "approval_share": 0.3,
         "start": "2026-07"},
    ]})  # fmt: skip
    params = resolve_parameters(
        BUNDLED.parameters, {"demand_elasticity": np.array([0.05, 0.2, 0.4])}
    )
    assert_same(*both(BUNDLED, scenario, params, 3))


def test_the_documented_example_holds_two_rules_and_runs() -> None:
    """``docs/examples/origin-rules-2027.yaml`` (``docs/origin-rules.md``): three rules, the
    origins CHN and MMR tracked, China's magnet exports to the rules' buyers cut."""
    from pathlib import Path

    from rareflow.scenarios.load import load_scenario

    path = Path(__file__).parents[1] / "docs" / "examples" / "origin-rules-2027.yaml"
    scenario = load_scenario(str(path))
    assert [p.type for p in scenario.policies] == ["origin_rule"] * 3
    tracked = tracked_origins(BUNDLED, scenario.policies)
    assert [BUNDLED.regions[r] for r in tracked] == ["CHN", "MMR"]
    months = {"months": 6}
    params = resolve_parameters(BUNDLED.parameters, scenario.parameters)
    ruled = simulate(BUNDLED, scenario, params, **months).arrays["shipments"]
    base = Scenario.model_validate({"name": "b", "start": scenario.start, "policies": []})
    free = simulate(BUNDLED, base, params, **months).arrays["shipments"]
    at = BUNDLED.products.index(MAGNET), BUNDLED.regions.index("CHN")
    for buyer in ("USA", "DEU", "XEU"):
        i = BUNDLED.regions.index(buyer)
        assert ruled[0, 2:, at[0], at[1], i].sum() < free[0, 2:, at[0], at[1], i].sum(), buyer


def test_demand_share_of_an_entity_ban_varies_per_draw(
    tiny_network: Any, frozen: dict[str, float]
) -> None:
    ban = {"type": "entity_ban", "id": "eb", "items": {"products": [MAGNET]}, "region": "USA",
           "sectors": ["wind"], "demand_share": 0.5, "start": START}  # fmt: skip
    scenario = Scenario.model_validate(
        {"name": "t", "start": START, "months": 2, "parameters": frozen, "policies": [ban]}
    )
    compiled = compile_network(tiny_network)
    params = resolve_parameters(compiled.parameters, frozen)
    shares = np.array([0.0, 0.5, 1.0])
    for kernel in ("numpy", "numba"):
        raw = simulate(compiled, scenario, params, 3, values={"eb.demand_share": shares},
                       kernel=kernel)  # fmt: skip
        at = (compiled.products.index(MAGNET), CHN, USA)
        shipped = raw.arrays["shipments"][:, :, at[0], at[1], at[2]]  # (D, T)
        want = 12.5 * (1 - shares * 50 / 250)  # USA wind: 50 of its 250 t of magnet use
        np.testing.assert_allclose(shipped, np.broadcast_to(want[:, None], shipped.shape))


def test_demand_share_takes_an_uncertainty_range() -> None:
    from rareflow.scenarios.uncertainty import Uncertainty
    from rareflow.uncertainty.sampling import draw_inputs, factors, uniforms

    ban = {"type": "entity_ban", "id": "eb", "items": {"products": [MAGNET]}, "region": "USA",
           "sectors": ["defence"], "demand_share": 0.1, "start": "2026-06"}  # fmt: skip
    spec = Uncertainty.model_validate(
        {"policies": {"eb": {"demand_share": {"dist": "uniform", "low": 0.05, "high": 0.4}}}}
    )
    scenario = Scenario.model_validate(
        {"name": "t", "start": "2026-06", "months": 3, "policies": [ban], "uncertainty": spec}
    )
    params = resolve_parameters(BUNDLED.parameters, scenario.parameters)
    inputs = draw_inputs(scenario, uniforms(3, 0, 50, len(factors(scenario))), 3, params)
    drawn = inputs.values["eb.demand_share"]
    assert drawn.shape == (50,) and np.all((drawn >= 0.05) & (drawn <= 0.4))
    assert np.ptp(drawn) > 0.1


@pytest.mark.parametrize(("field", "value"), [("origin", "ATLANTIS"), ("from_stage", "smelting")])
def test_an_unknown_origin_or_stage_exits_2_naming_file_field_and_value(
    tmp_path: Any, capsys: pytest.CaptureFixture[str], field: str, value: str
) -> None:
    from rareflow.cli.main import cli

    path = tmp_path / "rule.yaml"
    origin = f"[CHN, {value}]" if field == "origin" else "CHN"
    stage = value if field == "from_stage" else "mining"
    path.write_text(
        "name: bad\nstart: 2026-06\nmonths: 2\npolicies:\n"
        "  - {type: origin_rule, id: us, actor: USA, origin: " + origin
        + ", sectors: [defence], from_stage: " + stage + "}\n"
    )  # fmt: skip
    code = cli(["run", str(path), "--store", str(tmp_path / "s.duckdb")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "rule.yaml" in err and field in err and value in err and "Traceback" not in err, err
