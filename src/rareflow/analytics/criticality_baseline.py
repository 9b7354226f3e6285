"""The EU supply-risk formula applied to a rareflow network (the baseline or a user's data).

For each rare earth (and all of them together) at the two stages the EU assesses, mining
(extraction) and separation (processing):

* global supply shares: the element content of the stage's output by region (``shares``);
* EU sourcing shares: EU output plus imports into the EU regions (DEU, XEU) by exporter, in
  element content, from the network's trade table;
* IR: EU net imports over EU apparent consumption of the stage's products (clipped to 0..1);
* EoL_RIR and SI_SR: the element's values in the EU 2023 inputs (2017 where 2023 lacks them,
  or the other way round with ``assessment="eu2017"``);
* governance: the inputs hold no WGI scores for these regions, so a uniform scaled WGI
  (``DEFAULT_WGI``) is used unless the caller passes ``wgi`` (region -> 0-10); the trade
  variable t is 1.0, as the 2023 inputs give it for every rare-earth producer.

So SR here is an HHI-driven approximation: comparable between runs and datasets, not a
reproduction of the published SR (which needs the WGI scores). EI is not computed (no sector
value added in the network), so ``critical`` is left unknown and ``meets_SR_threshold`` said.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from rareflow.analytics import criticality as crit
from rareflow.analytics import criticality_inputs as ci
from rareflow.analytics.concentration import hhi
from rareflow.analytics.shares import _num, check_element, default_year, element_output

if TYPE_CHECKING:
    from rareflow.data.network import Network

EU_REGIONS = ("DEU", "XEU")
DEFAULT_WGI = 5.0  # mid-scale placeholder: no WGI scores in the inputs (see module docstring)
EU_STAGES = {"mining": "Extraction", "separation": "Processing"}


def _stage_products(network: Network, stage: str) -> list[str]:
    products = network.tables["products"]
    return list(products.loc[products["stage"] == stage, "product"])


def _element_trade(network: Network, year: int, stage: str, elements: list[str]) -> pd.DataFrame:
    """Trade of the stage's products in element content: exporter, importer, tonnes."""
    trade = network.tables["trade"]
    trade = trade.loc[
        (pd.to_numeric(trade["year"]) == year)
        & trade["product"].isin(_stage_products(network, stage))
    ].copy()
    trade["tonnes"] = _num(trade, "tonnes_per_year")
    contents = network.tables["contents"]
    contents = contents.loc[contents["element"].isin(elements)].copy()
    contents["fraction"] = _num(contents, "mass_fraction")
    merged = trade.merge(contents[["product", "fraction"]], on="product")
    merged["tonnes"] = merged["tonnes"] * merged["fraction"]
    return merged.groupby(["exporter", "importer"], as_index=False).agg(tonnes=("tonnes", "sum"))


def eu_sourcing(
    network: Network, year: int, stage: str, elements: list[str]
) -> tuple[pd.Series, float]:
    """EU supply by origin region (EU output + imports) and the EU's import reliance."""
    output = element_output(network, year, stage, elements)
    trade = _element_trade(network, year, stage, elements)
    into_eu = trade["importer"].isin(EU_REGIONS) & ~trade["exporter"].isin(EU_REGIONS)
    out_of_eu = trade["exporter"].isin(EU_REGIONS) & ~trade["importer"].isin(EU_REGIONS)
    imports = trade.loc[into_eu].groupby("exporter")["tonnes"].sum()
    domestic = float(output.reindex(list(EU_REGIONS)).fillna(0.0).sum())
    sourcing = imports.copy()
    sourcing["EU"] = domestic
    net_imports = float(imports.sum() - trade.loc[out_of_eu, "tonnes"].sum())
    consumption = domestic + net_imports
    ir = float(np.clip(net_imports / consumption, 0.0, 1.0)) if consumption > 0 else 0.0
    return sourcing[sourcing > 0], ir


def _weighted_hhi(quantities: pd.Series, wgi: Mapping[str, float]) -> float:
    if quantities.sum() <= 0:
        return float("nan")
    shares = quantities / quantities.sum()
    scores = [wgi.get(str(region), DEFAULT_WGI) for region in shares.index]
    return crit.hhi_wgi_t(shares.to_list(), scores)


def _material_inputs(
    inputs: pd.DataFrame, material: str, order: tuple[str, ...]
) -> tuple[float, float, str]:
    """EoL_RIR and SI_SR for a material from the first assessment in ``order`` that has both."""
    for code in order:
        rows = inputs.loc[(inputs["assessment"] == code) & (inputs["material"] == material)]
        eol, si = ci.parameter(rows, "EoL_RIR"), ci.parameter(rows, "SI_SR")
        if eol is not None and si is not None:
            return eol[0], si[0], code
    return float("nan"), float("nan"), ""


def _sr(gs: float, eu: float, ir: float, eol: float, si: float) -> float:
    """SR, or NaN when the global HHI or the material's inputs are unknown."""
    if np.isnan(gs) or np.isnan(si) or np.isnan(eol):
        return float("nan")
    return crit.supply_risk(gs, None if np.isnan(eu) else eu, ir, eol, si)


def _stage_row(
    network: Network, year: int, stage: str, elements: list[str], wgi: Mapping[str, float]
) -> dict[str, Any]:
    output = element_output(network, year, stage, elements)
    output = output[output > 0]
    sourcing, ir = eu_sourcing(network, year, stage, elements)
    return {
        "stage": stage,
        "eu_stage": EU_STAGES[stage],
        "tonnes": float(output.sum()),
        "HHI": hhi(output) if output.sum() > 0 else float("nan"),
        "top1_region": output.idxmax() if not output.empty else "",
        "top1_share": float(output.max() / output.sum()) if not output.empty else float("nan"),
        "HHI_WGI_t_GS": _weighted_hhi(output, wgi),
        "HHI_WGI_t_EU": _weighted_hhi(sourcing, wgi) if not sourcing.empty else float("nan"),
        "IR": ir,
    }


def _targets(network: Network, element: str | None) -> list[tuple[str, str, list[str]]]:
    """(label, material name, elements) for each element with a name, plus all of them."""
    table = network.tables["elements"]
    if element is not None:
        check_element(network, element)
        table = table.loc[table["element"] == element]
    targets = [
        (str(e), str(n), [str(e)]) for e, n in zip(table["element"], table["name"], strict=False)
    ]
    if element is None:
        targets.append(("REE", "Rare earths (all)", list(network.elements)))
    return targets


def baseline_supply_risk(
    network: Network,
    year: int | None = None,
    element: str | None = None,
    *,
    wgi: Mapping[str, float] | None = None,
    inputs_path: str | Path | None = None,
    assessment: str = "eu2023",
) -> pd.DataFrame:
    """HHI-based EU supply risk per element and EU stage from the network's shares and trade.

    EoL_RIR and SI_SR come from ``assessment``'s inputs, falling back to the other one.
    """
    first = ci.check_assessment(assessment)
    order = (first, *(c for c in ci.ASSESSMENTS.values() if c != first))
    year = default_year(network) if year is None else int(year)
    inputs = ci.load_inputs(inputs_path)
    names = {m.lower(): m for m in inputs["material"].unique()}
    rows = []
    for label, name, elements in _targets(network, element):
        material = names.get(name.lower(), name)
        eol, si, source = _material_inputs(inputs, material, order)
        for stage in EU_STAGES:
            row = _stage_row(network, year, stage, elements, wgi or {})
            sr = _sr(row["HHI_WGI_t_GS"], row["HHI_WGI_t_EU"], row["IR"], eol, si)
            rows.append(
                {
                    "element": label,
                    "material": material,
                    "year": year,
                    **row,
                    "EoL_RIR": eol,
                    "SI_SR": si,
                    "inputs_from": source or "none",
                    "SR": sr,
                    "meets_SR_threshold": None if np.isnan(sr) else bool(sr >= crit.SR_THRESHOLD),
                    "governance": "given" if wgi else f"uniform WGI {DEFAULT_WGI:g} (assumed)",
                    "missing": "" if source else f"no EoL_RIR/SI_SR for {material} in the inputs",
                }
            )
    return _mark_bottleneck(pd.DataFrame(rows))


def _mark_bottleneck(frame: pd.DataFrame) -> pd.DataFrame:
    """Flag the stage with the higher SR per element (the 2023 rule)."""
    best = frame.groupby("element")["SR"].transform("max")
    frame["bottleneck"] = frame["SR"].notna() & (frame["SR"] == best)
    return frame
