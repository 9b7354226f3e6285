"""National stockpiles the history run holds, each a ``stockpile_release`` measure with its
provenance: a size per (region, product) and a release rule (release when the region's
stock falls below ``trigger_cover_months`` of its use, at most ``max_tonnes_per_month``).

Japan (JOGMEC): the target is 60 days of consumption, up to 180 days for high geopolitical
risk metals (IEA Policies database, ``facts/inventories.csv`` rows 12-13); actual holdings are
undisclosed. The bundled baseline already counts the 60 days in Japan's pooled stock
(``inventories.csv``: JPN cover 2 months, JOGMEC target), so the explicit stockpile holds the
other 120 days (4 months of Japan's 2024 use) of the heavy rare earths Japan takes wholly from
China (METI, ``facts/trade_flows_annual.csv``: 100% of heavy rare earths): an assumption
that the 180-day target is met for Dy and Tb. Sizes are 4 x the baseline's monthly use
(``Static.use0``, t/month: dy_oxide 12.8, tb_oxide 3.0, dy_metal 5.5, tb_metal 0.6).

The US National Defense Stockpile's rare-earth holdings are not published (its FY2025 plan
lists potential acquisitions, not holdings), so none is modelled.
"""

from __future__ import annotations

from rareflow.policies import instruments as ins

IEA_JOGMEC = "https://origin.iea.org/policies/16639-international-resource-strategy-national-stockpiling-system"
JAPAN_HEAVY_T = {"dy_oxide": 51.0, "tb_oxide": 12.0, "dy_metal": 22.0, "tb_metal": 2.4}
# Release when the pool falls to 1 month of use (half its 2-month target), at up to a month
# of use a month (assumptions: the rule is not published).
TRIGGER_COVER_MONTHS = 1.0
RELEASE_MONTHS_PER_MONTH = 0.25  # of the stockpile: four months of use, so one month a month


def national_stockpiles(start: str) -> list[ins.Instrument]:
    """The stockpiles in force from ``start`` (they are standing, not events)."""
    return [
        ins.StockpileRelease(
            id=f"jogmec-{product}",
            actor="JPN",
            start=start,
            end=None,
            product=product,
            tonnes=tonnes,
            trigger_cover_months=TRIGGER_COVER_MONTHS,
            max_tonnes_per_month=tonnes * RELEASE_MONTHS_PER_MONTH,
            description="JOGMEC national stockpile (assumption: the 180-day target met; the "
            "first 60 days are in the pooled stock)",
            source=IEA_JOGMEC,
        )
        for product, tonnes in JAPAN_HEAVY_T.items()
    ]
