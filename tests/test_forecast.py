"""``rareflow forecast``: the history run past the fitted window, its bands, the naive
forecasts made from what was known then, and its score against later figures."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rareflow.history.forecast import Forecast, error_quantiles, fitted_through, forecast, score
from rareflow.history.observed import calibration_dir, read_observed
from test_history_timeline import cli

pytestmark = pytest.mark.skipif(
    not (calibration_dir() / "china_magnet_exports_monthly.csv").exists(),
    reason="../shared/data/calibration absent",
)


@pytest.fixture(scope="module")
def result() -> Forecast:
    return forecast(until="2026-02", draws=12, seed=3)


def test_rows_start_after_the_fitted_window_with_ordered_bands(result: Forecast) -> None:
    rows = result.rows
    start = fitted_through()
    assert result.fitted_through == start == "2025-09"  # the bundled posterior's window end
    world = rows[rows["destination"] == "World"]
    assert list(world["month"]) == [str(p) for p in pd.period_range("2025-10", "2026-02", freq="M")]
    assert {"World", "DEU", "USA", "JPN"} <= set(rows["destination"])
    assert (rows["posterior_p5"] <= rows["posterior_p50"] + 1e-9).all()
    assert (rows["posterior_p50"] <= rows["posterior_p95"] + 1e-9).all()
    assert (rows["low_90"] <= rows["high_90"]).all()
    assert (rows["point_tonnes"] > 0).all()


def test_naive_forecasts_use_only_what_was_known_at_the_origin(result: Forecast) -> None:
    known = read_observed()
    rows = result.rows.set_index(["destination", "month"])
    # persistence: September 2025's World figure, the last observed by the origin
    last = known[(known["destination"] == "World") & (known["month"] <= "2025-09")]
    last_value = float(last.sort_values("month")["observed_tonnes"].iloc[-1])
    assert (rows.loc["World", "persistence_tonnes"] == last_value).all()
    # a year earlier: October 2024 is observed (4,725 t); February 2025 was not reported
    assert rows.loc[("World", "2025-10"), "last_year_tonnes"] == pytest.approx(4725.0)
    assert math.isnan(rows.loc[("World", "2026-02"), "last_year_tonnes"])


def test_error_band_is_the_in_sample_ratio_quantiles() -> None:
    known = pd.DataFrame({"month": [f"2025-{m:02d}" for m in range(1, 9)] + ["2025-01"],
                          "destination": ["World"] * 8 + ["VNM"],
                          "observed_tonnes": [90, 95, 100, 105, 110, 100, 100, 100, 50]})  # fmt: skip
    point = known[["month", "destination"]].assign(point_tonnes=100.0)
    q = error_quantiles(known, point)
    assert q["World"][0] == pytest.approx(
        pd.Series([0.9, 0.95, 1, 1.05, 1.1, 1, 1, 1]).quantile(0.05)
    )
    assert "VNM" not in q  # one month: too few for its own band (World's is used)


def test_score_against_exact_and_persistent_observations() -> None:
    rows = pd.DataFrame({
        "month": ["2025-10", "2025-11"], "destination": ["World", "World"],
        "point_tonnes": [100.0, 200.0], "posterior_p5": [90.0, 150.0],
        "posterior_p50": [100.0, 180.0], "posterior_p95": [110.0, 190.0],
        "low_90": [80.0, 150.0], "high_90": [120.0, 250.0],
        "persistence_tonnes": [150.0, 150.0], "last_year_tonnes": [math.nan, 100.0],
        "observed_tonnes": [100.0, 200.0],
    })  # fmt: skip
    (world,) = score(rows)
    assert world["months"] == 2
    assert world["mape_point"] == 0.0
    assert world["mape_persistence"] == pytest.approx((0.5 + 0.25) / 2)
    assert world["mape_last_year"] == pytest.approx(0.5)  # the one month it has
    assert world["inside_posterior_90"] == 0.5 and world["inside_interval_90"] == 1.0


def test_cli_scores_a_plain_table_and_skips_fitted_months(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    later = tmp_path / "later.csv"
    later.write_text("month,destination,tonnes\n2025-09,World,1\n2025-10,World,5000\n"
                     "2025-10,Germany,1200\n", encoding="utf-8")  # fmt: skip
    assert cli(["forecast", "--until", "2025-11", "--draws", "4", "--observed", str(later),
                "--format", "json"]) == 0  # fmt: skip
    out = json.loads(capsys.readouterr().out)
    scores = {s["destination"]: s for s in out["scores"]}
    assert scores["World"]["months"] == 1  # 2025-09 was fitted, not forecast
    assert scores["DEU"]["months"] == 1 and scores["DEU"]["mape_last_year"] is None
    observed = {(r["destination"], r["month"]): r["observed_tonnes"] for r in out["rows"]}
    assert observed[("World", "2025-10")] == 5000 and observed[("World", "2025-11")] is None


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("month,dest,tonnes\n2025-10,World,1\n", "column 'destination'"),
        ("month,destination,tonnes\n2025-10,World,-3\n", "row 2, column 'tonnes'"),
        ("month,destination,tonnes\nOct,World,3\n", "column 'month'"),
    ],
)
def test_bad_observed_tables_exit_2_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, needle: str
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(text, encoding="utf-8")
    assert cli(["forecast", "--until", "2025-11", "--observed", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and needle in err


@pytest.mark.parametrize("until", ["2025-05", "2035-10", "7482-11"])
def test_until_outside_the_horizon_is_refused(
    capsys: pytest.CaptureFixture[str], until: str
) -> None:
    assert cli(["forecast", "--until", until]) == 2
    err = capsys.readouterr().err
    assert "--until" in err and "after 2025-09" in err and "at most 2035-09" in err


def test_customs_factor_moves_february_into_january_per_draw() -> None:
    from rareflow.history.simulator import customs_factor

    months = ["2024-12", "2025-01", "2025-02", "2025-03"]
    f = customs_factor(months, np.array([0.68, 1.0]))
    np.testing.assert_allclose(f, [[1.0, 1.32, 0.68, 1.0], [1.0, 1.0, 1.0, 1.0]])
    assert f[:, 1:3].sum(axis=1) == pytest.approx([2.0, 2.0])  # nothing lost, only moved


def test_forecast_dips_in_february_as_customs_record_it(result: Forecast) -> None:
    world = result.rows[result.rows["destination"] == "World"].set_index("month")
    assert world.loc["2026-02", "point_tonnes"] < 0.75 * world.loc["2025-12", "point_tonnes"]
    assert world.loc["2026-01", "point_tonnes"] > 1.2 * world.loc["2025-12", "point_tonnes"]


def test_report_charts_every_series_with_its_later_figures(tmp_path: Path) -> None:
    """`rareflow report forecast`: an offline page, one chart per series, each with the
    forecast, its bands, both naives, the fitted window's and the later observations."""
    later = tmp_path / "later.csv"
    later.write_text("month,destination,tonnes\n2025-10,World,5000\n2025-11,Germany,1200\n",
                     encoding="utf-8")  # fmt: skip
    out = tmp_path / "forecast.html"
    assert cli(["report", "forecast", "--out", str(out), "--until", "2025-12", "--draws", "4",
                "--observed", str(later)]) == 0  # fmt: skip
    page = out.read_text(encoding="utf-8")
    assert "plotly" in page and "<script" in page  # plotly.js inlined: opens offline
    assert "mape_point" in page  # the scores table


def test_report_figure_has_every_kind_of_trace_on_every_chart(result: Forecast) -> None:
    from rareflow.history.forecast_report import figure, known_window

    rows = result.rows.assign(observed_tonnes=np.nan)
    rows.loc[(rows["destination"] == "World") & (rows["month"] == "2025-10"),
             "observed_tonnes"] = 5000.0  # fmt: skip
    with_later = Forecast(result.fitted_through, result.until, result.draws, rows)
    fig = figure(with_later, known_window(result.fitted_through))
    charts = sorted({t.xaxis for t in fig.data})
    assert len(charts) == rows["destination"].nunique()
    for kind in ("forecast (bundled point)", "posterior 5-95%", "naive: persistence",
                 "naive: a year earlier", "observed (fitted)", "observed (later)"):  # fmt: skip
        assert sorted(t.xaxis for t in fig.data if t.name == kind) == charts, kind
    later = {t.xaxis: list(t.x) for t in fig.data if t.name == "observed (later)"}
    assert later.pop("x") == ["2025-10"] and not any(later.values())  # World is the first
    shown = [t.name for t in fig.data if t.showlegend]
    assert len(shown) == len(set(shown))  # each kind in the legend once


def test_report_without_later_figures_says_how_to_score_them(
    tmp_path: Path, result: Forecast
) -> None:
    out = tmp_path / "forecast.html"
    assert cli(["report", "forecast", "--out", str(out), "--until", "2025-11", "--draws", "0"]) == 0
    assert "--observed FILE</code> scores them" in out.read_text(encoding="utf-8")
    later = [t for t in result.figure().data if t.name == "observed (later)"]
    assert later and not any(len(t.x) for t in later)  # the legend entry, no points


def test_report_with_a_bad_table_exits_2_and_keeps_the_earlier_page(tmp_path: Path) -> None:
    out = tmp_path / "forecast.html"
    out.write_text("earlier", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("month,destination,tonnes\n2025-10,World,-1\n", encoding="utf-8")
    assert cli(["report", "forecast", "--out", str(out), "--until", "2025-11",
                "--observed", str(bad)]) == 2  # fmt: skip
    assert out.read_text(encoding="utf-8") == "earlier"
