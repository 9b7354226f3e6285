"""A scenario's measures bound to its months (``PolicyPlan``) and each month's effects.

``compile_policies`` finds when each measure is in force once per run; ``month_effects`` then
asks each measure in force what it does this month (``Instrument.effect``) and collects it in
a ``MonthEffects`` (``channels.py``). ``values["<id>.active"]`` (D,) switches a measure per
draw: the channels undo it in the draws where it is off (``MonthEffects.switch``).
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rareflow.model.compiled import CompiledNetwork, month_index
from rareflow.policies.channels import MonthEffects
from rareflow.policies.context import Context, Values
from rareflow.policies.instruments import Instrument


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

    policies: tuple[Instrument, ...]
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


def _windows(policies: Sequence[Instrument], months: np.ndarray) -> tuple[np.ndarray, ...]:
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
        for target in policy.suspends():
            if target in ids:
                in_force[ids.index(target)] &= ~window[n]
    age = np.zeros(in_force.shape, dtype=int)
    for t in range(1, len(span)):
        age[:, t] = np.where(in_force[:, t - 1], age[:, t - 1] + 1, 0)
    cols = months - span[0]
    return in_force[:, cols], age[:, cols]


def compile_policies(policies: Sequence[Instrument], months: np.ndarray) -> PolicyPlan:
    policies = tuple(policies)
    if not policies:
        empty = np.zeros((0, len(months)), dtype=bool)
        return PolicyPlan(policies, empty, empty.astype(int), months)
    in_force, age = _windows(policies, months)
    return PolicyPlan(policies, in_force, age, months)


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
    fx = MonthEffects(net, cells.size)
    ctx = Context(net, int(plan.months[t]), values or {}, cells, cache)
    # measures that others read (general licences, ``Instrument.first``) apply first
    order = sorted(range(len(plan.policies)), key=lambda n: not plan.policies[n].first)
    for n in order:
        if plan.in_force[n, t]:
            apply(plan.policies[n], fx, ctx, int(plan.age[n, t]))
    return fx


def apply(policy: Instrument, fx: MonthEffects, ctx: Context, age: int) -> None:
    """Apply one measure; ``values["<id>.active"]`` (D,) in {0, 1} switches it per draw."""
    active = ctx.values.get(f"{policy.id}.active")
    if active is None:
        policy.effect(fx, ctx, age)
        return
    on = np.asarray(active) > 0.5
    dense, items = fx.dense_arrays(), fx.count_items()
    ctx.on = on  # the flow channels switch on their covered cells only (``CellTerm.on``)
    try:
        policy.effect(fx, ctx, age)
    finally:
        ctx.on = None
    fx.switch(on, dense, items)
