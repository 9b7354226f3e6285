"""Run the history scenario for a batch of parameter sets at once (one set per draw).

``HistorySimulator(end).series(batch)`` returns China's modelled magnet exports (ndfeb_sintered
+ ndfeb_bonded + smco, t/month) per series: 'World' (to all partners), each destination
region, and 'EU' (DEU + XEU), as (D, T) arrays over the months from 2024-01 to ``end``, as
China's customs record them: the shipments times ``customs_factor`` (the Spring Festival).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rareflow.history.observed import EU, GROUPS, MAGNET_PRODUCTS, WORLD
from rareflow.history.parameters import LICENCE_NAMES, licence_parameters
from rareflow.history.scenario import HISTORY_START, history_policies, licence_values
from rareflow.model.compiled import month_index
from rareflow.scenarios.model import Scenario

if TYPE_CHECKING:
    from rareflow.data.network import Network
    from rareflow.engine.simulate import RawResult

EXPORTER = "CHN"
FESTIVAL = "spring_festival_shipping_share"
FEBRUARY = 2


def customs_factor(months: list[str], share: np.ndarray | float) -> np.ndarray:
    """(D|1, T) China's customs record of its exports over the model's monthly shipments.

    The Spring Festival closes China's factories and forwarders for part of February (it
    starts between 21 January and 20 February): customs record ``share`` of a month's
    exports in February and the rest in January, shipped ahead. Buyers order ahead, so what
    reaches them is smooth; the month-resolution model ships it evenly (a physical closure
    in the engine would also make buyers' stocks dip and their thinnest lines stop each
    February, which no report shows), and the festival enters where the model meets the
    customs figures: the backtest, the calibration and ``rareflow forecast``.
    """
    moved = np.reshape(np.asarray(share, dtype=float), (-1, 1)) - 1.0  # (D|1, 1), <= 0
    month_of_year = np.array([int(m[5:7]) for m in months])
    shift = (month_of_year == FEBRUARY).astype(float) - (month_of_year == FEBRUARY - 1)
    return 1.0 + moved * shift


class HistorySimulator:
    """The compiled network and the history scenario, ready for batched runs."""

    def __init__(
        self,
        end: str,
        *,
        network: Network | None = None,
        data_dir: str | Path | None = None,
        start: str = HISTORY_START,
    ) -> None:
        from rareflow.data.network import load_network
        from rareflow.engine.parameters import resolve_parameters
        from rareflow.model.compiled import compile_network

        net = network if network is not None else load_network(data_dir)
        self.compiled = compile_network(net)
        self.base = resolve_parameters(self.compiled.parameters)
        policies, self.segments = history_policies(end, start)
        self.scenario = Scenario(
            name="history",
            start=start,
            months=month_index(end) - month_index(start) + 1,
            policies=policies,
        )
        from rareflow.model.compiled import month_label

        first = month_index(start)
        self.months = [month_label(first + t) for t in range(self.scenario.months)]

    def knows(self, name: str) -> bool:
        return name in LICENCE_NAMES or name in self.base

    def series(self, batch: Mapping[str, np.ndarray | float]) -> dict[str, np.ndarray]:
        """Modelled exports per series as customs record them, (D, T), for parameter values
        given per draw."""
        return self.customs_series(self.run(batch, ["shipments"]).arrays["shipments"], batch)

    def run(self, batch: Mapping[str, np.ndarray | float], outputs: list[str]) -> RawResult:
        """The engine's raw ``outputs`` (e.g. price, shortage_share) for the same batch."""
        from rareflow.engine.simulate import simulate

        draws = max((np.size(v) for v in batch.values()), default=1)
        licence = {
            **licence_parameters(self.base),
            **{k: batch[k] for k in LICENCE_NAMES if k in batch},
        }
        engine = {k: _per_draw(v, draws) for k, v in batch.items() if k not in LICENCE_NAMES}
        values = {
            k: np.broadcast_to(v, (draws,)).copy()
            for k, v in licence_values(self.segments, licence).items()
        }
        return simulate(
            self.compiled,
            self.scenario,
            {**self.base, **engine},
            draws=draws,
            values=values,
            outputs=outputs,
        )

    def customs_series(
        self, shipments: np.ndarray, batch: Mapping[str, np.ndarray | float]
    ) -> dict[str, np.ndarray]:
        """Per series (D, T): China's magnet shipments (the engine's raw ``shipments`` for
        ``batch``) as customs record them (the batch's festival share, else the baseline's)."""
        c = self.compiled
        products = [c.products.index(p) for p in MAGNET_PRODUCTS if p in c.products]
        flows = shipments[:, :, products, c.regions.index(EXPORTER), :].sum(axis=2)  # (D,T,R)
        share = batch.get(FESTIVAL, self.base[FESTIVAL])
        flows = flows * customs_factor(self.months, share)[:, :, None]
        out = {WORLD: flows.sum(axis=-1)}
        for n, region in enumerate(c.regions):
            if region != EXPORTER:
                out[region] = flows[..., n]
        for group, members in GROUPS.items():
            idx = [c.regions.index(m) for m in members if m in c.regions]
            out[group] = flows[..., idx].sum(axis=-1)
        return out


def _per_draw(value: np.ndarray | float, draws: int) -> np.ndarray | float:
    if np.ndim(value) == 0:
        return float(value)
    return np.broadcast_to(np.asarray(value, dtype=float), (draws,)).copy()


__all__ = ["EU", "WORLD", "HistorySimulator"]
