"""Monte Carlo over a scenario's ``uncertainty:`` section with streamed statistics.

Draws run in fixed blocks of ``BLOCK`` (the engine's batch); each block folds its months into
per-cell moments, histograms and exceedance counts, and keeps no paths (except the first
``keep_paths`` draws). Memory is bounded by the block and the statistics, not the draws.

Reproducibility: a draw's inputs depend only on (seed, draw index), each block always holds
the same draws, histograms and counts add exactly, and moments are folded block by block in
draw order (``Ordered``), so the numbers are identical whatever the executor or chunk size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rareflow.engine.parameters import ParamValue
from rareflow.model.compiled import CompiledNetwork
from rareflow.scenarios.model import Scenario
from rareflow.uncertainty._compiled import moments, shortage_totals
from rareflow.uncertainty.sampling import BLOCK, draw_inputs, factors, uniforms
from rareflow.uncertainty.stats import Bins, Moments, add_histogram, histogram

HEADLINE = ("shortage_share", "units_not_built", "value_lost")  # (D, T, R, S) per draw
TOTALS = ("peak_shortage_share", "shortage_months", "units_not_built", "value_lost")
BINS = {
    "shortage_share": Bins("linear", 0.0, 1.0, 200),
    "units_not_built": Bins("log", 1e-3, 1e9, 480),  # 40 bins per decade
    "value_lost": Bins("log", 1.0, 1e13, 520),
}
TOTAL_BINS = {
    "units_not_built": Bins("log", 1e-3, 1e11, 560),
    "value_lost": Bins("log", 1.0, 1e15, 600),
}
SHORT = 1e-6  # a month counts as short when the share exceeds this
MONTH_TABLES = ("exceed", *HEADLINE)  # per-month counts (``month_tables``)


@dataclass(frozen=True)
class Config:
    draws: int
    seed: int = 0
    months: int | None = None
    threshold: float = 0.1  # shortage share whose exceedance probability is reported
    keep_paths: int = 0  # full headline paths of the first K draws
    keep_draw_totals: bool = False  # per-draw horizon totals (for sensitivity)
    kernel: str | None = None  # "numpy" (reference) or "numba"; None: ``choose_kernel``


@dataclass(frozen=True)
class Job:
    """Everything a worker needs (picklable)."""

    compiled: CompiledNetwork
    scenario: Scenario
    parameters: Mapping[str, ParamValue]
    config: Config
    design: np.ndarray | None = None  # (draws, factors) uniforms to use instead of the seed's

    @property
    def blocks(self) -> int:
        return -(-self.config.draws // BLOCK)


@dataclass
class Part:
    """What must be merged in draw order: moments, kept paths, per-draw totals."""

    moments: dict[str, Moments]
    paths: dict[str, np.ndarray] = field(default_factory=dict)
    totals: dict[str, np.ndarray] = field(default_factory=dict)


@dataclass
class Chunk:
    """A chunk's result: order-free integer counts, and its blocks' ordered parts."""

    counts: dict[str, np.ndarray]
    parts: list[Part]
    residual: float


# -- one block ---------------------------------------------------------------------------------
def month_tables(horizon: int, sizes: tuple[int, int, int, int]) -> dict[str, np.ndarray]:
    """The per-month counts, zero: histograms (T, R, S, bins) of the headline outputs and
    exceedances (T, R, S). Tens of MB: the blocks of a chunk add into one set."""
    n_r, n_s = sizes[:2]
    cell = (horizon, n_r, n_s)
    tables = {k: np.zeros((*cell, BINS[k].size), np.uint32) for k in HEADLINE}
    tables["exceed"] = np.zeros(cell, np.int64)
    return tables


class Accumulator:
    """Folds a block's months into its statistics (its per-month counts into ``tables``,
    where given, else into its own)."""

    def __init__(
        self,
        n: int,
        horizon: int,
        sizes: tuple[int, int, int, int],
        cfg: Config,
        tables: dict[str, np.ndarray] | None = None,
    ):
        n_r, n_s, n_p, n_m = sizes
        cell, self.cfg, self.n = (horizon, n_r, n_s), cfg, n
        self.means = {k: np.zeros(cell) for k in (*HEADLINE, "price")}
        self.m2 = {k: np.zeros(cell) for k in (*HEADLINE, "price")}
        self.means["price"] = np.zeros((horizon, n_p, n_m))
        self.m2["price"] = np.zeros((horizon, n_p, n_m))
        self.counts = month_tables(horizon, sizes) if tables is None else tables
        self.per_draw = {k: np.zeros((n, n_r, n_s)) for k in TOTALS}
        keep = max(0, min(cfg.keep_paths, n))
        self.paths = {k: np.zeros((keep, *cell)) for k in HEADLINE} if keep else {}
        self.residual = 0.0

    def add(self, t: int, rec: Mapping[str, np.ndarray], residual: float) -> None:
        self.residual = max(self.residual, residual)
        flat = {k: _cells(rec[k]) for k in (*HEADLINE, "price")}
        for k, x in flat.items():
            moments(x, self.means[k][t].reshape(-1), self.m2[k][t].reshape(-1))
        for k in HEADLINE:
            add_histogram(BINS[k], rec[k], self.counts[k][t])
            if self.paths:
                self.paths[k][:, t] = rec[k][: len(self.paths[k])]
        d = {k: v.reshape(self.n, -1) for k, v in self.per_draw.items()}
        shortage_totals(flat["shortage_share"], flat["units_not_built"], flat["value_lost"],
                        self.cfg.threshold, SHORT, self.counts["exceed"][t].reshape(-1),
                        d["peak_shortage_share"], d["shortage_months"], d["units_not_built"],
                        d["value_lost"])  # fmt: skip

    def finish(self) -> Chunk:
        moments = {k: Moments(self.n, self.means[k], self.m2[k]) for k in self.means}
        d = self.per_draw
        moments.update({f"total_{k}": Moments.of(v) for k, v in d.items()})
        counts = dict(self.counts)
        counts["exceed_any"] = (d["peak_shortage_share"] > self.cfg.threshold).sum(axis=0)
        for k, bins in TOTAL_BINS.items():
            counts[f"total_{k}"] = histogram(bins, d[k])
        totals = {}
        if self.cfg.keep_draw_totals:
            totals = {
                "value_lost_usd": d["value_lost"].sum(axis=(1, 2)),
                "units_not_built": d["units_not_built"].sum(axis=(1, 2)),
                "peak_shortage_share": d["peak_shortage_share"].max(axis=(1, 2)),
            }
        return Chunk(counts, [Part(moments, self.paths, totals)], self.residual)


def _cells(x: np.ndarray) -> np.ndarray:
    """(D, ...) -> (D, C) contiguous float64 (a view when it already is)."""
    return np.ascontiguousarray(x, dtype=np.float64).reshape(len(x), -1)


def run_block(job: Job, block: int, tables: dict[str, np.ndarray] | None = None) -> Chunk:
    """Simulate block ``block`` (draws block*BLOCK ...) and return its statistics; its
    per-month counts are added into ``tables`` (``month_tables``) where given."""
    from rareflow.engine.simulate import choose_kernel, stream

    cfg, net = job.config, job.compiled
    lo = block * BLOCK
    n = min(cfg.draws, lo + BLOCK) - lo
    k = len(factors(job.scenario))
    u = job.design[lo : lo + n] if job.design is not None else uniforms(cfg.seed, lo, lo + n, k)
    inputs = draw_inputs(job.scenario, u, cfg.months, job.parameters)
    params = {**job.parameters, **inputs.parameters}
    horizon = cfg.months or job.scenario.months
    sizes = (len(net.regions), len(net.sectors), len(net.products), len(net.markets))
    cfg_block = Config(**{**cfg.__dict__, "keep_paths": max(0, cfg.keep_paths - lo)})
    acc = Accumulator(n, horizon, sizes, cfg_block, tables)
    # the kernel follows the block size, not n, so that every block of a run uses the same
    kernel = choose_kernel(cfg.kernel, BLOCK)
    months = stream(net, inputs.scenario, params, n, months=horizon, values=inputs.values,
                    kernel=kernel, outputs=(*HEADLINE, "price"))  # fmt: skip
    for t, rec, resid in months:
        acc.add(t, rec, resid)
    return acc.finish()


def run_chunk(job: Job, first: int, last: int) -> Chunk:
    """Blocks [first, last): counts summed, parts kept in order (the unit of executor work).
    The blocks add their per-month counts into the first block's tables."""
    out = run_block(job, first)
    tables = {k: out.counts[k] for k in MONTH_TABLES}
    for block in range(first + 1, last):
        out = add_counts(out, run_block(job, block, tables))
    return out


def add_counts(a: Chunk, b: Chunk) -> Chunk:
    """Chunk ``b`` after chunk ``a``: counts added (a table both share is already the sum),
    parts appended."""
    counts = {k: v if v is b.counts[k] else v + b.counts[k] for k, v in a.counts.items()}
    return Chunk(counts, a.parts + b.parts, max(a.residual, b.residual))


# -- merging in draw order ---------------------------------------------------------------------
@dataclass
class Aggregate:
    """Everything merged so far: the statistics of draws [0, n)."""

    n: int = 0
    counts: dict[str, np.ndarray] = field(default_factory=dict)
    moments: dict[str, Moments] = field(default_factory=dict)
    paths: dict[str, list[np.ndarray]] = field(default_factory=dict)
    totals: dict[str, list[np.ndarray]] = field(default_factory=dict)
    residual: float = 0.0

    def add_counts(self, chunk: Chunk) -> None:
        for k, v in chunk.counts.items():
            if k in self.counts:
                self.counts[k] += v  # in place: the month tables are tens of MB
            else:
                self.counts[k] = v.copy()
        self.residual = max(self.residual, chunk.residual)

    def add_part(self, part: Part) -> None:
        """Fold the next block (in draw order)."""
        for k, m in part.moments.items():
            self.moments[k] = self.moments[k].merge(m) if k in self.moments else m
        self.n = self.moments["shortage_share"].n
        for store, new in ((self.paths, part.paths), (self.totals, part.totals)):
            for k, v in new.items():
                store.setdefault(k, []).append(v)


class Ordered:
    """Takes chunks as they finish, in any order; folds their parts in draw order."""

    def __init__(self, aggregate: Aggregate) -> None:
        self.agg = aggregate
        self.waiting: dict[int, list[Part]] = {}
        self.next = 0

    def __call__(self, index: int, chunk: Chunk) -> None:
        self.agg.add_counts(chunk)
        self.waiting[index] = chunk.parts
        while self.next in self.waiting:
            for part in self.waiting.pop(self.next):
                self.agg.add_part(part)
            self.next += 1


def chunks(blocks: int, blocks_per_chunk: int) -> list[tuple[int, int]]:
    return [(b, min(blocks, b + blocks_per_chunk)) for b in range(0, blocks, blocks_per_chunk)]


Runner = Callable[[Job, list[tuple[int, int]], Callable[[int, Chunk], None]], None]


def montecarlo(
    job: Job,
    run: Runner,
    chunk_draws: int = 4 * BLOCK,
    progress: Callable[[int], None] | None = None,
) -> Aggregate:
    """Run every block through ``run`` (an executor's ``map``) and merge the statistics."""
    per = max(1, -(-chunk_draws // BLOCK))
    spans = chunks(job.blocks, per)
    agg = Aggregate()
    ordered = Ordered(agg)

    def done(index: int, chunk: Chunk) -> None:
        ordered(index, chunk)
        if progress is not None:
            lo, hi = spans[index]
            progress(min(job.config.draws, hi * BLOCK) - lo * BLOCK)

    run(job, spans, done)
    return agg


def iter_blocks(job: Job) -> Iterator[Chunk]:
    """Blocks one by one (for tests and notebooks)."""
    for block in range(job.blocks):
        yield run_block(job, block)


def as_dict(config: Config) -> dict[str, Any]:
    return dict(config.__dict__)
