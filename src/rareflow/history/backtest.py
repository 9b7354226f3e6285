"""Backtest: the history scenario against observed China magnet exports, prices and stoppages.

In sample: the model with the stored calibration (else priors) over every observed month.
Out of sample (rolling origin): for each origin month, the parameters are refitted on the
observations before it, and the model is scored on the observations from the origin on,
against two naive forecasts made at the origin: persistence (the last observation before the
origin) and the same month a year before. Later observations, once published, are scored the
same way without refitting: run ``rareflow backtest --until`` on a newer calibration file.

``summary`` puts both side by side per destination. Prices (``observed_prices.py``) and
stoppages (``stoppages.py``) are scored from the same in-sample run. Its stored calibration
(``rareflow calibrate``, ABC on ``targets.FAMILIES``) fits them together with the exports and
the approval reports; the rolling-origin refits (``calibrate.calibrate``) fit exports only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rareflow.history import metrics as mt
from rareflow.history.observed import WORLD, read_observed
from rareflow.history.records import clean_row, records
from rareflow.history.scoring import Scored, Stoppages, score_prices, score_stoppages
from rareflow.history.stoppages import STOPPAGE_OUTPUTS, buyers_stopped
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
    summary: list[dict[str, Any]] = field(default_factory=list)  # per destination
    prices: Scored | None = None  # product, market, month, modelled/observed USD/kg
    stoppages: Stoppages | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "until": self.until,
            "parameters": self.parameters,
            "summary": [clean_row(m) for m in self.summary],
            "rows": records(self.rows),
            "metrics": [clean_row(m) for m in self.metrics],
            "out_of_sample": [clean_row(m) for m in self.out_of_sample],
        }
        if self.prices is not None:
            out["price_rows"] = records(self.prices.rows)
            out["price_metrics"] = [clean_row(m) for m in self.prices.metrics]
        if self.stoppages is not None:
            out["stoppages"] = self.stoppages.as_dict()
        out["notes"] = self.notes
        return out

    def figure(self, bands: pd.DataFrame | None = None) -> Any:
        """Plotly: one chart per series, modelled against observed with the timeline's
        events (``bands``: ``report.posterior_bands`` for fan charts)."""
        from rareflow.history.report import figure

        return figure(self, bands)

    def summary_table(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.summary)

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
            "fall",
            "observed_fall",
            "trough_depth",
            "observed_trough_depth",
            "recovery_month",
            "observed_recovery_month",
        ]
        return pd.DataFrame(self.metrics)[cols]

    def out_of_sample_table(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.out_of_sample)


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
    for name in series_order(rows["destination"].unique()):
        obs = _series(rows, "observed_tonnes", name)
        mod = _series(rows, "modelled_tonnes", name)
        out.append({"destination": name, **mt.skill(obs, mod, episode)})
    return out


def series_order(names: Any) -> list[str]:
    """Series names, World first, then alphabetically."""
    return sorted(names, key=lambda s: (s != WORLD, s))


def rolling_origin(
    sim: HistorySimulator,
    observed: pd.DataFrame,
    origins: tuple[str, ...] = ORIGINS,
    **fit_options: Any,
) -> pd.DataFrame:
    """Refit before each origin; each later observation with the model's and the naive
    forecasts made at the origin (columns origin, month, destination, observed_tonnes,
    modelled_tonnes, persistence, last_year)."""
    import pandas as pd

    from rareflow.history.calibrate import calibrate

    parts = []
    for origin in origins:
        before = observed[observed["month"] < origin]
        after = observed[(observed["month"] >= origin) & (observed["month"] <= sim.months[-1])]
        if before.empty or after.empty:
            continue
        fit = calibrate(observed=before, simulator=sim, **fit_options)
        modelled = modelled_frame(sim, fit.values, list(after["destination"].unique()))
        scored = after.merge(modelled, on=["month", "destination"])
        scored["persistence"] = [_last_before(before, d) for d in scored["destination"]]
        scored["last_year"] = [
            _lookup(observed, _shift(m, -12), d)
            for m, d in zip(scored["month"], scored["destination"], strict=True)
        ]
        parts.append(scored.assign(origin=origin))
    if not parts:
        return pd.DataFrame(columns=[*FORECASTS, "origin", "month", "destination"])
    return pd.concat(parts, ignore_index=True)


FORECASTS = ("observed_tonnes", "modelled_tonnes", "persistence", "last_year")


def _score(scored: pd.DataFrame) -> list[dict[str, Any]]:
    """Per origin: all series together, then each series."""
    rows = []
    for origin, at in scored.groupby("origin", sort=True):
        groups = [
            ("all", at),
            *((n, at[at["destination"] == n]) for n in series_order(at["destination"].unique())),
        ]
        rows += [{"origin": origin, "destination": name, **_mapes(part)} for name, part in groups]
    return rows


def _mapes(part: pd.DataFrame) -> dict[str, Any]:
    obs = part["observed_tonnes"].to_numpy(float)
    return {
        "n": len(part),
        "mape": _mape(obs, part["modelled_tonnes"].to_numpy(float)),
        "naive_persistence_mape": _mape(obs, part["persistence"].to_numpy(float)),
        "naive_last_year_mape": _mape(obs, part["last_year"].to_numpy(float)),
    }


def summarise(metrics: list[dict[str, Any]], scored: pd.DataFrame) -> list[dict[str, Any]]:
    """Per destination: in-sample MAPE beside the naive forecasts', and the same pooled over
    every rolling origin; ``beats_naive`` is whether the model's is below both (None where a
    naive forecast has no value to compare)."""
    out = []
    for m in metrics:
        name = m["destination"]
        pooled = _mapes(scored[scored["destination"] == name])
        row = {
            "destination": name,
            "in_sample_n": m["n"],
            "in_sample_mape": m["mape"],
            "in_sample_persistence_mape": m["naive_last_month_mape"],
            "in_sample_last_year_mape": m["naive_last_year_mape"],
            "rolling_n": pooled["n"],
            "rolling_mape": pooled["mape"],
            "rolling_persistence_mape": pooled["naive_persistence_mape"],
            "rolling_last_year_mape": pooled["naive_last_year_mape"],
        }
        row["in_sample_beats_naive"] = _beats(row, "in_sample")
        row["rolling_beats_naive"] = _beats(row, "rolling")
        out.append(row)
    return out


def _beats(row: dict[str, Any], prefix: str) -> bool | None:
    values = [row[f"{prefix}_{k}"] for k in ("mape", "persistence_mape", "last_year_mape")]
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in values):
        return None
    return bool(values[0] < min(values[1:]))


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
    names = series_order(obs["destination"].unique())
    modelled = modelled_frame(sim, params, names)
    rows = modelled.merge(
        obs[obs["month"] <= end], on=["month", "destination"], how="left"
    ).sort_values(["destination", "month"], key=lambda c: c.map(lambda v: (v != WORLD, v)))
    rows = rows.reset_index(drop=True)[
        ["month", "destination", "modelled_tonnes", "observed_tonnes", "kind"]
    ]
    scored = rolling_origin(sim, obs[obs["month"] <= end], origins, **(fit_options or {}))
    metrics = in_sample(rows)
    raw = sim.run({k: np.array([v]) for k, v in params.items()}, ["price", *STOPPAGE_OUTPUTS])
    return BacktestResult(
        rows,
        metrics,
        _score(scored),
        params,
        end,
        NOTES,
        summary=summarise(metrics, scored),
        prices=score_prices(raw.arrays["price"][0], sim, end),
        stoppages=score_stoppages(buyers_stopped(raw, sim.compiled)[0], sim, end),
    )


NOTES = [
    "in-sample metrics use the stored calibration (or the priors where none is stored)",
    "out-of-sample: parameters refitted on observations before each origin",
    "naive forecasts in sample: last month's and last year's observation (one step ahead)",
    "2024 destination months also set the baseline's 2024 shares (build/destinations.py), so "
    "in-sample 2024 errors by destination are not independent; judge 2025 and rolling origins",
    "prices and stoppages are scored on the in-sample run, whose stored calibration fits "
    "them with the exports and approval reports; rolling-origin refits fit exports only",
]
