"""The HTTP API under bad input and a bad store, over a real server on 127.0.0.1: a damaged
store is a clear 503 (and an unhealthy /api/health) rather than a 500; inline scenario names
must make fetchable run ids; dates must be calendar dates; saved scenarios cannot take a
bundled name; responses the endpoints give are in the OpenAPI document."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest_results import make_result
from rareflow.errors import UserInputError
from rareflow.io.store import ResultStore, StoreError
from rareflow.web.worker import user_message
from test_web_support import live_server

BAD_NAMES = ["my scenario", "ünïcode", "../../etc/passwd", "x" * 101, "<script>", "-lead", ""]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("web-reliability") / "results.duckdb"


@pytest.fixture(scope="module")
def client(store: Path) -> Iterator[httpx.Client]:
    with live_server(store) as base, httpx.Client(base_url=base, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def baseline(client: httpx.Client) -> dict[str, Any]:
    found: dict[str, Any] = client.get("/api/scenarios/baseline").json()
    return found


def _no_path(response: httpx.Response, store: Path) -> None:
    assert str(store.parent) not in response.text


# -- a damaged store (F8) --------------------------------------------------------------------
def test_damaged_store_is_a_clear_503_everywhere(tmp_path: Path) -> None:
    path = tmp_path / "results.duckdb"
    ResultStore(path).save(make_result("baseline", 0.5))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    with live_server(path) as base, httpx.Client(base_url=base, timeout=60) as client:
        listed = client.get("/api/runs")
        assert listed.status_code == 503
        assert "damaged" in listed.json()["detail"]
        health = client.get("/api/health")
        assert health.status_code == 503
        body = health.json()
        assert body["status"] == "unhealthy" and body["store"]["ok"] is False
        assert "damaged" in body["store"]["detail"]
        started = client.post("/api/runs", json={"scenario": "baseline", "months": 2})
        assert started.status_code == 503 and "damaged" in started.json()["detail"]
        for response in (listed, health, started):
            _no_path(response, path)


def test_healthy_store_reports_ok_without_paths(client: httpx.Client, store: Path) -> None:
    health = client.get("/api/health")
    assert health.status_code == 200
    assert health.json()["status"] == "ok" and health.json()["store"]["ok"] is True
    _no_path(health, store)


# -- names that would make unreachable run ids (F9) ------------------------------------------
@pytest.mark.parametrize("name", BAD_NAMES)
def test_inline_spec_name_is_checked(
    client: httpx.Client, baseline: dict[str, Any], name: str
) -> None:
    spec = {**baseline, "name": name, "months": 2}
    for path, body in (("/api/runs", {"spec": spec}), ("/api/scenarios/validate", spec)):
        response = client.post(path, json=body)
        assert response.status_code == 422, (path, response.text)
        fields = [p.get("field") for p in response.json()["problems"]]
        assert "name" in fields, response.json()
    before = {r["run_id"] for r in client.get("/api/runs").json()}
    assert not any(name and run_id.startswith(name) for run_id in before)


def test_good_inline_name_runs_and_is_fetchable(
    client: httpx.Client, baseline: dict[str, Any]
) -> None:
    started = client.post("/api/runs", json={"spec": {**baseline, "name": "my-run.1"}, "months": 2})
    assert started.status_code == 202
    run_id = started.json()["run_id"]
    assert client.get(f"/api/runs/{run_id}").status_code == 200


# -- F11 -------------------------------------------------------------------------------------
@pytest.mark.parametrize("since", ["2025-02-31", "2025-13", "2025-00-10", "2025-04-31"])
def test_impossible_dates_refused(client: httpx.Client, since: str) -> None:
    response = client.get("/api/events", params={"since": since})
    assert response.status_code == 422
    assert "since" in response.json()["detail"]


def test_real_dates_accepted(client: httpx.Client) -> None:
    for since in ("2024-02-29", "2025-02", "2025"):
        assert client.get("/api/events", params={"since": since}).status_code == 200


@pytest.mark.parametrize("name", ["history", "baseline", "Baseline", "HISTORY"])
def test_saved_scenario_cannot_take_a_bundled_name(
    client: httpx.Client, baseline: dict[str, Any], name: str
) -> None:
    response = client.post("/api/scenarios", json={**baseline, "name": name})
    assert response.status_code == 409
    saved = [s for s in client.get("/api/scenarios").json() if s["origin"] == "saved"]
    assert name not in {s["name"] for s in saved}


def test_conflicts_are_in_the_openapi_document(client: httpx.Client) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/runs/{run_id}/charts", "/api/runs/{run_id}/summary", "/api/compare"):
        assert "409" in paths[path]["get"]["responses"], path
    assert "503" in paths["/api/runs"]["post"]["responses"]


# -- job errors are words for users ----------------------------------------------------------
def test_job_errors_are_user_messages() -> None:
    internal = user_message(KeyError("price_floor"))
    assert "KeyError" not in internal and "price_floor" not in internal
    assert "internal error" in internal
    bad = user_message(UserInputError("horizon too long", value=999))
    assert bad == "horizon too long (got 999)"
    store = user_message(StoreError("the results store is damaged", file="/secret/dir/s.duckdb"))
    assert "damaged" in store and "/secret" not in store
