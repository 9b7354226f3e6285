"""Hypothesis strategies for scenarios, derived from the instrument registry.

Every registered instrument is drawn, with every field filled from its annotation: codes
from the network's labels (``Code``), per-draw attributes within their bounds (``PerDraw``),
literals from their choices, nested models field by field. A new instrument enters the
invariant and kernel-agreement tests without a line here.
"""

from __future__ import annotations

import typing
from typing import Any

import numpy as np
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from rareflow.model.compiled import CompiledNetwork, month_label
from rareflow.policies.fields import (
    ATTRIBUTES,
    bounds,
    is_model,
    literal_values,
    marker,
    open_below,
)
from rareflow.policies.instruments import REGISTRY, Code, Instrument
from rareflow.scenarios.model import Scenario

MONTHS = [month_label(m) for m in range(2026 * 12 + 3, 2028 * 12)]
GENERIC = {"id", "type", "start", "end", "description", "source"}
month = st.sampled_from(MONTHS)


def labels(net: CompiledNetwork, dim: str, ids: list[str]) -> list[str]:
    if dim == "policy":
        return ids
    return list(getattr(net, "processes" if dim == "process" else dim + "s"))


def _codes(draw: Any, info: FieldInfo, code: Code, net: CompiledNetwork, ids: list[str]) -> Any:
    choices = labels(net, code.dim, ids)
    if typing.get_origin(info.annotation) is not list:
        return draw(st.sampled_from(choices))
    if code.allow_all and draw(st.booleans()):
        return ["all"]
    least = max(getattr(m, "min_length", 0) or 0 for m in [*info.metadata, None])
    return draw(st.lists(st.sampled_from(choices), min_size=least, max_size=3, unique=True))


def _number(draw: Any, info: FieldInfo, name: str, attrs: dict[str, Any]) -> float | int:
    """Within the field's bounds; per-draw attributes up to their typical size, other
    fractions (thresholds, contents) up to 0.05 so that they bite, integers up to 12."""
    lo, hi = bounds(info)
    if info.annotation is int:
        return draw(st.integers(int(lo), int(min(hi, 12))))
    top = attrs[name].typical if name in attrs else min(hi, 0.05)
    return draw(st.floats(max(lo, 0.0), top, exclude_min=open_below(info)))


def model_fields(
    draw: Any,
    cls: type[BaseModel],
    net: CompiledNetwork,
    ids: list[str],
    attrs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A dict of values for every field of ``cls`` but the generic ones (optional fields
    are sometimes left out, to use their defaults)."""
    out: dict[str, Any] = {}
    for name, info in cls.model_fields.items():
        if name in GENERIC or (not info.is_required() and draw(st.booleans())):
            continue
        code = marker(info, Code)
        choices = literal_values(info)
        if code is not None and not choices:
            out[name] = _codes(draw, info, code, net, ids)
        elif choices:
            out[name] = draw(st.sampled_from(choices))
        elif is_model(info.annotation):
            out[name] = model_fields(draw, info.annotation, net, ids)
        elif info.annotation in (str, list[str]):  # free text: names of firms, a basis
            out[name] = "x" if info.annotation is str else ["x"]
        else:
            out[name] = _number(draw, info, name, attrs or {})
    return out


def policy(draw: Any, kind: str, net: CompiledNetwork, ids: list[str], n: int) -> dict[str, Any]:
    start = draw(month)
    base: dict[str, Any] = {"type": kind, "id": f"p{n}", "start": start}
    if draw(st.booleans()):
        base["end"] = max(start, draw(month))
    cls: type[Instrument] = REGISTRY[kind]
    return {**base, **model_fields(draw, cls, net, ids, ATTRIBUTES[kind])}


def per_draw_values(draw: Any, scenario: Scenario, draws: int) -> dict[str, np.ndarray]:
    """(D,) values for some of the scenario's per-draw attributes, within their bounds."""
    values: dict[str, np.ndarray] = {}
    for p in scenario.policies:
        for name, a in ATTRIBUTES[p.type].items():
            if draw(st.booleans()):
                row = st.floats(max(a.low, 0.0), a.typical)
                values[f"{p.id}.{name}"] = np.array(
                    draw(st.lists(row, min_size=draws, max_size=draws))
                )
        if draw(st.integers(0, 3)) == 0:
            values[f"{p.id}.active"] = np.array(draw(st.lists(st.sampled_from([0.0, 1.0]), min_size=draws, max_size=draws)))  # fmt: skip
    return values


@st.composite
def scenarios(draw: Any, net: CompiledNetwork, max_policies: int = 4) -> Scenario:
    """A valid scenario over every registered instrument (``policy`` refs name earlier ones)."""
    kinds = sorted(REGISTRY)
    chosen = draw(st.lists(st.sampled_from(kinds), max_size=max_policies))
    policies: list[dict[str, Any]] = []
    for n, kind in enumerate(chosen):
        ids = [p["id"] for p in policies]
        if kind == "suspension" and not ids:
            continue
        policies.append(policy(draw, kind, net, ids, n))
    params = {
        "home_priority": draw(st.floats(0.0, 1.0)),
        "rerouting_months": draw(st.floats(0.5, 24)),
        "restock_months": draw(st.floats(0.5, 24)),
        "demand_elasticity": draw(st.floats(0, 1)),
        "substitution_max_share": draw(st.floats(0, 1)),
        "price_sensitivity": draw(st.floats(0, 5)),
        "scarcity_exponent": draw(st.floats(0, 3)),
        "price_choke_share": draw(st.floats(0, 0.95)),
        "price_thinness_exponent": draw(st.floats(0, 1)),
        "china_reserve_share": draw(st.floats(0, 3)),
        "demand_elasticity_long": draw(st.floats(0, 1)),
        "demand_long_months": draw(st.floats(0.5, 48)),
        "capacity_signal_months": draw(st.floats(0.5, 12)),
        "capacity_entry_hurdle": draw(st.floats(0, 1)),
        "capacity_entry_per_year": draw(st.floats(0, 1)),
        "entry_lag_magnet_months": draw(st.floats(1, 12)),
        "entry_lag_separation_months": draw(st.floats(1, 12)),
    }
    doc = {
        "name": "h",
        "start": draw(month),
        "months": 14,
        "parameters": params,
        "policies": policies,
    }
    try:
        return Scenario.model_validate(doc)
    except ValidationError:  # e.g. items naming neither products nor elements
        from hypothesis import assume

        assume(False)
        raise
