"""Product exposure: which of a BOM's parts a scenario's policies catch, and what follows.

For each part (a BOM row) the scenario's measures are evaluated on the supply path
supplier region -> plant region, with the engine's own selection helpers
(``rareflow.policies.effects.item_mask`` / ``region_mask``) on a network extended by one
pseudo-product per part (its element contents):

- export licences, bans and quotas catch a part that the actor exports when their items list
  its product or it holds more than ``min_content`` of a listed element;
- a content rule catches a part that a non-actor exports when its content of the rule's
  elements times its actor-origin share (the BOM's ``origin_share``, else the model's baseline
  origin share of the supplier's stock) reaches the threshold;
- a tariff the plant's region levies on the supplier is listed but cuts no volume.

Each month the path gets ``allow`` (the product of the catching measures' approved shares:
none during a lead time, none for a denied sector) times the supplier's own availability in
the run (1 - shortage / demand of the part's product in the supplier region). The part's gap
(1 - that) is drawn from its inventory (``inventory_months`` of normal use); the first month
the inventory cannot cover the gap is the first month of shortage. A product takes its
values from its binding part: the one short first (then the one with most at risk).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from rareflow.analytics.bom import CUSTOM, Bom
from rareflow.engine.parameters import resolve_parameters
from rareflow.engine.prepare import Prepared, prepare
from rareflow.model.compiled import CompiledNetwork, compile_network, month_index
from rareflow.policies import instruments as ins
from rareflow.policies.context import item_mask, region_mask, value
from rareflow.policies.effects import compile_policies
from rareflow.policies.instruments import approved_share

if TYPE_CHECKING:
    from rareflow.data.network import Network
    from rareflow.engine.result import RunResult
    from rareflow.scenarios.model import Scenario

TOL = 1e-9
MIN_SPARE_T_PER_YEAR = 1.0
SHORT_TOL = 0.01  # an alternative source may itself be short by at most this share
LEAD_TIMED = ins.Licensed
SINGLE_ELEMENT_STAGES = ("separation", "metal")


@dataclass(frozen=True)
class Part:
    """One BOM row on its supply path."""

    index: int  # its pseudo-product in the extended network
    product: str  # part_type: a product code or 'custom'
    content: np.ndarray  # (E,) mass fractions
    supplier: str
    plant: str  # '' when unknown
    sector: str  # '' when unknown
    origin: float  # actor-origin share of its content (nan: estimate from the network)


@dataclass(frozen=True)
class Catch:
    """A measure that catches a part: the share it lets through once past its lead time."""

    policy: int  # index in the scenario's policies
    factor: float
    lead_time: int
    text: str


# -- the extended network and origins ----------------------------------------------------------
def extend(net: CompiledNetwork, bom: Bom) -> CompiledNetwork:
    """``net`` with one pseudo-product per BOM part (named 'part:<row>'), holding its contents."""
    names = tuple(f"part:{row}" for row in bom.frame["row"])
    pad = np.zeros((net.demand0.shape[0], net.demand0.shape[1], len(names)))
    return dataclasses.replace(
        net,
        products=net.products + names,
        content=np.vstack([net.content, bom.content]),
        demand0=np.concatenate([net.demand0, pad], axis=2),
    )


def baseline_origin(net: CompiledNetwork, actor: str) -> np.ndarray:
    """(R, P) actor-origin share of each region's baseline stocks (the engine's estimate)."""
    from rareflow.engine.state import initial_origin
    from rareflow.engine.static import build_static

    tracked = np.array([net.regions.index(actor)], dtype=np.int64)
    return initial_origin(build_static(net), tracked)[:, :, 0]


def estimate_origin(
    net: CompiledNetwork, origin: np.ndarray, part: Part, region: str, elements: Sequence[str]
) -> float:
    """Actor-origin share of a part bought from ``region``: its product's, or for a custom part
    the share of the separated oxides richest in ``elements``, weighted by its content."""
    r = net.regions.index(region)
    if part.product != CUSTOM:
        return float(origin[r, net.products.index(part.product)])
    n_p = len(origin[r])
    oxides = [p for p in range(n_p) if net.product_stage[p] == "separation"]
    weights = part.content * np.isin(net.elements, list(elements))
    if weights.sum() <= 0:
        return 0.0
    richest = [oxides[int(np.argmax(net.content[oxides, e]))] for e in range(len(weights))]
    return float(np.dot(weights, origin[r, richest]) / weights.sum())


# -- which measures catch a part -----------------------------------------------------------------
def _importer_targeted(
    net: CompiledNetwork, targets: Sequence[str], actor: str, part: Part
) -> bool:
    if not part.plant:
        return ins.ALL in targets
    return part.plant != part.supplier and bool(
        region_mask(targets, net, actor)[net.regions.index(part.plant)]
    )


def _covered(net: CompiledNetwork, items: ins.Items, part: Part) -> bool:
    return part.product in items.products or bool(item_mask(items, net)[part.index])


def catch(
    n: int, policy: ins.PolicyBase, net: CompiledNetwork, part: Part, origin: float
) -> Catch | None:
    """How measure ``n`` catches the part bought from ``part.supplier``, or None."""
    if isinstance(policy, ins.Tariff):
        hit = part.plant == policy.actor and _covered(net, policy.items, part)
        hit = hit and bool(
            region_mask(policy.targets, net, policy.actor)[net.regions.index(part.supplier)]
        )
        rate = float(value(policy, "rate", {}))
        return Catch(n, 1.0, 0, f"{policy.id} (tariff {rate:.0%})") if hit else None
    if isinstance(policy, ins.ContentRule):
        return _content_rule(n, policy, net, part, origin)
    if not isinstance(policy, ins.Targeted) or part.supplier != policy.actor:
        return None
    if not (
        _importer_targeted(net, policy.targets, policy.actor, part)
        and _covered(net, policy.items, part)
    ):
        return None
    if isinstance(policy, ins.ExportLicense):
        denied = part.sector in policy.denied_sectors
        share = 0.0 if denied else float(value(policy, "approval_share", {}))
        why = f"denied for {part.sector}" if denied else f"{share:.0%} approved"
        lead = math.ceil(float(value(policy, "lead_time_months", {})))
        text = f"{policy.id} (export licence: {why}{_path(policy)})"
        return Catch(n, share, lead, text)
    if isinstance(policy, ins.ExportBan):
        leak = float(value(policy, "leakage_share", {}))
        return Catch(n, leak, 0, f"{policy.id} (export ban, {leak:.0%} leaks through)")
    if isinstance(policy, ins.ExportQuota):
        share = _quota_share(net, policy)
        return Catch(n, share, 0, f"{policy.id} (export quota, ~{share:.0%} of baseline exports)")
    return None


def _content_rule(
    n: int, rule: ins.ContentRule, net: CompiledNetwork, part: Part, origin: float
) -> Catch | None:
    if part.supplier == rule.actor or not _importer_targeted(net, rule.targets, rule.actor, part):
        return None
    held = float(part.content[[net.elements.index(e) for e in rule.elements]].sum())
    if held * origin < rule.threshold:  # the engine's test: content x origin >= threshold
        return None
    share = float(value(rule, "approval_share", {}))
    lead = math.ceil(float(value(rule, "lead_time_months", {})))
    text = (
        f"{rule.id} (content rule: {held:.2%} controlled x {origin:.0%} {rule.actor} origin "
        f">= {rule.threshold:.2%}; {share:.0%} approved{_path(rule)})"
    )
    return Catch(n, share, lead, text)


def _path(policy: ins.Licensed) -> str:
    """How approvals arrive: ', after a 2-month lead time, ramping over 4 months'."""
    lead = float(value(policy, "lead_time_months", {}))
    ramp = float(value(policy, "ramp_months", {}))
    text = f", after a {lead:.1f}-month lead time" if lead >= 0.05 else ""
    text += f", ramping up over {ramp:.1f} months" if ramp >= 0.05 else ""
    days = value(policy, "review_working_days", {})
    text += f", reviews of {float(days):.0f} working days" if float(days) > 0 else ""
    if policy.review_capacity is not None:
        text += f", {policy.review_capacity:.0%} of a month's applications reviewed a month"
    return text


def _quota_share(net: CompiledNetwork, quota: ins.ExportQuota) -> float:
    """The cap as a share of the baseline exports it covers (1 when those are nil)."""
    covered = item_mask(quota.items, net)[: net.trade0.shape[0]]
    importers = region_mask(quota.targets, net, quota.actor)
    exports = net.trade0[covered][:, net.regions.index(quota.actor)][:, importers].sum()
    cap = float(value(quota, "tonnes_per_year", {})) / 12.0
    return 1.0 if exports <= 0 else min(1.0, cap / float(exports))


def catches(
    scenario: Scenario,
    net: CompiledNetwork,
    part: Part,
    origins: dict[str, np.ndarray],
    region: str,
) -> list[Catch]:
    """Every measure that catches the part when bought from ``region``."""
    path = dataclasses.replace(part, supplier=region)
    found = []
    for n, policy in enumerate(scenario.policies):
        origin = part.origin
        if isinstance(policy, ins.ContentRule) and (region != part.supplier or np.isnan(origin)):
            origin = estimate_origin(net, origins[policy.actor], path, region, policy.elements)
        hit = catch(n, policy, net, path, origin)
        if hit is not None:
            found.append(hit)
    return found


# -- month by month ------------------------------------------------------------------------------
def allowed(scenario: Scenario, found: list[Catch], month_ids: np.ndarray) -> np.ndarray:
    """(T,) share of the part's supply the catching measures let through each month."""
    plan = compile_policies(scenario.policies, month_ids)
    allow = np.ones(len(month_ids))
    for hit in found:
        policy = scenario.policies[hit.policy]
        if isinstance(policy, LEAD_TIMED) and hit.factor > 0:  # lead time, then the ramp
            ages = plan.age[hit.policy]
            factor = np.array([float(np.mean(approved_share(policy, int(a), {}))) for a in ages])
        else:
            factor = np.full(len(month_ids), hit.factor)
        allow *= np.where(plan.in_force[hit.policy], factor, 1.0)
    return allow


def availability(result: RunResult, net: CompiledNetwork, part: Part) -> np.ndarray:
    """(T,) 1 - shortage / demand in the supplier region of the part's product (or, for a
    custom part, the scarcest product holding any of its elements), mean over draws."""
    ds = result.dataset
    short = ds["shortage"].sel(region=part.supplier).mean("draw")
    demand = ds["demand"].sel(region=part.supplier).mean("draw")
    if part.product != CUSTOM:
        products = [part.product]
    else:
        holds = net.content[: len(ds["product"])][:, part.content > 0].sum(axis=1) > 0
        products = [p for p, h in zip(ds["product"].values, holds, strict=True) if h]
    s, d = short.sel(product=products).values, demand.sel(product=products).values
    frac = np.divide(s, d, out=np.zeros_like(s), where=d > 0).max(axis=1)
    return np.clip(1.0 - frac, 0.0, 1.0)


def draw_down(gap: np.ndarray, months_of_cover: float) -> np.ndarray:
    """(T,) share of use not met after the inventory (in months of use) covers what it can."""
    stock, unmet = months_of_cover, np.zeros_like(gap)
    for t, g in enumerate(gap):
        used = min(stock, g)
        stock -= used
        unmet[t] = g - used
    return unmet


def spare_capacity(result: RunResult, run: Prepared, product: str) -> pd.Series:
    """Mean spare capacity (t/yr) over the horizon for ``product`` per region: the engine's
    capacity (trend, ramping projects and investments: ``Prepared.capacity``) x output per
    activity, less the run's production."""
    net = run.static.net
    p = net.products.index(product)
    made = result.dataset["production"].sel(product=product).mean("draw").values  # (T, R)
    spare = np.zeros_like(made)
    for t in range(len(run.month_ids)):
        cap = run.capacity(t)[0]
        spare[t] = np.maximum(cap @ net.recipe_out[:, p] - made[t], 0.0)
    return pd.Series(spare.mean(axis=0) * 12.0, index=list(net.regions))


# -- the report ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Exposure:
    parts: pd.DataFrame  # one row per BOM part
    products: pd.DataFrame  # one row per product, most exposed first
    scenario: str
    months: list[str]
    data: dict[str, pd.DataFrame] = dataclasses.field(default_factory=dict)  # with '_' columns

    def table(self, level: str = "product") -> pd.DataFrame:
        """The rows for reading: text columns (``first_shortage`` 'none by YYYY-MM')."""
        return self.products if level == "product" else self.parts

    def records(self, level: str = "product") -> list[dict[str, object]]:
        """The rows as data (JSON): ``first_shortage`` a month or None, ``alternatives`` a list
        of {region, spare_t_per_year, times_need} (None for a custom part, whose alternatives
        are unknown), contents as {element: value}, ``caught_by`` a list of the measures."""
        frame = self.data[level]
        out = []
        for row in frame.to_dict(orient="records"):
            data: dict[str, object] = {
                str(k): v for k, v in row.items() if not str(k).startswith("_")
            }
            first = row["_first_month"]  # a month, or a missing value (None/NaN) when none
            data["first_shortage"] = first if isinstance(first, str) else None
            data["alternatives"] = row["_alternatives"]
            data["caught_by"] = row["_caught"]
            if "controlled_content" in data:
                data["controlled_content"] = row["_content"]
            if "controlled_elements" in data:
                data["controlled_elements"] = {e: {"kg": kg} for e, kg in row["_kg"].items()}
            out.append(data)
        return out


def _parts(bom: Bom, region: str) -> list[Part]:
    rows = bom.frame
    return [
        Part(
            index=-1,  # set against the extended network
            product=str(r.part_type),
            content=bom.content[n],
            supplier=str(r.supplier_region),
            plant=str(r.plant_region) or region,
            sector=str(r.sector),
            origin=float(r.origin_share),  # type: ignore[arg-type]
        )
        for n, r in enumerate(rows.itertuples(index=False))
    ]


def controlled_elements(scenario: Scenario, net: CompiledNetwork) -> list[str]:
    """Elements the scenario controls: named by a measure, or making up most of the rare-earth
    content of an oxide or metal a measure lists (dy_oxide -> Dy; magnets name none)."""
    found: set[str] = set()
    for policy in scenario.policies:
        if isinstance(policy, ins.ContentRule):
            found.update(policy.elements)
        items = getattr(policy, "items", None)
        if isinstance(items, ins.Items):
            found.update(items.elements)
            for product in items.products:
                p = net.products.index(product)
                row = net.content[p]
                if (
                    net.product_stage[p] in SINGLE_ELEMENT_STAGES
                    and row.sum() > 0
                    and row.max() > 0.5 * row.sum()
                ):
                    found.add(net.elements[int(np.argmax(row))])
    return [e for e in net.elements if e in found]


def _first_month(months: list[str], unmet: np.ndarray) -> str | None:
    short = np.flatnonzero(unmet > TOL)
    return months[short[0]] if short.size else None


def _label(months: list[str], unmet: np.ndarray) -> str:
    return _first_month(months, unmet) or f"none by {months[-1]}"


def _alternative_rows(
    spare: pd.Series, blocked: set[str], need_t_yr: float
) -> list[dict[str, object]]:
    """Up to three regions with spare capacity (t/yr), and how many times the need each is."""
    rows = spare.drop(labels=list(blocked), errors="ignore")
    rows = rows[rows >= MIN_SPARE_T_PER_YEAR].sort_values(ascending=False).head(3)
    return [
        {"region": str(region), "spare_t_per_year": float(tonnes),
         "times_need": float(tonnes / need_t_yr) if need_t_yr > 0 else None}
        for region, tonnes in rows.items()
    ]  # fmt: skip


def _alternatives_text(rows: list[dict[str, object]] | None) -> str:
    if rows is None:
        return "n/a (custom part)"
    text = []
    for row in rows:
        times = row["times_need"]
        cover = f" ({times:.0f}x your need)" if isinstance(times, float) else ""
        text.append(f"{row['region']} {row['spare_t_per_year']:,.0f} t/yr{cover}")
    return "; ".join(text) or "none"


def _blocked(ctx: _Context, part: Part) -> set[str]:
    """Regions that are no alternative: the supplier, those a measure would catch on the way
    to the plant, and those short of the product themselves in the run (>1% at any month)."""
    blocked = {part.supplier}
    for region in ctx.base.regions:
        path = dataclasses.replace(part, supplier=region)
        caught = catches(ctx.scenario, ctx.ext, part, ctx.origins, region)
        short = availability(ctx.result, ctx.base, path).min() < 1.0 - SHORT_TOL
        if short or any(h.factor < 1.0 for h in caught):
            blocked.add(region)
    return blocked


def _part_row(ctx: _Context, part: Part, r: pd.Series) -> dict[str, object]:
    found = catches(ctx.scenario, ctx.ext, part, ctx.origins, part.supplier)
    gap = 1.0 - allowed(ctx.scenario, found, ctx.month_ids) * availability(
        ctx.result, ctx.base, part
    )
    unmet = draw_down(gap, float(r["inventory_months"]))
    content = {e: float(part.content[ctx.ext.elements.index(e)]) for e in ctx.controlled}
    content = {e: c for e, c in content.items() if c > 0}
    alternatives = None  # unknown for a custom part
    if part.product != CUSTOM:
        units = float(r["units_per_month"])
        need = float(r["kg"]) * units * 12.0 / 1000.0 if np.isfinite(units) else 0.0
        alternatives = _alternative_rows(ctx.spare(part.product), _blocked(ctx, part), need)
    return {
        "row": int(r["row"]),
        "product": r["product"],
        "part": r["part"],
        "part_type": part.product,
        "supplier": part.supplier,
        "plant": part.plant or "?",
        "controlled_content": ", ".join(f"{e} {c:.2%}" for e, c in content.items()) or "none",
        "_kg": {e: c * float(r["kg"]) for e, c in content.items()},
        "caught_by": "; ".join(h.text for h in found) or "none",
        "months_of_cover": float(r["inventory_months"]),
        "first_shortage": _label(ctx.months, unmet),
        "share_at_risk": float(gap.max()),
        "peak_output_lost": float(unmet.max()),
        "months_short": int((unmet > TOL).sum()),
        "alternatives": _alternatives_text(alternatives),
        "_first": int(np.argmax(unmet > TOL)) if (unmet > TOL).any() else len(ctx.months),
        "_first_month": _first_month(ctx.months, unmet),
        "_alternatives": alternatives,
        "_caught": [h.text for h in found],
        "_content": content,
    }


@dataclass
class _Context:
    scenario: Scenario
    run: Prepared
    base: CompiledNetwork
    ext: CompiledNetwork
    result: RunResult
    origins: dict[str, np.ndarray]
    controlled: list[str]
    months: list[str]
    month_ids: np.ndarray
    _spare: dict[str, pd.Series] = dataclasses.field(default_factory=dict)

    def spare(self, product: str) -> pd.Series:
        if product not in self._spare:
            self._spare[product] = spare_capacity(self.result, self.run, product)
        return self._spare[product]


def _mass(kg: float) -> str:
    return f"{kg:,.3g} kg" if kg >= 1.0 else f"{kg * 1000:,.3g} g"


def _products(parts: pd.DataFrame) -> pd.DataFrame:
    """One row per product from its binding part; most exposed first."""
    order = parts.sort_values(["_first", "share_at_risk"], ascending=[True, False])
    rows = []
    for product, group in order.groupby("product", sort=False):
        first = group.iloc[0]
        kg: dict[str, float] = {}
        for amounts in group["_kg"]:
            for e, v in amounts.items():
                kg[e] = kg.get(e, 0.0) + v
        caught = [c for text in group["caught_by"] if text != "none" for c in text.split("; ")]
        rows.append(
            {
                "product": product,
                "controlled_elements": ", ".join(f"{e} {_mass(v)}" for e, v in kg.items())
                or "none",
                "caught_by": "; ".join(dict.fromkeys(caught)) or "none",
                "binding_part": first["part"],
                "months_of_cover": first["months_of_cover"],
                "first_shortage": first["first_shortage"],
                "share_at_risk": float(group["share_at_risk"].max()),
                "peak_output_lost": float(group["peak_output_lost"].max()),
                "alternatives": first["alternatives"],
                "_first": int(first["_first"]),
                "_first_month": first["_first_month"],
                "_alternatives": first["_alternatives"],
                "_caught": list(dict.fromkeys(caught)),
                "_kg": kg,
            }
        )
    frame = pd.DataFrame(rows).sort_values(
        ["_first", "share_at_risk", "peak_output_lost"], ascending=[True, False, False]
    )
    return frame.drop(columns="_first").reset_index(drop=True)


def exposure(
    bom: Bom,
    scenario: Scenario,
    network: Network,
    *,
    result: RunResult | None = None,
    region: str = "",
) -> Exposure:
    """Exposure of each BOM part and product under ``scenario`` (run here unless ``result``)."""
    from rareflow.engine.dims import internal
    from rareflow.engine.run import run as simulate_run

    result = result if result is not None else simulate_run(scenario, network=network)
    result = dataclasses.replace(result, dataset=internal(result.dataset))  # 'YYYY-MM' months
    base = compile_network(network)
    months = [str(m) for m in result.dataset["month"].values]
    params = resolve_parameters(base.parameters, scenario.parameters)
    prepared = prepare(base, scenario, params, 1, months=len(months))  # as the engine runs it
    scenario = scenario.model_copy(update={"policies": list(prepared.plan.policies)})
    ext = extend(base, bom)
    n_base = len(base.products)
    parts = [dataclasses.replace(p, index=n_base + n) for n, p in enumerate(_parts(bom, region))]
    actors = {p.actor for p in scenario.policies if isinstance(p, ins.ContentRule)}
    ctx = _Context(
        scenario=scenario,
        run=prepared,
        base=base,
        ext=ext,
        result=result,
        origins={a: baseline_origin(base, a) for a in actors},
        controlled=controlled_elements(scenario, base),
        months=months,
        month_ids=np.array([month_index(m) for m in months]),
    )
    rows = [
        _part_row(ctx, part, r) for part, (_, r) in zip(parts, bom.frame.iterrows(), strict=True)
    ]
    frame = pd.DataFrame(rows)
    products = _products(frame)
    frame = frame.sort_values(["_first", "share_at_risk"], ascending=[True, False])
    parts_frame = frame.drop(columns=["_first", "_kg"]).reset_index(drop=True)
    data = {"product": products, "part": parts_frame}
    public = {k: v.drop(columns=[c for c in v if str(c).startswith("_")]) for k, v in data.items()}
    return Exposure(public["part"], public["product"], scenario.name, months, data)
