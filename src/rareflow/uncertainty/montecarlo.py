"""Monte Carlo over a scenario's ``uncertainty:`` section with streamed statistics.

Draws run in fixed blocks of ``BLOCK`` (the engine's batch); each block folds its months into
per-cell moments (with min and max), histograms and exceedance counts, and hands back the
draws of its nonzero cells and its per-draw horizon totals, which the aggregate keeps exactly
while they fit ``Config.budget`` (``stats.Exact``), for exact quantiles. No paths are kept
(except the first ``keep_paths`` draws). Memory is bounded by the block, the statistics and the
budget, not the draws; chunks of blocks are made lazily (``Spans``).

Reproducibility: a draw's inputs depend only on (seed, draw index), each block always holds
the same draws, histograms and counts add exactly, and moments are folded block by block in
draw order (``Ordered``), so the numbers are identical whatever the executor or chunk size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rareflow.engine.parameters import ParamValue
from rareflow.errors import UserInputError
from rareflow.model.compiled import CompiledNetwork
from rareflow.scenarios.model import Scenario
from rareflow.uncertainty._compiled import moments, shortage_totals
from rareflow.uncertainty.sampling import BLOCK, draw_inputs, factors, uniforms
from rareflow.uncertainty.stats import Bins, Exact, Moments, add_histogram, exact_budget, histogram

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
# shares of the exact-values budget: the monthly outputs first, 10,000 x 120 months must fit
BUDGET_SHARE = {"shortage_share": 0.375, "value_lost": 0.375, "totals": 0.25}
MONTH_TABLES = ("exceed", *HEADLINE)  # per-month counts (``month_tables``)
EXACT_TOTALS = ("units_not_built", "value_lost")  # horizon totals kept per draw and cell
EXACT_MONTHLY = ("shortage_share", "value_lost")  # monthly draws kept: what the CLI shows


@dataclass(frozen=True)
class Config:
    draws: int
    seed: int = 0
    months: int | None = None
    threshold: float = 0.1  # shortage share whose exceedance probability is reported
    keep_paths: int = 0  # full headline paths of the first K draws
    keep_draw_totals: bool = False  # per-draw horizon totals (for sensitivity)
    kernel: str | None = None  # "numpy" (reference) or "numba"; None: ``choose_kernel``
    exact_bytes: int | None = None  # budget of exact per-draw values; None: ``exact_budget()``

    @property
    def budget(self) -> int:
        return exact_budget() if self.exact_bytes is None else self.exact_bytes

    def exact_totals(self, cells: int) -> bool:
        """Whether per-draw horizon totals (2 outputs x ``cells``) fit their share of the budget."""
        return self.draws * len(EXACT_TOTALS) * 8 * cells <= self.budget * BUDGET_SHARE["totals"]


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
    first: int = 0  # the block's first draw
    cells: int = 0  # month x region x sector cells of a headline output
    exact: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # idx, values
    cell_totals: dict[str, np.ndarray] = field(default_factory=dict)  # (n, R, S) per draw


@dataclass
class Chunk:
    """A chunk's result: order-free integer counts, and its blocks' ordered parts."""

    counts: dict[str, np.ndarray]
    parts: list[Part]
    residual: float


# -- bounds: refuse a run the machine cannot finish, before any work starts --------------------
CORE_SECONDS_PER_DRAW_MONTH = 2e-5  # README: 10,000 x 120 in 10.6 s on 2 CPUs = 1.8e-5
MAX_HOURS = 24.0  # the longest run accepted: a day of the machine's CPUs


def max_draws(months: int, cpus: int) -> int:
    """Draws of ``months`` months that ``cpus`` CPUs finish in ``MAX_HOURS`` (an estimate)."""
    return int(MAX_HOURS * 3600 * max(cpus, 1) / (months * CORE_SECONDS_PER_DRAW_MONTH))


def check_bounds(config: Config, months: int, cpus: int, cells: int) -> None:
    """Exit 2 with the limit for draws this machine would take over a day to finish, and for
    kept paths (3 outputs x months x cells x 8 bytes each) beyond the exact-values budget."""
    limit = max_draws(months, cpus)
    if config.draws > limit:
        hours = config.draws * months * CORE_SECONDS_PER_DRAW_MONTH / max(cpus, 1) / 3600
        raise UserInputError(
            f"--draws: about {hours:,.0f} h of computing on {cpus} CPUs",
            value=config.draws,
            expected=f"at most {limit:,} draws of {months} months here ({MAX_HOURS:g} h at "
            f"{CORE_SECONDS_PER_DRAW_MONTH * 1e6:g} us per draw-month and CPU)",
            hint="10,000 draws give standard errors of 1% of the spread; use a dask cluster "
            "(--scheduler) for more",
        )
    per_path = len(HEADLINE) * cells * 8
    if config.keep_paths * per_path > config.budget:
        raise UserInputError(
            "--keep-paths: the kept paths would not fit in memory",
            value=config.keep_paths,
            expected=f"at most {config.budget // per_path:,} paths of {months} months "
            "(RAREFLOW_MC_EXACT_MB sets the budget)",
        )


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
        shapes = {**{k: cell for k in HEADLINE}, "price": (horizon, n_p, n_m)}
        self.means = {k: np.zeros(v) for k, v in shapes.items()}
        self.m2 = {k: np.zeros(v) for k, v in shapes.items()}
        self.low = {k: np.zeros(v) for k, v in shapes.items()}
        self.high = {k: np.zeros(v) for k, v in shapes.items()}
        self.first, self.cells = 0, horizon * n_r * n_s
        self.nonzero: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {
            k: [] for k in EXACT_MONTHLY
        }
        self.counts = month_tables(horizon, sizes) if tables is None else tables
        self.per_draw = {k: np.zeros((n, n_r, n_s)) for k in TOTALS}
        keep = max(0, min(cfg.keep_paths, n))
        self.paths = {k: np.zeros((keep, *cell)) for k in HEADLINE} if keep else {}
        self.residual = 0.0

    def add(self, t: int, rec: Mapping[str, np.ndarray], residual: float) -> None:
        self.residual = max(self.residual, residual)
        flat = {k: _cells(rec[k]) for k in (*HEADLINE, "price")}
        for k, x in flat.items():
            moments(x, self.means[k][t].reshape(-1), self.m2[k][t].reshape(-1),
                    self.low[k][t].reshape(-1), self.high[k][t].reshape(-1))  # fmt: skip
        for k in EXACT_MONTHLY:
            self._keep_nonzero(k, t, flat[k])
        for k in HEADLINE:
            add_histogram(BINS[k], rec[k], self.counts[k][t])
            if self.paths:
                self.paths[k][:, t] = rec[k][: len(self.paths[k])]
        d = {k: v.reshape(self.n, -1) for k, v in self.per_draw.items()}
        shortage_totals(flat["shortage_share"], flat["units_not_built"], flat["value_lost"],
                        self.cfg.threshold, SHORT, self.counts["exceed"][t].reshape(-1),
                        d["peak_shortage_share"], d["shortage_months"], d["units_not_built"],
                        d["value_lost"])  # fmt: skip

    def _keep_nonzero(self, k: str, t: int, x: np.ndarray) -> None:
        """The draws of the month's cells that are not all zero (min/max say which: no extra
        pass), as (cell index, (cells, n) values) for ``Exact``."""
        low, high = self.low[k][t].reshape(-1), self.high[k][t].reshape(-1)
        live = np.flatnonzero(~((low == 0.0) & (high == 0.0)))
        if len(live) == x.shape[1]:  # every cell: one transposing cast, no gather (2.5x)
            self.nonzero[k].append((t * x.shape[1] + live, np.asarray(x.T, np.float32, order="C")))
        elif len(live):
            self.nonzero[k].append((t * x.shape[1] + live, x[:, live].T.astype(np.float32)))

    def finish(self) -> Chunk:
        moments = {
            k: Moments(self.n, self.means[k], self.m2[k], self.low[k], self.high[k])
            for k in self.means
        }
        d = self.per_draw
        moments.update({f"total_{k}": Moments.of(v) for k, v in d.items()})
        counts = dict(self.counts)
        counts["exceed_any"] = (d["peak_shortage_share"] > self.cfg.threshold).sum(axis=0)
        exact_totals = self.cfg.exact_totals(d["value_lost"][0].size)
        for k, bins in TOTAL_BINS.items():
            if not exact_totals:
                counts[f"total_{k}"] = histogram(bins, d[k])
        totals = {}
        if self.cfg.keep_draw_totals:
            totals = {
                "value_lost_usd": d["value_lost"].sum(axis=(1, 2)),
                "units_not_built": d["units_not_built"].sum(axis=(1, 2)),
                "peak_shortage_share": d["peak_shortage_share"].max(axis=(1, 2)),
            }
        part = Part(moments, self.paths, totals, self.first, self.cells, self._nonzero())
        if exact_totals:
            part.cell_totals = {k: d[k] for k in EXACT_TOTALS}
        return Chunk(counts, [part], self.residual)

    def _nonzero(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        out = {}
        for k, pieces in self.nonzero.items():
            if pieces:
                out[k] = (np.concatenate([i for i, _ in pieces]),
                          np.concatenate([v for _, v in pieces]))  # fmt: skip
        return out


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
    acc.first = lo
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
    draws: int = 0  # draws of the run (the rows of ``exact``)
    budget: int = 0  # bytes of exact per-draw values (``share``)
    exact: dict[str, Exact] = field(default_factory=dict)  # monthly values of nonzero cells
    cell_totals: dict[str, list[np.ndarray]] = field(default_factory=dict)  # (n, R, S) each

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
        for store, new in (
            (self.paths, part.paths),
            (self.totals, part.totals),
            (self.cell_totals, part.cell_totals),
        ):
            for k, v in new.items():
                store.setdefault(k, []).append(v)
        for k, (index, values) in part.exact.items() if self.draws else ():
            if k not in self.exact:
                self.exact[k] = Exact(part.cells, self.draws, int(self.budget * BUDGET_SHARE[k]))
            self.exact[k].add(part.first, index, values)


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


class Spans(Sequence[tuple[int, int]]):
    """The chunks' block ranges [first, last), made on demand: a run of 10**12 draws must not
    build a list of 10**9 ranges before any work starts."""

    def __init__(self, blocks: int, per: int) -> None:
        self.blocks, self.per = blocks, max(1, per)

    def __len__(self) -> int:
        return -(-self.blocks // self.per)

    def __getitem__(self, index: int) -> tuple[int, int]:  # type: ignore[override]
        if not 0 <= index < len(self):
            raise IndexError(index)
        first = index * self.per
        return first, min(self.blocks, first + self.per)


def chunks(blocks: int, blocks_per_chunk: int) -> Spans:
    return Spans(blocks, blocks_per_chunk)


Runner = Callable[[Job, Sequence[tuple[int, int]], Callable[[int, Chunk], None]], None]


def montecarlo(
    job: Job,
    run: Runner,
    chunk_draws: int = 4 * BLOCK,
    progress: Callable[[int], None] | None = None,
) -> Aggregate:
    """Run every block through ``run`` (an executor's ``map``) and merge the statistics."""
    per = max(1, -(-chunk_draws // BLOCK))
    spans = chunks(job.blocks, per)
    agg = Aggregate(draws=job.config.draws, budget=job.config.budget)
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
