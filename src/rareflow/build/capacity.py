"""Installed capacity in the base year and capacity projects with their start dates."""

from __future__ import annotations

import pandas as pd

from rareflow.build.chemistry import oxide_yields
from rareflow.build.curated import Assumptions
from rareflow.build.facts import Facts, Prov, find, number, one, sourced
from rareflow.build.rows import prov_row

YEAR = 2024


def capacity_facts(facts: Facts, a: Assumptions) -> dict[tuple[str, str], tuple[float, Prov]]:
    """Capacities read from capacity_projects.csv, converted to activity units."""
    cap, out = facts["capacity_projects"], {}
    lynas = one(cap, company="Lynas Rare Earths", facility="Lynas Malaysia (Kuantan)")
    per_reo = oxide_yields("light", a)["ndpr_oxide"]
    out[("MYS", "separate_light")] = (number(lynas["capacity_tpa"]) / per_reo, Prov("derived",
        f"{sourced(cap, lynas).note}: {number(lynas['capacity_tpa']):,.0f} t/yr NdPr / NdPr "
        f"yield {per_reo:.3f} t per t REO feed", lynas["source_url"]))  # fmt: skip
    for region, company, facility in (("CHN", "Neo Performance Materials", "China (Tianjin etc.)"),
                                      ("THA", "Neo Performance Materials", "Korat, Thailand")):  # fmt: skip
        row = one(cap, company=company, facility=facility)
        out[(region, "make_bonded")] = (number(row["capacity_tpa"]), sourced(cap, row))
    total = one(cap, company="(aggregate) non-Chinese magnet makers")
    named = {"VNM": one(cap, company="Shin-Etsu Chemical", facility="Vietnam plant"),
             "USA": one(cap, company="Noveon Magnetics")}  # fmt: skip
    for region, row in named.items():
        out[(region, "make_sintered")] = (number(row["capacity_tpa"]), sourced(cap, row))
    out[("DEU", "make_sintered")] = (a.value("vac_capacity"), a.prov("vac_capacity"))
    jpn = number(total["capacity_tpa"]) - sum(number(r["capacity_tpa"]) for r in named.values())
    jpn -= a.value("vac_capacity")
    out[("JPN", "make_sintered")] = (jpn, Prov("derived", "Project Blue non-China aggregate "
        f"{number(total['capacity_tpa']):,.0f} t/yr less Vietnam, US (Noveon) and Germany (VAC)", ))  # fmt: skip
    return out


def capacities(production: pd.DataFrame, facts: Facts, a: Assumptions,
               recipe_out: pd.DataFrame) -> pd.DataFrame:  # fmt: skip
    """Capacity per region and process: a fact where one exists, else activity / utilisation."""
    known, util, rows = capacity_facts(facts, a), a.value("capacity_utilisation"), []
    columns = (production["region"], production["process"], production["tonnes_per_year"])
    for region, process, tonnes in zip(*columns, strict=True):
        key, activity = (str(region), str(process)), float(tonnes)
        value, prov = known.get(key, (0.0, Prov("derived", "")))
        if value < activity:
            note = f"reconciled 2024 activity {activity:,.0f} t / {a.prov('capacity_utilisation').note}"
            if key in known:
                note += f" (the fact, {value:,.0f} t/yr, is below the reconciled activity)"
            value, prov = activity / util, Prov("derived", note)
        rows.append(prov_row({"region": key[0], "process": key[1], "year": YEAR,
                              "tonnes_per_year": value}, prov))  # fmt: skip
    return pd.DataFrame(rows)


# (company, facility, stage or None, region, process, start_month, ramp_months, conversion note)
PROJECTS = (
    ("MP Materials", "Independence facility, Fort Worth TX", "sintered NdFeB magnets", "USA",
     "make_sintered", "2025-10", 24, "gradual ramp from late 2025 (fact notes)"),
    ("MP Materials", "10X Facility (location TBD at announcement)", None, "USA", "make_sintered",
     "2028-01", 24, "10,000 t/yr total incl. Independence: 1,000 t/yr subtracted"),
    ("Lynas Rare Earths", "Lynas Malaysia heavy RE (SEGH)", None, "MYS", "separate_ionic",
     "2025-05", 12, "heavy-RE circuit throughput counted as t REO of heavy-rich feed; first Dy "
     "oxide May 2025"),
    ("Iluka Resources", "Eneabba refinery WA", "separation/refining (light + heavy)", "AUS",
     "separate_light", "2027-01", 24, "mid-point of the 12,100-18,400 t/yr REO range"),
    ("Neo Performance Materials", "Narva magnet plant", "sintered NdFeB magnets", "XEU",
     "make_sintered", "2025-09", 16, "phase 1; commercial ramp through 2026"),
    ("USA Rare Earth", "Stillwater OK magnet plant", "sintered NdFeB magnets", "USA",
     "make_sintered", "2025-01", 24, "initial 1,200 t/yr; first batch 2024 at pilot scale"),
    ("Solvay", "La Rochelle", "separation/refining", "XEU", "separate_light", "2025-04", 60,
     "4,500 t/yr target by 2030; commercial production from Apr 2025"),
    ("Energy Fuels", "White Mesa Mill UT (Phase 2 BFS)", None, "USA", "separate_light",
     "2029-01", 12, "commissioning Q1 2029; t/yr read as t REO of feed"),
    ("JS Link America", "Columbus, Georgia", None, "USA", "make_sintered", "2027-01", 12, ""),
    ("JS Link", "Yesan", None, "KOR", "make_sintered", "2025-07", 12, "pilot-scale 2025"),
    ("(aggregate) China top-10 NdFeB producers", "capacity additions", None, "CHN",
     "make_sintered", "2026-01", 48, "75,000 t/yr more by 2030, ramped linearly 2026-2029; "
     "includes JL Mag, Ningbo Yunsheng, Zhaobao (not counted separately)"),
)  # fmt: skip


def projects(facts: Facts, a: Assumptions) -> pd.DataFrame:
    cap, rows = facts["capacity_projects"], []
    for company, facility, stage, region, process, start, ramp, how in PROJECTS:
        filt = {"company": company, "facility": facility} | ({"stage": stage} if stage else {})
        found = find(cap, **filt)
        row = found[found["capacity_tpa"] != ""].iloc[0]
        tonnes = number(row["capacity_tpa"])
        if "10X" in facility:
            tonnes -= 1000.0
        what = (
            f"unit '{row['unit']}', status '{row['status']}', start year "
            f"'{row['start_year']}' (start month and ramp assumed); {how}"
        )
        prov = sourced(cap, row, what.rstrip("; "))
        if how and ("subtracted" in how or "mid-point" in how or "linearly" in how):
            prov = Prov("derived", prov.note, prov.url)
        rows.append(prov_row({"project": f"{company}, {facility}", "region": region,
                              "process": process, "start_month": start, "ramp_months": ramp,
                              "tonnes_per_year": tonnes, "status": row["status"]}, prov))  # fmt: skip
    return pd.DataFrame(rows)
