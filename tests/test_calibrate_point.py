"""The point single runs use, from the posterior sample (``rareflow.history.point``)."""

from __future__ import annotations

import json
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from rareflow.history import point as pt
from rareflow.history.abc import weighted_quantile
from rareflow.history.calibrate import Spec
from rareflow.history.posterior import Posterior

SPECS = [Spec("a", 0.0, 1.0, None, "", "a"), Spec("b", 0.0, 10.0, None, "", "b"),
         Spec("c", 0.0, 1.0, None, "", "c")]  # fmt: skip
PROVENANCE = {"window": "2024-01:2025-09", "method": "m", "simulations": 1,
              "date": "2026-01-01", "git_commit": "abc"}  # fmt: skip


def posterior(n: int = 300, seed: int = 0) -> Posterior:
    """a and b informed and correlated (b = 10 a + noise); c still its uniform prior."""
    rng = np.random.default_rng(seed)
    a = rng.normal(0.5, 0.08, n)
    x = np.column_stack([a, 10 * a + rng.normal(0, 0.1, n), rng.uniform(0, 1, n)])
    w = rng.uniform(0.5, 1.5, n)
    return Posterior(SPECS, x, w / w.sum(), {}, dict(PROVENANCE))


class FakeTargets:
    """One family whose discrepancy is the distance to (0.3, 3.0): the best particle is known."""

    def predict(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {"f": np.column_stack([batch["a"], batch["b"]])}

    def discrepancy(self, predicted: dict[str, np.ndarray]) -> np.ndarray:
        m = predicted["f"]
        return np.hypot(m[:, 0] - 0.3, (m[:, 1] - 3.0) / 10)[:, None]


def test_rules_cover_the_informed_parameters_only() -> None:
    post = posterior()
    points = pt.candidates(post)
    assert set(points) == {"median", "mean", "medoid"}
    for p in points.values():
        assert list(p) == ["a", "b"]  # c: still its prior, keeps its curated value
    x, w = post.particles, post.weights
    assert points["median"]["a"] == pytest.approx(weighted_quantile(x[:, 0], w, [0.5])[0])
    assert points["mean"]["b"] == pytest.approx(float(w @ x[:, 1]))


def test_medoid_is_a_particle_at_the_centre() -> None:
    post = posterior()
    medoid = pt.candidates(post)["medoid"]
    rows = np.flatnonzero(np.isclose(post.particles[:, 0], medoid["a"]))
    assert len(rows) == 1 and post.particles[rows[0], 1] == pytest.approx(medoid["b"])
    # the weighted-mean distance of the medoid is the smallest of all particles
    z = post.particles[:, :2] / np.array([1.0, 10.0])
    mean_dist = np.sqrt(((z[:, None] - z[None]) ** 2).sum(axis=2)) @ post.weights
    assert mean_dist[rows[0]] == pytest.approx(mean_dist.min())
    # and it is a joint set the sample holds: b near 10 a, as the posterior's correlation says
    assert abs(medoid["b"] - 10 * medoid["a"]) < 0.4


def test_map_is_the_particle_with_the_smallest_combined_distance() -> None:
    post = posterior()
    score = pt.Scoring(FakeTargets(), np.array([2.0]), np.array([1.0]))  # type: ignore[arg-type]
    best = pt.point(post, "map", score)
    d = FakeTargets().discrepancy({"f": post.particles[:, :2]})[:, 0]
    i = int(np.argmin(d))
    assert best == pytest.approx({"a": post.particles[i, 0], "b": post.particles[i, 1]})
    rows = pt.evaluate(score, {"map": best, "mean": pt.point(post, "mean")})
    assert rows["map"][-1] == pytest.approx(d[i] / 2.0)  # the distance: over the scale
    assert rows["map"][-1] <= rows["mean"][-1]


def test_bad_rule_is_a_user_error_and_map_needs_scoring() -> None:
    from rareflow.errors import UserInputError

    with pytest.raises(UserInputError, match="not a point rule"):
        pt.point(posterior(), "mode")
    with pytest.raises(ValueError, match="scoring"):
        pt.point(posterior(), "map")


def test_stored_point_says_its_rule_and_swaps_for_a_comparison(tmp_path: Path) -> None:
    import rareflow.data.network as network
    from rareflow.history.calibrate import store_point
    from rareflow.history.parameters import calibrated_parameters, read_rows

    post = posterior()
    path = store_point(post, pt.point(post, "medoid"), "medoid", tmp_path / "fit.csv")
    rows = read_rows(path)
    assert [r["name"] for r in rows] == ["a", "b"]
    assert "posterior point (medoid" in rows[0]["note"]
    with mock.patch.object(network, "CALIBRATED_FILE", path):  # read per call, not at import
        assert calibrated_parameters() == pytest.approx(pt.point(post, "medoid"), rel=1e-5)


def test_stored_posterior_reads_back_with_its_provenance(tmp_path: Path) -> None:
    from rareflow.history.posterior import read_stored, write_posterior

    real = [Spec(n, 0.0, 1.0, None, "", n) for n in ("buyer_pooling_share", "cover_multiple")]
    post = posterior()
    post = Posterior(real, post.particles[:, :2] / [1.0, 10.0], post.weights, {"exports": 3},
                     {**PROVENANCE, "targets": {"exports": 3}, "scales": {"exports": 1.0}})  # fmt: skip
    back = read_stored(write_posterior(post, tmp_path / "p.csv"))
    assert back.names == post.names and back.counts == {"exports": 3}
    assert np.allclose(back.particles, post.particles, rtol=1e-5)
    assert np.allclose(back.weights, post.weights, rtol=1e-5)
    assert back.provenance["scales"] == {"exports": 1.0}


def test_from_stored_reproduces_the_bundled_point(capsys: pytest.CaptureFixture[str]) -> None:
    """The bundled calibrated_parameters.csv is the stored posterior's point by the rule its
    provenance records, and
    every rule is scored by the calibration's own distance (dry run: nothing written)."""
    from rareflow.cli.main import cli
    from rareflow.history.parameters import calibrated_parameters, read_rows
    from rareflow.history.posterior import read_stored

    before, rule = read_rows(), read_stored().provenance["point_rule"]
    assert f"posterior point ({rule}:" in before[0]["note"]
    assert cli(["calibrate", "--from-stored", "--dry-run", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert read_rows() == before and out["stored"] is None
    assert out["points"][rule] == pytest.approx(calibrated_parameters(), rel=1e-5)
    rules = {r["rule"]: r for r in out["rules"]}
    assert set(rules) == set(pt.RULES)
    # the best particle of the sample fits at least as well as any summary of it
    assert all(rules["map"]["combined"] <= r["combined"] for r in rules.values())
