"""The ``uncertainty:`` section of a scenario: distributions for parameters and policy attributes.

    uncertainty:
      parameters:
        demand_elasticity: {dist: uniform, low: 0.05, high: 0.3}
      policies:
        april-2025-licence:
          probability: 0.8                 # chance that the measure happens at all
          approval_share: {dist: beta, a: 4, b: 6}
          lead_time_months: {dist: choice, values: [1, 2, 3]}
          start_shift_months: {dist: choice, values: [0, 2], weights: [0.7, 0.3]}
          duration_months: {dist: uniform, low: 6, high: 18}

``posterior: true`` draws the behavioural parameters jointly from the calibrated posterior
sample bundled with the package (``rareflow calibrate``, ``history/posterior.py``); a
distribution under ``parameters`` still wins for its parameter. A scenario without an
``uncertainty:`` section gets ``posterior: true`` in Monte Carlo when a posterior is bundled
(``uncertainty.run.load``).

Any engine parameter may be uncertain, e.g. elasticities (``demand_elasticity``,
``tariff_elasticity``) and inventory cover (``cover_multiple`` scales every target cover).

Structure is checked by pydantic when the scenario is parsed; names (parameters, policy ids,
which attribute a policy type has, value bounds) by ``check_uncertainty`` against the scenario
and the parameter names, with ``ScenarioError`` naming the field path.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from rareflow.data.ranges import FIXED, parameter_range
from rareflow.errors import ScenarioError, did_you_mean
from rareflow.policies.fields import ATTRIBUTES as POLICY_ATTRIBUTES

if TYPE_CHECKING:
    from rareflow.scenarios.model import Scenario

DistName = Literal["uniform", "triangular", "normal", "lognormal", "beta", "choice"]

# Per-draw numeric attributes of each policy type with their bounds, read off the registry's
# fields (``policies.fields``): an instrument's ``PerDraw`` fields and their pydantic bounds.
ATTRIBUTES: dict[str, dict[str, tuple[float, float]]] = {
    tag: {name: (a.low, a.high) for name, a in attrs.items()}
    for tag, attrs in POLICY_ATTRIBUTES.items()
}
TIMING = {"start_shift_months": (-120.0, 120.0), "duration_months": (1.0, 600.0)}


class Distribution(BaseModel):
    """One distribution; which fields it needs depends on ``dist``."""

    model_config = ConfigDict(extra="forbid")
    dist: DistName
    low: float | None = None
    high: float | None = None
    mode: float | None = None
    mean: float | None = None
    sd: float | None = Field(None, gt=0.0)
    a: float | None = Field(None, gt=0.0)
    b: float | None = Field(None, gt=0.0)
    values: list[float] | None = Field(None, min_length=1)
    weights: list[float] | None = None

    @model_validator(mode="after")
    def _complete(self) -> Distribution:
        need = {
            "uniform": ("low", "high"),
            "triangular": ("low", "mode", "high"),
            "normal": ("mean", "sd"),
            "lognormal": ("mean", "sd"),  # of the log
            "beta": ("a", "b"),
            "choice": ("values",),
        }[self.dist]
        missing = [n for n in need if getattr(self, n) is None]
        if missing:
            raise ValueError(f"a {self.dist} distribution needs {', '.join(missing)}")
        numbers = [getattr(self, n) for n in ("low", "high", "mode", "mean", "sd", "a", "b")]
        numbers += [*(self.values or []), *(self.weights or [])]
        if not all(math.isfinite(x) for x in numbers if x is not None):
            raise ValueError("every number of a distribution must be finite (no .nan or .inf)")
        self._check_order()
        if self.weights is not None:
            if self.values is None or len(self.weights) != len(self.values):
                raise ValueError("weights must have one entry per value")
            if min(self.weights) < 0 or sum(self.weights) <= 0:
                raise ValueError("weights must be >= 0 and not all zero")
        return self

    def _check_order(self) -> None:
        if self.low is not None and self.high is not None and not self.low < self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")
        if self.dist == "triangular":
            assert self.low is not None and self.high is not None and self.mode is not None
            if not self.low <= self.mode <= self.high:
                raise ValueError("mode must lie between low and high")

    def support(self) -> tuple[float, float]:
        """Smallest interval holding every sample (normal/lognormal are clipped to low/high)."""
        lo = -math.inf if self.low is None else self.low
        hi = math.inf if self.high is None else self.high
        if self.dist == "beta":
            return (0.0 if self.low is None else lo, 1.0 if self.high is None else hi)
        if self.dist == "lognormal":
            return (max(lo, 0.0), hi)
        if self.dist == "choice":
            assert self.values is not None
            return (min(self.values), max(self.values))
        return (lo, hi)


class PolicyUncertainty(BaseModel):
    """Uncertain attributes of one policy, by id; ``probability`` that it happens at all."""

    model_config = ConfigDict(extra="allow")  # attribute names depend on the policy type
    probability: float = Field(1.0, ge=0.0, le=1.0)

    __pydantic_extra__: dict[str, Distribution] = Field(init=False)

    def distributions(self) -> dict[str, Distribution]:
        return dict(self.__pydantic_extra__ or {})


class Uncertainty(BaseModel):
    model_config = ConfigDict(extra="forbid")
    parameters: dict[str, Distribution] = Field(default_factory=dict)
    policies: dict[str, PolicyUncertainty] = Field(default_factory=dict)
    posterior: bool = False  # parameters drawn jointly from the bundled posterior sample

    def is_empty(self) -> bool:
        return not self.parameters and not self.policies and not self.posterior


# -- checks against the scenario ---------------------------------------------------------------
def _fail(path: str, message: str, *, value: object = None, expected: str | None = None) -> None:
    hint = did_you_mean(str(value), (expected or "").removeprefix("one of ").split(", "))
    raise ScenarioError(
        message, field=path, value=value, expected=expected, hint=hint if value else None
    )


def _within(dist: Distribution, bounds: tuple[float, float], path: str) -> None:
    lo, hi = dist.support()
    if dist.dist in ("normal", "lognormal") and (dist.low is None or dist.high is None):
        lo, hi = max(lo, bounds[0]), min(hi, bounds[1])  # clipped to the attribute's bounds
    if lo < bounds[0] or hi > bounds[1]:
        _fail(
            path,
            "distribution reaches outside the attribute's range",
            value=f"[{lo:g}, {hi:g}]",
            expected=f"values within [{bounds[0]:g}, {bounds[1]:g}]",
        )


def check_uncertainty(scenario: Scenario, parameter_names: Iterable[str]) -> None:
    """Raise ``ScenarioError`` (field path ``uncertainty....``) for names or ranges that do not
    fit the scenario; the caller fills in the file."""
    spec: Uncertainty = scenario.uncertainty
    names = sorted(parameter_names)
    for name, dist in spec.parameters.items():
        path = f"uncertainty.parameters.{name}"
        if name not in names or name in FIXED:
            variable = [n for n in names if n not in FIXED]
            _fail(path, "unknown or fixed parameter", value=name,
                  expected="one of " + ", ".join(variable))  # fmt: skip
        _within(dist, parameter_range(name), path)
    types = {p.id: str(getattr(p, "type", "")) for p in scenario.policies}
    for pid, pu in spec.policies.items():
        at = f"uncertainty.policies.{pid}"
        if pid not in types:
            _fail(at, "unknown policy id", value=pid, expected="one of " + ", ".join(types))
        allowed = {**ATTRIBUTES.get(types[pid], {}), **TIMING}
        for attr, dist in pu.distributions().items():
            if attr not in allowed:
                choices = "one of probability, " + ", ".join(allowed)
                _fail(f"{at}.{attr}", f"{types[pid]} has no uncertain attribute of this name",
                      value=attr, expected=choices)  # fmt: skip
            _within(dist, allowed[attr], f"{at}.{attr}")
