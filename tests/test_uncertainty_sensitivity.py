"""Sensitivity: the factor that matters ranks first, for OAT, Morris and Sobol."""

from __future__ import annotations

from pathlib import Path

import pytest

from rareflow.data.network import Network
from rareflow.errors import UserInputError
from rareflow.scenarios.load import parse_scenario
from rareflow.uncertainty.sensitivity import sensitivity, tornado
from test_montecarlo import LICENCE

SECTION = {
    "parameters": {"price_min_multiple": {"dist": "uniform", "low": 0.4, "high": 0.6}},
    "policies": {"lic": {"approval_share": {"dist": "uniform", "low": 0.0, "high": 1.0}}},
}


def scenario() -> object:
    return parse_scenario({"name": "s", "start": "2026-11", "months": 8,
                           "policies": [LICENCE], "uncertainty": SECTION})  # fmt: skip


@pytest.mark.parametrize(("method", "size"), [("oat", 0), ("morris", 4), ("sobol", 8)])
def test_the_licence_drives_losses(tiny_network: Network, method: str, size: int) -> None:
    result = sensitivity(scenario(), method, size=size, network=tiny_network)
    assert result.table["factor"].iloc[0] == "lic.approval_share"
    assert len(result.table) == 2
    if method == "oat":
        row = result.table.iloc[0]
        assert row["low"] >= row["base"] >= row["high"]  # more approvals, less loss
        assert row["low"] > row["high"]


def test_tornado_chart(tiny_network: Network, tmp_path: Path) -> None:
    path = tornado(sensitivity(scenario(), "oat", network=tiny_network), tmp_path / "t.png")
    assert path.stat().st_size > 1000


def test_no_uncertainty_uses_the_default_ranges(tiny_network: Network) -> None:
    from rareflow.uncertainty.defaults import DEFAULT_RANGES

    plain = parse_scenario({"name": "plain", "start": "2026-11", "months": 8,
                            "policies": [LICENCE]})  # fmt: skip
    result = sensitivity(plain, "oat", network=tiny_network)
    assert result.assumed and result.runs == 1 + 2 * len(result.table)
    assert set(result.table["factor"]) <= {r.parameter for r in DEFAULT_RANGES}
    assert result.table["importance"].iloc[0] > 0  # the ranges move the losses
    assert all(r.provenance == "assumption" and r.rationale for r in DEFAULT_RANGES)
    assert not sensitivity(scenario(), "oat", network=tiny_network).assumed
    with pytest.raises(UserInputError, match="unknown method"):
        sensitivity(scenario(), "fast", network=tiny_network)
