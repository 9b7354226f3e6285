"""Runs a chunk of draws through the compiled kernel (``kernel.py``): flattens ``Static`` into
a ``Topology``, each month's ``MonthEffects`` onto the trade arcs, and checks the balance
the kernel measured, raising the same ``MassBalanceError`` as the numpy path.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping

import numpy as np

from rareflow.engine import kernel as kn
from rareflow.engine.numeric import TOLERANCE
from rareflow.engine.outputs import OUTPUTS
from rareflow.engine.parameters import ParamValue
from rareflow.engine.state import State
from rareflow.engine.static import Static
from rareflow.errors import MassBalanceError
from rareflow.model.compiled import month_label
from rareflow.policies.channels import CellField, ContentRule, MonthEffects


def topology(static: Static, origins: np.ndarray) -> kn.Topology:
    """``Static`` for the kernel; origins: (O,) regions whose origin shares are tracked."""
    net = static.net
    n_p = len(net.products)

    def ragged(parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        ptr = np.concatenate([[0], np.cumsum([len(x) for x in parts])]).astype(np.int64)
        flat = np.concatenate(parts) if parts else np.zeros(0)
        return ptr, np.ascontiguousarray(flat, dtype=np.int64)

    arcs = static.arcs
    procs = ragged([st.processes for st in static.stages])
    ins = ragged([st.inputs for st in static.stages])
    prods = ragged([np.arange(n_p)[st.products] for st in static.stages])
    if np.any(np.diff(arcs.product) < 0):
        raise ValueError("trade arcs must be sorted by product")
    product_arcs_ptr = np.searchsorted(arcs.product, np.arange(n_p + 1)).astype(np.int64)
    in_p, in_k = np.nonzero(net.recipe_in.T)  # by product, then process
    sub_p, sub_k = np.nonzero(static.recipe_sub.T)
    f64 = lambda x: np.ascontiguousarray(x, dtype=np.float64)  # noqa: E731
    i64 = lambda x: np.ascontiguousarray(x, dtype=np.int64)  # noqa: E731
    u64 = lambda x: np.ascontiguousarray(x, dtype=kn.INDEX)  # noqa: E731
    return kn.Topology(
        base_month=int(static.base_month),
        tracked=i64(origins),
        origin_of=i64(own_origin_index(len(net.regions), origins)),
        china=int(net.china),
        n_sectors=len(net.sectors),
        cover_months=f64(net.cover_months),
        use0=f64(static.use0),
        final0=f64(static.final0),
        demanded=np.ascontiguousarray((static.final0 > 0).any(axis=0)),
        imports0=f64(static.imports0),
        import_share=f64(static.import_share),
        net_pull0=f64(static.net_pull0),
        production0=f64(static.production0),
        inv_production0=f64(reciprocal(static.production0)),
        has_imports=np.ascontiguousarray(arcs.has_imports.reshape(static.use0.shape)),
        capacity0=f64(net.capacity),
        activity0=f64(net.activity0),
        recipe_in=f64(net.recipe_in),
        recipe_sub=f64(static.recipe_sub),
        recipe_out=f64(net.recipe_out),
        out_process=i64(static.out_process),
        out_product=i64(static.out_product),
        out_yield=f64(static.out_yield),
        inv_out_yield=f64(1.0 / static.out_yield),
        out_weight=f64(static.out_weight),
        out_primary=f64(static.out_primary),
        has_outputs=np.ascontiguousarray(static.has_outputs, dtype=np.bool_),
        **process_recipes(static),
        stage_procs_ptr=procs[0],
        stage_procs=procs[1],
        stage_ins_ptr=ins[0],
        stage_ins=ins[1],
        stage_prods_ptr=prods[0],
        stage_prods=prods[1],
        product_arcs_ptr=u64(product_arcs_ptr),
        in_product=i64(in_p),
        in_process=i64(in_k),
        in_value=f64(net.recipe_in[in_k, in_p]),
        sub_product=i64(sub_p),
        sub_process=i64(sub_k),
        sub_value=f64(static.recipe_sub[sub_k, sub_p]),
        arc_product=u64(arcs.product),
        arc_exporter=u64(arcs.exporter),
        arc_importer=u64(arcs.importer),
        share0=f64(arcs.share0),
        transit=f64(arcs.transit),
        at_sea0=f64(static.at_sea0),
        price0=f64(net.price0),
        market_of=i64(static.market_of),
        substitutable=np.ascontiguousarray(static.substitutable, dtype=np.bool_),
        pair_product=i64(static.pair_product),
        pair_sector=i64(static.pair_sector),
        pair_demand=f64(static.pair_demand),
        pair_units=f64(static.pair_units),
        pair_value=f64(static.pair_value),
        pair_gate=f64(static.pair_gate),
        pair_line=f64(static.pair_line),
        unit_pair=i64(static.unit_pair),
        unit_units=f64(static.unit_units),
        unit_usd=f64(static.unit_usd),
        value_added_share=f64(static.value_added_share),
        log_thinness=f64(static.log_thinness),
        cost_product=i64(static.cost_product),
        cost_inputs=f64(static.cost_inputs),
        entry_weight=f64(static.entry_weight),
        entry_scale=f64(static.entry_scale),
        entry_stage=i64(static.entry_stage),
    )


def own_origin_index(n_regions: int, origins: np.ndarray) -> np.ndarray:
    """(R,) the tracked origin of each region's own output: its index in ``origins``, -1
    where the region is not tracked."""
    index = np.full(n_regions, -1, dtype=np.int64)
    index[origins] = np.arange(len(origins))
    return index


def reciprocal(x: np.ndarray) -> np.ndarray:
    """1 / x where x > 0, else 0."""
    return np.divide(1.0, x, out=np.zeros_like(x, dtype=float), where=x > 0)


def process_recipes(static: Static) -> dict[str, np.ndarray]:
    """Each process's nonzero recipe entries on its stage's inputs and products, as CSR
    lists (``Topology.proc_in_ptr``): the kernel loops over a few dozen, not K x P."""
    net = static.net
    n_k, n_p = net.recipe_in.shape
    ins: list[list[int]] = [[] for _ in range(n_k)]
    outs: list[list[int]] = [[] for _ in range(n_k)]
    for st in static.stages:
        for k in np.arange(n_k)[st.processes]:
            ins[k] = [int(p) for p in st.inputs if net.recipe_in[k, p] > 0]
            outs[k] = [int(p) for p in np.arange(n_p)[st.products] if net.recipe_out[k, p] != 0]
    in_k = np.repeat(np.arange(n_k), [len(x) for x in ins])
    in_p = np.array([p for x in ins for p in x], dtype=np.int64)
    out_k = np.repeat(np.arange(n_k), [len(x) for x in outs])
    out_p = np.array([p for x in outs for p in x], dtype=np.int64)
    ptr = lambda parts: np.cumsum([0, *map(len, parts)], dtype=np.int64)  # noqa: E731
    return {
        "proc_in_ptr": ptr(ins),
        "proc_in_product": in_p,
        "proc_in_value": np.ascontiguousarray(net.recipe_in[in_k, in_p], dtype=float),
        "proc_in_sub": np.ascontiguousarray(static.recipe_sub[in_k, in_p], dtype=float),
        "proc_out_ptr": ptr(outs),
        "proc_out_product": out_p,
        "proc_out_value": np.ascontiguousarray(net.recipe_out[out_k, out_p], dtype=float),
    }


def tiled(x: np.ndarray) -> np.ndarray:
    """(1|D, ...) -> (1|NT, ..., TILE): draws padded to whole tiles (with copies of the last
    draw, whose results are never read) and moved last; a shared (1, ...) array is repeated
    across the lanes of its one tile."""
    x = np.asarray(x, dtype=x.dtype if x.dtype == np.bool_ else float)
    if x.shape[0] == 1:
        return np.ascontiguousarray(np.repeat(x[..., None], kn.TILE, axis=-1))
    n_tiles = -(-x.shape[0] // kn.TILE)
    pad = n_tiles * kn.TILE - x.shape[0]
    if pad:
        x = np.concatenate([x, np.repeat(x[-1:], pad, axis=0)])
    x = x.reshape(n_tiles, kn.TILE, *x.shape[1:])
    return np.ascontiguousarray(np.moveaxis(x, 1, -1))


def columns(values: list[np.ndarray], dtype: type = float) -> np.ndarray:
    """(1|D, len(values)): (1,) or (D,) values side by side (an empty list: (1, 0))."""
    if not values:
        return np.zeros((1, 0), dtype=dtype)
    n = max(v.size for v in values)
    stacked = np.stack([np.broadcast_to(v, (n,)) for v in values], 1)
    return np.ascontiguousarray(stacked, dtype=dtype)


def cell_terms(f: CellField) -> kn.CellTerms:
    """A ``CellField`` for the kernel: its terms' arcs and rows flattened, columns tiled."""
    sizes = [t.idx.size for t in f.terms]
    ptr = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    flat = lambda xs, dt: np.ascontiguousarray(np.concatenate(xs) if xs else [], dtype=dt)  # noqa: E731
    always = np.ones(1, dtype=np.bool_)
    return kn.CellTerms(
        base=np.ascontiguousarray(f.base, dtype=float),
        ptr=ptr,
        idx=flat([t.idx for t in f.terms], kn.INDEX),
        row=flat([t.row for t in f.terms], np.float64),
        col=tiled(columns([t.col for t in f.terms])),
        on=tiled(columns([always if t.on is None else t.on for t in f.terms], np.bool_)),
    )


def effects(static: Static, fx: MonthEffects, added: np.ndarray) -> kn.Effects:
    """``MonthEffects`` on the trade arcs (``month_effects`` with ``cells=static.arcs.cell``),
    every array C-contiguous with a 1 or D axis."""
    n_a = static.arcs.size
    if fx.allowed.base.size != n_a:  # the kernel does not check bounds
        raise ValueError(f"effects on {fx.allowed.base.size} cells, not the {n_a} trade arcs")

    def per_draw(x: float | np.ndarray) -> np.ndarray:
        return np.atleast_1d(np.asarray(x, dtype=float))

    rules = fx.content_rules
    covered = [rule_arcs(static, r) for r in rules]
    lead = np.zeros(n_a, dtype=np.bool_)  # rule 0's arcs no term covers: in the base pass
    if rules:
        termed = np.zeros(n_a, dtype=np.bool_)
        for term in fx.allowed.terms:
            termed[term.idx] = True
        lead[covered[0][~termed[covered[0]]]] = True
        covered[0] = covered[0][termed[covered[0]]]
    return kn.Effects(
        allow=cell_terms(fx.allowed),
        tariff=cell_terms(fx.taxed),
        taxed=bool(np.any(fx.taxed.base)) or any(np.any(t.col) for t in fx.taxed.terms),
        **{name: tiled(x) for name, x in fx.dense_arrays().items()},  # channels.DENSE
        added=np.ascontiguousarray(added, dtype=float),
        quota_mask=np.array([q.mask for q in fx.quotas], dtype=np.bool_).reshape(
            len(fx.quotas), n_a
        ),
        quota_cap=tiled(columns([per_draw(q.cap) for q in fx.quotas])),
        rule_content=np.array([r.content for r in rules], dtype=float).reshape(
            len(rules), len(static.net.products)
        ),
        rule_threshold=np.array([r.threshold for r in rules], dtype=float),
        rule_origins=np.array([r.origins for r in rules], dtype=np.bool_).reshape(
            len(rules), len(static.net.regions)
        ),
        rule_ptr=np.cumsum([0, *(x.size for x in covered)], dtype=np.int64),
        rule_arcs=np.ascontiguousarray(np.concatenate([np.zeros(0), *covered]), dtype=kn.INDEX),
        rule_factor=tiled(columns([per_draw(r.factor) for r in rules])),
        rule_lead=lead,
    )


def rule_arcs(static: Static, rule: ContentRule) -> np.ndarray:
    """Arcs a content rule may cover: of a product whose content can reach the threshold
    (origin shares are at most 1), from an exporter other than the rule's origins, to a
    target."""
    arcs = static.arcs
    rich = rule.content[arcs.product] >= rule.threshold
    bound = np.ones(len(rule.targets), dtype=bool) if rule.exporters is None else rule.exporters
    return np.flatnonzero(
        rich & ~rule.origins[arcs.exporter] & rule.targets[arcs.importer] & bound[arcs.exporter]
    )


def parameter_matrix(params: Mapping[str, ParamValue], n: int) -> np.ndarray:
    """(NT, len(kernel.PARAMETERS), TILE) per-draw parameters in the kernel's order."""
    cols = [np.broadcast_to(np.asarray(params[k], dtype=float), (n,)) for k in kn.PARAMETERS]
    return tiled(np.stack(cols, axis=1))


def kernel_state(state: State) -> kn.KState:
    n_d, _, n_p = state.stock.shape
    share = tiled(state.share.T)
    return kn.KState(
        stock=tiled(state.stock),
        share=share,
        price=tiled(state.price),
        demand_mult=tiled(state.demand_mult),
        demand_short=tiled(state.demand_short),
        demand_long=tiled(state.demand_long),
        subst=tiled(state.subst),
        origin=tiled(state.origin),
        pull=tiled(state.pull),
        drawn=tiled(state.drawn),
        signal=tiled(state.signal),
        pipeline=tiled(state.pipeline),
        entered=tiled(state.entered),
        touched=np.zeros((-(-n_d // kn.TILE), n_p, kn.TILE), dtype=np.bool_),
        carries=np.ascontiguousarray((share != 0.0).any(axis=-1)),
        backlog_units=tiled(state.backlog_units),
        backlog_usd=tiled(state.backlog_usd),
        at_sea=tiled(state.at_sea.T),
    )


NODE_OUTPUTS = [k for k, (dims, _) in OUTPUTS.items() if dims == ("region", "product")]


def outputs(static: Static, n: int, keep: Collection[str]) -> kn.Out:
    """Output buffers for n draws; node outputs and shipments not in ``keep`` are left empty
    (the kernel then skips them). Sector losses and prices are always recorded."""
    n_r, n_p, _, n_s = static.shape
    sectors = (n, n_r, n_s)
    nodes = {k: np.empty((n if k in keep else 0, n_r, n_p)) for k in NODE_OUTPUTS}
    return kn.Out(
        **nodes,
        shortage_share=np.empty(sectors),
        units_not_built=np.empty(sectors),
        units_deferred=np.empty(sectors),
        units_lost=np.empty(sectors),
        value_lost=np.empty(sectors),
        value_deferred=np.empty(sectors),
        gross_output_lost=np.empty(sectors),
        price=np.empty((n, n_p, len(static.net.markets))),
        shipments=np.empty((n if "shipments" in keep else 0, static.arcs.size)),
        residual=np.empty(n),
        check=np.empty((n, 4)),
    )


def run_months(
    static: Static,
    state: State,
    params: Mapping[str, ParamValue],
    month_ids: np.ndarray,
    effects_of: Callable[[int], kn.Effects],
    origins: np.ndarray,
    draw0: int,
    keep: Collection[str] = tuple(OUTPUTS),
) -> Iterator[tuple[int, dict[str, np.ndarray], float]]:
    """Yield (t, recorded arrays, max residual) month by month, as ``simulate._run_chunk``
    does: the outputs named in ``keep`` (shipments (A, D)), valid until the next month is
    asked for."""
    topo = topology(static, origins)  # a few ms: once per chunk
    n = state.stock.shape[0]
    kstate = kernel_state(state)
    prm = parameter_matrix(params, n)
    out = outputs(static, n, keep)
    n_r, n_p, n_k, n_s = static.shape
    w = kn.work(n_r, n_p, n_k, static.arcs.size, n_s, len(static.net.markets), 1, len(origins))
    for t, month in enumerate(month_ids):
        fx = effects_of(t)
        if fx.quota_mask.shape[0] > w.quota.shape[0]:  # a quota starts
            w = w._replace(quota=np.empty((fx.quota_mask.shape[0], kn.TILE)))
        if t == 0:
            kn.compile_month(topo, fx, kstate, prm, int(month), out, w)
        kn.month(topo, fx, kstate, prm, int(month), out, w)
        worst = check(static, out, int(month), draw0)
        yield t, recorded(out, keep), worst


def recorded(out: kn.Out, keep: Collection[str]) -> dict[str, np.ndarray]:
    arrays = {k: getattr(out, k) for k in OUTPUTS if k != "shipments"}
    arrays["shipments"] = out.shipments.T
    return {k: arrays[k] for k in keep}


def check(static: Static, out: kn.Out, month: int, draw0: int) -> float:
    """The month's largest residual; raises ``MassBalanceError`` on the first broken draw."""
    worst = float(out.residual.max()) if out.residual.size else 0.0
    broken = np.flatnonzero(out.check[:, 0] != 0)
    if not broken.size and worst <= TOLERANCE:
        return worst
    d = int(broken[0]) if broken.size else int(np.argmax(np.isnan(out.residual)))
    code, r, p, value = out.check[d]
    net = static.net
    if code == kn.RESIDUAL or not broken.size:
        what = f"relative residual {worst:.3g} > {TOLERANCE:g}"
    elif code == kn.NEGATIVE_SHIPMENTS:
        what = "negative shipments"
    else:
        what = f"negative {kn.NODE_CHECKS[int(code) - 3]} {value:.3g} t"
    raise MassBalanceError(
        f"mass balance broken in {month_label(month)} at region {net.regions[int(r)]}, "
        f"product {net.products[int(p)]} (draw {draw0 + d}): {what}"
    )
