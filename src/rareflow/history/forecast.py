"""``rareflow forecast``: China's magnet exports after the calibration window, stated before
the customs figures arrive, and scored against them once they do.

The forecast is the history run (the timeline's policies as recorded) carried past the last
month the calibration fitted (``fitted_through``, the stored posterior's window end) to
``until``. Per month and series (World and each destination):

- ``point_tonnes``: the bundled calibrated point (what ``rareflow run history`` uses);
- ``posterior_p5`` / ``p50`` / ``p95``: the posterior predictive, the same run over parameter
  sets drawn from the stored posterior by weight (parameter uncertainty only);
- ``low_90`` / ``high_90``: the posterior median times the 5% and 95% quantiles of the
  in-sample ratios observed / modelled of the series (World's where the series has fewer than
  ``MIN_RESIDUALS``), the model's own error in the fitted months. In-sample errors understate
  errors out of sample, so this interval is a floor on the uncertainty, not a guarantee;
- the two naive forecasts the backtest uses, made from what was known at ``fitted_through``:
  ``persistence_tonnes`` (the last observation up to then) and ``last_year_tonnes`` (the
  same month a year earlier, where that month was observed by then).

``score`` holds later observations (a customs table in the bundled layout, read by
``observed.read_observed``) against all of them: per series, the MAPE of the point, the
posterior median and both naives, and the share of observations inside each 90% band.
Observations inside the fitted window are left out: they were fitted, not forecast.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rareflow.errors import UserInputError
from rareflow.history.backtest import series_order
from rareflow.history.metrics import mape
from rareflow.history.observed import WORLD, read_observed
from rareflow.history.records import clean_row, records

if TYPE_CHECKING:
    import pandas as pd

    from rareflow.history.simulator import HistorySimulator

DEFAULT_UNTIL = "2026-12"
DEFAULT_DRAWS = 200
MIN_RESIDUALS = 6  # in-sample months a series needs for its own error band
MAX_HORIZON_MONTHS = 120  # assumption: past ten years the recorded timeline says nothing
INTERVAL = (0.05, 0.95)
NOTES = [
    "the history run carried past the fitted window: the timeline's policies as recorded "
    "(``rareflow events``); what followed the November 2026 end of the suspension is not known",
    "posterior_p5..p95: parameter uncertainty only (draws from the stored posterior)",
    "low_90/high_90: the posterior median times the 5-95% quantiles of the in-sample ratios "
    "observed/modelled (the model's own error where it was fitted; a floor on the uncertainty "
    "out of sample)",
    "naive forecasts from what was known at fitted_through: the last observation "
    "(persistence) and the same month a year earlier (last_year)",
]


@dataclass
class Forecast:
    fitted_through: str
    until: str
    draws: int
    rows: pd.DataFrame  # one row per (month, destination) after fitted_through
    scores: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=lambda: list(NOTES))

    def as_dict(self) -> dict[str, Any]:
        return {
            "fitted_through": self.fitted_through,
            "until": self.until,
            "draws": self.draws,
            "rows": records(self.rows),
            "scores": [clean_row(s) for s in self.scores],
            "notes": self.notes,
        }

    def figure(self) -> Any:
        """Plotly: one chart per series, the fitted window's observations, the forecast with
        its bands, the naives and any later figures (``rareflow report forecast``)."""
        from rareflow.history.forecast_report import figure, known_window

        return figure(self, known_window(self.fitted_through))


def fitted_through() -> str:
    """The last month the stored calibration fitted (the bundled observations' last month
    where no posterior is stored)."""
    from rareflow.history.posterior import POSTERIOR_FILE, meta_path, read_stored

    if meta_path(POSTERIOR_FILE).exists():
        window = str(read_stored().provenance.get("window", ""))
        if ":" in window:
            return window.split(":")[1]
    return str(read_observed()["month"].max())


def forecast(
    until: str = DEFAULT_UNTIL,
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
    observed_path: Path | None = None,
) -> Forecast:
    """The forecast from ``fitted_through()`` to ``until``, scored against ``observed_path``
    (a monthly customs table in the bundled layout) where given."""
    from rareflow.history.backtest import modelled_frame
    from rareflow.history.parameters import calibrated_parameters
    from rareflow.history.simulator import HistorySimulator

    start = fitted_through()
    _check_until(until, start)
    later = _later(observed_path, start) if observed_path is not None else None  # fail early
    known = read_observed()
    known = known[known["month"] <= start]
    series = series_order(known["destination"].unique())
    sim = HistorySimulator(until)
    params = {k: v for k, v in calibrated_parameters().items() if sim.knows(k)}
    point = modelled_frame(sim, params, series).rename(columns={"modelled_tonnes": "point_tonnes"})
    bands = _posterior(sim, series, draws, seed, point)
    rows = point.merge(bands, on=["month", "destination"])
    rows = _with_error_band(rows, known, point)
    rows = _with_naives(rows, known)
    rows = rows[rows["month"] > start].reset_index(drop=True)
    result = Forecast(start, until, draws, rows)
    if later is not None:
        result.rows = rows.merge(later, on=["month", "destination"], how="left")
        result.scores = score(result.rows)
    return result


def until_expected(until: str, start: str) -> str | None:
    """What ``until`` should be, where it is not: a month after the fitted window ``start``
    and at most ``MAX_HORIZON_MONTHS`` after it; None where it is fine."""
    import pandas as pd

    from rareflow.policies.instruments import MONTH_PATTERN

    last = str(pd.Period(start, freq="M") + MAX_HORIZON_MONTHS)
    if MONTH_PATTERN.match(until) and start < until <= last:
        return None
    return f"YYYY-MM after {start}, the last month the calibration fitted, and at most {last}"


def _check_until(until: str, start: str) -> None:
    expected = until_expected(until, start)
    if expected is not None:
        raise UserInputError("not a month the forecast covers", column="--until", value=until,
                             expected=expected)  # fmt: skip


def _posterior(
    sim: HistorySimulator, series: list[str], draws: int, seed: int, point: pd.DataFrame
) -> pd.DataFrame:
    """posterior_p5/p50/p95 per (month, destination); the point itself where no posterior
    is stored or ``draws`` is 0."""
    from rareflow.history.report import posterior_bands

    bands = posterior_bands(sim.months[-1], series, draws, seed, sim=sim) if draws else None
    if bands is None:
        same = point["point_tonnes"]
        return point[["month", "destination"]].assign(
            posterior_p5=same, posterior_p50=same, posterior_p95=same
        )
    return bands[["month", "destination", "p5", "p50", "p95"]].rename(
        columns={"p5": "posterior_p5", "p50": "posterior_p50", "p95": "posterior_p95"}
    )


def error_quantiles(known: pd.DataFrame, point: pd.DataFrame) -> dict[str, tuple[float, float]]:
    """Per series: the 5% and 95% quantiles of observed / modelled over the fitted months
    (World's for a series with fewer than ``MIN_RESIDUALS``)."""
    both = known.merge(point, on=["month", "destination"])
    both = both[(both["observed_tonnes"] > 0) & (both["point_tonnes"] > 0)]
    ratio = both["observed_tonnes"] / both["point_tonnes"]
    out: dict[str, tuple[float, float]] = {}
    for name, part in ratio.groupby(both["destination"]):
        if len(part) >= MIN_RESIDUALS:
            low, high = np.quantile(part.to_numpy(float), INTERVAL)
            out[str(name)] = (float(low), float(high))
    return out


def _with_error_band(rows: pd.DataFrame, known: pd.DataFrame, point: pd.DataFrame) -> pd.DataFrame:
    q = error_quantiles(known, point)
    world = q.get(WORLD, (math.nan, math.nan))
    low = rows["destination"].map(lambda d: q.get(d, world)[0]).astype(float)
    high = rows["destination"].map(lambda d: q.get(d, world)[1]).astype(float)
    return rows.assign(low_90=rows["posterior_p50"] * low, high_90=rows["posterior_p50"] * high)


def _with_naives(rows: pd.DataFrame, known: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    last = known.sort_values("month").groupby("destination")["observed_tonnes"].last()
    lookup = {(m, d): v for m, d, v in zip(known["month"], known["destination"],
                                           known["observed_tonnes"], strict=True)}  # fmt: skip
    year_ago = [str(pd.Period(m, freq="M") - 12) for m in rows["month"]]
    return rows.assign(
        persistence_tonnes=rows["destination"].map(last).astype(float),
        last_year_tonnes=[lookup.get((m, d), math.nan)
                          for m, d in zip(year_ago, rows["destination"], strict=True)],
    )  # fmt: skip


def _later(path: Path, start: str) -> pd.DataFrame:
    """Observations after ``start``: a customs table in the bundled layout
    (``china_magnet_exports_monthly.csv``, read by ``observed.read_observed``) or a plain one
    with columns month, destination (a customs name such as 'Germany', or a series code such
    as DEU) and tonnes."""
    import pandas as pd

    from rareflow.history.observed import DESTINATIONS
    from rareflow.policies.instruments import MONTH_PATTERN

    if not path.is_file():
        raise UserInputError("no such file", file=str(path), hint=LAYOUT)
    try:
        head = pd.read_csv(path, dtype={"month": str})
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise UserInputError(f"not a CSV table: {exc}", file=str(path), hint=LAYOUT) from None
    if "product" in head.columns:
        observed = read_observed(path)
    else:
        missing = [c for c in ("month", "destination", "tonnes") if c not in head.columns]
        if missing:
            raise UserInputError("a column is missing", file=str(path), column=missing[0],
                                 hint=LAYOUT)  # fmt: skip
        tonnes = pd.to_numeric(head["tonnes"], errors="coerce")
        for i, (month, value, raw) in enumerate(zip(head["month"], tonnes, head["tonnes"],
                                                     strict=True)):  # fmt: skip
            if not MONTH_PATTERN.match(str(month)):
                raise UserInputError("not a month", file=str(path), row=i + 2, column="month",
                                     value=month, expected="YYYY-MM")  # fmt: skip
            if not (value >= 0):  # NaN fails too
                raise UserInputError("not a tonnage", file=str(path), row=i + 2,
                                     column="tonnes", value=raw,
                                     expected="a number of tonnes, 0 or more")  # fmt: skip
        names = head["destination"].astype(str)
        observed = pd.DataFrame({
            "month": head["month"].astype(str),
            "destination": names.map(lambda n: DESTINATIONS.get(n, n)),
            "observed_tonnes": tonnes,
            "kind": "reported",
        }).groupby(["month", "destination"], as_index=False).agg(
            observed_tonnes=("observed_tonnes", "median"), kind=("kind", "first"))  # fmt: skip
    later = observed[observed["month"] > start]
    return later[["month", "destination", "observed_tonnes", "kind"]]


LAYOUT = (
    "a monthly customs table in the layout of china_magnet_exports_monthly.csv, or a "
    "CSV with columns month (YYYY-MM), destination (e.g. World, Germany or DEU), tonnes"
)


def score(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """Per series with later observations: MAPE of the point, the posterior median and the
    naives, and the share of observations inside each 90% band."""
    seen = rows.dropna(subset=["observed_tonnes"])
    seen = seen[seen["observed_tonnes"] > 0]
    out = []
    for name in series_order(seen["destination"].unique()):
        part = seen[seen["destination"] == name]
        seen_t = part["observed_tonnes"]
        obs = seen_t.to_numpy(float)
        out.append({
            "destination": name,
            "months": len(part),
            "first_month": str(part["month"].min()),
            "last_month": str(part["month"].max()),
            "mape_point": mape(seen_t, part["point_tonnes"]),
            "mape_posterior_median": mape(seen_t, part["posterior_p50"]),
            "mape_persistence": mape(seen_t, part["persistence_tonnes"]),
            "mape_last_year": mape(seen_t, part["last_year_tonnes"]),
            "inside_posterior_90": _inside(obs, part["posterior_p5"], part["posterior_p95"]),
            "inside_interval_90": _inside(obs, part["low_90"], part["high_90"]),
        })  # fmt: skip
    return out


def _inside(obs: np.ndarray, low: pd.Series, high: pd.Series) -> float:
    lo, hi = low.to_numpy(float), high.to_numpy(float)
    keep = ~(np.isnan(lo) | np.isnan(hi))
    if not keep.any():
        return math.nan
    return float(np.mean((lo[keep] <= obs[keep]) & (obs[keep] <= hi[keep])))
