"""The dimension tables: regions, country mapping, elements, products, sectors, processes."""

from __future__ import annotations

import pandas as pd

REGIONS = (
    ("CHN", "China", "country"),
    ("USA", "United States", "country"),
    ("JPN", "Japan", "country"),
    ("KOR", "South Korea", "country"),
    ("DEU", "Germany", "country"),
    ("XEU", "Rest of the EU", "group"),
    ("VNM", "Vietnam", "country"),
    ("IND", "India", "country"),
    ("MEX", "Mexico", "country"),
    ("MYS", "Malaysia", "country"),
    ("AUS", "Australia", "country"),
    ("MMR", "Myanmar (Burma)", "country"),
    ("THA", "Thailand", "country"),
    ("GBR", "United Kingdom", "country"),
    ("ROW", "Rest of the world", "group"),
)
REGION_CODES = tuple(r[0] for r in REGIONS)

EU_OTHER = {
    "AUT": "Austria", "BEL": "Belgium", "BGR": "Bulgaria", "HRV": "Croatia", "CYP": "Cyprus",
    "CZE": "Czechia", "DNK": "Denmark", "EST": "Estonia", "FIN": "Finland", "FRA": "France",
    "GRC": "Greece", "HUN": "Hungary", "IRL": "Ireland", "ITA": "Italy", "LVA": "Latvia",
    "LTU": "Lithuania", "LUX": "Luxembourg", "MLT": "Malta", "NLD": "Netherlands",
    "POL": "Poland", "PRT": "Portugal", "ROU": "Romania", "SVK": "Slovakia", "SVN": "Slovenia",
    "ESP": "Spain", "SWE": "Sweden",
}  # fmt: skip
ROW_COUNTRIES = {
    "LAO": "Laos", "RUS": "Russia", "BRA": "Brazil", "MDG": "Madagascar", "NGA": "Nigeria",
    "CAN": "Canada", "GRL": "Greenland", "ZAF": "South Africa", "TZA": "Tanzania",
    "TWN": "Taiwan", "HKG": "Hong Kong", "CHL": "Chile", "SAU": "Saudi Arabia",
    "KAZ": "Kazakhstan", "NOR": "Norway", "CHE": "Switzerland", "TUR": "Turkey",
    "PHL": "Philippines", "IDN": "Indonesia", "SGP": "Singapore", "ARE": "United Arab Emirates",
    "ISR": "Israel", "UKR": "Ukraine", "ARG": "Argentina", "BDI": "Burundi", "UGA": "Uganda",
    "MWI": "Malawi", "AGO": "Angola", "KEN": "Kenya", "NZL": "New Zealand",
}  # fmt: skip

ELEMENTS = (
    ("La", "Lanthanum", 57), ("Ce", "Cerium", 58), ("Pr", "Praseodymium", 59),
    ("Nd", "Neodymium", 60), ("Pm", "Promethium", 61), ("Sm", "Samarium", 62),
    ("Eu", "Europium", 63), ("Gd", "Gadolinium", 64), ("Tb", "Terbium", 65),
    ("Dy", "Dysprosium", 66), ("Ho", "Holmium", 67), ("Er", "Erbium", 68), ("Tm", "Thulium", 69),
    ("Yb", "Ytterbium", 70), ("Lu", "Lutetium", 71), ("Y", "Yttrium", 39), ("Sc", "Scandium", 21),
)  # fmt: skip
# Heavy: Gd..Lu and Y (schema). Sc is counted heavy too: China's April 2025 licensing list groups
# it with the medium and heavy elements (Sm, Gd, Tb, Dy, Lu, Sc, Y).
HEAVY = {"Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu", "Y", "Sc"}

OXIDES = {
    "ndpr_oxide": "NdPr oxide", "lace_oxide": "La/Ce oxides", "sm_oxide": "Samarium oxide",
    "eu_oxide": "Europium oxide", "gd_oxide": "Gadolinium oxide", "tb_oxide": "Terbium oxide",
    "dy_oxide": "Dysprosium oxide", "ho_oxide": "Holmium oxide", "er_oxide": "Erbium oxide",
    "tm_oxide": "Thulium oxide", "yb_oxide": "Ytterbium oxide", "lu_oxide": "Lutetium oxide",
    "y_oxide": "Yttrium oxide", "sc_oxide": "Scandium oxide",
}  # fmt: skip
HEAVY_OXIDES = ("gd_oxide", "tb_oxide", "dy_oxide", "ho_oxide", "er_oxide", "tm_oxide",
                "yb_oxide", "lu_oxide", "y_oxide", "sc_oxide")  # fmt: skip
METALS = {"ndpr_metal": "NdPr metal", "dy_metal": "Dy metal (incl. DyFe)",
          "tb_metal": "Tb metal", "sm_metal": "Sm metal"}  # fmt: skip
MAGNETS = {"ndfeb_sintered": "Sintered NdFeB magnets", "ndfeb_bonded": "Bonded NdFeB magnets",
           "smco": "SmCo magnets"}  # fmt: skip
CONCENTRATES = {"concentrate_light": "Mixed light concentrate (bastnaesite/monazite)",
                "concentrate_ionic": "Ion-adsorption clay concentrate"}  # fmt: skip

SECTORS = (
    ("ev_traction", "EV traction motors", "vehicle"),
    ("wind", "Wind turbines", "MW"),
    ("electronics", "Electronics (phones, HDD, acoustics, phosphors, optics)", "device"),
    ("industrial_motors", "Industrial motors and robots", "motor"),
    ("defence", "Defence platforms", "F-35-equivalent platform"),
    ("medical", "Medical devices and agents", "device"),
    ("appliances", "Appliances (inverter air conditioners, compressors)", "air conditioner"),
    ("other", "Other uses (catalysts, glass, polishing, alloys, ceramics)", "kg of product"),
)

PROCESSES = (
    ("mine_light", "Mining of light (bastnaesite/monazite) ore", "mining", "t REO of concentrate"),
    ("mine_ionic", "Mining of ion-adsorption clay", "mining", "t REO of concentrate"),
    ("separate_light", "Separation of light concentrate", "separation", "t REO of feed"),
    ("separate_ionic", "Separation of ionic-clay concentrate", "separation", "t REO of feed"),
    ("reduce_ndpr", "Reduction of NdPr oxide to metal", "metal", "t NdPr metal"),
    ("reduce_dy", "Reduction of Dy oxide to metal/DyFe", "metal", "t Dy metal"),
    ("reduce_tb", "Reduction of Tb oxide to metal", "metal", "t Tb metal"),
    ("reduce_sm", "Reduction of Sm oxide to metal", "metal", "t Sm metal"),
    ("make_sintered", "Sintered NdFeB magnet making", "magnet", "t finished magnet"),
    ("make_bonded", "Bonded NdFeB magnet making", "magnet", "t finished magnet"),
    ("make_smco", "SmCo magnet making", "magnet", "t finished magnet"),
)


def regions() -> pd.DataFrame:
    return pd.DataFrame(REGIONS, columns=["region", "name", "kind"])


def country_regions() -> pd.DataFrame:
    rows = [(code, name, code) for code, name, kind in REGIONS if kind == "country"]
    rows.append(("BUR", "Burma (old code, Myanmar)", "MMR"))
    rows += [(iso, name, "XEU") for iso, name in EU_OTHER.items()]
    rows += [(iso, name, "ROW") for iso, name in ROW_COUNTRIES.items()]
    return pd.DataFrame(rows, columns=["iso3", "country", "region"]).sort_values("iso3")


def elements() -> pd.DataFrame:
    rows = [(s, n, z, "heavy" if s in HEAVY else "light") for s, n, z in ELEMENTS]
    return pd.DataFrame(rows, columns=["element", "name", "atomic_number", "group"])


def products() -> pd.DataFrame:
    rows = [(p, n, "mining", "t REO") for p, n in CONCENTRATES.items()]
    rows += [(p, n, "separation", "t product") for p, n in OXIDES.items()]
    rows += [(p, n, "metal", "t product") for p, n in METALS.items()]
    rows += [(p, n, "magnet", "t product") for p, n in MAGNETS.items()]
    return pd.DataFrame(rows, columns=["product", "name", "stage", "basis"])


def sectors() -> pd.DataFrame:
    return pd.DataFrame(SECTORS, columns=["sector", "name", "unit_name"])


def processes() -> pd.DataFrame:
    return pd.DataFrame(PROCESSES, columns=["process", "name", "stage", "activity_unit"])


def product_codes() -> list[str]:
    return list(products()["product"])


def region_of_iso3() -> dict[str, str]:
    frame = country_regions()
    return dict(zip(frame["iso3"], frame["region"], strict=True))
