"""Concentration along a run: each stage's regional shares month by month, as capacity
projects ramp in and policy moves production.

A stage's quantity in a region is the run's production of the stage's products (t/month;
mining in t REO); ``heavy_separation`` and an ``element`` count element content instead, as in
``rareflow.analytics.shares`` (which works on the dataset's process activity per year).
Draws are averaged. ``stored_array`` rebuilds a run's array from the results store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd
import xarray as xr

from rareflow.analytics.concentration import hhi, top_share
from rareflow.analytics.shares import STAGES, check_element, check_stage, heavy_elements
from rareflow.errors import UserInputError

if TYPE_CHECKING:
    from rareflow.data.network import Network
    from rareflow.io.store import ResultStore

_PRODUCT_STAGE = {"heavy_separation": "separation"}


def stored_array(
    store: ResultStore,
    run_id: str,
    metric: str,
    second: str,
    coords: Mapping[str, Sequence[str]] | None = None,
) -> xr.DataArray:
    """(draw, month, region, ``second``) of a stored run's metric; ``second`` names the
    dimension the tidy 'product' column holds. The store drops exact zeros: every month of the
    run, and the labels in ``coords`` (e.g. the network's regions), come back as 0."""
    frame = store.results(run_id, metric)
    series = frame.set_index(["draw", "month", "region", "product"])["value"]
    array = xr.DataArray.from_series(series.groupby(level=[0, 1, 2, 3]).sum())
    array = array.rename({"product": second}).reindex(month=store.months(run_id))
    for dim, labels in (coords or {}).items():
        if dim in array.dims:
            array = array.reindex({dim: list(labels)})
    return array.fillna(0.0).assign_coords(month=[str(m) for m in array["month"].values])


def _weights(network: Network, stage: str, element: str | None) -> pd.Series:
    """Per product: what one tonne of it counts for at ``stage`` (1, or element content)."""
    products = network.tables["products"]
    stage_products = products.loc[products["stage"] == _PRODUCT_STAGE.get(stage, stage), "product"]
    weights = pd.Series(1.0, index=stage_products.astype(str))
    elements = [element] if element else heavy_elements(network)
    if element is None and stage != "heavy_separation":
        return weights
    contents = network.tables["contents"]
    contents = contents[contents["element"].isin(elements)]
    fraction = pd.to_numeric(contents["mass_fraction"]).groupby(contents["product"]).sum()
    return (weights * fraction.reindex(weights.index).fillna(0.0)).loc[lambda w: w > 0]


def _row(month: str, stage: str, element: str | None, tonnes: pd.Series) -> dict[str, object]:
    tonnes = tonnes[tonnes > 0]
    return {
        "month": month,
        "stage": stage,
        "element": element or "all",
        "hhi": hhi(tonnes),
        "top1_region": str(tonnes.idxmax()),
        "top1_share": top_share(tonnes, 1),
        "top3_share": top_share(tonnes, 3),
        "tonnes": float(tonnes.sum()),
    }


def pick_months(months: list[str], every: int) -> list[str]:
    """Every ``every``-th month from the first, and the last."""
    if every < 1:
        raise UserInputError("--every must be at least 1", value=every)
    return list(dict.fromkeys([*months[::every], months[-1]]))


def run_concentration(
    production: xr.DataArray,
    network: Network,
    *,
    stage: str | None = None,
    element: str | None = None,
    every: int = 6,
) -> pd.DataFrame:
    """HHI (0-1) and top-1/top-3 shares per stage and month along a run's production
    (draw, month, region, product)."""
    stages = [check_stage(stage)] if stage else list(STAGES)
    if element is not None:
        check_element(network, element)
    made = production.mean("draw") if "draw" in production.dims else production
    months = pick_months([str(m) for m in made["month"].values], every)
    rows = []
    for name in stages:
        weights = _weights(network, name, element)
        cols = [p for p in weights.index if p in made["product"].values]
        if not cols:
            continue
        by_region = (
            made.sel(product=cols) * xr.DataArray(weights[cols].to_numpy(), dims="product")
        ).sum("product")
        for month in months:
            tonnes = by_region.sel(month=month).to_series()
            if (tonnes > 0).any():
                rows.append(_row(month, name, element, tonnes))
    if not rows:
        raise UserInputError(
            "nothing is produced at these stages in the run", value=element or stage
        )
    return (
        pd.DataFrame(rows).sort_values(["stage", "month"], key=_stage_order).reset_index(drop=True)
    )


def _stage_order(column: pd.Series) -> pd.Series:
    return column.map(STAGES.index) if column.name == "stage" else column


def hhi_change(frame: pd.DataFrame) -> pd.DataFrame:
    """Per stage: HHI and top-1 share in the first and last month shown, and the change."""
    rows = []
    for stage, group in frame.groupby("stage", sort=False):
        first, last = group.iloc[0], group.iloc[-1]
        rows.append(
            {
                "stage": stage,
                "from": first["month"],
                "to": last["month"],
                "hhi_from": first["hhi"],
                "hhi_to": last["hhi"],
                "hhi_change": last["hhi"] - first["hhi"],
                "top1_region": last["top1_region"],
                "top1_share_to": last["top1_share"],
            }
        )
    return pd.DataFrame(rows)
