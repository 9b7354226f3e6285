"""Soft stage-share targets, stock-change terms, the solve, and the reconciled flow tables."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from rareflow.build.dimensions import HEAVY_OXIDES
from rareflow.build.facts import Facts, Prov, one, sourced
from rareflow.build.reconcile import Solution, adjustment_note, reconcile, relative_variance, within
from rareflow.build.system import KEYS, Registry, Target, Var, assemble, node_terms

STOCK_SIGMA = 0.02  # stock change sd as a share of the node's prior throughput
SHARE_TARGETS = (  # name, processes, fact filter, sd of the share
    ("separation_share", ("separate_light", "separate_ionic"),
     {"stage": "separation/refining", "element_group": "all (REE)", "year": 2024,
      "basis": "actual (IEA commentary)"}, 0.005),
    ("heavy_separation_share", ("separate_light", "separate_ionic"),
     {"stage": "separation/refining", "element_group": "HREE", "year": 2025, "basis": "CSIS"}, 0.003),
    ("sintered_share", ("make_sintered",),
     {"stage": "sintered NdFeB magnet production", "year": 2024,
      "basis": "actual (IEA commentary)"}, 0.005),
    ("metal_share", ("reduce_ndpr", "reduce_dy", "reduce_tb", "reduce_sm"),
     {"stage": "metal & alloy production"}, 0.02),
)  # fmt: skip


def heavy_output(recipe_out: pd.DataFrame) -> pd.Series:
    cols = [c for c in HEAVY_OXIDES if c in recipe_out]
    return recipe_out[cols].sum(axis=1)


def share_targets(reg: Registry, facts: Facts, recipe_out: pd.DataFrame) -> list[Target]:
    """China's stage shares as soft targets: sum((1[CHN] - s) * w * activity) = aux ~ 0."""
    heavy, targets = heavy_output(recipe_out), []
    for name, processes, filt, sd in SHARE_TARGETS:
        row = one(facts["stage_shares"], country="China", **filt)
        share = float(row["share_pct"]) / 100.0
        terms, world = {}, 0.0
        for v in reg.of("activity"):
            if v.key[1] in processes:
                w = float(heavy[v.key[1]]) if name.startswith("heavy") else 1.0
                terms[v.label] = ((v.key[0] == "CHN") - share) * w
                world += w * v.prior
        prov = sourced(facts["stage_shares"], row, f"soft target: China {share:.0%} of {name}")
        reg.add(Var("aux", (name,), 0.0, 0.0, prov, nonneg=False, floor=sd * world))
        targets.append(Target(name, terms))
    return targets


def stock_vars(reg: Registry, recipe_in: pd.DataFrame, recipe_out: pd.DataFrame) -> None:
    """A stock-change term (prior 0) for every balance node with flows."""
    x0 = np.array([v.prior for v in reg.items])
    for node, terms in sorted(node_terms(reg, recipe_in, recipe_out).items()):
        inflow = sum(max(c * x0[j], 0.0) for j, c in terms.items())
        if inflow > 0:
            prov = Prov("derived", "reconciliation balancing term (prior 0: no stock change "
                        "data in the facts)")  # fmt: skip
            reg.add(Var("stock", node, 0.0, 0.0, prov, nonneg=False, floor=STOCK_SIGMA * inflow))


@dataclass(frozen=True)
class Result:
    reg: Registry
    solution: Solution
    matrix: sp.csr_matrix
    rows: list[str]
    x0: np.ndarray


def solve(reg: Registry, recipe_in: pd.DataFrame, recipe_out: pd.DataFrame,
          targets: list[Target]) -> Result:  # fmt: skip
    nodes = node_terms(reg, recipe_in, recipe_out)
    matrix, rows = assemble(reg, nodes, targets)
    x0 = np.array([v.prior for v in reg.items])
    rel = np.array([v.rel_sigma for v in reg.items])
    floor = np.array([v.floor for v in reg.items])
    var = relative_variance(x0, rel) + floor**2
    nonneg = np.array([v.nonneg for v in reg.items])
    solution = reconcile(x0, var, matrix, np.zeros(len(rows)), nonneg)
    return Result(reg, solution, matrix, rows, x0)


def flow_table(res: Result, kind: str, year: int) -> pd.DataFrame:
    """One reconciled table (production, trade, demand, stock_changes) with provenance."""
    out = []
    for j, v in enumerate(res.reg.items):
        if v.kind != kind:
            continue
        value, prior = float(res.solution.x[j]), float(res.x0[j])
        if kind != "stock" and value <= 0.0:
            continue
        if kind == "stock" and abs(value) < 1e-6:
            continue
        prov = v.prov
        if kind != "stock" and not within(prior, value):
            prov = Prov("derived", adjustment_note(f"[{v.prov.kind}] {v.prov.note}", prior, value),
                        v.prov.url)  # fmt: skip
        row = dict(zip(KEYS[kind], v.key, strict=True))
        out.append({**row, "year": year, "tonnes_per_year": value, "provenance": prov.kind,
                    "source_url": prov.url, "note": prov.note})  # fmt: skip
    return pd.DataFrame(out)
