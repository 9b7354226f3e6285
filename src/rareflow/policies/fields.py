"""What the registry's classes say about their fields, read off their annotations: which hold
codes of the network (``Code``), which may vary per draw (``PerDraw``) and within what
bounds. The binder, the uncertainty checks and the test generators all read these, so a new
instrument's fields are checked and sampled without being listed again.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from rareflow.policies.instruments import REGISTRY, Code, Instrument, PerDraw


@dataclass(frozen=True)
class CodeField:
    path: str  # e.g. "items.products"
    code: Code
    value: str | list[str]  # the code, or codes, the instance holds there


def _args(annotation: Any) -> tuple[Any, ...]:
    return typing.get_args(annotation)


def _find(annotation: Any, kind: type) -> Any:
    """The first metadata object of ``kind`` anywhere in an annotation (Annotated, lists,
    unions)."""
    for arg in _args(annotation)[1:] if typing.get_origin(annotation) is typing.Annotated else ():
        if isinstance(arg, kind):
            return arg
    for arg in _args(annotation):
        found = _find(arg, kind)
        if found is not None:
            return found
    return None


def marker(info: FieldInfo, kind: type) -> Any:
    for item in info.metadata:
        if isinstance(item, kind):
            return item
    return _find(info.annotation, kind)


def is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def code_fields(model: BaseModel, prefix: str = "") -> Iterator[CodeField]:
    """Every field of ``model`` (and its nested models) that holds network codes."""
    for name, info in type(model).model_fields.items():
        value = getattr(model, name)
        path = f"{prefix}{name}"
        if is_model(info.annotation):
            yield from code_fields(value, path + ".")
            continue
        code = marker(info, Code)
        if code is not None and value is not None:
            yield CodeField(path, code, value if isinstance(value, str) else list(value))


def _constraints(info: FieldInfo) -> list[Any]:
    constraints = list(info.metadata)
    for member in _args(info.annotation):  # a number-or-'calibrated' union
        if typing.get_origin(member) is typing.Annotated:
            for arg in _args(member)[1:]:
                constraints += getattr(arg, "metadata", [arg])
    return constraints


def open_below(info: FieldInfo) -> bool:
    """The lower bound itself is refused (``gt``)."""
    return any(isinstance(c, Gt) for c in _constraints(info))


def bounds(info: FieldInfo) -> tuple[float, float]:
    """The closed range a numeric field allows (``gt``/``lt`` read as closed)."""
    lo, hi = -math.inf, math.inf
    for c in _constraints(info):
        if isinstance(c, Ge | Gt):
            lo = float(c.ge if isinstance(c, Ge) else c.gt)  # type: ignore[arg-type]
        elif isinstance(c, Le | Lt):
            hi = float(c.le if isinstance(c, Le) else c.lt)  # type: ignore[arg-type]
    return lo, hi


@dataclass(frozen=True)
class Attribute:
    """A per-draw numeric attribute of an instrument."""

    name: str
    low: float
    high: float
    typical: float  # an upper end of ordinary values (the bound where there is one)


def per_draw_attributes(cls: type[Instrument]) -> dict[str, Attribute]:
    out = {}
    for name, info in cls.model_fields.items():
        per_draw = marker(info, PerDraw)
        if per_draw is None:
            continue
        lo, hi = bounds(info)
        typical = hi if math.isfinite(hi) else float(per_draw.typical or 1.0)
        out[name] = Attribute(name, lo, hi, typical)
    return out


ATTRIBUTES: dict[str, dict[str, Attribute]] = {
    tag: per_draw_attributes(cls) for tag, cls in REGISTRY.items()
}


def literal_values(info: FieldInfo) -> list[Any]:
    """The choices of a Literal field (through Annotated)."""
    annotation = info.annotation
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = _args(annotation)[0]
    return list(_args(annotation)) if typing.get_origin(annotation) is typing.Literal else []
