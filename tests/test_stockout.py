"""Stock-out months per region and sector, and their distribution over Monte Carlo draws."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from rareflow.analytics.stockout import first_short, stockout
from rareflow.data.network import load_network
from rareflow.engine.parameters import resolve_parameters
from rareflow.engine.result import to_dataset
from rareflow.engine.run import run
from rareflow.engine.simulate import simulate
from rareflow.model.compiled import compile_network
from rareflow.scenarios.load import load_scenario

MONTHS = ["2026-11", "2026-12", "2027-01", "2027-02", "2027-03"]


def shares(first: dict[tuple[int, str, str], int | None]) -> xr.Dataset:
    """A dataset whose shortage share turns 0.5 from the given month index (None: never)."""
    regions, sectors = ["DEU", "JPN"], ["ev_traction", "wind"]
    draws = 1 + max(d for d, _, _ in first)
    data = np.zeros((draws, len(MONTHS), len(regions), len(sectors)))
    for (d, region, sector), t in first.items():
        if t is not None:
            data[d, t:, regions.index(region), sectors.index(sector)] = 0.5
    coords = {"draw": np.arange(draws), "month": MONTHS, "region": regions, "sector": sectors}
    share = xr.DataArray(data, dims=("draw", "month", "region", "sector"), coords=coords)
    return xr.Dataset({"shortage_share": share})


def test_single_draw_gives_the_first_month_of_shortage() -> None:
    ds = shares({(0, "DEU", "wind"): 3, (0, "JPN", "ev_traction"): 1})
    frame = stockout(ds)
    assert list(zip(frame["region"], frame["sector"], frame["stockout_month"], strict=True)) == [
        ("JPN", "ev_traction", "2026-12"),
        ("DEU", "wind", "2027-02"),
    ]
    assert "p10" not in frame and (frame["share_of_draws"] == 1.0).all()
    every = stockout(ds, include_all=True)
    assert len(every) == 4
    assert every["stockout_month"].iloc[-1] == "none by 2027-03"


def test_draws_give_quantiles_and_the_share_that_stock_out() -> None:
    first = {(0, "DEU", "wind"): 1, (1, "DEU", "wind"): 2, (2, "DEU", "wind"): 4}
    first |= {(3, "DEU", "wind"): None, (4, "DEU", "wind"): 2}
    frame = stockout(shares(first)).set_index(["region", "sector"])
    row = frame.loc[("DEU", "wind")]
    assert row["p10"] == "2026-12"
    assert row["stockout_month"] == "2027-01"  # median of 1, 2, 2, 4, never
    assert row["p90"] == "none by 2027-03"
    assert row["share_of_draws"] == pytest.approx(0.8)
    assert first_short(shares(first)["shortage_share"]).sel(region="DEU", sector="wind").values[
        3
    ] == float("inf")


def test_tolerance() -> None:
    ds = shares({(0, "DEU", "wind"): 0})
    assert stockout(ds, tol=0.6).empty
    assert len(stockout(ds, tol=0.1)) == 1


def test_engine_run_with_many_draws() -> None:
    """Lower licence approval (draw 0) runs out no later, and in no fewer places, than higher."""
    net = load_network()
    compiled = compile_network(net)
    scenario = load_scenario("reimpose-oct-2025", net)
    params = resolve_parameters(compiled.parameters, scenario.parameters)
    values = {
        f"{p}.approval_share": np.array([0.05, 0.95])
        for p in ("april-2025-licence", "oct-2025-content-rule")
    }
    raw = simulate(compiled, scenario, params, draws=2, months=12, values=values)
    ds = to_dataset(raw, compiled)
    first = first_short(ds["shortage_share"]).values
    assert np.isfinite(first[0]).sum() >= np.isfinite(first[1]).sum()
    frame = stockout(ds, network=compiled)
    assert {"p10", "p90", "share_of_draws", "input"} <= set(frame)
    assert set(frame["share_of_draws"]) <= {0.5, 1.0}
    wind = frame[(frame["region"] == "DEU") & (frame["sector"] == "wind")]
    assert wind["input"].tolist() in (["ndfeb_sintered"], [])


def test_run_result_and_baseline() -> None:
    result = run("baseline", months=6)
    assert stockout(result).empty  # no policy, no stock-out
    shocked = stockout(run("reimpose-oct-2025", months=12))
    assert not shocked.empty and "p10" not in shocked
    assert shocked["stockout_month"].str.match(r"\d{4}-\d{2}$").all()
