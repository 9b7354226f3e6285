"""A deal file: parties, the scenario it changes, and each party's terms.

A term is either a ``policy`` (any registered instrument: a suspension, a general licence, a
tariff cut written as the lower tariff...) that the party puts in force, or an ``external``
term the network cannot simulate (chip-design software, jet engines, ethane, soybeans) with a
value the user gives, marked ``simulated: false`` in every report. ``without`` names the
policies of the scenario that the deal itself stands for (left out of both arms);
``no_deal`` lists what is in force in their place when there is no deal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from rareflow.errors import UserInputError
from rareflow.policies.instruments import REGISTRY, Policy, check_month
from rareflow.scenarios.documents import read_file

BUNDLED_DIR = Path(__file__).parent / "bundled"


class Party(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = ""
    regions: list[str] = Field(min_length=1)


class External(BaseModel):
    """A term outside the network: its value (USD over the deal) is the user's, not the
    model's."""

    model_config = ConfigDict(extra="forbid")
    what: str = Field(min_length=1)
    value_usd: float = Field(0.0, description="User-given value to the receiving party.")
    to: str = Field(min_length=1, description="The party that receives it.")


class Term(BaseModel):
    model_config = ConfigDict(extra="forbid")
    party: str = Field(min_length=1, description="The party that gives the term.")
    description: str = ""
    source: str = Field("", description="Source (URL, publisher, date) or 'assumption: ...'.")
    policy: dict[str, Any] | None = None
    external: External | None = None


class Deal(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    description: str = ""
    sources: list[str] = Field(default_factory=list)
    against: str = Field("history", description="Scenario the deal changes.")
    start: str = Field(description="First month evaluated, YYYY-MM.")
    months: int = Field(24, ge=1, le=120)
    parties: dict[str, Party] = Field(min_length=1)
    without: list[str] = Field(default_factory=list)
    no_deal: list[dict[str, Any]] = Field(default_factory=list)
    terms: list[Term] = Field(default_factory=list)


POLICY = TypeAdapter(Policy)


def bundled_deals() -> list[str]:
    return sorted(p.stem for p in BUNDLED_DIR.glob("*.yaml"))


def load_bundled() -> list[Deal]:
    """Every bundled deal, read and checked (``deals list``, ``GET /api/deals``)."""
    return [load_deal(name)[0] for name in bundled_deals()]


def resolve(name_or_path: str) -> Path:
    bundled = BUNDLED_DIR / f"{name_or_path}.yaml"
    if "/" not in name_or_path and bundled.is_file():
        return bundled
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    raise UserInputError(
        "no bundled deal or deal file of that name",
        value=name_or_path,
        expected=f"a bundled deal ({', '.join(bundled_deals())}) or a path to a YAML file",
    )


def load_deal(name_or_path: str) -> tuple[Deal, str]:
    """The deal and its file name; every problem is a UserInputError naming the field."""
    path = resolve(name_or_path)
    return parse_deal(read_file(path, kind="yaml"), str(path)), str(path)


def parse_deal(data: Any, file: str) -> Deal:
    """A deal from its mapping (a file's, or a request body's), validated and checked; every
    problem is a UserInputError naming ``file``, the field and the value."""
    try:
        deal = Deal.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(x) for x in error["loc"])
        raise UserInputError(
            error["msg"], file=file, field=where, value=error.get("input")
        ) from None
    check(deal, file)
    return deal


def check(deal: Deal, file: str) -> None:
    """Parties, instrument types and months named by the terms exist."""
    try:
        check_month(deal.start)
    except ValueError as exc:
        raise UserInputError(str(exc), file=file, field="start", value=deal.start) from None
    for n, term in enumerate(deal.terms):
        at = f"terms[{n}]"
        _party(deal, term.party, file, f"{at}.party")
        if term.external is not None:
            _party(deal, term.external.to, file, f"{at}.external.to")
        if (term.policy is None) == (term.external is None):
            raise UserInputError(
                "a term is a policy or an external term", file=file, field=at,
                expected="exactly one of policy: or external:",
            )  # fmt: skip
    for n, policy in enumerate(deal.no_deal):
        _policy_type(policy, file, f"no_deal[{n}]")
    for n, term in enumerate(deal.terms):
        if term.policy is not None:
            _policy_type(term.policy, file, f"terms[{n}].policy")


def _party(deal: Deal, name: str, file: str, field: str) -> None:
    if name not in deal.parties:
        raise UserInputError(
            "unknown party", file=file, field=field, value=name, expected=", ".join(deal.parties)
        )


def _policy_type(policy: dict[str, Any], file: str, field: str) -> None:
    kind = policy.get("type")
    if kind not in REGISTRY:
        raise UserInputError(
            "unknown instrument", file=file, field=f"{field}.type", value=kind,
            expected=", ".join(sorted(REGISTRY)),
        )  # fmt: skip
