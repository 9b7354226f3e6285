"""The backtest's price and stoppage scores, from the in-sample run (nothing fitted to them).

Prices: per (product, market) with observations, every month's modelled price beside the
observed one (``observed_prices.py``), with the model's MAPE, that of persistence (the last
earlier observation) and the direction of the change from the first to the last observed month.
Ex-China / China ratios are compared where both markets are observed in the same month.
Stoppages: ``stoppages.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rareflow.history import stoppages as st
from rareflow.history.observed_prices import read_prices
from rareflow.history.records import records

if TYPE_CHECKING:
    from rareflow.history.simulator import HistorySimulator


@dataclass
class Scored:
    rows: pd.DataFrame
    metrics: list[dict[str, Any]]


@dataclass
class Stoppages:
    events: pd.DataFrame  # one row per reported event, matched or not
    unreported: pd.DataFrame  # modelled stoppages where no event was reported

    def as_dict(self) -> dict[str, Any]:
        return {
            "events": len(self.events),
            "events_matched": int(self.events["matched"].sum()) if len(self.events) else 0,
            "tolerance_months": st.TOLERANCE_MONTHS,
            "rows": records(self.events),
            "unreported": records(self.unreported),
        }


def score_prices(price: np.ndarray, sim: HistorySimulator, end: str) -> Scored:
    """``price``: (T, P, M) modelled USD/kg of one draw over ``sim.months``."""
    c = sim.compiled
    observed = read_prices()
    observed = observed[observed["month"] <= end]
    frames = []
    for (product, market), part in observed.groupby(["product", "market"], sort=True):
        if product not in c.products:
            continue
        series = price[:, c.products.index(product), c.markets.index(market)]
        frame = pd.DataFrame(
            {
                "product": product,
                "market": market,
                "month": sim.months,
                "modelled_usd_per_kg": series,
            }
        )
        frames.append(frame.merge(part.drop(columns="points"), on=["product", "market", "month"],
                                  how="left"))  # fmt: skip
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    metrics = [
        _price_metrics(str(key[0]), str(key[1]), part)
        for key, part in rows.groupby(["product", "market"])
    ]
    return Scored(rows, metrics + _ratios(rows))


def _price_metrics(product: str, market: str, part: pd.DataFrame) -> dict[str, Any]:
    seen = part.dropna(subset=["observed_usd_per_kg"])
    obs = seen["observed_usd_per_kg"].to_numpy(float)
    mod = seen["modelled_usd_per_kg"].to_numpy(float)
    persistence = np.concatenate([[math.nan], obs[:-1]])
    change_obs = obs[-1] / obs[0] - 1 if len(obs) > 1 else math.nan
    change_mod = mod[-1] / mod[0] - 1 if len(obs) > 1 else math.nan
    return {
        "product": product,
        "market": market,
        "n": len(obs),
        "first_month": str(seen["month"].iloc[0]),
        "last_month": str(seen["month"].iloc[-1]),
        "mape": _mape(obs, mod),
        "naive_persistence_mape": _mape(obs, persistence),
        "observed_change": change_obs,
        "modelled_change": change_mod,
        "direction_right": None
        if math.isnan(change_obs)
        else bool(np.sign(round(change_obs, 2)) == np.sign(round(change_mod, 2))),
    }


def _ratios(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """Ex-China / China price ratio per product and month where both markets are observed."""
    out: list[dict[str, Any]] = []
    if rows.empty:
        return out
    wide = rows.pivot_table(index=["product", "month"], columns="market",
                            values=["modelled_usd_per_kg", "observed_usd_per_kg"])  # fmt: skip
    for key, r in wide.iterrows():
        product, month = (str(k) for k in key)  # type: ignore[attr-defined]
        try:
            obs = r[("observed_usd_per_kg", "ex_china")] / r[("observed_usd_per_kg", "china")]
            mod = r[("modelled_usd_per_kg", "ex_china")] / r[("modelled_usd_per_kg", "china")]
        except KeyError:
            continue
        if np.isfinite(obs):
            out.append({"product": product, "market": "ex_china/china", "month": month,
                        "observed_ratio": float(obs), "modelled_ratio": float(mod)})  # fmt: skip
    return out


def _mape(obs: np.ndarray, forecast: np.ndarray) -> float:
    keep = ~np.isnan(forecast) & (obs > 0)
    if not keep.any():
        return math.nan
    return float(np.mean(np.abs(forecast[keep] - obs[keep]) / obs[keep]))


def score_stoppages(share: np.ndarray, sim: HistorySimulator, end: str) -> Stoppages:
    """``share``: (T, R, S) modelled shortage shares of one draw over ``sim.months``."""
    c = sim.compiled
    events = st.read_events()
    events = events[events["month"] <= end]
    shortage = st.shortage_frame(share, sim.months, c.regions, c.sectors)
    first = str(events["month"].min()) if len(events) else end
    year_start = f"{first[:4]}-01"  # unreported stoppages: from January of the events' year
    return Stoppages(st.match_events(events, shortage), st.unreported(events, shortage, year_start))
