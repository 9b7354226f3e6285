"""The deals API (issue 16) over a real server: the bundled deals listed and read, a deal with
an edited term evaluated by ``deals.evaluate`` (the same report as the CLI's), and a bad term
refused with its field and value named; a deal cannot point the server at a file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rareflow.deals.evaluate import evaluate
from test_web_support import live_server


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    store = tmp_path_factory.mktemp("web-deals") / "results.duckdb"
    with live_server(store) as base, httpx.Client(base_url=base, timeout=120) as c:
        yield c


@pytest.fixture(scope="module")
def london(client: httpx.Client) -> dict[str, Any]:
    body: dict[str, Any] = client.get("/api/deals/london-2025").json()
    return body


def _payoffs(report: dict[str, Any]) -> dict[str, float]:
    return {p["party"]: p["payoff_usd"] for p in report["parties"]}


def test_bundled_deals_are_listed_and_read(client: httpx.Client, london: dict[str, Any]) -> None:
    listed = {d["name"]: d for d in client.get("/api/deals").json()}
    assert {"london-2025", "truce-2025", "truce-extended-2027", "no-deal-2026"} <= set(listed)
    assert listed["truce-2025"]["parties"] == ["CHN", "USA", "EU", "JPN", "KOR"]
    assert london["terms"][0]["policy"]["customer_share"] == 0.5
    assert london["terms"][1]["external"]["to"] == "CHN"  # a term outside the network
    assert client.get("/api/deals/no-such-deal").status_code == 404
    assert client.get("/api/deals/..%2Fmodel").status_code in (404, 422)  # names, not paths


def test_the_bundled_deal_evaluates_as_the_cli_does(
    client: httpx.Client, london: dict[str, Any]
) -> None:
    response = client.post("/api/deals/evaluate", json=london)
    assert response.status_code == 200, response.text
    report = response.json()
    cli = evaluate("london-2025")
    assert _payoffs(report) == pytest.approx(_payoffs(cli))
    assert report["leverage"] == pytest.approx(cli["leverage"])
    assert report["china"]["deal"]["export_tonnes"] > report["china"]["no_deal"]["export_tonnes"]
    assert report["external_terms"][0]["simulated"] is False
    usa = [r for r in report["flows_restored"] if r["destination"] == "USA"]
    assert len(usa) == 24 and any(r["deal"] > r["no_deal"] for r in usa)  # restored flows
    assert report["seconds"] > 0


def test_an_edited_term_changes_who_gains_what(
    client: httpx.Client, london: dict[str, Any]
) -> None:
    first = client.post("/api/deals/evaluate", json=london).json()
    before = _payoffs(first)
    edited = {**london, "terms": [dict(t) for t in london["terms"]]}
    edited["terms"][0] = {**london["terms"][0],
                          "policy": {**london["terms"][0]["policy"], "customer_share": 1.0}}  # fmt: skip
    edited["terms"][1] = {**london["terms"][1],
                          "external": {**london["terms"][1]["external"], "value_usd": 2e9}}  # fmt: skip
    second = client.post("/api/deals/evaluate", json=edited).json()
    after = _payoffs(second)
    # licences cover all US demand: more of China's magnets reach the US ...
    assert _to_usa(second) > _to_usa(first)
    assert after["CHN"] > before["CHN"] + 2e9  # ... more export revenue, plus the user's value
    # the calibrated 2025 leaves no US output lost for good after June (only deferred), so
    # the US gains no avoided loss; it must never lose from wider licences
    assert after["USA"] >= before["USA"]


def _to_usa(report: dict[str, Any]) -> float:
    """China's shipments to the US over the deal's months, as multiples of the 2024 month."""
    return sum(r["deal"] for r in report["flows_restored"] if r["destination"] == "USA")


def test_a_bad_term_names_its_field_and_value(client: httpx.Client, london: dict[str, Any]) -> None:
    bad = {**london, "terms": [{**london["terms"][0],
                                "policy": {**london["terms"][0]["policy"], "customer_share": 1.5}},
                               london["terms"][1]]}  # fmt: skip
    response = client.post("/api/deals/evaluate", json=bad)
    assert response.status_code == 400
    problem = response.json()["problems"][0]
    assert problem["field"] == "terms[0].policy.customer_share" and problem["value"] == "1.5"
    unknown = {**london, "terms": [{**london["terms"][0],
                                    "policy": {**london["terms"][0]["policy"], "targets": ["USX"]}}]}  # fmt: skip
    detail = client.post("/api/deals/evaluate", json=unknown).json()["detail"]
    assert "terms[0].policy" in detail and "USX" in detail
    party = {**london, "terms": [{**london["terms"][1], "party": "EU"}]}
    detail = client.post("/api/deals/evaluate", json=party).json()["detail"]
    assert "terms[0].party" in detail and "EU" in detail


def test_a_deal_cannot_name_a_file(client: httpx.Client, london: dict[str, Any]) -> None:
    response = client.post("/api/deals/evaluate", json={**london, "against": "/etc/hostname"})
    assert response.status_code == 400
    assert response.json()["problems"][0]["field"] == "against"
    text = client.post(
        "/api/deals/evaluate", content=b"name: [", headers={"content-type": "application/yaml"}
    )
    assert text.status_code == 422


def test_yaml_body_is_accepted(client: httpx.Client) -> None:
    path = Path(__file__).parents[1] / "src/rareflow/deals/bundled/truce-extended-2027.yaml"
    response = client.post("/api/deals/evaluate", content=path.read_bytes(),
                           headers={"content-type": "application/yaml"})  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json()["deal"] == "truce-extended-2027"
