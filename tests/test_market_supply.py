"""What an exporter can offer rerouted orders (``market.spare_supply``, issue 18): stock
above target plus what idle capacity can make from surplus inputs, never idle nameplate
capacity with nothing to feed it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from rareflow.data.network import load_network
from rareflow.engine import market
from rareflow.engine.numeric import AT_TARGET_SHARE
from rareflow.engine.static import Static, build_static
from rareflow.model.compiled import compile_network


@pytest.fixture(scope="module")
def static() -> Static:
    return build_static(compile_network(load_network()))


METALS = ("ndpr_metal", "dy_metal", "tb_metal")
OXIDES = ("ndpr_oxide", "dy_oxide", "tb_oxide")


def month_flows(
    static: Static, surplus_t: float, region: str = "DEU", products: tuple = METALS
) -> Any:
    """One draw's end-of-month flows: every stock at target, every plant idle at half its
    capacity, and ``region`` holding ``surplus_t`` of each of ``products`` above target."""
    net = static.net
    n_r, n_p = len(net.regions), len(net.products)
    target = np.full((1, n_r, n_p), 100.0)
    stock = target.copy()
    for name in products:
        stock[0, net.regions.index(region), net.products.index(name)] += surplus_t
    capacity = net.capacity[None].copy()
    return SimpleNamespace(stock_end=stock, target=target, capacity=capacity,
                           activity=0.5 * capacity)  # fmt: skip


def magnets_offered(static: Static, flows: Any, region: str) -> float:
    net = static.net
    spare = market.spare_supply(static, flows)
    return float(spare[0, net.regions.index(region), net.products.index("ndfeb_sintered")])


def test_idle_magnet_plants_without_feed_offer_nothing(static: Static) -> None:
    # stocks at target: the idle half of Germany's magnet plants has no metal to run on
    assert magnets_offered(static, month_flows(static, 0.0), "DEU") == 0.0


def test_idle_plants_offer_what_their_surplus_inputs_can_make(static: Static) -> None:
    net = static.net
    k = net.processes.index("make_sintered")
    deu = net.regions.index("DEU")
    idle_t = 0.5 * float(net.capacity[deu, k])
    recipe = net.recipe_in[k]
    scarce = recipe[net.products.index("ndpr_metal")]  # the input that binds first
    little = magnets_offered(static, month_flows(static, 0.1 * idle_t * scarce), "DEU")
    plenty = magnets_offered(static, month_flows(static, 10.0 * idle_t * scarce), "DEU")
    yield_t = float(net.recipe_out[k, net.products.index("ndfeb_sintered")])
    assert little == pytest.approx(0.1 * idle_t * yield_t, rel=1e-4)  # limited by the metal surplus
    assert plenty == pytest.approx(idle_t * yield_t)  # limited by the idle capacity


def test_mines_need_no_feed(static: Static) -> None:
    net = static.net
    flows = month_flows(static, 0.0)
    spare = market.spare_supply(static, flows)
    k = net.processes.index("mine_light")
    p = net.products.index("concentrate_light")
    made = (flows.capacity - flows.activity)[0, :, k] * net.recipe_out[k, p]
    assert np.all(spare[0, :, p] >= made * (1.0 - 1e-12))


def test_round_off_is_no_spare_supply(static: Static) -> None:
    """A stock exported to zero leaves 1e-13 t, a plant at full load 1e-13 t of idle capacity:
    neither is spare supply (either drew an importer's whole moved share, on one of the numpy
    and compiled paths and not the other)."""
    net = static.net
    aus, p = net.regions.index("AUS"), net.products.index("concentrate_light")
    flows = month_flows(static, 0.0)
    flows.activity = flows.capacity * (1.0 - 1e-15)  # every plant at full load, to round-off
    flows.stock_end[0, aus, p] = flows.target[0, aus, p] * (1.0 + AT_TARGET_SHARE) + 4.5e-13
    assert not market.spare_supply(static, flows).any()
    flows.stock_end[0, aus, p] += 1.0  # a tonne is spare
    assert market.spare_supply(static, flows)[0, aus, p] == pytest.approx(1.0, rel=1e-6)


def test_idle_plants_down_the_chain_feed_each_other(static: Static) -> None:
    # Vietnam's idle metal plants turn its spare oxide into metal for its idle magnet plants;
    # with no spare oxide, neither offers anything
    net = static.net
    assert magnets_offered(static, month_flows(static, 0.0, "VNM", OXIDES), "VNM") == 0.0
    fed = month_flows(static, 1000.0, "VNM", OXIDES)
    spare = market.spare_supply(static, fed)
    vnm = net.regions.index("VNM")
    metal = spare[0, vnm, net.products.index("ndpr_metal")]
    assert metal > 0.0
    assert magnets_offered(static, fed, "VNM") > 0.0
