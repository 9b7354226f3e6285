"""Binding, tokens, hosts and origins, media types; restarts; a store busy in another process."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from rareflow.cli.main import cli
from rareflow.errors import UserInputError
from rareflow.web.security import check_bind
from rareflow.web.storage import StoreBusy, WebStore
from test_web_support import live_server, wait_for_run

TOKEN = "s3cret-token"


def test_bind_needs_a_token_off_loopback() -> None:
    check_bind("127.0.0.1", None)
    check_bind("0.0.0.0", TOKEN)
    with pytest.raises(UserInputError, match="without a token"):
        check_bind("0.0.0.0", None)


def test_serve_refuses_public_bind_without_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("RAREFLOW_TOKEN", raising=False)
    assert cli(["serve", "--host", "0.0.0.0", "--port", "1"]) == 2
    assert "without a token" in capsys.readouterr().err


def test_token_required_on_every_request(tmp_path: Path) -> None:
    with live_server(tmp_path / "s.duckdb", TOKEN) as base:
        for path in ("/", "/api/regions", "/openapi.json", "/static/app.js"):
            refused = httpx.get(base + path)
            assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        assert (
            httpx.get(base + "/api/regions", headers={"authorization": "Bearer nope"}).status_code
            == 401
        )
        ok = httpx.get(base + "/api/regions", headers={"authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
        assert (
            httpx.get(base + "/api/regions", headers={"x-rareflow-token": TOKEN}).status_code == 200
        )
        assert httpx.get(base + f"/api/regions?token={TOKEN}").status_code == 401  # page only
        with httpx.Client(base_url=base) as browser:  # the page's link sets a cookie
            page = browser.get(f"/?token={TOKEN}")
            assert page.status_code == 303 and page.headers["location"] == "/"  # out of the URL
            cookie = page.headers["set-cookie"]
            assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
            assert "Secure" not in cookie  # plain http here; see test_reliability_web for TLS
            assert browser.get("/").status_code == 200
            assert browser.get("/api/regions").status_code == 200
        again = httpx.get(base + f"/?token={TOKEN}")  # the link works once only
        assert again.status_code == 401 and "only once" in again.json()["detail"]


def test_host_origin_and_media_type(tmp_path: Path) -> None:
    with live_server(tmp_path / "s.duckdb") as base, httpx.Client(base_url=base) as client:
        assert client.get("/api/regions", headers={"host": "evil.example"}).status_code == 403
        assert client.get("/api/regions", headers={"host": "localhost:1234"}).status_code == 200
        cross = client.post(
            "/api/runs", json={"scenario": "baseline"}, headers={"origin": "http://evil.example"}
        )
        assert cross.status_code == 403
        plain = client.post("/api/runs", content=b'{"scenario": "baseline"}',
                            headers={"content-type": "text/plain"})  # fmt: skip
        assert plain.status_code == 415
        assert client.get("/api/runs/..").status_code in (404, 422)


def test_restart_keeps_results_and_fails_interrupted(tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    with live_server(store) as base, httpx.Client(base_url=base, timeout=60) as client:
        run_id = client.post("/api/runs", json={"scenario": "baseline", "months": 2}).json()[
            "run_id"
        ]
        assert wait_for_run(client, run_id)["status"] == "complete"
    WebStore(store).add_job("cut-short-1234", "baseline")  # as if a server died mid-run
    WebStore(store).update_job("cut-short-1234", "running", 0.4, "simulating")
    with live_server(store) as base, httpx.Client(base_url=base, timeout=60) as client:
        assert client.get(f"/api/runs/{run_id}").json()["status"] == "complete"
        assert client.get(f"/api/runs/{run_id}/results").json()
        cut = client.get("/api/runs/cut-short-1234").json()
        assert cut["status"] == "failed" and "interrupted" in cut["error"]
        listed = {r["run_id"]: r["status"] for r in client.get("/api/runs").json()}
        assert listed == {run_id: "complete", "cut-short-1234": "failed"}
        assert client.get("/api/runs/cut-short-1234/results").status_code == 409


HOLD = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _hold(path: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_store_busy_then_free(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    WebStore(path).jobs()  # create the file
    holder = _hold(path, 1.0)
    try:
        with pytest.raises(StoreBusy, match="busy"):
            WebStore(path, retry_seconds=0.2).jobs()
        started = time.monotonic()
        assert WebStore(path, retry_seconds=20).jobs() == []  # waits for the other process
        assert time.monotonic() - started < 15
    finally:
        holder.wait(timeout=30)


def test_busy_store_answers_503(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with live_server(path, retry_seconds=0.3) as base, httpx.Client(base_url=base) as client:
        assert client.get("/api/runs").status_code == 200
        holder = _hold(path, 2.0)
        try:
            busy = client.get("/api/runs")
            assert busy.status_code == 503 and busy.headers["retry-after"]
            assert "busy" in busy.json()["detail"]
        finally:
            holder.wait(timeout=30)
        assert client.get("/api/runs").status_code == 200
