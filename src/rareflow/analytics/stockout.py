"""Stock-out dates: per region and sector, the first month the sector's inputs run out.

The engine draws inventories down before any final use goes unmet, so the first month with a
shortage share above ``tol`` is the month the inventory of the sector's scarcest input ran
out. With many draws (Monte Carlo: a ``draw`` axis) the result gives quantiles of that month
across draws and the share of draws that stock out within the horizon; draws that never stock
out count as 'after the horizon' (so a median can be 'none').
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

if TYPE_CHECKING:
    from rareflow.engine.result import RunResult
    from rareflow.model.compiled import CompiledNetwork

TOL = 1e-3  # shortage share that counts as a stock-out
QUANTILES = (0.1, 0.5, 0.9)


def _dataset(result: RunResult | xr.Dataset) -> xr.Dataset:
    """rareflow's own form of the run's arrays (``rareflow.run`` hands out datetime months)."""
    from rareflow.engine.dims import internal

    return internal(result if isinstance(result, xr.Dataset) else result.dataset)


def first_short(share: xr.DataArray, tol: float = TOL) -> xr.DataArray:
    """(draw, region, sector) index of the first month with share > tol; inf when none."""
    short = (share > tol).transpose("draw", "month", ...)
    first = short.argmax("month").astype(float)
    return first.where(short.any("month"), np.inf)


def _label(months: Sequence[str], index: float) -> str:
    return months[int(index)] if np.isfinite(index) else f"none by {months[-1]}"


def stockout(
    result: RunResult | xr.Dataset,
    *,
    tol: float = TOL,
    quantiles: Sequence[float] = QUANTILES,
    network: CompiledNetwork | None = None,
    include_all: bool = False,
) -> pd.DataFrame:
    """Per region and sector: the stock-out month (median over draws), its quantiles when
    there are several draws, the share of draws that stock out and the peak shortage share.

    With ``network`` the sector's input that runs out is named (``input``). Rows that never
    stock out in any draw are left out unless ``include_all``. Earliest first.
    """
    ds = _dataset(result)
    months = [str(m) for m in ds["month"].values]
    first = first_short(ds["shortage_share"], tol)  # (draw, region, sector)
    values = first.values
    n_draws = values.shape[0]
    frame = first.isel(draw=0, drop=True).to_series().reset_index()[["region", "sector"]]
    median = np.quantile(values, 0.5, axis=0, method="inverted_cdf").ravel()
    frame["stockout_month"] = [_label(months, v) for v in median]
    if n_draws > 1:
        for q in (q for q in quantiles if q != 0.5):  # the median is stockout_month
            at = np.quantile(values, q, axis=0, method="inverted_cdf").ravel()
            frame[f"p{round(100 * q)}"] = [_label(months, v) for v in at]
    frame["share_of_draws"] = np.isfinite(values).mean(axis=0).ravel()
    frame["peak_shortage_share"] = ds["shortage_share"].max("month").mean("draw").values.ravel()
    if network is not None:
        frame["input"] = scarcest_inputs(network, ds, frame, median)
    frame["_order"] = median
    if not include_all:
        frame = frame[frame["share_of_draws"] > 0]
    frame = frame.sort_values(
        ["_order", "share_of_draws", "peak_shortage_share"], ascending=[True, False, False]
    )
    return frame.drop(columns="_order").reset_index(drop=True)


def scarcest_inputs(
    net: CompiledNetwork, ds: xr.Dataset, frame: pd.DataFrame, month: np.ndarray
) -> list[str]:
    """For each (region, sector) row: the sector's input product with the largest shortage
    fraction in ``month`` (the median stock-out month; the horizon's peak when none)."""
    demand = ds["demand"].mean("draw")
    frac = (ds["shortage"].mean("draw") / demand.where(demand > 0)).fillna(0.0)
    out = []
    for (region, sector), t in zip(
        frame[["region", "sector"]].itertuples(index=False), month, strict=True
    ):
        uses = net.kg_per_unit[net.sectors.index(str(sector))] > 0
        products = [p for p, u in zip(net.products, uses, strict=True) if u]
        if not products:
            out.append("")
            continue
        cells = frac.sel(region=region, product=products)
        by_product = cells.isel(month=int(t)) if np.isfinite(t) else cells.max("month")
        out.append(products[int(np.argmax(by_product.values))])
    return out
