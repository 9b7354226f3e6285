"""A stored run's shock and units, from its tidy rows (``ResultStore.results``).

A single run stores ``shortage_share`` per draw. A stored Monte Carlo run keeps statistics
only (``shortage_share_p5``, ``_p50``, ``_p95`` with draw -1): its impact is that of those
three quantile paths, as three labelled draws (``rareflow montecarlo --impact`` re-streams
every draw instead, for quantiles of the impact itself).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def stored_impact(store: Any, run_id: str, mrio: Path | None, mapping: Path | None,
                  step: str) -> Any:  # fmt: skip
    """The impact dataset of a stored run (a Monte Carlo run: its p5/p50/p95 paths)."""
    import json

    import numpy as np
    import xarray as xr

    from rareflow.data.network import load_network
    from rareflow.economy.impact import impact_of_shock

    run_id = store.resolve(run_id)
    months = store.months(run_id)
    net = load_network()
    regions = list(net.tables["regions"]["region"])
    sectors = list(net.tables["sectors"]["sector"])
    metrics = store.metrics(run_id)
    frame = store.results(run_id)
    montecarlo = "shortage_share" not in metrics and "shortage_share_p50" in metrics
    rows = quantile_frame(frame, "shortage_share") if montecarlo else (
        frame[frame["metric"] == "shortage_share"])  # fmt: skip
    shock = cube(rows, months, regions, sectors)
    ds = impact_of_shock(shock, months, regions, sectors, mrio, mapping, step)
    unit_name = "units_lost" if "units_lost" in metrics else "units_not_built"
    for name, source in (("units_lost", unit_name), ("units_deferred", "units_deferred")):
        picked = (quantile_frame(frame, source) if montecarlo
                  else frame[frame["metric"] == source])  # fmt: skip
        values = cube(picked, months, regions, sectors)[: shock.shape[0]]
        if values.shape[0] < shock.shape[0]:
            values = np.zeros_like(shock)
        ds[name] = xr.DataArray(values, dims=("draw", "month", "region", "rf_sector"))
    ds.attrs.update(units_source=unit_name, run_id=run_id, montecarlo_paths=int(montecarlo))
    ds.attrs["scenario"] = json.loads(store.run(run_id)["scenario_json"]).get("name", "")
    return ds
