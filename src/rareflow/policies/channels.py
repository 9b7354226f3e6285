"""The channels instruments write each month, declared once, and the month's container.

A channel is one quantity of ``MonthEffects``: its dimensions after the (1|D) draw axis, how the
values of several measures combine, and its neutral value (what no measure means). The
container, its neutral start, the per-draw switching of a measure and the compiled kernel's
tiled effect fields are all derived from ``CHANNELS``; an instrument names the channels it
writes (``Instrument.writes``) and writes them through ``MonthEffects.put``.

Three kinds of channel:
- ``flow``: on the C trade cells, kept as a ``CellField`` (a shared base and one term per
  measure: its cells, a per-cell and a per-draw factor), so per-draw work is D x (cells
  covered); ``CellField.dense`` makes the (1|D, C) array the numpy step reads.
- ``dense``: a (1|D, *dims) array, combined with ``np.add``, ``np.maximum`` or ``np.minimum``.
- ``items``: a list of measures that the step applies one after another (quotas, content
  rules); each item knows its own neutral form (``switched``).

Shapes: D draws, P products, R regions (exporter E, importer I), K processes, M markets,
C flow cells.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from rareflow.model.compiled import CompiledNetwork

Combine = Literal["multiply", "add", "max", "min", "append"]
UFUNCS: dict[str, np.ufunc] = {
    "multiply": np.multiply,
    "add": np.add,
    "max": np.maximum,
    "min": np.minimum,
}


@dataclass(frozen=True)
class Channel:
    name: str
    kind: Literal["flow", "dense", "items"]
    dims: tuple[str, ...]  # after the draw axis: "cell" for flows, network dimensions else
    combine: Combine
    neutral: float  # the value where no measure acts (items: none)
    unit: str
    doc: str


CHANNELS: tuple[Channel, ...] = (
    Channel("allowed", "flow", ("cell",), "multiply", 1.0, "share", "share of orders that may ship"),
    Channel("taxed", "flow", ("cell",), "add", 0.0, "rate", "ad valorem rate the importer levies"),
    Channel("release", "dense", ("region", "product"), "add", 0.0, "t/month", "stockpile releases"),
    Channel("purchase", "dense", ("region", "product"), "add", 0.0, "t/month", "stockpile purchases wanted"),
    Channel("reserve", "dense", ("region", "product"), "add", 0.0, "t", "national stockpiles released by rule"),
    Channel("reserve_cover", "dense", ("region", "product"), "max", 0.0, "months", "cover of use below which they release"),
    Channel("reserve_rate", "dense", ("region", "product"), "add", 0.0, "t/month", "most they release a month"),
    Channel("capacity", "dense", ("region", "process"), "add", 0.0, "t activity/month", "capacity added by investment"),
    Channel("floor", "dense", ("product", "market"), "max", 0.0, "USD/kg", "price floors (0: none)"),
    Channel("cap", "dense", ("product", "market"), "min", np.inf, "USD/kg", "price caps (inf: none)"),
    Channel("quotas", "items", (), "append", np.nan, "t/month", "caps on exports over a set of cells"),
    Channel("content_rules", "items", (), "append", np.nan, "share", "foreign-direct product rules"),
)  # fmt: skip
CHANNEL = {c.name: c for c in CHANNELS}
DENSE = tuple(c.name for c in CHANNELS if c.kind == "dense")


@dataclass
class Quota:
    mask: np.ndarray  # (C,) bool: flows counted against the cap
    cap: float | np.ndarray  # t/month, float or (D,)

    def switched(self, on: np.ndarray) -> None:
        """No cap in the draws where the measure is off."""
        self.cap = np.where(on, self.cap, np.inf)


@dataclass
class ContentRule:
    """A rule on exports from third countries that carry material of given origins: an arc
    is covered where ``content`` x the exporter's stock share of those origins (summed: the
    engine tracks them as exclusive shares, ``State.origin``) reaches ``threshold``."""

    content: np.ndarray  # (P,) t of the listed elements per t of product
    threshold: float
    origins: np.ndarray  # (R,) bool: the origins the rule reads (their own exports: not bound)
    targets: np.ndarray  # (I,) bool
    factor: float | np.ndarray  # share approved this month: 0 in the lead time
    exporters: np.ndarray | None = None  # (E,) bool: exporters bound (None: all but origins)

    def switched(self, on: np.ndarray) -> None:
        """Everything approved in the draws where the measure is off."""
        self.factor = np.where(on, self.factor, 1.0)


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


def dim_size(net: CompiledNetwork, dim: str) -> int:
    return len(getattr(net, "processes" if dim == "process" else dim + "s"))


class MonthEffects:
    """What the measures in force do in one month: one attribute per channel (``CHANNELS``),
    arrays broadcasting over a (1|D) draw axis.

    Flow channels are on the ``cells`` given to ``month_effects`` (flat indices into
    (P, E, I)); without cells they cover the whole grid flattened, C = P x E x I
    (``reshape(-1, P, E, I)`` gives the dense view): one layout either way.
    """

    allowed: CellField
    taxed: CellField
    quotas: list[Quota]
    content_rules: list[ContentRule]

    def __init__(self, net: CompiledNetwork, n_cells: int) -> None:
        for c in CHANNELS:
            if c.kind == "flow":
                value: Any = CellField(np.full(n_cells, c.neutral), UFUNCS[c.combine])
            elif c.kind == "dense":
                value = np.full((1, *(dim_size(net, d) for d in c.dims)), c.neutral)
            else:
                value = []
            setattr(self, c.name, value)

    def __getattr__(self, name: str) -> np.ndarray:  # the dense channels, for type checkers
        raise AttributeError(f"no channel {name!r}; declared: {', '.join(CHANNEL)}")

    def put(self, name: str, amount: Any) -> None:
        """Combine a measure's ``amount`` into a dense or items channel."""
        channel = CHANNEL[name]
        if channel.kind == "items":
            getattr(self, name).append(amount)
        elif channel.kind == "dense":
            setattr(self, name, UFUNCS[channel.combine](getattr(self, name), amount))
        else:
            raise ValueError(f"flow channel {name!r} takes terms: use .{name}.apply")

    def dense_arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in DENSE}

    def count_items(self) -> dict[str, int]:
        return {c.name: len(getattr(self, c.name)) for c in CHANNELS if c.kind == "items"}

    def switch(self, on: np.ndarray, dense: dict[str, np.ndarray], items: dict[str, int]) -> None:
        """Undo, in the draws where ``on`` is False, what one measure wrote since ``dense``
        (the dense channels before it) and ``items`` (the item counts before it)."""
        for name, old in dense.items():
            new = getattr(self, name)
            if new is not old:
                col = on.reshape((-1,) + (1,) * (new.ndim - 1))
                setattr(self, name, np.where(col, new, old))
        for name, n in items.items():
            for item in getattr(self, name)[n:]:
                item.switched(on)

    @property
    def allow(self) -> np.ndarray:
        """(1|D, C) share of orders that may ship."""
        return self.allowed.dense()

    @property
    def tariff(self) -> np.ndarray:
        """(1|D, C) ad valorem rate the importer levies."""
        return self.taxed.dense()
