"""Buyers that differ (``engine/buyers.py``): the maths against direct integration, and the
2025 stoppages in the history run."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from rareflow.engine import buyers


def test_partial_mean_is_the_integral_of_the_survival_function() -> None:
    """E[min(c, x)] = integral from 0 to x of P(c > u) du, for a log-normal cover."""
    mean, sigma = 2.5, 1.02
    dist = stats.lognorm(s=sigma, scale=mean * np.exp(-0.5 * sigma**2))
    for x in (0.1, 1.0, 2.5, 10.0):
        want = integrate.quad(dist.sf, 0.0, x)[0]
        got = float(buyers.partial_mean(np.array(x), np.array(mean), sigma))
        assert abs(got - want) < 1e-8
    assert abs(dist.mean() - mean) < 1e-12  # the covers average to the pool's cover


@settings(max_examples=60, deadline=None)
@given(st.floats(0.01, 12.0), st.floats(0.0, 1.0), st.floats(0.2, 2.0))
def test_own_drawdown_inverts_the_partial_mean(mean: float, fraction: float, sigma: float) -> None:
    drawn = np.array(mean * fraction * 0.999)
    x = buyers.own_drawdown(drawn, np.array(mean), sigma)
    assert x >= drawn - 1e-12  # nobody draws more than X
    if drawn > 0:
        back = buyers.partial_mean(x, np.array(mean), sigma)
        assert abs(float(back) - float(drawn)) < 1e-9 * max(1.0, mean)
    share = buyers.stopped_share(drawn, np.array(mean), sigma)
    assert 0.0 <= float(share) <= 1.0


def test_the_stopped_share_grows_with_the_drawdown_and_is_zero_without_one() -> None:
    mean = np.full(5, 2.0)
    drawn = np.array([0.0, 0.2, 0.8, 1.6, 2.0])
    share = buyers.stopped_share(drawn, mean, 1.0)
    assert share[0] == 0.0 and share[-1] == 1.0  # an empty pool stops everyone
    assert np.all(np.diff(share) > 0)


def test_pooling_and_restarts_on_a_hand_made_path() -> None:
    """A pool of 2 months' cover drawn to 1 in one month, then refilled: buyers stop in the
    month of the shortfall only; with everything pooled, nobody stops."""
    demand = np.full((1, 3, 1, 1), 10.0)
    inventory = np.array([20.0, 10.0, 15.0]).reshape(1, 3, 1, 1)
    alone = buyers.product_stopped(inventory, demand, 1.0, 0.0)[0, :, 0, 0]
    expected = buyers.stopped_share(np.array(1.0), np.array(2.0), 1.0) * 1.0  # 1 month short
    assert alone[0] == 0.0 and alone[2] == 0.0  # before the cut, and once supply flows again
    assert abs(alone[1] - float(expected)) < 1e-12
    pooled = buyers.product_stopped(inventory, demand, 1.0, 1.0)
    assert np.all(pooled == 0.0)


def test_a_sector_stops_on_its_scarcest_part_and_never_below_the_engine() -> None:
    by_product = np.broadcast_to(np.array([0.1, 0.4, 0.0]), (1, 1, 1, 2, 3))  # sectors alike
    uses = np.array([[[True, False, True], [False, False, False]]])  # (R, S, P)
    engine = np.array([0.0, 0.2]).reshape(1, 1, 1, 2)
    out = buyers.sector_stopped(by_product, uses, engine)[0, 0, 0]
    np.testing.assert_allclose(out, [0.1, 0.2])


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0.05, 1.0), min_size=2, max_size=4),
    st.floats(0.05, 1.0),
    st.floats(0.01, 0.99),
    st.floats(0.3, 1.5),
)
def test_mixture_drawdown_inverts_the_mixture_partial_mean(
    raw_weights: list[float], ratio: float, fraction: float, sigma: float
) -> None:
    """X solves sum_s w_s E[min(c_s, X)] = drawn; the factors keep the pool's mean cover."""
    weights = np.array(raw_weights) / sum(raw_weights)
    sectors = ("ev_traction", *("wind", "medical", "defence")[: len(weights) - 1])
    factors = buyers.cover_factors(weights[None, None], sectors, np.array([ratio]))[0, 0, 0]
    assert abs(float(weights @ factors) - 1.0) < 1e-12  # sectors average to the pool
    mean = 2.0
    drawn = np.array([mean * fraction])
    x = buyers.mixture_drawdown(drawn, (mean * factors)[None], weights[None], np.array([sigma]))
    used = weights @ buyers.partial_mean(x, mean * factors, sigma)
    assert abs(float(used) - float(drawn[0])) < 1e-9


def test_a_cell_with_no_buyers_ends_at_once() -> None:
    """No sector uses the product: nothing to solve, X stays the drawdown (no endless loop)."""
    x = buyers.mixture_drawdown(np.array([0.5, 0.5]), np.array([[2.0], [2.0]]),
                                np.array([[0.0], [1.0]]), np.array([1.0, 1.0]))  # fmt: skip
    assert x[0] == 0.5
    used = buyers.partial_mean(x[1:], np.array([2.0]), 1.0)
    assert abs(float(used[0]) - 0.5) < 1e-9


def test_thin_sectors_stop_first_and_a_ratio_of_one_is_sectors_alike() -> None:
    """Automotive buyers holding a third of the others' cover stop more, in every month;
    at a ratio of 1 every sector stops as the pool's buyers do (``product_stopped``)."""
    demand = np.full((1, 4, 1, 1), 10.0)
    inventory = np.array([20.0, 14.0, 8.0, 12.0]).reshape(1, 4, 1, 1)
    weights = np.array([[[0.4, 0.6]]])  # (R, P, S): ev_traction, wind
    sectors = ("ev_traction", "wind")
    alike = buyers.sector_shares(inventory, demand, 0.8, 0.2, weights,
                                 buyers.cover_factors(weights, sectors, np.array([1.0])))  # fmt: skip
    pool = buyers.product_stopped(inventory, demand, 0.8, 0.2)
    np.testing.assert_allclose(alike[:, :, :, 0], pool, atol=1e-12)
    np.testing.assert_allclose(alike[:, :, :, 1], pool, atol=1e-12)
    apart = buyers.sector_shares(inventory, demand, 0.8, 0.2, weights,
                                 buyers.cover_factors(weights, sectors, np.array([1 / 3])))  # fmt: skip
    auto, wind = apart[0, :, 0, 0, 0], apart[0, :, 0, 1, 0]
    assert np.all(auto >= wind) and auto[1] > wind[1] > 0.0
    assert np.all((apart >= 0.0) & (apart <= 1.0))
    assert auto[0] == 0.0 and auto[3] == 0.0  # before the cut, and once supply flows again


def test_the_history_run_stops_lines_in_spring_2025_where_they_stopped() -> None:
    """The 2025 licensing stops buyers in the US, the EU and India from April to June 2025
    while their regions still hold stock; the engine's pooled stock alone stopped none."""
    import rareflow

    result = rareflow.run("history")
    events = result.stoppages()
    spring = events[events["first_month"].between("2025-04", "2025-06")]
    for region in ("USA", "DEU", "XEU", "IND"):
        assert ((spring["region"] == region) & (spring["sector"] == "ev_traction")).any()
    inventory = result.dataset["inventory"].sel(product="ndfeb_sintered", region="DEU")
    assert float(inventory.sel(month="2025-05").min()) > 0  # stock left in the region
    assert (events["first_month"] < "2025-04").sum() == 0  # nothing before the licences
