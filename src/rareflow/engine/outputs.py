"""The engine's recorded outputs: name -> (dims after draw and month, unit).

Sector losses (``docs/losses.md``): ``units_not_built`` are the units short in the month
(the scarcest input decides); each is later either caught up (``units_deferred``, booked
in the month it is made) or lost when its catch-up window runs out (``units_lost``, booked
then). ``value_lost`` is the value added of the units lost, ``value_deferred`` that of the
units deferred, ``gross_output_lost`` the gross output of the units lost."""

from __future__ import annotations

OUTPUTS: dict[str, tuple[tuple[str, ...], str]] = {
    "production": (("region", "product"), "t/month"),
    "shipments": (("product", "region", "partner"), "t/month"),
    "inventory": (("region", "product"), "t"),
    "in_transit": (("region", "product"), "t"),
    "demand": (("region", "product"), "t/month"),
    "shortage": (("region", "product"), "t/month"),
    "shortage_share": (("region", "sector"), "fraction"),
    "units_not_built": (("region", "sector"), "units/month"),
    "units_deferred": (("region", "sector"), "units/month"),
    "units_lost": (("region", "sector"), "units/month"),
    "value_lost": (("region", "sector"), "USD/month"),
    "value_deferred": (("region", "sector"), "USD/month"),
    "gross_output_lost": (("region", "sector"), "USD/month"),
    "price": (("product", "market"), "USD/kg"),
}
