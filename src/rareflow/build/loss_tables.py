"""What a lost unit is and what it destroys: the defence platform mix and value-added shares.

Every number is sourced from ``facts/intensities.csv`` (platform kg) or a labelled assumption
with its rationale: the shared data holds no input-output tables and no platform prices.
"""

from __future__ import annotations

import pandas as pd

from rareflow.build.dimensions import REGION_CODES
from rareflow.build.facts import Facts, Prov, derived, number, one
from rareflow.build.rows import prov_row

LB = 0.45359237
MIX_WHY = ("fighters and warships are built in tens a year, so they hold a few per cent of "
           "defence magnet tonnes; guided weapons, electronics and motors take the rest")  # fmt: skip
# platform -> (intensities.csv product or None, kg if assumed, kg rationale, mass share,
#              USD per unit, value rationale)
PLATFORMS: dict[str, tuple[str | None, float, str, float, float, str]] = {
    "fighter (F-35-class)": ("F-35 Lightning II aircraft", 0.0, "", 0.05, 80e6,
                             "an F-35A ~USD 80m"),
    "destroyer (DDG-51-class)": ("DDG-51 Arleigh Burke (Aegis) destroyer", 0.0, "", 0.03,
                                 2.2e9, "a DDG-51 Flight III ~USD 2.2bn"),
    "submarine (SSN-774-class)": ("SSN-774 Virginia-class submarine", 0.0, "", 0.02, 3.4e9,
                                  "a Virginia-class submarine ~USD 3.4bn"),
    "missile": (None, 5.0, "~5 kg of SmCo/NdFeB in a missile's fin actuators, seeker and "
                "generator", 0.20, 2e6, "a cruise or air-defence missile ~USD 2m"),
    "guided munition": (None, 0.5, "~0.5 kg in a guidance kit's control actuators", 0.30, 4e4,
                        "a JDAM-class guidance kit ~USD 40,000"),
    "electronics and other": (None, 10.0, "~10 kg in a radar, sonar, communications or motor "
                              "subsystem", 0.40, 5e5, "such a subsystem ~USD 0.5m"),
}  # fmt: skip

# sector -> (value added / gross output, rationale); one share for every region
VALUE_ADDED: dict[str, tuple[float, str]] = {
    "ev_traction": (0.20, "vehicle assembly buys in most of a car's value: its value added is "
                    "about a fifth of gross output"),
    "wind": (0.30, "turbine makers buy in towers, blades and bearings: about 30% value added"),
    "electronics": (0.25, "device assembly buys in chips and displays: about a quarter value "
                    "added"),
    "industrial_motors": (0.35, "machinery makers add about a third of their gross output"),
    "defence": (0.40, "prime contractors' design and integration labour: about 40% value "
                "added"),
    "medical": (0.45, "medical devices carry high design and margin: about 45% value added"),
    "appliances": (0.25, "appliance assembly buys in compressors and electronics: about a "
                   "quarter value added"),
    "other": (0.30, "catalysts, glass, alloys and ceramics: about 30% value added"),
}  # fmt: skip
VA_NOTE = ("assumption: {why} (no input-output tables in the shared data; one share for "
           "every region; override with your own value_added.csv)")  # fmt: skip


def platforms(facts: Facts) -> pd.DataFrame:
    """The defence platform mix (``model.losses.platform_mix`` turns it into a mean unit)."""
    ints = facts["intensities"]
    rows = []
    for name, (product, kg, kg_why, share, usd, usd_why) in PLATFORMS.items():
        tail = f"mass share {share:g} assumption: {MIX_WHY}; usd_per_unit assumption: {usd_why}"
        if product is not None:
            fact = one(ints, product=product, year=2013)
            kg = number(fact["value"]) * LB
            prov = derived(f"kg: {number(fact['value']):g} lb of RE materials = {kg:.0f} kg | "
                           f"{tail}", (ints, fact))  # fmt: skip
        else:
            prov = Prov("assumption", f"kg: {kg_why} | {tail}")
        rows.append(prov_row({"sector": "defence", "platform": name, "mass_share": share,
                              "kg_per_unit": kg, "usd_per_unit": usd}, prov))  # fmt: skip
    return pd.DataFrame(rows)


def value_added() -> pd.DataFrame:
    rows = [
        prov_row(
            {"region": region, "sector": sector, "value_added_share": share},
            Prov("assumption", VA_NOTE.format(why=why)),
        )
        for region in REGION_CODES
        for sector, (share, why) in VALUE_ADDED.items()
    ]
    return pd.DataFrame(rows)
