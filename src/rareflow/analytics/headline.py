"""Who is short of what, from when, for how long, at what cost: one row per importing region
and sector, from a stored run's tidy results (the dashboard's first table and the brief's).
"""

from __future__ import annotations

from typing import Any

import pandas as pd


def by_month(frame: pd.DataFrame, keys: list[str], months: list[str]) -> pd.DataFrame:
    """Mean over draws of the value summed per (month, keys); months as columns, zeros filled."""
    draws = max(int(frame["draw"].nunique()), 1) if len(frame) else 1
    total = frame.groupby(["month", *keys])["value"].sum() / draws
    table = total.unstack("month") if len(total) else pd.DataFrame(columns=months)
    return table.reindex(columns=months).fillna(0.0)


def stat_table(results: pd.DataFrame, metric: str, months: list[str]) -> pd.DataFrame:
    return by_month(results[results["metric"] == metric], ["region", "product"], months)


SHORT = 1e-3  # a sector counts as short from 0.1% of its need unmet (or its buyers' output)


def headline(results: pd.DataFrame, months: list[str]) -> list[dict[str, Any]]:
    """Who is short of what, from when, for how long, at what cost: one row per importing
    region and sector that is ever short (a Monte Carlo run: its median path and mean loss)."""
    single = (results["metric"] == "shortage_share").any()
    short = stat_table(results, "shortage_share" if single else "shortage_share_p50", months)
    stopped = stat_table(results, "stopped_share", months)
    lost = stat_table(results, "value_lost" if single else "value_lost_mean", months).sum(axis=1)
    rows = []
    for key in short.index.union(stopped.index):
        path = short.loc[key] if key in short.index else pd.Series(0.0, index=months)
        stop = stopped.loc[key] if key in stopped.index else pd.Series(0.0, index=months)
        over = [m for m, a, b in zip(months, path, stop, strict=True) if max(a, b) >= SHORT]
        if over:
            rows.append({"region": str(key[0]), "sector": str(key[1]), "from": over[0],
                         "months": len(over), "peak_short": float(path.max()),
                         "peak_stopped": float(stop.max()),
                         "value_lost_usd": float(lost.get(key, 0.0))})  # fmt: skip
    return sorted(rows, key=lambda r: (-r["value_lost_usd"], r["from"]))
