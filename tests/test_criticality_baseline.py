"""The EU supply-risk formula on a network's shares and trade (hand-computed, small network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rareflow.analytics.criticality_baseline import DEFAULT_WGI, baseline_supply_risk
from rareflow.data.network import Network
from rareflow.errors import UserInputError
from test_concentration_network import invoke, small_network

# 2023-style inputs for neodymium only: EoL_RIR 1%, SI_SR 0.99
INPUTS = """assessment,material,stage,scope,country,parameter,value,unit,source_url,source_note
EU_CRM_2023,Neodymium,Extraction,n/a,,EoL_RIR,1,percent,u,n
EU_CRM_2023,Neodymium,Extraction,n/a,,SI_SR,0.99,index 0-1,u,n
"""
FACTOR = (1 - 0.01) * 0.99


@pytest.fixture
def inputs_file(tmp_path: Path) -> Path:
    path = tmp_path / "criticality_inputs.csv"
    path.write_text(INPUTS)
    return path


@pytest.fixture
def net() -> Network:
    return small_network()


def test_neodymium_supply_risk_by_hand(net: Network, inputs_file: Path) -> None:
    frame = baseline_supply_risk(net, element="Nd", inputs_path=inputs_file)
    rows = frame.set_index("stage")
    w = DEFAULT_WGI
    # mining: Nd 90/30/15/10 t; EU imports 15 t from AUS only, no EU mining -> IR 1
    gs = w * (90**2 + 30**2 + 15**2 + 10**2) / 145**2
    mining = rows.loc["mining"]
    assert mining["HHI_WGI_t_GS"] == pytest.approx(gs)
    assert mining["HHI_WGI_t_EU"] == pytest.approx(w)
    assert mining["IR"] == pytest.approx(1.0)
    assert mining["SR"] == pytest.approx((gs / 2 + w / 2) * FACTOR)
    # separation: CHN 108, XEU 12; EU supply: XEU 12 own + 24 from CHN -> IR 24/36
    sep = rows.loc["separation"]
    gs_sep, eu_sep, ir = w * 0.82, w * 5 / 9, 2 / 3
    assert sep["HHI_WGI_t_EU"] == pytest.approx(eu_sep)
    assert sep["IR"] == pytest.approx(ir)
    assert sep["SR"] == pytest.approx((gs_sep * ir / 2 + eu_sep * (1 - ir / 2)) * FACTOR)
    assert sep["top1_region"] == "CHN"
    # the 2023 rule: the higher stage is the bottleneck
    assert mining["bottleneck"] and not sep["bottleneck"]
    assert mining["inputs_from"] == "EU_CRM_2023"


def test_worse_governance_raises_supply_risk(net: Network, inputs_file: Path) -> None:
    base = baseline_supply_risk(net, element="Nd", inputs_path=inputs_file)
    worse = baseline_supply_risk(net, element="Nd", inputs_path=inputs_file, wgi={"CHN": 9.0})
    assert (worse["SR"].to_numpy() > base["SR"].to_numpy()).all()
    assert (worse["governance"] == "given").all()


def test_elements_without_inputs_are_listed_not_dropped(net: Network, inputs_file: Path) -> None:
    frame = baseline_supply_risk(net, inputs_path=inputs_file)
    assert set(frame["element"]) == {"La", "Nd", "Dy", "REE"}
    dy = frame.loc[frame["element"] == "Dy"]
    assert dy["SR"].isna().all()
    assert dy["missing"].str.contains("Dysprosium").all()


def test_unknown_element_is_a_user_error(net: Network, inputs_file: Path) -> None:
    with pytest.raises(UserInputError, match="Nd"):
        baseline_supply_risk(net, element="Xx", inputs_path=inputs_file)


def test_cli_baseline_json_and_chart(
    net: Network, inputs_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chart = tmp_path / "matrix.png"
    args = ["criticality", "--source", "baseline", "--inputs", str(inputs_file)]
    code, out = invoke([*args, "--format", "json", "--chart", str(chart)], monkeypatch, net)
    assert code == 0
    rows = json.loads(out)
    nd = next(r for r in rows if r["element"] == "Nd" and r["stage"] == "mining")
    assert nd["SR"] == pytest.approx((DEFAULT_WGI * 9325 / 21025 / 2 + DEFAULT_WGI / 2) * FACTOR)
    assert chart.stat().st_size > 1000


def test_cli_baseline_material_name_selects_the_element(
    net: Network, inputs_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["criticality", "--source", "baseline", "--inputs", str(inputs_file), "-f", "json"]
    code, out = invoke([*args, "--material", "neodymium"], monkeypatch, net)
    assert code == 0
    assert {r["element"] for r in json.loads(out)} == {"Nd"}
    code, _ = invoke([*args, "--material", "Unobtainium"], monkeypatch, net)
    assert code == 2
    code, _ = invoke([*args, "--assessment", "eu1999"], monkeypatch, net)
    assert code == 2


def test_assessment_picks_which_inputs_come_first(net: Network, tmp_path: Path) -> None:
    path = tmp_path / "inputs.csv"
    path.write_text(
        INPUTS
        + "EU_CRM_2017,Neodymium,Extraction,n/a,,EoL_RIR,1,percent,u,n\n"
        + "EU_CRM_2017,Neodymium,Extraction,n/a,,SI_SR,0.9,index 0-1,u,n\n"
    )
    old = baseline_supply_risk(net, element="Nd", inputs_path=path, assessment="eu2017")
    new = baseline_supply_risk(net, element="Nd", inputs_path=path)
    assert (old["SI_SR"] == 0.9).all() and (new["SI_SR"] == 0.99).all()
    assert (old["inputs_from"] == "EU_CRM_2017").all()
