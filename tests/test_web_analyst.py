"""The dashboard's analyst endpoints over a real server: a run's progress as server-sent
events, shortage by region for the map, and the exposure of an uploaded bill of materials."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rareflow.analytics.bom import EXAMPLE
from test_web_support import live_server, wait_for_run

MONTHS = 4


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    store = tmp_path_factory.mktemp("analyst") / "results.duckdb"
    with live_server(store) as base, httpx.Client(base_url=base, timeout=120) as c:
        yield c


def _events(client: httpx.Client, run_id: str) -> list[dict[str, object]]:
    with client.stream("GET", f"/api/runs/{run_id}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in response.iter_lines() if line.startswith("data: ")]
    return [json.loads(line[len("data: ") :]) for line in lines]


def test_progress_arrives_as_server_sent_events_until_the_run_ends(client: httpx.Client) -> None:
    started = client.post("/api/runs", json={"scenario": "reimpose-oct-2025", "months": MONTHS})
    run_id = started.json()["run_id"]
    events = _events(client, run_id)  # the stream ends by itself once the run is complete
    assert events[-1]["status"] == "complete" and events[-1]["progress"] == 1.0
    progress = [float(e["progress"]) for e in events]  # type: ignore[arg-type]
    assert progress == sorted(progress)
    assert len({json.dumps(e, sort_keys=True) for e in events}) == len(events)  # changes only
    assert _events(client, run_id) == [events[-1]]  # a finished run: one event, then the end
    assert client.get("/api/runs/no-such-run/events").status_code == 404


def test_the_map_gives_each_region_its_worst_sector_and_each_country_its_region(
    client: httpx.Client,
) -> None:
    started = client.post("/api/runs", json={"scenario": "reimpose-oct-2025", "months": MONTHS})
    run_id = started.json()["run_id"]
    assert wait_for_run(client, run_id)["status"] == "complete"
    regions = client.get(f"/api/runs/{run_id}/map").json()["regions"]
    by_code = {r["region"]: r for r in regions}
    assert {"CHN", "DEU", "XEU", "ROW"} <= set(by_code)
    summary = client.get(f"/api/runs/{run_id}/summary").json()["summary"]
    deu = [r for r in summary if r["region"] == "DEU"]
    assert by_code["DEU"]["peak_shortage_share"] == pytest.approx(
        max(r["peak_shortage_share"] for r in deu)
    )
    countries = client.get(f"/api/runs/{run_id}/map").json()["countries"]
    region_of = {c["id"]: c["region"] for c in countries}
    assert region_of["DEU"] == "DEU" and region_of["FRA"] == "XEU" and region_of["USA"] == "USA"
    assert len(countries) > 150 and {c["region"] for c in countries} <= set(by_code)
    assert sum(r == "ROW" for r in region_of.values()) > 80  # every country not listed


def test_an_uploaded_bill_of_materials_shows_caught_parts(client: httpx.Client) -> None:
    body = {"csv": EXAMPLE.read_text(), "filename": "my parts.csv", "scenario": "reimpose-oct-2025"}
    answer = client.post("/api/exposure", json=body)
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["file"] == "my_parts.csv" and len(data["parts"]) == 6
    caught = [p for p in data["parts"] if p["caught_by"]]
    assert caught and all(isinstance(p["alternatives"], list | None) for p in data["parts"])
    assert {"first_shortage", "share_at_risk", "months_of_cover"} <= set(caught[0])


def test_a_bad_bill_of_materials_gets_every_problem_named(
    client: httpx.Client, tmp_path: Path
) -> None:
    text = EXAMPLE.read_text().replace(",CHN,3,20000,", ",XXX,3,20000,", 1)
    text = text.replace("2.0,kg", "heavy,kg", 1)
    answer = client.post("/api/exposure", json={"csv": text, "filename": "parts.csv"})
    assert answer.status_code == 400
    problems = answer.json()["problems"]
    messages = " | ".join(p["message"] for p in problems)
    assert "file parts.csv" in messages and "rareflow-bom-" not in messages  # no server paths
    assert "'XXX'" in messages and "'heavy'" in messages and "row 2" in messages
    empty = client.post("/api/exposure", json={"csv": "", "filename": "empty.csv"})
    assert empty.status_code == 400 and "empty.csv" in empty.json()["detail"]
    unknown = client.post("/api/exposure", json={"csv": text, "scenario": "no-such"})
    assert unknown.status_code == 404
