"""Product exposure of a BOM: which measures catch a part, when it runs short, alternatives."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from rareflow.analytics.bom import EXAMPLE, read_bom, validate_bom
from rareflow.analytics.exposure import draw_down, exposure
from rareflow.data.network import Network, load_network
from rareflow.engine.result import RunResult
from rareflow.engine.run import run
from rareflow.policies.instruments import approved_share, resolve_calibrated
from rareflow.scenarios.load import load_scenario
from rareflow.scenarios.model import Scenario

Case = tuple[Scenario, RunResult]
HEADER = (
    "product,part,quantity_per_unit,unit,part_type,supplier_country,inventory_months,"
    "sector,plant_country,origin_share,content_Dy"
)


@pytest.fixture(scope="module")
def network() -> Network:
    return load_network()


@pytest.fixture(scope="module")
def reimpose(network: Network) -> Case:
    scenario = load_scenario("reimpose-oct-2025", network)
    return scenario, run(scenario, network=network)


def bom_of(rows: list[str], network: Network) -> pd.DataFrame:
    """A raw BOM frame (text cells), as read from a CSV file."""
    text = io.StringIO("\n".join([HEADER, *rows]))
    return pd.read_csv(text, dtype=str, keep_default_na=False)


def parts(rows: list[str], network: Network, case: Case) -> pd.DataFrame:
    bom = validate_bom(bom_of(rows, network), network)
    scenario, result = case
    return exposure(bom, scenario, network, result=result).parts.set_index("part")


def test_chinese_dy_magnet_is_caught_by_the_licence(network: Network, reimpose: Case) -> None:
    frame = parts(
        [
            "motor,rotor,2,kg,ndfeb_sintered,CHN,0,ev_traction,DEU,,",
            "motor,sensor,20,g,ndfeb_bonded,CHN,0,ev_traction,DEU,,",
        ],
        network,
        reimpose,
    )
    rotor = frame.loc["rotor"]
    assert "april-2025-licence" in rotor["caught_by"]
    share = network.parameter("licence_approval_share")  # the scenario says `calibrated`
    assert f"{share:.0%} approved" in rotor["caught_by"]
    assert "ramping up over" in rotor["caught_by"]
    assert "Dy 0.90%" in rotor["controlled_content"]
    assert rotor["first_shortage"] == "2026-11"  # no stock: the first month is short
    # ... by what the licence does not approve in its first month (lead time, then the ramp)
    licence = next(p for p in reimpose[0].policies if p.id == "april-2025-licence")
    fitted = {k: float(v) for k, v in network.tables["parameters"][["name", "value"]].values}
    first = approved_share(resolve_calibrated(licence, fitted), 0, {})
    assert rotor["share_at_risk"] == pytest.approx(1.0 - first)
    assert frame.loc["sensor", "caught_by"] == "none"  # bonded NdFeB holds no controlled element
    assert frame.loc["sensor", "first_shortage"].startswith("none by")


@pytest.mark.parametrize(
    ("dy", "origin", "caught"),
    [("0.002", "1", True), ("0.0005", "1", False), ("0.002", "0.4", False), ("0.002", "0.5", True)],
)
def test_content_rule_catches_only_at_or_above_the_threshold(
    network: Network, reimpose: Case, dy: str, origin: str, caught: bool
) -> None:
    frame = parts(
        [f"pump,magnet,1,kg,custom,JPN,0,industrial_motors,USA,{origin},{dy}"], network, reimpose
    )
    text = frame.loc["magnet", "caught_by"]
    assert ("oct-2025-content-rule" in text) is caught
    assert (
        "april-2025-licence" not in text
    )  # JPN exports: the Chinese licence itself does not apply
    if caught:
        assert ">= 0.10%" in text


def test_japanese_magnets_carry_chinese_origin_by_default(network: Network, reimpose: Case) -> None:
    frame = parts(["gen,magnets,1500,kg,ndfeb_sintered,JPN,6,wind,DEU,,"], network, reimpose)
    assert "oct-2025-content-rule" in frame.loc["magnets", "caught_by"]
    assert "CHN origin" in frame.loc["magnets", "caught_by"]


def test_denied_sector_and_domestic_purchase(network: Network, reimpose: Case) -> None:
    frame = parts(
        [
            "actuator,smco export,1,kg,smco,CHN,0,defence,DEU,,",
            "actuator,smco domestic,1,kg,smco,USA,0,defence,USA,,",
        ],
        network,
        reimpose,
    )
    assert "denied for defence" in frame.loc["smco export", "caught_by"]
    assert frame.loc["smco export", "peak_output_lost"] == pytest.approx(1.0)
    assert frame.loc["smco domestic", "caught_by"] == "none"  # not an export


def test_inventory_delays_the_first_shortage(network: Network, reimpose: Case) -> None:
    rows = [f"m{n},rotor,2,kg,ndfeb_sintered,CHN,{n},ev_traction,DEU,," for n in (0, 1, 3, 60)]
    bom = validate_bom(bom_of(rows, network), network)
    scenario, result = reimpose
    frame = exposure(bom, scenario, network, result=result).products.set_index("product")
    months = [frame.loc[f"m{n}", "first_shortage"] for n in (0, 1, 3)]
    assert months == sorted(months) and len(set(months)) == 3
    assert frame.loc["m60", "first_shortage"].startswith("none by")
    assert list(frame.index[:3]) == ["m0", "m1", "m3"]  # most exposed first


def test_embargo_targets_the_plant_region_and_lists_alternatives(network: Network) -> None:
    scenario = load_scenario("us-embargo", network)
    result = run(scenario, network=network)
    bom = validate_bom(
        bom_of(
            [
                "a,to usa,1,kg,ndfeb_sintered,CHN,0,ev_traction,USA,,",
                "b,to deu,1,kg,ndfeb_sintered,CHN,0,ev_traction,DEU,,",
            ],
            network,
        ),
        network,
    )
    frame = exposure(bom, scenario, network, result=result).parts.set_index("part")
    assert "export ban" in frame.loc["to usa", "caught_by"]
    assert frame.loc["to deu", "caught_by"] == "none"
    alternatives = frame.loc["to usa", "alternatives"]
    assert "CHN" not in alternatives and alternatives != "none"  # the banned source is no option


def test_draw_down_uses_stock_before_shortage() -> None:
    unmet = draw_down(np.array([1.0, 1.0, 0.6, 0.6, 0.0]), 3.0)
    assert unmet == pytest.approx([0.0, 0.0, 0.0, 0.2, 0.0])


def test_bundled_example(network: Network, reimpose: Case) -> None:
    bom = read_bom(EXAMPLE, network)
    assert len(bom.frame) >= 4
    scenario, result = reimpose
    report = exposure(bom, scenario, network, result=result)
    products = report.products
    assert products["product"].is_unique and len(products) == bom.frame["product"].nunique()
    ev = products.set_index("product").loc["EV traction motor (illustrative)"]
    assert "april-2025-licence" in ev["caught_by"]
    assert {"first_shortage", "share_at_risk", "months_of_cover", "alternatives"} <= set(products)
    assert not [c for c in [*products, *report.parts] if c.startswith("_")]  # no internals


def test_spare_capacity_is_the_engines(network: Network) -> None:
    """Exposure's spare capacity uses the scenario's parameters and the engine's capacity:
    installed plants on the capacity trend, projects ramped in, less the run's production."""
    from rareflow.analytics.exposure import spare_capacity
    from rareflow.engine.parameters import resolve_parameters
    from rareflow.engine.prepare import prepare, project_capacity
    from rareflow.model.compiled import compile_network, month_index

    scenario = load_scenario("baseline", network).model_copy(
        update={"months": 6, "parameters": {"capacity_growth_per_year": 0.5}}
    )
    result = run(scenario, network=network)
    net = compile_network(network)
    params = resolve_parameters(net.parameters, scenario.parameters)
    assert params["capacity_growth_per_year"] == 0.5  # the override, not the dataset's
    got = spare_capacity(result, prepare(net, scenario, params, 1), "ndfeb_sintered")
    p = net.products.index("ndfeb_sintered")
    made = result.dataset["production"].sel(product="ndfeb_sintered").values[0]  # (T, R)
    want = np.zeros_like(made)
    for t, label in enumerate(result.dataset["month"].values):
        month = month_index(str(label))
        trend = 1.5 ** ((month - (net.base_year * 12 + 6)) / 12.0)
        cap = net.capacity * trend + project_capacity(net, month)
        want[t] = np.maximum(cap @ net.recipe_out[:, p] - made[t], 0.0)
    np.testing.assert_allclose(got.values, want.mean(axis=0) * 12.0, rtol=1e-12)
