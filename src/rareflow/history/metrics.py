"""Skill metrics on monthly series (pandas Series indexed by 'YYYY-MM', NaN = no value).

Pure functions, each checked on tiny hand-worked series in ``tests/test_backtest_metrics.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def _paired(observed: pd.Series, modelled: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    both = pd.concat([observed.rename("o"), modelled.rename("m")], axis=1).dropna()
    return both["o"].to_numpy(float), both["m"].to_numpy(float)


def mape(observed: pd.Series, modelled: pd.Series) -> float:
    """Mean absolute percentage error over months with both values and observed > 0."""
    o, m = _paired(observed, modelled)
    keep = o > 0
    if not keep.any():
        return math.nan
    return float(np.mean(np.abs(m[keep] - o[keep]) / o[keep]))


def correlation(observed: pd.Series, modelled: pd.Series) -> float:
    """Pearson correlation over paired months; NaN with under 3 pairs or no variation."""
    o, m = _paired(observed, modelled)
    if len(o) < 3 or np.std(o) == 0 or np.std(m) == 0:
        return math.nan
    return float(np.corrcoef(o, m)[0, 1])


def pre_level(series: pd.Series, episode_start: str, months: int = 12) -> float:
    """Mean of the values in the ``months`` before the episode starts (NaN if none)."""
    start = pd.Period(episode_start, freq="M")
    window = {str(start - k) for k in range(1, months + 1)}
    values = series[[m in window for m in series.index]].dropna()
    return float(values.mean()) if len(values) else math.nan


def trough(series: pd.Series, episode_start: str, level: float) -> tuple[str | None, float]:
    """Month of the lowest value from the episode start, and its depth 1 - low / level.

    Needs at least two values from the episode start (one value is no trough).
    """
    after = series[[m >= episode_start for m in series.index]].dropna()
    if len(after) < 2 or not level > 0:
        return None, math.nan
    month = str(after.idxmin())
    return month, float(1.0 - after.min() / level)


def fall(series: pd.Series, episode_start: str, trough_month: str | None) -> float:
    """1 - value at the trough / value in the month before the episode: the fall as the news
    reports it (China's magnet exports "fell 77% from March to May"); NaN where either month
    has no value."""
    before = str(pd.Period(episode_start, freq="M") - 1)
    if trough_month is None:
        return math.nan
    start, low = series.get(before, math.nan), series.get(trough_month, math.nan)
    if not (start > 0) or math.isnan(low):
        return math.nan
    return float(1.0 - low / start)


def recovery(
    series: pd.Series, trough_month: str | None, level: float, share: float = 0.9
) -> str | None:
    """First month after the trough back at or above ``share`` of the pre-episode level."""
    if trough_month is None or not level > 0:
        return None
    after = series[[m > trough_month for m in series.index]].dropna()
    back = after[after >= share * level]
    return str(back.index[0]) if len(back) else None


def naive_last_month(observed: pd.Series) -> pd.Series:
    """Forecast for each month = the observation of the month before (NaN if none)."""
    return pd.Series(
        {m: observed.get(str(pd.Period(m, freq="M") - 1), math.nan) for m in observed.index},
        dtype=float,
    )


def naive_last_year(observed: pd.Series) -> pd.Series:
    """Forecast for each month = the observation of the same month a year before."""
    return pd.Series(
        {m: observed.get(str(pd.Period(m, freq="M") - 12), math.nan) for m in observed.index},
        dtype=float,
    )


def series_metrics(
    observed: pd.Series, modelled: pd.Series, episode_start: str
) -> dict[str, object]:
    """MAPE, correlation, and the episode's trough and recovery, modelled and observed.

    The pre-episode level of both is the observed one, so depths compare like with like; where
    no observation precedes the episode, the modelled pre-episode level is used. ``fall`` is
    each series' own, from its month before the episode to its trough.
    """
    level = pre_level(observed, episode_start)
    if not level > 0:
        level = pre_level(modelled, episode_start)
    obs_trough, obs_depth = trough(observed, episode_start, level)
    mod_trough, mod_depth = trough(modelled, episode_start, level)
    return {
        "n": len(_paired(observed, modelled)[0]),
        "mape": mape(observed, modelled),
        "correlation": correlation(observed, modelled),
        "pre_level": level,
        "trough_month": mod_trough,
        "trough_depth": mod_depth,
        "fall": fall(modelled, episode_start, mod_trough),
        "recovery_month": recovery(modelled, mod_trough, level),
        "observed_trough_month": obs_trough,
        "observed_trough_depth": obs_depth,
        "observed_fall": fall(observed, episode_start, obs_trough),
        "observed_recovery_month": recovery(observed, obs_trough, level),
    }


def skill(observed: pd.Series, modelled: pd.Series, episode_start: str) -> dict[str, object]:
    """``series_metrics`` for the model and for the two naive forecasts (prefixed)."""
    out = series_metrics(observed, modelled, episode_start)
    for name, forecast in (
        ("naive_last_month", naive_last_month(observed)),
        ("naive_last_year", naive_last_year(observed)),
    ):
        naive = series_metrics(observed, forecast, episode_start)
        keys = (
            "n",
            "mape",
            "correlation",
            "trough_month",
            "trough_depth",
            "fall",
            "recovery_month",
        )
        for key in keys:
            out[f"{name}_{key}"] = naive[key]
    return out
