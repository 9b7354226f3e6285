"""The HTTP API over a real server on 127.0.0.1: data, scenarios, runs in the background,
results in three formats, comparisons, and the store shared with the CLI."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from rareflow.cli.main import cli
from test_web_support import live_server, wait_for_run

MONTHS = 4


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("web") / "results.duckdb"


@pytest.fixture(scope="module")
def client(store: Path) -> Iterator[httpx.Client]:
    with live_server(store) as base, httpx.Client(base_url=base, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def finished(client: httpx.Client) -> list[str]:
    """Two completed runs: the April 2025 licensing and the baseline."""
    ids = []
    for name in ("april-2025-licensing", "baseline"):
        response = client.post("/api/runs", json={"scenario": name, "months": MONTHS})
        assert response.status_code == 202
        ids.append(response.json()["run_id"])
    for run_id in ids:
        assert wait_for_run(client, run_id)["status"] == "complete"
    return ids


# -- data ------------------------------------------------------------------------------------
def test_data_endpoints(client: httpx.Client) -> None:
    regions = client.get("/api/regions").json()
    assert {"region": "CHN", "name": "China", "kind": "country"} in regions
    assert any(p["product"] == "ndfeb_sintered" for p in client.get("/api/products").json())
    codes = client.get("/api/codes").json()
    assert "Dy" in codes["elements"] and "ev_traction" in codes["sectors"]
    assert "export_license" in client.get("/api/policy-types").json()


def test_shares_and_concentration(client: httpx.Client) -> None:
    shares = client.get("/api/shares", params={"stage": "magnet"}).json()
    assert shares[0]["region"] == "CHN" and sum(r["share"] for r in shares) == pytest.approx(1.0)
    hhi = client.get("/api/risk/concentration").json()
    assert {r["stage"] for r in hhi} >= {"mining", "separation", "magnet"}
    assert client.get("/api/shares", params={"stage": "smelting"}).status_code == 422
    unknown = client.get("/api/shares", params={"stage": "magnet", "element": "Xx"})
    assert unknown.status_code == 400 and "unknown element" in unknown.json()["detail"]


def test_criticality_and_events(client: httpx.Client) -> None:
    table = client.get("/api/risk/criticality", params={"assessment": "eu2017"})
    assert table.status_code == 200 and {"material", "SR", "EI"} <= set(table.json()[0])
    network = client.get("/api/risk/criticality", params={"source": "baseline", "element": "Dy"})
    assert network.status_code == 200 and {r["element"] for r in network.json()} == {"Dy"}
    events = client.get("/api/events", params={"since": "2025-04", "until": "2025-04"}).json()
    assert events and all(e["date"].startswith("2025-04") for e in events)
    assert client.get("/api/events", params={"since": "April"}).status_code == 422


# -- scenarios -------------------------------------------------------------------------------
def test_list_and_get_scenarios(client: httpx.Client) -> None:
    names = {s["name"] for s in client.get("/api/scenarios").json()}
    assert {"baseline", "april-2025-licensing"} <= names
    scenario = client.get("/api/scenarios/april-2025-licensing").json()
    assert scenario["policies"][0]["type"] == "export_license"
    missing = client.get("/api/scenarios/no-such-scenario")
    assert missing.status_code == 404 and missing.json()["problems"][0]["field"] == "scenario"


@pytest.mark.parametrize("name", ["..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "a%20b"])
def test_no_paths_as_scenario_names(client: httpx.Client, name: str) -> None:
    assert client.get(f"/api/scenarios/{name}").status_code in (404, 422)
    started = client.post("/api/runs", json={"scenario": "/etc/passwd"})
    assert started.status_code == 422


def test_validate_json_and_yaml(client: httpx.Client) -> None:
    spec = client.get("/api/scenarios/april-2025-licensing").json()
    assert client.post("/api/scenarios/validate", json=spec).json()["valid"] is True
    text = "name: mine\nstart: 2026-11\nmonths: 3\npolicies: []\n"
    yaml_ok = client.post(
        "/api/scenarios/validate", content=text, headers={"content-type": "application/yaml"}
    )
    assert yaml_ok.status_code == 200 and yaml_ok.json()["scenario"]["name"] == "mine"


def _problems(response: httpx.Response) -> list[dict]:
    assert response.status_code == 422, response.text
    return response.json()["problems"]


def test_invalid_scenarios_name_the_field(client: httpx.Client) -> None:
    spec = client.get("/api/scenarios/april-2025-licensing").json()
    spec["policies"][0]["approval_share"] = 1.5
    problem = _problems(client.post("/api/scenarios/validate", json=spec))[0]
    assert problem["field"] == "policies[0].approval_share"
    assert "less than or equal to 1" in problem["expected"]
    spec["policies"][0]["approval_share"] = 0.5
    spec["policies"][0]["targets"] = ["USX"]
    problem = _problems(client.post("/api/scenarios/validate", json=spec))[0]
    assert problem["field"] == "policies[0].targets[0]" and "USA" in problem["hint"]
    spec["policies"][0]["targets"] = ["USA"]
    spec["uncertainty"] = {"parameters": {"no_such": {"dist": "uniform", "low": 0, "high": 1}}}
    problem = _problems(client.post("/api/scenarios/validate", json=spec))[0]
    assert problem["field"] == "uncertainty.parameters.no_such"  # checked as the CLI does


@pytest.mark.parametrize(
    ("body", "kind", "words"),
    [
        ("a: &x [1]\nb: *x\n", "application/yaml", "aliases"),
        ("!!python/object/apply:os.system ['true']", "application/yaml", "invalid YAML"),
        ("name: [unclosed", "application/yaml", "invalid YAML"),
        ("{", "application/json", "invalid JSON"),
        ("[1, 2]", "application/json", "mapping"),
        ('{"name": ' + "[" * 50_000 + "]" * 50_000 + "}", "application/json", "too deeply"),
        ("name: " + "[" * 20_000 + "]" * 20_000, "application/yaml", "too deeply"),
        ("a:\n" + "".join(" " * i + "- \n" for i in range(1, 600)), "application/yaml", "deeply"),
    ],
)
def test_bad_bodies(client: httpx.Client, body: str, kind: str, words: str) -> None:
    response = client.post("/api/scenarios/validate", content=body, headers={"content-type": kind})
    assert response.status_code == 422 and words in response.json()["detail"]


def test_limits(client: httpx.Client) -> None:
    policy = {"type": "export_ban", "start": "2026-11", "items": {"elements": ["Dy"]}}
    many = [{**policy, "id": f"p{i}"} for i in range(51)]
    spec = {"name": "big", "policies": many}
    assert "too many policies" in client.post("/api/scenarios/validate", json=spec).text
    spec = {"name": "long", "months": 241}
    assert _problems(client.post("/api/scenarios/validate", json=spec))[0]["field"] == "months"
    too_long = client.post("/api/runs", json={"scenario": "baseline", "months": 10_000})
    assert too_long.status_code == 422
    assert client.post("/api/runs", json={"scenario": "baseline", "draws": 5}).status_code == 422
    huge = client.post(
        "/api/scenarios/validate",
        content=b"{" + b" " * 300_000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413


def test_save_scenario_then_run_it(client: httpx.Client) -> None:
    spec = {"name": "my-ban", "start": "2026-11", "months": 3, "policies": [
        {"type": "export_ban", "id": "ban", "start": "2026-11", "items": {"elements": ["Dy"]},
         "targets": ["USA"]},
    ]}  # fmt: skip
    assert client.post("/api/scenarios", json=spec).status_code == 201
    assert "my-ban" in {s["name"] for s in client.get("/api/scenarios").json()}
    assert client.get("/api/scenarios/my-ban").json()["policies"][0]["id"] == "ban"
    clash = client.post("/api/scenarios", json={**spec, "name": "baseline"})
    assert clash.status_code == 409
    text = "name: from-yaml\nmonths: 2\npolicies: []\n"
    made = client.post("/api/scenarios", content=text, headers={"content-type": "text/yaml"})
    assert made.status_code == 201 and made.json()["scenario"]["months"] == 2
    run_id = client.post("/api/runs", json={"scenario": "my-ban"}).json()["run_id"]
    assert wait_for_run(client, run_id)["status"] == "complete"


# -- runs ------------------------------------------------------------------------------------
def test_run_answers_at_once_then_progresses(client: httpx.Client) -> None:
    response = client.post("/api/runs", json={"scenario": "us-embargo", "months": MONTHS})
    assert response.status_code == 202
    started = response.json()
    assert started["status"] in ("queued", "running")  # not run in the request
    state = wait_for_run(client, started["run_id"])
    assert state["status"] == "complete" and state["progress"] == 1.0 and state["months"] == MONTHS


def test_progress_from_a_worker_thread(
    client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run reports progress while it runs, in a worker thread (engine hook faked here)."""
    import rareflow.engine.run as engine

    real, release, seen = engine.run, threading.Event(), {}

    def run(scenario: Any, *, progress: Any = None, **kwargs: Any) -> Any:
        seen["thread"] = threading.current_thread().name
        progress(0.5)
        release.wait(timeout=30)
        return real(scenario, **kwargs)

    monkeypatch.setattr(engine, "run", run)
    run_id = client.post("/api/runs", json={"scenario": "baseline", "months": 2}).json()["run_id"]
    try:
        deadline = time.monotonic() + 30
        while (state := client.get(f"/api/runs/{run_id}").json())["progress"] < 0.5:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert state["status"] == "running" and state["progress"] == pytest.approx(0.5)
    finally:
        release.set()
    assert wait_for_run(client, run_id)["status"] == "complete"
    assert seen["thread"].startswith("rareflow-run")


def test_inline_spec_run(client: httpx.Client) -> None:
    spec = {"name": "inline", "start": "2027-01", "months": 2}
    run_id = client.post("/api/runs", json={"spec": spec}).json()["run_id"]
    assert run_id.startswith("inline-") and wait_for_run(client, run_id)["status"] == "complete"
    both = client.post("/api/runs", json={"spec": spec, "scenario": "baseline"})
    assert both.status_code == 400


def test_results_in_three_formats(client: httpx.Client, finished: list[str]) -> None:
    run_id = finished[0]
    rows = client.get(f"/api/runs/{run_id}/results", params={"metric": "price"}).json()
    assert rows and {r["metric"] for r in rows} == {"price"}
    csv = client.get(f"/api/runs/{run_id}/results", params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in csv.headers["content-disposition"]
    frame = pd.read_csv(io.StringIO(csv.text))
    parquet = client.get(f"/api/runs/{run_id}/results", params={"format": "parquet"})
    assert len(pd.read_parquet(io.BytesIO(parquet.content))) == len(frame)
    assert set(frame["month"]) == {"2026-11", "2026-12", "2027-01", "2027-02"}
    bad = client.get(f"/api/runs/{run_id}/results", params={"metric": "nope"})
    assert bad.status_code == 400 and "unknown metric" in bad.json()["detail"]
    assert client.get("/api/runs/no-such-run/results").status_code == 404


def test_charts_summary_and_compare(client: httpx.Client, finished: list[str]) -> None:
    licensing, baseline = finished
    charts = client.get(f"/api/runs/{licensing}/charts").json()
    assert len(charts["months"]) == MONTHS and charts["shortage"]
    assert all(len(s["values"]) == MONTHS for s in charts["shortage"] + charts["exports"])
    assert set(charts["prices"]["dy_oxide"]) == {"china", "ex_china"}
    assert "from CHN" in charts["sankey"]["nodes"] and charts["sankey"]["value"]
    summary = client.get(f"/api/runs/{licensing}/summary").json()
    assert summary["summary"] and summary["peak_prices"]
    diff = client.get("/api/compare", params={"a": baseline, "b": licensing}).json()
    assert diff["scenario_b"] == "april-2025-licensing" and diff["sectors"]


def test_cli_and_api_share_the_store(
    client: httpx.Client, finished: list[str], store: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["runs", "--store", str(store), "--format", "json"]) == 0
    seen_by_cli = {r["run_id"] for r in json.loads(capsys.readouterr().out)}
    assert set(finished) <= seen_by_cli
    assert cli(["run", "baseline", "--months", "2", "--store", str(store), "--format", "json"]) == 0
    run_id = json.loads(capsys.readouterr().out)["run_id"]
    assert run_id in {r["run_id"] for r in client.get("/api/runs").json()}
    assert client.get(f"/api/runs/{run_id}").json()["status"] == "complete"


def test_several_clients_at_once(client: httpx.Client) -> None:
    base = str(client.base_url)
    ids: list[str] = []

    def start() -> None:
        with httpx.Client(base_url=base, timeout=60) as own:
            ids.append(
                own.post("/api/runs", json={"scenario": "baseline", "months": 2}).json()["run_id"]
            )

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(set(ids)) == 4
    assert all(wait_for_run(client, i)["status"] == "complete" for i in ids)
    listed = {r["run_id"] for r in client.get("/api/runs").json()}
    assert set(ids) <= listed


def test_openapi_document(client: httpx.Client) -> None:
    doc = client.get("/openapi.json").json()
    assert {"/api/runs", "/api/runs/{run_id}/results", "/api/scenarios/validate"} <= set(
        doc["paths"]
    )


def test_problem_messages_are_written_for_a_form(client: httpx.Client) -> None:
    """The form shows a problem beside its field: the message names neither the request
    body as a 'file' nor the field path again."""
    spec = client.get("/api/scenarios/april-2025-licensing").json()
    spec["policies"][0]["approval_share"] = 1.5
    problem = _problems(client.post("/api/scenarios/validate", json=spec))[0]
    assert problem["field"] == "policies[0].approval_share"
    assert "request body" not in problem["message"] and "policies[0]" not in problem["message"]
    assert "1.5" in problem["message"]
