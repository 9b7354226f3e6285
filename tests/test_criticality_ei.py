"""The rare earths' economic importance by the EU formula from the network's end uses."""

from __future__ import annotations

import pytest

from rareflow.analytics import criticality_ei as cei
from rareflow.analytics.criticality_table import assess
from rareflow.cli.main import cli
from rareflow.data.network import load_network

RARE_EARTHS = ("Cerium", "Dysprosium", "Neodymium", "Terbium", "Yttrium", "Lanthanum")


def test_every_rare_earth_gets_an_ei_and_a_verdict() -> None:
    frame = assess("eu2017", network=load_network()).set_index("material")
    for name in RARE_EARTHS:
        row = frame.loc[name]
        assert 0.0 < row["EI"] <= 10.0 and row["EI_basis"] == cei.BASIS, name
        assert row["critical"] is not None, name
    assert frame.loc["Antimony", "EI_basis"] == "published"  # published values stay first
    assert assess("eu2017")["EI"].isna().sum() > 10  # without a network: unknown, as before


def test_ei_follows_the_formula() -> None:
    net = load_network()
    shares = cei.end_use_shares(net)
    nd = shares.loc["Nd"]
    assert nd.sum() == pytest.approx(1.0)
    q = sum(nd[s] * cei.NACE[cei.SECTOR_NACE[s]].value_added_eur_bn for s in nd.index)
    want = 10.0 * q / cei.NACE[cei.LARGEST].value_added_eur_bn * 0.9  # SI_EI 2017: 0.9
    got = cei.network_ei(net, {"Nd": 0.9}).set_index("element").loc["Nd", "EI"]
    assert got == pytest.approx(want)


def test_value_added_rows_are_labelled_and_cover_every_sector() -> None:
    assert set(cei.SECTOR_NACE) == set(load_network().sectors)
    assert set(cei.SECTOR_NACE.values()) <= set(cei.NACE)
    assert all(n.provenance == "assumption" and n.rationale for n in cei.NACE.values())
    largest = max(cei.NACE.values(), key=lambda n: n.value_added_eur_bn)
    assert largest.code == cei.LARGEST


def test_criticality_table_fits_80_columns(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    assert cli(["risk", "criticality"]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "Neodymium" in out and "critical" in out and "…" not in out
