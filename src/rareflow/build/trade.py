"""Trade priors: arcs from the facts (concentrate, magnets, NdPr) and a pooled allocation."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rareflow.build.curated import Assumptions
from rareflow.build.destinations import observed_shares
from rareflow.build.facts import Facts, Prov, derived, find, number, one, sourced
from rareflow.build.system import Registry, Target, Var

# Destinations with no 2024 month in the customs series but a 2020 figure: their 2020 share.
DEST_2020 = {"Thailand": "THA"}
# The 2024 exports left after the observed destinations, Thailand and the EU figure (assumption:
# Mexico is a large motor/auto importer and grew fastest in 2024 (Metalnomist), but stayed
# below the US (Sep 2025 ranks); the UK and Malaysia are smaller; the rest spreads over
# Taiwan, the Philippines, Turkey, Brazil and others with no tonnage in the sources).
REST_SPLIT = {"MEX": 0.18, "GBR": 0.09, "MYS": 0.09, "ROW": 0.64}
Dest = tuple[float, Prov, float]  # tonnes per year, provenance, relative sd


def activity(reg: Registry, region: str, process: str) -> float:
    label = ("activity", region, process)
    return reg.items[reg.index[label]].prior if label in reg.index else 0.0


def concentrate_arcs(reg: Registry, facts: Facts) -> None:
    """Concentrate flows: all ore not separated at home goes to the separator named here."""
    trade = facts["trade_flows_annual"]
    us = one(trade, reporter="United States", flow="export", year=2024)
    bast = one(trade, reporter="China", partner="United States", product="bastnaesite concentrate")
    reg.add(Var("trade", ("concentrate_light", "USA", "CHN"), number(us["quantity"]), 0.05,
                sourced(trade, us, f"US ore/compound exports 2024; {number(bast['share_pct'])}% of "
                        f"China's bastnaesite imports come from the US (row {bast['row']})")))  # fmt: skip
    mys_feed = activity(reg, "MYS", "separate_light") - activity(reg, "MYS", "mine_light")
    reg.add(Var("trade", ("concentrate_light", "AUS", "MYS"), mys_feed, 0.1, Prov("derived",
        "Lynas Mt Weld concentrate to Kuantan = Malaysian separation feed less Malaysian ore")))  # fmt: skip
    aus_rest = activity(reg, "AUS", "mine_light") - mys_feed
    reg.add(Var("trade", ("concentrate_light", "AUS", "CHN"), aus_rest, 0.3, Prov("derived",
        "Australian output not sent to Lynas Malaysia goes to China (no other separator in 2024)")))  # fmt: skip
    for region in ("THA", "VNM"):
        reg.add(Var("trade", ("concentrate_light", region, "CHN"),
                    activity(reg, region, "mine_light"), 0.2, Prov("derived",
                    f"{region} ore exported to China: USGS estimates its output from China's "
                    "import data (facts README)")))  # fmt: skip
    xeu = activity(reg, "XEU", "separate_light")
    reg.add(Var("trade", ("concentrate_light", "ROW", "XEU"), xeu, 0.3, Prov("derived",
        "Silmet (Estonia) feed imported from the rest of the world (assumption on origin)")))  # fmt: skip
    row_rest = activity(reg, "ROW", "mine_light") - activity(reg, "ROW", "separate_light") - xeu
    reg.add(Var("trade", ("concentrate_light", "ROW", "CHN"), max(row_rest, 0.0), 0.3, Prov(
        "derived", "rest-of-world light ore not separated locally (Russia) or in Estonia")))  # fmt: skip
    mmr = find(trade, reporter="China", partner="Myanmar", year=2024)
    reg.add(Var("trade", ("concentrate_ionic", "MMR", "CHN"), activity(reg, "MMR", "mine_ionic"),
                0.05, derived("all Myanmar output is shipped to China (Myanmar = 57% of China's "
                              "2024 RE imports)", (trade, mmr.iloc[0]))))  # fmt: skip
    reg.add(Var("trade", ("concentrate_ionic", "ROW", "CHN"), activity(reg, "ROW", "mine_ionic"),
                0.2, Prov("derived", "Laos/Madagascar/Brazil ionic-clay concentrate goes to China "
                          "for separation (no other ionic separator in 2024)")))  # fmt: skip


def magnet_arcs(reg: Registry, facts: Facts, a: Assumptions, calibration: Path) -> list[Target]:
    """China's 2024 magnet exports by product and destination.

    Observed 2024 customs months where a destination has them (``destinations.py``), the 2020
    share for Thailand, the EU import figure less Germany for the rest of the EU, and a labelled
    assumed split of what is left.
    """
    trade = facts["trade_flows_annual"]
    total_row = one(trade, reporter="China", partner="World", year=2024, period="full year",
                    quantity_unit="t", flow="export", hs_code="8505.11 etc.")  # fmt: skip
    total = number(total_row["quantity"])
    dests = {
        r: (s.share * total, Prov("derived", s.note(total)), s.sigma)
        for r, s in observed_shares(calibration).items()
    }
    dests.update(_shares_2020(trade, total, total_row, exclude=set(dests)))
    dests.update(_rest_of_eu(trade, dests))
    rest = total - sum(v for v, _, _ in dests.values())
    for region, s in REST_SPLIT.items():
        dests[region] = (rest * s, Prov("assumption", f"{s:.0%} of the {rest:,.0f} t of 2024 "
                         "exports not covered by observed destinations, Thailand's 2020 share or "
                         f"the EU figure: assumed split {REST_SPLIT}"), 0.30)  # fmt: skip
    mix = {"ndfeb_bonded": a.value("export_share_bonded"), "smco": a.value("export_share_smco")}
    mix["ndfeb_sintered"] = 1.0 - sum(mix.values())
    terms: dict[tuple[str, ...], float] = {}
    for product, s in mix.items():
        for region, (tonnes, prov, sigma) in dests.items():
            note = (
                prov.note if product == "ndfeb_sintered" else f"{prov.note}; x {product} share {s}"
            )
            reg.add(Var("trade", (product, "CHN", region), tonnes * s, sigma,
                        Prov(prov.kind, note, prov.url)))  # fmt: skip
            terms[("trade", product, "CHN", region)] = 1.0
    reg.add(Var("aux", ("china_magnet_exports",), total, 0.001, sourced(trade, total_row)))
    return [Target("china_magnet_exports", terms)]


def _shares_2020(
    trade: pd.DataFrame, total: float, total_row: pd.Series, exclude: set[str]
) -> dict[str, Dest]:
    """2020 shares x the 2024 total, for named destinations with no observed 2024 month."""
    y2020 = find(trade, reporter="China", flow="export", year=2020, period="full year")
    world_2020 = number(one(y2020, partner="World")["quantity"])
    out: dict[str, Dest] = {}
    for _, row in y2020[y2020["partner"].isin(DEST_2020)].iterrows():
        region = DEST_2020[row["partner"]]
        if region in exclude:
            continue
        share = number(row["quantity"]) / world_2020
        out[region] = (share * total, derived(
            f"2020 share of China's magnet exports to {row['partner']} ({share:.2%}) x 2024 total "
            f"{total:,.0f} t (row {total_row['row']}); no 2024 month observed", (trade, row)), 0.15)  # fmt: skip
    return out


def _rest_of_eu(trade: pd.DataFrame, dests: dict[str, Dest]) -> dict[str, Dest]:
    """Rest of the EU: the EU's 2024 magnet imports from China less Germany's."""
    eu = one(trade, reporter="EU", partner="China", product="permanent magnets used by EU industry")
    eu_total = number(eu["quantity"])
    germany = dests["DEU"][0]
    return {"XEU": (eu_total - germany, derived(
        f"the EU's 2024 magnet imports from China ({eu_total:,.0f} t) less Germany's "
        f"{germany:,.0f} t", (trade, eu)), 0.15)}  # fmt: skip


def ndpr_arcs(reg: Registry, facts: Facts) -> None:
    trade = facts["trade_flows_annual"]
    for reporter, region in (("Australia/Malaysia (Lynas)", "MYS"),
                             ("United States (MP Materials)", "USA")):  # fmt: skip
        row = one(trade, reporter=reporter, partner="China", year=2024)
        reg.add(Var("trade", ("ndpr_oxide", region, "CHN"), number(row["quantity"]), 0.1,
                    sourced(trade, row, "NdPr shipped to China in 2024")))  # fmt: skip


def pool_arcs(reg: Registry, net: pd.DataFrame, products: list[str]) -> None:
    """Pooled allocation: each surplus region ships to each deficit region in proportion."""
    for product in products:
        position = net[product] if product in net else pd.Series(dtype=float)
        surplus, deficit = position[position > 1e-9], -position[position < -1e-9]
        scale = max(surplus.sum(), deficit.sum())
        if scale <= 0:
            continue
        for exporter, s in surplus.items():
            for importer, d in deficit.items():
                prov = Prov("derived", "pooled allocation (assumption): each region's net "
                            "surplus of the prior shipped to net-deficit regions in proportion")  # fmt: skip
                reg.add(
                    Var("trade", (product, str(exporter), str(importer)), s * d / scale, 0.3, prov)
                )


OXIDES_AND_METALS = ("_oxide", "_metal")
SOURCING = (  # name, importer, product suffixes, exporter, fact filter
    ("japan_metal_from_china", "JPN", ("_metal",), "CHN",
     {"reporter": "Japan", "partner": "China", "year": "2024",
      "product": "rare earth metals (excl. compounds)"}),
    ("usa_from_china", "USA", OXIDES_AND_METALS, "CHN",
     {"reporter": "United States", "partner": "China (incl. Hong Kong)", "year": "2021-2024",
      "product": "rare-earth compounds and metals (share of imports)"}),
    ("usa_from_malaysia", "USA", OXIDES_AND_METALS, "MYS",
     {"reporter": "United States", "partner": "Malaysia", "year": "2021-2024",
      "product": "rare-earth compounds and metals (share of imports)"}),
)  # fmt: skip


def sourcing_targets(reg: Registry, facts: Facts) -> list[Target]:
    """Soft targets: an importer's share of imports from one exporter, from the facts."""
    trade, targets = facts["trade_flows_annual"], []
    for name, importer, suffixes, exporter, filt in SOURCING:
        row = one(trade, **filt)
        share = number(row["share_pct"]) / 100.0
        arcs = [v for v in reg.of("trade") if v.key[2] == importer and v.key[0].endswith(suffixes)]
        terms = {v.label: float(v.key[1] == exporter) - share for v in arcs}
        total = sum(v.prior for v in arcs)
        prov = sourced(trade, row, f"soft target: {exporter} {share:.0%} of {importer}'s imports")
        reg.add(Var("aux", (name,), 0.0, 0.0, prov, nonneg=False, floor=0.03 * total))
        targets.append(Target(name, terms))
    return targets
