"""The analyst's dashboard panels in real headless chromium: a bill of materials uploaded and
checked, the shortage map drawn with no request leaving the machine, and a run's progress
followed by server-sent events instead of polling."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rareflow.analytics.bom import EXAMPLE
from test_browser_dashboard import IN_CI, MISSING, _browser_present, browse, until
from test_web_support import live_server, wait_for_run

pytestmark = pytest.mark.skipif(MISSING is not None and not IN_CI, reason=MISSING or "")
__all__ = ["_browser_present"]  # the autouse fixture: a missing browser fails each test in CI


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A store holding one run of the returning October 2025 controls."""
    with live_server(tmp_path_factory.mktemp("analyst-browser") / "results.duckdb") as base:
        with httpx.Client(base_url=base, timeout=60) as client:
            body = {"scenario": "reimpose-oct-2025", "months": 4}
            run_id = client.post("/api/runs", json=body).json()["run_id"]
            assert wait_for_run(client, run_id)["status"] == "complete"
        yield base


@pytest.fixture
def page(server: str, tmp_path: Path) -> Iterator[Any]:
    yield from browse(server, tmp_path)


def _requests(page: Any) -> list[Any]:
    """Every request the page makes from a fresh load on."""
    seen: list[Any] = []
    page.on("request", lambda request: seen.append(request))
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    return seen


def test_upload_a_bill_of_materials_and_see_what_is_caught(page: Any) -> None:
    page.set_input_files("#bom-file", str(EXAMPLE))
    assert page.input_value("#bom-scenario") == "reimpose-oct-2025"
    page.click("#bom-check")
    until(page, "document.querySelectorAll('#bom-table tr').length > 1")
    assert "parts caught" in page.text_content("#bom-message")
    headings = page.locator("#bom-table th").all_text_contents()
    assert headings[:4] == ["product", "part", "supplier", "caught by"]
    assert "alternatives" in headings and "short from" in headings
    assert page.locator("#bom-table tr.caught").count() > 0
    assert "april-2025-licence" in page.text_content("#bom-table")


def test_a_bad_bill_of_materials_gets_a_clear_message(page: Any, tmp_path: Path) -> None:
    bad = tmp_path / "my-parts.csv"
    bad.write_text(EXAMPLE.read_text().replace(",CHN,3,20000,", ",XXX,3,20000,", 1))
    page.set_input_files("#bom-file", str(bad))
    page.click("#bom-check")
    until(page, "document.getElementById('bom-message').classList.contains('error')")
    message = page.text_content("#bom-message")
    assert "my-parts.csv" in message and "XXX" in message and "row 2" in message
    assert page.locator("#bom-table tr.caught").count() == 0


def test_the_shortage_map_draws_offline(page: Any, server: str) -> None:
    seen = _requests(page)
    until(page, "document.querySelectorAll('#chart-map path.choroplethlocation').length > 150")
    trace = page.evaluate("document.getElementById('chart-map').data[0]")
    assert trace["type"] == "choropleth" and {"DEU", "FRA", "CHN", "USA"} <= set(trace["locations"])
    assert max(trace["z"]) > 0  # some region runs short
    until(page, "document.querySelectorAll('#chart-gdp-map path.choroplethlocation').length > 150")
    maps = {r.url for r in seen if "/maps/" in r.url}  # each map may ask for the outlines
    assert maps == {f"{server}/static/maps/world_110m.json"}  # the outlines, from this service
    outside = [r.url for r in seen if not r.url.startswith((server, "data:", "blob:"))]
    assert not outside, outside  # nothing leaves the machine: no topojson or tiles from a CDN


def test_the_gdp_loss_map_draws_every_region_with_a_value(page: Any, server: str) -> None:
    until(page, "document.querySelectorAll('#chart-gdp-map path.choroplethlocation').length > 150")
    trace = page.evaluate("document.getElementById('chart-gdp-map').data[0]")
    shortage = page.evaluate("document.getElementById('chart-map').data[0]")
    assert trace["type"] == "choropleth" and trace["locations"] == shortage["locations"]
    shares = trace["z"]
    assert all(isinstance(z, int | float) for z in shares)  # no region left blank
    assert max(shares) < 0.05 and min(shares) > 0  # a share of GDP, in every region
    assert len(set(shares)) > 3  # each country takes its own region's share
    impact = {r.strip() for r in page.locator("#impact tr td:first-child").all_text_contents()}
    assert {"USA", "DEU", "JPN"} <= impact  # the table beside it, per region
    page.select_option("#gdp-measure", "gdp_loss_usd")
    until(
        page,
        "(document.getElementById('chart-gdp-map').data[0].colorbar.title || {}).text === 'USD'",
    )
    usd = page.evaluate("document.getElementById('chart-gdp-map').data[0].z")
    assert max(usd) > 1e6 and [u > 0 for u in usd] == [z > 0 for z in shares]
    _no_loss_is_drawn_as_zero(page, server)


def _no_loss_is_drawn_as_zero(page: Any, server: str) -> None:
    """A run with no shortage: every country is drawn, at zero (not blank)."""
    with httpx.Client(base_url=server, timeout=60) as client:
        run_id = client.post("/api/runs", json={"scenario": "baseline", "months": 2}).json()[
            "run_id"
        ]
        assert wait_for_run(client, run_id)["status"] == "complete"
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    page.select_option("#run-select", run_id)
    until(page, "document.getElementById('impact-note').textContent.includes('zero loss')")
    until(page, "Math.max(...document.getElementById('chart-gdp-map').data[0].z) === 0")
    trace = page.evaluate("document.getElementById('chart-gdp-map').data[0]")
    assert len(trace["z"]) == len(trace["locations"]) > 150 and set(trace["z"]) == {0}
    assert page.locator("#chart-gdp-map path.choroplethlocation").count() > 150


def test_progress_arrives_by_server_sent_events(page: Any, server: str) -> None:
    seen = _requests(page)
    page.fill("#f-months", "3")
    page.click("#run")
    until(page, "document.getElementById('run-status').textContent.includes('complete')")
    assert page.evaluate("document.getElementById('progress').value") == 1
    streams = [r for r in seen if r.url.endswith("/events")]
    assert len(streams) == 1 and streams[0].resource_type == "eventsource"
    run_id = streams[0].url.split("/")[-2]
    polls = [r for r in seen if re.fullmatch(rf".*/api/runs/{re.escape(run_id)}", r.url)]
    assert not polls  # no status polling
    until(page, "(id) => document.getElementById('run-select').value === id", run_id)
