"""Baseline prices (USD/kg) per product and market for 2024 and 2025 (no 2010-2015 data used)."""

from __future__ import annotations

import pandas as pd

from rareflow.build.chemistry import oxide_mix, oxide_yields
from rareflow.build.curated import Assumptions
from rareflow.build.dimensions import METALS
from rareflow.build.facts import Facts, Prov, derived, find, number, one, sourced
from rareflow.build.rows import prov_row

YEARS = (2024, 2025)
ARGUS = {  # product: prices.csv product name (annual FOB averages, ex-China market)
    "ndpr_oxide": "NdPr oxide", "sm_oxide": "Samarium oxide", "eu_oxide": "Europium oxide",
    "gd_oxide": "Gadolinium oxide", "tb_oxide": "Terbium oxide", "dy_oxide": "Dysprosium oxide",
    "ho_oxide": "Holmium oxide", "er_oxide": "Erbium oxide", "yb_oxide": "Ytterbium oxide",
    "lu_oxide": "Lutetium oxide", "y_oxide": "Yttrium oxide (Y2O3)",
}  # fmt: skip
SMM = {"ndpr_oxide": "NdPr oxide", "dy_oxide": "Dysprosium oxide", "tb_oxide": "Terbium oxide",
       "ho_oxide": "Holmium oxide", "gd_oxide": "Gadolinium oxide", "er_oxide": "Erbium oxide"}  # fmt: skip
Price = tuple[float, Prov]


def annual(facts: Facts, name: str, year: int) -> tuple[float, pd.Series]:
    frame = facts["prices"]
    rows = find(frame, product=name, date=year, unit="USD/kg")
    rows = rows[rows["market_basis"].str.contains("annual average")]
    row = rows.iloc[0]
    return number(row["value"]), row


def ex_china_oxides(facts: Facts, year: int) -> dict[str, Price]:
    frame, out = facts["prices"], {}
    for product, name in ARGUS.items():
        value, row = annual(facts, name, year)
        out[product] = (value, sourced(frame, row, f"{row['market_basis']} {year}"))
    la, la_row = annual(facts, "Lanthanum oxide", year)
    ce, ce_row = annual(facts, "Cerium oxide", year)
    return out | {
        "lace_oxide": (la, derived("", (frame, la_row))),
        "_ce": (ce, derived("", (frame, ce_row))),
    }


def china_from_smm(facts: Facts, a: Assumptions, name: str, year: int) -> Price | None:
    """Mean of the year's SMM China domestic quotes, CNY/t -> USD/kg, VAT removed."""
    frame = facts["prices"]
    rows = frame[(frame["product"] == name) & frame["date"].str.startswith(str(year))
                 & frame["market_basis"].str.contains("China domestic") & (frame["unit"] == "CNY/t")]  # fmt: skip
    if rows.empty:
        return None
    cny = [
        number(str(v)) if v else (number(str(lo)) + number(str(hi))) / 2
        for v, lo, hi in zip(rows["value"], rows["value_low"], rows["value_high"], strict=True)
    ]
    usd = sum(cny) / len(cny) / a.value("cny_per_usd") / (1 + a.value("china_vat")) / 1000.0
    refs = ", ".join(f"row {r}" for r in rows["row"])
    return usd, Prov("derived", f"mean of {len(cny)} SMM China domestic quotes in {year} "
                     f"(prices.csv {refs}) / {a.value('cny_per_usd')} CNY per USD / "
                     f"(1 + {a.value('china_vat')} VAT): {a.prov('cny_per_usd').note}")  # fmt: skip


def oxide_prices(facts: Facts, a: Assumptions, year: int) -> dict[tuple[str, str], Price]:
    ex = ex_china_oxides(facts, year)
    la, ce = ex.pop("lace_oxide"), ex.pop("_ce")
    mix = oxide_mix("lace_oxide", a)
    ex["lace_oxide"] = (mix["La"] * la[0] + mix["Ce"] * ce[0], Prov("derived",
        f"La/Ce oxide = {mix['La']:.2f} x La oxide + {mix['Ce']:.2f} x Ce oxide (Argus FOB annual "
        f"averages; {la[1].note}; {ce[1].note})"))  # fmt: skip
    ex["tm_oxide"] = (ex["ho_oxide"][0], Prov("assumption", "no Tm price in the facts: set at "
                      "the Ho oxide price (similarly scarce heavy oxide, thin market)"))  # fmt: skip
    sc = one(facts["prices"], product="Scandium oxide", date=2022)
    ex["sc_oxide"] = (number(sc["value"]), derived("latest Sc oxide price in the facts (USGS, "
                      "China FOB 2022 annual average) held flat", (facts["prices"], sc)))  # fmt: skip
    ratio, ratio_prov = china_ratio(facts, a, year, ex["ndpr_oxide"][0])
    out: dict[tuple[str, str], Price] = {}
    for product, (value, prov) in ex.items():
        out[(product, "ex_china")] = (value, prov)
        smm = china_from_smm(facts, a, SMM[product], year) if product in SMM else None
        if product == "ndpr_oxide" and year == 2024:
            smm = (ratio * value, ratio_prov)
        out[(product, "china")] = smm or (value * ratio, Prov("derived",
            f"ex-China price x China/ex-China NdPr ratio {ratio:.3f} ({ratio_prov.note})"))  # fmt: skip
    return out


def china_ratio(facts: Facts, a: Assumptions, year: int, ndpr_ex: float) -> tuple[float, Prov]:
    """China domestic / ex-China price ratio from NdPr oxide."""
    frame = facts["prices"]
    if year == 2024:
        rows = find(frame, product="NdPr", market_basis="China domestic, VAT excluded")
        rows = rows[rows["date"].isin(["2023-12", "2024-12"])]
        value = sum(number(v) for v in rows["value"]) / len(rows)
        prov = Prov("derived", f"China NdPr 2024 = mean of Dec-2023 and Dec-2024 VAT-excluded "
                    f"quotes (prices.csv rows {', '.join(map(str, rows['row']))}) = {value:.1f} USD/kg")  # fmt: skip
        return value / ndpr_ex, prov
    smm = china_from_smm(facts, a, "NdPr oxide", year)
    assert smm is not None
    return smm[0] / ndpr_ex, smm[1]


def prices(facts: Facts, a: Assumptions) -> pd.DataFrame:
    rows = []
    for year in YEARS:
        table = oxide_prices(facts, a, year)
        table |= derived_prices(facts, a, year, table)
        for (product, market), (value, prov) in table.items():
            rows.append(prov_row({"product": product, "market": market, "year": year,
                                  "usd_per_kg": round(value, 4)}, prov))  # fmt: skip
    return pd.DataFrame(rows)


def derived_prices(facts: Facts, a: Assumptions, year: int,
                   ox: dict[tuple[str, str], Price]) -> dict[tuple[str, str], Price]:  # fmt: skip
    out: dict[tuple[str, str], Price] = {}
    trade = facts["trade_flows_annual"]
    exports = one(trade, reporter="China", partner="World", year=2024, hs_code="8505.11 etc.")
    unit_value = number(exports["value_usd"]) / number(exports["quantity"]) / 1000.0
    for market in ("china", "ex_china"):
        for metal in METALS:
            oxide = metal.replace("_metal", "_oxide")
            out[(metal, market)] = (ox[(oxide, market)][0] * a.value("metal_markup"), Prov(
                "derived", f"{oxide} price x {a.prov('metal_markup').note}"))  # fmt: skip
        for kind in ("light", "ionic"):
            basket = sum(y * ox[(p, market)][0] for p, y in oxide_yields(kind, a).items())
            out[(f"concentrate_{kind}", market)] = (basket * a.value("concentrate_payability"), Prov(
                "derived", f"value of the oxides in 1 t REO of {kind} feed (separation yields x "
                f"oxide prices) x {a.prov('concentrate_payability').note}"))  # fmt: skip
        premium = 1.0 if market == "china" else a.value("magnet_ex_china_premium")
        sintered = unit_value * premium
        out[("ndfeb_sintered", market)] = (sintered, derived(
            f"China's 2024 magnet export unit value (USD {number(exports['value_usd']):,.0f} / "
            f"{number(exports['quantity']):,.0f} t) x {premium} (2024 value also used for 2025)"
            + ("" if market == "china" else f"; {a.prov('magnet_ex_china_premium').note}"),
            (trade, exports)))  # fmt: skip
        out[("ndfeb_bonded", market)] = (sintered * a.value("bonded_price_ratio"), Prov(
            "derived", f"sintered price x {a.prov('bonded_price_ratio').note}"))  # fmt: skip
        out[("smco", market)] = (a.value("smco_price") * premium / a.value("magnet_ex_china_premium"),
                                 a.prov("smco_price"))  # fmt: skip
    return out
