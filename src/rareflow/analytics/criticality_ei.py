"""Economic importance (EI) of the rare earths by the EU formula, from the network's end uses.

The EU studies' EI needs each material's end-use shares by NACE 2-digit sector (A_s) and those
sectors' EU value added (Q_s); ``criticality_inputs.csv`` holds neither for the rare earths,
and their published EI is not bundled. The network does hold end uses: each sector's demand of
each product in the EU regions (DEU, XEU), and each product's element content. So here:

* A_s: the element's share of EU end use in each network sector (tonnes of element in the
  products the sector uses, ``demand`` x ``contents``); world end use where the EU uses none;
* Q_s: EU value added of the NACE sector each network sector belongs to (``NACE``, below);
* SI_EI: the study's substitution index for the element (``criticality_inputs.csv``);
* EI = 10 x sum_s A_s Q_s / Q_max x SI_EI (``criticality.economic_importance``), Q_max the
  largest manufacturing sector (C28, machinery).

``EI_basis`` says "network end uses x NACE value added (assumption)": the value added figures
are rounded magnitudes, labelled assumptions below, so EI is good to about +-10%; the verdict
(EI >= 2.8) is robust where EI is well away from it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rareflow.analytics import criticality as crit

if TYPE_CHECKING:
    from rareflow.data.network import Network

EU_REGIONS = ("DEU", "XEU")
BASIS = "network end uses x NACE value added (assumption)"


@dataclass(frozen=True)
class Nace:
    code: str
    name: str
    value_added_eur_bn: float
    provenance: str
    rationale: str


# EU-27 value added at factor cost, EUR bn, of the NACE sectors the network's sectors sit in.
NACE = {
    "C20": Nace("C20", "chemicals", 110.0, "assumption",
                "Eurostat SBS order of magnitude (about EUR 100-120 bn, 2018-2021)"),
    "C26": Nace("C26", "computer, electronic and optical products", 80.0, "assumption",
                "Eurostat SBS order of magnitude (about EUR 75-85 bn)"),
    "C27": Nace("C27", "electrical equipment", 90.0, "assumption",
                "Eurostat SBS order of magnitude (about EUR 85-95 bn)"),
    "C28": Nace("C28", "machinery and equipment n.e.c.", 200.0, "assumption",
                "Eurostat SBS: the largest manufacturing sector (about EUR 190-210 bn)"),
    "C29": Nace("C29", "motor vehicles", 180.0, "assumption",
                "Eurostat SBS order of magnitude (about EUR 170-190 bn)"),
    "C30": Nace("C30", "other transport equipment", 55.0, "assumption",
                "Eurostat SBS order of magnitude (about EUR 50-60 bn), incl. military vehicles"),
    "C32": Nace("C32", "other manufacturing", 60.0, "assumption",
                "Eurostat SBS order of magnitude (about EUR 55-65 bn), incl. medical devices"),
}  # fmt: skip
LARGEST = "C28"
# Which NACE sector each network sector's products belong to (the 2017 study's mapping style).
SECTOR_NACE = {
    "ev_traction": "C29",  # motor vehicles
    "wind": "C28",  # wind turbines are NACE 28.11
    "electronics": "C26",
    "industrial_motors": "C27",  # electric motors 27.11
    "defence": "C30",  # military fighting vehicles and aircraft
    "medical": "C32",  # medical instruments 32.5
    "appliances": "C27",  # domestic appliances 27.5
    "other": "C20",  # catalysts, polishing powders, glass additives: chemicals
}


def end_use_shares(network: Network) -> pd.DataFrame:
    """element x sector: each element's share of its end use by network sector (EU regions,
    or the world where the EU uses none of it); empty for a network without end uses."""
    if not {"demand", "contents"} <= set(network.tables):
        return pd.DataFrame()
    demand = network.tables["demand"]
    contents = network.tables["contents"]
    rows = demand.merge(contents[["product", "element", "mass_fraction"]], on="product")
    rows = rows.assign(t=rows["tonnes_per_year"].astype(float) * rows["mass_fraction"])
    eu = rows[rows["region"].isin(EU_REGIONS)].pivot_table(
        index="element", columns="sector", values="t", aggfunc="sum", fill_value=0.0
    )
    world = rows.pivot_table(
        index="element", columns="sector", values="t", aggfunc="sum", fill_value=0.0
    )
    eu = eu.reindex(index=world.index, columns=world.columns, fill_value=0.0)
    has_eu = eu.sum(axis=1) > 0
    use = pd.concat([eu[has_eu], world[~has_eu]]).reindex(world.index)
    return use.div(use.sum(axis=1), axis=0).fillna(0.0)


def network_ei(network: Network, si_ei: dict[str, float]) -> pd.DataFrame:
    """element, EI, main_sector (largest A_s x Q_s) for elements with an SI_EI."""
    shares = end_use_shares(network)
    q_max = NACE[LARGEST].value_added_eur_bn
    rows = []
    for element, a in shares.iterrows():
        if element not in si_ei or any(s not in SECTOR_NACE for s in a.index[a > 0]):
            continue  # a user's sector we cannot place in a NACE sector: no EI
        sectors = [s for s in a.index if a[s] > 0]
        q = [NACE[SECTOR_NACE[s]].value_added_eur_bn for s in sectors]
        share = [float(a[s]) for s in sectors]
        ei = crit.economic_importance(share, q, si_ei[str(element)], largest_value_added=q_max)
        main = sectors[int(np.argmax(np.multiply(share, q)))] if sectors else ""
        rows.append({"element": element, "EI": ei, "main_sector": main})
    return pd.DataFrame(rows, columns=["element", "EI", "main_sector"])
