"""Priors for process activity in the base year: mining, separation, metal, magnets."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from rareflow.build.chemistry import magnet_inputs, oxide_yields
from rareflow.build.curated import Assumptions
from rareflow.build.dimensions import region_of_iso3
from rareflow.build.facts import Facts, Prov, derived, find, mine_note, mine_rows, number, one
from rareflow.build.system import Registry, Target, Var

# Countries whose mine output is ion-adsorption clay (assumption; stated in the note).
IONIC = {"MMR", "LAO", "BRA", "MDG", "OTHER"}
IONIC_NOTE = (
    "light/ionic split (assumption): Myanmar, Madagascar, Brazil (ionic-clay mine, facts) and "
    "USGS 'Other' (taken as Laos, which USGS does not list) are ion-adsorption clay; the rest is "
    "light bastnaesite/monazite"
)


@dataclass(frozen=True)
class Mining:
    by_region: dict[tuple[str, str], tuple[float, Prov]]  # (region, process) -> tonnes, prov
    world: tuple[float, Prov]


def mining(facts: Facts, a: Assumptions, year: int) -> Mining:
    """Mine output per region and ore type from the chosen USGS rows."""
    rows = mine_rows(facts, year)
    regions = region_of_iso3()
    out: dict[tuple[str, str], tuple[float, Prov]] = {}
    world = (0.0, Prov("derived", "no world row"))
    for _, row in rows.iterrows():
        tonnes, iso = number(row["tonnes_reo"]), row["iso3"] or "OTHER"
        if iso == "WLD":
            world = (tonnes, Prov("sourced", f"{mine_note(row, facts)}; "
                                  f"mine_production.csv row {row['row']}: {row['source_note']}",
                                  row["source_url"]))  # fmt: skip
            continue
        if tonnes == 0:
            continue
        if iso == "CHN":
            for key, value, prov in china_split(facts, a, tonnes, row):
                out[key] = (value, prov)
            continue
        process = "mine_ionic" if iso in IONIC else "mine_light"
        key = (regions.get(iso, "ROW"), process)
        note = f"{row['country']} {tonnes:,.0f} t ({mine_note(row, facts)}, row {row['row']})"
        if key in out:
            old = out[key]
            out[key] = (old[0] + tonnes, Prov("derived", f"sum of {old[1].note}; {note}"))
        else:
            kind = "sourced" if key[0] == iso else "derived"
            text = f"{note}: {row['source_note']}" if kind == "sourced" else f"sum of {note}"
            out[key] = (tonnes, Prov(kind, text, row["source_url"] if kind == "sourced" else ""))
    for key, (value, prov) in list(out.items()):
        if key[0] == "ROW":
            out[key] = (value, Prov("derived", f"{prov.note}; {IONIC_NOTE}"))
    return Mining(out, world)


def china_split(facts: Facts, a: Assumptions, total: float, row: pd.Series) -> list:
    """China's mine output split light/ionic by the 2024 quota's ionic first batch."""
    quotas = facts["chinese_quotas"]
    batch = one(quotas, year=2024, quota_type="mining", category="ionic clay ores")
    ionic = number(batch["tonnes_reo"]) * a.value("ionic_first_batch_multiple")
    method = (
        f"USGS China {total:,.0f} t ({mine_note(row, facts)}) split by the 2024 ionic-clay "
        f"quota: first batch {number(batch['tonnes_reo']):,.0f} t x "
        f"{a.value('ionic_first_batch_multiple'):.0f} (two equal batches)"
    )
    mine = facts["mine_production"]
    prov = derived(method, (mine, row), (quotas, batch))
    return [(("CHN", "mine_ionic"), ionic, prov), (("CHN", "mine_light"), total - ionic, prov)]


def mining_vars(reg: Registry, m: Mining) -> list[Target]:
    for (region, process), (value, prov) in sorted(m.by_region.items()):
        sigma = 0.02 if region == "CHN" else 0.05  # USGS estimates; China = official quota
        reg.add(Var("activity", (region, process), value, sigma, prov))
    reg.add(Var("aux", ("world_mining",), m.world[0], 0.0076, m.world[1]))
    terms: dict[tuple[str, ...], float] = {("activity", r, p): 1.0 for (r, p) in m.by_region}
    return [Target("world_mining", terms)]


def separation_vars(reg: Registry, facts: Facts, a: Assumptions, m: Mining) -> None:
    """Separation feed per region: non-China plants from facts/assumptions, China the rest."""
    cap = facts["capacity_projects"]
    lynas = one(cap, company="Lynas Rare Earths", facility="Lynas Malaysia (Kuantan)")
    ndpr_per_reo = oxide_yields("light", a)["ndpr_oxide"]
    mys = number(lynas["capacity_tpa"]) * a.value("lynas_ndpr_utilisation") / ndpr_per_reo
    mys_prov = derived(
        f"Lynas Malaysia {number(lynas['capacity_tpa']):,.0f} t/yr NdPr x utilisation "
        f"{a.value('lynas_ndpr_utilisation')} / NdPr yield {ndpr_per_reo:.3f} t per t REO",
        (cap, lynas),
    )
    trade = facts["trade_flows_annual"]
    us_exp = one(trade, reporter="United States", flow="export", year=2024)
    usa_mine = m.by_region[("USA", "mine_light")][0]
    usa = usa_mine - number(us_exp["quantity"])
    usa_prov = derived(f"US mine output {usa_mine:,.0f} t less US ore/compound exports "
                       f"{number(us_exp['quantity']):,.0f} t REO", (trade, us_exp))  # fmt: skip
    others = {
        "MYS": (mys, mys_prov, 0.2),
        "USA": (usa, usa_prov, 0.2),
        "IND": (a.value("india_separation"), a.prov("india_separation"), 0.3),
        "ROW": (a.value("russia_separation"), a.prov("russia_separation"), 0.3),
        "XEU": (a.value("silmet_feed"), a.prov("silmet_feed"), 0.3),
    }
    for region, (value, prov, sigma) in others.items():
        reg.add(Var("activity", (region, "separate_light"), value, sigma, prov))
    light = sum(v for (r, p), (v, _) in m.by_region.items() if p == "mine_light")
    ionic = sum(v for (r, p), (v, _) in m.by_region.items() if p == "mine_ionic")
    rest = sum(v for v, _, _ in others.values())
    quota = one(facts["chinese_quotas"], year=2024, quota_type="smelting_separation",
                batch="full year")  # fmt: skip
    note = (f"all light concentrate not separated elsewhere ({light:,.0f} - {rest:,.0f} t); the "
            f"2024 separation quota ({number(quota['tonnes_reo']):,.0f} t) covers domestic ore only")  # fmt: skip
    reg.add(Var("activity", ("CHN", "separate_light"), light - rest, 0.05,
                derived(note, (facts["chinese_quotas"], quota))))  # fmt: skip
    reg.add(Var("activity", ("CHN", "separate_ionic"), ionic, 0.05, Prov("derived",
        "all ionic-clay concentrate is separated in China in 2024 (Vietnam's heavy-RE refinery "
        "shut in 2024; Lynas's first Dy oxide only in May 2025: capacity_projects.csv rows 10, 71)")))  # fmt: skip


def magnet_vars(reg: Registry, facts: Facts, a: Assumptions) -> dict[str, float]:
    """Magnet output per region; returns world output per magnet process."""
    dem, cap, shares = facts["demand_by_sector"], facts["capacity_projects"], facts["stage_shares"]
    nev = one(dem, sector="New energy vehicles (NEV)", metric="NdFeB magnet demand", year=2024)
    nev_share = one(dem, sector="New energy vehicles (NEV)", metric="share of NdFeB demand")
    world_ndfeb = number(nev["value"]) / (number(nev_share["value"]) / 100.0)
    bonded = {}
    for region, company, facility in (("CHN", "Neo Performance Materials", "China (Tianjin etc.)"),
                                      ("THA", "Neo Performance Materials", "Korat, Thailand")):  # fmt: skip
        row = one(cap, company=company, facility=facility)
        bonded[region] = number(row["capacity_tpa"]) * a.value("bonded_utilisation")
        reg.add(Var("activity", (region, "make_bonded"), bonded[region], 0.3, derived(
            f"Magnequench powder capacity x {a.prov('bonded_utilisation').note}", (cap, row))))  # fmt: skip
    sintered = world_ndfeb - sum(bonded.values())
    china = one(shares, stage="sintered NdFeB magnet production", country="China", year=2024)
    share = number(china["share_pct"]) / 100.0
    reg.add(Var("activity", ("CHN", "make_sintered"), sintered * share, 0.05, derived(
        f"world NdFeB demand 2024 = ACREI NEV {number(nev['value']):,.0f} t / "
        f"{number(nev_share['value']):.0f}% = {world_ndfeb:,.0f} t, less bonded; China {share:.0%}",
        (dem, nev), (shares, china))))  # fmt: skip
    for region, tonnes, prov in non_china_sintered(facts, a):
        value = sintered * (1 - share) * tonnes
        reg.add(Var("activity", (region, "make_sintered"), value, 0.25, prov))
    smco = a.value("smco_world")
    split = {"CHN": a.value("smco_china_share")}
    split |= {"USA": (1 - split["CHN"]) / 2, "JPN": (1 - split["CHN"]) / 2}
    for region, s in split.items():
        prov = Prov(
            "assumption", f"{a.prov('smco_world').note} | {a.prov('smco_china_share').note}"
        )
        reg.add(Var("activity", (region, "make_smco"), smco * s, 0.4, prov))
    return {"make_sintered": sintered, "make_bonded": sum(bonded.values()), "make_smco": smco}


def non_china_sintered(facts: Facts, a: Assumptions) -> list[tuple[str, float, Prov]]:
    """Shares of non-China sintered output by region, from the non-China capacity facts."""
    cap = facts["capacity_projects"]
    total_row = find(cap, company="(aggregate) non-Chinese magnet makers").iloc[0]
    total = number(total_row["capacity_tpa"])
    named = {
        "VNM": one(cap, company="Shin-Etsu Chemical", facility="Vietnam plant"),
        "USA": one(cap, company="Noveon Magnetics"),
    }
    caps = {r: number(row["capacity_tpa"]) for r, row in named.items()}
    caps["DEU"] = a.value("vac_capacity")
    caps["JPN"] = total - sum(caps.values())
    out = []
    for region, c in caps.items():
        method = (f"non-China sintered output (world x (1 - China share)) split by capacity: "
                  f"{region} {c:,.0f} of {total:,.0f} t/yr (Project Blue aggregate)")  # fmt: skip
        rows = [(cap, total_row)] + ([(cap, named[region])] if region in named else [])
        prov = derived(method, *rows)
        if region == "DEU":
            prov = Prov("derived", f"{prov.note} | {a.prov('vac_capacity').note}")
        out.append((region, c / total, prov))
    return out


def metal_vars(reg: Registry, a: Assumptions, magnets: dict[str, float]) -> None:
    """Metal output: the metal the world's magnets need, China at its (low-confidence) share."""
    need: dict[str, float] = {}
    for process, inputs in magnet_inputs(a).items():
        for metal, per_t in inputs.items():
            need[metal] = need.get(metal, 0.0) + per_t * magnets[process]
    china, vnm = a.value("china_metal_share"), a.value("vnm_metal_share")
    shares = {"CHN": china, "VNM": (1 - china) * vnm, "JPN": (1 - china) * (1 - vnm)}
    for metal, tonnes in need.items():
        process = "reduce_" + metal.split("_")[0]
        for region, s in shares.items():
            prov = Prov("derived", f"world {metal} need of the magnet priors ({tonnes:,.0f} t) x "
                        f"{region} share {s:.3f} ({a.prov('china_metal_share').note}; "
                        f"{a.prov('vnm_metal_share').note})")  # fmt: skip
            reg.add(Var("activity", (region, process), tonnes * s, 0.15, prov))
