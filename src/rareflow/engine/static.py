"""Static inputs of a run, derived once from the ``CompiledNetwork`` and never mutated.

Shapes: R regions, P products, K processes, S sectors, M markets (china, ex_china).
Quantities are tonnes per month at base-year levels; the step scales them by demand growth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from rareflow.data.schema import STAGES
from rareflow.engine.numeric import safe_div
from rareflow.errors import UserInputError
from rareflow.model.compiled import CompiledNetwork

Index = np.ndarray | slice
HEAVY_SUBSTITUTED = ("Dy", "Tb")  # elements that Dy-free magnet grades do without
# the lag parameter of capacity entry at each stage (``data.schema.STAGES`` order)
ENTRY_LAGS = (
    "entry_lag_mine_months",
    "entry_lag_separation_months",
    "entry_lag_metal_months",
    "entry_lag_magnet_months",
)


@dataclass(frozen=True)
class Stage:
    """One stage of the chain: its processes, the products it makes and the inputs it uses."""

    name: str
    processes: np.ndarray  # (Ks,) int process indices
    products: Index  # products of the stage (a slice when contiguous, for views)
    inputs: np.ndarray  # (Pin,) int product indices used by the stage's processes
    input_mask: np.ndarray  # (Ks, Pin) bool: process uses input


@dataclass(frozen=True)
class Arcs:
    """The trade arcs (product, exporter, importer) that can ever carry a shipment, A of them,
    sorted by product, exporter, importer; trade arrays are (A, D): arcs by draws.

    An arc can carry trade when the importer had baseline imports of the product (only such
    importers place orders) and the exporter can ever hold some of it: it uses the product
    (stocks start at cover x use), imports it, can make it (installed, project or investment
    capacity), or a stockpile releases it there. Every other cell of the dense P x E x I
    sourcing shares stays exactly 0, so leaving it out changes nothing but rounding.
    """

    product: np.ndarray  # (A,) int
    exporter: np.ndarray  # (A,) int
    importer: np.ndarray  # (A,) int
    cell: np.ndarray  # (A,) flat index into (P, E, I)
    at_exporter: np.ndarray  # (A,) flat index into (R, P) of the exporter's node
    at_importer: np.ndarray  # (A,) flat index into (R, P) of the importer's node
    share0: np.ndarray  # (A,) baseline sourcing share
    to_exporter: sp.csr_matrix  # (R x P, A) sums arcs into their exporter's node
    to_importer: sp.csr_matrix  # (R x P, A) sums arcs into their importer's node
    stages: tuple[Index, ...]  # arcs of each stage's products (slices when contiguous)
    # per stage, on its arcs and its products' nodes (R x Ps, r-major): sums of arcs into their
    # exporter's / importer's node, and each arc's exporter / importer node
    stage_to_exporter: tuple[sp.csr_matrix, ...]
    stage_to_importer: tuple[sp.csr_matrix, ...]
    stage_exporter: tuple[np.ndarray, ...]
    stage_importer: tuple[np.ndarray, ...]
    staged: bool  # every arc belongs to a stage (so the stages write every shipment)
    has_imports: np.ndarray  # (R x P,) bool: importer node had baseline imports
    # stock in transit: a share ``transit`` of an arc's shipments arrives the next month
    transit: np.ndarray  # (A,) months at sea (0-1): the importer's ``transit_months``
    at_sea0: np.ndarray  # (A,) t at sea at the start of a baseline month, at trend 1
    _cache: dict[bytes, tuple[np.ndarray, sp.csr_matrix]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return int(self.product.size)

    def of_products(self, products: np.ndarray) -> tuple[np.ndarray, sp.csr_matrix]:
        """Arcs of the given products, and the sums into importer nodes restricted to them."""
        key = np.asarray(products).tobytes()
        if key not in self._cache:
            idx = np.flatnonzero(np.isin(self.product, products))
            self._cache[key] = (idx, self.to_importer[:, idx].tocsr())
        return self._cache[key]

    def dense(self, values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
        """(A, D) arc values -> (D, P, E, I) dense, zero off the arcs."""
        out = np.zeros((values.shape[1], int(np.prod(shape))))
        out[:, self.cell] = values.T
        return out.reshape((values.shape[1], *shape))


@dataclass(frozen=True)
class Static:
    net: CompiledNetwork
    stages: tuple[Stage, ...]
    offdiag: np.ndarray  # (R, R) 1 off the diagonal: trade is cross-border only
    imports0: np.ndarray  # (R, P) baseline imports
    share0: np.ndarray  # (P, R, R) baseline share of importer's imports from each exporter
    has_imports: np.ndarray  # (P, R) importer had baseline imports of the product
    use0: np.ndarray  # (R, P) baseline process use + final use
    net_pull0: np.ndarray  # (R, P) baseline use + exports - imports (= production0 - stock change)
    import_share: np.ndarray  # (R, P) imports / (production + imports), baseline
    production0: np.ndarray  # (R, P) baseline output
    # (process, output) pairs sorted by process (O pairs): joint production follows the
    # output that calls for the most activity
    out_process: np.ndarray  # (O,) process index
    out_product: np.ndarray  # (O,) product index
    out_yield: np.ndarray  # (O,) t output per t activity
    out_weight: np.ndarray  # (O,) output's share of its process's base-year revenue
    out_primary: np.ndarray  # (O,) 1.0 for each process's main output (largest revenue share)
    out_processes: np.ndarray  # (K',) processes that have outputs
    out_starts: np.ndarray  # (K',) first pair of each (for reduceat)
    recipe_sub: np.ndarray  # (K, P) recipe inputs that substitution can remove
    substitutable: np.ndarray  # (P,) bool
    market_matrix: np.ndarray  # (M, R) 1 where region belongs to market
    market_of: np.ndarray  # (R,) market index of each region
    final0: np.ndarray  # (R, P) baseline final use, all sectors
    # (sector, product) pairs with final demand somewhere, sorted by sector (Q pairs), so that
    # sector metrics gather Q columns instead of broadcasting over R x S x P
    pair_product: np.ndarray  # (Q,) product index
    pair_sectors: np.ndarray  # (S',) sectors that have pairs
    pair_starts: np.ndarray  # (S',) first pair of each of those sectors (for reduceat)
    pair_demand: np.ndarray  # (R, Q) t/month final use at trend 1
    pair_units: np.ndarray  # (R, Q) units per month at trend 1 (demand x 1000 / kg_per_unit)
    pair_value: np.ndarray  # (R, Q) USD per month at trend 1 (units x usd_per_unit)
    pair_to_sector: np.ndarray  # (Q, S) 1 where the pair is the sector's: sums by matmul
    pair_sector: np.ndarray  # (Q,) sector index
    # a sector's unit needs all of its products (Leontief: the scarcest decides); a pair whose
    # every kg is its own line of output (``unit_basis`` own) adds its units instead
    pair_gate: np.ndarray  # (R, Q) 1.0 where the pair is an input of the region's sector unit
    pair_line: np.ndarray  # (Q,) 1.0 where the pair is its own line of output
    unit_pair: np.ndarray  # (R, S) the pair that counts the sector's units (most tonnes)
    unit_units: np.ndarray  # (R, S) sector units wanted per month at trend 1 (0: none)
    unit_usd: np.ndarray  # (R, S) gross output of one sector unit, USD
    value_added_share: np.ndarray  # (R, S) value added / gross output
    # (O, K) each output's revenue weight / primary flag in its process's column, so that
    # the weighted and the main output's calls are one matmul each
    out_weight_matrix: np.ndarray
    out_primary_matrix: np.ndarray
    has_outputs: np.ndarray  # (K,) bool
    # per stage, (Ks, 2 Pin + Ps): recipe_in and recipe_sub of its processes on the stage's
    # inputs, and recipe_out on its products, side by side (one matmul gives a stage's use,
    # substitutable use and output, on the columns they can be nonzero)
    stage_recipes: tuple[np.ndarray, ...]
    base_month: int  # absolute month index of the base year's midpoint
    arcs: Arcs  # trade arcs that can carry shipments
    at_sea0: np.ndarray  # (R, P) t of the region's baseline imports at sea, at trend 1
    # market depth (``market.py``): ln(largest product market value / this product's), 0 where
    # unpriced or not made; thinness = exp(price_thinness_exponent x log_thinness)
    log_thinness: np.ndarray  # (P,)
    # input costs (``market.cost_floor``): metals, priced at least at what their oxide costs
    # (joint products of separation share their cost by demand; magnets: market.py says why)
    cost_product: np.ndarray  # (F,) int
    cost_inputs: np.ndarray  # (F, P) t of each input per t of the product
    # capacity entry (``market.update_capacity_entry``): where new ex-China capacity of each
    # process goes, how much one unit of pressure commits, and which stage lag applies
    entry_weight: np.ndarray  # (R, K) share of a process's entry going to each region
    entry_scale: np.ndarray  # (K,) t activity/month: world base-year capacity
    entry_stage: np.ndarray  # (K,) int index into ``ENTRY_LAGS``

    @property
    def shape(self) -> tuple[int, int, int, int]:
        n = self.net
        return len(n.regions), len(n.products), len(n.processes), len(n.sectors)


def _as_index(idx: np.ndarray) -> Index:
    """A slice when the indices are contiguous and ascending (so that slicing gives views)."""
    if idx.size and np.array_equal(idx, np.arange(idx[0], idx[0] + idx.size)):
        return slice(int(idx[0]), int(idx[0]) + idx.size)
    return idx


def _stages(net: CompiledNetwork) -> tuple[Stage, ...]:
    product_stage = np.array(net.product_stage)
    process_stage_arr = np.array(_process_stages(net))
    rank = {s: i for i, s in enumerate(STAGES)}
    stages = []
    for name in STAGES:
        ks = np.flatnonzero(process_stage_arr == name)
        uses = net.recipe_in[ks] > 0
        inputs = np.flatnonzero(uses.any(axis=0))
        late = [net.products[p] for p in inputs if rank[product_stage[p]] >= rank[name]]
        if late:
            raise UserInputError(
                f"stage {name} processes use inputs of the same or a later stage",
                value=", ".join(late),
                expected="recipes in chain order (mining -> separation -> metal -> magnet)",
            )
        stages.append(
            Stage(
                name=name,
                processes=ks,
                products=_as_index(np.flatnonzero(product_stage == name)),
                inputs=inputs,
                input_mask=uses[:, inputs],
            )
        )
    return tuple(stages)


def build_static(net: CompiledNetwork, extra_exporters: np.ndarray | None = None) -> Static:
    """extra_exporters: (R, P) bool where a scenario can put stock or capacity (stockpile
    releases, capacity investments) beyond what the network holds; those may export."""
    n_r = len(net.regions)
    offdiag = 1.0 - np.eye(n_r)
    trade = net.trade0 * offdiag
    imports0 = trade.sum(axis=1).T  # (R, P)
    share0 = safe_div(trade, trade.sum(axis=1, keepdims=True))
    production0 = net.activity0 @ net.recipe_out
    use0 = net.activity0 @ net.recipe_in + net.demand0.sum(axis=1)
    out = net.recipe_out
    out_process, out_product = np.nonzero(out)  # sorted by process
    out_processes, out_starts = np.unique(out_process, return_index=True)
    el = [net.elements.index(e) for e in HEAVY_SUBSTITUTED if e in net.elements]
    heavy = net.content[:, el].sum(axis=1) > 0 if el else np.zeros(len(net.products), bool)
    substitutable = heavy & (np.array(net.product_stage) == "metal")
    magnet = np.array([s == "magnet" for s in _process_stages(net)])
    recipe_sub = net.recipe_in * substitutable[None, :] * magnet[:, None]
    china = net.china
    market_of = np.ones(n_r, dtype=int)
    if china >= 0:
        market_of[china] = 0
    market_matrix = np.zeros((len(net.markets), n_r))
    market_matrix[market_of, np.arange(n_r)] = 1.0
    stages = _stages(net)
    tonnes_to_units = safe_div(np.full(net.kg_per_unit.shape, 1000.0), net.kg_per_unit)
    return Static(
        net=net,
        stages=stages,
        offdiag=offdiag,
        imports0=imports0,
        share0=share0,
        has_imports=trade.sum(axis=1) > 0,
        use0=use0,
        net_pull0=use0 + trade.sum(axis=2).T - imports0,
        import_share=safe_div(imports0, production0 + imports0),
        production0=production0,
        out_process=out_process,
        out_product=out_product,
        out_yield=out[out_process, out_product],
        out_weight=(weight := _revenue_shares(net, out_process, out_product, out_starts)),
        out_primary=_primary_outputs(weight, out_starts),
        out_processes=out_processes,
        out_starts=out_starts,
        recipe_sub=recipe_sub,
        substitutable=substitutable,
        market_matrix=market_matrix,
        market_of=market_of,
        final0=net.demand0.sum(axis=1),
        **_pairs(net, tonnes_to_units),
        out_weight_matrix=_by_process(out_process, weight, len(net.processes)),
        out_primary_matrix=_by_process(
            out_process, _primary_outputs(weight, out_starts), len(net.processes)
        ),
        has_outputs=np.isin(np.arange(len(net.processes)), out_processes),
        stage_recipes=tuple(
            np.concatenate(
                [
                    net.recipe_in[st.processes][:, st.inputs],
                    recipe_sub[st.processes][:, st.inputs],
                    out[st.processes][:, st.products],
                ],
                axis=1,
            )
            for st in stages
        ),
        base_month=net.base_year * 12 + 6,
        arcs=(arcs := _arcs(net, stages, trade, share0, extra_exporters)),
        at_sea0=(arcs.to_importer @ arcs.at_sea0).reshape(n_r, -1),
        log_thinness=log_thinness(net, production0),
        **_cost_inputs(net),
        **_entry(net),
    )


def _cost_inputs(net: CompiledNetwork) -> dict[str, np.ndarray]:
    """Per metal made by a process with inputs and one output (a reduction): t of each input
    per t of it, from the largest such process in the base year."""
    single = ((net.recipe_out > 0).sum(axis=1) == 1) & (net.recipe_in.sum(axis=1) > 0)
    single &= np.array([s == "metal" for s in _process_stages(net)])
    size = net.activity0.sum(axis=0)
    chosen: dict[int, int] = {}
    for process in sorted(np.flatnonzero(single).tolist(), key=lambda k: -size[k]):
        chosen.setdefault(int(np.argmax(net.recipe_out[process])), process)
    products = np.array(sorted(chosen), dtype=np.int64)
    inputs = np.zeros((len(products), len(net.products)))
    for f, p in enumerate(products.tolist()):
        inputs[f] = net.recipe_in[chosen[p]] / net.recipe_out[chosen[p], p]
    return {"cost_product": products, "cost_inputs": inputs}


def log_thinness(net: CompiledNetwork, production0: np.ndarray) -> np.ndarray:
    """(P,) ln(largest market value / the product's market value), market value = world
    base-year output (t/month) x mean base price; 0 where a product is unpriced or not made.

    A smaller market (Y, Dy, Tb oxides: tens to hundreds of millions of USD a year, against
    billions for NdPr oxide and magnets) holds fewer traders and stocks, so the same
    tightness moves its price more (``market.update_prices``).
    """
    value = production0.sum(axis=0) * net.price0.mean(axis=1)
    if not value.size or value.max() <= 0:
        return np.zeros(value.shape)
    return np.where(value > 0, np.log(value.max() / np.maximum(value, 1e-300)), 0.0)


def _entry(net: CompiledNetwork) -> dict[str, np.ndarray]:
    """Where capacity entry goes: to regions outside China in proportion to their base-year
    capacity plus listed projects of the process, or, where no region outside China has
    any, of the processes of the same stage (e.g. heavy separation next to light)."""
    n_r, n_k = net.capacity.shape
    held = net.capacity.copy()
    np.add.at(held, (net.project_region, net.project_process), net.project_tonnes_per_month)
    if net.china >= 0:
        held[net.china] = 0.0
    stages = _process_stages(net)
    stage_of = np.array([STAGES.index(s) for s in stages], dtype=np.int64)
    weight = np.zeros((n_r, n_k))
    for k in range(n_k):
        own = held[:, k]
        if own.sum() <= 0:
            own = held[:, stage_of == stage_of[k]].sum(axis=1)
        if own.sum() > 0:
            weight[:, k] = own / own.sum()
    return {
        "entry_weight": weight,
        "entry_scale": net.capacity.sum(axis=0),
        "entry_stage": stage_of,
    }


def _arcs(
    net: CompiledNetwork,
    stages: tuple[Stage, ...],
    trade: np.ndarray,
    share0: np.ndarray,
    extra: np.ndarray | None,
) -> Arcs:
    n_r, n_p = len(net.regions), len(net.products)
    has_imports = trade.sum(axis=1) > 0  # (P, I)
    capacity = net.capacity > 0
    if len(net.project_names):
        capacity = capacity.copy()
        capacity[net.project_region, net.project_process] = True
    makes = (capacity.astype(float) @ (net.recipe_out > 0).astype(float)) > 0  # (R, P)
    use = net.activity0 @ net.recipe_in + net.demand0.sum(axis=1)
    holds = (use > 0) | has_imports.T | makes  # (R, P)
    if extra is not None:
        holds = holds | extra
    cand = holds.T[:, :, None] & has_imports[:, None, :] & ~np.eye(n_r, dtype=bool)[None]
    cand |= share0 > 0
    p, e, i = np.nonzero(cand)  # sorted by product, exporter, importer
    n_a = p.size
    at_e, at_i = e * n_p + p, i * n_p + p
    cols = np.arange(n_a)

    def sums(rows: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((np.ones(n_a), (rows, cols)), shape=(n_r * n_p, n_a))

    to_exporter, to_importer = sums(at_e), sums(at_i)
    stage_arcs, s_exp, s_imp, s_e, s_i = [], [], [], [], []
    for stage in stages:
        ps = np.arange(n_p)[stage.products]
        arcs = np.flatnonzero(np.isin(p, ps))
        local = np.full(n_p, -1)
        local[ps] = np.arange(ps.size)
        node_e, node_i = e[arcs] * ps.size + local[p[arcs]], i[arcs] * ps.size + local[p[arcs]]
        shape = (n_r * ps.size, arcs.size)
        ones, cols_s = np.ones(arcs.size), np.arange(arcs.size)
        stage_arcs.append(_as_index(arcs))
        s_exp.append(sp.csr_matrix((ones, (node_e, cols_s)), shape=shape))
        s_imp.append(sp.csr_matrix((ones, (node_i, cols_s)), shape=shape))
        s_e.append(node_e)
        s_i.append(node_i)
    return Arcs(
        product=p,
        exporter=e,
        importer=i,
        cell=(p * n_r + e) * n_r + i,
        at_exporter=at_e,
        at_importer=at_i,
        share0=share0[p, e, i],
        to_exporter=to_exporter,
        to_importer=to_importer,
        stages=tuple(stage_arcs),
        stage_to_exporter=tuple(s_exp),
        stage_to_importer=tuple(s_imp),
        stage_exporter=tuple(s_e),
        stage_importer=tuple(s_i),
        staged=sum(np.arange(n_a)[a].size for a in stage_arcs) == n_a,
        has_imports=has_imports.T.reshape(-1),
        transit=net.transit_months[i],
        at_sea0=net.transit_months[i] * trade[p, e, i],
    )


def _revenue_shares(
    net: CompiledNetwork, process: np.ndarray, product: np.ndarray, starts: np.ndarray
) -> np.ndarray:
    """(O,) each output's share of its process's revenue at base prices (yield if unpriced)."""
    value = net.recipe_out[process, product] * net.price0[product].max(axis=1)
    if not value.size:
        return value
    total = np.add.reduceat(value, starts)[
        np.searchsorted(starts, np.arange(value.size), "right") - 1
    ]
    mass = net.recipe_out[process, product]
    mass_total = np.add.reduceat(mass, starts)[
        np.searchsorted(starts, np.arange(mass.size), "right") - 1
    ]
    return np.where(total > 0, safe_div(value, total), safe_div(mass, mass_total))


def _primary_outputs(weight: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """(O,) 1.0 at the output with the largest revenue share of each process, else 0.0."""
    primary = np.zeros(weight.size)
    ends = np.append(starts[1:], weight.size)
    for start, end in zip(starts, ends, strict=True):
        if end > start:
            primary[start + int(np.argmax(weight[start:end]))] = 1.0
    return primary


def _by_process(process: np.ndarray, values: np.ndarray, n_k: int) -> np.ndarray:
    matrix = np.zeros((process.size, n_k))
    matrix[np.arange(process.size), process] = values
    return matrix


def _pairs(net: CompiledNetwork, tonnes_to_units: np.ndarray) -> dict[str, np.ndarray]:
    demand0 = net.demand0
    n_r, n_s, n_p = demand0.shape
    sectors, products = np.nonzero((demand0 > 0).any(axis=0))  # sorted by sector
    used, starts = np.unique(sectors, return_index=True)
    demand = demand0[:, sectors, products]
    units = demand * tonnes_to_units[sectors, products]
    usd = net.usd_per_unit[sectors, products]
    own = _lookup(net.own_line, (n_s, n_p), False)[sectors, products]
    gate = (demand > 0) & ~own[None, :]
    # the unit's pair in each region and sector: the sector input with the most tonnes there
    unit_pair = np.zeros((n_r, n_s), dtype=np.int64)
    best = np.full((n_r, n_s), -1.0)
    for q in range(sectors.size):
        better = gate[:, q] & (demand[:, q] > best[:, sectors[q]])
        unit_pair[better, sectors[q]] = q
        best[better, sectors[q]] = demand[better, q]
    has_unit = best > 0
    rows = np.arange(n_r)[:, None]
    return {
        "pair_product": products,
        "pair_sectors": used,
        "pair_starts": starts,
        "pair_demand": demand,
        "pair_units": units,
        "pair_value": units * usd,
        "pair_to_sector": (sectors[:, None] == np.arange(n_s)).astype(float),
        "pair_sector": sectors,
        "pair_gate": gate.astype(float),
        "pair_line": own.astype(float),
        "unit_pair": unit_pair,
        "unit_units": np.where(has_unit, units[rows, unit_pair] if units.size else 0.0, 0.0),
        "unit_usd": np.where(has_unit, usd[unit_pair] if usd.size else 0.0, 0.0),
        "value_added_share": _lookup(net.value_added_share, (n_r, n_s), 1.0),
    }


def _lookup(values: np.ndarray, shape: tuple[int, ...], fill: float | bool) -> np.ndarray:
    """``values`` where it covers ``shape`` (a network extended by analytics adds products
    after the intensities), padded with ``fill``."""
    out = np.full(shape, fill, dtype=np.asarray(values).dtype)
    rows, cols = min(shape[0], values.shape[0]), min(shape[1], values.shape[1])
    out[:rows, :cols] = values[:rows, :cols]
    return out


def _process_stages(net: CompiledNetwork) -> list[str]:
    stages = []
    for k in range(len(net.processes)):
        made = np.flatnonzero(net.recipe_out[k] > 0)
        stages.append(net.product_stage[made[0]] if made.size else STAGES[0])
    return stages
