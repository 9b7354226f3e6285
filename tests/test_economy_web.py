"""GET /api/runs/{id}/impact and the dashboard's GDP-loss panel."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from test_web_support import live_server, wait_for_run


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    store = tmp_path_factory.mktemp("impact") / "results.duckdb"
    with live_server(store) as base, httpx.Client(base_url=base, timeout=120) as c:
        yield c


def _run(client: httpx.Client, name: str) -> str:
    response = client.post("/api/runs", json={"scenario": name, "months": 4})
    assert response.status_code == 202
    run_id = str(response.json()["run_id"])
    assert wait_for_run(client, run_id)["status"] == "complete"
    return run_id


def test_impact_endpoint_gives_gdp_loss_by_region(client: httpx.Client) -> None:
    body = client.get(f"/api/runs/{_run(client, 'april-2025-licensing')}/impact").json()
    regions = {r["region"]: r for r in body["regions"]}
    assert len(regions) == 15 and body["note"] == ""
    assert sum(r["gdp_loss_usd"] for r in regions.values()) > 0
    assert all(0 <= r["gdp_loss_share"] < 0.05 for r in regions.values())
    world = next(r for r in body["rows"] if r["region"] == "all")
    assert 0 < world["indirect_share"] < 1


def test_a_run_with_no_shortage_says_zero_loss(client: httpx.Client) -> None:
    body = client.get(f"/api/runs/{_run(client, 'baseline')}/impact").json()
    if body["note"]:
        assert "zero loss" in body["note"]
        assert all(r["gdp_loss_usd"] == 0 for r in body["regions"])
    else:  # the baseline has some shortage of its own
        assert any(r["gdp_loss_usd"] > 0 for r in body["regions"])


def test_dashboard_has_the_panel(client: httpx.Client) -> None:
    page = client.get("/").text
    assert 'id="impact-panel"' in page and "GDP loss by region" in page
    assert "/impact`" in client.get("/static/app.js").text


def test_unknown_run_is_404(client: httpx.Client) -> None:
    assert client.get("/api/runs/no-such-run/impact").status_code == 404
