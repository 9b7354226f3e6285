"""The backtest's price and stoppage scores on hand-checked inputs, and the observed prices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rareflow.history import stoppages as st
from rareflow.history.observed_prices import product_code, read_prices
from rareflow.history.scoring import _price_metrics


def events(*rows: tuple[str, tuple[str, ...], str]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"month": m, "regions": r, "sector": s, "country": "x", "company": "y"}
            for m, r, s in rows
        ]
    )


def shortage(values: dict[tuple[str, str, str], float]) -> pd.DataFrame:
    months = ["2025-04", "2025-05", "2025-06", "2025-07", "2025-08"]
    share = np.zeros((len(months), 2, 2))
    regions, sectors = ("USA", "DEU"), ("other", "ev_traction")
    for (month, region, sector), v in values.items():
        share[months.index(month), regions.index(region), sectors.index(sector)] = v
    return st.shortage_frame(share, months, regions, sectors)


def test_an_event_is_matched_within_one_month_in_its_region_and_sector() -> None:
    frame = shortage({("2025-06", "USA", "other"): 0.3, ("2025-08", "DEU", "other"): 0.005})
    out = st.match_events(
        events(
            ("2025-05", ("USA",), "other"),  # a month before the modelled stoppage: matched
            ("2025-04", ("USA",), "other"),  # two months before: not matched
            ("2025-06", ("USA",), "ev_traction"),  # other sector: not matched
            ("2025-08", ("DEU",), "other"),  # below the 1% threshold: not matched
        ),
        frame,
    )
    assert out["matched"].tolist() == [True, False, False, False]
    assert out.loc[0, "modelled_first_month"] == "2025-06"
    assert out.loc[0, "modelled_peak_share"] == pytest.approx(0.3)
    assert out.loc[1, "modelled_first_month_any"] == "2025-06"
    assert out.loc[3, "modelled_peak_share"] == pytest.approx(0.005)


def test_modelled_stoppages_without_a_reported_event_are_listed() -> None:
    frame = shortage({("2025-06", "USA", "other"): 0.3, ("2025-07", "DEU", "ev_traction"): 0.2})
    out = st.unreported(events(("2025-06", ("USA",), "other")), frame, "2025-01")
    assert out[["region", "sector", "first_month"]].values.tolist() == [
        ["DEU", "ev_traction", "2025-07"]
    ]


def test_the_bundled_events_map_to_model_regions() -> None:
    table = st.read_events()
    assert len(table) == 14
    assert all(len(r) >= 1 for r in table["regions"])


def test_observed_prices_are_usd_per_kg_on_the_baselines_basis() -> None:
    prices = read_prices().set_index(["product", "market", "month"])
    # SMM Dy oxide 2025-06-30: 1,615,000 CNY/t incl. 13% VAT, at 7.2 CNY/USD
    dy = prices.loc[("dy_oxide", "china", "2025-06"), "observed_usd_per_kg"]
    assert dy == pytest.approx(1_615_000 / 1000 / 7.2 / 1.13)
    assert prices.loc[("tb_oxide", "ex_china", "2025-09"), "observed_usd_per_kg"] == 3600
    assert product_code("Nd oxide (99.5%) CIF Rotterdam") is None  # the model has NdPr only
    assert product_code("NdPr oxide (99%) Europe (Argus)") == "ndpr_oxide"
    assert prices.index.get_level_values("month").max() <= "2025-09"


def test_price_metrics_score_against_the_last_observation_and_the_direction() -> None:
    part = pd.DataFrame(
        {
            "month": ["2025-01", "2025-02", "2025-03"],
            "observed_usd_per_kg": [100.0, np.nan, 150.0],
            "modelled_usd_per_kg": [110.0, 105.0, 90.0],
        }
    )
    out = _price_metrics("ndpr_oxide", "china", part)
    assert out["n"] == 2
    assert out["mape"] == pytest.approx((0.1 + 0.4) / 2)
    assert out["naive_persistence_mape"] == pytest.approx(50 / 150)
    assert out["observed_change"] == pytest.approx(0.5)
    assert out["direction_right"] is False
