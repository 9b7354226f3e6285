"""The Python API an analyst imports: real signatures, and each entry point end to end."""

from __future__ import annotations

import inspect
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr

import rareflow
from rareflow.errors import UserInputError


@pytest.mark.parametrize(
    "name", ["run", "montecarlo", "compare", "exposure", "load_scenario", "forecast", "backtest"]
)
def test_entry_points_have_real_signatures_and_docs(name: str) -> None:
    fn = getattr(rareflow, name)
    params = inspect.signature(fn).parameters
    assert not any(p.kind is p.VAR_KEYWORD for p in params.values())  # no **kwargs
    assert fn.__doc__ and len(fn.__doc__) > 80


def test_run_compare_montecarlo_exposure() -> None:
    base = rareflow.run("baseline", months=4)
    shock = rareflow.run("reimpose-oct-2025", months=4, parameters={"rerouting_months": 3.0})
    assert isinstance(shock.dataset, xr.Dataset)
    assert shock.scenario.parameters["rerouting_months"] == 3.0
    comparison = rareflow.compare(base, shock)
    assert isinstance(comparison.sectors, pd.DataFrame) and not comparison.prices.empty
    mc = rareflow.montecarlo("reimpose-oct-2025", 64, months=3, seed=1)
    assert mc.draws == 64 and not mc.horizon().empty
    parts = rareflow.exposure("example", "reimpose-oct-2025").parts
    assert len(parts) > 0 and "part" in parts


def test_parameters_outside_their_range_are_refused() -> None:
    with pytest.raises(UserInputError, match="demand_elasticity"):
        rareflow.run("baseline", months=2, parameters={"demand_elasticity": -1.0})


def test_months_are_datetimes_and_shipments_name_exporter_and_importer() -> None:
    result = rareflow.run("reimpose-oct-2025", months=3)
    ds = result.dataset
    assert ds["month"].dtype.kind == "M"  # datetime64
    assert str(ds["month"].values[0])[:10] == f"{result.tidy()['month'].min()}-01"
    ships = ds["shipments"]
    assert ships.dims == ("draw", "month", "product", "exporter", "importer")
    from_china = ships.sel(exporter="CHN").sum()
    assert float(from_china) > 0 and "partner" not in ds.dims
    assert ds["production"].dims == ("draw", "month", "region", "product")
    # the methods and the store read the analyst's form as well as rareflow's own
    # units short: in three months no shortfall has outlived its catch-up window (lost)
    assert result.summary()["units_not_built"].sum() > 0
    assert set(result.peak_prices()["peak_month"]) <= set(result.tidy()["month"])
    tidy = result.tidy("shipments")
    assert "CHN" in set(tidy["region"]) and tidy["partner"].ne("").all()


def test_monte_carlo_statistics_as_xarray_with_datetime_months() -> None:
    mc = rareflow.montecarlo("reimpose-oct-2025", 16, months=3, seed=2)
    ds = mc.to_dataset()
    assert ds["month"].dtype.kind == "M" and ds.sizes["month"] == 3
    band = ds["value_lost"].sel(stat=["p5", "p50", "p95"]).sum(["region", "sector"])
    assert (band.sel(stat="p5") <= band.sel(stat="p95") + 1e-9).all()
    q = mc.quantiles("value_lost")
    assert float(ds["value_lost"].sel(stat="mean").sum()) == pytest.approx(q["mean"].sum())


def test_analytics_take_the_analysts_form_of_a_run() -> None:
    """A run from ``rareflow.run`` (datetime months) feeds the exposure and stock-out
    analytics as a run of the engine does."""
    from rareflow.analytics.bom import EXAMPLE, read_bom
    from rareflow.analytics.exposure import exposure
    from rareflow.analytics.stockout import first_short

    network = rareflow.load_baseline()
    scenario = rareflow.load_scenario("reimpose-oct-2025", network)
    result = rareflow.run(scenario, months=3)
    report = exposure(read_bom(EXAMPLE, network), scenario, network, result=result)
    assert report.months[0] == "2026-11" and len(report.parts) == 6
    first = first_short(result.dataset["shortage_share"])
    assert first.dims == ("draw", "region", "sector")


def test_forecast_scores_later_figures_given_as_a_plain_csv(tmp_path: Path) -> None:
    later = tmp_path / "later.csv"
    later.write_text("month,destination,tonnes\n2025-10,World,5000\n", encoding="utf-8")
    fc = rareflow.forecast("2025-11", draws=4, observed=later)
    assert fc.fitted_through == "2025-09"
    assert set(fc.rows["month"]) == {"2025-10", "2025-11"}
    (world,) = [s for s in fc.scores if s["destination"] == "World"]
    assert world["months"] == 1 and world["mape_point"] >= 0.0
    later_trace = [t for t in fc.figure().data if t.name == "observed (later)" and len(t.x)]
    assert [list(t.x) for t in later_trace] == [["2025-10"]]


def test_backtest_in_a_notebook() -> None:
    bt = rareflow.backtest(origins=())
    world = bt.rows[bt.rows["destination"] == "World"]
    assert world["month"].iloc[0] == "2024-01" and world["observed_tonnes"].notna().sum() >= 12
    (world_skill,) = [s for s in bt.summary if s["destination"] == "World"]
    assert world_skill["in_sample_mape"] < world_skill["in_sample_persistence_mape"]
    assert bt.summary_table()["destination"].iloc[0] == "World"
    assert bt.stoppages is not None and len(bt.stoppages.events) == 14
    charts = {t.xaxis for t in bt.figure().data}
    assert len(charts) == bt.rows["destination"].nunique()
