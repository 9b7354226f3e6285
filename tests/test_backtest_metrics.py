"""Skill metrics on tiny hand-checked series, and the observed series' rules."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from rareflow.history import metrics as mt
from rareflow.history.observed import read_observed


def s(values: dict[str, float]) -> pd.Series:
    return pd.Series(values, dtype=float)


OBS = s({"2025-01": 100, "2025-02": 100, "2025-03": 50, "2025-04": 20, "2025-05": 95})
MOD = s({"2025-01": 110, "2025-02": 90, "2025-03": 40, "2025-04": 30, "2025-05": 80})


def test_mape_by_hand() -> None:
    # |10|/100 + |10|/100 + |10|/50 + |10|/20 + |15|/95 = 0.1 + 0.1 + 0.2 + 0.5 + 0.157894...
    assert mt.mape(OBS, MOD) == pytest.approx((0.1 + 0.1 + 0.2 + 0.5 + 15 / 95) / 5)


def test_mape_skips_missing_and_zero_observations() -> None:
    obs = s({"2025-01": 100, "2025-02": math.nan, "2025-03": 0})
    mod = s({"2025-01": 50, "2025-02": 10, "2025-03": 5})
    assert mt.mape(obs, mod) == pytest.approx(0.5)
    assert math.isnan(mt.mape(s({"2025-01": math.nan}), s({"2025-01": 1})))


def test_correlation_by_hand() -> None:
    assert mt.correlation(
        s({"a": 1, "b": 2, "c": 3}), s({"a": 2, "b": 4, "c": 6})
    ) == pytest.approx(1)
    assert mt.correlation(
        s({"a": 1, "b": 2, "c": 3}), s({"a": 3, "b": 2, "c": 1})
    ) == pytest.approx(-1)
    # x = 1,2,3,4; y = 1,3,2,4: cov = 1.0, var = 1.25 each -> r = 0.8
    x, y = s({"a": 1, "b": 2, "c": 3, "d": 4}), s({"a": 1, "b": 3, "c": 2, "d": 4})
    assert mt.correlation(x, y) == pytest.approx(0.8)
    assert math.isnan(mt.correlation(s({"a": 1, "b": 2}), s({"a": 1, "b": 2})))


def test_trough_and_recovery_by_hand() -> None:
    level = mt.pre_level(OBS, "2025-03")
    assert level == 100
    assert mt.trough(OBS, "2025-03", level) == ("2025-04", pytest.approx(0.8))
    assert mt.recovery(OBS, "2025-04", level) == "2025-05"  # 95 >= 90
    assert mt.recovery(OBS, "2025-04", level, share=0.96) is None
    assert mt.trough(MOD, "2025-03", level) == ("2025-04", pytest.approx(0.7))


def test_fall_from_the_month_before_to_the_trough_by_hand() -> None:
    # OBS: 100 in February, 20 at the April trough -> 80%; MOD: 90 -> 30, 66.7%
    assert mt.fall(OBS, "2025-03", "2025-04") == pytest.approx(0.8)
    assert mt.fall(MOD, "2025-03", "2025-04") == pytest.approx(1 - 30 / 90)
    assert math.isnan(mt.fall(OBS, "2025-01", "2025-04"))  # no month before the episode
    assert math.isnan(mt.fall(OBS, "2025-03", None))
    got = mt.series_metrics(OBS, MOD, "2025-03")
    assert got["fall"] == pytest.approx(1 - 30 / 90) and got["observed_fall"] == pytest.approx(0.8)


def test_naive_forecasts_by_hand() -> None:
    last = mt.naive_last_month(OBS)
    assert math.isnan(last["2025-01"]) and last["2025-04"] == 50
    yearly = mt.naive_last_year(s({"2024-03": 7, "2025-03": 9, "2025-04": 1}))
    assert yearly["2025-03"] == 7 and math.isnan(yearly["2025-04"])


def test_skill_reports_model_and_naive_metrics() -> None:
    out = mt.skill(OBS, MOD, "2025-03")
    assert out["trough_month"] == "2025-04" and out["observed_trough_month"] == "2025-04"
    assert out["recovery_month"] is None  # 80 < 90
    assert out["observed_recovery_month"] == "2025-05"
    # last-month forecast: 100 for Feb (0), 100 for Mar (|50|/50 = 1), 50 for Apr (1.5), 20 for May
    expected = (0 + 1.0 + 1.5 + 75 / 95) / 4
    assert out["naive_last_month_mape"] == pytest.approx(expected)
    assert out["naive_last_year_n"] == 0


CSV = Path(__file__).parents[1] / "../shared/data/calibration/china_magnet_exports_monthly.csv"


@pytest.mark.skipif(not CSV.exists(), reason="calibration CSV absent")
def test_observed_rules() -> None:
    obs = read_observed(CSV).set_index(["destination", "month"])
    # duplicate 2025-05 World (1238 and 1238.47): the median
    assert obs.loc[("World", "2025-05"), "observed_tonnes"] == pytest.approx(1238.235)
    assert obs.loc[("World", "2025-05"), "kind"] == "reported"
    # 2024-04 implied by 2025-04's -45% y/y: 2627 / 0.55
    assert obs.loc[("World", "2024-04"), "observed_tonnes"] == pytest.approx(2627 / 0.55)
    assert obs.loc[("World", "2024-04"), "kind"] == "implied"
    # a reported figure wins over an implied one (2024-08: 5325 reported, 6146/1.154 implied)
    assert obs.loc[("World", "2024-08"), "observed_tonnes"] == 5325
    assert obs.loc[("USA", "2025-05"), "observed_tonnes"] == 46
    assert ("EU", "2025-07") in obs.index
    # a year-to-date-only row (2023-07: 31,727 t Jan-Jul) is not a month; 2024-07's +11% y/y is
    assert obs.loc[("World", "2023-07"), "observed_tonnes"] == pytest.approx(5278 / 1.11)
    assert not any(d == "Europe" for d, _ in obs.index)
