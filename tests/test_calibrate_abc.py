"""ABC-SMC calibration: recovers known parameters, reproducible, says when data are too few
or the posterior is its prior; the posterior drives Monte Carlo; the CLI's JSON shape."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rareflow.data.network import Network, load_network
from rareflow.errors import UserInputError
from rareflow.history.abc import abc_smc, weighted_quantile
from rareflow.history.calibrate import Spec
from rareflow.history.posterior import (
    Posterior,
    fit_posterior,
    load_posterior,
    write_posterior,
)
from rareflow.history.simulator import HistorySimulator
from rareflow.history.targets import FAMILIES, Targets, inside_band
from rareflow.policies.context import approval_path
from rareflow.scenarios.load import parse_scenario
from rareflow.uncertainty.run import run_montecarlo
from rareflow.uncertainty.sensitivity import sensitivity
from test_montecarlo import LICENCE, UNCERTAIN

# -- the algorithm on a problem whose posterior is known ---------------------------------------
RNG = np.random.default_rng(5)
DATA = RNG.normal(1.3, 1.0, 20)


def gaussian_mean(theta: np.ndarray) -> np.ndarray:
    """|simulated mean - observed mean| of 20 N(mu, 1) draws; the second parameter is inert."""
    rng = np.random.default_rng(np.abs(theta[:, 0] * 1e6).astype(np.int64))
    sim = theta[:, 0] + rng.standard_normal(len(theta)) / np.sqrt(len(DATA))
    return np.abs(sim - DATA.mean())[:, None]


def test_abc_smc_recovers_a_known_posterior() -> None:
    res = abc_smc(gaussian_mean, [-5.0, 0.0], [5.0, 1.0], keep=300, seed=1, max_generations=12)
    p5, p50, p95 = weighted_quantile(res.particles[:, 0], res.weights, [0.05, 0.5, 0.95])
    half = 1.645 / np.sqrt(len(DATA))  # the exact posterior (flat prior): N(mean, 1/20)
    assert p5 < 1.3 < p95  # covers the truth
    assert p50 == pytest.approx(DATA.mean(), abs=0.1)
    assert (p95 - p5) == pytest.approx(2 * half, rel=0.25)
    q = weighted_quantile(res.particles[:, 1], res.weights, [0.05, 0.95])
    assert q[1] - q[0] > 0.75  # the inert parameter keeps its prior
    assert res.generations[0].epsilon > res.generations[-1].epsilon
    assert res.weights.sum() == pytest.approx(1.0)


def test_same_seed_same_posterior() -> None:
    a = abc_smc(gaussian_mean, [-5.0, 0.0], [5.0, 1.0], keep=40, seed=3, max_generations=3)
    b = abc_smc(gaussian_mean, [-5.0, 0.0], [5.0, 1.0], keep=40, seed=3, max_generations=3)
    c = abc_smc(gaussian_mean, [-5.0, 0.0], [5.0, 1.0], keep=40, seed=4, max_generations=3)
    assert np.array_equal(a.particles, b.particles) and np.array_equal(a.weights, b.weights)
    assert not np.array_equal(a.particles, c.particles)


# -- on the engine: synthetic observations from known parameters -------------------------------
TRUTH = {"licence_approval_share": 0.5, "licence_lead_time_months": 1.0}


@pytest.fixture(scope="module")
def sim() -> HistorySimulator:
    return HistorySimulator("2025-08", network=load_network(calibrated=False))


def synthetic_targets(sim: HistorySimulator) -> Targets:
    """The real observations' months and series, with the model's values at TRUTH."""
    tg = Targets(sim, "2025-01", "2025-08")
    pred = tg.predict({k: np.array([v]) for k, v in TRUTH.items()})
    for name in ("exports", "prices", "approvals"):
        tg.families[name].observed = pred[name][0]
    return tg


def test_the_posterior_covers_engine_generated_parameters(
    sim: HistorySimulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import rareflow.data.network as network

    # the licence parameters not fitted here at their curated priors, not at whichever point
    # is bundled: the test is of the algorithm, not of the bundled calibration
    monkeypatch.setattr(network, "CALIBRATED_FILE", tmp_path / "none.csv")
    tg = synthetic_targets(sim)
    post = fit_posterior(start="2025-01", end="2025-08", names=list(TRUTH), keep=24,
                         max_generations=4, seed=2, simulator=sim, targets=tg,
                         family_weights={"stoppages": 0.0})  # fmt: skip
    table = post.table().set_index("parameter")
    for name, value in TRUTH.items():
        assert table.loc[name, "p5"] <= value <= table.loc[name, "p95"], name
    # the data inform it (24 particles, 4 generations: about 0.6 of the prior's width, the
    # exact figure moving with the parameters left unfitted)
    assert not table.loc["licence_approval_share", "prior_only"]
    assert {r["family"] for r in post.ppc} == set(FAMILIES)
    assert post.provenance["window"] == "2025-01:2025-08"
    assert post.provenance["targets"]["exports"] == len(tg.families["exports"].observed)
    assert len(post.provenance["data_sha256"]) == 64 and post.provenance["git_commit"]
    again = fit_posterior(start="2025-01", end="2025-08", names=list(TRUTH), keep=24,
                          max_generations=4, seed=2, simulator=sim, targets=tg,
                          family_weights={"stoppages": 0.0})  # fmt: skip
    assert np.array_equal(post.particles, again.particles)  # seeded: the same posterior


def test_approval_reports_bound_the_path_to_their_date_from_below(sim: HistorySimulator) -> None:
    """A count share of applications approved so far is held as a lower bound on the mean
    volume share of the path from the licence's entry to the report, not on the long-run
    share: a path above every report costs nothing, one below costs its shortfall."""
    tg = Targets(sim, "2025-01", "2025-08")
    fam = tg.families["approvals"]
    assert fam.lower_bound and len(fam.observed) >= 3
    # CLEPA, 4 June: April and May have elapsed; late June (month only): April to June
    early = next(j for j, label in enumerate(fam.labels) if label.endswith("2025-06-04"))
    assert len(tg._approval_keys[early]) == 2
    assert max(len(k) for k in tg._approval_keys) == 3
    fast = {"licence_approval_share": np.array([1.0, 0.3]),
            "licence_lead_time_months": np.array([0.0, 0.0]),
            "licence_ramp_months": np.array([0.5, 0.5]),
            "licence_entry_leakage_share": np.array([0.9, 0.9])}  # fmt: skip
    modelled = tg._model_approvals(fast, 2)
    assert modelled[0] == pytest.approx(np.ones(len(fam.observed)))  # leakage is no approval
    k = np.arange(2)
    assert sim.base["licence_review_working_days"] == 0.0  # curated: reviews take no time
    assert modelled[1, early] == pytest.approx(approval_path(k, 0.0, 0.5, 0.3).mean())
    others = {f: np.ones((2, len(tg.families[f].observed))) for f in FAMILIES}
    d = tg.discrepancy({**others, "approvals": modelled})
    assert d[0, FAMILIES.index("approvals")] == 0.0
    shortfall = np.clip(fam.observed - modelled[1], 0, None).mean()
    assert d[1, FAMILIES.index("approvals")] == pytest.approx(shortfall) and shortfall > 0
    # the predictive check: a bound is met by any band reaching it
    assert inside_band(fam, fam.observed + 0.1, fam.observed + 0.2).all()
    assert not inside_band(fam, fam.observed - 0.2, fam.observed - 0.1).any()


def test_families_weigh_by_their_information(sim: HistorySimulator) -> None:
    """sqrt of each family's effective observations (Kish) over their mean: the 61 export
    points outweigh the four approval reports, but not 15-fold."""
    tg = Targets(sim, "2024-01", "2025-08")
    w = tg.family_weights()
    info = {f: tg.families[f].information for f in FAMILIES}
    assert np.mean(list(w.values())) == pytest.approx(1.0)
    assert w["exports"] / w["approvals"] == pytest.approx(
        np.sqrt(info["exports"] / info["approvals"])
    )
    assert w["exports"] > w["prices"] > w["approvals"]
    n_half = sum(tg.families["exports"].weights < 1)
    assert info["exports"] < len(tg.families["exports"].observed) or n_half == 0
    # a family's own normalisation of its weights does not change its information
    prices = tg.families["prices"]
    assert prices.weights.sum() == pytest.approx(1.0) and prices.information > 10


def test_scales_fall_back_to_the_mean_where_most_prior_draws_meet_a_bound() -> None:
    from rareflow.history.abc import family_scales

    disc = np.array([[1.0, 0.0, 0.0], [3.0, 0.0, 0.0], [2.0, 0.0, 0.9]])
    assert family_scales(disc).tolist() == pytest.approx([2.0, 1.0, 0.3])


def test_a_window_without_observations_is_refused(sim: HistorySimulator) -> None:
    with pytest.raises(UserInputError, match="no observations"):
        fit_posterior(start="2025-09", end="2025-12", simulator=sim, keep=4)


SPECS = [Spec("a", 0.0, 1.0, None, "", "a"), Spec("b", 0.0, 10.0, None, "", "b")]


def made(particles: np.ndarray, counts: dict[str, int]) -> Posterior:
    return Posterior(SPECS, particles, np.full(len(particles), 1 / len(particles)), counts, {})


def test_prior_equal_posterior_too_few_observations_and_bounds_are_said() -> None:
    rng = np.random.default_rng(0)
    prior_like = np.column_stack([rng.uniform(0, 1, 400), rng.uniform(0, 0.2, 400)])
    post = made(prior_like, {"exports": 2, "prices": 0, "approvals": 0, "stoppages": 0})
    table = post.table().set_index("parameter")
    assert table.loc["a", "prior_only"] and not table.loc["b", "prior_only"]
    assert table.loc["b", "at_bound"] == "lower" and table.loc["a", "at_bound"] == ""
    text = " | ".join(post.warnings())
    assert "still the prior" in text and "for: a" in text
    assert "too few observations in exports (2), prices (0)" in text
    assert "too few observations: 2 for 2 parameters" in text
    assert "b is piled at its lower bound" in text
    informed = made(np.column_stack([rng.normal(0.5, 0.05, 400), rng.normal(5, 0.5, 400)]),
                    {"exports": 40, "prices": 9, "approvals": 4, "stoppages": 14})  # fmt: skip
    assert informed.warnings() == []


# -- the posterior as the scenarios' default uncertainty ----------------------------------------
def sample_file(tmp_path: Path, extra: str | None = None) -> Path:
    rng = np.random.default_rng(1)
    post = made(rng.uniform([0.05, 0.0], [1.0, 3.0], (64, 2)), {"exports": 9})
    post.specs = [Spec("licence_approval_share", 0.0, 1.0, None, "", ""),
                  Spec("licence_lead_time_months", 0.0, 3.0, None, "", "")]  # fmt: skip
    if extra:  # a parameter another model had
        post.specs.append(Spec(extra, 0.0, 1.0, None, "", ""))
        post.particles = np.column_stack([post.particles, rng.uniform(0, 1, 64)])
    return write_posterior(post, tmp_path / "posterior.csv")


def calibrated_scenario(uncertainty: dict | None = None):  # type: ignore[no-untyped-def]
    policy = {**LICENCE, "approval_share": "calibrated", "lead_time_months": "calibrated",
              "ramp_months": "calibrated"}  # fmt: skip
    # no catch-up window, so that six months show value lost rather than units still pending
    doc = {"name": "mc", "start": "2026-11", "months": 6, "policies": [policy],
           "parameters": {"catchup_months": 0}}  # fmt: skip
    return parse_scenario({**doc, "uncertainty": uncertainty} if uncertainty else doc)


def test_the_posterior_drives_monte_carlo_ranges(
    tiny_network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = calibrated_scenario()
    same = run_montecarlo(plain, 32, network=tiny_network)
    assert same.warnings and "no calibrated posterior is bundled" in same.warnings[0]
    monkeypatch.setenv("RAREFLOW_POSTERIOR", str(sample_file(tmp_path)))
    mc = run_montecarlo(plain, 32, network=tiny_network)
    assert mc.scenario.uncertainty.posterior and not mc.warnings
    total = mc.horizon()["value_lost_p95"] - mc.horizon()["value_lost_p5"]
    assert total.max() > 0  # real ranges, where the scenario declares none
    assert (same.horizon()["value_lost_p95"] == same.horizon()["value_lost_p5"]).all()
    # an explicit section wins: no posterior draws
    own = run_montecarlo(calibrated_scenario(UNCERTAIN_PARAMS), 8, network=tiny_network)
    assert not own.scenario.uncertainty.posterior
    # sensitivity ranks the posterior's marginals
    result = sensitivity(plain, "oat", network=tiny_network)
    assert result.ranges == "posterior" and not result.assumed
    assert set(result.table["factor"]) == {"licence_approval_share", "licence_lead_time_months"}


UNCERTAIN_PARAMS = {"parameters": UNCERTAIN["parameters"]}


def test_unknown_posterior_parameters_are_skipped_and_said(
    tiny_network: Network, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = sample_file(tmp_path, extra="retired_parameter")
    sample = load_posterior(path, known={"licence_approval_share", "licence_lead_time_months"})
    assert sample is not None and sample.skipped == ["retired_parameter"]
    monkeypatch.setenv("RAREFLOW_POSTERIOR", str(path))
    mc = run_montecarlo(calibrated_scenario(), 8, network=tiny_network)
    assert any("retired_parameter" in w for w in mc.warnings)
    (tmp_path / "bad.csv").write_text("x,y\n1,2\n")
    with pytest.raises(UserInputError, match="not a posterior sample"):
        load_posterior(tmp_path / "bad.csv")


def test_the_bundled_posterior_is_read_with_its_provenance(monkeypatch: pytest.MonkeyPatch) -> None:
    from rareflow.history.posterior import POSTERIOR_FILE, load_bundled

    monkeypatch.delenv("RAREFLOW_POSTERIOR")
    sample = load_bundled()
    assert sample is not None and len(sample.values) >= 100 and not sample.skipped
    meta = json.loads(POSTERIOR_FILE.with_suffix(".json").read_text())
    prov = meta["provenance"]
    assert prov["window"] == "2024-01:2025-09" and prov["git_commit"] and prov["data_sha256"]
    assert set(prov["targets"]) == set(FAMILIES)


# -- the CLI ------------------------------------------------------------------------------------
def test_calibrate_cli_json_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from rareflow.cli.main import cli

    out = tmp_path / "post.json"
    args = ["calibrate", "--window", "2025-03:2025-06", "--particles", "4", "--generations",
            "1", "--dry-run", "--out", str(out)]  # fmt: skip
    assert cli([*args, "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert set(payload) == {"provenance", "parameters", "posterior_predictive", "generations",
                            "warnings"}  # fmt: skip
    row = payload["parameters"][0]
    assert {"parameter", "prior_lower", "prior_upper", "median", "p5", "p95", "width_ratio",
            "at_bound", "prior_only"} <= set(row)  # fmt: skip
    assert [r["family"] for r in payload["posterior_predictive"]] == list(FAMILIES)
    assert json.loads(out.read_text())["provenance"]["window"] == "2025-03:2025-06"
    assert cli([*args, "--format", "csv"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.startswith("parameter,unit,prior_lower,prior_upper,median,p5,p95")
    assert out.read_text().startswith("parameter,")  # --out follows --format csv
    assert cli(["calibrate", "--weights", "exports=x", "--dry-run"]) == 2
    assert "not a family weight" in capsys.readouterr().err


def test_report_backtest_has_posterior_fan_charts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rareflow.history.backtest import backtest
    from rareflow.history.report import posterior_bands, write_backtest_report

    assert posterior_bands("2025-06", ["World"], draws=4) is None  # no posterior, no fan
    monkeypatch.setenv("RAREFLOW_POSTERIOR", str(sample_file(tmp_path)))
    bands = posterior_bands("2025-06", ["World", "USA", "nowhere"], draws=8)
    assert bands is not None and set(bands["destination"]) == {"World", "USA"}
    assert (bands["p5"] <= bands["p50"]).all() and (bands["p50"] <= bands["p95"]).all()
    assert (bands["p95"] - bands["p5"]).max() > 0  # the approval path moves the exports
    result = backtest(until="2025-06", origins=())
    page = write_backtest_report(result, tmp_path / "bt.html", bands).read_text()
    assert "World posterior p5-p95" in page and "posterior predictive" in page


def test_bundled_scenario_montecarlo_shows_posterior_ranges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from rareflow.cli.main import cli

    monkeypatch.delenv("RAREFLOW_POSTERIOR")  # the bundled sample
    store = str(tmp_path / "r.duckdb")
    args = ["montecarlo", "reimpose-oct-2025", "--draws", "24", "--months", "6", "--store", store]
    assert cli([*args, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["uncertainty"] == "posterior" and out["warnings"] == []
    rows = [r for r in out["horizon"] if r["value_lost_mean"] > 0]
    assert rows and max(r["value_lost_p95"] - r["value_lost_p5"] for r in rows) > 0
    assert all(r["value_lost_p5"] <= r["value_lost_p50"] <= r["value_lost_p95"] for r in rows)
    assert cli(["sensitivity", "reimpose-oct-2025", "--months", "6", "--format", "json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ranges"] == "posterior" and not result["warnings"]


def test_stored_point_values_leave_prior_only_parameters_alone(tmp_path: Path) -> None:
    from rareflow.history.calibrate import store_point
    from rareflow.history.parameters import calibrated_parameters
    from rareflow.history.point import candidates

    rng = np.random.default_rng(0)
    post = made(np.column_stack([rng.uniform(0, 1, 400), rng.normal(5, 0.5, 400)]), {})
    post.provenance = {"window": "2024-01:2025-09", "method": "m", "simulations": 1,
                       "date": "2026-01-01", "git_commit": "abc"}  # fmt: skip
    path = store_point(post, candidates(post)["median"], "median", tmp_path / "fit.csv")
    stored = calibrated_parameters(path)
    assert list(stored) == ["b"] and stored["b"] == pytest.approx(5.0, abs=0.15)


def test_stoppage_discrepancy_counts_misses_and_unreported_stoppages(sim: HistorySimulator) -> None:
    from rareflow.history.targets import QUIET_LABEL, QUIET_WEIGHT

    tg = Targets(sim, "2024-01", "2025-08")
    fam = tg.families["stoppages"]
    n = len(fam.observed) - 1
    assert fam.labels[-1] == QUIET_LABEL and fam.tolerance is not None
    assert fam.tolerance[-1] == 0 and (fam.tolerance[:-1] == 1).all()
    offsets = np.zeros((3, n + 1))
    offsets[1, 0] = 3.0  # one event two months beyond the tolerance
    offsets[2, -1] = 0.4  # 40% of the quiet pairs stopped
    pred = {f: np.ones((3, len(tg.families[f].observed))) for f in FAMILIES}
    pred["stoppages"] = offsets
    d = tg.discrepancy(pred)[:, FAMILIES.index("stoppages")]
    np.testing.assert_allclose(d, [0.0, 2 / 6 / n, QUIET_WEIGHT * 0.4])
