"""Observed oxide prices in and outside China, 2024-02 to 2025-09, per model product and month.

Read from ``prices_2025_monthly.csv`` (schema-checked, ``rareflow.data.reference.tables``).
Rules:

- Product names map to model products by their start (``PRODUCTS``). Left out: single Nd or Pr
  oxide (the model trades NdPr oxide only) and Lynas' basket price (AUD, a mix of products).
- China's domestic quotes in CNY/t include 13% VAT; they become USD/kg the way the baseline's
  China prices are made (``build/assumptions.csv``: cny_per_usd, china_vat), so modelled and
  observed are on one basis. USD/kg quotes are kept as printed.
- Several points in one month (dated days, ranges' midpoints): their median.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rareflow.data.reference.tables import month_of, read_reference

FILE = "prices_2025_monthly"
# Start of the printed product name -> model product (first match wins).
PRODUCTS = (
    ("NdPr", "ndpr_oxide"),
    ("Dy oxide", "dy_oxide"),
    ("Tb oxide", "tb_oxide"),
    ("Gd oxide", "gd_oxide"),
    ("Y oxide", "y_oxide"),
)


def product_code(printed: str) -> str | None:
    return next((code for start, code in PRODUCTS if printed.startswith(start)), None)


def usd_per_kg_factor() -> dict[str, float]:
    """USD/kg per unit of each price unit kept (AUD baskets are left out).

    The rate and the VAT are read from the curated assumptions file (data, not code: the
    history layer sits below the build and imports nothing from it).
    """
    from importlib.resources import files

    with (files("rareflow.build") / "assumptions.csv").open(encoding="utf-8") as handle:
        table = pd.read_csv(handle).set_index("name")["value"]
    cny_per_usd, vat = float(table["cny_per_usd"]), float(table["china_vat"])
    return {"USD/kg": 1.0, "CNY/t": 1.0 / 1000.0 / cny_per_usd / (1 + vat)}


def read_prices(directory: Path | None = None) -> pd.DataFrame:
    """Columns product, market, month, observed_usd_per_kg, points (quotes in the month)."""
    table = read_reference(FILE, directory)
    factor = usd_per_kg_factor()
    table = table.assign(
        product=table["product"].map(product_code), month=table["date"].map(month_of)
    )
    table = table[table["product"].notna() & table["unit"].isin(list(factor))]
    table = table.assign(usd=table["value"] * table["unit"].map(factor))
    out = (
        table.groupby(["product", "market", "month"], as_index=False)
        .agg(observed_usd_per_kg=("usd", "median"), points=("usd", "size"))
        .sort_values(["product", "market", "month"])
    )
    return out.reset_index(drop=True)
