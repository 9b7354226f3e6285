"""Sector intensities (kg of product per unit of output, value per unit) and inventory cover."""

from __future__ import annotations

import pandas as pd

from rareflow.build.demand import PRODUCT_SECTOR
from rareflow.build.dimensions import MAGNETS, REGION_CODES, product_codes
from rareflow.build.facts import Facts, Prov, derived, number, one, sourced
from rareflow.build.rows import prov_row
from rareflow.model.losses import platform_mix

USD_PER_UNIT = {  # assumption: value of one unit of sector output
    "ev_traction": (40_000, "an electric car ~USD 40,000"),
    "wind": (1_300_000, "a MW of installed wind ~USD 1.3m"),
    "electronics": (300, "a device (phone, drive, speaker) ~USD 300"),
    "industrial_motors": (2_000, "an industrial PM motor or servo ~USD 2,000"),
    "medical": (50_000, "a medical device ~USD 50,000"),
    "appliances": (500, "an inverter air conditioner ~USD 500"),
    "other": (100, "USD 100 of downstream goods per kg of rare-earth product"),
}
# Sectors whose magnet products go into different devices (the rationales below name them),
# so that each product is its own line of output rather than one input of a common unit
SEPARATE_DEVICES = {
    "electronics": "speakers, spindle motors and sensors are different devices (assumption)",
    "industrial_motors": "PM, bonded and high-temperature motors are different motors (assumption)",
    "medical": "pumps and scanners differ from SmCo devices (assumption)",
}
KG_ASSUMED = {  # (sector, product): kg per unit, rationale (no fact in the base)
    ("electronics", "ndfeb_sintered"): (
        0.005,
        "~5 g of magnets per device (speakers, haptics, HDD VCM)",
    ),
    ("electronics", "ndfeb_bonded"): (0.005, "~5 g of bonded magnet per device (spindle motors)"),
    ("electronics", "smco"): (0.005, "~5 g per high-temperature sensor/actuator"),
    ("industrial_motors", "ndfeb_sintered"): (1.0, "~1 kg of magnet per industrial PM motor"),
    ("industrial_motors", "ndfeb_bonded"): (0.2, "~0.2 kg per small bonded-magnet motor"),
    ("industrial_motors", "smco"): (0.5, "~0.5 kg per high-temperature motor"),
    ("appliances", "ndfeb_sintered"): (0.1, "~0.1 kg of NdFeB per inverter compressor"),
    ("appliances", "ndfeb_bonded"): (0.05, "~50 g per appliance motor"),
    ("ev_traction", "ndfeb_bonded"): (0.1, "~0.1 kg of bonded magnet in small EV motors"),
    ("medical", "ndfeb_sintered"): (5.0, "~5 kg per device (pumps, scanner parts)"),
    ("medical", "smco"): (1.0, "~1 kg per device"),
}


def intensities(
    facts: Facts, prices: pd.DataFrame, demand: pd.DataFrame, platforms: pd.DataFrame
) -> pd.DataFrame:
    """Magnet rows are inputs of their sector's unit (``unit_basis`` sector); oxides and
    metals used directly, and every product of ``other``, are their own lines (own)."""
    rows = []
    ints = facts["intensities"]
    ev = one(ints, product="EV traction motor (MP Materials basis)")
    wind = one(ints, product="Wind turbine (average, all PM types)")
    known = {
        ("ev_traction", "ndfeb_sintered"): (2.0, derived("2 kg NdFeB per EV traction motor, "
                                                         "DERIVED in the facts", (ints, ev))),
        ("wind", "ndfeb_sintered"): (number(wind["value"]), sourced(ints, wind)),
    }  # fmt: skip
    for (sector, product), (kg, why) in KG_ASSUMED.items():
        known.setdefault((sector, product), (kg, Prov("assumption", why)))
    for (sector, product), (kg, prov) in sorted(known.items()):
        usd, why = USD_PER_UNIT[sector]
        basis = "own" if sector in SEPARATE_DEVICES else "sector"
        note = f"kg: {prov.note} | usd_per_unit assumption: {why} | unit_basis {basis}: "
        note += SEPARATE_DEVICES.get(sector, "one unit holds all of the sector's magnets")
        rows.append(prov_row({"sector": sector, "product": product, "kg_per_unit": kg,
                              "usd_per_unit": float(usd), "unit_basis": basis},
                             Prov(prov.kind, note, prov.url)))  # fmt: skip
    rows += defence_intensities(demand, platforms)
    rows += non_magnet_intensities(prices)
    return pd.DataFrame(rows)


def defence_intensities(demand: pd.DataFrame, platforms: pd.DataFrame) -> list[dict[str, object]]:
    """A defence unit is the mean platform of the mix (``model.losses.platform_mix``); its kg
    are split between the products as defence uses them in the base year."""
    kg_unit, usd_unit = platform_mix(platforms)["defence"]
    used = demand[demand["sector"] == "defence"].groupby("product")["tonnes_per_year"].sum()
    rows = []
    for product, tonnes in used[used > 0].items():
        split = float(tonnes / used.sum())
        prov = Prov("derived", f"the mean unit of the defence platform mix (platforms.csv): "
                    f"{kg_unit:.3g} kg of RE magnets and USD {usd_unit:,.0f}; {split:.1%} of "
                    f"its kg are {product}, as in defence's use in demand.csv")  # fmt: skip
        rows.append(prov_row({"sector": "defence", "product": product,
                              "kg_per_unit": kg_unit * split, "usd_per_unit": usd_unit,
                              "unit_basis": "sector"}, prov))  # fmt: skip
    return rows


def inventories(facts: Facts) -> pd.DataFrame:
    inv = facts["inventories"]
    eu_jp = one(inv, entity="European and Japanese automakers")
    usa = one(inv, entity="US manufacturers, defense contractors, magnet producers")
    jogmec = one(inv, entity="JOGMEC (national stockpile)", value="60")
    rows = []
    for region in REGION_CODES:
        for product in product_codes():
            cover, prov = 2.0, Prov("assumption", "2 months of use: between the 2-4 weeks "
                                    "just-in-time and 2-4 months (SMM) in inventories.csv")  # fmt: skip
            if region == "CHN":
                cover, prov = (
                    1.0,
                    Prov("assumption", "1 month: producers' working stocks at source"),
                )
            elif product in MAGNETS and region in ("DEU", "XEU", "JPN"):
                cover, prov = (
                    2.5,
                    derived("mid-point of 2-3 months of finished magnets", (inv, eu_jp)),
                )
            elif product in MAGNETS and region == "USA":
                cover, prov = 5.5, derived("mid-point of 5-6 months cover (late 2025)", (inv, usa))
            elif region == "JPN":
                cover, prov = 2.0, sourced(inv, jogmec, "JOGMEC 60-day target = 2 months")
            rows.append(
                prov_row({"region": region, "product": product, "cover_months": cover}, prov)
            )
    return pd.DataFrame(rows)


# Months an import spends between the exporter's customs record and arrival, by importer
# (China ships most of what every other region imports). No table in the data gives transit
# times: each is an assumption from liner distances, plus about a week of loading and
# clearance; magnets also fly (days), which these leave out.
TRANSIT_MONTHS = {
    ("JPN", "KOR"): (0.25, "short sea from Chinese ports (days) and about a week at ports"),
    ("VNM", "MYS", "THA", "MMR"): (
        0.3,
        "short sea or overland from China (about a week) and about a week at ports",
    ),
    ("IND", "AUS"): (0.6, "2-3 weeks at sea from Chinese ports and about a week at ports"),
    ("USA", "MEX", "ROW"): (
        0.8,
        "trans-Pacific or longer: 2-3 weeks at sea, ports and inland legs",
    ),
    ("DEU", "XEU", "GBR"): (
        1.0,
        "Asia-Europe liner service, 4-5 weeks: capped at the one month the model carries at sea",
    ),
    ("CHN",): (
        0.5,
        "concentrate from the US and Australia (weeks at sea) and from Myanmar (overland, days)",
    ),
}


def transit() -> pd.DataFrame:
    """Months each region's imports are at sea (``TRANSIT_MONTHS``, assumptions)."""
    rows = [
        prov_row({"region": region, "transit_months": months}, Prov("assumption", why))
        for regions, (months, why) in TRANSIT_MONTHS.items()
        for region in regions
    ]
    missing = set(REGION_CODES) - {str(r["region"]) for r in rows}
    if missing:
        raise ValueError(f"TRANSIT_MONTHS has no transit time for {sorted(missing)}")
    return pd.DataFrame(rows)


DOWNSTREAM_MULTIPLE = 10.0


def non_magnet_intensities(prices: pd.DataFrame) -> list[dict[str, object]]:
    """Oxides and metals used directly: a unit is 1 kg; its value a multiple of the price."""
    base = prices[(prices["year"] == 2024) & (prices["market"] == "ex_china")]
    price = dict(zip(base["product"], base["usd_per_kg"], strict=True))
    rows = []
    pairs = [(p, s) for p, s in PRODUCT_SECTOR.items() if not p.startswith("concentrate")]
    for product, sector in sorted(pairs + [(m, "other") for m in MAGNETS]):
        prov = Prov("assumption", f"a unit of {sector} output is 1 kg of {product} used; its "
                    f"value = {DOWNSTREAM_MULTIPLE:.0f} x the 2024 ex-China price "
                    f"({price[product]:,.2f} USD/kg): downstream goods are worth about ten "
                    "times their rare-earth input")  # fmt: skip
        rows.append(prov_row({"sector": sector, "product": product, "kg_per_unit": 1.0,
                              "usd_per_unit": DOWNSTREAM_MULTIPLE * float(price[product]),
                              "unit_basis": "own"}, prov))  # fmt: skip
    return rows
