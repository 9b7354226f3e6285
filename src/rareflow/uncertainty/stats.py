"""Mergeable streaming statistics: exact moments (Chan et al.), exact per-draw values within a
memory budget, and fixed-bin histograms beyond it.

Moments merge exactly in arithmetic; in floating point the result depends on the merge order,
so callers merge blocks in draw order (see ``montecarlo``). Moments also carry each cell's
smallest and largest draw, exactly.

Quantiles are exact (numpy's linear interpolation between order statistics) wherever the draws
fit the budget (``Exact``: one row of draws per cell that is ever nonzero, held as float32, so
a quantile is exact to a relative 6e-8 and clipped to the exact [min, max]; ``exact_budget``).
Beyond it they come from fixed-bin histograms, a log-bucket sketch of the kind DDSketch is: the
counts are integers, so they merge exactly in any order, and a quantile interpolates linearly
inside its bin and is clipped to the cell's exact [min, max]:

- ``linear`` bins on [0, 1] (shares): absolute error at most one bin width (1 / bins);
- ``log`` bins (tonnes, units, USD): relative error at most 10**(1 / per_decade) - 1 (5.9% at
  40 bins per decade), usually far less; values above the top edge land in the last bin.

A per-cell sketch object from a package (ddsketch, tdigest) was not used: a 120-month run has
14,400 cells per output, i.e. millions of Python-level updates per block of draws, where the
histogram is one compiled pass. Bin 0 holds exact zeros (an atom: most draws of most cells have
no shortage), so that a quantile inside the zeros is exactly 0.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

EXACT_BUDGET_MB = 1536  # exact per-draw values of a run (RAREFLOW_MC_EXACT_MB overrides)


def exact_budget() -> int:
    """Bytes a Monte Carlo run may hold in exact per-draw values (``RAREFLOW_MC_EXACT_MB``)."""
    raw = os.environ.get("RAREFLOW_MC_EXACT_MB", "")
    mb = float(raw) if raw.replace(".", "", 1).isdigit() else EXACT_BUDGET_MB
    return int(mb * 2**20)


@dataclass
class Moments:
    """Count, mean, sum of squared deviations, smallest and largest draw of each cell."""

    n: int
    mean: np.ndarray
    m2: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray) -> Moments:
        """Moments over the leading (draw) axis of ``x``."""
        mean = x.mean(axis=0)
        return cls(len(x), mean, ((x - mean) ** 2).sum(axis=0), x.min(axis=0), x.max(axis=0))

    @classmethod
    def empty(cls, shape: tuple[int, ...]) -> Moments:
        inf = np.full(shape, np.inf)
        return cls(0, np.zeros(shape), np.zeros(shape), inf, -inf)

    def merge(self, other: Moments) -> Moments:
        """Chan's parallel update (exact in exact arithmetic); min and max are exact."""
        n = self.n + other.n
        if n == 0:
            return self
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.n / n)
        m2 = self.m2 + other.m2 + delta**2 * (self.n * other.n / n)
        low, high = np.minimum(self.low, other.low), np.maximum(self.high, other.high)
        return Moments(n, mean, m2, low, high)

    @property
    def var(self) -> np.ndarray:
        return self.m2 / max(self.n - 1, 1)

    @property
    def se(self) -> np.ndarray:
        """Standard error of the mean."""
        return np.sqrt(self.var / max(self.n, 1))


class Exact:
    """Every draw of the cells that are ever nonzero: a row of ``draws`` float32 values per
    such cell (cells never nonzero are all zeros and hold no row). Rows are added as cells
    first turn nonzero; once they would pass ``budget`` bytes, the values are dropped
    (``dropped``) and the caller falls back on its histograms, so memory stays bounded.
    float32 halves the memory (10,000 draws x 12,000 live cells of a 120-month run: 480 MB)
    at a relative rounding of 6e-8."""

    itemsize = 4

    def __init__(self, cells: int, draws: int, budget: int) -> None:
        self.draws, self.budget = draws, budget
        self.slot = np.full(cells, -1, np.int64)  # row of each cell, -1: all zeros so far
        self.rows = np.zeros((0, draws), np.float32)
        self.used = 0
        self.dropped = draws * self.itemsize > budget
        self._cache: dict[tuple[float, ...], np.ndarray] = {}

    @property
    def nbytes(self) -> int:
        return int(self.rows.nbytes)

    def add(self, first: int, index: np.ndarray, values: np.ndarray) -> None:
        """Draws ``first``.. of the cells ``index`` (unique): ``values`` (len(index), n)."""
        if self.dropped or len(index) == 0:
            return
        new = index[self.slot[index] < 0]
        if len(new):
            need = self.used + len(new)
            limit = self.budget // (self.draws * self.itemsize)
            if need > limit:
                self.drop()
                return
            if need > len(self.rows):  # grow by doubling (np.zeros: pages come on first touch)
                rows = min(max(need, 2 * len(self.rows), 64), limit)
                grown = np.zeros((rows, self.draws), np.float32)
                grown[: self.used] = self.rows[: self.used]
                self.rows = grown
            self.slot[new] = np.arange(self.used, need)
            self.used = need
        self.rows[self.slot[index], first : first + values.shape[1]] = values
        self._cache.clear()

    def drop(self) -> None:
        self.dropped, self.rows, self.used = True, np.zeros((0, self.draws), np.float32), 0
        self.slot[:] = -1

    def quantiles(self, qs: tuple[float, ...], low: np.ndarray, high: np.ndarray) -> np.ndarray:
        """(len(qs), cells): numpy's linear interpolation between order statistics, clipped
        to the cells' exact (float64) ``low`` and ``high`` against the float32 rounding."""
        if qs not in self._cache:
            out = np.zeros((len(qs), len(self.slot)))
            held = np.flatnonzero(self.slot >= 0)
            if len(held):
                q = np.quantile(self.rows[: self.used], qs, axis=1).astype(np.float64)
                out[:, held] = q[:, self.slot[held]]
            self._cache[qs] = np.clip(out, low.reshape(-1), high.reshape(-1))
        return self._cache[qs]


def exact_quantiles(x: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """(len(qs), cells...) quantiles of ``x`` (draws, cells...) over its draws, exactly."""
    return np.quantile(x, qs, axis=0)


@dataclass(frozen=True)
class Bins:
    """Fixed bins: 'linear' on [low, high], or 'log' (log10) on [low, high]; bin 0 = zeros."""

    kind: str
    low: float
    high: float
    count: int  # bins above zero

    @property
    def size(self) -> int:
        return self.count + 1

    def _scale(self, x: np.ndarray) -> np.ndarray:
        """Position in [0, count] of positive values (clipped to the range)."""
        if self.kind == "log":
            lo, hi = np.log10(self.low), np.log10(self.high)
            y = (np.log10(np.maximum(x, self.low)) - lo) / (hi - lo)
        else:
            y = (x - self.low) / (self.high - self.low)
        return np.clip(y, 0.0, 1.0) * self.count

    def index(self, x: np.ndarray) -> np.ndarray:
        """Bin of each value: 0 for x <= 0, else 1..count."""
        scaled = np.nan_to_num(self._scale(x), nan=0.0)  # NaN falls in bin 0 below
        pos = np.minimum(scaled.astype(np.int64), self.count - 1) + 1
        return np.where(x > 0, pos, 0)

    def value(self, pos: np.ndarray) -> np.ndarray:
        """Inverse of the scaling: position in [0, count] -> value."""
        y = pos / self.count
        if self.kind == "log":
            lo, hi = np.log10(self.low), np.log10(self.high)
            return np.asarray(10.0 ** (lo + y * (hi - lo)))
        return self.low + y * (self.high - self.low)


def histogram(bins: Bins, x: np.ndarray) -> np.ndarray:
    """Counts (cells..., bins.size) of ``x`` (D, cells...) over the draw axis."""
    counts = np.zeros((*x.shape[1:], bins.size), np.uint32)
    add_histogram(bins, x, counts)
    return counts


def add_histogram(bins: Bins, x: np.ndarray, counts: np.ndarray) -> None:
    """Add the counts of ``x`` (D, cells...) to ``counts`` (cells..., bins.size) in place.

    The logarithms are numpy's (a vector pass, six times faster than a scalar log10 per
    value, and the very ones ``Bins.index`` takes); the count is compiled.
    """
    from rareflow.uncertainty._compiled import add_counts

    flat = np.ascontiguousarray(x, dtype=float).reshape(len(x), -1)
    if bins.kind == "log":
        lo, hi = np.log10(bins.low), np.log10(bins.high)
        scaled = np.maximum(flat, bins.low)
        np.log10(scaled, out=scaled)
    else:
        lo, hi, scaled = bins.low, bins.high, flat
    table = counts.reshape(flat.shape[1], -1)
    add_counts(flat, scaled, lo, hi, bins.count, table)


def quantiles(
    bins: Bins,
    counts: np.ndarray,
    qs: tuple[float, ...],
    low: np.ndarray | None = None,
    high: np.ndarray | None = None,
) -> np.ndarray:
    """(len(qs), cells...) quantiles from counts (cells..., bins.size), clipped to each cell's
    exact [low, high] where given (so that identical draws give their value, not a bin's)."""
    out = _binned(bins, counts, qs)
    if low is not None and high is not None:
        out = np.clip(out, low, high)
    return out


def _binned(bins: Bins, counts: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    n = counts.sum(axis=-1, keepdims=True).astype(float)
    cum = np.cumsum(counts, axis=-1, dtype=np.float64)
    out = []
    for q in qs:
        target = q * n  # (cells..., 1)
        b = np.minimum((cum < target).sum(axis=-1, keepdims=True), bins.size - 1)
        before = np.take_along_axis(cum, b, -1) - np.take_along_axis(counts, b, -1)
        inside = np.take_along_axis(counts, b, -1).astype(float)
        frac = np.clip(np.divide(target - before, inside, out=np.zeros_like(target),
                                 where=inside > 0), 0.0, 1.0)  # fmt: skip
        value = bins.value(b - 1 + frac)
        out.append(np.where((b == 0) | (n == 0), 0.0, value)[..., 0])
    return np.stack(out)
