"""The one-page brief of a run (``rareflow report run``, ``GET /api/runs/{id}/brief``)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from rareflow.cli.main import cli
from rareflow.io.store import ResultStore
from test_web_support import live_server


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    store = tmp_path_factory.mktemp("brief") / "s.duckdb"
    assert cli(["run", "reimpose-oct-2025", "--months", "6", "--store", str(store)]) == 0
    return store, str(ResultStore(store).runs()["run_id"].iloc[0])


def test_report_run_writes_an_offline_brief(stored: tuple[Path, str], tmp_path: Path) -> None:
    store, run_id = stored
    out = tmp_path / "brief.html"
    assert cli(["report", "run", run_id, "--out", str(out), "--store", str(store)]) == 0
    page = out.read_text()
    assert "Who is short, from when, for how long, at what cost" in page
    assert run_id in page and "oct-2025-licence" in page  # the run and its measures
    assert "<th>value lost ($m)</th>" in page and "Assumptions" in page
    assert "https://" in page.split("<h2>Sources</h2>")[1]  # the scenario's sources
    assert '<script src="http' not in page and "Plotly" in page  # plotly.js inlined


def test_a_missing_run_is_a_clear_error(stored: tuple[Path, str], tmp_path: Path) -> None:
    store, _ = stored
    out = tmp_path / "brief.html"
    assert cli(["report", "run", "nope", "--out", str(out), "--store", str(store)]) == 2
    assert not out.exists()


def test_the_service_offers_the_brief_for_download(stored: tuple[Path, str]) -> None:
    store, run_id = stored
    with live_server(store) as base:
        answer = httpx.get(f"{base}/api/runs/{run_id}/brief", timeout=60)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert "attachment" in answer.headers["content-disposition"]
    assert "Who is short" in answer.text
