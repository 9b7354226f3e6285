"""The compiled kernel (``engine/kernel.py``) against the numpy reference step.

Both paths implement the same model in the same order of operations, so every output agrees
to rounding (sums are taken in other orders): on every bundled scenario, on random policies
and parameters (hypothesis), and with per-draw policy values. The kernel's own results do
not depend on how draws are chunked or tiled, bit for bit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st

from policy_strategies import per_draw_values
from rareflow.data.network import load_network
from rareflow.engine import fast
from rareflow.engine import kernel as kn
from rareflow.engine.outputs import OUTPUTS
from rareflow.engine.parameters import resolve_parameters
from rareflow.engine.simulate import choose_kernel, simulate
from rareflow.errors import MassBalanceError, UserInputError
from rareflow.model.compiled import compile_network
from rareflow.policies.instruments import REGISTRY
from rareflow.scenarios.load import list_scenarios, load_scenario
from rareflow.scenarios.model import Scenario
from rareflow.scenarios.uncertainty import Uncertainty
from rareflow.uncertainty.sampling import draw_inputs, factors, uniforms
from test_engine_invariants import COMPILED, scenarios

BUNDLED = compile_network(load_network())
RTOL = 1e-9


def both(net: Any, scenario: Scenario, params: dict, draws: int, **kw: Any) -> tuple:
    ref = simulate(net, scenario, params, draws, kernel="numpy", **kw)
    fast_ = simulate(net, scenario, params, draws, kernel="numba", **kw)
    return ref, fast_


def assert_same(ref: Any, got: Any) -> None:
    assert ref.months == got.months
    for name, want in ref.arrays.items():
        have = got.arrays[name]
        assert have.shape == want.shape, name
        scale = max(float(np.abs(want).max()), 1.0)
        np.testing.assert_allclose(have, want, rtol=RTOL, atol=RTOL * scale, err_msg=name)


@pytest.mark.parametrize("name", [s["name"] for s in list_scenarios()])
def test_bundled_scenarios_match_the_reference(name: str) -> None:
    scenario = load_scenario(name)
    draws = 3  # not a whole tile: padding lanes must not leak into results
    params = resolve_parameters(
        BUNDLED.parameters,
        {
            **scenario.parameters,
            "demand_elasticity": np.array([0.05, 0.2, 0.4]),
            "rerouting_months": np.array([2.0, 6.0, 12.0]),
            "home_priority": np.array([0.0, 0.5, 1.0]),
            # per-draw catch-up windows: lost at once, 3 months (2.5 rounds up), 6 months
            "catchup_months": np.array([0.0, 2.5, 6.0]),
            "catchup_rate": np.array([0.1, 0.0, 0.5]),
        },
    )
    assert_same(*both(BUNDLED, scenario, params, draws, months=36))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios(), st.data())
def test_random_policies_match_the_reference(scenario: Scenario, data: st.DataObject) -> None:
    """Every registered instrument, with some attributes and on/off switches per draw."""
    params = resolve_parameters(COMPILED.parameters, scenario.parameters)
    values = per_draw_values(data.draw, scenario, 3)
    assert_same(*both(COMPILED, scenario, params, 3, values=values))


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_the_generator_draws_every_instrument(kind: str) -> None:
    """The random scenarios above reach every registered instrument (price floors too)."""
    found = find(scenarios(), lambda s: any(p.type == kind for p in s.policies),
                 settings=settings(max_examples=2000, database=None))  # fmt: skip
    assert any(p.type == kind for p in found.policies)


def test_per_draw_policy_values_match_the_reference() -> None:
    """Monte Carlo inputs: per-draw approval shares, a policy switched on per draw."""
    scenario = load_scenario("reimpose-oct-2025")
    spec = Uncertainty.model_validate(
        {
            "parameters": {"price_sensitivity": {"dist": "uniform", "low": 1.0, "high": 4.0}},
            "policies": {
                "april-2025-licence": {
                    "probability": 0.5,
                    "approval_share": {"dist": "beta", "a": 4.0, "b": 6.0},
                },
                "oct-2025-licence": {
                    "approval_share": {"dist": "uniform", "low": 0.2, "high": 0.6}
                },
            },
        }
    )
    scenario = scenario.model_copy(update={"uncertainty": spec})
    draws = 13
    params = resolve_parameters(BUNDLED.parameters, scenario.parameters)
    inputs = draw_inputs(scenario, uniforms(7, 0, draws, len(factors(scenario))), 30, params)
    merged = {**params, **inputs.parameters}
    kw = {"months": 30, "values": inputs.values}
    assert_same(*both(BUNDLED, inputs.scenario, merged, draws, **kw))


def test_a_content_rule_on_licensed_arcs_matches_the_reference() -> None:
    """The kernel folds the first content rule into its base pass only on arcs no other
    measure covers: here a licence of Japan's exports covers some of the rule's arcs, and
    both kinds of arc must come out as the numpy step's."""
    scenario = Scenario.model_validate(
        {
            "name": "overlap",
            "start": "2026-01",
            "months": 12,
            "policies": [
                {"id": "lic", "type": "export_license", "actor": "JPN", "start": "2026-02",
                 "items": {"products": ["ndfeb_sintered", "dy_oxide"]}, "targets": ["all"],
                 "approval_share": 0.4, "lead_time_months": 1},
                {"id": "rule", "type": "content_rule", "actor": "CHN", "start": "2026-03",
                 "elements": ["Dy", "Tb"], "threshold": 0.001, "approval_share": 0.5,
                 "lead_time_months": 0, "targets": ["all"]},
            ],
        }
    )  # fmt: skip
    from rareflow.engine.prepare import prepare

    params = resolve_parameters(BUNDLED.parameters, scenario.parameters)
    run = prepare(BUNDLED, scenario, params, 3)
    static = run.static
    fx = fast.effects(static, run.effects(6, {}), np.zeros_like(BUNDLED.capacity))
    assert fx.rule_lead.any()  # arcs the rule alone covers: folded into the base pass
    assert fx.rule_ptr[1] > 0  # and licensed arcs it covers too: multiplied after the licence
    params = resolve_parameters(BUNDLED.parameters, scenario.parameters)
    assert_same(*both(BUNDLED, scenario, params, 3))


def test_results_do_not_depend_on_chunks_or_threads() -> None:
    scenario = load_scenario("reimpose-oct-2025")
    params = resolve_parameters(
        BUNDLED.parameters, {"price_sensitivity": np.linspace(1.0, 4.0, 21)}
    )
    outputs = ["shortage_share", "value_lost", "price", "shipments"]
    one = simulate(BUNDLED, scenario, params, 21, months=18, kernel="numba", chunk_size=21,
                   workers=1, outputs=outputs)  # fmt: skip
    many = simulate(BUNDLED, scenario, params, 21, months=18, kernel="numba", chunk_size=5,
                    workers=2, outputs=outputs)  # fmt: skip
    for name in outputs:
        np.testing.assert_array_equal(one.arrays[name], many.arrays[name], err_msg=name)


def test_a_broken_balance_names_the_node() -> None:
    """A negative opening stock cannot balance into a non-negative month: the kernel flags
    it and ``fast.check`` raises the numpy path's error, naming region, product and draw."""
    from rareflow.engine.prepare import scenario_static
    from rareflow.engine.state import NO_ORIGINS, initial_state
    from rareflow.policies.channels import MonthEffects

    scenario = load_scenario("baseline")
    static = scenario_static(BUNDLED, scenario)
    params = resolve_parameters(BUNDLED.parameters, {})
    state = initial_state(static, 2, 2026 * 12, params["demand_growth_per_year"], NO_ORIGINS)
    usa, magnet = BUNDLED.regions.index("USA"), BUNDLED.products.index("ndfeb_sintered")
    state.stock[1, usa, magnet] = -1e6
    none = MonthEffects(BUNDLED, static.arcs.size)
    fx = fast.effects(static, none, np.zeros(BUNDLED.capacity.shape))
    months = fast.run_months(
        static, state, params, np.array([2026 * 12]), lambda t: fx, NO_ORIGINS, 40
    )
    with pytest.raises(MassBalanceError, match=r"USA, product ndfeb_sintered \(draw 41\)"):
        next(months)


def test_kernel_choice() -> None:
    assert choose_kernel(None, 1) == "numpy"  # a single run: no compile wait
    assert choose_kernel(None, 256) == "numba"
    assert choose_kernel("numpy", 10_000) == "numpy"
    with pytest.raises(UserInputError, match="unknown kernel"):
        choose_kernel("fortran", 1)


def test_tiles_pad_with_the_last_draw() -> None:
    n = kn.TILE + 3  # a whole tile and three draws of the next
    x = np.arange(2 * 3 * n, dtype=float).reshape(n, 2, 3)
    tiles = fast.tiled(x)
    assert tiles.shape == (2, 2, 3, kn.TILE)
    assert np.array_equal(tiles[0, :, :, 5], x[5])
    assert np.array_equal(tiles[1, :, :, 2], x[n - 1])  # the last draw = tile 1, lane 2
    assert np.array_equal(tiles[1, :, :, -1], x[n - 1])  # padding repeats it
    shared = fast.tiled(np.ones((1, 4)))
    assert shared.shape == (1, 4, kn.TILE)


def test_the_month_is_compiled_no_alias_and_leaves_numba_settings_alone() -> None:
    """``compile_month`` turns LLVM's SLP vectoriser on for the kernel's own compile only:
    numba's setting is what it was, and the kernel's arguments are compiled no-alias."""
    from numba.core import config

    before = config.SLP_VECTORIZE
    simulate(BUNDLED, load_scenario("baseline"), {}, kn.TILE, months=1, kernel="numba")
    assert config.SLP_VECTORIZE == before == 0
    assert kn.month.signatures
    assert all(kn.month.overloads[s].fndesc.noalias for s in kn.month.signatures)


def test_the_kernel_pipeline_counts_no_references() -> None:
    """``month`` is compiled without numba's reference counts, so it may not allocate: the
    pipeline refuses a function that does."""
    import numba

    def allocates(n: int) -> int:
        return np.empty(n).size

    assert numba.njit(allocates)(3) == 3
    with pytest.raises(numba.core.errors.TypingError, match="array passed into the function"):
        numba.njit(pipeline_class=kn.KernelPipeline)(allocates)(3)


def test_scratch_fields_are_separate_allocations() -> None:
    """No-alias arguments are only sound if no two of the kernel's arrays share memory."""
    w = kn.work(3, 4, 5, 6, 7, 2, 3)
    assert set(kn._WORK_DIMS) == set(kn.Work._fields[:-1])
    for i, a in enumerate(w):
        assert a.shape[-1] == (kn.TILE if i < len(w) - 1 else 7)
        for b in w[i + 1 :]:
            assert not np.shares_memory(a, b)


@pytest.mark.parametrize("kernel", ["numpy", "numba"])
def test_a_stream_records_only_the_outputs_asked_for(kernel: str) -> None:
    """Leaving outputs out (as a Monte Carlo run does) changes none of the others."""
    from rareflow.engine.simulate import stream

    scen, params = load_scenario("reimpose-oct-2025"), BUNDLED.parameters
    some = ("value_lost", "price")
    full = stream(BUNDLED, scen, params, kn.TILE + 3, months=6, kernel=kernel)
    part = stream(BUNDLED, scen, params, kn.TILE + 3, months=6, kernel=kernel, outputs=some)
    for (t, every, _), (u, kept, _) in zip(full, part, strict=True):
        assert t == u and set(kept) == set(some) and set(every) == set(OUTPUTS)
        for k in some:
            assert np.array_equal(every[k], kept[k]), (k, t)


# numpy helpers that reshape or index arrays and have no arithmetic of the model's own
ARRAY_PLUMBING = {"step.to_arcs", "step.take", "step.node_columns", "step.node_rows"}


def test_every_numpy_mechanism_has_its_kernel_twin() -> None:
    """kernel.TWINS pairs each function of step.py, market.py and balance.py with the kernel
    function holding the same arithmetic: both exist, and none is left unpaired."""
    import inspect
    from importlib import import_module

    public = set()
    for module in ("step", "market", "balance"):
        mod = import_module(f"rareflow.engine.{module}")
        public |= {
            f"{module}.{name}"
            for name, fn in inspect.getmembers(mod, inspect.isfunction)
            if fn.__module__ == mod.__name__ and not name.startswith("_")
        }
    assert public - ARRAY_PLUMBING == set(kn.TWINS)
    for numpy_name, kernel_name in kn.TWINS.items():
        module, name = numpy_name.split(".")
        assert hasattr(import_module(f"rareflow.engine.{module}"), name), numpy_name
        assert hasattr(kn, kernel_name), kernel_name
