"""What an instrument's effect reads: the network, the month, per-draw values and the flow
cells, with the masks that turn names into indices (built once per plan), and the approval
and ramp paths instruments share.

Numeric attributes may differ per draw: ``values`` maps ``"<policy id>.<attribute>"`` to a
(D,) array, and every effect broadcasts over a leading draw axis of length 1 or D. Dates and
lead times are shared by all draws.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from rareflow.errors import UserInputError
from rareflow.model.compiled import CompiledNetwork

if TYPE_CHECKING:
    from rareflow.policies.instruments import Instrument, Items

ALL = "all"
Values = Mapping[str, np.ndarray]
DIMS = {d: d + "s" for d in ("region", "product", "process", "sector", "element", "market")}
DIMS["process"] = "processes"


def index(net: CompiledNetwork, dim: str, label: str) -> int:
    labels: tuple[str, ...] = getattr(net, DIMS[dim])
    if label not in labels:
        raise UserInputError(f"unknown {dim}", column=dim, value=label, expected=", ".join(labels))
    return labels.index(label)


def item_mask(items: Items, net: CompiledNetwork) -> np.ndarray:
    """(P,) products listed, or holding more than ``min_content`` of a listed element."""
    mask = np.zeros(len(net.products), dtype=bool)
    for product in items.products:
        mask[index(net, "product", product)] = True
    for element in items.elements:
        mask |= net.content[:, index(net, "element", element)] > items.min_content
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
        mask[index(net, "region", region)] = True
    return mask


def value(policy: Instrument, name: str, values: Values) -> float | np.ndarray:
    """A numeric attribute: the scenario's scalar, or its per-draw (D,) array when given."""
    key = f"{policy.id}.{name}"
    return values[key] if key in values else float(getattr(policy, name))


def one_hot(net: CompiledNetwork, **at: str) -> np.ndarray:
    """(1, *dims) zeros with a 1 at the named labels, e.g. ``one_hot(net, product="dy_oxide",
    market="china")``: a dense channel's cell."""
    dims = list(at)
    cell = np.zeros((1, *(len(getattr(net, DIMS[d])) for d in dims)))
    cell[(0, *(index(net, d, at[d]) for d in dims))] = 1.0
    return cell


def per_draw_column(x: float | np.ndarray, ndim: int) -> float | np.ndarray:
    """A scalar, or a (D,) array shaped (D, 1, ...) to broadcast over ``ndim`` axes."""
    return x if np.ndim(x) == 0 else np.asarray(x).reshape((-1,) + (1,) * (ndim - 1))


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


# Weekdays in an average month (5 x 365.25 / 7 / 12 = 21.74): calendar arithmetic, public
# holidays ignored; turns a statutory review in working days into months.
WORKING_DAYS_PER_MONTH = 5.0 * 365.25 / 7.0 / 12.0


SPREAD_STEPS = 8  # a spread of review times in eight equal steps


def review_decided(
    ages: int | np.ndarray,
    review_days: float | np.ndarray,
    capacity: float | np.ndarray,
    spread: float | np.ndarray = 0.0,
) -> np.ndarray:
    """Share of a month's would-be exports whose licence is decided in month ``ages``
    (months since entry; scalar, or (D,) / (D, T) per draw), by a review process:

    - applications arrive each month from entry: the month's would-be exports (1);
    - the regime starts at most ``capacity`` months of applications' reviews a month (inf:
      every application at once), first come first served: the rest wait in a backlog;
    - a review takes ``review_days`` working days (``WORKING_DAYS_PER_MONTH``); with a
      ``spread`` s, review times are spread evenly from (1 - s) x review_days to
      review_days (s = 1: anywhere within the limit), in ``SPREAD_STEPS`` equal steps; a
      fraction of a month spreads the decisions over two months (as ``approval_path``).

    Decisions beyond a month's applications (a backlog worked down) are capped at 1: the
    share of the month's orders that may ship. review_days, capacity, spread: scalars or (D,).
    """
    age = np.asarray(ages)
    tau = np.atleast_1d(np.asarray(review_days, dtype=float)) / WORKING_DAYS_PER_MONTH
    cap = np.atleast_1d(np.asarray(capacity, dtype=float))
    wide = np.atleast_1d(np.asarray(spread, dtype=float))
    n_d = max(tau.size, cap.size, wide.size)
    tau, cap = np.broadcast_to(tau, (n_d,)), np.broadcast_to(cap, (n_d,))
    wide = np.broadcast_to(wide, (n_d,))
    top = int(age.max()) if age.size else 0
    started = np.empty((n_d, top + 1))
    backlog = np.zeros(n_d)
    for k in range(top + 1):  # reviews started in month k: capacity, or the queue
        started[:, k] = np.minimum(cap, backlog + 1.0)
        backlog += 1.0 - started[:, k]
    months = np.arange(top + 1)[None, :]

    def begun(lag: np.ndarray) -> np.ndarray:
        at = months - lag[:, None]
        got = np.take_along_axis(started, np.clip(at, 0, top), axis=1)
        return np.where(at >= 0, got, 0.0)

    def decided(lag: np.ndarray) -> np.ndarray:
        whole = np.floor(lag).astype(int)
        part = (lag - whole)[:, None]
        return (1.0 - part) * begun(whole) + part * begun(whole + 1)

    if not wide.any():
        path = decided(tau)
    else:
        steps = (np.arange(SPREAD_STEPS) + 0.5) / SPREAD_STEPS
        lags = [decided(tau * (1.0 - wide * (1.0 - q))) for q in steps]
        path = np.mean(lags, axis=0)
    path = np.minimum(path, 1.0)
    if age.ndim == 0:
        return path[:, int(age)] if n_d > 1 else np.asarray(path[0, int(age)])
    rows = np.arange(n_d)[:, None] if age.ndim == 2 else np.arange(n_d)
    return path[rows, age] if n_d > 1 else path[0, age]


def ramp_share(months_since_start: int | np.ndarray, ramp_months: int | np.ndarray) -> np.ndarray:
    """Linear ramp: 1/ramp in the first month, full after ``ramp_months`` (0: full at once)."""
    since = np.asarray(months_since_start, dtype=float)
    ramp = np.maximum(np.asarray(ramp_months, dtype=float), 1.0)
    return np.where(since >= 0, np.minimum((since + 1.0) / ramp, 1.0), 0.0)


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
    # general licences in force this month: ((C,) cells, share released: float or (D,))
    released: list[tuple[np.ndarray, Any]] = field(default_factory=list)

    def value(self, policy: Instrument, name: str) -> float | np.ndarray:
        return value(policy, name, self.values)

    def mask(self, policy: Any, build: Callable[[Any, Context], np.ndarray]) -> np.ndarray:
        """(C,) cells ``policy`` acts on: ``build(policy, self)``, once per plan."""
        key = (id(policy), build)  # the plan holds the policy: its id stays its own
        if key not in self.cache:
            self.cache[key] = _frozen(build(policy, self))
        return self.cache[key]

    def flow_mask(self, items: Items, exporters: np.ndarray, importers: np.ndarray) -> np.ndarray:
        """(C,) cells of the listed items from ``exporters`` to other ``importers``."""
        off = ~np.eye(len(self.net.regions), dtype=bool)
        grid = item_mask(items, self.net)[:, None, None] & exporters[None, :, None] & importers
        return (grid & off).reshape(-1)[self.cells]

    def release_groups(self, mask: np.ndarray) -> list[tuple[np.ndarray, Any]]:
        """``mask``'s cells grouped by the general licences covering them, each group with
        the share of its flow they release from review (0 where none covers it)."""
        if not self.released:
            return [(mask, 0.0)]
        key = np.zeros(mask.shape, dtype=np.int64)
        for n, (cells, _) in enumerate(self.released):
            key |= cells.astype(np.int64) << n
        groups = []
        for k in np.unique(key[mask]):
            kept: Any = 1.0
            for n, (_, share) in enumerate(self.released):
                if (int(k) >> n) & 1:
                    kept = kept * (1.0 - np.asarray(share, dtype=float))
            groups.append((mask & (key == k), 1.0 - kept))
        return groups

    def denied_share(self, sectors: Sequence[str]) -> np.ndarray:
        """(C,) share of the cell importer's final use of its product in the given sectors."""
        key = ("denied", *sectors)
        if key not in self.cache:
            demand = self.net.demand0  # (R, S, P)
            idx = [index(self.net, "sector", s) for s in sectors]
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
