"""One run preparation for every way of running a scenario (``simulate``, ``stream``, Monte
Carlo, exposure): the trade arcs the scenario can use, its months, its parameters with the
scenario's overrides, its policies with `calibrated` attributes resolved, their plan, and
the month's capacity as the engine sees it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from rareflow.engine.parameters import ParamValue, bundled_parameters
from rareflow.engine.static import Static, build_static
from rareflow.engine.step import month_capacity
from rareflow.errors import UserInputError
from rareflow.model.compiled import CompiledNetwork, month_index
from rareflow.policies import instruments as ins
from rareflow.policies.channels import MonthEffects
from rareflow.policies.context import ramp_share
from rareflow.policies.effects import PolicyPlan, compile_policies, month_effects
from rareflow.scenarios.model import Scenario


@dataclass
class Prepared:
    """A scenario bound to a compiled network for ``draws`` draws over ``month_ids``."""

    static: Static
    month_ids: np.ndarray  # (T,) absolute month indices
    params: dict[str, ParamValue]  # float or (D,) per draw
    values: dict[str, np.ndarray]  # per-draw policy attributes, (D,) or (D, T)
    plan: PolicyPlan
    origins: np.ndarray  # (O,) int: regions whose origin the engine tracks (O = 0: none)
    shared: list[MonthEffects] | None  # every month's effects when no value varies by draw

    def effects(self, t: int, values: Mapping[str, np.ndarray]) -> MonthEffects:
        """Month ``t``'s effects on the trade arcs for the draws of ``values``."""
        if self.shared is not None:
            return self.shared[t]
        return month_effects(
            self.plan, t, self.static.net, at_month(values, t), cells=self.static.arcs.cell
        )

    def capacity(self, t: int) -> np.ndarray:
        """(1|D, R, K) t activity/month installed in month ``t``: the trend-expanded plants,
        ramped projects and the scenario's investments (as ``step.month_capacity``), without
        the capacity that enters in answer to prices (that depends on the run's path)."""
        month = int(self.month_ids[t])
        added = project_capacity(self.static.net, month)
        return month_capacity(self.static, month, self.params, added, self.effects(t, self.values))


def prepare(
    compiled: CompiledNetwork,
    scenario: Scenario,
    parameters: Mapping[str, ParamValue],
    draws: int,
    *,
    months: int | None = None,
    values: Mapping[str, np.ndarray] | None = None,
) -> Prepared:
    """Everything a run needs before its first month.

    parameters: resolved values (float or (D,) per draw) over the engine defaults.
    values: per-draw policy attributes, ``{"<policy id>.<attribute>": (D,) array}`` (or
        (D, T): one value per draw and month); ``"<id>.active"`` switches a measure per draw.
    """
    static = scenario_static(compiled, scenario)
    first = month_index(scenario.start)
    month_ids = np.arange(first, first + (months or scenario.months))
    params = _params(compiled, parameters, draws)
    vals = dict(values or {})
    plan = compile_policies(_calibrated(scenario.policies, params, vals), month_ids)
    origins = tracked_origins(compiled, scenario.policies)
    prepared = Prepared(static, month_ids, params, vals, plan, origins, None)
    if not vals:
        prepared.shared = [prepared.effects(t, {}) for t in range(len(month_ids))]
    return prepared


def at_month(values: Mapping[str, np.ndarray], t: int) -> dict[str, np.ndarray]:
    """Per-draw values of month ``t``: (D, T) arrays vary by month, (D,) arrays do not."""
    return {k: (v[:, t] if np.ndim(v) == 2 else v) for k, v in values.items()}


def project_capacity(net: CompiledNetwork, month: int) -> np.ndarray:
    """(R, K) capacity of projects ramped in since the end of the base year."""
    added = np.zeros(net.capacity.shape)
    if len(net.project_names):
        base_end = net.base_year * 12 + 11
        ramp = net.project_ramp_months
        share = ramp_share(month - net.project_start, ramp)
        share = share - ramp_share(base_end - net.project_start, ramp)
        idx = (net.project_region, net.project_process)
        np.add.at(added, idx, net.project_tonnes_per_month * np.maximum(share, 0.0))
    return added


def scenario_static(compiled: CompiledNetwork, scenario: Scenario) -> Static:
    """The run's ``Static``: trade arcs include those the scenario's measures open
    (``Instrument.opens``: stockpile releases, capacity investments)."""
    extra = np.zeros((len(compiled.regions), len(compiled.products)), dtype=bool)
    for policy in scenario.policies:
        opened = policy.opens(compiled)
        if opened is not None:
            extra |= opened
    return build_static(compiled, extra)


def tracked_origins(net: CompiledNetwork, policies: Sequence[ins.Instrument]) -> np.ndarray:
    """(O,) regions whose origin shares the engine tracks: every origin an origin-tracking
    measure reads, in the order they first appear (none: O = 0, and the engine skips the
    bookkeeping)."""
    regions = [r for p in policies if p.origin_tracked() for r in p.origin_regions()]
    return np.array([net.regions.index(r) for r in dict.fromkeys(regions)], dtype=np.int64)


def _calibrated(
    policies: Sequence[ins.Instrument],
    params: Mapping[str, ParamValue],
    values: dict[str, np.ndarray],
) -> list[ins.Instrument]:
    """Policies with `calibrated` attributes resolved; a per-draw parameter becomes the
    measure's per-draw value (``values``), its mean the scalar placeholder."""
    scalars = {name: float(np.mean(v)) for name, v in params.items()}
    for policy in policies:
        for field, name in ins.CALIBRATED_PARAMETERS.items():
            key = f"{policy.id}.{field}"
            calibrated = getattr(policy, field, None) == ins.CALIBRATED
            if calibrated and np.ndim(params[name]) and key not in values:
                values[key] = np.asarray(params[name], dtype=float)
    return [ins.resolve_calibrated(p, scalars) for p in policies]


def _params(
    net: CompiledNetwork, parameters: Mapping[str, ParamValue], draws: int
) -> dict[str, ParamValue]:
    params: dict[str, ParamValue] = {**bundled_parameters(), **net.parameters, **parameters}
    for name, value in params.items():
        if np.ndim(value) and np.shape(value) != (draws,):
            raise UserInputError(
                f"parameter {name!r} has {np.shape(value)} values",
                value=name,
                expected=f"a number or one value per draw ({draws},)",
            )
    return params
