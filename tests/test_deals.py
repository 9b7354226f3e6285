"""Deals (issue 16): the bundled deals load with sources, evaluate per party, and bad input
exits 2 naming what is wrong; a frontier's Pareto set and Nash point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from rareflow.deals.frontier import nash_point, pareto_mask
from rareflow.deals.model import bundled_deals, load_deal
from rareflow.errors import UserInputError

CSV = Path(__file__).parents[1] / "../shared/data/calibration/policy_events.csv"
SMALL = {
    "name": "small",
    "against": "baseline",
    "start": "2026-01",
    "months": 3,
    "parties": {"CHN": {"regions": ["CHN"]}, "USA": {"regions": ["USA"]}},
}


def write(tmp_path: Path, **changes: object) -> str:
    path = tmp_path / "deal.yaml"
    path.write_text(yaml.safe_dump(json.loads(json.dumps({**SMALL, **changes}))))  # no aliases
    return str(path)


def test_bundled_deals_carry_sources_from_the_timeline() -> None:
    import pandas as pd

    assert set(bundled_deals()) >= {"london-2025", "truce-2025", "truce-extended-2027",
                                    "no-deal-2026"}  # fmt: skip
    urls = set(pd.read_csv(CSV)["source_url"]) if CSV.exists() else set()
    for name in bundled_deals():
        deal, _ = load_deal(name)
        assert deal.sources
        if urls:
            assert set(deal.sources) <= urls, name
        for term in deal.terms:
            assert term.source, (name, term.description)


def test_unknown_party_instrument_and_product_exit_2_naming_them(tmp_path: Path) -> None:
    from rareflow.deals.evaluate import evaluate

    cases = [
        ([{"party": "EU", "external": {"what": "x", "to": "CHN"}}], "EU"),
        ([{"party": "CHN", "policy": {"id": "p", "type": "export_moratorium"}}],
         "export_moratorium"),
        ([{"party": "CHN", "policy": {"id": "p", "type": "export_ban",
                                      "items": {"products": ["unobtainium"]}}}], "unobtainium"),
    ]  # fmt: skip
    for terms, named in cases:
        with pytest.raises(UserInputError) as info:
            evaluate(write(tmp_path, terms=terms))
        assert named in str(info.value) and info.value.exit_code == 2


def test_ban_and_general_licence_on_one_flow_state_the_precedence(tmp_path: Path) -> None:
    from rareflow.deals.arms import build_arms

    items = {"products": ["ndfeb_sintered"]}
    terms = [
        {"party": "CHN", "policy": {"id": "gl", "type": "general_license", "items": items,
                                    "targets": ["USA"], "customer_share": 0.5}},
        {"party": "CHN", "policy": {"id": "ban", "type": "export_ban", "items": items,
                                    "targets": ["USA"]}},
    ]  # fmt: skip
    deal, file = load_deal(write(tmp_path, terms=terms))
    arms = build_arms(deal, file)
    assert arms.precedence == ["ban (ban) takes precedence over gl (general licence)"]


def test_evaluate_reports_per_party_against_the_no_deal_arm(tmp_path: Path) -> None:
    from rareflow.deals.evaluate import evaluate

    items = {"products": ["ndfeb_sintered"]}
    terms = [
        {"party": "USA", "description": "a ban lifted", "policy": {"id": "lift",
         "type": "suspension", "policies": ["ban"]}},
        {"party": "USA", "external": {"what": "ethane", "value_usd": 5e6, "to": "CHN"}},
    ]  # fmt: skip
    ban = [{"id": "ban", "type": "export_ban", "items": items}]  # to all: no rerouting
    # a year: US stocks last months and a stopped month can be made up for catchup_months,
    # so the ban's output is only lost (not deferred) in the second half
    scenario = {"name": "s", "start": "2026-01", "months": 12, "policies": ban}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(scenario))
    result = evaluate(write(tmp_path, terms=terms, against=str(tmp_path / "s.yaml"), months=12))
    parties = {p["party"]: p for p in result["parties"]}
    assert parties["USA"]["value_lost_avoided_usd"]["USA"] > 0  # the ban cost the US output
    # ... and stopped lines the US made up later: lifting the ban avoids that too
    assert parties["USA"]["value_deferred_avoided_usd"]["USA"] > 0
    assert set(parties["CHN"]["value_deferred_avoided_usd"]) == {"CHN"}
    assert parties["CHN"]["export_revenue_gained_usd"] > 0
    assert parties["CHN"]["external_value_received_usd"] == 5e6
    assert result["external_terms"][0]["simulated"] is False
    china = result["china"]
    assert china["deal"]["export_tonnes"] > china["no_deal"]["export_tonnes"]
    usa = [r for r in result["flows_restored"] if r["destination"] == "USA"]
    assert len(usa) == 12 and all(r["deal"] > r["no_deal"] for r in usa)
    assert result["leverage"]["deal"] > result["leverage"]["no_deal"]


def test_frontier_pareto_and_nash() -> None:
    payoff = np.array([[0.0, 3.0], [1.0, 2.0], [2.0, 2.0], [3.0, 0.0], [1.0, 1.0]])
    assert pareto_mask(payoff).tolist() == [True, False, True, True, False]
    assert nash_point(payoff, np.zeros(2)) == 2
    assert nash_point(payoff, np.array([5.0, 5.0])) is None


def test_frontier_runs_a_grid_as_one_batch(tmp_path: Path) -> None:
    from rareflow.deals.frontier import frontier, write_plot

    items = {"products": ["ndfeb_sintered"]}
    terms = [
        {
            "party": "CHN",
            "policy": {
                "id": "gl",
                "type": "general_license",
                "items": items,
                "targets": ["USA"],
                "customer_share": 0.5,
            },
        },
        {"party": "USA", "external": {"what": "ethane", "value_usd": 1e6, "to": "CHN"}},
    ]
    no_deal = [{"id": "lic", "type": "export_license", "items": items, "approval_share": 0.2}]
    path = write(tmp_path, terms=terms, no_deal=no_deal)
    # the licence is the scenario's in both arms here: move it out of no_deal
    doc = yaml.safe_load(Path(path).read_text())
    doc["no_deal"] = []
    doc["against"] = str(tmp_path / "s.yaml")
    (tmp_path / "s.yaml").write_text(
        yaml.safe_dump({"name": "s", "start": "2026-01", "months": 3, "policies": no_deal})
    )
    Path(path).write_text(yaml.safe_dump(json.loads(json.dumps(doc))))
    f = frontier(path, ["gl.customer_share=0:1:3"], {"CHN": 0.0, "USA": 0.0}, kernel="numpy")
    assert f.points[:, 0].tolist() == [0.0, 0.5, 1.0]
    usa = f.payoff[:, f.parties.index("USA")]
    assert usa[2] >= usa[1] >= usa[0]
    assert f.nash is not None and f.pareto[f.nash]
    assert write_plot(f, tmp_path / "f.html").read_text().count("plotly") > 0
    with pytest.raises(UserInputError, match=r"gl\.rate"):
        frontier(path, ["gl.rate=0:1:3"])


def test_cli_evaluate_json_and_bad_input(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from rareflow.cli.main import cli

    assert cli(["deals", "evaluate", "no-deal-2026", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["deal"] == "no-deal-2026" and out["months"] == ["2026-11", "2028-10"]
    assert {p["party"] for p in out["parties"]} == {"CHN", "USA", "EU", "JPN", "KOR"}
    assert cli(["deals", "evaluate", "no-such-deal"]) == 2
    assert "no-such-deal" in capsys.readouterr().err
    bad = write(tmp_path, parties={"CHN": {"regions": ["ATL"]}})
    assert cli(["deals", "evaluate", bad]) == 2
    assert "ATL" in capsys.readouterr().err
    assert cli(["deals", "list", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 4
