"""Default ranges of the main behavioural parameters, for a scenario without ``uncertainty:``.

``rareflow sensitivity`` needs uncertain inputs to rank; no bundled scenario declares any, so
the calibrated posterior's marginals stand in (``history/posterior.py``), and these ranges only
where no posterior is bundled (and are printed as such). Each row is an ``assumption``: a range around
the baseline value (``data/baseline/parameters.csv``) and its calibrated value
(``data/calibrated_parameters.csv``), with the reason for its width. They are uniform or
triangular, wide rather than narrow: a sensitivity ranking asks which inputs matter, not how
likely each value is.
"""

from __future__ import annotations

from dataclasses import dataclass

from rareflow.scenarios.model import Scenario


@dataclass(frozen=True)
class Range:
    parameter: str
    dist: dict[str, object]
    provenance: str
    rationale: str


DEFAULT_RANGES = (
    Range("demand_elasticity", {"dist": "uniform", "low": 0.05, "high": 0.3}, "assumption",
          "baseline 0.1: magnets are a small share of a product's cost; 0.05-0.3 spans "
          "short-run elasticities of such inputs"),
    Range("price_sensitivity", {"dist": "triangular", "low": 1.0, "mode": 2.0, "high": 4.0},
          "assumption", "baseline 2, calibrated 2.3: 2025's 50-80% export cut came with ex-China "
          "Dy/Tb prices 2-4x (prices.csv)"),
    Range("rerouting_months", {"dist": "uniform", "low": 1.0, "high": 12.0}, "assumption",
          "baseline 6, calibrated 1.0: from the fit's month to a year of supplier "
          "qualification"),
    Range("restock_months", {"dist": "uniform", "low": 3.0, "high": 12.0}, "assumption",
          "baseline 6, calibrated 11.4: buyers rebuilt cover over one to four quarters in 2025"),
    Range("cover_multiple", {"dist": "uniform", "low": 0.5, "high": 1.5}, "assumption",
          "1 = the inventories table; covers are reported for 2025 only "
          "(inventory_cover_2025.csv), so +-50%"),
    Range("tariff_elasticity", {"dist": "uniform", "low": 0.5, "high": 3.0}, "assumption",
          "baseline 1.5: short-run trade elasticities of differentiated intermediates"),
    Range("substitution_max_share", {"dist": "uniform", "low": 0.1, "high": 0.5}, "assumption",
          "baseline 0.3: heavy-RE thrifting is proven, whole-magnet substitution limited"),
    Range("licence_approval_share", {"dist": "uniform", "low": 0.25, "high": 1.0},
          "assumption", "prior 0.6, calibrated 0.97: CLEPA saw approvals rise from 25% to 60% "
          "in 2025"),
)  # fmt: skip


def with_default_ranges(scenario: Scenario, names: set[str] | None = None) -> Scenario:
    """The scenario with ``DEFAULT_RANGES`` as its uncertainty section (only parameters in
    ``names`` where given: a user's network may lack some)."""
    from rareflow.scenarios.uncertainty import Uncertainty

    rows = [r for r in DEFAULT_RANGES if names is None or r.parameter in names]
    spec = Uncertainty.model_validate({"parameters": {r.parameter: r.dist for r in rows}})
    return scenario.model_copy(update={"uncertainty": spec})
