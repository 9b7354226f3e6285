"""Policy instruments as typed, validated objects (static descriptions, no runtime state).

Every instrument has an ``id`` (unique in its scenario), an ``actor`` (a region code), a
``start`` month and an optional inclusive ``end`` month, both 'YYYY-MM'. Names of regions,
products, elements and sectors are checked against the network when a scenario is bound to it
(``rareflow.scenarios.load``), not here, so that these models stay data-independent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MONTH_PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
ALL = "all"
# A licence attribute written `calibrated` takes the value fitted to the 2025 episode
# (parameters licence_approval_share, licence_lead_time_months, licence_ramp_months).
CALIBRATED = "calibrated"
CalibratedShare = Annotated[float, Field(ge=0.0, le=1.0)] | Literal["calibrated"]
CalibratedLead = Annotated[float, Field(ge=0.0, le=24.0)] | Literal["calibrated"]
CalibratedRamp = Annotated[float, Field(ge=0.0, le=36.0)] | Literal["calibrated"]
CALIBRATED_PARAMETERS = {
    "approval_share": "licence_approval_share",
    "lead_time_months": "licence_lead_time_months",
    "ramp_months": "licence_ramp_months",
}


def check_month(value: str) -> str:
    if not MONTH_PATTERN.match(value):
        raise ValueError("a month written YYYY-MM, e.g. 2026-11")
    return value


class Items(BaseModel):
    """Which products a measure covers: named products, and/or products containing elements.

    A product is covered when it is listed in ``products``, or when its content of any element
    in ``elements`` exceeds ``min_content`` (a mass fraction; 0 means 'contains any').
    """

    model_config = ConfigDict(extra="forbid")
    products: list[str] = Field(default_factory=list)
    elements: list[str] = Field(default_factory=list)
    min_content: float = Field(0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _not_empty(self) -> Items:
        if not self.products and not self.elements:
            raise ValueError("items must name at least one product or element")
        return self


class PolicyBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, description="Unique name of the measure in its scenario.")
    actor: str = Field("CHN", description="Region that imposes the measure.")
    start: str = Field(description="First month in force, YYYY-MM.")
    end: str | None = Field(None, description="Last month in force (inclusive), YYYY-MM.")
    description: str = ""
    source: str = Field("", description="Where the measure is documented (URL and note).")

    _check_start = field_validator("start")(check_month)

    @field_validator("end")
    @classmethod
    def _check_end(cls, value: str | None) -> str | None:
        return None if value is None else check_month(value)

    @model_validator(mode="after")
    def _end_after_start(self) -> PolicyBase:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class Targeted(PolicyBase):
    items: Items
    targets: list[str] = Field(
        default_factory=lambda: [ALL],
        description="Importing regions the measure applies to; 'all' means every other region.",
    )


class ExportLicense(Targeted):
    """Exports of the items need a licence: a share is approved, after a lead time."""

    type: Literal["export_license"] = "export_license"
    approval_share: CalibratedShare = Field(
        description="Share of requests approved once approvals flow (0-1, or 'calibrated')."
    )
    lead_time_months: CalibratedLead = Field(
        0.0, description="Months before any approval flows (or 'calibrated')."
    )
    ramp_months: CalibratedRamp = Field(
        0.0, description="Months over which approvals rise to their share (or 'calibrated')."
    )
    denied_sectors: list[str] = Field(
        default_factory=list, description="End uses never licensed (e.g. defence)."
    )


class ExportBan(Targeted):
    """Exports of the items to the targets stop, but for leakage through third countries."""

    type: Literal["export_ban"] = "export_ban"
    leakage_share: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="Share of banned flow that still arrives via transshipment.",
    )


class ExportQuota(Targeted):
    """Total exports of the items to the targets are capped."""

    type: Literal["export_quota"] = "export_quota"
    tonnes_per_year: float = Field(ge=0.0, description="Cap on exports, tonnes per year.")


class Tariff(Targeted):
    """An ad valorem duty the actor (an importer) levies on the items from the targets
    (exporters); sourcing shifts away through the tariff elasticity parameter."""

    type: Literal["tariff"] = "tariff"
    rate: float = Field(ge=0.0, le=10.0, description="Ad valorem rate, 0.25 = 25%.")


class ContentRule(PolicyBase):
    """Foreign exports of products holding at least ``threshold`` (mass fraction) of the
    actor's controlled ``elements`` from actor-origin material fall under the actor's licence."""

    type: Literal["content_rule"] = "content_rule"
    elements: list[str] = Field(min_length=1)
    threshold: float = Field(0.001, gt=0.0, le=1.0)
    targets: list[str] = Field(default_factory=lambda: [ALL])
    approval_share: CalibratedShare
    lead_time_months: CalibratedLead = 0.0
    ramp_months: CalibratedRamp = 0.0


def resolve_calibrated(policy: PolicyBase, parameters: Mapping[str, float]) -> PolicyBase:
    """The policy with every `calibrated` attribute replaced by its fitted parameter."""
    update = {
        field: float(parameters[name])
        for field, name in CALIBRATED_PARAMETERS.items()
        if getattr(policy, field, None) == CALIBRATED
    }
    return policy.model_copy(update=update) if update else policy


class Suspension(PolicyBase):
    """Named measures are not in force from ``start`` through ``end`` (the expiry)."""

    type: Literal["suspension"] = "suspension"
    policies: list[str] = Field(min_length=1, description="Ids of the suspended measures.")


class Stockpile(PolicyBase):
    """A government releases stock onto its market, or buys for a reserve, each month."""

    type: Literal["stockpile"] = "stockpile"
    product: str
    action: Literal["release", "purchase"]
    tonnes_per_month: float = Field(gt=0.0)


class CapacityInvestment(PolicyBase):
    """New capacity of a process in a region, ramping linearly from ``start``."""

    type: Literal["capacity_investment"] = "capacity_investment"
    region: str
    process: str
    tonnes_per_year: float = Field(gt=0.0)
    ramp_months: int = Field(12, ge=0, le=120)


class PriceFloor(PolicyBase):
    """A guaranteed minimum price for a product in a market (e.g. the DoD NdPr floor)."""

    type: Literal["price_floor"] = "price_floor"
    product: str
    market: Literal["china", "ex_china"] = "ex_china"
    usd_per_kg: float = Field(gt=0.0)


Policy = Annotated[
    ExportLicense
    | ExportBan
    | ExportQuota
    | Tariff
    | ContentRule
    | Suspension
    | Stockpile
    | CapacityInvestment
    | PriceFloor,
    Field(discriminator="type"),
]

POLICY_TYPES = (
    "export_license",
    "export_ban",
    "export_quota",
    "tariff",
    "content_rule",
    "suspension",
    "stockpile",
    "capacity_investment",
    "price_floor",
)
