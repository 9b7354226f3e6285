"""The dashboard's check against 2025 in real headless chromium: the fitted months, the skill
against the naive forecasts, the prices and stoppages, and the forecast's bands."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rareflow.history.observed import calibration_dir
from test_browser_dashboard import IN_CI, MISSING, _browser_present, browse, until
from test_web_support import live_server

NO_DATA = not (calibration_dir() / "china_magnet_exports_monthly.csv").exists()
pytestmark = [
    pytest.mark.skipif(MISSING is not None and not IN_CI, reason=MISSING or ""),
    pytest.mark.skipif(NO_DATA, reason="../shared/data/calibration absent"),
]
__all__ = ["_browser_present"]  # the autouse fixture: a missing browser fails each test in CI


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(tmp_path_factory.mktemp("history-browser") / "results.duckdb") as base:
        yield base


@pytest.fixture
def page(server: str, tmp_path: Path) -> Iterator[Any]:
    yield from browse(server, tmp_path)


def test_check_the_model_against_2025_and_read_its_forecast(page: Any) -> None:
    page.click("#history-check")
    until(page, "(document.getElementById('chart-history').data || []).length > 0")
    message = page.text_content("#history-message")
    assert "of 14" in message and "trough 2025-05" in message
    skill = page.locator("#history-skill tr")
    assert skill.nth(0).locator("th").all_text_contents()[:3] == [
        "series", "months observed", "model error (MAPE)"]  # fmt: skip
    assert skill.nth(1).locator("td").first.text_content() == "World"
    assert page.locator("#history-prices tr").count() > 2
    ratios = page.locator("#history-ratios tr")
    assert ratios.count() > 2 and "x" in ratios.nth(1).locator("td").nth(2).text_content()
    stoppages = page.locator("#history-stoppages tr")
    assert stoppages.count() == 15  # the heading and the 14 reported stoppages
    assert "Suzuki" in page.text_content("#history-stoppages")
    assert "no report names a stoppage" in page.text_content("#history-unreported")
    names = page.evaluate("document.getElementById('chart-history').data.map((t) => t.name)")
    for name in ("observed (customs)", "modelled (fitted)", "forecast", "posterior 5-95%",
                 "90% with the in-sample error", "naive: persistence"):  # fmt: skip
        assert name in names
    forecast = page.evaluate(
        "document.getElementById('chart-history').data.find((t) => t.name === 'forecast').x"
    )
    assert forecast[0] == "2025-10" and forecast[-1] == "2026-12"
    hindcast = page.evaluate("document.getElementById('chart-hindcast').data.map((t) => t.name)")
    assert hindcast == [f"{p}, ex-China" for p in ("lace_oxide", "ndpr_oxide", "dy_oxide",
                                                    "tb_oxide")]  # fmt: skip
    summary = page.locator("#hindcast-summary tr")
    assert summary.count() == 9  # the heading and four products in two markets
    assert "x" in summary.nth(1).locator("td").nth(3).text_content()
    fill = page.locator("#hindcast-fill tr")
    assert fill.count() == 5  # the heading and 2010-2013
    assert fill.nth(2).locator("td").nth(1).text_content() == "100.0%"  # 2011, modelled
    assert "52.0%" in fill.nth(2).locator("td").nth(2).text_content()  # 2011, observed
    page.select_option("#history-series", "DEU")
    until(page, "document.querySelector('#chart-history .gtitle').textContent.includes('DEU')")
