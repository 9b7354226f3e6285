"""Element contents of products and process recipes (stoichiometry plus stated assumptions)."""

from __future__ import annotations

import pandas as pd

from rareflow.build.curated import Assumptions
from rareflow.build.facts import Prov
from rareflow.build.rows import prov_row

OXYGEN = 15.999
# element: (atomic mass, atoms of element, atoms of O) in the oxide traded (REO basis)
OXIDE_FORMULA = {
    "La": (138.905, 2, 3), "Ce": (140.116, 1, 2), "Pr": (140.908, 6, 11),
    "Nd": (144.242, 2, 3), "Sm": (150.36, 2, 3), "Eu": (151.964, 2, 3), "Gd": (157.25, 2, 3),
    "Tb": (158.925, 4, 7), "Dy": (162.5, 2, 3), "Ho": (164.930, 2, 3), "Er": (167.259, 2, 3),
    "Tm": (168.934, 2, 3), "Yb": (173.045, 2, 3), "Lu": (174.967, 2, 3), "Y": (88.906, 2, 3),
    "Sc": (44.956, 2, 3),
}  # fmt: skip

# REO distribution of the feeds, % of REO (assumption: typical literature blends, not in the facts)
LIGHT_FEED = {
    "La": 26.0, "Ce": 49.0, "Pr": 5.2, "Nd": 17.0, "Sm": 1.2, "Eu": 0.2, "Gd": 0.5, "Tb": 0.03,
    "Dy": 0.1, "Ho": 0.02, "Er": 0.04, "Tm": 0.01, "Yb": 0.02, "Lu": 0.005, "Y": 0.4,
}  # fmt: skip
IONIC_FEED = {
    "La": 20.0, "Ce": 3.0, "Pr": 5.0, "Nd": 18.0, "Sm": 4.0, "Eu": 0.5, "Gd": 5.0, "Tb": 0.9,
    "Dy": 5.5, "Ho": 1.1, "Er": 3.2, "Tm": 0.5, "Yb": 2.5, "Lu": 0.4, "Y": 30.4,
}  # fmt: skip
FEED_NOTE = {
    "light": "assumption: light feed REO distribution, a blend of Bayan Obo / Mountain Pass / "
    "Mt Weld bastnaesite-monazite (La 26, Ce 49, Pr 5.2, Nd 17, Sm 1.2, heavies ~1.3% of REO), "
    "normalised to 100%; the fact base has no feed distributions",
    "ionic": "assumption: ionic-clay REO distribution, a medium-Y southern China / Kachin blend "
    "(Y 30.4, Nd 18, La 20, Dy 5.5, Tb 0.9 % of REO); the fact base has no feed distributions",
}
OXIDE_ELEMENTS = {
    "ndpr_oxide": ("Nd", "Pr"), "lace_oxide": ("La", "Ce"), "sm_oxide": ("Sm",),
    "eu_oxide": ("Eu",), "gd_oxide": ("Gd",), "tb_oxide": ("Tb",), "dy_oxide": ("Dy",),
    "ho_oxide": ("Ho",), "er_oxide": ("Er",), "tm_oxide": ("Tm",), "yb_oxide": ("Yb",),
    "lu_oxide": ("Lu",), "y_oxide": ("Y",), "sc_oxide": ("Sc",),
}  # fmt: skip
REDUCTIONS = {"reduce_ndpr": ("ndpr_oxide", "ndpr_metal"), "reduce_dy": ("dy_oxide", "dy_metal"),
              "reduce_tb": ("tb_oxide", "tb_metal"), "reduce_sm": ("sm_oxide", "sm_metal")}  # fmt: skip


def element_factor(element: str) -> float:
    """Tonnes of element per tonne of its oxide (stoichiometric)."""
    mass, n, m = OXIDE_FORMULA[element]
    return n * mass / (n * mass + m * OXYGEN)


def formula(element: str) -> str:
    _, n, m = OXIDE_FORMULA[element]
    return f"{element}{n if n > 1 else ''}O{m}"


def feed(kind: str, a: Assumptions) -> dict[str, float]:
    """Oxide mass fractions of one tonne of REO of the feed (sums to 1)."""
    raw = dict(LIGHT_FEED if kind == "light" else IONIC_FEED)
    raw["Sc"] = a.value("sc_in_light_feed") * 100.0 if kind == "light" else 0.0
    total = sum(raw.values())
    return {e: v / total for e, v in raw.items()}


def oxide_mix(product: str, a: Assumptions) -> dict[str, float]:
    """Oxide mass split of a separated product by element."""
    if product == "ndpr_oxide":
        nd = a.value("ndpr_nd_share")
        return {"Nd": nd, "Pr": 1.0 - nd}
    if product == "lace_oxide":
        light = feed("light", a)
        return {"La": light["La"] / (light["La"] + light["Ce"]),
                "Ce": light["Ce"] / (light["La"] + light["Ce"])}  # fmt: skip
    (element,) = OXIDE_ELEMENTS[product]
    return {element: 1.0}


def metal_content(product: str, a: Assumptions) -> dict[str, float]:
    """Element mass fraction of metals and magnets."""
    nd = a.value("ndpr_nd_share")
    if product == "ndpr_metal":
        return {"Nd": nd, "Pr": 1 - nd}
    if product in ("dy_metal", "tb_metal", "sm_metal"):
        return {product[:2].capitalize(): 1.0}
    if product == "ndfeb_sintered":
        dy, tb = a.value("sintered_dy"), a.value("sintered_tb")
        ndpr = a.value("sintered_re_total") - dy - tb
        return {"Nd": ndpr * nd, "Pr": ndpr * (1 - nd), "Dy": dy, "Tb": tb}
    if product == "ndfeb_bonded":
        re = a.value("bonded_re_total")
        return {"Nd": re * nd, "Pr": re * (1 - nd)}
    if product == "smco":
        return {"Sm": a.value("smco_sm")}
    raise KeyError(product)


def contents(a: Assumptions) -> pd.DataFrame:
    rows = []
    for kind in ("light", "ionic"):
        for e, share in feed(kind, a).items():
            if share > 0:
                note = f"{FEED_NOTE[kind]}; x {formula(e)} element factor {element_factor(e):.4f}"
                rows.append(prov_row(
                    {"product": f"concentrate_{kind}", "element": e,
                     "mass_fraction": share * element_factor(e)},
                    Prov("assumption", note)))  # fmt: skip
    for product in OXIDE_ELEMENTS:
        for e, share in oxide_mix(product, a).items():
            how = (
                f"stoichiometry: {share:.3f} of the oxide as {formula(e)} x {element_factor(e):.4f}"
            )
            if len(oxide_mix(product, a)) > 1:
                how += " (split: ndpr_nd_share assumption / light-feed La:Ce ratio)"
            rows.append(prov_row({"product": product, "element": e,
                                  "mass_fraction": share * element_factor(e)},
                                 Prov("derived", how)))  # fmt: skip
    for product in ("ndpr_metal", "dy_metal", "tb_metal", "sm_metal",
                    "ndfeb_sintered", "ndfeb_bonded", "smco"):  # fmt: skip
        for e, frac in metal_content(product, a).items():
            rows.append(prov_row({"product": product, "element": e, "mass_fraction": frac},
                                 _metal_prov(product, a)))  # fmt: skip
    return pd.DataFrame(rows)


def _metal_prov(product: str, a: Assumptions) -> Prov:
    if product.endswith("_metal"):
        return Prov("assumption", "metals and alloys counted at their RE content: ~1.0 of the "
                    "element (NdPr at the ndpr_nd_share split); DyFe counted as Dy metal")  # fmt: skip
    names = {"ndfeb_sintered": ("sintered_re_total", "sintered_dy", "sintered_tb"),
             "ndfeb_bonded": ("bonded_re_total",), "smco": ("smco_sm",)}[product]  # fmt: skip
    return Prov("assumption", " | ".join(a.prov(n).note for n in names))


def oxide_yields(kind: str, a: Assumptions) -> dict[str, float]:
    """Tonnes of each oxide product per tonne REO of feed separated."""
    mix, rec = feed(kind, a), a.value("separation_recovery")
    out = {p: rec * sum(mix[e] for e in els) for p, els in OXIDE_ELEMENTS.items()}
    return {p: v for p, v in out.items() if v > 0}


def metal_per_oxide(oxide: str, a: Assumptions) -> float:
    """Tonnes of element per tonne of the separated product (for oxide-to-metal ratios)."""
    return sum(s * element_factor(e) for e, s in oxide_mix(oxide, a).items())


def magnet_inputs(a: Assumptions) -> dict[str, dict[str, float]]:
    """Metal input per tonne of finished magnet."""
    out: dict[str, dict[str, float]] = {}
    for process, product, y in (("make_sintered", "ndfeb_sintered", "sintered_yield"),
                                ("make_bonded", "ndfeb_bonded", "bonded_yield"),
                                ("make_smco", "smco", "smco_yield")):  # fmt: skip
        c = metal_content(product, a)
        ndpr = c.get("Nd", 0) + c.get("Pr", 0)
        metals = {"ndpr_metal": ndpr, "dy_metal": c.get("Dy", 0), "tb_metal": c.get("Tb", 0),
                  "sm_metal": c.get("Sm", 0)}  # fmt: skip
        out[process] = {m: v / a.value(y) for m, v in metals.items() if v > 0}
    return out


def recipes(a: Assumptions) -> pd.DataFrame:
    rows = []

    def add(process: str, product: str, role: str, value: float, prov: Prov) -> None:
        rows.append(prov_row({"process": process, "product": product, "role": role,
                              "tonnes_per_tonne_activity": value}, prov))  # fmt: skip

    unit = Prov("derived", "activity counted in t REO of concentrate produced")
    add("mine_light", "concentrate_light", "output", 1.0, unit)
    add("mine_ionic", "concentrate_ionic", "output", 1.0, unit)
    for kind in ("light", "ionic"):
        process = f"separate_{kind}"
        add(process, f"concentrate_{kind}", "input", 1.0,
            Prov("derived", "activity counted in t REO of feed"))  # fmt: skip
        for product, value in oxide_yields(kind, a).items():
            add(process, product, "output", value, Prov("assumption",
                f"feed share x recovery: {FEED_NOTE[kind]} | {a.prov('separation_recovery').note}"))  # fmt: skip
    for process, (oxide, metal) in REDUCTIONS.items():
        ratio = 1.0 / metal_per_oxide(oxide, a) / a.value("reduction_yield")
        add(process, metal, "output", 1.0, Prov("derived", "activity counted in t metal"))
        add(process, oxide, "input", ratio, Prov("derived",
            f"stoichiometric oxide per metal 1/{metal_per_oxide(oxide, a):.4f} over "
            f"{a.prov('reduction_yield').note}"))  # fmt: skip
    magnets = {
        "make_sintered": "ndfeb_sintered",
        "make_bonded": "ndfeb_bonded",
        "make_smco": "smco",
    }
    for process, inputs in magnet_inputs(a).items():
        add(process, magnets[process], "output", 1.0, Prov("derived", "activity = t magnet"))
        for metal, value in inputs.items():
            add(process, metal, "input", value, Prov("assumption",
                f"magnet RE content / manufacturing yield: {_metal_prov(magnets[process], a).note}"))  # fmt: skip
    return pd.DataFrame(rows)


def recipe_matrices(recipe: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(inputs, outputs) as process x product frames of t per t activity."""
    pivot = {
        role: recipe[recipe["role"] == role].pivot_table(
            index="process",
            columns="product",
            values="tonnes_per_tonne_activity",
            aggfunc="sum",
            fill_value=0.0,
        )
        for role in ("input", "output")
    }
    return pivot["input"], pivot["output"]
