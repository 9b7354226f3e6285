"""Running a deal's draws: one batch for both arms (or every grid point), and the measures
every report reads off it, per draw over the deal's months."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from rareflow.deals.arms import Arms
from rareflow.engine.parameters import resolve_parameters
from rareflow.engine.result import to_dataset
from rareflow.engine.simulate import simulate
from rareflow.model.compiled import CompiledNetwork, compile_network
from rareflow.scenarios.model import Scenario

CHINA = "CHN"
OUTPUTS = ("shipments", "production", "demand", "value_lost", "value_deferred", "price")
KG_PER_T = 1000.0


@dataclass
class Batch:
    arms: Arms
    compiled: CompiledNetwork
    ds: xr.Dataset  # the deal's months only; draw 0 the no-deal arm, then the deal's draws


def _run(
    arms: Arms,
    compiled: CompiledNetwork,
    scenario: Scenario,
    draws: int,
    values: dict[str, np.ndarray] | None,
    kernel: str | None,
) -> xr.Dataset:
    params = resolve_parameters(compiled.parameters, scenario.parameters)
    raw = simulate(compiled, scenario, params, draws=draws, values=values,
                   outputs=list(OUTPUTS), kernel=kernel)  # fmt: skip
    ds = to_dataset(raw, compiled)
    return ds.sel(month=[m for m in ds["month"].values if str(m) >= arms.deal.start])


def run_batch(
    arms: Arms,
    draws: int = 1,
    values: dict[str, np.ndarray] | None = None,
    kernel: str | None = None,
) -> Batch:
    """The no-deal arm (draw 0) and ``draws`` draws of the deal arm, run as one batch with
    ``values`` (per-draw attributes of the terms: a grid's concession levels)."""
    compiled = compile_network(arms.network)
    base = _run(arms, compiled, arms.no_deal, 1, None, "numpy")
    deal = _run(arms, compiled, arms.with_deal, draws, values, kernel)
    ds = xr.concat([base, deal], dim="draw", data_vars="all", coords="minimal", join="exact")
    return Batch(arms, compiled, ds.assign_coords(draw=np.arange(draws + 1)))


def china_exports(b: Batch) -> xr.DataArray:
    """(draw, month, product, partner) t/month shipped by China."""
    ship = b.ds["shipments"].sel(region=CHINA)
    return ship.where(ship["partner"] != CHINA, 0.0)


def export_revenue(b: Batch) -> xr.DataArray:
    """(draw,) USD over the months: China's exports at China's domestic price."""
    price = b.ds["price"].sel(market="china")
    return (china_exports(b).sum("partner") * price * KG_PER_T).sum(["month", "product"])


def value_lost(b: Batch, regions: list[str], what: str = "value_lost") -> xr.DataArray:
    """(draw, region) USD of output lost over the months (``what="value_deferred"``: stopped
    and made up later, within ``catchup_months``)."""
    return b.ds[what].sel(region=regions).sum(["month", "sector"])


def leverage(b: Batch) -> xr.DataArray:
    """(draw,) share of ex-China final demand (by value, ex-China prices) met by direct
    imports from China, over the months: how much still depends on China."""
    ds = b.ds
    ex = [r for r in ds["region"].values if r != CHINA]
    ship = ds["shipments"].sel(partner=ex)  # (draw, month, product, region=exporter, partner)
    imports = ship.where(ship["region"] != ship["partner"], 0.0).sum("region")
    supply = ds["production"].sel(region=ex).rename(region="partner") + imports
    from_china = ship.sel(region=CHINA)
    share = (from_china / supply.where(supply > 0)).fillna(0.0).clip(0.0, 1.0)
    weight = ds["demand"].sel(region=ex).rename(region="partner") * ds["price"].sel(
        market="ex_china"
    )
    total = weight.sum(["month", "product", "partner"])
    return (share * weight).sum(["month", "product", "partner"]) / total.where(total > 0)


def flows_restored(b: Batch) -> xr.DataArray:
    """(draw, month, partner) China's shipments (t, all products) over the pre-April-2025
    baseline (the 2024 tables): the London framework's yardstick."""
    net = b.compiled
    c = net.regions.index(CHINA)
    base = xr.DataArray(net.trade0[:, c, :].sum(axis=0), dims=["partner"],
                        coords={"partner": list(net.regions)})  # fmt: skip
    shipped = china_exports(b).sum("product")
    keep = [r for r in net.regions if r != CHINA and base.sel(partner=r) > 0]
    return (shipped.sel(partner=keep) / base.sel(partner=keep)).transpose(
        "draw", "month", "partner"
    )
