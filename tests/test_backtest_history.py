"""The backtest's rows, metrics and rolling-origin scores; its CLI; the HTML report."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rareflow.history.backtest import backtest
from rareflow.history.observed import calibration_dir
from test_history_timeline import cli

pytestmark = pytest.mark.skipif(
    not (calibration_dir() / "china_magnet_exports_monthly.csv").exists(),
    reason="../shared/data/calibration absent",
)
FAST_FIT = {"names": ["licence_lead_time_months", "licence_approval_share"], "maxiter": 3}


def test_rows_cover_every_month_and_series_with_nulls_for_missing() -> None:
    result = backtest(until="2026-03", origins=())
    rows = result.rows
    world = rows[rows["destination"] == "World"]
    assert list(world["month"]) == [str(p) for p in pd.period_range("2024-01", "2026-03", freq="M")]
    assert world.set_index("month").loc["2025-05", "observed_tonnes"] == pytest.approx(1238.235)
    assert world.set_index("month")["observed_tonnes"].loc["2025-10":].isna().all()
    assert {"World", "USA", "DEU", "EU"} <= set(rows["destination"])
    assert (rows["modelled_tonnes"] >= 0).all()


def test_metrics_per_series_include_the_naive_forecasts() -> None:
    result = backtest(origins=())
    world = next(m for m in result.metrics if m["destination"] == "World")
    keys = ("mape", "correlation", "trough_month", "trough_depth", "fall", "recovery_month")
    for key in keys:
        assert key in world
        assert f"naive_last_month_{key}" in world and f"naive_last_year_{key}" in world
    assert world["observed_trough_month"] == "2025-05"
    # the news' "77% from March to May": 1,238 t in May against 5,361 t in March
    assert world["observed_fall"] == pytest.approx(1 - 1238.235 / 5361.224, abs=1e-3)
    assert 0.0 < world["fall"] < 1.0
    assert world["trough_month"] in {"2025-04", "2025-05", "2025-06"}  # the licence's dip


def test_rolling_origin_scores_only_months_after_the_origin() -> None:
    result = backtest(origins=("2025-07",), fit_options=FAST_FIT)
    rows = pd.DataFrame(result.out_of_sample)
    assert set(rows["origin"]) == {"2025-07"}
    everything = rows[rows["destination"] == "all"].iloc[0]
    # World, DEU, USA, JPN, KOR, VNM, IND, EU observations from 2025-07 to 2025-09
    assert everything["n"] >= 10
    for key in ("mape", "naive_persistence_mape", "naive_last_year_mape"):
        assert everything[key] > 0


def test_summary_puts_each_destination_beside_both_naive_forecasts() -> None:
    result = backtest(origins=("2025-07",), fit_options=FAST_FIT)
    summary = {row["destination"]: row for row in result.summary}
    assert set(summary) == set(result.rows["destination"])
    japan = summary["JPN"]
    assert japan["in_sample_n"] >= 6  # 2024-05/07/09 and 2025-05..09 customs months
    assert japan["rolling_n"] >= 2
    for row in summary.values():
        values = [row[f"in_sample_{k}"] for k in ("mape", "persistence_mape", "last_year_mape")]
        if all(isinstance(v, float) and v == v for v in values):
            assert row["in_sample_beats_naive"] == (values[0] < min(values[1:]))


def test_prices_and_stoppages_are_scored_from_the_same_run() -> None:
    result = backtest(origins=())
    assert result.prices is not None and result.stoppages is not None
    rows = result.prices.rows
    assert {"product", "market", "month", "modelled_usd_per_kg", "observed_usd_per_kg"} <= set(
        rows.columns
    )
    assert {("dy_oxide", "ex_china"), ("ndpr_oxide", "china")} <= set(
        zip(rows["product"], rows["market"], strict=True)
    )
    assert (rows["modelled_usd_per_kg"] > 0).all()
    assert rows.dropna(subset=["observed_usd_per_kg"])["month"].max() <= "2025-09"
    events = result.stoppages.events
    assert len(events) == 14 and events["matched"].dtype == bool


def test_backtest_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["backtest", "--until", "2025-09", "--origins", "none", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    row = payload["rows"][0]
    assert {"month", "destination", "modelled_tonnes", "observed_tonnes"} <= set(row)
    assert any(r["observed_tonnes"] is None for r in payload["rows"])
    assert payload["metrics"][0]["destination"] == "World"
    assert payload["out_of_sample"] == []
    price = payload["price_rows"][0]
    assert {"product", "market", "month", "modelled_usd_per_kg", "observed_usd_per_kg"} <= set(
        price
    )
    assert payload["summary"][0]["destination"] == "World"
    assert payload["stoppages"]["events"] == 14
    assert cli(["backtest", "--until", "2025/09"]) == 2
    assert cli(["backtest", "--origins", "May"]) == 2


def test_report_is_offline_html_with_events(tmp_path: Path) -> None:
    from rareflow.history.report import write_backtest_report

    result = backtest(origins=("2025-07",), fit_options=FAST_FIT)
    path = write_backtest_report(result, tmp_path / "bt.html")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>")
    assert "Plotly.newPlot" in page and "cdn.plot.ly" not in page.split("Plotly.newPlot")[1]
    assert "MOFCOM/GAC Announcement No. 18" in page
    assert "Rolling-origin" in page


def test_calibrate_cli_dry_run(capsys: pytest.CaptureFixture[str]) -> None:
    from rareflow.history import parameters as hp
    from rareflow.history.posterior import POSTERIOR_FILE

    before = hp.read_rows()
    sample = POSTERIOR_FILE.read_bytes() if POSTERIOR_FILE.exists() else None
    args = ["calibrate", "--window", "2025-03:2025-06", "--particles", "4", "--generations", "1"]
    assert cli([*args, "--dry-run", "--format", "json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["provenance"]["window"] == "2025-03:2025-06"
    assert "licence_approval_share" in {p["parameter"] for p in payload["parameters"]}
    assert hp.read_rows() == before  # --dry-run stores nothing
    assert (POSTERIOR_FILE.read_bytes() if POSTERIOR_FILE.exists() else None) == sample
    assert cli(["calibrate", "--window", "2025"]) == 2


def test_backtest_csv_and_percentages(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["backtest", "--until", "2025-09", "--origins", "none"]
    assert cli([*args, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "month,destination,modelled_tonnes,observed_tonnes,kind"
    assert len(lines) > 21 and lines[1].startswith("2024-01,World,")
    assert cli([*args, "--format", "csv", "--csv-table", "summary"]) == 0
    assert capsys.readouterr().out.startswith("destination,in_sample_n,in_sample_mape")
    assert cli(args) == 0
    table = capsys.readouterr().out
    assert "%" in table and "0.4" not in table.split("Skill by series")[0].split("World")[1][:40]
