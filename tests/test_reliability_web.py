"""The HTTP API under bad input and a bad store, over a real server on 127.0.0.1: a damaged
store is a clear 503 (and an unhealthy /api/health) rather than a 500; inline scenario names
must make fetchable run ids; dates must be calendar dates; saved scenarios cannot take a
bundled name; responses the endpoints give are in the OpenAPI document."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest_results import make_result
from rareflow.errors import UserInputError
from rareflow.io.store import RUN_COLUMNS, ResultStore, RunRecord, StoreError
from rareflow.web.context import MAX_HEAVY
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


# -- results are streamed, and whole-run reads are limited -----------------------------------
BIG_ROWS = 400_000  # ~67 MB of JSON, like a long many-draw run


def _big_record(run_id: str, rows: int) -> RunRecord:
    import pandas as pd

    row = dict.fromkeys(RUN_COLUMNS)
    row.update(run_id=run_id, scenario="big", status="complete", months=1, draws=1)
    row["started_at"] = "2026-01-01T00:00:00"
    results = pd.DataFrame(
        {"run_id": run_id, "scenario": "big", "draw": 0, "month": "2030-01", "region": "USA",
         "partner": "CHN", "product": "ndfeb_sintered", "metric": "price",
         "value": [i * 0.5 for i in range(rows)], "unit": "USD/kg"}
    )  # fmt: skip
    empty = pd.DataFrame({"run_id": []})
    return RunRecord(run_id, row, results, empty, empty)


def _memory_mb(pid: int) -> tuple[float, float]:
    """(resident, peak resident) of a process, in MB."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


@pytest.fixture(scope="module")
def big_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """A real ``rareflow serve`` process over a store holding one 400,000-row run."""
    import subprocess
    import sys
    import time

    from test_web_support import free_port

    path = tmp_path_factory.mktemp("big") / "results.duckdb"
    ResultStore(path).save_record(_big_record("big-1", BIG_ROWS))
    port = free_port()
    command = [sys.executable, "-m", "rareflow.cli.main", "serve", "--store", str(path)]
    proc = subprocess.Popen([*command, "--port", str(port)], stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(f"{base}/api/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_json_results_stream_in_bounded_memory(big_server: tuple[str, int]) -> None:
    base, pid = big_server
    before, _ = _memory_mb(pid)
    with httpx.Client(base_url=base, timeout=300) as client:
        response = client.get("/api/runs/big-1/results")
    assert response.status_code == 200
    rows = json.loads(response.content)
    assert len(rows) == BIG_ROWS and sorted(r["value"] for r in rows)[-1] == (BIG_ROWS - 1) * 0.5
    _, peak = _memory_mb(pid)
    # building it whole took ~600 MB more than the 67 MB body; streamed it is ~100 MB
    assert peak - before < 250, (before, peak)


def test_whole_run_reads_are_limited_and_slots_come_back(big_server: tuple[str, int]) -> None:
    base, _ = big_server
    with httpx.Client(base_url=base, timeout=300) as client:
        held = []
        for _ in range(MAX_HEAVY):  # open downloads that are not read: each holds a slot
            stream = client.stream("GET", "/api/runs/big-1/results")
            response = stream.__enter__()
            assert response.status_code == 200
            held.append(stream)
        refused = httpx.get(f"{base}/api/runs/big-1/results", timeout=60)
        assert refused.status_code == 429 and refused.headers["retry-after"]
        for stream in held:  # the clients go away mid-download
            stream.__exit__(None, None, None)
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answer = httpx.get(
            f"{base}/api/runs/big-1/results", params={"format": "parquet"}, timeout=60
        )
        if answer.status_code == 200:
            break
        time.sleep(0.5)
    assert answer.status_code == 200  # the slots were given back


def test_streamed_formats_match_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    import pandas as pd

    from rareflow.io.export import jsonable
    from rareflow.web import api_runs

    monkeypatch.setattr(api_runs, "BATCH_ROWS", 7)  # many batches, seams between them
    path = tmp_path / "s.duckdb"
    result = make_result("baseline", 0.5, draws=3)
    store = ResultStore(path)
    store.save(result)
    expected = store.results(result.run_id)
    with live_server(path) as base, httpx.Client(base_url=base, timeout=60) as client:
        url = f"/api/runs/{result.run_id}/results"
        rows = client.get(url).json()
        csv = pd.read_csv(io.StringIO(client.get(url, params={"format": "csv"}).text))
        parquet = pd.read_parquet(io.BytesIO(client.get(url, params={"format": "parquet"}).content))
        price = client.get(url, params={"metric": "price"}).json()
    key = ["metric", "draw", "month", "region", "partner", "product"]

    def norm(frame: pd.DataFrame) -> list[Any]:
        return sorted(map(str, jsonable(frame.to_dict(orient="records"))))

    assert len(rows) == len(csv) == len(parquet) == len(expected)
    assert norm(pd.DataFrame(rows)) == norm(expected.astype(object).where(expected.notna(), None))
    assert norm(parquet) == norm(expected)
    assert csv.sort_values(key)["value"].sum() == pytest.approx(expected["value"].sum())
    assert {r["metric"] for r in price} == {"price"} and len(price) == (
        expected["metric"] == "price"
    ).sum()


# -- slow or silent clients are cut off ------------------------------------------------------
def test_connections_without_a_request_head_are_closed(tmp_path: Path) -> None:
    import socket
    import time

    with live_server(tmp_path / "s.duckdb", header_timeout=1.0) as base:
        host, port = base.removeprefix("http://").split(":")
        idle = [socket.create_connection((host, int(port)), timeout=10) for _ in range(20)]
        partial = socket.create_connection((host, int(port)), timeout=10)
        partial.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
        started = time.monotonic()
        for sock in [*idle, partial]:
            assert sock.recv(1024) == b""  # closed by the server
            sock.close()
        assert time.monotonic() - started < 8
        with httpx.Client(base_url=base, timeout=10) as client:  # real clients are served,
            assert client.get("/api/health").status_code == 200
            time.sleep(0.5)
            assert client.get("/api/health").status_code == 200  # also on a kept connection


# -- saved scenarios are bounded and can be deleted ------------------------------------------
def test_saved_scenarios_have_a_limit_and_a_delete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rareflow.web import api_scenarios

    monkeypatch.setattr(api_scenarios, "MAX_SAVED", 3)
    with live_server(tmp_path / "s.duckdb") as base, httpx.Client(base_url=base, timeout=60) as c:
        spec = c.get("/api/scenarios/baseline").json()
        for name in ("a1", "a2", "a3"):
            assert c.post("/api/scenarios", json={**spec, "name": name}).status_code == 201
        full = c.post("/api/scenarios", json={**spec, "name": "a4"})
        assert full.status_code == 409 and "delete one" in full.json()["detail"]
        assert c.post("/api/scenarios", json={**spec, "name": "a1"}).status_code == 201  # update
        assert c.delete("/api/scenarios/a2").status_code == 204
        assert c.delete("/api/scenarios/a2").status_code == 404
        assert c.delete("/api/scenarios/baseline").status_code == 409
        assert c.delete("/api/scenarios/history").status_code == 409
        long = {**spec, "name": "a4", "description": "x" * 100_000}
        assert c.post("/api/scenarios", json=long).status_code == 201
        saved = {s["name"]: s for s in c.get("/api/scenarios").json() if s["origin"] == "saved"}
        assert set(saved) == {"a1", "a3", "a4"}
        assert len(saved["a4"]["description"]) <= api_scenarios.MAX_LISTED_TEXT
        assert c.get("/api/scenarios/a4").json()["description"] == "x" * 100_000


# -- security headers, local /docs, the token in URLs ----------------------------------------
def test_security_headers_everywhere(client: httpx.Client) -> None:
    for path in ("/", "/api/health", "/docs", "/static/app.js", "/openapi.json", "/nope"):
        response = client.get(path)
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp, path
        assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
    refused = client.get("/api/health", headers={"host": "evil.example"})
    assert refused.status_code == 403 and refused.headers["x-frame-options"] == "DENY"


def test_docs_are_served_locally(client: httpx.Client) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith("/") for s in sources)  # no CDN
    assert "<script>" not in page.text  # nothing inline: the CSP forbids it
    for source in sources:
        assert client.get(source).status_code == 200, source
    assert client.get("/redoc").status_code == 404  # ReDoc would need a CDN


def test_token_cookie_is_secure_behind_a_tls_proxy(tmp_path: Path) -> None:
    token = "a-token"
    with live_server(tmp_path / "s.duckdb", token) as base:
        proxied = httpx.get(f"{base}/?token={token}", headers={"x-forwarded-proto": "https"})
        assert proxied.status_code == 303
        assert "Secure" in proxied.headers["set-cookie"]


# -- generated cases -------------------------------------------------------------------------
def test_generated_names_are_accepted_exactly_when_they_make_a_run_id(
    client: httpx.Client, baseline: dict[str, Any]
) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from rareflow.web.api_runs import RUN_ID
    from rareflow.web.inputs import NAME_PATTERN

    names = st.one_of(st.text(max_size=80), st.from_regex(NAME_PATTERN, fullmatch=True))

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(name=names)
    def check(name: str) -> None:
        response = client.post("/api/scenarios/validate", json={**baseline, "name": name})
        if NAME_PATTERN.fullmatch(name):
            assert response.status_code == 200, response.text
            assert re.fullmatch(RUN_ID, f"{name}-0123abcd")  # its runs can be fetched
        else:
            assert response.status_code == 422
            assert "name" in [p.get("field") for p in response.json()["problems"]]

    check()


def test_generated_dates_are_accepted_exactly_when_they_are_in_the_calendar(
    client: httpx.Client,
) -> None:
    from datetime import date

    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(year=st.integers(1000, 9999), month=st.integers(0, 13), day=st.integers(0, 32))
    def check(year: int, month: int, day: int) -> None:
        text = f"{year:04d}-{month:02d}-{day:02d}"
        try:
            date(year, month, day)
            real = True
        except ValueError:
            real = False
        response = client.get("/api/events", params={"since": text})
        assert response.status_code == (200 if real else 422), text

    check()
