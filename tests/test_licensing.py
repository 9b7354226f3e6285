"""Licences as a process (applications, a statutory review, a review capacity and its
backlog, approval by end use) and national stockpiles released by a rule, on the tiny
network (``test_policies_effects``: CHN ships 12.5 t of magnets a month to USA and AUS);
and the history run's Japan in 2026."""

from __future__ import annotations

import numpy as np
import pytest

from rareflow.policies.context import WORKING_DAYS_PER_MONTH, review_decided
from test_policies_effects import MAGNET, flow, in_window, sim


def licence(**fields: object) -> dict[str, object]:
    return {"type": "export_license", "id": "lic", "items": {"products": [MAGNET]},
            "approval_share": 1.0, "start": "2027-01", "end": "2027-08", **fields}  # fmt: skip


def test_approvals_arrive_after_45_working_days(tiny_network, frozen):
    ds = sim(tiny_network, frozen, [licence(review_working_days=45)])
    usa = flow(ds, MAGNET, "CHN", "USA")
    waiting = in_window(ds, "2027-01", "2027-02")
    assert np.allclose(usa[waiting], 0.0)  # nothing decided in the first two months
    third = in_window(ds, "2027-03", "2027-03")
    # 45 working days are 2.07 months: 93% of the first month's applications decided in March
    assert np.allclose(usa[third], 12.5 * (3.0 - 45.0 / WORKING_DAYS_PER_MONTH))
    assert np.allclose(usa[in_window(ds, "2027-04", "2027-08")], 12.5)


def test_reviews_spread_within_the_limit_decide_earlier():
    fixed = review_decided(np.arange(4), 45.0, np.inf)
    within = review_decided(np.arange(4), 45.0, np.inf, spread=1.0)
    tau = 45.0 / WORKING_DAYS_PER_MONTH
    # evenly within 2.07 months: the month's mean of min(t / tau, 1) (in eight steps)
    assert np.allclose(within[:2], [0.5 / tau, 1.5 / tau], atol=2e-3)
    assert np.allclose(within[2:], 1.0) and np.all(within >= fixed)


def test_applications_above_capacity_wait_in_a_backlog():
    months = np.arange(6)
    decided = review_decided(months, 0.0, 0.5)
    assert np.allclose(decided, 0.5)  # half a month's applications reviewed a month
    backlog = (months + 1) - np.cumsum(decided)  # applications still waiting
    assert np.all(np.diff(backlog) > 0)
    with_review = review_decided(months, 45.0, 0.5)
    assert np.allclose(with_review[:2], 0.0) and np.allclose(with_review[3:], 0.5)
    assert np.allclose(review_decided(months, 45.0, 2.0), review_decided(months, 45.0, np.inf))


def test_review_capacity_caps_what_ships(tiny_network, frozen):
    ds = sim(tiny_network, frozen, [licence(review_capacity=0.5)])
    usa = flow(ds, MAGNET, "CHN", "USA")
    inside = in_window(ds, "2027-01", "2027-08")
    assert np.allclose(usa[inside], 6.25) and np.allclose(usa[~inside], 12.5)


def test_per_draw_review_days_differ_by_draw():
    days = np.array([0.0, 45.0, 90.0])
    assert np.allclose(review_decided(2, days, np.inf), [1.0, 3.0 - 45 / 21.74, 0.0], atol=1e-3)


def test_end_uses_licensed_at_their_own_share(tiny_network, frozen):
    lic = licence(denied_sectors=["wind"], end_use_approval_share=0.5)
    ds = sim(tiny_network, frozen, [lic])
    usa = flow(ds, MAGNET, "CHN", "USA")
    inside = in_window(ds, "2027-01", "2027-08")
    # wind is 50 of USA's 250 t of magnet use: half of it licensed, the civil rest all of it
    assert np.allclose(usa[inside], 12.5 * (1.0 - 50 / 250 * 0.5))


def stockpile(**fields: object) -> dict[str, object]:
    return {"type": "stockpile_release", "id": "sp", "actor": "USA", "product": MAGNET,
            "tonnes": 12.0, "trigger_cover_months": 1.0, "max_tonnes_per_month": 5.0,
            "start": "2026-11", **fields}  # fmt: skip


def test_a_stockpile_releases_by_its_rule(tiny_network, frozen):
    ban = {"type": "export_ban", "id": "ban", "items": {"products": [MAGNET]},
           "targets": ["USA"], "start": "2027-01"}  # fmt: skip
    cut = sim(tiny_network, frozen, [ban])
    held = sim(tiny_network, frozen, [ban, stockpile()])
    quiet = sim(tiny_network, frozen, [stockpile()])
    at = {"region": "USA", "product": MAGNET}
    # no release while stocks stay above a month of use: the baseline is untouched
    assert np.allclose(quiet["inventory"].values, sim(tiny_network, frozen, [])["inventory"].values)
    extra = (held["inventory"] - cut["inventory"]).sel(**at).values
    extra += np.cumsum((cut["shortage"] - held["shortage"]).sel(**at).values)
    released = np.diff(np.concatenate([[0.0], extra]))  # t released each month
    assert released.min() >= -1e-9 and released.max() <= 5.0 + 1e-9  # the monthly cap
    assert released.sum() == pytest.approx(12.0)  # all of it, never more
    use = 250.0 / 12.0
    before = cut["inventory"].sel(**at).values >= use - 1e-9
    assert np.allclose(released[1:][before[:-1]], 0.0)  # only once cover fell below a month


def test_the_2026_japan_measures_do_not_cut_japans_civil_supply():
    """The January 2026 measures deny Japan's military end users only: the history run with
    them and without them differ by little in 2026 (Japan's shortage there, if any, comes
    from the 2025 licences and their calibrated approval share, not from these measures)."""
    import rareflow
    from rareflow.history.scenario import history_scenario

    def japan_2026(**kw: object) -> np.ndarray:
        ds = rareflow.run(history_scenario("2026-11", **kw)).dataset.isel(draw=0)  # type: ignore[arg-type]
        in_2026 = [str(m).startswith("2026") for m in ds["month"].values]
        return ds["shortage_share"].sel(region="JPN").values[in_2026]

    measure = {"cn-japan-military-2026"}
    with_it, without = japan_2026(), japan_2026(without=measure)
    assert np.abs(with_it - without).max() < 0.05


def test_monte_carlo_timing_keeps_the_review():
    """With uncertain timing, Monte Carlo turns a licence into per-draw monthly approvals:
    the review (two months, then a capacity of 0.8 of the applications) stays."""
    from rareflow.engine.parameters import bundled_parameters
    from rareflow.scenarios.model import Scenario
    from rareflow.uncertainty.sampling import draw_inputs, factors, uniforms

    lic = licence(start="2026-11", end=None, review_working_days=45, review_capacity=0.8)
    shift = {"start_shift_months": {"dist": "choice", "values": [0, 1]}}
    scenario = Scenario.model_validate(
        {"name": "t", "start": "2026-11", "months": 8, "policies": [lic],
         "uncertainty": {"policies": {"lic": shift}}}
    )  # fmt: skip
    draws = 6
    inputs = draw_inputs(scenario, uniforms(3, 0, draws, len(factors(scenario))), 8,
                         bundled_parameters())  # fmt: skip
    got = inputs.values["lic.approval_share"]  # (D, T)
    active = inputs.values["lic.active"] > 0.5
    for d in range(draws):
        path = got[d][active[d]]
        assert np.allclose(path[:2], 0.0)  # under review
        assert np.allclose(path[3:], 0.8)  # then at the review capacity
