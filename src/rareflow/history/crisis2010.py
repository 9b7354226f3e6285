"""The 2010-2011 episode: China's export-quota cut and the Japan customs hold, on a 2010 network.

The 2010 baseline is the 2024 network scaled to 2010's size: every flow, stock and capacity is
multiplied by world rare-earth demand in 2010 over world mine output in the 2024 tables
(recipes are per tonne, so mass balance holds), the base year becomes 2010, and capacity
projects (all later than 2010) are dropped. Prices stay at the 2024 baseline: results are
price *multiples* against the 2010 baseline run, not USD levels. Facts come from
``crisis_2010_inputs.csv`` (read, never written into the model).

Scenarios, each from 2010-01 for 24 months:

- ``quota_literal``: the timeline's quotas (30,258 t in 2010; 28,892 t/yr from 2011);
- ``quota_cut``: the same cut relative to China's modelled material exports (2010 quota / 2009
  quota = 0.60; 2011: 0.58), because the scaled network's exports are smaller than 2010's;
- ``embargo``: the timeline's Japan customs hold (2010-10..2010-11, 10% leakage);
- ``both``: ``quota_cut`` and ``embargo``.

``run_unwind`` runs ``both`` on to the end of 2013: the peak's timing, its multiple and how far
it has unwound.

What it gets right and wrong: ``findings(table)`` (read off the run) and ``LIMITS``, printed by
``python -m rareflow.history.crisis2010``.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from rareflow.errors import UserInputError
from rareflow.history.observed import calibration_dir
from rareflow.policies import instruments as ins
from rareflow.policies.instruments import Policy
from rareflow.scenarios.model import Scenario

if TYPE_CHECKING:
    import pandas as pd

    from rareflow.engine.parameters import ParamValue
    from rareflow.engine.simulate import RawResult
    from rareflow.model.compiled import CompiledNetwork

FILE_NAME = "crisis_2010_inputs.csv"
START, MONTHS = "2010-01", 24
UNWIND_END = "2013-12"  # the decay is judged to the end of 2013
UNWIND_PRODUCTS = ("dy_oxide", "tb_oxide", "ndpr_oxide")
PRODUCTS = ("lace_oxide", "ndpr_oxide", "dy_oxide", "tb_oxide", "ndpr_metal", "ndfeb_sintered")
MAGNETS = ("ndfeb_sintered", "ndfeb_bonded", "smco")
# the products and checkpoints ``modelled_paths`` and ``summarize`` report (``rareflow hindcast``)
PATH_PRODUCTS = (
    "lace_oxide", "ndpr_oxide", "dy_oxide", "tb_oxide", "eu_oxide", "y_oxide", "gd_oxide",
    "sm_oxide", "ndpr_metal", "dy_metal", "tb_metal", "ndfeb_sintered",
)  # fmt: skip
CHECKPOINTS = ("2010-12", "2011-06", "2011-12", "2012-12", "2013-12", "2015-12")


def crisis_facts(path: Path | None = None) -> dict[str, float]:
    """The figures the episode uses, each from one row of ``crisis_2010_inputs.csv``."""
    import pandas as pd

    path = path or calibration_dir() / FILE_NAME
    if not path.exists():
        raise UserInputError("the 2010 crisis inputs are not there", file=str(path))
    rows = pd.read_csv(path, dtype=str)

    def pick(series: str, when: str, element: str = "REE (all)") -> float:
        hit = rows[
            (rows["series"] == series)
            & (rows["year_or_date"] == when)
            & (rows["element"] == element)
        ]
        return float(hit["value"].iloc[0])

    return {
        "world_demand_2010_t": pick("world_demand", "2010"),
        "quota_2009_t": pick("export_quota_annual_total", "2009"),
        "quota_2010_t": pick("export_quota_annual_total", "2010"),
        "exports_2010_t": pick("export_actual", "2010", "REE ore+metals+compounds"),
    }


def network_2010(compiled: CompiledNetwork, world_demand_t: float) -> CompiledNetwork:
    """The compiled network scaled to 2010 (see the module docstring)."""
    mines = [compiled.processes.index(p) for p in compiled.processes if p.startswith("mine_")]
    factor = world_demand_t / (compiled.activity0[:, mines].sum() * 12.0)
    return dataclasses.replace(
        compiled,
        base_year=2010,
        capacity=compiled.capacity * factor,
        activity0=compiled.activity0 * factor,
        trade0=compiled.trade0 * factor,
        demand0=compiled.demand0 * factor,
        stock_change0=compiled.stock_change0 * factor,
        project_tonnes_per_month=np.zeros_like(compiled.project_tonnes_per_month),
        parameters={**compiled.parameters, "base_year": 2010.0},
    )


def material_exports(compiled: CompiledNetwork) -> float:
    """China's baseline exports of ores, oxides and metals, t/year."""
    china = compiled.regions.index("CHN")
    rows = [i for i, p in enumerate(compiled.products) if p not in MAGNETS]
    return float(compiled.trade0[rows, china, :].sum() * 12.0)


def scenarios(compiled: CompiledNetwork, facts: dict[str, float]) -> dict[str, Scenario]:
    from rareflow.history.timeline import all_policies

    by_id = {p.id: p for p in all_policies()}
    literal: list[Policy] = [by_id["cn-quota-2010"], by_id["cn-quota-2011-2014"]]
    base = material_exports(compiled) / facts["quota_2009_t"]
    relative: list[Policy] = [
        p.model_copy(update={"id": p.id + "-relative", "tonnes_per_year": p.tonnes_per_year * base})
        for p in literal
        if isinstance(p, ins.ExportQuota)
    ]
    embargo: list[Policy] = [by_id["cn-japan-hold-2010"]]
    plans: dict[str, list[Policy]] = {
        "baseline": [],
        "quota_literal": literal,
        "quota_cut": relative,
        "embargo": embargo,
        "both": relative + embargo,
    }
    return {
        name: Scenario(name=f"crisis-2010-{name}", start=START, months=MONTHS, policies=pols)
        for name, pols in plans.items()
    }


def _setting(
    data_dir: str | Path | None,
) -> tuple[dict[str, float], CompiledNetwork, dict[str, ParamValue]]:
    """The episode's facts, the 2010 network and the bundled calibrated parameters."""
    from rareflow.data.network import load_network
    from rareflow.engine.parameters import resolve_parameters
    from rareflow.history.parameters import engine_overrides
    from rareflow.model.compiled import compile_network

    facts = crisis_facts()
    net = network_2010(compile_network(load_network(data_dir)), facts["world_demand_2010_t"])
    return facts, net, resolve_parameters(net.parameters, engine_overrides())


def run_episode(data_dir: str | Path | None = None) -> pd.DataFrame:
    """Peak price multiples (vs the 2010 baseline run) and China's exports, per scenario."""
    import pandas as pd

    from rareflow.engine.simulate import simulate

    facts, net, params = _setting(data_dir)
    runs = {
        name: simulate(net, scen, params, outputs=["price", "shipments", "shortage"])
        for name, scen in scenarios(net, facts).items()
    }
    base = runs["baseline"].arrays["price"][0]
    rows = []
    for name, raw in runs.items():
        price = raw.arrays["price"][0] / np.where(base > 0, base, np.nan)  # (T, P, M)
        rows.append({"scenario": name, **_exports(net, raw.arrays["shipments"][0], raw.months)})
        for product in PRODUCTS:
            p = net.products.index(product)
            for m, market in enumerate(net.markets):
                t = int(np.nanargmax(price[:, p, m]))
                rows[-1][f"{product}/{market}"] = float(price[t, p, m])
        japan = net.regions.index("JPN")
        rows[-1]["japan_shortage_t"] = float(raw.arrays["shortage"][0][:, japan, :].sum())
    return pd.DataFrame(rows)


def episode_runs(
    until: str, data_dir: str | Path | None = None, outputs: tuple[str, ...] = ("price",)
) -> tuple[CompiledNetwork, Scenario, dict[str, RawResult]]:
    """The 2010 network, the ``both`` scenario and the ``baseline`` and ``both`` runs from
    2010-01 to ``until``, at the bundled calibrated point."""
    from rareflow.engine.simulate import simulate
    from rareflow.model.compiled import month_index

    facts, net, params = _setting(data_dir)
    months = month_index(until) - month_index(START) + 1
    plans = {name: scen.model_copy(update={"months": months})
             for name, scen in scenarios(net, facts).items()}  # fmt: skip
    runs = {name: simulate(net, plans[name], params, outputs=list(outputs))
            for name in ("baseline", "both")}  # fmt: skip
    return net, plans["both"], runs


def modelled_paths(until: str, data_dir: str | Path | None = None) -> pd.DataFrame:
    """Month, product, market, modelled_multiple: ``both`` over the baseline run, 2010-01 to
    ``until``, at the bundled calibrated point."""
    net, _, runs = episode_runs(until, data_dir)
    return paths_of(net, runs)


def paths_of(net: CompiledNetwork, runs: dict[str, RawResult]) -> pd.DataFrame:
    """``modelled_paths`` from ``episode_runs``' runs."""
    import pandas as pd

    base = runs["baseline"].arrays["price"][0]
    rel = runs["both"].arrays["price"][0] / np.where(base > 0, base, np.nan)  # (T, P, M)
    frames = []
    for product in (p for p in PATH_PRODUCTS if p in net.products):
        for m, market in enumerate(net.markets):
            frames.append(pd.DataFrame({
                "month": runs["both"].months, "product": product, "market": market,
                "modelled_multiple": rel[:, net.products.index(product), m],
            }))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def summarize(paths: pd.DataFrame) -> pd.DataFrame:
    """Per (product, market): peak month and multiple, the multiple at each checkpoint up to
    the last month, and the share of the peak left at ``UNWIND_END``."""
    import pandas as pd

    rows = []
    for (product, market), part in paths.groupby(["product", "market"], sort=False):
        series = part.set_index("month")["modelled_multiple"]
        peak = str(series.idxmax())
        row: dict[str, Any] = {"product": product, "market": market, "peak_month": peak,
                               "peak_multiple": float(series[peak])}  # fmt: skip
        for month in CHECKPOINTS:
            row[f"multiple_{month}"] = float(series[month]) if month in series else math.nan
        at = float(series.get(UNWIND_END, math.nan))
        row[f"share_of_peak_{UNWIND_END}"] = at / float(series[peak])  # NaN before 2013-12
        rows.append(row)
    return pd.DataFrame(rows)


def run_unwind(data_dir: str | Path | None = None) -> pd.DataFrame:
    """The ``both`` scenario run on to ``UNWIND_END``: per ex-China oxide, the peak month,
    the peak multiple (vs the baseline run) and the multiple at the end, with its share of
    the peak (how far the spike has unwound). ``rareflow hindcast`` runs it on to 2015."""
    summary = summarize(modelled_paths(UNWIND_END, data_dir))
    rows = summary[(summary["market"] == "ex_china") & summary["product"].isin(UNWIND_PRODUCTS)]
    rows = rows.set_index("product").loc[list(UNWIND_PRODUCTS)].reset_index()
    return rows.rename(columns={f"share_of_peak_{UNWIND_END}": "share_of_peak"})[
        ["product", "peak_month", "peak_multiple", f"multiple_{UNWIND_END}", "share_of_peak"]
    ]


def _exports(net: CompiledNetwork, shipments: np.ndarray, months: list[str]) -> dict[str, float]:
    china, japan = net.regions.index("CHN"), net.regions.index("JPN")
    rows = [i for i, p in enumerate(net.products) if p not in MAGNETS]
    flows = shipments[:, rows, china, :]  # (T, P, I)
    in_2010 = [t for t, m in enumerate(months) if m.startswith("2010")]
    held = [t for t, m in enumerate(months) if m in ("2010-10", "2010-11")]
    return {
        "china_material_exports_2010_t": float(flows[in_2010].sum()),
        "to_japan_oct_nov_2010_t": float(flows[held][:, :, japan].sum()),
    }


LIMITS = (
    "Wrong by construction: 2024 trade shares and prices stand in for 2010's; in 2010 Japan made "
    "the magnets from Chinese oxides and metals, while the scaled 2024 network has China "
    "exporting magnets, so China's material exports are smaller than 2010's and the literal "
    "quota bites less (hence the relative cut).",
    "Missing: speculative stockpiling and the 2011 spike and collapse (prices follow tightness "
    "with a lag up to the choke price and stand there to 2013, ``run_unwind``: the quota cut "
    "outlasts the episode, entry takes 42 months for separation, and demand answers with 0.1 "
    "where the scarcity price assumes buyers of elasticity 1 / (scarcity_exponent x "
    "thinness) give up), the shift of magnet making into China, Japan's wider substitution "
    "drive and the 2010 export "
    "duties (no export-duty instrument).",
)


def findings(table: pd.DataFrame) -> list[str]:
    """What the run shows, read off ``run_episode``'s table, then the standing limits."""
    t = {
        str(row["scenario"]): {str(k): v for k, v in row.items() if k != "scenario"}
        for row in table.to_dict(orient="records")
    }
    elements = ("lace_oxide", "ndpr_oxide", "dy_oxide", "tb_oxide")
    outside = [t["quota_cut"][f"{p}/ex_china"] for p in elements]
    inside = [t["quota_cut"][f"{p}/china"] for p in elements]
    exports = "china_material_exports_2010_t"
    held = 1 - t["embargo"]["to_japan_oct_nov_2010_t"] / t["baseline"]["to_japan_oct_nov_2010_t"]
    binds = t["quota_literal"][exports] < 0.99 * t["baseline"][exports]
    return [
        f"A 40% cut in China's material exports moves ex-China oxide prices to "
        f"{min(outside):.1f}-{max(outside):.1f}x at peak and Chinese domestic ones to "
        f"{min(inside):.2f}-{max(inside):.2f}x: the direction of 2010-2011 (up outside China, a "
        "wedge with prices inside); 2010 export unit values rose 130% (MOFCOM).",
        f"The Japan hold cuts China's material shipments to Japan in Oct-Nov 2010 by {held:.0%} "
        f"(10% leakage assumed); Japan's shortage from the hold alone: "
        f"{t['embargo']['japan_shortage_t']:,.0f} t (stocks cover two months).",
        f"The literal 30,258 t quota {'binds' if binds else 'does not bind'} in 2010 in the "
        "scaled network.",
        *LIMITS,
    ]


def main() -> None:
    import argparse

    import pandas as pd

    argparse.ArgumentParser(
        prog="python -m rareflow.history.crisis2010",
        description="The 2010-2011 episode's scenarios side by side, what they show, and the "
        "spike run on to 2013; `rareflow hindcast` runs it to 2015 and scores it.",
    ).parse_args()
    table = run_episode()
    with pd.option_context("display.width", 200, "display.max_columns", 30):
        print(table.round(2).T.to_string())
    print("\n".join(f"- {f}" for f in findings(table)))
    print(f"\nThe spike run on to {UNWIND_END} (quota cut and Japan hold), ex-China prices:")
    print(run_unwind().round(2).to_string(index=False))


if __name__ == "__main__":
    main()
