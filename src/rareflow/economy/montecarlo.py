"""The impact of every draw of a Monte Carlo run.

A Monte Carlo run keeps statistics, not paths. Its draws depend only on (seed, draw index),
so the impact re-streams them block by block (``BLOCK`` draws, the engine's batch) with the
same inputs, records only ``shortage_share``, and runs each block's draws through ARIO in
one pass; per draw it keeps the GDP loss of each region, from which the quantiles are exact.
This costs about one more engine pass over the draws.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rareflow.economy.impact import SHOCK, Setup, by_region, losses, setup

QUANTILES = (0.05, 0.5, 0.95)


def shocks(result: Any) -> Iterator[np.ndarray]:
    """(n, T, R, S) shortage shares of each block of the run's draws, in draw order."""
    from rareflow.engine.parameters import resolve_parameters
    from rareflow.engine.simulate import choose_kernel, stream
    from rareflow.uncertainty.sampling import BLOCK, draw_inputs, factors, uniforms

    cfg, scenario, net = result.config, result.scenario, result.compiled
    params = resolve_parameters(net.parameters, scenario.parameters)
    horizon = cfg.months or scenario.months
    k = len(factors(scenario))
    for lo in range(0, cfg.draws, BLOCK):
        n = min(cfg.draws, lo + BLOCK) - lo
        inputs = draw_inputs(scenario, uniforms(cfg.seed, lo, lo + n, k), cfg.months, params)
        out = np.zeros((n, horizon, len(net.regions), len(net.sectors)))
        months = stream(net, inputs.scenario, {**params, **inputs.parameters}, n,
                        months=horizon, values=inputs.values,
                        kernel=choose_kernel(cfg.kernel, BLOCK), outputs=(SHOCK,))  # fmt: skip
        for t, rec, _ in months:
            out[:, t] = rec[SHOCK]
        yield out


def region_losses(su: Setup, blocks: Iterator[np.ndarray], months: list[str],
                  dtype: str = "float64") -> np.ndarray:  # fmt: skip
    """(draws, regions) USD of value added lost over the horizon; ``dtype`` of the ARIO
    state (``impact.losses``)."""
    parts = [by_region(su, losses(su, shock, months, dtype).sum(axis=1)).sum(axis=-1)
             for shock in blocks]  # fmt: skip
    return np.concatenate(parts) * su.table.usd_per_unit


def impact_table(result: Any, mrio: str | Path | None = None, mapping: str | Path | None = None,
                 step: str = "day", dtype: str = "float64") -> pd.DataFrame:  # fmt: skip
    """Per region: mean, p5, p50, p95 of the GDP loss over the draws, USD and share of GDP;
    ``dtype``: float32 runs the draws' ARIO state in single precision (``impact.losses``)."""
    net = result.compiled
    regions, sectors = list(net.regions), list(net.sectors)
    su = setup(regions, sectors, mrio, mapping, step)
    per_draw = region_losses(su, shocks(result), list(result.months), dtype)
    gdp = by_region(su, su.table.value_added).sum(axis=-1) * su.table.usd_per_unit
    gdp_horizon = gdp * len(result.months) / 12
    frame = pd.DataFrame({"region": regions, "gdp_loss_usd": per_draw.mean(axis=0)})
    frame["gdp_loss_share"] = frame["gdp_loss_usd"] / gdp_horizon
    for q in QUANTILES:
        name = f"p{round(q * 100):d}"
        value = np.quantile(per_draw, q, axis=0)
        frame[f"gdp_loss_usd_{name}"] = value
        frame[f"gdp_loss_share_{name}"] = value / gdp_horizon
    return frame
