"""Monthly effects of the policy instruments on the engine's arrays, one function per family.

``compile_policies`` resolves names to index masks once per run; ``month_effects`` then asks
each measure in force what it does this month and collects it in a ``MonthEffects``. Numeric
attributes may differ per draw: ``values`` maps ``"<policy id>.<attribute>"`` to a (D,) array,
and every effect broadcasts over a leading draw axis of length 1 or D. Dates and lead times
are shared by all draws.

Flow effects (allowances, tariffs, quota masks) live on C cells of the (P, E, I) grid, the
engine's trade arcs: each measure's mask is built on the grid (shared by all draws), gathered
onto the cells, and only then meets the per-draw factors. Allowances and tariffs are kept as
``CellField``s, a shared base and one term per measure (its cells, a per-cell and a per-draw
factor), so per-draw work is D x (cells covered); ``CellField.dense`` makes the (1|D, C)
array the numpy step reads, and the compiled kernel reads the terms.

Shapes: D draws, P products, R regions (exporter E, importer I), K processes, M markets,
C flow cells.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rareflow.errors import UserInputError
from rareflow.model.compiled import CompiledNetwork, month_index
from rareflow.policies import instruments as ins
from rareflow.policies.instruments import ALL

Values = Mapping[str, np.ndarray]
DIMS = {d: d + "s" for d in ("region", "product", "process", "sector", "element")}
DIMS["process"] = "processes"


@dataclass
class Quota:
    mask: np.ndarray  # (C,) bool: flows counted against the cap
    cap: float | np.ndarray  # t/month, float or (D,)


@dataclass
class ContentRule:
    content: np.ndarray  # (P,) t of the listed elements per t of product
    threshold: float
    actor: int
    targets: np.ndarray  # (I,) bool
    factor: float | np.ndarray  # share approved this month: 0 in the lead time


@dataclass
class CellTerm:
    """One measure on the flow cells it covers: ``op(x, col * row)`` there, in the draws where
    ``on`` holds (``col * row`` is the (1|D, Cm) operand)."""

    idx: np.ndarray  # (Cm,) int: the cells covered
    row: np.ndarray  # (Cm,) per-cell part of the operand
    col: np.ndarray  # (1|D,) per-draw part of the operand
    on: np.ndarray | None  # (D,) bool: draws in which the measure is active (None: all)


@dataclass
class CellField:
    """A (1|D, C) flow array kept as a shared ``base`` and the measures' terms in the order
    they apply: per-draw work is D x (cells covered), and the compiled kernel builds each
    tile's lanes from the terms without a (D, C) array in between (``dense`` makes one)."""

    base: np.ndarray  # (C,)
    op: np.ufunc  # np.multiply (allowances) or np.add (tariffs)
    terms: list[CellTerm] = field(default_factory=list)
    _dense: np.ndarray | None = field(default=None, repr=False)

    def apply(
        self,
        mask: np.ndarray,
        col: float | np.ndarray,
        row: float | np.ndarray = 1.0,
        on: np.ndarray | None = None,
    ) -> None:
        """``op(x, col * row)`` on the masked cells; col: scalar or (D,), row: scalar or
        (Cm,) on the masked cells; on: (D,) draws in which the measure is active."""
        idx = np.flatnonzero(mask)
        if not idx.size:  # the measure reaches none of the cells
            return
        cols = np.atleast_1d(np.asarray(col, dtype=float))
        rows = np.broadcast_to(np.asarray(row, dtype=float), idx.shape)
        self.terms.append(CellTerm(idx, rows, cols, on))
        self._dense = None

    def dense(self) -> np.ndarray:
        """(1|D, C): the base with every term applied (D where a term varies by draw)."""
        if self._dense is None:
            x = self.base[None, :]
            for term in self.terms:
                x = _on_cells(self.op, x, term)
            x.flags.writeable = False
            self._dense = x
        return self._dense


def _on_cells(op: np.ufunc, x: np.ndarray, term: CellTerm) -> np.ndarray:
    """A new (1|D, C) array: ``op(x, col * row)`` on the term's cells, ``x`` elsewhere."""
    before = x[:, term.idx]
    operand = term.col[:, None] * term.row[None, :] if term.col.size > 1 else term.col * term.row
    part = op(before, operand)
    if term.on is not None:
        part = np.where(term.on[:, None], part, before)
    out = np.broadcast_to(x, (part.shape[0], x.shape[1])).copy()
    out[:, term.idx] = part
    return out


@dataclass
class MonthEffects:
    """What the measures in force do in one month (arrays broadcast over a draw axis).

    Flow arrays are on the ``cells`` given to ``month_effects`` (flat indices into (P, E, I));
    without cells they cover the whole grid flattened, C = P x E x I (``reshape(-1, P, E, I)``
    gives the dense view): one layout either way.
    """

    allowed: CellField  # share of orders that may ship (``allow``: the (1|D, C) array)
    taxed: CellField  # ad valorem rate the importer levies (``tariff``)
    release: np.ndarray  # (1|D, R, P) t/month stockpile releases
    purchase: np.ndarray  # (1|D, R, P) t/month stockpile purchases wanted
    capacity: np.ndarray  # (1|D, R, K) t activity/month added by investment policies
    floor: np.ndarray  # (1|D, P, M) USD/kg price floors (0: none)
    quotas: list[Quota] = field(default_factory=list)
    content_rules: list[ContentRule] = field(default_factory=list)

    @property
    def allow(self) -> np.ndarray:
        """(1|D, C) share of orders that may ship."""
        return self.allowed.dense()

    @property
    def tariff(self) -> np.ndarray:
        """(1|D, C) ad valorem rate the importer levies."""
        return self.taxed.dense()


@dataclass
class CellMasks:
    """Masks of a plan's measures on one (network, cells) pair; holding both keeps their ids
    from being reused while the entry lives."""

    net: CompiledNetwork
    cells: np.ndarray | None
    masks: dict[Hashable, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PolicyPlan:
    """The scenario's measures bound to the network, with when each is in force."""

    policies: tuple[ins.PolicyBase, ...]
    in_force: np.ndarray  # (N, T) bool
    age: np.ndarray  # (N, T) int months since the measure last came into force
    months: np.ndarray  # (T,) absolute month indices
    _masks: dict[tuple[int, int], CellMasks] = field(
        default_factory=dict, compare=False, repr=False
    )

    def cell_masks(self, net: CompiledNetwork, cells: np.ndarray | None) -> dict[Hashable, Any]:
        """The masks of this plan's measures on (net, cells), kept across months: they do not
        depend on the month."""
        key = (id(net), id(cells))
        entry = self._masks.get(key)
        if entry is None or entry.net is not net or entry.cells is not cells:
            entry = self._masks[key] = CellMasks(net, cells)
        return entry.masks


def _index(net: CompiledNetwork, dim: str, label: str) -> int:
    labels: tuple[str, ...] = getattr(net, DIMS[dim])
    if label not in labels:
        raise UserInputError(f"unknown {dim}", column=dim, value=label, expected=", ".join(labels))
    return labels.index(label)


def item_mask(items: ins.Items, net: CompiledNetwork) -> np.ndarray:
    """(P,) products listed, or holding more than ``min_content`` of a listed element."""
    mask = np.zeros(len(net.products), dtype=bool)
    for product in items.products:
        mask[_index(net, "product", product)] = True
    for element in items.elements:
        mask |= net.content[:, _index(net, "element", element)] > items.min_content
    return mask


def region_mask(targets: Sequence[str], net: CompiledNetwork, actor: str) -> np.ndarray:
    """(R,) the named regions; 'all' means every region but the actor."""
    if ALL in targets:
        mask = np.ones(len(net.regions), dtype=bool)
        if actor in net.regions:
            mask[net.regions.index(actor)] = False
        return mask
    mask = np.zeros(len(net.regions), dtype=bool)
    for region in targets:
        mask[_index(net, "region", region)] = True
    return mask


def _windows(policies: Sequence[ins.PolicyBase], months: np.ndarray) -> tuple[np.ndarray, ...]:
    """(N, T) in force and months since (re)entry; suspensions switch named measures off.

    Computed from the earliest start so that a measure in force before the first simulated
    month, or re-entering after a suspension, has the right age (lead times restart on re-entry).
    """
    starts = np.array([month_index(p.start) for p in policies], dtype=int)
    ends = np.array([month_index(p.end) if p.end else 10**9 for p in policies], dtype=int)
    span = np.arange(min(int(starts.min()), int(months[0])), int(months[-1]) + 1)
    window = (span[None, :] >= starts[:, None]) & (span[None, :] <= ends[:, None])
    ids = [p.id for p in policies]
    in_force = window.copy()
    for n, policy in enumerate(policies):
        if isinstance(policy, ins.Suspension):
            for target in policy.policies:
                if target in ids:
                    in_force[ids.index(target)] &= ~window[n]
    age = np.zeros(in_force.shape, dtype=int)
    for t in range(1, len(span)):
        age[:, t] = np.where(in_force[:, t - 1], age[:, t - 1] + 1, 0)
    cols = months - span[0]
    return in_force[:, cols], age[:, cols]


def compile_policies(policies: Sequence[ins.PolicyBase], months: np.ndarray) -> PolicyPlan:
    policies = tuple(policies)
    if not policies:
        empty = np.zeros((0, len(months)), dtype=bool)
        return PolicyPlan(policies, empty, empty.astype(int), months)
    in_force, age = _windows(policies, months)
    return PolicyPlan(policies, in_force, age, months)


def value(policy: ins.PolicyBase, name: str, values: Values) -> float | np.ndarray:
    """A numeric attribute: the scenario's scalar, or its per-draw (D,) array when given."""
    key = f"{policy.id}.{name}"
    return values[key] if key in values else float(getattr(policy, name))


def _col(x: float | np.ndarray, ndim: int) -> float | np.ndarray:
    return x if np.ndim(x) == 0 else np.asarray(x).reshape((-1,) + (1,) * (ndim - 1))


def _flow_mask(
    ctx: Context, items: ins.Items, exporters: np.ndarray, importers: np.ndarray
) -> np.ndarray:
    """(C,) cells of the listed items from ``exporters`` to other ``importers``."""
    off = ~np.eye(len(ctx.net.regions), dtype=bool)
    grid = item_mask(items, ctx.net)[:, None, None] & exporters[None, :, None] & importers & off
    return grid.reshape(-1)[ctx.cells]


def _export_mask(
    ctx: Context, p: ins.ExportLicense | ins.ExportBan | ins.ExportQuota
) -> np.ndarray:
    """(C,) the actor's exports of the items to the targets."""
    net = ctx.net
    return _flow_mask(ctx, p.items, _actor(net, p.actor), region_mask(p.targets, net, p.actor))


def _actor(net: CompiledNetwork, actor: str) -> np.ndarray:
    return region_mask([actor], net, actor)


# -- one function per instrument family ---------------------------------------------------


def approval_path(
    k: float | np.ndarray,
    lead: float | np.ndarray,
    ramp: float | np.ndarray,
    share: float | np.ndarray,
) -> np.ndarray:
    """Share approved in month ``k`` (0-based) after entry: none during the ``lead`` time, then
    a linear rise over ``ramp`` months to ``share`` (a step when the ramp is 0); broadcasts."""
    rise = np.clip((np.asarray(k) + 1.0 - np.asarray(lead)) / np.maximum(ramp, 1e-9), 0.0, 1.0)
    return np.asarray(share * rise)


def approved_share(
    p: ins.ExportLicense | ins.ContentRule, age: int, values: Values
) -> float | np.ndarray:
    """The measure's ``approval_path`` at ``age`` months after entry."""
    share = approval_path(
        age,
        value(p, "lead_time_months", values),
        value(p, "ramp_months", values),
        value(p, "approval_share", values),
    )
    return float(share) if np.ndim(share) == 0 else share


def export_license(p: ins.ExportLicense, fx: MonthEffects, ctx: Context, age: int) -> None:
    mask = ctx.mask(p, _export_mask)
    approved = approved_share(p, age, ctx.values)
    denied = ctx.denied_share(p.denied_sectors)[mask]  # share of imports for denied uses
    fx.allowed.apply(mask, approved, 1.0 - denied, ctx.on)


def export_ban(p: ins.ExportBan, fx: MonthEffects, ctx: Context, age: int) -> None:
    leak = value(p, "leakage_share", ctx.values)
    fx.allowed.apply(ctx.mask(p, _export_mask), leak, on=ctx.on)


def export_quota(p: ins.ExportQuota, fx: MonthEffects, ctx: Context, age: int) -> None:
    mask = ctx.mask(p, _export_mask)
    fx.quotas.append(Quota(mask, value(p, "tonnes_per_year", ctx.values) / 12.0))


def _import_mask(ctx: Context, p: ins.Tariff) -> np.ndarray:
    """(C,) the actor's imports of the items from the targets."""
    net = ctx.net
    return _flow_mask(ctx, p.items, region_mask(p.targets, net, p.actor), _actor(net, p.actor))


def tariff(p: ins.Tariff, fx: MonthEffects, ctx: Context, age: int) -> None:
    """The actor imports; the targets are the exporters it taxes."""
    rate = value(p, "rate", ctx.values)
    fx.taxed.apply(ctx.mask(p, _import_mask), rate, on=ctx.on)


def content_rule(p: ins.ContentRule, fx: MonthEffects, ctx: Context, age: int) -> None:
    net = ctx.net
    elements = [_index(net, "element", e) for e in p.elements]
    approved = approved_share(p, age, ctx.values)
    rule = ContentRule(
        content=net.content[:, elements].sum(axis=1),
        threshold=p.threshold,
        actor=_index(net, "region", p.actor),
        targets=region_mask(p.targets, net, p.actor),
        factor=approved,
    )
    fx.content_rules.append(rule)


def stockpile(p: ins.Stockpile, fx: MonthEffects, ctx: Context, age: int) -> None:
    net = ctx.net
    cell = np.zeros((1, len(net.regions), len(net.products)))
    cell[0, _index(net, "region", p.actor), _index(net, "product", p.product)] = 1.0
    amount = cell * _col(value(p, "tonnes_per_month", ctx.values), 3)
    if p.action == "release":
        fx.release = fx.release + amount
    else:
        fx.purchase = fx.purchase + amount


def ramp_share(months_since_start: int | np.ndarray, ramp_months: int | np.ndarray) -> np.ndarray:
    """Linear ramp: 1/ramp in the first month, full after ``ramp_months`` (0: full at once)."""
    since = np.asarray(months_since_start, dtype=float)
    ramp = np.maximum(np.asarray(ramp_months, dtype=float), 1.0)
    return np.where(since >= 0, np.minimum((since + 1.0) / ramp, 1.0), 0.0)


def capacity_investment(
    p: ins.CapacityInvestment, fx: MonthEffects, ctx: Context, age: int
) -> None:
    net = ctx.net
    cell = np.zeros((1, len(net.regions), len(net.processes)))
    cell[0, _index(net, "region", p.region), _index(net, "process", p.process)] = 1.0
    share = ramp_share(ctx.month - month_index(p.start), p.ramp_months)
    tonnes = _col(value(p, "tonnes_per_year", ctx.values), 3)
    fx.capacity = fx.capacity + cell * tonnes / 12.0 * share


def price_floor(p: ins.PriceFloor, fx: MonthEffects, ctx: Context, age: int) -> None:
    net = ctx.net
    cell = np.zeros((1, len(net.products), len(net.markets)))
    cell[0, _index(net, "product", p.product), net.markets.index(p.market)] = 1.0
    fx.floor = np.maximum(fx.floor, cell * _col(value(p, "usd_per_kg", ctx.values), 3))


def suspension(p: ins.Suspension, fx: MonthEffects, ctx: Context, age: int) -> None:
    """Suspensions act through the in-force windows (``_windows``), not on the arrays."""


EFFECTS: dict[str, Callable[..., None]] = {
    "export_license": export_license,
    "export_ban": export_ban,
    "export_quota": export_quota,
    "tariff": tariff,
    "content_rule": content_rule,
    "stockpile": stockpile,
    "capacity_investment": capacity_investment,
    "price_floor": price_floor,
    "suspension": suspension,
}


@dataclass
class Context:
    """What the effect functions read: the network, the month, per-draw values, the (C,) flow
    cells (flat indices into (P, E, I)) and the plan's month-independent masks on them."""

    net: CompiledNetwork
    month: int
    values: Values
    cells: np.ndarray
    cache: dict[Hashable, Any] = field(default_factory=dict)
    on: np.ndarray | None = None  # (D,) bool: draws in which the measure applying is active

    def mask(self, policy: Any, build: Callable[[Context, Any], np.ndarray]) -> np.ndarray:
        """(C,) cells ``policy`` acts on: ``build(self, policy)``, once per plan."""
        key = (id(policy), build)  # the plan holds the policy: its id stays its own
        if key not in self.cache:
            self.cache[key] = _frozen(build(self, policy))
        return self.cache[key]

    def denied_share(self, sectors: Sequence[str]) -> np.ndarray:
        """(C,) share of the cell importer's final use of its product in the given sectors."""
        key = ("denied", *sectors)
        if key not in self.cache:
            demand = self.net.demand0  # (R, S, P)
            idx = [_index(self.net, "sector", s) for s in sectors]
            total = demand.sum(axis=1)
            part = demand[:, idx, :].sum(axis=1)
            share = np.divide(part, total, out=np.zeros_like(total), where=total > 0)
            n_r = len(self.net.regions)
            product, importer = self.cells // (n_r * n_r), self.cells % n_r
            self.cache[key] = _frozen(share[importer, product])
        return self.cache[key]


def _frozen(x: np.ndarray) -> np.ndarray:
    """Read-only: cached masks are shared by every month's effects (and their quotas)."""
    x.flags.writeable = False
    return x


def no_effects(net: CompiledNetwork, n_cells: int) -> MonthEffects:
    n_r, n_p, n_k = len(net.regions), len(net.products), len(net.processes)
    return MonthEffects(
        allowed=CellField(np.ones(n_cells), np.multiply),
        taxed=CellField(np.zeros(n_cells), np.add),
        release=np.zeros((1, n_r, n_p)),
        purchase=np.zeros((1, n_r, n_p)),
        capacity=np.zeros((1, n_r, n_k)),
        floor=np.zeros((1, n_p, len(net.markets))),
    )


def month_effects(
    plan: PolicyPlan,
    t: int,
    net: CompiledNetwork,
    values: Values | None = None,
    cells: np.ndarray | None = None,
) -> MonthEffects:
    """Collect the effects of every measure in force in month ``t`` (0-based).

    cells: (C,) flat indices into (P, E, I) the flow arrays are computed on (the engine passes
    its trade arcs); None: every cell of the grid. The plan keeps each measure's mask on the
    cells for later months, so the array must not change while the plan is in use.
    """
    cache = plan.cell_masks(net, cells)
    if cells is None:
        cells = np.arange(len(net.products) * len(net.regions) ** 2)
    fx = no_effects(net, cells.size)
    ctx = Context(net, int(plan.months[t]), values or {}, cells, cache)
    for n, policy in enumerate(plan.policies):
        if plan.in_force[n, t]:
            apply(policy, fx, ctx, int(plan.age[n, t]))
    return fx


ARRAYS = ("release", "purchase", "capacity", "floor")  # the flow fields switch per term


def apply(policy: ins.PolicyBase, fx: MonthEffects, ctx: Context, age: int) -> None:
    """Apply one measure; ``values["<id>.active"]`` (D,) in {0, 1} switches it per draw."""
    effect = EFFECTS[policy.type]  # type: ignore[attr-defined]
    active = ctx.values.get(f"{policy.id}.active")
    if active is None:
        effect(policy, fx, ctx, age)
        return
    on = np.asarray(active) > 0.5
    before = {name: getattr(fx, name) for name in ARRAYS}
    n_quotas, n_rules = len(fx.quotas), len(fx.content_rules)
    ctx.on = on  # the flow fields switch on their covered cells only (``CellTerm.on``)
    try:
        effect(policy, fx, ctx, age)
    finally:
        ctx.on = None
    for name, old in before.items():
        new = getattr(fx, name)
        if new is not old:
            setattr(fx, name, np.where(_col(on, new.ndim), new, old))
    for quota in fx.quotas[n_quotas:]:
        quota.cap = np.where(on, quota.cap, np.inf)
    for rule in fx.content_rules[n_rules:]:
        rule.factor = np.where(on, rule.factor, 1.0)
