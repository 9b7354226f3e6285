"""The dashboard in a real headless browser (Debian's chromium driven by Playwright).

Skipped when /usr/bin/chromium (or Playwright) is missing, except under CI=true, where that is
a failure: ``.ci/install-browser`` installs chromium.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from test_web_support import live_server, wait_for_run

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync",
]  # fmt: skip
WAIT_MS = 60_000


def _browser_missing() -> str | None:
    if not CHROMIUM.exists() and not shutil.which("chromium"):
        return f"{CHROMIUM} is missing (run .ci/install-browser)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is missing (pip install -e '.[dev]')"
    return None


MISSING = _browser_missing()
IN_CI = os.environ.get("CI") == "true"
pytestmark = pytest.mark.skipif(MISSING is not None and not IN_CI, reason=MISSING or "")


@pytest.fixture(autouse=True)
def _browser_present() -> None:
    if MISSING:  # only reached under CI=true: there a missing browser fails each test
        pytest.fail(f"browser tests cannot run in CI: {MISSING}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(tmp_path_factory.mktemp("browser") / "results.duckdb") as base:
        yield base


@pytest.fixture
def page(server: str, tmp_path: Path) -> Iterator[Any]:
    yield from browse(server, tmp_path)


def browse(server: str, tmp_path: Path) -> Iterator[Any]:
    """A fresh headless chromium tab on the dashboard, ready; no page error allowed."""
    from playwright.sync_api import sync_playwright

    executable = str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh user-data-dir
            executable_path=executable,
            headless=True,
            args=ARGS,
            viewport={"width": 1400, "height": 2000},
        )
        errors: list[str] = []
        tab = context.new_page()
        tab.on("pageerror", lambda e: errors.append(str(e)))
        tab.set_default_timeout(WAIT_MS)
        tab.goto(server + "/")
        tab.wait_for_selector("body[data-ready='1']")
        yield tab
        context.close()
        assert not errors, errors


def until(page: Any, expression: str, arg: Any = None) -> None:
    """Poll ``expression`` (evaluated through the debugger protocol) until it is truthy.
    Playwright's own ``wait_for_function`` evaluates its predicate with ``eval`` inside the
    page, which the dashboard's Content-Security-Policy (no 'unsafe-eval') rightly blocks."""
    deadline = time.monotonic() + WAIT_MS / 1000
    while not page.evaluate(expression, arg):
        status = page.evaluate(
            "[(document.getElementById('run-status') || {}).textContent, ...[...document.querySelectorAll('.msg')].map(m => (m.dataset.for || '') + ': ' + m.textContent).filter(t => t.length > 4)].join(' / ')"
        )
        assert time.monotonic() < deadline, f"timed out waiting for {expression}; status: {status}"
        page.wait_for_timeout(100)


def _data(page: Any, chart: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = page.evaluate(f"document.getElementById('{chart}').data || []")
    return data


def test_run_a_scenario_and_see_the_charts(page: Any, tmp_path: Path) -> None:
    assert page.input_value("#f-name") == "april-2025-licensing"
    share = page.locator(".policy [data-field='approval_share']").first
    assert share.input_value() == "calibrated"  # the bundled scenario uses the fitted path
    share.fill("0.2")  # a harsher regime than 2025's, so that shortages show
    page.fill("#f-months", "6")
    page.click("#run")
    until(page, "document.getElementById('run-status').textContent.includes('complete')")
    until(page, "(document.getElementById('chart-sankey').data || []).length > 0")
    assert page.evaluate("document.getElementById('progress').value") == 1
    shortage = _data(page, "chart-shortage")
    assert shortage and max(max(t["y"]) for t in shortage) > 0.01  # licensing causes shortages
    assert len(shortage[0]["x"]) == 6
    exports = _data(page, "chart-exports")
    assert exports and sum(sum(t["y"]) for t in exports) > 0
    prices = _data(page, "chart-prices")
    assert {t["name"] for t in prices} == {"China", "ex-China"}
    sankey = _data(page, "chart-sankey")[0]
    assert "from CHN" in sankey["node"]["label"] and sum(sankey["link"]["value"]) > 0
    for chart in ("chart-shortage", "chart-exports", "chart-prices", "chart-sankey"):
        assert page.locator(f"#{chart} svg.main-svg").count() > 0  # drawn, not just data
    layout = page.evaluate("document.getElementById('chart-shortage').layout")
    assert [m["x0"] for m in layout["shapes"]] == ["2026-11"]  # the licence's start, marked
    assert "april-2025-licence" in layout["annotations"][0]["text"]
    headings = page.locator("#headline th").all_text_contents()
    assert headings[:3] == ["region", "sector", "from"] and "value lost ($m)" in headings
    assert page.locator("#headline tr").count() > 1  # the answer, first on the page
    page.click("#headline th[data-key='peak_short']")  # sort: the deepest shortage first
    shares = page.locator("#headline tr td:nth-child(5)").all_text_contents()
    values = [float(v.rstrip("%")) for v in shares]
    assert values == sorted(values, reverse=True)
    href = page.evaluate("document.getElementById('download').href")  # absolute
    csv = page.request.get(href)
    assert csv.ok and csv.text().startswith("run_id,scenario,draw,month")
    brief = page.request.get(page.evaluate("document.getElementById('brief').href"))
    assert brief.ok and "Who is short" in brief.text()  # the one-page brief, to send
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)


def test_bad_form_entry_shows_its_message(page: Any) -> None:
    form = page.text_content(".policy")
    assert "approval share (0-1)" in form and "lead time (months)" in form  # words, units
    assert "items.min_content" not in form  # not raw field paths
    share = page.locator(".policy [data-field='approval_share']").first
    share.fill("1.5")
    page.fill("#f-months", "0")
    page.click("#validate")
    message = page.locator(".policy .msg[data-for='approval_share']").first
    message.wait_for(state="visible")
    assert "less than or equal to 1" in message.text_content()
    assert "invalid" in (share.get_attribute("class") or "")
    assert "greater than or equal to 1" in page.text_content(".msg[data-for='months']")
    assert "problems" in page.text_content("#form-message")
    page.click("#run")  # refused with the same messages; no run starts
    page.wait_for_timeout(300)
    assert "no run started" in page.text_content("#run-status")


def test_unknown_code_points_at_its_policy_field(page: Any) -> None:
    page.locator(".policy [data-field='targets']").first.fill("USX")
    page.click("#validate")
    message = page.locator(".policy .msg[data-for='targets']").first
    message.wait_for(state="visible")
    assert "unknown region" in message.text_content() and "USA" in message.text_content()


def test_two_runs_side_by_side(page: Any, server: str) -> None:
    with httpx.Client(base_url=server, timeout=60) as client:
        ids = [
            client.post("/api/runs", json={"scenario": name, "months": 4}).json()["run_id"]
            for name in ("baseline", "us-embargo")
        ]
        for run_id in ids:
            assert wait_for_run(client, run_id)["status"] == "complete"
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    page.select_option("#compare-a", ids[0])
    page.select_option("#compare-b", ids[1])
    page.click("#compare")
    for chart, run_id in (("chart-compare-a", ids[0]), ("chart-compare-b", ids[1])):
        until(
            page,
            "([chart, id]) => ((document.getElementById(chart).layout || {}).title || {})"
            ".text?.includes(id)",
            [chart, run_id],
        )
        assert _data(page, chart)
    page.wait_for_selector("#compare-table tr")
    assert "us-embargo" in page.text_content("#chart-compare-b")


@pytest.fixture(scope="module")
def mc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A store whose newest run is a Monte Carlo run (the dashboard once broke on it)."""
    from rareflow.cli.main import cli

    store = tmp_path_factory.mktemp("mc-browser") / "results.duckdb"
    assert cli(["run", "baseline", "--months", "6", "--store", str(store)]) == 0
    args = ["montecarlo", "reimpose-oct-2025", "--draws", "64", "--months", "6"]
    assert cli([*args, "--store", str(store)]) == 0
    with live_server(store) as base:
        yield base


def test_a_monte_carlo_run_gets_a_fan_chart(mc_server: str, tmp_path: Path) -> None:
    for tab in browse(mc_server, tmp_path):
        assert tab.input_value("#run-select").startswith("reimpose-oct-2025-mc-")
        traces = _data(tab, "chart-shortage")
        assert any(t.get("fill") == "tonexty" for t in traces)  # the p5-p95 band
        assert any("(median)" in t.get("name", "") for t in traces)
        assert "Monte Carlo" in tab.text_content("#chart-sankey")  # says why it is empty
        assert tab.locator("#headline tr").count() > 1  # median path, mean loss
        tab.wait_for_selector("#compare-table tr")  # compare still works


def test_an_empty_store_offers_the_bundled_scenarios(tmp_path: Path) -> None:
    """The first visit shows the bundled scenarios, each one click from a run."""
    with live_server(tmp_path / "empty.duckdb") as base:
        for tab in browse(base, tmp_path):
            assert tab.is_visible("#welcome")
            tab.click("#starters button:text('Run baseline')")
            until(tab, "document.getElementById('run-status').textContent.includes('complete')")
            until(tab, "document.getElementById('welcome').hidden")
            assert tab.input_value("#run-select").startswith("baseline-")
