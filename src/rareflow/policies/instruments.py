"""Policy instruments, one class each: fields and checks, the channels it writes and its effect
on them, and the trade arcs it opens. ``REGISTRY`` collects every class as it is defined;
the scenario union, the type lookups, the binding of codes, the uncertain attributes and
their bounds, and the test generators are all read off it (``policies.registry``).

Every instrument has an ``id`` (unique in its scenario), an ``actor`` (a region code), a
``start`` month and an optional inclusive ``end`` month, both 'YYYY-MM'. Names of regions,
products, elements and sectors are declared with ``Code`` and checked against the network
when a scenario is bound to it, not here, so that these models stay data-independent.

To add an instrument: one class here (a ``type`` tag, fields, ``writes``, ``effect``); a new
channel, if it needs one, is a line in ``channels.CHANNELS`` and its reading in the engine's
two steps (``engine/market.py`` or ``step.py``, and ``engine/kernel.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Union

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from rareflow.model.compiled import month_index
from rareflow.policies.channels import CHANNEL, MonthEffects, Quota
from rareflow.policies.channels import ContentRule as RuleEffect
from rareflow.policies.context import (
    ALL,
    Context,
    Values,
    approval_path,
    index,
    item_mask,
    one_hot,
    per_draw_column,
    ramp_share,
    region_mask,
    review_decided,
    value,
)

if TYPE_CHECKING:
    from rareflow.model.compiled import CompiledNetwork

MONTH_PATTERN = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
# A licence attribute written `calibrated` takes the value fitted to the 2025 episode
# (parameters licence_approval_share, licence_lead_time_months, licence_ramp_months).
CALIBRATED = "calibrated"
CALIBRATED_PARAMETERS = {
    "approval_share": "licence_approval_share",
    "lead_time_months": "licence_lead_time_months",
    "ramp_months": "licence_ramp_months",
    "review_working_days": "licence_review_working_days",
    "review_spread": "licence_review_spread",
}


@dataclass(frozen=True)
class Code:
    """A field holding a code of a network dimension (checked when a scenario is bound)."""

    dim: str  # region, product, element, sector, process, market or policy (an id)
    allow_all: bool = False  # 'all' accepted (every region but the actor)


@dataclass(frozen=True)
class PerDraw:
    """A numeric attribute that may differ per draw (Monte Carlo ``values``); its bounds are
    the field's own. ``typical``: an upper end of ordinary values where the field has none,
    for generated tests."""

    typical: float | None = None


Region = Annotated[str, Code("region")]
Target = Annotated[str, Code("region", allow_all=True)]
Product = Annotated[str, Code("product")]
Element = Annotated[str, Code("element")]
Sector = Annotated[str, Code("sector")]
Process = Annotated[str, Code("process")]
PolicyId = Annotated[str, Code("policy")]
Market = Annotated[Literal["china", "ex_china"], Code("market")]
Share = Annotated[float, Field(ge=0.0, le=1.0)] | Literal["calibrated"]
LeadMonths = Annotated[float, Field(ge=0.0, le=24.0)] | Literal["calibrated"]
RampMonths = Annotated[float, Field(ge=0.0, le=36.0)] | Literal["calibrated"]
ReviewDays = Annotated[float, Field(ge=0.0, le=260.0)] | Literal["calibrated"]  # <= a year
Spread = Annotated[float, Field(ge=0.0, le=1.0)] | Literal["calibrated"]
Capacity = Annotated[float, Field(ge=0.0, le=100.0)] | None  # months of applications a month


TariffBasis = Literal[
    "unspecified", "ieepa", "section_122", "section_232", "section_301", "retaliation"
]

FIRST_YEAR, LAST_YEAR = 2000, 2100  # the timeline starts in 2010; the baseline is 2024


def check_month(value: str) -> str:
    if not MONTH_PATTERN.match(value):
        raise ValueError("a month written YYYY-MM, e.g. 2026-11")
    if not FIRST_YEAR <= int(value[:4]) <= LAST_YEAR:
        raise ValueError(f"a month from {FIRST_YEAR}-01 to {LAST_YEAR}-12, e.g. 2026-11")
    return value


class Items(BaseModel):
    """Which products a measure covers: named products, and/or products containing elements.

    A product is covered when it is listed in ``products``, or when its content of any element
    in ``elements`` exceeds ``min_content`` (a mass fraction; 0 means 'contains any').
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    products: list[Product] = Field(default_factory=list)
    elements: list[Element] = Field(default_factory=list)
    min_content: float = Field(0.0, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _not_empty(self) -> Items:
        if not self.products and not self.elements:
            raise ValueError("items must name at least one product or element")
        return self


REGISTRY: dict[str, type[Instrument]] = {}


class PolicyBase(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    id: str = Field(min_length=1, description="Unique name of the measure in its scenario.")
    actor: Region = Field("CHN", description="Region that imposes the measure.")
    start: str = Field(
        "", description="First month in force, YYYY-MM (default: the scenario's start)."
    )
    end: str | None = Field(None, description="Last month in force (inclusive), YYYY-MM.")
    description: str = ""
    source: str = Field("", description="Where the measure is documented (URL and note).")

    @field_validator("start")
    @classmethod
    def _check_start(cls, value: str) -> str:
        return value if value == "" else check_month(value)  # "": filled by the scenario

    @field_validator("end")
    @classmethod
    def _check_end(cls, value: str | None) -> str | None:
        return None if value is None else check_month(value)

    @model_validator(mode="before")
    @classmethod
    def _no_bools_for_numbers(cls, data: object) -> object:
        """YAML reads `true` as a bool and pydantic would take it for 1.0: refuse it where
        a number (or a name) is expected."""
        if isinstance(data, dict):
            for key, value in data.items():
                field = cls.model_fields.get(str(key))
                if isinstance(value, bool) and field is not None and field.annotation is not bool:
                    raise ValueError(f"{key}: a number or a name, not {str(value).lower()}")
        return data

    @model_validator(mode="after")
    def _end_after_start(self) -> PolicyBase:
        if self.start and self.end is not None and self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class Instrument(PolicyBase):
    """An instrument: a class with a ``type`` tag registers itself in ``REGISTRY``."""

    type: str
    writes: ClassVar[tuple[str, ...]] = ()  # the channels ``effect`` writes
    tracks_origin: ClassVar[bool] = False  # the engine tracks ``origin_regions``' shares
    first: ClassVar[bool] = False  # applied before the others each month (others read it)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        tag = cls.model_fields["type"].default
        if isinstance(tag, str):  # intermediate bases have no tag
            unknown = [c for c in cls.writes if c not in CHANNEL]
            if unknown:
                raise TypeError(f"{cls.__name__} writes undeclared channels {unknown}")
            REGISTRY[tag] = cls

    def effect(self, fx: MonthEffects, ctx: Context, age: int) -> None:
        """Write this month's effect on ``writes`` (``age``: months since entry)."""

    def opens(self, net: CompiledNetwork) -> np.ndarray | None:
        """(R, P) where the measure can put stock or capacity: trade arcs are opened there."""
        return None

    def suspends(self) -> list[str]:
        """Ids of the measures this one switches off while in force."""
        return []

    def origin_tracked(self) -> bool:
        """Whether the engine must track origin shares (``origin_regions``) for this measure."""
        return self.tracks_origin

    def origin_regions(self) -> list[str]:
        """The regions whose origin shares the measure reads (the engine tracks every origin
        that some measure of the scenario reads, ``engine.prepare.tracked_origins``)."""
        return [self.actor]


class Targeted(Instrument):
    items: Items
    targets: list[Target] = Field(
        default_factory=lambda: [ALL],
        description="Importing regions the measure applies to; 'all' means every other region.",
    )

    def export_mask(self, ctx: Context) -> np.ndarray:
        """(C,) the actor's exports of the items to the targets."""
        exporters = region_mask([self.actor], ctx.net, self.actor)
        return ctx.flow_mask(self.items, exporters, region_mask(self.targets, ctx.net, self.actor))


class Licensed(Instrument):
    """A licence regime as a process: applications (the would-be exports) arrive each month;
    the regime starts reviewing up to ``review_capacity`` months of applications a month
    (the rest wait in a backlog, first come first served); each review takes
    ``review_working_days``; a share of the decisions is approved, after a lead time and a
    ramp (the stance easing). The history and Monte Carlo timing act on these fields."""

    approval_share: Annotated[Share, PerDraw()] = Field(
        description="Share of requests approved once approvals flow (0-1, or 'calibrated')."
    )
    lead_time_months: Annotated[LeadMonths, PerDraw()] = Field(
        0.0, description="Months before any approval flows (or 'calibrated')."
    )
    ramp_months: Annotated[RampMonths, PerDraw()] = Field(
        0.0, description="Months over which approvals rise to their share (or 'calibrated')."
    )
    review_working_days: Annotated[ReviewDays, PerDraw(typical=60.0)] = Field(
        0.0,
        description="Working days a review takes (MOFCOM: 45); 0: decided on application.",
    )
    review_spread: Annotated[Spread, PerDraw()] = Field(
        0.0,
        description="Spread of review times below review_working_days (0: every review takes "
        "them all; 1: evenly anywhere within them).",
    )
    review_capacity: Annotated[Capacity, PerDraw(typical=2.0)] = Field(
        None,
        description="Reviews the regime can start a month, in months of applications "
        "(1 keeps pace; below 1 a backlog grows); none: unlimited.",
    )


def review_share(p: Licensed, age: int | np.ndarray, values: Values) -> float | np.ndarray:
    """Share of the month's would-be exports decided at ``age`` (``review_decided``); 1 when
    reviews take no time and capacity is unlimited."""
    days = value(p, "review_working_days", values)
    key = f"{p.id}.review_capacity"
    capacity = values.get(key, p.review_capacity)
    if capacity is None and np.all(np.asarray(days) == 0.0):
        return 1.0
    spread = value(p, "review_spread", values)
    return review_decided(age, days, np.inf if capacity is None else capacity, spread)


def approved_share(p: Licensed, age: int, values: Values) -> float | np.ndarray:
    """The measure's ``approval_path`` at ``age`` months after entry, times the share its
    review process has decided (``review_share``)."""
    share = approval_path(
        age,
        value(p, "lead_time_months", values),
        value(p, "ramp_months", values),
        value(p, "approval_share", values),
    ) * review_share(p, age, values)
    return float(share) if np.ndim(share) == 0 else share


class Conditions(BaseModel):
    """Conditions a licence carries (India's 2025 licences carried both). They bind the
    licensee's own use (``defence_use: denied``: the importer's defence share of its use of
    the items is never licensed) and its re-exports (exports by the licensees, of products
    holding the items' elements from actor-origin material, to ``no_reexport_to`` are
    denied)."""

    model_config = ConfigDict(extra="forbid")
    defence_use: Literal["allowed", "denied"] = "allowed"
    no_reexport_to: list[Region] = Field(default_factory=list)


class ExportLicense(Targeted, Licensed):
    """Exports of the items need a licence: a share is approved, after a lead time.

    General licences in force (``general_license``) release their customers' share of a flow
    from review: on it the licence's factor is ``g + (1 - g) * approved``."""

    type: Literal["export_license"] = "export_license"
    writes = ("allowed", "content_rules")
    denied_sectors: list[Sector] = Field(
        default_factory=list,
        description="End uses licensed at ``end_use_approval_share`` only (e.g. defence).",
    )
    end_use_approval_share: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="Share of the denied_sectors' requests approved (0: denied outright), "
        "relative to the civil uses' approval.",
    )
    conditions: Conditions = Field(default_factory=Conditions)

    def origin_tracked(self) -> bool:
        return bool(self.conditions.no_reexport_to)

    def sectors_denied(self) -> list[str]:
        extra = ["defence"] if self.conditions.defence_use == "denied" else []
        return list(dict.fromkeys([*self.denied_sectors, *extra]))

    def effect(self, fx: MonthEffects, ctx: Context, age: int) -> None:
        mask = ctx.mask(self, Targeted.export_mask)
        sectors = [s for s in self.sectors_denied() if s in ctx.net.sectors]
        # share of imports for other uses, plus the denied uses' own approved share
        kept = 1.0 - ctx.denied_share(sectors) * (1.0 - self.end_use_approval_share)
        approved = approved_share(self, age, ctx.values)
        for cells, released in ctx.release_groups(mask):
            fx.allowed.apply(cells, released + (1.0 - released) * approved, kept[cells], ctx.on)
        if self.conditions.no_reexport_to:
            fx.put("content_rules", self.reexport_rule(ctx))

    def reexport_rule(self, ctx: Context) -> RuleEffect:
        """The licensees (the targets) may not re-export actor-origin material of the items."""
        net = ctx.net
        held = net.content[item_mask(self.items, net)].sum(axis=0) > 0  # (E,) elements held
        return RuleEffect(
            content=net.content[:, held].sum(axis=1),
            threshold=REEXPORT_THRESHOLD,
            origins=region_mask([self.actor], net, self.actor),
            targets=region_mask(self.conditions.no_reexport_to, net, self.actor),
            factor=0.0,
            exporters=region_mask(self.targets, net, self.actor),
        )


# Origin content (t element per t product) from which a re-export counts as actor-origin
# material: 0.1%, as in MOFCOM Ann. 61 (2025)'s de minimis (assumption: by mass, not value).
REEXPORT_THRESHOLD = 0.001


class GeneralLicense(Targeted):
    """A general licence (MOFCOM, December 2025): one year, one exporter of the actor (a
    named firm), named foreign customers. The customers hold ``customer_share`` of the
    targets' demand for the items; that share of the flow is released from the actor's
    export licences (no approval share, no lead time). Bans (``export_ban``,
    ``entity_ban``) still apply: they multiply the allowance after every licence, so a ban
    takes precedence over a general licence on the same flow and month."""

    type: Literal["general_license"] = "general_license"
    first = True
    exporter: str = Field("unnamed", min_length=1, description="The licensed exporting firm.")
    customers: list[str] = Field(default_factory=list, description="Named foreign customers.")
    customer_share: Annotated[float, PerDraw()] = Field(
        ge=0.0, le=1.0, description="Share of the targets' demand the customers hold."
    )

    @model_validator(mode="after")
    def _one_year(self) -> GeneralLicense:
        if self.start and self.end and month_index(self.end) - month_index(self.start) >= 12:
            raise ValueError(f"a general licence runs one year at most: {self.start}..{self.end}")
        return self

    def effect(self, fx: MonthEffects, ctx: Context, age: int) -> None:
        if age >= 12:  # one year from entry
            return
        share = ctx.value(self, "customer_share")
        if ctx.on is not None:
            share = np.where(ctx.on, share, 0.0)
        ctx.released.append((ctx.mask(self, Targeted.export_mask), share))


class ExportBan(Targeted):
    """Exports of the items to the targets stop, but for leakage through third countries."""

    type: Literal["export_ban"] = "export_ban"
    writes = ("allowed",)
    leakage_share: Annotated[float, PerDraw()] = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="Share of banned flow that still arrives via transshipment.",
    )

    def effect(self, fx: MonthEffects, ctx: Context, age: int) -> None:
        leak = ctx.value(self, "leakage_share")
        fx.allowed.apply(ctx.mask(self, Targeted.export_mask), leak, on=ctx.on)


class ExportQuota(Targeted):
    """Total exports of the items to the targets are capped."""

    type: Literal["export_quota"] = "export_quota"
    writes = ("quotas",)
    tonnes_per_year: Annotated[float, PerDraw(typical=500.0)] = Field(
        ge=0.0, description="Cap on exports, tonnes per year."
    )

    def effect(self, fx: MonthEffects, ctx: Context, age: int) -> None:
        mask = ctx.mask(self, Targeted.export_mask)
        fx.put("quotas", Quota(mask, ctx.value(self, "tonnes_per_year") / 12.0))


class Tariff(Targeted):
    """An ad valorem duty the actor (an importer) levies on the items from the targets
    (exporters); sourcing shifts away through the tariff elasticity parameter."""

    type: Literal["tariff"] = "tariff"
    writes = ("taxed",)
    rate: Annotated[float, PerDraw()] = Field(
        ge=0.0, le=10.0, description="Ad valorem rate, 0.25 = 25%."
    )
    basis: TariffBasis = Field(
        "unspecified", description="Legal basis; duties under several bases stack (add)."
    )

    def import_mask(self, ctx: Context) -> np.ndarray:
        """(C,) the actor's imports of the items from the targets."""
        importers = region_mask([self.actor], ctx.net, self.actor)
        return ctx.flow_mask(self.items, region_mask(self.targets, ctx.net, self.actor), importers)

    def effect(self, fx: MonthEffects, ctx: Context, age: int) -> None:
        rate = ctx.value(self, "rate")
        fx.taxed.apply(ctx.mask(self, Tariff.import_mask), rate, on=ctx.on)


class ContentRule(Licensed):
    """Foreign exports of products holding at least ``threshold`` (mass fraction) of the
    actor's controlled ``elements`` from actor-origin material fall under the actor's licence."""

    type: Literal["content_rule"] = "content_rule"
    writes = ("content_rules",)
    tracks_origin = True
    elements: list[Element] = Field(min_length=1)
    threshold: float = Field(0.001, gt=0.0, le=1.0)
    targets: list[Target] = Field(default_factory=lambda: [ALL])

    def effect(self, fx: MonthEffects, ctx: Context, age: int) -> None:
        net = ctx.net
        elements = [index(net, "element", e) for e in self.elements]
        rule = RuleEffect(
            content=net.content[:, elements].sum(axis=1),
            threshold=self.threshold,
            origins=region_mask([self.actor], net, self.actor),
            targets=region_mask(self.targets, net, self.actor),
            factor=approved_share(self, age, ctx.values),
        )
        fx.put("content_rules", rule)


class EntityBan(Instrument):
    """Named end users in ``region`` (e.g. MOFCOM's 10 US entities, June 2026) may not receive
    the items from the actor. They hold ``demand_share`` of the region's demand in
    ``sectors`` (sourced, or an assumption with its rationale in ``share_basis``). Direct
    exports to them are denied; with ``retransfer: denied`` (a worldwide clause) so are
    third-country exports of products holding the items' elements from actor-origin material
    to them. Applied after licences: a ban takes precedence over any licence."""

    type: Literal["entity_ban"] = "entity_ban"
    writes = ("allowed", "content_rules")
    tracks_origin = True
    items: Items
    region: Region
    sectors: list[Sector] = Field(min_length=1, description="The entities' end uses.")
    entities: list[str] = Field(default_factory=list, description="Named end users.")
    demand_share: Annotated[float, PerDraw()] = Field(
        ge=0.0,
        le=1.0,
        description="Share of the (region, sectors) demand the entities hold; may vary per "
        "Monte Carlo draw (an uncertainty range, as any per-draw attribute).",
    )
    share_basis: str = Field("", description="Source, or 'assumption: <rationale>'.")
    retransfer: Literal["denied", "allowed"] = "denied"

    def origin_tracked(self) -> bool:
        return self.retransfer == "denied"

    def effect(self, fx: MonthEffects, ctx: Context, age: int) -> None:
        mask = ctx.mask(self, EntityBan.direct_mask)
        share = ctx.value(self, "demand_share")  # scalar, or (D,) per draw
        sectors = ctx.denied_share(self.sectors)[mask]
        if np.ndim(share) == 0:
            fx.allowed.apply(mask, 1.0, 1.0 - share * sectors, ctx.on)
        else:  # 1 - share x sectors is no product of a per-draw and a per-cell part:
            # one term per distinct sector share (a few), its factor per draw
            cells = np.flatnonzero(mask)
            for held in np.unique(sectors):
                only = np.zeros_like(mask)
                only[cells[sectors == held]] = True
                fx.allowed.apply(only, 1.0 - share * held, 1.0, ctx.on)
        if self.retransfer == "denied":
            fx.put("content_rules", self.retransfer_rule(ctx, share))

    def direct_mask(self, ctx: Context) -> np.ndarray:
        exporters = region_mask([self.actor], ctx.net, self.actor)
        importers = region_mask([self.region], ctx.net, self.actor)
        return ctx.flow_mask(self.items, exporters, importers)

    def retransfer_rule(self, ctx: Context, demand_share: float | np.ndarray) -> RuleEffect:
        """Third countries' actor-origin exports to the region lose the entities' share of
        its use of the items (by tonnes over the items, at baseline)."""
        net = ctx.net
        items = item_mask(self.items, net)
        r = index(net, "region", self.region)
        use = net.demand0[r][:, items]  # (S, P)
        sectors = [index(net, "sector", s) for s in self.sectors]
        share = float(use[sectors].sum() / use.sum()) if use.sum() > 0 else 0.0
        held = net.content[items].sum(axis=0) > 0
        return RuleEffect(
            content=net.content[:, held].sum(axis=1),
            threshold=REEXPORT_THRESHOLD,
            origins=region_mask([self.actor], net, self.actor),
            targets=region_mask([self.region], net, self.actor),
            factor=1.0 - demand_share * share,
        )


class OriginRule(Instrument):
    """A buyer-side origin rule: the actor's ``sectors`` may not use material of the
    ``origin`` regions (one or several) at the stages from ``from_stage`` to magnets (e.g.
    the US defence rule against Chinese-origin magnet material 'from mine to magnet' from
    2027-01-01). Imports of those products from an origin lose the share the sectors would
    use (``direct_held``: of the actor's use of a product, or for an intermediate of its use
    of the bound products); imports from third countries whose stock holds at least
    ``threshold`` of material of the origins (together) lose the sectors' share of the
    actor's use of those products (``sector_share``). Origin is tracked on every tonne through every stage (``State.origin``), for
    every origin some measure of the scenario reads, so several rules bind at once."""

    type: Literal["origin_rule"] = "origin_rule"
    writes = ("allowed", "content_rules")
    tracks_origin = True
    actor: Region = Field("USA", description="Region whose buyers the rule binds.")
    origin: list[Region] = Field(
        default_factory=lambda: ["CHN"],
        min_length=1,
        description="Origins the sectors may not use: a region, or a list of regions.",
    )
    sectors: list[Sector] = Field(min_length=1)
    from_stage: Literal["mining", "separation", "metal", "magnet"] = "mining"
    threshold: float = Field(0.001, gt=0.0, le=1.0, description="Origin share that counts.")

    @field_validator("origin", mode="before")
    @classmethod
    def _one_or_several(cls, value: object) -> object:
        """``origin: CHN`` and ``origin: [CHN, MMR]`` both read as a list."""
        return [value] if isinstance(value, str) else value

    def origin_regions(self) -> list[str]:
        return list(dict.fromkeys(self.origin))

    def products(self, net: CompiledNetwork) -> np.ndarray:
        stages = ("mining", "separation", "metal", "magnet")
        bound = stages[stages.index(self.from_stage) :]
        return np.array([s in bound for s in net.product_stage])

    def direct_mask(self, ctx: Context) -> np.ndarray:
        items = Items(products=[p for p, on in zip(ctx.net.products, self.products(ctx.net),
                                                   strict=True) if on], min_content=0.0)  # fmt: skip
        exporters = region_mask(self.origin, ctx.net, self.actor)
        return ctx.flow_mask(items, exporters, region_mask([self.actor], ctx.net, self.actor))

    def sector_share(self, net: CompiledNetwork) -> float:
        """The sectors' share of the actor's final use of the bound products, t at baseline:
        the share of an intermediate (concentrate, oxide, metal) they could use."""
        use = net.demand0[index(net, "region", self.actor)][:, self.products(net)]  # (S, P)
        sectors = [index(net, "sector", s) for s in self.sectors]
        return float(use[sectors].sum() / use.sum()) if use.sum() > 0 else 0.0

    def direct_held(self, ctx: Context) -> np.ndarray:
        """(C,) share of a flow to the actor the sectors would use: of a product the actor
        uses itself, the sectors' share of that use; of an intermediate, ``sector_share``."""
        net = ctx.net
        used = net.demand0[index(net, "region", self.actor)].sum(axis=0) > 0  # (P,)
        product = ctx.cells // (len(net.regions) ** 2)
        return np.where(used[product], ctx.denied_share(self.sectors), self.sector_share(net))

    def effect(self, fx: MonthEffects, ctx: Context, age: int) -> None:
        mask = ctx.mask(self, OriginRule.direct_mask)
        fx.allowed.apply(mask, 1.0, 1.0 - self.direct_held(ctx)[mask], ctx.on)
        net = ctx.net
        rule = RuleEffect(
            content=self.products(net).astype(float),
            threshold=self.threshold,
            origins=region_mask(self.origin, net, self.actor),
            targets=region_mask([self.actor], net, self.actor),
            factor=1.0 - self.sector_share(net),
        )
        fx.put("content_rules", rule)


class ImportPriceFloor(Instrument):
    """A coalition's minimum import price (as proposed for a plurilateral critical-minerals
    agreement, 2026): the members (and the actor) levy a variable duty on imports of the
    product from outside the coalition that brings the exporter's baseline price (China's
    domestic price for Chinese exports, the ex-China price for others) up to ``usd_per_kg``;
    the rate is ``max(0, floor / price - 1)``, written to the tariff channel, so it stacks
    with tariffs. A floor under the coalition producers' own price is ``price_floor``."""

    type: Literal["import_price_floor"] = "import_price_floor"
    writes = ("taxed",)
    members: list[Region] = Field(default_factory=list, description="The coalition's members.")
    product: Product
    usd_per_kg: Annotated[float, PerDraw(typical=300.0)] = Field(gt=0.0)

    def coalition(self, net: CompiledNetwork) -> np.ndarray:
        return region_mask([self.actor, *self.members], net, self.actor)

    def from_china(self, ctx: Context) -> np.ndarray:
        outside = ~self.coalition(ctx.net) & (np.array(ctx.net.regions) == "CHN")
        return ctx.flow_mask(
            Items(products=[self.product], min_content=0.0), outside, self.coalition(ctx.net)
        )

    def from_others(self, ctx: Context) -> np.ndarray:
        outside = ~self.coalition(ctx.net) & (np.array(ctx.net.regions) != "CHN")
        return ctx.flow_mask(
            Items(products=[self.product], min_content=0.0), outside, self.coalition(ctx.net)
        )

    def effect(self, fx: MonthEffects, ctx: Context, age: int) -> None:
        p = index(ctx.net, "product", self.product)
        floor = ctx.value(self, "usd_per_kg")
        for build, market in (
            (ImportPriceFloor.from_china, "china"),
            (ImportPriceFloor.from_others, "ex_china"),
        ):
            price = float(ctx.net.price0[p, index(ctx.net, "market", market)])
            rate = np.maximum(0.0, floor / price - 1.0) if price > 0 else 0.0
            fx.taxed.apply(ctx.mask(self, build), rate, on=ctx.on)


class Suspension(Instrument):
    """Named measures are not in force from ``start`` through ``end`` (the expiry)."""

    type: Literal["suspension"] = "suspension"
    policies: list[PolicyId] = Field(min_length=1, description="Ids of the suspended measures.")

    def suspends(self) -> list[str]:
        return list(self.policies)


class Stockpile(Instrument):
    """A government releases stock onto its market, or buys for a reserve, each month."""

    type: Literal["stockpile"] = "stockpile"
    writes = ("release", "purchase")
    product: Product
    action: Literal["release", "purchase"]
    tonnes_per_month: Annotated[float, PerDraw(typical=30.0)] = Field(gt=0.0)

    def effect(self, fx: MonthEffects, ctx: Context, age: int) -> None:
        cell = one_hot(ctx.net, region=self.actor, product=self.product)
        amount = cell * per_draw_column(ctx.value(self, "tonnes_per_month"), 3)
        fx.put(self.action, amount)

    def opens(self, net: CompiledNetwork) -> np.ndarray | None:
        if self.action != "release":
            return None
        return one_hot(net, region=self.actor, product=self.product)[0] > 0


class StockpileRelease(Instrument):
    """A national stockpile of a product held by the actor and released by a rule: when the
    region's stock falls below ``trigger_cover_months`` of its use (trend), the stockpile
    tops it up, at most ``max_tonnes_per_month`` a month, until ``tonnes`` are released.
    The engine tracks what is left (``State.drawn``)."""

    type: Literal["stockpile_release"] = "stockpile_release"
    writes = ("reserve", "reserve_cover", "reserve_rate")
    product: Product
    tonnes: Annotated[float, PerDraw(typical=500.0)] = Field(
        gt=0.0, description="Size of the stockpile, t."
    )
    trigger_cover_months: Annotated[float, PerDraw()] = Field(
        1.0, ge=0.0, le=24.0, description="Months of the region's use below which it releases."
    )
    max_tonnes_per_month: Annotated[float, PerDraw(typical=100.0)] = Field(
        gt=0.0, description="Most released in a month, t."
    )

    def effect(self, fx: MonthEffects, ctx: Context, age: int) -> None:
        cell = one_hot(ctx.net, region=self.actor, product=self.product)
        for channel, name in zip(self.writes, ("tonnes", "trigger_cover_months",
                                               "max_tonnes_per_month"), strict=True):  # fmt: skip
            fx.put(channel, cell * per_draw_column(ctx.value(self, name), 3))

    def opens(self, net: CompiledNetwork) -> np.ndarray | None:
        return one_hot(net, region=self.actor, product=self.product)[0] > 0


class CapacityInvestment(Instrument):
    """New capacity of a process in a region, ramping linearly from ``start``."""

    type: Literal["capacity_investment"] = "capacity_investment"
    writes = ("capacity",)
    region: Region
    process: Process
    tonnes_per_year: Annotated[float, PerDraw(typical=500.0)] = Field(gt=0.0)
    ramp_months: int = Field(12, ge=0, le=120)

    def effect(self, fx: MonthEffects, ctx: Context, age: int) -> None:
        cell = one_hot(ctx.net, region=self.region, process=self.process)
        share = ramp_share(ctx.month - month_index(self.start), self.ramp_months)
        tonnes = per_draw_column(ctx.value(self, "tonnes_per_year"), 3)
        fx.put("capacity", cell * tonnes / 12.0 * share)

    def opens(self, net: CompiledNetwork) -> np.ndarray | None:
        extra = np.zeros((len(net.regions), len(net.products)), dtype=bool)
        k = net.processes.index(self.process)
        extra[net.regions.index(self.region)] = net.recipe_out[k] > 0
        return extra


class PriceBound(Instrument):
    """A bound on a product's price in a market, written to its one channel (``writes``)."""

    product: Product
    market: Market = "ex_china"
    usd_per_kg: Annotated[float, PerDraw(typical=300.0)] = Field(gt=0.0)

    def effect(self, fx: MonthEffects, ctx: Context, age: int) -> None:
        (channel,) = self.writes
        cell = one_hot(ctx.net, product=self.product, market=self.market)
        bound = per_draw_column(ctx.value(self, "usd_per_kg"), 3)
        fx.put(channel, np.where(cell > 0, bound, CHANNEL[channel].neutral))


class PriceFloor(PriceBound):
    """A guaranteed minimum price for a product in a market (e.g. the DoD NdPr floor)."""

    type: Literal["price_floor"] = "price_floor"
    writes = ("floor",)


class PriceCap(PriceBound):
    """A government cap on a product's price in a market (e.g. a domestic cap in China): the
    price may not rise above ``usd_per_kg``, so demand does not fall as it would at the
    scarcity price and what is short is rationed pro rata. A floor in force on the same
    product and market takes precedence."""

    type: Literal["price_cap"] = "price_cap"
    writes = ("cap",)
    market: Market = "china"


def resolve_calibrated(policy: Instrument, parameters: Mapping[str, float]) -> Instrument:
    """The policy with every `calibrated` attribute replaced by its fitted parameter."""
    update = {
        field: float(parameters[name])
        for field, name in CALIBRATED_PARAMETERS.items()
        if getattr(policy, field, None) == CALIBRATED
    }
    return policy.model_copy(update=update) if update else policy


# The scenario's union of every registered instrument, discriminated by ``type``.
if TYPE_CHECKING:
    Policy = Instrument
else:
    Policy = Annotated[Union[tuple(REGISTRY.values())], Field(discriminator="type")]  # noqa: UP007
