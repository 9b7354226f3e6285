"""A small RunResult-like object with the documented dataset variables, for store/export/
compare/plot tests that must not depend on the engine."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import xarray as xr

MONTHS = ["2026-11", "2026-12", "2027-01", "2027-02"]
REGIONS = ["CHN", "USA", "JPN"]
PRODUCTS = ["dy_oxide", "ndfeb_sintered"]
SECTORS = ["ev_traction", "wind"]
MARKETS = ["china", "ex_china"]

REGION_PRODUCT = {
    "production": "t/month",
    "inventory": "t",
    "demand": "t/month",
    "shortage": "t/month",
}
REGION_SECTOR = {"shortage_share": "1", "units_not_built": "units/month", "value_lost": "USD/month"}


def make_dataset(severity: float, draws: int = 1) -> xr.Dataset:
    """Dataset whose shortages and prices scale with ``severity`` (0 = no shortage)."""
    rng = np.random.default_rng(0)
    d, m, r, p, s = draws, len(MONTHS), len(REGIONS), len(PRODUCTS), len(SECTORS)
    coords = {
        "draw": np.arange(d),
        "month": MONTHS,
        "region": REGIONS,
        "partner": REGIONS,
        "product": PRODUCTS,
        "sector": SECTORS,
        "market": MARKETS,
    }
    ramp = np.linspace(0.0, 1.0, m)[None, :, None, None]
    importer = np.array([0.0, 1.0, 0.5])[None, None, :, None]  # CHN never short
    share = np.clip(severity * ramp * importer * np.ones((d, m, r, s)), 0, 1)
    ships = 10.0 * (1.0 - 0.5 * severity) * np.ones((d, m, p, r, r))
    ships[:, :, :, np.arange(r), np.arange(r)] = 0.0  # cross-border only
    base_price = np.array([[400.0, 1200.0], [60.0, 90.0]])  # product x market
    price = base_price[None, None] * (1.0 + severity * ramp[..., :1] * np.ones((d, m, p, 2)))
    data: dict[str, tuple[tuple[str, ...], np.ndarray]] = {
        name: (("draw", "month", "region", "product"), rng.uniform(1, 5, (d, m, r, p)))
        for name in REGION_PRODUCT
    }
    data["shortage"] = (("draw", "month", "region", "product"), severity * np.ones((d, m, r, p)))
    data["shortage_share"] = (("draw", "month", "region", "sector"), share)
    data["units_not_built"] = (("draw", "month", "region", "sector"), 1000.0 * share)
    data["value_lost"] = (("draw", "month", "region", "sector"), 3e7 * share)
    data["shipments"] = (("draw", "month", "product", "region", "partner"), ships)
    data["price"] = (("draw", "month", "product", "market"), price)
    return xr.Dataset(data, coords=coords)


def _long(array: xr.DataArray, metric: str, unit: str) -> pd.DataFrame:
    frame = array.to_dataframe(name="value").reset_index()
    if "sector" in frame:
        frame = frame.rename(columns={"sector": "product"})
    if "market" in frame:
        frame = frame.rename(columns={"market": "region"})
    if "partner" not in frame:
        frame["partner"] = None
    return frame.assign(metric=metric, unit=unit)


@dataclass
class FakeResult:
    scenario: str = "baseline"
    severity: float = 0.0
    draws: int = 1
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    parameters: dict[str, float] = field(default_factory=lambda: {"price_elasticity": 0.3})
    mass_balance_max_residual: float = 1e-12
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        self.dataset = make_dataset(self.severity, self.draws)

    def tidy(self, metric: str | None = None) -> pd.DataFrame:
        units = {**REGION_PRODUCT, **REGION_SECTOR, "shipments": "t/month", "price": "USD/kg"}
        names = [metric] if metric else list(units)
        frames = [_long(self.dataset[n], n, units[n]) for n in names]
        frame = pd.concat(frames, ignore_index=True)
        frame.insert(0, "scenario", self.scenario)
        frame.insert(0, "run_id", self.run_id)
        cols = ["run_id", "scenario", "draw", "month", "region", "partner", "product"]
        return frame[[*cols, "metric", "value", "unit"]]

    def summary(self) -> pd.DataFrame:
        ds = self.dataset.mean("draw")
        frame = pd.DataFrame(
            {
                "peak_shortage_share": ds["shortage_share"].max("month").to_series(),
                "shortage_months": (ds["shortage_share"] > 1e-6).sum("month").to_series(),
                "units_not_built": ds["units_not_built"].sum("month").to_series(),
                "value_lost_usd": ds["value_lost"].sum("month").to_series(),
            }
        ).reset_index()
        return frame.sort_values("value_lost_usd", ascending=False, ignore_index=True)

    def peak_prices(self) -> pd.DataFrame:
        price = self.dataset["price"].mean("draw")
        frame = pd.DataFrame(
            {
                "base_usd_per_kg": price.isel(month=0).to_series(),
                "peak_usd_per_kg": price.max("month").to_series(),
                "peak_month": price.idxmax("month").to_series(),
            }
        ).reset_index()
        return frame


def make_result(scenario: str = "baseline", severity: float = 0.0, **kw: object) -> FakeResult:
    return FakeResult(scenario=scenario, severity=severity, **kw)  # type: ignore[arg-type]
