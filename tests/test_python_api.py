"""The Python API an analyst imports: real signatures, and each entry point end to end."""

from __future__ import annotations

import inspect

import pandas as pd
import pytest
import xarray as xr

import rareflow
from rareflow.errors import UserInputError


@pytest.mark.parametrize("name", ["run", "montecarlo", "compare", "exposure", "load_scenario"])
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
