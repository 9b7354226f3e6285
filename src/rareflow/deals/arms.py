"""A deal's two arms: the scenario the deal changes, less ``without`` (the deal's own terms
where the scenario already holds them), plus ``no_deal`` (the no-deal arm) or plus the term
policies (the deal arm). Against the history scenario, the terms join the timeline before its
calibrated licences are split into monthly segments, so a suspension delays a licence's ramp
as Ann. 70 did.

Precedence where terms meet: a ban (``export_ban``, ``entity_ban``) on a flow in a month
takes precedence over a general licence on it (bans multiply the allowance after every
licence); such meetings are listed in ``Arms.precedence`` and in every report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from pydantic import ValidationError

from rareflow.data.network import Network, load_network
from rareflow.deals.model import POLICY, Deal
from rareflow.errors import UserInputError
from rareflow.model.compiled import month_index, month_label
from rareflow.policies import instruments as ins
from rareflow.scenarios.load import bind, load_scenario
from rareflow.scenarios.model import Scenario

DEAL_HISTORY_START = "2025-01"  # the 2024 baseline still held; the first 2025 measures follow


@dataclass
class Arms:
    deal: Deal
    file: str
    no_deal: Scenario  # bound
    with_deal: Scenario  # bound
    network: Network
    term_ids: list[str]
    precedence: list[str] = field(default_factory=list)

    @property
    def end(self) -> str:
        return month_label(month_index(self.deal.start) + self.deal.months - 1)


def against_scenario(
    deal: Deal, name: str, end: str, extra: list[ins.Instrument] | None = None
) -> Scenario:
    """The scenario the deal changes, less ``without``, plus ``extra``, over the deal's
    months."""
    if name == "history":
        from rareflow.history.scenario import history_scenario

        return history_scenario(
            end, start=DEAL_HISTORY_START, without=deal.without, extra=extra or []
        )
    base = load_scenario(name)
    start = min(base.start, deal.start)  # a scenario starting later is run from the deal's start
    months = month_index(end) - month_index(start) + 1
    kept = [p for p in base.policies if p.id not in deal.without] + list(extra or [])
    return base.model_copy(update={"start": start, "months": months, "policies": kept})


def _policy(raw: dict[str, Any], deal: Deal, file: str, at: str) -> ins.Instrument:
    try:
        policy: ins.Instrument = POLICY.validate_python({"start": deal.start, **raw})
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(x) for x in error["loc"][1:])
        raise UserInputError(
            error["msg"], file=file, field=f"{at}.{where}", value=error.get("input")
        ) from None
    return policy


@cache
def bundled_network() -> Network:
    """The bundled baseline, loaded (and validated) once per process."""
    return load_network()


def build_arms(deal: Deal, file: str, against: str | None = None) -> Arms:
    network = bundled_network()
    end = month_label(month_index(deal.start) + deal.months - 1)
    name = against or deal.against
    _check_regions(deal, network, file)
    no_deal = [_policy(p, deal, file, f"no_deal[{n}]") for n, p in enumerate(deal.no_deal)]
    terms = [
        _policy(t.policy, deal, file, f"terms[{n}].policy")
        for n, t in enumerate(deal.terms)
        if t.policy is not None
    ]
    _bind_each(terms, deal, network, file)
    base = against_scenario(deal, name, end)
    _check_ids(base, no_deal, terms, file)
    arm0 = base.model_copy(update={"policies": [*base.policies, *no_deal]})
    arm1 = against_scenario(deal, name, end, terms)
    bound = bind(arm1, network, file=file)
    return Arms(
        deal, file, bind(arm0, network, file=file), bound, network,
        [p.id for p in terms], precedence(bound.policies, {p.id for p in terms}),
    )  # fmt: skip


def _check_ids(
    base: Scenario, no_deal: list[ins.Instrument], terms: list[ins.Instrument], file: str
) -> None:
    ids = [p.id.split("~")[0] for p in base.policies]
    for policy in [*no_deal, *terms]:
        if policy.id in ids:
            raise UserInputError(
                "a policy id used twice", file=file, field="terms", value=policy.id,
                expected="ids unique across the scenario, no_deal and terms",
            )  # fmt: skip
        ids.append(policy.id)
    for policy in terms:
        for named in policy.suspends():
            if named not in ids:
                raise UserInputError(
                    "a suspension names no policy of the scenario", file=file,
                    field=f"{policy.id}.policies", value=named, expected=", ".join(ids),
                )  # fmt: skip


def _check_regions(deal: Deal, network: Network, file: str) -> None:
    regions = set(network.tables["regions"]["region"])
    for code, party in deal.parties.items():
        for region in party.regions:
            if region not in regions:
                raise UserInputError(
                    "unknown region", file=file, field=f"parties.{code}.regions", value=region,
                    expected=", ".join(sorted(regions)),
                )  # fmt: skip


def _bind_each(terms: list[ins.Instrument], deal: Deal, network: Network, file: str) -> None:
    """Each term's codes checked on its own, so an error names the term."""
    at = [n for n, t in enumerate(deal.terms) if t.policy is not None]
    for n, policy in zip(at, terms, strict=True):
        if isinstance(policy, ins.Suspension):
            continue  # names ids of the scenario, checked when the arms are bound
        try:
            bind(
                Scenario(name="term", start=deal.start, months=1, policies=[policy]),
                network,
                file=file,
            )
        except UserInputError as error:
            raise UserInputError(
                error.message, file=file, field=f"terms[{n}].policy ({error.field})",
                value=error.value, expected=error.expected,
            ) from None  # fmt: skip


def _months(p: ins.Instrument) -> tuple[int, int]:
    return month_index(p.start), month_index(p.end) if p.end else 10**9


def _products(p: ins.Instrument) -> set[str]:
    items = getattr(p, "items", None)
    return set(items.products) | {f"element:{e}" for e in items.elements} if items else set()


def _destinations(p: ins.Instrument) -> set[str]:
    if isinstance(p, ins.EntityBan):
        return {p.region}
    return set(getattr(p, "targets", []))


def _meet(a: set[str], b: set[str]) -> bool:
    return bool(a & b) or "all" in a | b


def precedence(policies: list[ins.Instrument], terms: set[str]) -> list[str]:
    """Where a general licence and a ban of the same actor meet on a flow and month (one of
    them a term of the deal): the ban takes precedence."""
    bans = [p for p in policies if isinstance(p, ins.ExportBan | ins.EntityBan)]
    notes = []
    for g in (p for p in policies if isinstance(p, ins.GeneralLicense)):
        for ban in bans:
            if not ({g.id, ban.id} & terms) or g.actor != ban.actor:
                continue
            (a0, a1), (b0, b1) = _months(g), _months(ban)
            overlap = a0 <= b1 and b0 <= a1 and _meet(_destinations(g), _destinations(ban))
            if overlap and _products(g) & _products(ban):
                notes.append(f"{ban.id} (ban) takes precedence over {g.id} (general licence)")
    return notes
