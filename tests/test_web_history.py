"""The model against what happened, over a real server: the backtest and the forecast as the
dashboard reads them, and a bad month refused naming the field."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from rareflow.history.observed import calibration_dir
from test_web_support import live_server

pytestmark = pytest.mark.skipif(
    not (calibration_dir() / "china_magnet_exports_monthly.csv").exists(),
    reason="../shared/data/calibration absent",
)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    store = tmp_path_factory.mktemp("web-history") / "results.duckdb"
    with live_server(store) as base, httpx.Client(base_url=base, timeout=120) as c:
        yield c


def test_backtest_gives_modelled_and_observed_rows_and_skill(client: httpx.Client) -> None:
    body = client.get("/api/history/backtest").json()
    world = [r for r in body["rows"] if r["destination"] == "World"]
    assert world[0]["month"] == "2024-01" and world[-1]["month"] == body["until"]
    may = next(r for r in world if r["month"] == "2025-05")
    assert may["observed_tonnes"] == pytest.approx(1238.2, abs=1) and may["modelled_tonnes"] > 0
    summary = {s["destination"]: s for s in body["summary"]}
    assert summary["World"]["in_sample_mape"] < summary["World"]["in_sample_persistence_mape"]
    assert summary["World"]["rolling_n"] == 0  # the refits are the CLI's (30 s)
    assert {"product", "market", "direction_right"} <= set(body["price_metrics"][0])
    assert body["stoppages"]["events"] == 14
    assert client.get("/api/history/backtest").json() == body  # kept, not recomputed


def test_forecast_starts_after_the_fitted_window(client: httpx.Client) -> None:
    body = client.get("/api/history/forecast", params={"until": "2026-01", "draws": 8}).json()
    assert body["fitted_through"] == "2025-09" and body["draws"] == 8
    world = [r for r in body["rows"] if r["destination"] == "World"]
    assert [r["month"] for r in world] == ["2025-10", "2025-11", "2025-12", "2026-01"]
    for r in world:
        assert r["posterior_p5"] <= r["posterior_p50"] <= r["posterior_p95"]
        assert r["low_90"] <= r["high_90"] and r["persistence_tonnes"] > 0


@pytest.mark.parametrize(("until", "status", "needle"), [
    ("2025-06", 400, "after 2025-09"),  # inside the fitted window
    ("7482-11", 400, "at most 2035-09"),  # beyond the horizon (schemathesis found it: 500)
    ("2025-13", 422, "until"),  # not a month
])  # fmt: skip
def test_a_bad_month_is_refused_naming_the_field(
    client: httpx.Client, until: str, status: int, needle: str
) -> None:
    response = client.get("/api/history/forecast", params={"until": until})
    assert response.status_code == status
    body = response.json()
    assert needle in body["detail"] and body["problems"][0]["field"].endswith("until")


def test_hindcast_states_the_2010_episode_and_refuses_a_month_outside_it(
    client: httpx.Client,
) -> None:
    body = client.get("/api/history/hindcast", params={"until": "2012-12"}).json()
    assert body["until"] == "2012-12" and body["scores"] == []
    dy = next(r for r in body["summary"] if (r["product"], r["market"]) == ("dy_oxide", "ex_china"))
    assert dy["peak_multiple"] > 2.0 and "2010-01" <= dy["peak_month"] <= "2012-12"
    assert max(r["month"] for r in body["paths"]) == "2012-12"
    assert [r["year"] for r in body["quota_fill"]] == [2010, 2011, 2012]  # whole years run
    refused = client.get("/api/history/hindcast", params={"until": "2030-01"})
    assert refused.status_code == 400 and "until" in refused.text and "2020-12" in refused.text
