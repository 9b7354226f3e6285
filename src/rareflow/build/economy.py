"""The default economy table: a compact multi-regional input-output table for the 15 regions.

The shared fact base has no GDP, value added or input-output figures, so every number comes
from ``economy_assumptions.csv``, one row each with its rationale (``provenance``): GDP per
region, the sector mix of final demand, value added per unit of output, each sector's input
mix and the share of goods bought at home (the rest from partners in proportion to their GDP).

Construction (balanced by construction, final demand never negative): technical coefficients
``A[(q,i),(r,s)] = (1 - va_s) mix_{i|s} src_{r,i}(q)``, final demand ``Y[(q,i), r] = F_r
share_i src_{r,i}(q)``, output ``x = (I - A)^-1 Y 1``; each region's final demand ``F_r`` is
scaled until its value added equals its GDP. Written in pymrio's own format (``pymrio.load``
reads it), in million USD a year, with ``provenance.csv`` beside it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from rareflow.build.dimensions import REGION_CODES

ASSUMPTIONS = Path(__file__).parent / "economy_assumptions.csv"
NON_REE = ("primary", "manufacturing", "construction", "services")
FD = "final_demand"


def assumptions() -> pd.DataFrame:
    return pd.read_csv(ASSUMPTIONS, keep_default_na=False)


def _series(a: pd.DataFrame, kind: str, key: str) -> pd.Series:
    rows = a[a["kind"] == kind]
    return pd.Series(rows["value"].astype(float).to_numpy(), index=rows[key].to_numpy())


def build_table(a: pd.DataFrame | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Z (N, N) and Y (N, regions), million USD a year, pymrio's (region, sector) index."""
    a = assumptions() if a is None else a
    regions = list(REGION_CODES)
    gdp = _series(a, "gdp", "region").loc[regions] * 1e3  # bn -> million USD
    share = _series(a, "final_share", "sector")
    sectors = list(share.index)
    va = _series(a, "va_ratio", "sector").loc[sectors]
    mix = a[a["kind"] == "input_mix"].pivot(index="input", columns="sector", values="value")
    mix = mix.reindex(index=sectors, columns=sectors).fillna(0.0).astype(float)
    goods = _series(a, "domestic_goods", "region").loc[regions]
    per_sector = _series(a, "domestic_sector", "sector")
    r_n, s_n = len(regions), len(sectors)
    home = np.tile(goods.to_numpy()[:, None], (1, s_n))  # (buyer region, input sector)
    for sector, value in per_sector.items():
        home[:, sectors.index(str(sector))] = value
    # src[q, r, i]: share of r's purchases of i that come from q
    partners = np.tile(gdp.to_numpy()[:, None], (1, r_n)) * (1 - np.eye(r_n))
    partners /= partners.sum(axis=0, keepdims=True)
    src = partners[:, :, None] * (1 - home)[None, :, :]
    src[np.arange(r_n), np.arange(r_n), :] = home
    coef = mix.to_numpy() * (1 - va.to_numpy())[None, :]  # (input i, using s)
    a_full = np.einsum("qri,is->qirs", src, coef).reshape(r_n * s_n, r_n * s_n)
    y_dir = np.einsum("qri,i->qir", src, share.to_numpy()).reshape(r_n * s_n, r_n)
    leontief = np.linalg.inv(np.eye(r_n * s_n) - a_full)
    va_n = np.tile(va.to_numpy(), r_n)
    final = gdp.to_numpy().copy()
    for _ in range(200):  # scale each region's final demand until its GDP matches
        x = leontief @ (y_dir @ final)
        made = (va_n * x).reshape(r_n, s_n).sum(axis=1)
        if np.max(np.abs(made / gdp.to_numpy() - 1)) < 1e-12:
            break
        final *= gdp.to_numpy() / made
    x = leontief @ (y_dir @ final)
    index = pd.MultiIndex.from_product([regions, sectors], names=["region", "sector"])
    z = pd.DataFrame(a_full * x[None, :], index=index, columns=index)
    columns = pd.MultiIndex.from_product([regions, [FD]], names=["region", "category"])
    y = pd.DataFrame(y_dir * final[None, :], index=index, columns=columns)
    return z, y


def write_economy(out: Path, a: pd.DataFrame | None = None) -> list[Path]:
    """Write the table in pymrio's text format (``pymrio.load(out / "table")``) and the
    assumptions it was built from (``provenance.csv``)."""
    a = assumptions() if a is None else a
    z, y = build_table(a)
    folder = out / "table"
    folder.mkdir(parents=True, exist_ok=True)
    unit = pd.DataFrame({"unit": "Mill USD"}, index=z.index)
    z.to_csv(folder / "Z.csv", sep="\t", float_format="%.10g", lineterminator="\n")
    y.to_csv(folder / "Y.csv", sep="\t", float_format="%.10g", lineterminator="\n")
    unit.to_csv(folder / "unit.csv", sep="\t", lineterminator="\n")
    files = {
        name: {"name": f"{name}.csv", "nr_index_col": "2", "nr_header": header}
        for name, header in (("Z", "2"), ("Y", "2"), ("unit", "1"))
    }
    params = {"files": files, "systemtype": "IOSystem", "name": "rareflow compact 15-region"}
    (folder / "file_parameters.json").write_text(json.dumps(params, indent=4) + "\n")
    a.to_csv(out / "provenance.csv", index=False, lineterminator="\n")
    return [folder / "Z.csv", folder / "Y.csv", folder / "unit.csv", out / "provenance.csv"]
