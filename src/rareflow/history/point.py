"""Point estimates from the ABC posterior: the one parameter set single runs use.

``rareflow calibrate`` bundles a weighted particle sample (``posterior.csv``); every single run
(``history``, the backtest in sample, the scenarios' ``calibrated`` licence fields, ``demo``)
needs one parameter set from it. Rules, each over the *informed* parameters only (a parameter
whose posterior is still its prior keeps its curated value: the middle of a prior range, or one
particle's draw from it, is no finding):

- ``median``: each parameter's weighted marginal median. Marginal medians of a correlated
  posterior need not be a parameter set the posterior holds, nor one that fits.
- ``mean``: the weighted mean (same caveat).
- ``medoid``: the particle with the smallest weighted mean distance to the others, each
  parameter scaled by its prior range: a joint set the posterior holds, at its centre.
- ``map``: the particle whose run (informed values, the rest curated) has the smallest combined
  discrepancy, the calibration's own distance ``sum_f w_f d_f / s_f`` (``abc.abc_smc``): the
  ABC's approximate maximum a posteriori (a uniform prior, so the best fit the sample holds).

``scales`` are the calibration's per-family normalisers: the median discrepancy of its prior
draws (generation 0). They are not stored with older samples, so ``prior_scales`` redraws
them: generation 0 is the first ``keep / alpha`` uniform draws of the fit's seed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rareflow.errors import UserInputError
from rareflow.history.abc import combined_distance, family_scales, weighted_quantile

if TYPE_CHECKING:
    from rareflow.history.posterior import Posterior
    from rareflow.history.targets import Targets

RULES = ("median", "mean", "medoid", "map")
RULE_TEXT = {
    "median": "weighted marginal medians",
    "mean": "weighted means",
    "medoid": "posterior medoid (prior-range-scaled)",
    "map": "particle with the smallest combined discrepancy (approximate MAP)",
}


@dataclass
class Scoring:
    """The calibration's distance: per-family discrepancies over ``scales``, weighted."""

    targets: Targets
    scales: np.ndarray  # (F,)
    family_weights: np.ndarray  # (F,)

    def discrepancies(self, names: list[str], values: np.ndarray) -> np.ndarray:
        """(n, F) per-family discrepancies of ``values`` (n, k) for parameters ``names``."""
        batch = {n: np.ascontiguousarray(values[:, j]) for j, n in enumerate(names)}
        return self.targets.discrepancy(self.targets.predict(batch))

    def distance(self, disc: np.ndarray) -> np.ndarray:
        return combined_distance(disc, self.scales, self.family_weights)


def informed(post: Posterior) -> list[int]:
    """Columns of the parameters the data informed (``Posterior.table``'s ``prior_only``)."""
    table = post.table()
    return [j for j, flag in enumerate(table["prior_only"]) if not flag]


def prior_scales(post: Posterior, targets: Targets) -> np.ndarray:
    """The fit's generation-0 scales: its first ``keep / alpha`` prior draws, redrawn from its
    seed (the same ``rng.uniform`` call ``abc_smc`` makes first), then simulated."""
    settings = post.provenance.get("settings", {})
    try:
        n, seed = round(settings["keep"] / settings["alpha"]), int(settings["seed"])
    except (KeyError, TypeError, ZeroDivisionError):
        raise UserInputError(
            "the posterior's provenance lacks its settings (keep, alpha, seed)",
            field="settings", expected="the provenance `rareflow calibrate` writes",
        ) from None  # fmt: skip
    lo = np.array([s.lower for s in post.specs])
    hi = np.array([s.upper for s in post.specs])
    theta = np.random.default_rng(seed).uniform(lo, hi, size=(n, len(lo)))
    return family_scales(Scoring(targets, np.ones(1), np.ones(1)).discrepancies(post.names, theta))


def scoring(post: Posterior, targets: Targets) -> Scoring:
    from rareflow.history.targets import FAMILIES

    stored = post.provenance.get("scales")
    scales = np.array([stored[f] for f in FAMILIES]) if stored else prior_scales(post, targets)
    fw = post.provenance.get("settings", {}).get("family_weights") or targets.family_weights()
    return Scoring(targets, scales, np.array([fw[f] for f in FAMILIES], float))


def candidates(post: Posterior, score: Scoring | None = None) -> dict[str, dict[str, float]]:
    """Every rule's point (informed parameters only); ``map`` needs ``score``."""
    cols = informed(post)
    x, w = post.particles[:, cols], post.weights / post.weights.sum()
    names = [post.names[j] for j in cols]
    points = {
        "median": np.array([weighted_quantile(x[:, j], w, [0.5])[0] for j in range(len(cols))]),
        "mean": w @ x,
        "medoid": x[medoid(x, w, _spans(post, cols))],
    }
    if score is not None:
        points["map"] = x[int(np.argmin(score.distance(score.discrepancies(names, x))))]
    return {rule: dict(zip(names, map(float, p), strict=True)) for rule, p in points.items()}


def point(post: Posterior, rule: str, score: Scoring | None = None) -> dict[str, float]:
    if rule not in RULES:
        raise UserInputError("not a point rule", column="--point", value=rule,
                             expected=", ".join(RULES))  # fmt: skip
    if rule == "map" and score is None:
        raise ValueError("the map rule needs the calibration's scoring")
    return candidates(post, score)[rule]


def _spans(post: Posterior, cols: list[int]) -> np.ndarray:
    return np.array([post.specs[j].upper - post.specs[j].lower for j in cols])


def medoid(x: np.ndarray, w: np.ndarray, span: np.ndarray) -> int:
    """Index of the particle with the smallest weighted mean Euclidean distance to the others,
    each column divided by ``span`` (its prior range)."""
    z = x / span
    dist = np.sqrt(((z[:, None, :] - z[None, :, :]) ** 2).sum(axis=2))  # (n, n)
    return int(np.argmin(dist @ w))


def evaluate(score: Scoring, points: Mapping[str, Mapping[str, float]]) -> dict[str, np.ndarray]:
    """Per point: its per-family discrepancies (F,) then the combined distance, as one row."""
    out = {}
    for rule, p in points.items():
        names = list(p)
        disc = score.discrepancies(names, np.array([[p[n] for n in names]]))
        out[rule] = np.append(disc[0], score.distance(disc)[0])
    return out
