"""Backtest: the history scenario against observed China magnet exports, with skill metrics.

In sample: the model with the stored calibration (else priors) over every observed month.
Out of sample (rolling origin): for each origin month, the parameters are refitted on the
observations before it, and the model is scored on the observations from the origin on,
against two naive forecasts made at the origin: persistence (the last observation before the
origin) and the same month a year before. Later observations, once published, are scored the
same way without refitting: run ``rareflow backtest --until`` on a newer calibration file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rareflow.history import metrics as mt
from rareflow.history.observed import WORLD, read_observed
from rareflow.policies.instruments import MONTH_PATTERN

if TYPE_CHECKING:
    import pandas as pd

    from rareflow.history.simulator import HistorySimulator

EPISODES = {"2025-04": "MOFCOM/GAC Announcement No. 18 (2025)"}  # episode start -> event
ORIGINS = ("2025-05", "2025-06", "2025-07")


@dataclass
class BacktestResult:
    rows: pd.DataFrame  # month, destination, modelled_tonnes, observed_tonnes, kind
    metrics: list[dict[str, Any]]
    out_of_sample: list[dict[str, Any]]
    parameters: dict[str, float]
    until: str
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        from rareflow.cli.output import records

        return {
            "until": self.until,
            "parameters": self.parameters,
            "rows": records(self.rows),
            "metrics": [_clean(m) for m in self.metrics],
            "out_of_sample": [_clean(m) for m in self.out_of_sample],
            "notes": self.notes,
        }

    def metrics_table(self) -> pd.DataFrame:
        import pandas as pd

        cols = [
            "destination",
            "n",
            "mape",
            "naive_last_month_mape",
            "naive_last_year_mape",
            "correlation",
            "trough_month",
            "observed_trough_month",
            "trough_depth",
            "observed_trough_depth",
            "recovery_month",
            "observed_recovery_month",
        ]
        return pd.DataFrame(self.metrics)[cols]

    def out_of_sample_table(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.out_of_sample)


def _clean(row: dict[str, Any]) -> dict[str, Any]:
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}


def _until(until: str | None, observed: pd.DataFrame) -> str:
    from rareflow.errors import UserInputError

    if until is None:
        return str(observed["month"].max())
    if not MONTH_PATTERN.match(until) or until < "2024-01":
        raise UserInputError(
            "not a month in the history window",
            column="--until",
            value=until,
            expected="YYYY-MM from 2024-01",
        )
    return until


def modelled_frame(
    sim: HistorySimulator, params: dict[str, float], series: list[str]
) -> pd.DataFrame:
    import pandas as pd

    out = sim.series({k: np.array([v]) for k, v in params.items()})
    frames = [
        pd.DataFrame({"month": sim.months, "destination": s, "modelled_tonnes": out[s][0]})
        for s in series
    ]
    return pd.concat(frames, ignore_index=True)


def _series(frame: pd.DataFrame, column: str, name: str) -> pd.Series:
    part = frame[frame["destination"] == name]
    return part.set_index("month")[column].astype(float)


def in_sample(rows: pd.DataFrame) -> list[dict[str, Any]]:
    episode = min(EPISODES)
    out = []
    for name in _order(rows["destination"].unique()):
        obs = _series(rows, "observed_tonnes", name)
        mod = _series(rows, "modelled_tonnes", name)
        out.append({"destination": name, **mt.skill(obs, mod, episode)})
    return out


def _order(names: Any) -> list[str]:
    return sorted(names, key=lambda s: (s != WORLD, s))


def rolling_origin(
    sim: HistorySimulator,
    observed: pd.DataFrame,
    origins: tuple[str, ...] = ORIGINS,
    **fit_options: Any,
) -> list[dict[str, Any]]:
    """Refit before each origin; score months from it against persistence and last year."""
    from rareflow.history.calibrate import calibrate

    out = []
    for origin in origins:
        before = observed[observed["month"] < origin]
        after = observed[(observed["month"] >= origin) & (observed["month"] <= sim.months[-1])]
        if before.empty or after.empty:
            continue
        fit = calibrate(observed=before, simulator=sim, **fit_options)
        modelled = modelled_frame(sim, fit.values, list(after["destination"].unique()))
        scored = after.merge(modelled, on=["month", "destination"])
        out.extend(_score(origin, scored, before, observed))
    return out


def _score(
    origin: str, scored: pd.DataFrame, before: pd.DataFrame, observed: pd.DataFrame
) -> list[dict[str, Any]]:
    rows = []
    groups = [
        ("all", scored),
        *((n, scored[scored["destination"] == n]) for n in _order(scored["destination"].unique())),
    ]
    for name, part in groups:
        obs = part["observed_tonnes"].to_numpy(float)
        persistence = np.array([_last_before(before, d) for d in part["destination"]])
        last_year = np.array(
            [
                _lookup(observed, _shift(m, -12), d)
                for m, d in zip(part["month"], part["destination"], strict=True)
            ]
        )
        rows.append(
            {
                "origin": origin,
                "destination": name,
                "n": len(part),
                "mape": _mape(obs, part["modelled_tonnes"].to_numpy(float)),
                "naive_persistence_mape": _mape(obs, persistence),
                "naive_last_year_mape": _mape(obs, last_year),
            }
        )
    return rows


def _mape(obs: np.ndarray, forecast: np.ndarray) -> float:
    keep = ~np.isnan(forecast) & (obs > 0)
    return (
        float(np.mean(np.abs(forecast[keep] - obs[keep]) / obs[keep])) if keep.any() else math.nan
    )


def _shift(month: str, k: int) -> str:
    import pandas as pd

    return str(pd.Period(month, freq="M") + k)


def _last_before(before: pd.DataFrame, destination: str) -> float:
    part = before[before["destination"] == destination].sort_values("month")
    return float(part["observed_tonnes"].iloc[-1]) if len(part) else math.nan


def _lookup(observed: pd.DataFrame, month: str, destination: str) -> float:
    hit = observed[(observed["month"] == month) & (observed["destination"] == destination)]
    return float(hit["observed_tonnes"].iloc[0]) if len(hit) else math.nan


def backtest(
    *,
    until: str | None = None,
    data_dir: str | Path | None = None,
    observed: pd.DataFrame | None = None,
    parameters: dict[str, float] | None = None,
    origins: tuple[str, ...] = ORIGINS,
    fit_options: dict[str, Any] | None = None,
) -> BacktestResult:
    """Modelled against observed through ``until`` (default: the last observed month)."""
    from rareflow.history.parameters import calibrated_parameters
    from rareflow.history.simulator import HistorySimulator

    obs = observed if observed is not None else read_observed()
    end = _until(until, obs)
    sim = HistorySimulator(end, data_dir=data_dir)
    chosen = calibrated_parameters() if parameters is None else parameters
    params = {k: v for k, v in chosen.items() if sim.knows(k)}
    names = _order(obs["destination"].unique())
    modelled = modelled_frame(sim, params, names)
    rows = modelled.merge(
        obs[obs["month"] <= end], on=["month", "destination"], how="left"
    ).sort_values(["destination", "month"], key=lambda c: c.map(lambda v: (v != WORLD, v)))
    rows = rows.reset_index(drop=True)[
        ["month", "destination", "modelled_tonnes", "observed_tonnes", "kind"]
    ]
    oos = rolling_origin(sim, obs[obs["month"] <= end], origins, **(fit_options or {}))
    notes = [
        "in-sample metrics use the stored calibration (or the priors where none is stored)",
        "out-of-sample: parameters refitted on observations before each origin",
        "naive forecasts in sample: last month's and last year's observation (one step ahead)",
    ]
    return BacktestResult(rows, in_sample(rows), oos, params, end, notes)
