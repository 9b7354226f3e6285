"""The reconciliation system: variables with priors, node balances and soft targets."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from rareflow.build.facts import Prov

KEYS = {
    "activity": ("region", "process"),
    "trade": ("product", "exporter", "importer"),
    "demand": ("region", "sector", "product"),
    "stock": ("region", "product"),
    "aux": ("name",),
}


@dataclass
class Var:
    kind: str
    key: tuple[str, ...]
    prior: float
    rel_sigma: float
    prov: Prov
    nonneg: bool = True
    floor: float = 0.0  # absolute standard-deviation floor, t

    @property
    def label(self) -> tuple[str, ...]:
        return (self.kind, *self.key)


@dataclass
class Registry:
    """Variables in insertion order; a repeated key adds to the existing prior."""

    items: list[Var] = field(default_factory=list)
    index: dict[tuple[str, ...], int] = field(default_factory=dict)

    def add(self, var: Var) -> None:
        if var.label in self.index:
            old = self.items[self.index[var.label]]
            old.prior += var.prior
            old.prov = Prov("derived", f"{old.prov.note} + {var.prov.note}", old.prov.url)
            return
        self.index[var.label] = len(self.items)
        self.items.append(var)

    def of(self, kind: str) -> list[Var]:
        return [v for v in self.items if v.kind == kind]

    def frame(self, kind: str, values: np.ndarray | None = None) -> pd.DataFrame:
        rows = []
        for i, v in enumerate(self.items):
            if v.kind == kind:
                value = v.prior if values is None else values[i]
                rows.append((*v.key, value))
        return pd.DataFrame(rows, columns=[*KEYS[kind], "value"])


@dataclass
class Target:
    """A soft linear target: sum(coef * var) = aux variable (prior/sigma carried by the aux)."""

    name: str
    terms: dict[tuple[str, ...], float]


def node_terms(
    reg: Registry, recipe_in: pd.DataFrame, recipe_out: pd.DataFrame
) -> dict[tuple[str, str], dict[int, float]]:
    """Coefficients of each variable in each (region, product) balance row (in - out)."""
    rows: dict[tuple[str, str], dict[int, float]] = {}

    def put(node: tuple[str, str], j: int, c: float) -> None:
        if c != 0.0:
            rows.setdefault(node, {})[j] = rows.get(node, {}).get(j, 0.0) + c

    net = recipe_out.sub(recipe_in, fill_value=0.0).fillna(0.0)
    for j, v in enumerate(reg.items):
        if v.kind == "activity":
            region, process = v.key
            for product, c in net.loc[process].to_dict().items():
                put((region, str(product)), j, float(c))
        elif v.kind == "trade":
            product, exporter, importer = v.key
            put((importer, product), j, 1.0)
            put((exporter, product), j, -1.0)
        elif v.kind in ("demand", "stock"):
            put((v.key[0], v.key[-1]), j, -1.0)
    return rows


def assemble(
    reg: Registry, nodes: dict[tuple[str, str], dict[int, float]], targets: list[Target]
) -> tuple[sp.csr_matrix, list[str]]:
    """Constraint matrix: one row per node balance, one per soft target (minus its aux)."""
    entries: list[tuple[int, int, float]] = []
    names: list[str] = []
    for r, (node, terms) in enumerate(sorted(nodes.items())):
        names.append(f"balance {node[0]} {node[1]}")
        entries += [(r, j, c) for j, c in terms.items()]
    for target in targets:
        r = len(names)
        names.append(f"target {target.name}")
        entries += [(r, reg.index[label], c) for label, c in target.terms.items()]
        entries.append((r, reg.index[("aux", target.name)], -1.0))
    ri, ci, data = zip(*entries, strict=True) if entries else ((), (), ())
    shape = (len(names), len(reg.items))
    return sp.csr_matrix((data, (ri, ci)), shape=shape), names
