"""``RunResult``: a run's labelled arrays (xarray) and its tidy, summary and price views."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from rareflow.engine.dims import internal
from rareflow.engine.outputs import OUTPUTS
from rareflow.engine.simulate import RawResult
from rareflow.model.compiled import CompiledNetwork
from rareflow.scenarios.model import Scenario

# Outputs derived from the recorded ones after a run: name -> (dims after draw and month, unit)
DERIVED: dict[str, tuple[tuple[str, ...], str]] = {
    "stopped_share": (("region", "sector"), "fraction"),  # buyers stopped (``buyers.py``)
}
SECTOR_METRICS = ("shortage_share", "units_not_built", "value_lost", "stopped_share")
STOPPAGE_SHARE = 0.01  # a sector with at least 1% of its buyers stopped counts as stopped
TIDY_COLUMNS = ["run_id", "scenario", "draw", "month", "region", "partner", "product"]
TIDY_COLUMNS += ["metric", "value", "unit"]
SUMMARY_COLUMNS = ["region", "sector", "peak_shortage_share", "shortage_months"]
SUMMARY_COLUMNS += ["units_not_built", "value_lost_usd", "peak_stopped_share", "stopped_months"]
UNITS = {name: unit for name, (_, unit) in (OUTPUTS | DERIVED).items()}
UNITS["value_lost"] = "USD/month"


def to_dataset(raw: RawResult, net: CompiledNetwork) -> xr.Dataset:
    coords = {
        "draw": np.arange(next(iter(raw.arrays.values())).shape[0]),
        "month": raw.months,
        "region": list(net.regions),
        "partner": list(net.regions),
        "product": list(net.products),
        "sector": list(net.sectors),
        "market": list(net.markets),
    }
    data = {
        name: xr.DataArray(
            values,
            dims=("draw", "month", *OUTPUTS[name][0]),
            attrs={"unit": OUTPUTS[name][1]},
        )
        for name, values in raw.arrays.items()
    }
    if "price" in data:  # base prices ride along, flattened (product-major) for netCDF
        data["price"].attrs["base_usd_per_kg"] = net.price0.ravel().tolist()
    if {"inventory", "demand", "shortage_share"} <= set(raw.arrays):
        data["stopped_share"] = xr.DataArray(
            _stopped(raw, net), dims=("draw", "month", "region", "sector"),
            attrs={"unit": DERIVED["stopped_share"][1]},
        )  # fmt: skip
    return xr.Dataset(data, coords=coords)


def _stopped(raw: RawResult, net: CompiledNetwork) -> np.ndarray:
    from rareflow.engine.buyers import stopped

    return stopped(raw.arrays, net, raw.parameters)


@dataclass
class RunResult:
    run_id: str
    scenario: Scenario
    dataset: xr.Dataset
    mass_balance_max_residual: float
    started_at: str
    finished_at: str
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def _data(self) -> xr.Dataset:
        """The dataset in rareflow's own form, whichever form ``dataset`` is in
        (``rareflow.run`` gives datetime months and exporter/importer: ``engine.dims``)."""
        return internal(self.dataset)

    # -- tidy ------------------------------------------------------------------------------
    def tidy(self, metric: str | None = None) -> pd.DataFrame:
        """Long table: run_id, scenario, draw, month, region, partner, product, metric, value,
        unit. Exact zeros are dropped, except prices."""
        ds = self._data
        names = [metric] if metric else [n for n in OUTPUTS | DERIVED if n in ds]
        frames = [self._tidy_one(ds, n) for n in names if n in ds]
        if not frames:
            return pd.DataFrame(columns=TIDY_COLUMNS)
        return pd.concat(frames, ignore_index=True)[TIDY_COLUMNS]

    def _tidy_one(self, ds: xr.Dataset, name: str) -> pd.DataFrame:
        da = ds[name]
        frame = da.to_dataframe(name="value").reset_index()
        if name != "price":
            frame = frame[frame["value"] != 0.0]
        rename = {"market": "region"} if name == "price" else {}
        if name in SECTOR_METRICS:
            rename = {"sector": "product"}
        frame = frame.rename(columns=rename)
        if "partner" not in frame:
            frame["partner"] = ""
        frame["metric"] = name
        frame["unit"] = da.attrs.get("unit", "")
        frame["run_id"] = self.run_id
        frame["scenario"] = self.scenario.name
        return frame.reset_index(drop=True)

    # -- summaries -------------------------------------------------------------------------
    def summary(self) -> pd.DataFrame:
        """Per region and sector over the horizon (mean over draws): peak shortage share,
        months with a shortage, units not built, value lost, and the peak share of buyers
        stopped with the months in which at least ``STOPPAGE_SHARE`` were."""
        ds = self._data
        share = ds["shortage_share"]
        stopped = ds["stopped_share"] if "stopped_share" in ds else xr.zeros_like(share)
        frame = pd.DataFrame(
            {
                "peak_shortage_share": share.max("month").mean("draw").to_series(),
                "shortage_months": (share > 1e-6).sum("month").mean("draw").to_series(),
                "units_not_built": ds["units_not_built"].sum("month").mean("draw").to_series(),
                "value_lost_usd": ds["value_lost"].sum("month").mean("draw").to_series(),
                "peak_stopped_share": stopped.max("month").mean("draw").to_series(),
                "stopped_months": (stopped >= STOPPAGE_SHARE).sum("month").mean("draw").to_series(),
            }
        )
        return frame.reset_index()[SUMMARY_COLUMNS]

    def stoppages(self, threshold: float = STOPPAGE_SHARE) -> pd.DataFrame:
        """Stoppages as events (draw mean): region, sector, first_month (the first with at
        least ``threshold`` of the sector's buyers stopped), months (how many such months),
        peak_share and peak_month. Empty when nothing stops."""
        columns = ["region", "sector", "first_month", "months", "peak_share", "peak_month"]
        ds = self._data
        if "stopped_share" not in ds:
            return pd.DataFrame(columns=columns)
        share = ds["stopped_share"].mean("draw").transpose("region", "sector", "month")
        months = np.asarray(share["month"].values, dtype=str)
        rows = []
        for r, region in enumerate(share["region"].values):
            for s, sector in enumerate(share["sector"].values):
                path = share.values[r, s]
                over = np.flatnonzero(path >= threshold)
                if over.size:
                    peak = int(np.argmax(path))
                    rows.append([str(region), str(sector), months[over[0]], int(over.size),
                                 float(path[peak]), months[peak]])  # fmt: skip
        frame = pd.DataFrame(rows, columns=columns)
        return frame.sort_values(["first_month", "peak_share"], ascending=[True, False])

    def peak_prices(self) -> pd.DataFrame:
        """Per product and market: base price, peak of the draw-mean price and its month."""
        da = self._data["price"]
        price = da.mean("draw")
        peak_at = price.argmax("month")
        base = np.asarray(da.attrs["base_usd_per_kg"]).reshape(price.shape[1:])
        frame = pd.DataFrame(
            {
                "base_usd_per_kg": xr.DataArray(base, coords=price.isel(month=0).coords)
                .drop_vars("month")
                .to_series(),
                "peak_usd_per_kg": price.max("month").to_series(),
                "peak_month": price["month"].values[peak_at.values].ravel(),
            }
        )
        return frame.reset_index()[
            ["product", "market", "base_usd_per_kg", "peak_usd_per_kg", "peak_month"]
        ]
