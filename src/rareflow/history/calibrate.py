"""Fit the global behavioural parameters to China's customs magnet exports.

Objective (to minimise): the weighted mean squared log error between modelled and observed
monthly exports, over every observed point in the window (World and each destination;
'implied' points weigh half), plus a weak prior that pulls each parameter towards its prior
value in units of its range (a MAP estimate, so that parameters the data cannot identify stay
where the evidence put them rather than chasing noise):

    J(x) = sum_i w_i (log(m_i(x) + 1) - log(o_i + 1))^2 / sum_i w_i
           + PRIOR_WEIGHT * mean_j ((x_j - prior_j) / (upper_j - lower_j))^2

``scipy.optimize.differential_evolution`` searches the box with the whole population evaluated
in one vectorised engine run (one parameter set per draw).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rareflow.errors import MassBalanceError, UserInputError
from rareflow.history.parameters import write_rows

if TYPE_CHECKING:
    import pandas as pd

    from rareflow.history.simulator import HistorySimulator

PRIOR_WEIGHT = 0.05
IMPLIED_WEIGHT = 0.5
FAILED = 1e3  # objective of a parameter set whose run breaks mass balance
OBJECTIVE = "weighted mean squared log error + 0.05 x range-scaled prior penalty"


@dataclass(frozen=True)
class Spec:
    name: str
    lower: float
    upper: float
    prior: float | None  # None: the dataset's value
    unit: str
    description: str


PRIORS_FILE = Path(__file__).parent / "priors.csv"


def read_specs(path: Path = PRIORS_FILE) -> tuple[Spec, ...]:
    """The declared calibration parameters (``history/priors.csv``): name, uniform prior
    bounds (within the physical ranges of ``data.ranges``), unit, description. A parameter the
    engine does not know is left out where the specs are used (``HistorySimulator.knows``)."""
    import csv

    from rareflow.data.ranges import parameter_range

    out = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            lo, hi = parameter_range(row["name"])
            lower, upper = max(float(row["lower"]), lo), min(float(row["upper"]), hi)
            if not lower < upper:
                raise UserInputError(
                    "an empty prior range", file=str(path), field=row["name"],
                    value=f"[{row['lower']}, {row['upper']}]",
                    expected=f"lower < upper within [{lo:g}, {hi:g}]",
                )  # fmt: skip
            prior = 1.0 if row["name"] in ("cover_scale", "cover_multiple") else None
            out.append(Spec(row["name"], lower, upper, prior, row["unit"], row["description"]))
    return tuple(out)


SPECS = read_specs()
# The point fit (``calibrate``, used by the backtest's rolling origins) fits the exports only:
# parameters that act on prices or stoppages alone are left to the ABC posterior (``abc_fit``).
POINT_FIT = (
    "licence_lead_time_months", "licence_ramp_months", "licence_approval_share",
    "restock_months", "cover_scale", "rerouting_months", "home_priority",
    "price_sensitivity", "demand_growth_per_year",
)  # fmt: skip


@dataclass
class Fit:
    values: dict[str, float]
    priors: dict[str, float]
    specs: list[Spec]
    start: str
    end: str
    objective: float
    prior_objective: float
    points: int
    evaluations: int
    rise: dict[str, float] = field(default_factory=dict)  # objective rise across each range
    date: str = field(default_factory=lambda: datetime.now(UTC).date().isoformat())

    def note(self) -> str:
        return (
            f"calibrated: window {self.start}:{self.end}, objective {OBJECTIVE} = "
            f"{self.objective:.4g} over {self.points} points, date {self.date}"
        )

    def table(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "parameter": s.name,
                    "prior": self.priors[s.name],
                    "fitted": self.values[s.name],
                    "lower": s.lower,
                    "upper": s.upper,
                    "unit": s.unit,
                    "objective_rise_over_range": self.rise.get(s.name, float("nan")),
                }
                for s in self.specs
            ]
        )

    def title(self) -> str:
        return (
            f"Calibrated on {self.points} observed points {self.start}..{self.end}: objective "
            f"{self.objective:.4g} (prior parameters: {self.prior_objective:.4g})"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "window": f"{self.start}:{self.end}",
            "objective": OBJECTIVE,
            "objective_value": self.objective,
            "objective_at_priors": self.prior_objective,
            "points": self.points,
            "evaluations": self.evaluations,
            "date": self.date,
            "parameters": self.table().to_dict(orient="records"),
        }


def parse_window(window: str | None) -> tuple[str | None, str | None]:
    """'START:END' (either side may be empty) -> (start, end) months."""
    from rareflow.policies.instruments import MONTH_PATTERN

    if window is None:
        return None, None
    parts = window.split(":")
    ok = len(parts) == 2 and all(not p or MONTH_PATTERN.match(p) for p in parts)
    if not ok or (parts[0] and parts[1] and parts[0] > parts[1]):
        raise UserInputError(
            "not a window",
            column="--window",
            value=window,
            expected="START:END, e.g. 2024-01:2025-09",
        )
    return parts[0] or None, parts[1] or None


class Objective:
    """J(x) for a batch of parameter vectors (S, N) -> (N,), against the observed points."""

    def __init__(
        self,
        sim: HistorySimulator,
        observed: pd.DataFrame,
        specs: list[Spec],
        priors: np.ndarray,
        prior_weight: float = PRIOR_WEIGHT,
    ) -> None:
        months = {m: t for t, m in enumerate(sim.months)}
        keep = observed[observed["month"].isin(list(months))]
        self.sim, self.specs, self.priors = sim, specs, priors
        self.series = keep["destination"].to_numpy()
        self.t = keep["month"].map(months).to_numpy(int)
        self.log_obs = np.log1p(keep["observed_tonnes"].to_numpy(float))
        self.w = np.where(keep["kind"].to_numpy() == "implied", IMPLIED_WEIGHT, 1.0)
        self.span = np.array([s.upper - s.lower for s in specs])
        self.calls = 0
        self.failures = 0
        self.prior_weight = prior_weight

    @property
    def points(self) -> int:
        return len(self.t)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(x.T).T if x.ndim == 1 else x  # (S, N)
        self.calls += x.shape[1]
        try:
            return self._evaluate(x)
        except MassBalanceError:
            # a run that breaks mass balance is no result: isolate its draws, score them worst
            if x.shape[1] == 1:
                self.failures += 1
                return np.array([FAILED])
            half = x.shape[1] // 2
            return np.concatenate([self(x[:, :half]), self(x[:, half:])])

    def _evaluate(self, x: np.ndarray) -> np.ndarray:
        modelled = self.sim.series({s.name: x[j] for j, s in enumerate(self.specs)})
        err = np.zeros(x.shape[1])
        for name in np.unique(self.series):
            rows = self.series == name
            m = np.log1p(np.maximum(modelled[str(name)][:, self.t[rows]], 0.0))  # (N, n)
            err += ((m - self.log_obs[rows]) ** 2 * self.w[rows]).sum(axis=1)
        fit = err / self.w.sum()
        prior = (((x.T - self.priors) / self.span) ** 2).mean(axis=1)
        return np.asarray(fit + self.prior_weight * prior)


def calibrate(
    *,
    start: str | None = None,
    end: str | None = None,
    data_dir: str | Path | None = None,
    observed: pd.DataFrame | None = None,
    names: list[str] | None = None,
    simulator: HistorySimulator | None = None,
    maxiter: int = 60,
    popsize: int = 6,
    seed: int = 0,
    prior_weight: float = PRIOR_WEIGHT,
) -> Fit:
    """Fit ``names`` (default: every spec the engine knows) on observations in [start, end]."""
    from scipy.optimize import differential_evolution

    from rareflow.data.network import load_network
    from rareflow.history.observed import read_observed
    from rareflow.history.simulator import HistorySimulator

    obs = observed if observed is not None else read_observed()
    obs = obs[(obs["month"] >= (start or "")) & (obs["month"] <= (end or "9999"))]
    if obs.empty:
        raise UserInputError("no observations in the window", column="--window")
    end = end or str(obs["month"].max())
    # Fit from the curated priors, not from the previous fit the bundled baseline carries.
    sim = simulator or HistorySimulator(end, network=load_network(data_dir, calibrated=False))
    obs = obs[obs["month"] >= sim.months[0]]
    start = max(start or "", str(obs["month"].min()))
    chosen = POINT_FIT if names is None else names
    specs = [s for s in SPECS if sim.knows(s.name) and s.name in chosen]
    priors = np.array([s.prior if s.prior is not None else sim.base[s.name] for s in specs])
    priors = np.clip(priors, [s.lower for s in specs], [s.upper for s in specs])
    objective = Objective(sim, obs, specs, priors, prior_weight)
    result = differential_evolution(
        objective,
        bounds=[(s.lower, s.upper) for s in specs],
        vectorized=True,
        updating="deferred",
        maxiter=maxiter,
        popsize=popsize,
        seed=seed,
        polish=False,
        tol=1e-4,
        x0=priors,
    )
    rise = profile(objective, result.x, specs) - float(result.fun)
    return Fit(
        rise={s.name: float(r) for s, r in zip(specs, rise, strict=True)},
        values={s.name: float(v) for s, v in zip(specs, result.x, strict=True)},
        priors={s.name: float(v) for s, v in zip(specs, priors, strict=True)},
        specs=specs,
        start=start,
        end=end,
        objective=float(result.fun),
        prior_objective=float(objective(priors[:, None])[0]),
        points=objective.points,
        evaluations=objective.calls,
    )


def profile(objective: Objective, best: np.ndarray, specs: list[Spec], n: int = 11) -> np.ndarray:
    """Largest objective across each parameter's range, the others held at ``best``.

    A small rise means the data do not pin the parameter down (it stays near its prior).
    """
    x = np.repeat(np.asarray(best, dtype=float)[:, None], len(specs) * n, axis=1)
    for j, spec in enumerate(specs):
        x[j, j * n : (j + 1) * n] = np.linspace(spec.lower, spec.upper, n)
    return np.asarray(objective(x)).reshape(len(specs), n).max(axis=1)


def store_fit(fit: Fit, path: Path | None = None) -> Path:
    """Write the fitted values with provenance 'calibrated' (replacing earlier fits)."""
    rows = [
        {
            "name": s.name,
            "value": f"{fit.values[s.name]:.6g}",
            "unit": s.unit,
            "provenance": "calibrated",
            "note": fit.note(),
        }
        for s in fit.specs
    ]
    return write_rows(rows) if path is None else write_rows(rows, path)


def store_point(post: Any, values: dict[str, float], rule: str, path: Path | None = None) -> Path:
    """A point of the posterior (``history.point``: ``values`` of its informed parameters, by
    ``rule``) as the stored values (provenance 'calibrated'), so that single runs (``history``,
    the backtest in sample, the scenarios' calibrated licences) use them; the sample itself is
    bundled beside them (``posterior.write_posterior``). A parameter whose posterior is still
    its prior is left out, and keeps its curated value: the middle of a prior range is no
    finding."""
    from rareflow.history.point import RULE_TEXT

    prov = post.provenance
    informed = set(post.table().query("not prior_only")["parameter"])
    note = (
        f"calibrated: posterior point ({rule}: {RULE_TEXT[rule]}), window {prov['window']}, "
        f"method {prov['method']}, {prov['simulations']} runs, date {prov['date'][:10]}, "
        f"model commit {prov['git_commit']}"
    )
    units = {s.name: s.unit for s in post.specs}
    rows = [
        {"name": k, "value": f"{v:.6g}", "unit": units[k], "provenance": "calibrated", "note": note}
        for k, v in values.items()
        if k in informed
    ]
    return write_rows(rows, path)
