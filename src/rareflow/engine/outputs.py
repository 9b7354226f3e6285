"""The engine's recorded outputs: name -> (dims after draw and month, unit)."""

from __future__ import annotations

OUTPUTS: dict[str, tuple[tuple[str, ...], str]] = {
    "production": (("region", "product"), "t/month"),
    "shipments": (("product", "region", "partner"), "t/month"),
    "inventory": (("region", "product"), "t"),
    "demand": (("region", "product"), "t/month"),
    "shortage": (("region", "product"), "t/month"),
    "shortage_share": (("region", "sector"), "fraction"),
    "units_not_built": (("region", "sector"), "units/month"),
    "value_lost": (("region", "sector"), "USD/month"),
    "price": (("product", "market"), "USD/kg"),
}
