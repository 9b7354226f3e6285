"""Calibration recovers parameters from data the engine itself generated; the history scenario
is built from the timeline only; fitted values are stored with provenance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rareflow.data.network import load_network
from rareflow.history import calibrate as cal
from rareflow.history import parameters as hp
from rareflow.history.scenario import history_policies, history_scenario
from rareflow.history.simulator import HistorySimulator, customs_factor
from rareflow.history.timeline import all_policies, calibrated_licences
from rareflow.policies.context import approval_path

TRUTH = {
    "licence_lead_time_months": 1.0,
    "licence_ramp_months": 2.5,
    "licence_approval_share": 0.7,
    "demand_growth_per_year": 0.04,
}


@pytest.fixture(scope="module")
def sim() -> HistorySimulator:
    # as `calibrate` does: fit from the curated priors, not from the stored fit
    return HistorySimulator("2025-09", network=load_network(calibrated=False))


def synthetic(sim: HistorySimulator, truth: dict[str, float], series: list[str]) -> pd.DataFrame:
    out = sim.series({k: np.array([v]) for k, v in truth.items()})
    return pd.DataFrame(
        [
            {"month": m, "destination": s, "observed_tonnes": out[s][0, t], "kind": "reported"}
            for s in series
            for t, m in enumerate(sim.months)
        ]
    )


def test_approval_path_by_hand() -> None:
    k = np.arange(4.0)
    assert approval_path(k, 1.0, 2.0, 0.8).tolist() == pytest.approx([0, 0.4, 0.8, 0.8])
    assert approval_path(k, 0.5, 1.0, 1.0).tolist() == pytest.approx([0.5, 1, 1, 1])


def test_calibration_recovers_engine_generated_parameters(sim: HistorySimulator) -> None:
    observed = synthetic(sim, TRUTH, ["World", "USA", "DEU"])
    # without the prior, the fit is the truth
    fit = cal.calibrate(
        observed=observed,
        simulator=sim,
        names=list(TRUTH),
        maxiter=40,
        popsize=8,
        seed=1,
        prior_weight=0.0,
    )
    assert fit.objective < 1e-3 < fit.prior_objective
    assert fit.values["licence_lead_time_months"] == pytest.approx(1.0, abs=0.1)
    assert fit.values["licence_ramp_months"] == pytest.approx(2.5, abs=0.25)
    assert fit.values["licence_approval_share"] == pytest.approx(0.7, abs=0.03)
    assert fit.values["demand_growth_per_year"] == pytest.approx(0.04, abs=0.005)
    # with the default weak prior, what the data pin down stays close; the growth rate, which
    # moves the fit little, lies between the truth and its prior (0.087)
    fit = cal.calibrate(
        observed=observed, simulator=sim, names=list(TRUTH), maxiter=40, popsize=8, seed=1
    )
    assert fit.values["licence_lead_time_months"] == pytest.approx(1.0, abs=0.25)
    assert fit.values["licence_approval_share"] == pytest.approx(0.7, abs=0.06)
    assert 0.035 <= fit.values["demand_growth_per_year"] <= fit.priors["demand_growth_per_year"]


def test_history_scenario_uses_only_the_timeline() -> None:
    """The timeline's measures and the standing national stockpiles, nothing else."""
    from rareflow.history.stockpiles import national_stockpiles

    scenario = history_scenario("2025-09")
    assert (scenario.start, scenario.months) == ("2024-01", 21)
    timeline_ids = {p.id for p in [*all_policies(), *national_stockpiles("2024-01")]}
    calibrated = calibrated_licences()
    for policy in scenario.policies:
        base = policy.id.split("~")[0]
        assert base in timeline_ids
        assert policy.id == base or base in calibrated
    assert set(scenario.parameters) <= set(hp.engine_overrides()) | set()


def test_segments_follow_the_licence_and_its_suspension() -> None:
    pols, months = history_policies("2026-12")
    ann18 = [p for p in pols if p.id.startswith("cn-ann18-licence~")]
    assert ann18[0].start == "2025-04" and months[ann18[0].id] == 0
    assert ann18[-1].end is None  # the last segment runs on
    ann57 = [p for p in pols if p.id.startswith("cn-ann57-licence~")]
    assert ann57[0].start == "2026-11"  # its ramp starts after the Ann. 70 suspension
    suspension = next(p for p in pols if p.id == "cn-ann70-suspension")
    assert all(i.startswith(("cn-ann57-licence~", "cn-ann61")) for i in suspension.policies)


def test_the_first_month_lets_the_entry_leakage_through_and_no_later_one() -> None:
    """licence_entry_leakage_share of the licence's first month leaves unlicensed besides the
    approvals; later months follow the approval path alone; without it, the path of before."""
    from rareflow.history.scenario import licence_values

    pols, months = history_policies("2025-09")
    ann18 = [p.id for p in pols if p.id.startswith("cn-ann18-licence~")]
    licence = {"licence_lead_time_months": 0.5, "licence_ramp_months": 2.0,
               "licence_approval_share": 0.8, "licence_entry_leakage_share": 0.4}  # fmt: skip
    values = licence_values(months, licence)
    path = approval_path(np.arange(6), 0.5, 2.0, 0.8)
    share = [float(values[f"{i}.approval_share"][0]) for i in ann18[:6]]
    assert share[0] == pytest.approx(0.4 + 0.6 * path[0])
    assert share[1:] == pytest.approx(path[1:].tolist())
    plain = licence_values(months, {k: v for k, v in licence.items() if "leakage" not in k})
    assert float(plain[f"{ann18[0]}.approval_share"][0]) == pytest.approx(path[0])


def test_store_and_read_back(tmp_path) -> None:
    spec = cal.SPECS[0]
    fit = cal.Fit(
        values={spec.name: 1.5},
        priors={spec.name: 2.0},
        specs=[spec],
        start="2024-01",
        end="2025-09",
        objective=0.1,
        prior_objective=0.2,
        points=10,
        evaluations=5,
    )
    path = cal.store_fit(fit, tmp_path / "fit.csv")
    rows = hp.read_rows(path)
    assert rows[0]["provenance"] == "calibrated"
    assert "window 2024-01:2025-09" in rows[0]["note"] and "date" in rows[0]["note"]
    assert hp.calibrated_parameters(path) == {spec.name: 1.5}
    assert hp.licence_parameters(path=path)["licence_lead_time_months"] == 1.5


def test_parse_window() -> None:
    assert cal.parse_window("2024-01:2025-06") == ("2024-01", "2025-06")
    assert cal.parse_window(":2025-06") == (None, "2025-06")
    from rareflow.errors import UserInputError

    for bad in ("2025", "2025-06:2024-01", "2024-13:2025-01"):
        with pytest.raises(UserInputError):
            cal.parse_window(bad)


def test_history_scenario_runs_through_the_engine_api_like_the_batch(
    sim: HistorySimulator,
) -> None:
    from rareflow.engine.run import run

    params = {**hp.calibrated_parameters(), "licence_ramp_months": 2.0}
    result = run(history_scenario("2025-09", params))
    shipments = result.dataset["shipments"].sel(
        region="CHN", product=["ndfeb_sintered", "ndfeb_bonded", "smco"]
    )
    world = shipments.sum(["product", "partner"]).isel(draw=0).to_numpy()
    batch = sim.series({k: np.array([v]) for k, v in params.items()})["World"][0]
    # the series are China's customs record: the shipments with the Spring Festival's timing
    customs = customs_factor(sim.months, sim.base["spring_festival_shipping_share"])[0]
    np.testing.assert_allclose(world * customs, batch, rtol=1e-9)
    assert customs[sim.months.index("2025-02")] == pytest.approx(0.68)
