"""Build the bundled timeline (``timeline.yaml``) from ``policy_events.csv``.

    python -m rareflow.history.build_timeline [PATH/TO/policy_events.csv]

Every row of the CSV is copied verbatim (date, effective date, actor, items, targets,
description, source) and joined, by its ``reference``, with the curated ``MAPPING`` below:
either the typed instruments that model it (``policies``; ``ends`` names earlier instruments
whose ``end`` this event sets) or the reason it is not modelled. Values the event text does not
give are listed in ``assumptions`` with a rationale.

Events that ``policy_events.csv`` lacks but another shared table reports (``SUPPLEMENT``: a
firm's halt read off customs data) are added the same way, each naming its ``table`` and
copying that row's source and note.

Month rule: an instrument is in force in a month when it covers at least half of it, so a
measure effective on day 1-16 starts that month, otherwise the next; one lifted on day 15 or
later ends that month, otherwise the month before.

Licences listed in ``calibrated`` get their lead time and approval path from the global
behavioural parameters (``licence_lead_time_months``, ``licence_ramp_months``,
``licence_approval_share``) when the history scenario is built; their ``approval_share`` and
``lead_time_months`` here are the priors used before calibration.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

OUT = Path(__file__).parent / "timeline.yaml"
DEFAULT_CSV = Path(__file__).parents[3] / "../shared/data/calibration/policy_events.csv"
FACTS_DIR = Path(__file__).parents[3] / "../shared/data/facts"


def _catalogue() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The bundled network's products (with stages) and element contents: the product lists
    below are read off them, not typed again."""
    from rareflow.data.network import BASELINE_DIR

    return pd.read_csv(BASELINE_DIR / "products.csv"), pd.read_csv(BASELINE_DIR / "contents.csv")


_PRODUCTS, _CONTENTS = _catalogue()


def at_stage(*stages: str) -> list[str]:
    return [str(p) for p in _PRODUCTS.loc[_PRODUCTS["stage"].isin(stages), "product"]]


def containing(elements: list[str], *stages: str) -> list[str]:
    """Products of the stages with any content of the elements, in the table's order."""
    held = _CONTENTS.loc[_CONTENTS["element"].isin(elements) & (_CONTENTS["mass_fraction"] > 0)]
    return [p for p in at_stage(*stages) if p in set(held["product"])]


CONCENTRATES = at_stage("mining")
OXIDES = at_stage("separation")
METALS = at_stage("metal")
MAGNETS = at_stage("magnet")
# Ores, oxides, metals and compounds: what the 2010-2014 quotas covered (magnets were not).
RE_MATERIALS = CONCENTRATES + OXIDES + METALS
ALL_PRODUCTS = RE_MATERIALS + MAGNETS
# MOFCOM/GAC Ann. 18 (2025): Sm, Gd, Tb, Dy, Lu, Sc, Y oxides and metals, SmCo, and
# Tb/Dy-containing NdFeB (sintered; bonded NdFeB is made without Dy/Tb).
ANN18 = containing(["Sm", "Gd", "Tb", "Dy", "Lu", "Sc", "Y"], "separation", "metal", "magnet")
# MOFCOM/GAC Ann. 57 (2025): Ho, Er, Tm, Eu and Yb oxides.
ANN57 = containing(["Ho", "Er", "Tm", "Eu", "Yb"], "separation")

NOT_RE = "not a rare earth: the network models the rare-earth chain only"
ANNOUNCE = "an announcement or framework with no measure, quantity or date to model"
COURT = "a court ruling that left the measures in force; the lifting is modelled at 2026-02"
ENTITY = "targets named firms; the network has regions, not firms"
RAMP = (
    "eases licensing without changing the instrument; in the model the Ann. 18 licence's "
    "approvals ramp up at a global, calibrated speed (licence_ramp_months), so no per-event "
    "jump is tied to this date (that would be a shock tuned to the data)"
)
UNCONFIRMED = (
    "an unconfirmed press report, not an announced measure: the history run models what was "
    "announced (here the ban on Japanese military end users); the bundled scenario "
    "`japan-review-halt` runs the reported halt for those who want it"
)
OBSERVATION = "a market report (an observation, not a policy); kept for the report's annotations"


def _items(products: list[str]) -> dict[str, Any]:
    return {"products": list(products)}


def _tariff(
    id_: str,
    actor: str,
    targets: list[str],
    products: list[str],
    rate: float,
    start: str,
    end: str | None = None,
    basis: str = "unspecified",
) -> dict[str, Any]:
    policy: dict[str, Any] = {
        "id": id_,
        "type": "tariff",
        "actor": actor,
        "targets": targets,
        "items": _items(products),
        "rate": rate,
        "basis": basis,
        "start": start,
    }
    if end:
        policy["end"] = end
    return policy


def _entity_ban(
    id_: str, region: str, share: float, start: str, retransfer: str = "denied"
) -> dict[str, Any]:
    """Named end users of the region's defence sector (``EntityBan``), Ann. 18 items."""
    return {
        "id": id_,
        "type": "entity_ban",
        "actor": "CHN",
        "items": _items(ANN18),
        "region": region,
        "sectors": ["defence"],
        "demand_share": share,
        "share_basis": "see the event's assumptions",
        "retransfer": retransfer,
        "start": start,
    }


def _general_licence(id_: str, exporter: str) -> dict[str, Any]:
    """A year-long MOFCOM general licence (December 2025) for one magnet maker."""
    return {
        "id": id_,
        "type": "general_license",
        "actor": "CHN",
        "items": _items([p for p in MAGNETS if p in ANN18]),
        "targets": ["all"],
        "exporter": exporter,
        "customer_share": 0.1,
        "start": "2025-12",
        "end": "2026-11",
    }


MAPPING: dict[str, dict[str, Any] | str] = {
    "MOFCOM 2010 RE export quotas (H1+H2 batches)": {
        "policies": [
            {
                "id": "cn-quota-2010",
                "type": "export_quota",
                "actor": "CHN",
                "items": _items(RE_MATERIALS),
                "targets": ["all"],
                "tonnes_per_year": 30258,
                "start": "2010-01",
                "end": "2010-12",
            }
        ],
        "assumptions": [
            "start 2010-01, end 2010-12: the quota is an annual allocation (H1 batch issued "
            "before the year began); the event date is when the total was reported",
            "items: ores, oxides and metals; magnets were outside the quota system",
        ],
    },
    "Unannounced customs hold; MOFCOM denied any ban": {
        "policies": [
            {
                "id": "cn-japan-hold-2010",
                "type": "export_ban",
                "actor": "CHN",
                "items": _items(RE_MATERIALS),
                "targets": ["JPN"],
                "leakage_share": 0.1,
                "start": "2010-10",
                "end": "2010-11",
            }
        ],
        "assumptions": [
            "months 2010-10..2010-11 by the half-month rule (21 Sep to 20 Nov)",
            "leakage_share 0.1: traders reported delayed, not zero, shipments and some "
            "re-routing via third countries; no figure is given",
        ],
    },
    "MOFCOM first batch 2011 RE export quotas": {
        "policies": [
            {
                "id": "cn-quota-2011-2014",
                "type": "export_quota",
                "actor": "CHN",
                "items": _items(RE_MATERIALS),
                "targets": ["all"],
                "tonnes_per_year": 28892,
                "start": "2011-01",
                "end": "2014-12",
            }
        ],
        "assumptions": [
            "tonnes_per_year 28,892 = 2 x the 14,446 t first batch (second batch assumed equal)",
            "kept through 2014-12: the quota system ran until its removal on 2015-01-01 "
            "(later annual totals were about 30-31 kt, within 10% of this)",
        ],
    },
    "WTO dispute China - Rare Earths (DS431/DS432/DS433): request": ANNOUNCE,
    "WTO panel request (DS431/432/433)": ANNOUNCE,
    "WTO panel report, China - Rare Earths": "a ruling; its effect is the 2015 removal of "
    "quotas, modelled by the end of cn-quota-2011-2014",
    "WTO Appellate Body report, China - Rare Earths": "a ruling; its effect is the 2015 removal"
    " of quotas, modelled by the end of cn-quota-2011-2014",
    "MOFCOM 2015 export licence management catalogue (quota remov": {
        "ends": ["cn-quota-2011-2014"]
    },
    "MOF notice removing export duties": "an export duty: rareflow's Tariff is a duty levied by "
    "an importer; the duties' imposition (2008) predates the timeline, so no duty is in force "
    "to lift",
    "MOFCOM/GAC Announcement No. 23 (2023)": NOT_RE,
    "MOFCOM/GAC Announcement No. 39 (2023)": NOT_RE,
    "MOFCOM commodity reporting rules (export reporting to CCCMC)": "a reporting duty with no "
    "limit on volumes",
    "Revised Catalogue of Technologies Prohibited and Restricted ": "a ban on exporting "
    "technology, not goods; its effect (slower capacity building abroad) is in the capacity "
    "projects' dates",
    "Section 301 four-year review modifications": {
        "policies": [
            _tariff(
                "us-301-magnets-2026", "USA", ["CHN"], MAGNETS, 0.25, "2026-01", basis="section_301"
            )
        ],
        "assumptions": [
            "items: magnets only; 'other critical minerals' are not named, so oxides and "
            "metals are left out",
        ],
    },
    "State Council Order No. 785 - Rare Earth Management Regulati": "domestic governance "
    "(ownership, traceability, total-quantity control already in the baseline's output)",
    "MOFCOM/GAC Announcement No. 33 (2024)": NOT_RE,
    "BIS chip-control package (140 Chinese entities)": "semiconductor controls: " + NOT_RE,
    "MOFCOM Announcement No. 46 (2024), Art. 2": NOT_RE + " (Ga, Ge, Sb, superhard materials)",
    "MOFCOM Announcement No. 1 (2025) - export control list": {
        "policies": [
            _entity_ban("cn-us-defence-list-2025-01", "USA", 0.3, "2025-04", retransfer="allowed")
        ],
        "assumptions": [
            "start 2025-04: the listed firms' ban bites on rare earths once Ann. 18 made them "
            "dual-use items (4 Apr 2025)",
            "demand_share 0.3 of US defence use: assumption; the list names units of three "
            "primes (Lockheed Martin, General Dynamics, Raytheon) among many defence buyers",
            "retransfer allowed: the event text names no third-country clause",
        ],
    },
    "IEEPA 'fentanyl' tariff (EO 14195)": {
        "policies": [
            _tariff(
                "us-ieepa-fentanyl-10",
                "USA",
                ["CHN"],
                ALL_PRODUCTS,
                0.10,
                "2025-02",
                "2025-02",
                "ieepa",
            ),
            _tariff(
                "us-ieepa-fentanyl-20",
                "USA",
                ["CHN"],
                ALL_PRODUCTS,
                0.20,
                "2025-03",
                "2025-10",
                "ieepa",
            ),
        ],
        "assumptions": [
            "the rise to 20% in March 2025 (in the description) is a second instrument",
            "items: all rare-earth goods (the tariff covers all goods)",
        ],
    },
    "MOFCOM/GAC Announcement No. 10 (2025)": NOT_RE + " (W, Te, Bi, Mo, In)",
    "EO 14257 'Liberation Day' reciprocal tariffs (IEEPA)": {
        "policies": [
            _tariff(
                "us-ieepa-reciprocal-base",
                "USA",
                ["all"],
                MAGNETS,
                0.10,
                "2025-04",
                "2026-02",
                "ieepa",
            ),
        ],
        "assumptions": [
            "items: magnets only; Annex II exempted rare-earth ores, oxides and metals",
            "the 34% China rate (effective 9 Apr) was replaced the next day; China's higher "
            "rate is modelled with the 2025-04-09 event",
        ],
    },
    "MOFCOM/GAC Announcement No. 18 (2025)": {
        "policies": [
            {
                "id": "cn-ann18-licence",
                "type": "export_license",
                "actor": "CHN",
                "items": _items(ANN18),
                "targets": ["all"],
                "approval_share": 0.6,
                "lead_time_months": 2,
                "start": "2025-04",
            }
        ],
        "calibrated": ["cn-ann18-licence"],
        "assumptions": [
            "items by product code: all sintered NdFeB stands for the Tb/Dy-containing grades",
            "prior approval_share 0.6 (CLEPA: ~60% of requests granted by July 2025) and "
            "lead_time_months 2 (~45 working-day reviews); the history scenario replaces both "
            "with the calibrated licence parameters",
        ],
    },
    "Tariff Commission Announcement No. 4 (2025)": {
        "policies": [],
        "why": "replaced within a week by Announcements No. 5 & 6 (125%), modelled there",
    },
    "EO 14259 (8-Apr) & EO 14266 (9-Apr)": {
        "policies": [
            _tariff(
                "us-ieepa-reciprocal-china",
                "USA",
                ["CHN"],
                MAGNETS,
                1.15,
                "2025-04",
                "2025-04",
                "ieepa",
            ),
        ],
        "assumptions": [
            "rate 1.15 on top of the 10% base and the 20% fentanyl tariff (145% in all)",
            "ends 2025-04: the Geneva deal cut it from 14 May (under half of May)",
        ],
    },
    "MOFCOM export control list additions": {
        "policies": [
            _entity_ban("cn-us-drone-list-2025-04", "USA", 0.1, "2025-04", retransfer="allowed")
        ],
        "assumptions": [
            "demand_share 0.1 of US defence use: assumption; twelve drone and defence firms "
            "(Insitu, Kratos UAS, Teledyne Brown), smaller buyers than the primes",
            "retransfer allowed: the event text names no third-country clause",
        ],
    },
    "Tariff Commission Announcements No. 5 & 6 (2025)": {
        "policies": [
            _tariff(
                "cn-retaliation-us-125",
                "CHN",
                ["USA"],
                ALL_PRODUCTS,
                1.25,
                "2025-04",
                "2025-04",
                "retaliation",
            ),
        ],
        "assumptions": ["ends 2025-04: the Geneva deal cut it to 10% from 14 May"],
    },
    "EO: Section 232 investigation on processed critical minerals": ANNOUNCE,
    "Joint Statement on U.S.-China Economic and Trade Meeting in ": {
        "policies": [
            _tariff(
                "cn-retaliation-us-10",
                "CHN",
                ["USA"],
                ALL_PRODUCTS,
                0.10,
                "2025-05",
                None,
                "retaliation",
            ),
        ],
        "ends": ["us-ieepa-reciprocal-china", "cn-retaliation-us-125"],
        "assumptions": [
            "China's retained 10% runs on (extended in August and November 2025; no later "
            "event ends it)",
            "Ann. 18 licensing is not lifted by the deal (as the event says)",
        ],
    },
    "MOFCOM suspension of April 4/9 list measures": {
        "policies": [
            {
                "id": "cn-us-list-suspension-2025",
                "type": "suspension",
                "actor": "CHN",
                "policies": ["cn-us-drone-list-2025-04"],
                "start": "2025-05",
                "end": "2025-07",
            }
        ],
        "assumptions": [
            "90 days from 14 May 2025 (to 12 Aug): months 2025-05..2025-07 by the half-month "
            "rule; the April list returns after it (no later event is in the corpus)",
        ],
    },
    "V.O.S. Selections v. United States (CIT Slip Op. 25-66)": COURT,
    "Trump-Xi phone call": RAMP,
    "London framework (talks 9-10 June 2025, Lancaster House)": RAMP,
    "G7 Critical Minerals Action Plan (Kananaskis)": ANNOUNCE,
    "MOFCOM statement": RAMP,
    "DoD-MP Materials public-private partnership": {
        "policies": [
            {
                "id": "us-mp-10x-magnets",
                "type": "capacity_investment",
                "actor": "USA",
                "region": "USA",
                "process": "make_sintered",
                "tonnes_per_year": 10000,
                "ramp_months": 12,
                "start": "2028-01",
            }
        ],
        "assumptions": [
            "start 2028-01 ('commissioning 2028'), linear ramp over 12 months; the heavy-RE "
            "separation loan names no capacity and is left out",
        ],
    },
    "DoD-MP Materials price-floor commitment": "a floor for one producer's NdPr sold to DoD; "
    "rareflow's PriceFloor sets a floor for a whole market, which would overstate it",
    "25th EU-China summit (Beijing)": RAMP,
    "US EO (11-Aug) and China Tariff Commission notice (12-Aug)": "extends rates already in "
    "force; the timeline keeps them until their next change, so nothing changes",
    "V.O.S. Selections v. Trump (en banc, 7-4)": COURT,
    "BIS 'Affiliates Rule' interim final rule (50% rule)": "US export controls on "
    "chips and other EAR items: " + NOT_RE,
    "US-Malaysia and US-Thailand critical minerals agreements (AS": ANNOUNCE,
    "MOFCOM/GAC Announcement No. 57 (2025)": {
        "policies": [
            {
                "id": "cn-ann57-licence",
                "type": "export_license",
                "actor": "CHN",
                "items": _items(ANN57),
                "targets": ["all"],
                "approval_share": 0.6,
                "lead_time_months": 2,
                "start": "2025-11",
            }
        ],
        "calibrated": ["cn-ann57-licence"],
        "assumptions": [
            "items: the five oxides (the network has no metals of Ho, Er, Tm, Eu, Yb)",
            "approval path as Ann. 18 (calibrated); suspended by Ann. 70 before it applied",
        ],
    },
    "MOFCOM Announcement No. 61 (2025)": {
        "policies": [
            {
                "id": "cn-ann61-content-rule",
                "type": "content_rule",
                "actor": "CHN",
                "elements": ["Sm", "Gd", "Tb", "Dy", "Lu", "Sc", "Y", "Ho", "Er", "Tm", "Eu", "Yb"],
                "threshold": 0.001,
                "targets": ["all"],
                "approval_share": 0.6,
                "lead_time_months": 2,
                "start": "2025-12",
            }
        ],
        "assumptions": [
            "threshold 0.1% by mass stands for 0.1% by value",
            "approval_share 0.6 and lead_time_months 2 as the Ann. 18 prior; suspended by "
            "Ann. 70 before it applied",
        ],
    },
    "MOFCOM Announcement No. 62 (2025)": "technology licensing, not goods",
    "MOFCOM/GAC Announcements No. 55, 56, 58 (2025)": "superhard materials, equipment and "
    "battery items: not products of the network",
    "Truth Social statement (threat)": "a threat, never implemented",
    "US-Australia Framework for Securing of Supply in the Mining ": ANNOUNCE
    + " (projects it names are in the capacity projects table where sourced)",
    "US-Japan Framework for Securing the Supply of Critical Miner": ANNOUNCE,
    "Trump-Xi Busan summit (APEC, South Korea)": "implemented by the events of 2025-11-04 "
    "(US tariffs), 2025-11-05 (China tariffs) and 2025-11-07 (Ann. 70), modelled there",
    "G7 Critical Minerals Production Alliance": ANNOUNCE,
    "White House fact sheet on US-China deal": "a claim not matched by MOFCOM's notices (which "
    "only suspend the October 2025 measures)",
    "Two EOs implementing Busan deal": {
        "policies": [
            _tariff(
                "us-ieepa-fentanyl-10b",
                "USA",
                ["CHN"],
                ALL_PRODUCTS,
                0.10,
                "2025-11",
                "2026-02",
                "ieepa",
            ),
        ],
        "ends": ["us-ieepa-fentanyl-20"],
        "assumptions": ["ends 2026-02: IEEPA duties ceased on 2026-02-24 (Supreme Court)"],
    },
    "Tariff Commission announcements (5-Nov-2025)": "keeps China's 10% (already in force) and "
    "ends farm tariffs outside the network",
    "MOFCOM/GAC Announcement No. 70 (2025)": {
        "policies": [
            {
                "id": "cn-ann70-suspension",
                "type": "suspension",
                "actor": "CHN",
                "policies": ["cn-ann57-licence", "cn-ann61-content-rule"],
                "start": "2025-11",
                "end": "2026-10",
            }
        ],
        "assumptions": [
            "ends 2026-10: expiry 10 Nov 2026 covers under half of November; what happens at "
            "expiry is unknown, and the model lets the measures return",
        ],
    },
    "MOFCOM Announcement No. 72 (2025)": "suspends a ban on Ga, Ge and Sb: " + NOT_RE,
    "BIS final rule: One-Year Suspension of Affiliates Rule": "suspends a US rule on EAR items: "
    + NOT_RE,
    "Reuters yttrium shortage report": OBSERVATION,
    "MOFCOM 2026-27 export qualification lists": NOT_RE + " (silver)",
    "First 'general licences' (year-long, customer-specific)": {
        "policies": [
            _general_licence("cn-gl-jlmag-2025", "JL Mag"),
            _general_licence("cn-gl-yunsheng-2025", "Ningbo Yunsheng"),
            _general_licence("cn-gl-zksh-2025", "Zhong Ke San Huan"),
        ],
        "assumptions": [
            "customer_share 0.1 per exporter: assumption; three of China's largest magnet "
            "makers, their named customers' share of each destination's magnet demand is "
            "not in any source here",
            "items: the Ann. 18 magnets; months 2025-12..2026-11 (a one-year term; the "
            "expiry '2026-12' is approximate)",
        ],
    },
    "RESourceEU Action Plan": "a stockpile plan with no tonnage or start for rare earths",
    "MOFCOM Announcement No. 1 (2026)": {
        "policies": [_entity_ban("cn-japan-military-2026", "JPN", 1.0, "2026-01")],
        "assumptions": [
            "demand_share 1.0 of Japan's defence use: the ban covers all military end users "
            "and uses (sourced, the event text); civilian users unaffected (MOFCOM, 8 Jan); "
            "items: the controlled rare-earth products (Ann. 18)",
            "retransfer denied: 'third-country transfers also liable' (the event text)",
        ],
    },
    "Licence-review halt (WSJ report, not officially confirmed)": UNCONFIRMED,
    "G7+ Critical Minerals Meeting, Washington": ANNOUNCE,
    "Proclamation 11001 (Section 232)": "no tariff now; negotiations to July 2026 with an "
    "unknown outcome",
    "Project Vault - US Strategic Critical Minerals Reserve": "a reserve spanning all critical "
    "minerals with no tonnage for rare earths",
    "Critical Minerals Ministerial; FORGE": "a price-floor proposal, not in force",
    "Xi-Trump phone call": ANNOUNCE,
    "Learning Resources, Inc. v. Trump, 607 U.S. ___ (2026), 6-3": {
        "ends": ["us-ieepa-reciprocal-base", "us-ieepa-fentanyl-10b"],
    },
    "Section 122 (Trade Act 1974) proclamation": {
        "policies": [
            _tariff(
                "us-s122-surcharge",
                "USA",
                ["all"],
                MAGNETS,
                0.10,
                "2026-03",
                "2026-07",
                "section_122",
            ),
        ],
        "assumptions": [
            "rate 10% (sources give 10% or 15%); items: magnets, assumed outside the "
            "critical-minerals exemption; months 2026-03..2026-07 by the half-month rule",
        ],
    },
    "Reuters: scandium/yttrium shortages": OBSERVATION,
    "Federal Register notice: plurilateral 'Agreement on Trade in": "a request for comments on "
    "price floors, not a floor",
    "Section 301 investigations on structural excess capacity": ANNOUNCE,
    "Trump-Xi Beijing summit (mid-May 2026); White House fact she": "no formal change to "
    "China's controls reported",
    "Chinese statement on tariff restoration": ANNOUNCE + " (low-quality source)",
    "MOFCOM export control list additions (22-Jun-2026)": {
        "policies": [_entity_ban("cn-us-entities-2026-06", "USA", 0.1, "2026-06")],
        "assumptions": [
            "demand_share 0.1 of US defence use: assumption; described as 'largely symbolic' "
            "(the firms say they already cut Chinese inputs), so a small share",
            "retransfer denied: assumption, as in MOFCOM Ann. 1 (2026), whose text makes "
            "third-country transfers liable; this list's own text is not in the corpus",
        ],
    },
}


def _text(value: object) -> str:
    return "" if value is None or (isinstance(value, float) and value != value) else str(value)


def entry(row: pd.Series) -> dict[str, Any]:
    """One timeline entry: the CSV row verbatim plus its mapping."""
    reference = _text(row["reference"])
    mapping = MAPPING[reference[:60]]
    out: dict[str, Any] = {
        "date": _text(row["date"]),
        "effective": _text(row["effective_date"]),
        "expiry": _text(row["expiry_date"]),
        "actor": _text(row["actor"]),
        "instrument": _text(row["instrument"]),
        "action": _text(row["action"]),
        "items": _text(row["items"]),
        "targets": _text(row["targets"]),
        "reference": reference,
        "description": _text(row["description"]),
        "source_url": _text(row["source_url"]),
        "source_note": _text(row["source_note"]),
    }
    if isinstance(mapping, str):
        return {**out, "modelled": False, "why_not_modelled": mapping}
    policies = mapping.get("policies", [])
    source = f"{out['source_url']} ({out['reference']})"
    for policy in policies:
        policy.setdefault("description", out["description"])
        policy.setdefault("source", source)
    modelled = bool(policies or mapping.get("ends"))
    return {
        **out,
        "modelled": modelled,
        "why_not_modelled": "" if modelled else mapping.get("why", ""),
        "policies": policies,
        "ends": mapping.get("ends", []),
        "calibrated": mapping.get("calibrated", []),
        "assumptions": mapping.get("assumptions", []),
    }


# Events policy_events.csv lacks: (table, the row's identifying columns, the event in
# policy_events.csv's columns; the source is that row's). Mapped in MAPPING like the others.
MP_HALT = "MP Materials halts concentrate shipments to China"  # under 60: MAPPING key
SUPPLEMENT: tuple[tuple[str, dict[str, str], dict[str, str]], ...] = (
    (
        "trade_flows_annual.csv",
        {"reporter": "China", "flow": "import", "product": "rare earth concentrates",
         "year": "2025", "period": "Jan-Sep"},
        {
            "date": "2025-04",
            "actor": "MP Materials (United States)",
            "instrument": "export_ban",
            "action": "impose",
            "items": "rare-earth concentrate (Mountain Pass bastnaesite)",
            "targets": "China",
            "reference": MP_HALT,
            "description": "MP Materials stopped shipping concentrate to China in April 2025, "
            "after China's 125% tariff on US goods: China's concentrate imports fell 45.6% year "
            "on year in January-September 2025 (the US 99.3% of them), with none from the US "
            "in June, August and September.",
        },
    ),
)  # fmt: skip
MAPPING[MP_HALT] = {
    "policies": [
        {
            "id": "us-mp-halt-2025",
            "type": "export_ban",
            "actor": "USA",
            "items": _items(["concentrate_light"]),
            "targets": ["CHN"],
            "start": "2025-04",
        }
    ],
    "assumptions": [
        "start 2025-04: the source dates the halt to April, without a day",
        "no end: no source in the data reports a resumption (MOFCOM listed MP Materials for a "
        "dual-use export ban in June 2026)",
        "leakage_share 0: no US concentrate reached China in June, August and September; July "
        "is not given",
    ],
}


def supplement(facts: Path = FACTS_DIR) -> list[dict[str, Any]]:
    """The ``SUPPLEMENT`` events as timeline entries, their table's source and note copied in."""
    out = []
    for table, key, event in SUPPLEMENT:
        frame = pd.read_csv(facts / table, dtype=str, keep_default_na=False)
        hit = frame.loc[(frame[list(key)] == pd.Series(key)).all(axis=1)]
        if len(hit) != 1:
            raise ValueError(f"{table}: {len(hit)} rows match {key}, expected one")
        row = hit.iloc[0]
        note = f"{_text(row['source_note'])}: {_text(row['notes'])}"
        fields = {"effective_date": "", "expiry_date": "", **event,
                  "source_url": _text(row["source_url"]), "source_note": note}  # fmt: skip
        out.append({**entry(pd.Series(fields)), "table": table})
    return out


def build(csv: Path = DEFAULT_CSV, out: Path = OUT, facts: Path = FACTS_DIR) -> int:
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False, na_values=[""])
    entries = [entry(row) for _, row in frame.iterrows()]
    entries = sorted([*entries, *supplement(facts)], key=lambda e: e["date"])
    header = (
        "# Generated by `python -m rareflow.history.build_timeline` from\n"
        "# ../shared/data/calibration/policy_events.csv (and SUPPLEMENT's rows of\n"
        "# ../shared/data/facts); edit MAPPING and SUPPLEMENT there, not this file.\n"
    )
    body = yaml.safe_dump(
        entries, sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
    )
    out.write_text(header + body, encoding="utf-8")
    return len(entries)


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_CSV
    print(f"wrote {build(path)} events to {OUT}")
