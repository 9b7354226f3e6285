"""Peer test: the vectorised ARIO step against BoARIO 0.7.2's ``ARIOPsiModel`` on pymrio's
bundled test system, same event and parameters, every step within 1e-6 relative."""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import pytest

pymrio = pytest.importorskip("pymrio")
boario_models = pytest.importorskip("boario.extended_models")
boario_sim = pytest.importorskip("boario.simulation")
boario_event = pytest.importorskip("boario.event")

from rareflow.economy import ario  # noqa: E402

STEPS = 120
RTOL = 1e-6


def _table() -> pymrio.IOSystem:
    table = pymrio.load_test()
    table.calc_all()
    return table


def _boario(table: pymrio.IOSystem, order_type: str, event: pd.Series) -> dict[str, np.ndarray]:
    """BoARIO's trajectories, read off the model after every step, and the capacity loss it
    applied (an arbitrary event reaches capacity one step after its occurrence)."""
    logging.getLogger("boario").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = boario_models.ARIOPsiModel(table, order_type=order_type)
        sim = boario_sim.Simulation(model, n_temporal_units_to_sim=STEPS + 10)
        sim.add_event(
            boario_event.EventArbitraryProd(
                impact=event, recovery_tau=40, occurrence=5, duration=30
            )
        )
        out: dict[str, list[np.ndarray]] = {
            k: [] for k in ("production", "overprod", "orders", "stock", "delta")
        }
        for _ in range(STEPS):
            sim.next_step()
            out["production"].append(model.production.copy())
            out["overprod"].append(model.overprod.copy())
            out["orders"].append(model.intermediate_demand_tot.copy())
            out["stock"].append(model.inputs_stock.copy())
            out["delta"].append(model.prod_cap_delta_tot.copy())
    result = {k: np.array(v) for k, v in out.items()}
    result["x0"] = model.X_0
    return result


def _ours(table: pymrio.IOSystem, order_type: str, deltas: np.ndarray,
          dtype: str = "float64") -> dict[str, np.ndarray]:  # fmt: skip
    z = table.Z.sort_index().sort_index(axis=1)
    y = table.Y.sort_index().sum(axis=1)
    regions, sectors = len(table.get_regions()), len(table.get_sectors())
    params = ario.Params(order_type=order_type)
    st = ario.static(z.to_numpy(), y.to_numpy(), regions, sectors, params)
    out: dict[str, list[np.ndarray]] = {
        k: [] for k in ("production", "overprod", "orders", "stock")
    }
    for state, _ in ario.simulate(st, deltas[:, None, :], 1, params, dtype=dtype):
        out["production"].append(state.production[0])
        out["overprod"].append(state.overprod[0])
        out["orders"].append(state.orders[0])
        out["stock"].append(state.inventories(st)[:, 0, :])  # a copy: the buffer is reused
    return {k: np.array(v) for k, v in out.items()}


def _event(table: pymrio.IOSystem) -> pd.Series:
    index = pd.MultiIndex.from_tuples(
        [("reg1", "manufactoring"), ("reg2", "mining"), ("reg3", "electricity")],
        names=["region", "sector"],
    )
    return pd.Series([0.3, 0.5, 0.2], index=index)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("order_type", ["alt", "noalt"])
def test_trajectories_match_boario(order_type: str, dtype: str) -> None:
    """float64 (the default) and the float32 state alike (measured: 1e-15 and 1.5e-7)."""
    table = _table()
    theirs = _boario(table, order_type, _event(table))
    assert theirs["delta"].max() == pytest.approx(0.5)  # the event did reach capacity
    ours = _ours(table, order_type, theirs["delta"], dtype)
    moved = np.abs(theirs["production"] / theirs["x0"] - 1).max()
    assert moved > 0.05  # the comparison covers a real disruption, not a steady state
    for key in ("production", "overprod", "orders", "stock"):
        np.testing.assert_allclose(ours[key], theirs[key], rtol=RTOL, atol=0, err_msg=key)


def test_draws_are_independent() -> None:
    """Two draws in one pass give each draw's single-draw trajectory."""
    table = _table()
    theirs = _boario(table, "alt", _event(table))
    z = table.Z.sort_index().sort_index(axis=1).to_numpy()
    y = table.Y.sort_index().sum(axis=1).to_numpy()
    st = ario.static(z, y, 6, 8)
    deltas = np.stack([theirs["delta"], 0.5 * theirs["delta"]], axis=1)
    both = [s.production.copy() for s, _ in ario.simulate(st, deltas, 2)]
    half = [s.production[0].copy() for s, _ in ario.simulate(st, deltas[:, 1:2], 1)]
    np.testing.assert_allclose(np.array(both)[:, 0], theirs["production"], rtol=RTOL)
    np.testing.assert_allclose(np.array(both)[:, 1], np.array(half), rtol=1e-12)


def test_fused_passes_agree_with_the_numpy_step() -> None:
    """The compiled elementwise passes and the numpy reference step, several draws."""
    table = _table()
    z = table.Z.sort_index().sort_index(axis=1).to_numpy()
    y = table.Y.sort_index().sum(axis=1).to_numpy()
    st = ario.static(z, y, 6, 8)
    rng = np.random.default_rng(3)
    delta = np.zeros((3, 48))
    delta[:, rng.choice(48, 6, replace=False)] = rng.uniform(0.1, 0.6, (3, 6))
    a = b = ario.initial(st, 3)
    moved = 0.0
    for k in range(60):
        shock = delta if 5 <= k < 30 else np.zeros_like(delta)
        a = ario.step(st, a, shock, fused=True)
        b = ario.step(st, b, shock, fused=False)
        moved = max(moved, float(np.abs(a.production / st.x0 - 1).max()))
        for name in ("production", "orders", "overprod", "stock", "w"):
            np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-12,
                                       err_msg=f"{name} at step {k}")  # fmt: skip
    assert moved > 0.05  # a real disruption
