"""The loss accounting (docs/losses.md): units counted once (the scarcest input decides),
own lines adding up, catch-up within a window at spare capacity, value added, platforms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import tiny_tables
from rareflow.data.network import Network
from rareflow.data.validate import validate_network
from rareflow.engine.state import NO_ORIGINS, initial_state
from rareflow.engine.static import build_static
from rareflow.engine.step import sector_losses
from rareflow.errors import UserInputError
from rareflow.model.compiled import compile_network
from rareflow.model.losses import platform_mix

A = ("assumption", "", "test")
USA, EV, WIND = 1, 0, 1  # region and sector indices of the tiny network
SINTERED, NDPR_METAL, DY_METAL = 5, 3, 4  # product indices


def tables() -> dict[str, pd.DataFrame]:
    """The tiny network plus a second input of the US EV unit (Dy metal, 0.06 kg a car), an
    own line in wind (1 kg of NdPr metal per unit, USD 100) and value-added shares."""
    t = tiny_tables()
    extra_demand = pd.DataFrame(
        [("USA", "ev_traction", "dy_metal", 2024, 1.2, *A),
         ("USA", "wind", "ndpr_metal", 2024, 12.0, *A)],
        columns=t["demand"].columns,
    )  # fmt: skip
    t["demand"] = pd.concat([t["demand"], extra_demand], ignore_index=True)
    t["intensities"]["unit_basis"] = "sector"
    extra = pd.DataFrame(
        [("ev_traction", "dy_metal", 0.06, 40000.0, *A, "sector"),
         ("wind", "ndpr_metal", 1.0, 100.0, *A, "own")],
        columns=t["intensities"].columns,
    )  # fmt: skip
    t["intensities"] = pd.concat([t["intensities"], extra], ignore_index=True)
    t["value_added"] = pd.DataFrame(
        [(r, s, 0.2 if s == "ev_traction" else 0.5, *A)
         for r in ("CHN", "USA", "AUS") for s in ("ev_traction", "wind")],
        columns=["region", "sector", "value_added_share", "provenance", "source_url", "note"],
    )  # fmt: skip
    return t


@pytest.fixture(scope="module")
def static():
    net = Network(tables=tables(), source="tiny + losses")
    validate_network(net)
    return build_static(compile_network(net))


def month(static, state, fills: dict[int, float], rate: float = 0.1, window: float = 2.0):
    """One month of ``sector_losses`` in the US at trend 1, with the given product fills."""
    fill = np.ones((1, 3, 6))
    for p, f in fills.items():
        fill[0, USA, p] = f
    prm = {"catchup_rate": rate, "catchup_months": window}
    return sector_losses(static, np.ones((1, 3, 6)), fill, state, prm)


def test_the_scarcest_input_decides_and_catch_up_settles_by_hand(static):
    state = initial_state(static, 1, 2026 * 12, 0.0, NO_ORIGINS, 1.0, window=2.0)
    cars = 200.0 / 12 * 1000 / 2.0  # US EV units a month: 8,333 (sintered, 2 kg a car)
    # month 1: sintered 90% there, Dy metal 60%: 40% of the cars are not built, not 10% + 40%
    first = month(static, state, {SINTERED: 0.9, DY_METAL: 0.6, NDPR_METAL: 0.5})
    short = 0.4 * cars
    assert first.units_short[0, USA, EV] == pytest.approx(short)
    assert first.units_lost[0, USA, EV] == 0.0 and first.units_deferred[0, USA, EV] == 0.0
    # wind: its unit (sintered, 10% short) plus its own line (NdPr metal, 1 t/month, half short)
    turbines = 50.0 / 12 * 1000 / 600.0
    assert first.units_short[0, USA, WIND] == pytest.approx(0.1 * turbines + 0.5 * 1000.0)
    # month 2: all supplied; spare capacity 10% of 8,333 catches up 833 of the 3,333
    second = month(static, state, {})
    assert second.units_deferred[0, USA, EV] == pytest.approx(0.1 * cars)
    assert second.value_deferred[0, USA, EV] == pytest.approx(0.1 * cars * 40000 * 0.2)
    assert second.units_lost[0, USA, EV] == 0.0
    # month 3: another 833 caught up, then the window (2 months) closes on the rest
    third = month(static, state, {})
    assert third.units_deferred[0, USA, EV] == pytest.approx(0.1 * cars)
    lost = short - 0.2 * cars
    assert third.units_lost[0, USA, EV] == pytest.approx(lost)
    assert third.gross_lost[0, USA, EV] == pytest.approx(lost * 40000)
    assert third.value_lost[0, USA, EV] == pytest.approx(lost * 40000 * 0.2)
    assert state.backlog_units.sum() == pytest.approx(0.0, abs=1e-9)


def test_a_window_of_zero_loses_at_once(static):
    state = initial_state(static, 1, 2026 * 12, 0.0, NO_ORIGINS, 1.0, window=0.0)
    out = month(static, state, {SINTERED: 0.5}, window=0.0)
    assert out.units_lost[0, USA, EV] == pytest.approx(out.units_short[0, USA, EV])
    assert out.units_short[0, USA, EV] > 0
    assert month(static, state, {}, window=0.0).units_deferred.sum() == 0.0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1)), min_size=1,
             max_size=12),
    st.floats(0, 1),
    st.floats(0, 6),
)  # fmt: skip
def test_units_are_settled_once_within_capacity(fills, rate, window):
    net_static = _STATIC
    state = initial_state(net_static, 1, 2026 * 12, 0.0, NO_ORIGINS, 1.0, window=window)
    short = settled = 0.0
    wanted = 200.0 / 12 * 1000 / 2.0
    for sintered, dy, ndpr in fills:
        out = month(net_static, state, {SINTERED: sintered, DY_METAL: dy, NDPR_METAL: ndpr},
                    rate, window)  # fmt: skip
        for x in out:
            assert np.all(x >= -1e-9)
        s_t = out.units_short[0, USA, EV]
        assert s_t <= wanted * (1 + 1e-12)
        # catch-up at most rate x the units built this month
        assert out.units_deferred[0, USA, EV] <= rate * (wanted - s_t) + 1e-6
        short += s_t
        settled += out.units_lost[0, USA, EV] + out.units_deferred[0, USA, EV]
        assert settled <= short + 1e-6
    pending = state.backlog_units[0, USA, EV].sum()
    assert settled + pending == pytest.approx(short, rel=1e-9, abs=1e-6)


_STATIC = build_static(compile_network(Network(tables=tables(), source="tiny + losses")))


def test_a_platform_mix_sets_the_mean_unit():
    mix = pd.DataFrame(
        {"sector": ["defence"] * 2, "platform": ["jet", "bomb"], "mass_share": [0.5, 0.5],
         "kg_per_unit": [400.0, 0.5], "usd_per_unit": [80e6, 40e3]}
    )  # fmt: skip
    kg, usd = platform_mix(mix)["defence"]
    per_kg = 0.5 / 400 + 0.5 / 0.5  # units a kg of magnets makes
    assert kg == pytest.approx(1 / per_kg)
    assert usd == pytest.approx((0.5 * 80e6 / 400 + 0.5 * 40e3 / 0.5) / per_kg)


def test_platform_shares_must_sum_to_one():
    t = tables()
    t["platforms"] = pd.DataFrame(
        [("wind", "small", 0.4, 100.0, 1e6, *A), ("wind", "large", 0.4, 600.0, 2e6, *A)],
        columns=["sector", "platform", "mass_share", "kg_per_unit", "usd_per_unit",
                 "provenance", "source_url", "note"],
    )  # fmt: skip
    with pytest.raises(UserInputError, match="mass_share"):
        validate_network(Network(tables=t, source="bad mix"))


def test_the_bundled_defence_unit_is_the_platform_mix():
    from rareflow.data.network import load_network

    net = load_network()
    compiled = compile_network(net)
    kg, usd = platform_mix(net.tables["platforms"])["defence"]
    s = compiled.sectors.index("defence")
    used = compiled.kg_per_unit[s] > 0
    assert compiled.kg_per_unit[s].sum() == pytest.approx(kg)
    assert np.allclose(compiled.usd_per_unit[s][used], usd)
    assert usd < 80e6 / 10  # a mean defence unit is no F-35
    va = compiled.value_added_share
    assert np.all((va > 0) & (va < 1))


def test_a_dataset_without_the_optional_tables_runs_at_gross_output(tmp_path):
    from rareflow.data.io import write_tables
    from rareflow.data.network import load_network

    write_tables(load_network(calibrated=False).tables, tmp_path)
    (tmp_path / "platforms.csv").unlink()
    (tmp_path / "value_added.csv").unlink()
    compiled = compile_network(load_network(tmp_path))
    assert np.all(compiled.value_added_share == 1.0)


def test_a_value_added_share_above_one_is_refused_by_name():
    t = tables()
    t["value_added"].loc[0, "value_added_share"] = 1.5
    with pytest.raises(UserInputError) as err:
        validate_network(Network(tables=t, source="bad share"))
    assert "value_added_share" in str(err.value) and "1.5" in str(err.value)
