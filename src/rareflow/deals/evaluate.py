"""``rareflow deals evaluate``: what a deal restores, for whom and how fast, and what each
side gives, against the no-deal arm of the same scenario.

Per party: shortage value lost avoided by each importing region (and, beside it, the value
of output deferred avoided: stopped, then made up within ``catchup_months``); China's export
volumes and revenue (at China's domestic price); the external terms with their user-given
values; a payoff (value lost avoided + export revenue gained + external value received).
Leverage: the
share of ex-China final demand met by direct imports from China. Flows restored: China's
shipments to each destination and month over the pre-April-2025 baseline.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from rareflow.deals.arms import Arms, build_arms
from rareflow.deals.model import Deal, load_deal
from rareflow.deals.runs import (
    CHINA,
    Batch,
    china_exports,
    export_revenue,
    flows_restored,
    leverage,
    run_batch,
    value_lost,
)

ARMS = ("no_deal", "deal")


def evaluate(name_or_path: str, against: str | None = None) -> dict[str, Any]:
    deal, file = load_deal(name_or_path)
    return evaluate_deal(deal, file, against)


def evaluate_deal(deal: Deal, file: str, against: str | None = None) -> dict[str, Any]:
    """The report of a deal already read (a file's, or one edited in the dashboard)."""
    return report(run_batch(build_arms(deal, file, against)))


def payoffs(b: Batch, reference: int = 0) -> np.ndarray:
    """(draws, parties) payoff of each draw against draw ``reference`` (the no-deal arm), USD:
    value lost avoided in the party's regions, China's export revenue gained (for the party
    holding CHN) and the external terms it receives (in the draws that run the deal)."""
    deal = b.arms.deal
    regions = [r for p in deal.parties.values() for r in p.regions]
    lost = value_lost(b, sorted(set(regions))).values  # (D, R)
    names = sorted(set(regions))
    revenue = export_revenue(b).values
    in_deal = np.array([d != reference for d in range(lost.shape[0])], dtype=float)
    out = np.zeros((lost.shape[0], len(deal.parties)))
    for j, (code, party) in enumerate(deal.parties.items()):
        cols = [names.index(r) for r in party.regions]
        out[:, j] = (lost[reference, cols] - lost[:, cols]).sum(axis=1)
        if CHINA in party.regions:
            out[:, j] += revenue - revenue[reference]
        out[:, j] += in_deal * external_value(b.arms, code)
    return out


def external_value(arms: Arms, party: str) -> float:
    return float(
        sum(t.external.value_usd for t in arms.deal.terms if t.external and t.external.to == party)
    )


def _parties(b: Batch) -> list[dict[str, Any]]:
    deal = b.arms.deal
    regions = sorted({r for p in deal.parties.values() for r in p.regions})
    lost = value_lost(b, regions)
    deferred = value_lost(b, regions, "value_deferred")
    revenue = export_revenue(b).values
    pay = payoffs(b)[1]
    rows = []
    for j, (code, party) in enumerate(deal.parties.items()):
        rows.append(
            {
                "party": code,
                "name": party.name,
                "value_lost_avoided_usd": _avoided(lost, party.regions),
                "value_deferred_avoided_usd": _avoided(deferred, party.regions),
                "export_revenue_gained_usd": float(revenue[1] - revenue[0])
                if CHINA in party.regions
                else 0.0,
                "external_value_received_usd": external_value(b.arms, code),
                "payoff_usd": float(pay[j]),
                "gives": [t.description or _what(t) for t in deal.terms if t.party == code],
            }
        )
    return rows


def _avoided(per_region: xr.DataArray, regions: list[str]) -> dict[str, float]:
    """{region: USD} the no-deal arm's (draw 0) total less the deal arm's (draw 1)."""
    return {r: float(per_region.sel(region=r)[0] - per_region.sel(region=r)[1]) for r in regions}


def _what(term: Any) -> str:
    if term.external is not None:
        return f"{term.external.what} (not simulated)"
    return f"{term.policy.get('type')} {term.policy.get('id')}"


def _restored(b: Batch) -> list[dict[str, Any]]:
    share = flows_restored(b)
    values = share.values  # (draw, month, partner)
    months, dests = [str(m) for m in share["month"].values], share["partner"].values
    return [
        {"destination": str(dest), "month": month,
         **{arm: float(values[d, t, k]) for d, arm in enumerate(ARMS)}}
        for k, dest in enumerate(dests)
        for t, month in enumerate(months)
    ]  # fmt: skip


def report(b: Batch) -> dict[str, Any]:
    deal, arms = b.arms.deal, b.arms
    exports = china_exports(b).sum(["month", "product", "partner"]).values
    revenue, lev = export_revenue(b).values, leverage(b).values
    return {
        "deal": deal.name,
        "against": arms.no_deal.name,
        "months": [deal.start, arms.end],
        "sources": deal.sources,
        "parties": _parties(b),
        "china": {
            arm: {"export_tonnes": float(exports[d]), "export_revenue_usd": float(revenue[d])}
            for d, arm in enumerate(ARMS)
        },
        "leverage": {arm: float(lev[d]) for d, arm in enumerate(ARMS)},
        "flows_restored": _restored(b),
        "external_terms": [
            {
                "party": t.party,
                "to": t.external.to,
                "what": t.external.what,
                "value_usd": t.external.value_usd,
                "simulated": False,
                "source": t.source,
            }
            for t in deal.terms
            if t.external is not None
        ],
        "precedence": arms.precedence,
    }
