"""A stored run's shock and units, from its tidy rows (``ResultStore.results``).

A single run stores ``shortage_share`` per draw. A stored Monte Carlo run keeps statistics
only (``shortage_share_p5``, ``_p50``, ``_p95`` with draw -1): its impact is that of those
three quantile paths, as three labelled draws (``rareflow montecarlo --impact`` re-streams
every draw instead, for quantiles of the impact itself).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

QUANTILE_PATHS = ("p5", "p50", "p95")


def cube(frame: pd.DataFrame, months: list[str], regions: list[str], sectors: list[str],
         draw_col: str = "draw") -> np.ndarray:  # fmt: skip
    """Tidy rows (draw, month, region, product=sector, value) -> (D, T, R, S), zeros where
    a row is missing (the store drops exact zeros)."""
    draws = sorted(frame[draw_col].unique()) if len(frame) else [0]
    out = np.zeros((len(draws), len(months), len(regions), len(sectors)))
    if len(frame):
        d = pd.Index(draws).get_indexer(pd.Index(frame[draw_col]))
        t = pd.Index(months).get_indexer(pd.Index(frame["month"].astype(str).str[:7]))
        r = pd.Index(regions).get_indexer(pd.Index(frame["region"]))
        s = pd.Index(sectors).get_indexer(pd.Index(frame["product"]))
        ok = (d >= 0) & (t >= 0) & (r >= 0) & (s >= 0)
        out[d[ok], t[ok], r[ok], s[ok]] = frame["value"].to_numpy()[ok]
    return out


def quantile_frame(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """A Monte Carlo run's ``<metric>_p5/_p50/_p95`` rows as draws 0, 1, 2."""
    parts = []
    for k, name in enumerate(QUANTILE_PATHS):
        part = frame[frame["metric"] == f"{metric}_{name}"].copy()
        part["draw"] = k
        parts.append(part)
    return pd.concat(parts, ignore_index=True)
