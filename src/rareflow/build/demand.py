"""Final-use priors: magnets by apparent consumption, other products as world residuals."""

from __future__ import annotations

import pandas as pd

from rareflow.build.facts import Facts, Prov, derived, number, one
from rareflow.build.system import Registry, Var

# Share of each region in final use of separated oxides and metals outside magnets
# (assumption: China's large catalyst/glass/alloy industry, then Japan, the US, Europe, Korea).
USE_SHARE = {"CHN": 0.60, "JPN": 0.10, "USA": 0.08, "KOR": 0.04, "DEU": 0.04, "XEU": 0.05,
             "IND": 0.03, "VNM": 0.01, "MEX": 0.01, "MYS": 0.01, "THA": 0.01, "GBR": 0.01,
             "AUS": 0.005, "ROW": 0.005}  # fmt: skip
# End use of each non-magnet product (assumption: main application of the element)
PRODUCT_SECTOR = {
    "lace_oxide": "other", "ndpr_oxide": "other", "sm_oxide": "other", "eu_oxide": "electronics",
    "gd_oxide": "medical", "tb_oxide": "electronics", "dy_oxide": "other", "ho_oxide": "other",
    "er_oxide": "electronics", "tm_oxide": "medical", "yb_oxide": "other", "lu_oxide": "medical",
    "y_oxide": "electronics", "sc_oxide": "other", "ndpr_metal": "other", "dy_metal": "other",
    "tb_metal": "other", "sm_metal": "other", "concentrate_light": "other",
    "concentrate_ionic": "other",
}  # fmt: skip
BONDED_SECTORS = {"electronics": 0.45, "appliances": 0.20, "industrial_motors": 0.20,
                  "ev_traction": 0.10, "other": 0.05}  # fmt: skip
SMCO_SECTORS = {"defence": 0.40, "industrial_motors": 0.30, "medical": 0.10, "electronics": 0.10,
                "other": 0.10}  # fmt: skip
SINTERED_REST = {"electronics": 0.14, "industrial_motors": 0.16, "defence": 0.02, "medical": 0.01}


def ledger(reg: Registry, recipe_in: pd.DataFrame, recipe_out: pd.DataFrame) -> pd.DataFrame:
    """Net position of the priors, region x product: in - out of every balance (0 = balanced)."""
    rows = []
    net = recipe_out.sub(recipe_in, fill_value=0.0).fillna(0.0)
    for v in reg.items:
        if v.kind == "activity":
            for product, c in net.loc[v.key[1]].items():
                rows.append((v.key[0], product, c * v.prior))
        elif v.kind == "trade":
            rows += [(v.key[2], v.key[0], v.prior), (v.key[1], v.key[0], -v.prior)]
        elif v.kind in ("demand", "stock"):
            rows.append((v.key[0], v.key[-1], -v.prior))
    frame = pd.DataFrame(rows, columns=["region", "product", "value"])
    return frame.pivot_table(index="region", columns="product", values="value", aggfunc="sum",
                             fill_value=0.0)  # fmt: skip


def sintered_sectors(facts: Facts) -> list[tuple[str, float, Prov]]:
    dem = facts["demand_by_sector"]
    nev = one(dem, sector="New energy vehicles (NEV)", metric="NdFeB magnet demand", year=2024)
    share = number(
        one(dem, sector="New energy vehicles (NEV)", metric="share of NdFeB demand")["value"]
    )
    world = number(nev["value"]) / (share / 100.0)
    out = []
    for sector, label in (("ev_traction", "New energy vehicles (NEV)"), ("wind", "Wind turbines"),
                          ("appliances", "Inverter air conditioners")):  # fmt: skip
        row = one(dem, sector=label, metric="NdFeB magnet demand", year=2024)
        s = number(row["value"]) / world
        out.append((sector, s, derived(f"ACREI 2024 {label} {number(row['value']):,.0f} t / world "
                                       f"{world:,.0f} t = {s:.1%}, same mix in every region", (dem, row))))  # fmt: skip
    rest = 1.0 - sum(s for _, s, _ in out)
    for sector, s in SINTERED_REST.items():
        out.append((sector, s, Prov("assumption", f"sector share {s:.0%} of the ACREI remainder "
                                    f"({rest:.1%}); no recent global split in the facts (README gap)")))  # fmt: skip
    other = rest - sum(SINTERED_REST.values())
    out.append(("other", other, Prov("assumption", "rest of the ACREI remainder")))
    return out


def magnet_demand(reg: Registry, net: pd.DataFrame, facts: Facts) -> None:
    """Magnet final use = apparent consumption (production + imports - exports) by region."""
    splits = {
        "ndfeb_sintered": sintered_sectors(facts),
        "ndfeb_bonded": [(s, v, Prov("assumption", f"bonded NdFeB end-use mix {BONDED_SECTORS}"))
                         for s, v in BONDED_SECTORS.items()],
        "smco": [(s, v, Prov("assumption", f"SmCo end-use mix {SMCO_SECTORS} (defence/aerospace "
                             "first, facts: F-35/Tomahawk use SmCo)")) for s, v in SMCO_SECTORS.items()],
    }  # fmt: skip
    for product, split in splits.items():
        for region, tonnes in net[product].items():
            if tonnes <= 0:
                continue
            for sector, share, prov in split:
                note = f"apparent consumption {tonnes:,.0f} t (production + imports - exports) x {prov.note}"
                reg.add(Var("demand", (str(region), sector, product), tonnes * share, 0.15,
                            Prov("derived", note, prov.url)))  # fmt: skip


def residual_demand(reg: Registry, net: pd.DataFrame, products: list[str]) -> None:
    """Non-magnet final use: the world surplus of the priors, spread by USE_SHARE."""
    for product in products:
        if product not in net:
            continue
        world = float(net[product].sum())
        if world <= 1e-9:
            continue
        for region, share in USE_SHARE.items():
            prov = Prov("derived", f"world output less process use of {product} "
                        f"({world:,.1f} t) x regional use share {share} (assumption: {USE_SHARE}); "
                        f"end use {PRODUCT_SECTOR[product]} (assumption)")  # fmt: skip
            reg.add(
                Var("demand", (region, PRODUCT_SECTOR[product], product), world * share, 0.3, prov)
            )
