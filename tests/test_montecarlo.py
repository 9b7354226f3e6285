"""Monte Carlo: streamed statistics equal batch statistics; same seed, same numbers."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rareflow.data.network import Network
from rareflow.engine.parameters import resolve_parameters
from rareflow.engine.simulate import simulate
from rareflow.model.compiled import compile_network
from rareflow.scenarios.load import parse_scenario
from rareflow.scenarios.model import Scenario
from rareflow.uncertainty.montecarlo import Aggregate
from rareflow.uncertainty.run import run_montecarlo
from rareflow.uncertainty.sampling import BLOCK, draw_inputs, factors, uniforms
from rareflow.uncertainty.stats import Bins, Moments, histogram, quantiles

LICENCE = {"id": "lic", "type": "export_license", "actor": "CHN", "start": "2026-12",
           "items": {"products": ["ndfeb_sintered"]}, "approval_share": 0.3,
           "lead_time_months": 1}  # fmt: skip
UNCERTAIN = {
    "parameters": {"demand_elasticity": {"dist": "uniform", "low": 0.0, "high": 0.5}},
    "policies": {"lic": {"approval_share": {"dist": "uniform", "low": 0.0, "high": 0.8}}},
}
TIMED = {
    "policies": {"lic": {"probability": 0.6,
                         "approval_share": {"dist": "uniform", "low": 0.0, "high": 0.8},
                         "lead_time_months": {"dist": "choice", "values": [0, 1, 2]},
                         "duration_months": {"dist": "uniform", "low": 1, "high": 4}}},
}  # fmt: skip


@pytest.fixture
def tiny_network(tiny_network: Network) -> Network:
    """The tiny network without a catch-up window: every unit short is lost at once, so that
    value lost shows within the few months these statistics run (``docs/losses.md``)."""
    params = tiny_network.tables["parameters"]
    params.loc[params["name"] == "catchup_months", "value"] = 0.0
    return tiny_network


def make(uncertainty: dict[str, Any], months: int = 6, **policy: Any) -> Scenario:
    return parse_scenario({"name": "mc", "start": "2026-11", "months": months,
                           "policies": [{**LICENCE, **policy}], "uncertainty": uncertainty})  # fmt: skip


def same(a: Aggregate, b: Aggregate) -> None:
    assert a.n == b.n
    assert a.counts.keys() == b.counts.keys()
    for k in a.counts:
        assert np.array_equal(a.counts[k], b.counts[k]), k
    for k in a.moments:
        assert np.array_equal(a.moments[k].mean, b.moments[k].mean), k
        assert np.array_equal(a.moments[k].m2, b.moments[k].m2), k


def test_streamed_statistics_equal_batch_statistics(tiny_network: Network) -> None:
    scen = make(UNCERTAIN)
    draws = 200  # one block: the batch below runs the very same engine batch
    mc = run_montecarlo(scen, draws, seed=3, network=tiny_network, keep_paths=draws)
    inputs = draw_inputs(scen, uniforms(3, 0, draws, len(factors(scen))))
    net = compile_network(tiny_network)
    params = {**resolve_parameters(net.parameters), **inputs.parameters}
    raw = simulate(net, inputs.scenario, params, draws, values=inputs.values)
    for k in ("shortage_share", "value_lost", "units_not_built"):
        x = raw.arrays[k]
        m = mc.aggregate.moments[k]
        np.testing.assert_allclose(m.mean, x.mean(axis=0), rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(m.var, x.var(axis=0, ddof=1), rtol=1e-9, atol=1e-9)
        np.testing.assert_array_equal(np.concatenate(mc.aggregate.paths[k]), x)
    share = raw.arrays["shortage_share"]
    assert share.max() > 0.1, "the licence must cause shortages for the test to mean anything"
    np.testing.assert_array_equal(mc.aggregate.counts["exceed"], (share > 0.1).sum(axis=0))
    total = raw.arrays["value_lost"].sum(axis=1)
    np.testing.assert_allclose(mc.horizon()["value_lost_mean"], total.mean(axis=0).ravel())
    q = mc.quantiles("shortage_share")  # the draws fit the budget: exact (float32)
    np.testing.assert_allclose(q["p95"], np.quantile(share, 0.95, axis=0).ravel(), rtol=1e-6)


@pytest.mark.parametrize("chunk", [BLOCK, 2 * BLOCK, 1, 10_000])
def test_same_seed_same_numbers_whatever_the_chunking(tiny_network: Network, chunk: int) -> None:
    scen = make(TIMED)
    ref = run_montecarlo(scen, 600, seed=11, network=tiny_network, chunk_draws=3 * BLOCK)
    other = run_montecarlo(scen, 600, seed=11, network=tiny_network, chunk_draws=chunk)
    same(ref.aggregate, other.aggregate)


def test_draws_do_not_depend_on_their_number(tiny_network: Network) -> None:
    scen = make(UNCERTAIN)
    small = run_montecarlo(scen, 40, seed=5, network=tiny_network, keep_paths=40)
    big = run_montecarlo(scen, 300, seed=5, network=tiny_network, keep_paths=40)
    for k, parts in small.aggregate.paths.items():
        assert np.array_equal(np.concatenate(parts), np.concatenate(big.aggregate.paths[k]))
    other = run_montecarlo(scen, 40, seed=6, network=tiny_network)
    assert not np.array_equal(
        small.aggregate.moments["value_lost"].mean, other.aggregate.moments["value_lost"].mean
    )


def test_probability_zero_and_one(tiny_network: Network) -> None:
    net = compile_network(tiny_network)
    params = resolve_parameters(net.parameters)
    policy = make({}, ramp_months=2).policies  # a lead time, then a ramp
    plain = Scenario(name="plain", start="2026-11", months=6)
    shocked = Scenario(name="shocked", start="2026-11", months=6, policies=policy)
    fixed_lead = {"lead_time_months": {"dist": "choice", "values": [1]}}
    for p, reference in ((0.0, plain), (1.0, shocked)):
        scen = make({"policies": {"lic": {"probability": p, **fixed_lead}}}, ramp_months=2)
        mc = run_montecarlo(scen, 8, network=tiny_network)
        raw = simulate(net, reference, params)
        for k in ("shortage_share", "value_lost"):
            np.testing.assert_allclose(mc.aggregate.moments[k].mean, raw.arrays[k][0], atol=1e-9)
        assert np.all(mc.aggregate.moments["shortage_share"].m2 < 1e-18)


def test_timing_per_draw(tiny_network: Network) -> None:
    timing = {"start_shift_months": {"dist": "choice", "values": [0, 2]},
              "duration_months": {"dist": "choice", "values": [2, 12]}}  # fmt: skip
    scen = make({"policies": {"lic": timing}}, months=12, lead_time_months=1)
    u = np.array([[0.1, 0.1], [0.9, 0.9]])  # (no shift, 2 months), (2 months later, 12 months)
    inputs = draw_inputs(scen, u)
    active = inputs.values["lic.active"]  # months from 2026-11; the licence starts 2026-12
    np.testing.assert_array_equal(active[0], [0, 1, 1] + [0] * 9)
    np.testing.assert_array_equal(active[1], [0, 0, 0, 1] + [1] * 8)
    share = inputs.values["lic.approval_share"]
    assert share[0, 1] == 0.0 and share[0, 2] == 0.3  # one month of lead time
    assert share[1, 3] == 0.0 and share[1, 4] == 0.3
    longer = make({"policies": {"lic": {"duration_months": {"dist": "choice", "values": [12]}}}},
                  months=12)  # fmt: skip
    shorter = make({"policies": {"lic": {"duration_months": {"dist": "choice", "values": [2]}}}},
                   months=12)  # fmt: skip
    lost = [run_montecarlo(s, 2, network=tiny_network).horizon()["value_lost_mean"].sum()
            for s in (shorter, longer)]  # fmt: skip
    assert 0.0 <= lost[0] < lost[1]


def test_store_saves_a_montecarlo_run(tiny_network: Network, tmp_path: Any) -> None:
    from rareflow.io.store import ResultStore

    mc = run_montecarlo(make(UNCERTAIN), 30, network=tiny_network, keep_paths=2)
    store = ResultStore(tmp_path / "r.duckdb")
    run_id = store.save(mc)
    row = store.run(run_id)
    assert row["draws"] == 30 and row["months"] == 6
    stats = store.results(run_id, "shortage_share_p95")
    assert (stats["draw"] == -1).all() and len(stats) > 0
    assert set(store.results(run_id, "shortage_share")["draw"]) <= {0, 1}
    assert len(store.summary(run_id)) == 6  # 3 regions x 2 sectors


# -- the statistics on their own ---------------------------------------------------------------
def test_quantiles_of_known_distributions() -> None:
    rng = np.random.default_rng(0)
    x = rng.lognormal(mean=8.0, sigma=1.5, size=(20000, 3))
    x[:4000] = 0.0  # an atom at zero, as most draws of most cells have
    bins = Bins("log", 1.0, 1e13, 520)
    q = quantiles(bins, histogram(bins, x), (0.1, 0.5, 0.95))
    exact = np.quantile(x, (0.1, 0.5, 0.95), axis=0)
    assert np.all(q[0] == 0.0)
    np.testing.assert_allclose(q[1:], exact[1:], rtol=0.03)
    u = rng.uniform(size=(50000, 2))
    lin = Bins("linear", 0.0, 1.0, 200)
    np.testing.assert_allclose(quantiles(lin, histogram(lin, u), (0.05, 0.95)),
                               [[0.05, 0.05], [0.95, 0.95]], atol=0.01)  # fmt: skip


def test_moments_merge_like_one_batch() -> None:
    x = np.random.default_rng(1).normal(size=(1000, 4))
    merged = Moments.of(x[:123]).merge(Moments.of(x[123:700])).merge(Moments.of(x[700:]))
    np.testing.assert_allclose(merged.mean, x.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(merged.var, x.var(axis=0, ddof=1), rtol=1e-12)
    np.testing.assert_allclose(merged.se, x.std(axis=0, ddof=1) / np.sqrt(1000), rtol=1e-12)


def test_inventory_cover_per_draw(tiny_network: Network) -> None:
    """``cover_multiple`` (the engine's hook for uncertain inventory cover) works per draw."""
    net = compile_network(tiny_network)
    params = resolve_parameters(net.parameters)
    scen = make({}, months=8)
    both = simulate(net, scen, {**params, "cover_multiple": np.array([0.5, 3.0])}, 2)
    for d, cover in enumerate((0.5, 3.0)):
        one = simulate(net, scen, {**params, "cover_multiple": cover})
        np.testing.assert_allclose(both.arrays["shortage"][d], one.arrays["shortage"][0])
    lost = both.arrays["value_lost"].sum(axis=(1, 2, 3))
    assert lost[0] > lost[1]  # thinner stocks, bigger losses


def test_statistics_do_not_grow_with_draws(tiny_network: Network) -> None:
    def size(draws: int) -> int:
        agg = run_montecarlo(make(UNCERTAIN), draws, network=tiny_network).aggregate
        arrays = [*agg.counts.values()] + [a for m in agg.moments.values() for a in (m.mean, m.m2)]
        assert not agg.paths and not agg.totals  # nothing per draw unless asked for
        return sum(a.nbytes for a in arrays)

    assert size(BLOCK + 1) == size(4 * BLOCK)


def test_same_numbers_on_one_thread_or_two(
    tiny_network: Network, monkeypatch: pytest.MonkeyPatch
) -> None:
    scen = make(UNCERTAIN)
    runs = []
    for threads in ("1", "2"):
        monkeypatch.setenv("RAREFLOW_THREADS", threads)
        runs.append(
            run_montecarlo(scen, 5 * BLOCK, seed=4, network=tiny_network, chunk_draws=BLOCK)
        )
    same(runs[0].aggregate, runs[1].aggregate)


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.floats(-1.0, 1e15),
            st.sampled_from([0.0, 1e-3, 1.0, 1e9, 1e13, -0.0, float("nan")]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_compiled_histogram_bins_as_index(values: list[float]) -> None:
    """The compiled count puts every value in ``Bins.index``'s bin (zeros, NaN, edges)."""
    x = np.array(values).reshape(-1, 1)
    for bins in (Bins("log", 1.0, 1e13, 520), Bins("linear", 0.0, 1.0, 200)):
        want = np.bincount(bins.index(x[:, 0]), minlength=bins.size)
        np.testing.assert_array_equal(histogram(bins, x)[0], want)
