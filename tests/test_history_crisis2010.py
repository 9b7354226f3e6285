"""The 2010-2011 episode on a scaled network: direction and rough size of the response."""

from __future__ import annotations

import pytest

from rareflow.history import crisis2010 as cr
from rareflow.history.observed import calibration_dir

pytestmark = pytest.mark.skipif(
    not (calibration_dir() / cr.FILE_NAME).exists(), reason="crisis_2010_inputs.csv absent"
)


@pytest.fixture(scope="module")
def table():
    return cr.run_episode().set_index("scenario")


def test_facts_are_read_from_the_inputs() -> None:
    facts = cr.crisis_facts()
    assert facts["quota_2010_t"] == 30258 and facts["quota_2009_t"] == 50145
    assert facts["world_demand_2010_t"] == 124000


def test_scaled_network_matches_2010_demand() -> None:
    from rareflow.data.network import load_network
    from rareflow.model.compiled import compile_network

    net = cr.network_2010(compile_network(load_network()), 124000)
    mines = [net.processes.index(p) for p in net.processes if p.startswith("mine_")]
    assert net.activity0[:, mines].sum() * 12 == pytest.approx(124000)
    assert net.base_year == 2010 and not net.project_tonnes_per_month.any()


def test_quota_cut_raises_prices_outside_china(table) -> None:
    base = table.loc["baseline", "china_material_exports_2010_t"]
    cut = table.loc["quota_cut", "china_material_exports_2010_t"]
    assert cut == pytest.approx(base * 30258 / 50145, rel=0.05)
    for product in ("lace_oxide", "ndpr_oxide", "dy_oxide"):
        assert table.loc["quota_cut", f"{product}/ex_china"] > 1.3
    assert table.loc["quota_cut", "lace_oxide/china"] <= 1.0


def test_japan_hold_stops_shipments_for_two_months(table) -> None:
    base = table.loc["baseline", "to_japan_oct_nov_2010_t"]
    # 10% of orders leak; Japan's orders on China rise a little while its buyers wait
    assert table.loc["embargo", "to_japan_oct_nov_2010_t"] < 0.12 * base


def test_findings_are_read_off_the_run(table) -> None:
    text = cr.findings(table.reset_index())
    assert text[0].startswith("A 40% cut") and "x at peak" in text[0]
    held = (
        1
        - table.loc["embargo", "to_japan_oct_nov_2010_t"]
        / table.loc["baseline", "to_japan_oct_nov_2010_t"]
    )
    # 10% of orders leak, and more is ordered as what was at sea to Japan runs down
    assert held > 0.85 and f"Oct-Nov 2010 by {held:.0%}" in text[1]
    assert text[-len(cr.LIMITS) :] == list(cr.LIMITS)


def test_the_unwind_is_reported_to_the_end_of_2013() -> None:
    unwind = cr.run_unwind().set_index("product")
    assert list(unwind.index) == list(cr.UNWIND_PRODUCTS)
    dy = unwind.loc["dy_oxide"]
    assert dy["peak_multiple"] > 2.0 and "2010-09" <= dy["peak_month"] <= cr.UNWIND_END
    assert 0.0 < dy["share_of_peak"] <= 1.0
