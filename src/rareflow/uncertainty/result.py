"""A Monte Carlo run's statistics as tidy frames, storable like a single run.

``MonteCarloResult`` has the attributes ``ResultStore.save`` reads (run_id, scenario, tidy(),
summary(), peak_prices(), dataset.sizes, ...). Its tidy rows carry statistics with ``draw``
-1 and metrics named ``<output>_<stat>`` (mean, se, p5, p50, p95; ``shortage_prob`` and
``shortage_prob_se`` for P(shortage share > threshold)); kept paths carry their draw index and
the plain output name.

Quantiles are exact where the run kept its draws (``quantile_methods`` says, per output), else
from fixed bins clipped to each cell's exact min and max; ``min`` and ``max`` are exact always.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from rareflow.model.compiled import CompiledNetwork
from rareflow.scenarios.model import Scenario
from rareflow.uncertainty.montecarlo import (
    BINS,
    EXACT_MONTHLY,
    HEADLINE,
    TOTAL_BINS,
    Aggregate,
    Config,
)
from rareflow.uncertainty.stats import Bins, exact_quantiles, quantiles

QS = (0.05, 0.5, 0.95)
Q_NAMES = ("p5", "p50", "p95")
UNITS = {"shortage_share": "fraction", "units_not_built": "units/month", "value_lost": "USD/month"}
EXACT = "exact: linear interpolation between order statistics of every draw"
DATASET_STATS = ("mean", "se", "min", "max", "p5", "p50", "p95")
TIDY_STATS = ("mean", "se", "p5", "p50", "p95", "shortage_prob", "shortage_prob_se")


def binned(bins: Bins) -> str:
    """How far a fixed-bin quantile may be off (``stats`` module docstring)."""
    low, high, count = bins.low, bins.high, bins.count
    if bins.kind == "linear":
        return f"fixed bins: absolute error <= {(high - low) / count:g}, clipped to [min, max]"
    per_decade = count / np.log10(high / low)
    rel = 10 ** (1 / per_decade) - 1
    return f"fixed log bins: relative error <= {rel:.1%}, clipped to [min, max]"


@dataclass
class MonteCarloResult:
    run_id: str
    scenario: Scenario
    config: Config
    aggregate: Aggregate
    compiled: CompiledNetwork
    months: list[str]
    started_at: str = ""
    finished_at: str = ""
    executor: str = "local"
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def draws(self) -> int:
        return self.aggregate.n

    @property
    def mass_balance_max_residual(self) -> float:
        return self.aggregate.residual

    @property
    def dataset(self) -> SimpleNamespace:  # what the store reads: sizes
        return SimpleNamespace(sizes={"month": len(self.months), "draw": self.draws})

    def _cells(self) -> pd.MultiIndex:
        net = self.compiled
        return pd.MultiIndex.from_product(
            [self.months, list(net.regions), list(net.sectors)], names=["month", "region", "sector"]
        )

    @property
    def warnings(self) -> list[str]:
        """What a reader of the numbers must know (printed on stderr, a field in JSON)."""
        if self.scenario.uncertainty.posterior:
            return _posterior_warnings(self.parameters_known)
        if not self.scenario.uncertainty.is_empty():
            return []
        return [
            f"scenario {self.scenario.name!r} has no uncertainty section and no calibrated "
            f"posterior is bundled: all {self.draws:,} draws are identical, so se is 0 and "
            "p5 = p50 = p95 = the single run's value; add an 'uncertainty:' section (README, "
            "Monte Carlo) or run `rareflow calibrate` for ranges"
        ]

    @property
    def parameters_known(self) -> tuple[str, ...]:
        return tuple(sorted(self.compiled.parameters))

    def quantile_methods(self) -> dict[str, str]:
        """How each output's quantiles were computed: exact, or fixed bins and their error."""
        agg = self.aggregate
        out = {}
        for k in HEADLINE:
            ex = agg.exact.get(k)
            kept = not ex.dropped if ex is not None else k in EXACT_MONTHLY and agg.draws > 0
            out[f"monthly {k}"] = EXACT if kept else binned(BINS[k])
        for k, bins in TOTAL_BINS.items():
            kept = k in agg.cell_totals
            out[f"horizon {k}"] = EXACT if kept else binned(bins)
        return out

    # -- per region, sector and month ----------------------------------------------------------
    def quantiles(self, metric: str = "shortage_share") -> pd.DataFrame:
        """month, region, sector, mean, se, min, max, p5, p50, p95 (+ shortage_prob, _se for
        shares); quantiles exact where the draws were kept (``quantile_methods``)."""
        agg = self.aggregate
        m = agg.moments[metric]
        cols: dict[str, np.ndarray] = {"mean": m.mean, "se": m.se, "min": m.low, "max": m.high}
        ex = agg.exact.get(metric)
        if ex is not None and not ex.dropped:
            q = ex.quantiles(QS, m.low, m.high).reshape(len(QS), *m.mean.shape)
        elif ex is None and metric in EXACT_MONTHLY and agg.draws > 0:  # never nonzero
            q = np.zeros((len(QS), *m.mean.shape))
        else:
            q = quantiles(BINS[metric], agg.counts[metric], QS, m.low, m.high)
        cols.update(dict(zip(Q_NAMES, q, strict=True)))
        if metric == "shortage_share":
            p = agg.counts["exceed"] / max(agg.n, 1)
            cols["shortage_prob"], cols["shortage_prob_se"] = p, _prob_se(p, agg.n)
        frame = pd.DataFrame({k: v.ravel() for k, v in cols.items()}, index=self._cells())
        return frame.reset_index()

    def to_dataset(self) -> xr.Dataset:
        """The monthly statistics as xarray: one variable per headline output over (stat,
        month, region, sector), ``stat`` in mean, se, min, max, p5, p50, p95, and
        ``shortage_prob`` over (month, region, sector); ``month`` a datetime coordinate.
        E.g. ``ds["value_lost"].sel(stat=["p5", "p50", "p95"]).sum(["region", "sector"])``."""
        from rareflow.engine.dims import month_times

        net = self.compiled
        shape = (len(self.months), len(net.regions), len(net.sectors))
        dims = ("month", "region", "sector")
        data: dict[str, xr.DataArray] = {}
        for metric in HEADLINE:
            q = self.quantiles(metric)
            stats = np.stack([q[s].to_numpy().reshape(shape) for s in DATASET_STATS])
            data[metric] = xr.DataArray(stats, dims=("stat", *dims), attrs={"unit": UNITS[metric]})
            if metric == "shortage_share":
                prob = q["shortage_prob"].to_numpy().reshape(shape)
                data["shortage_prob"] = xr.DataArray(prob, dims=dims, attrs={"unit": "probability"})
        coords = {"stat": list(DATASET_STATS), "month": month_times(self.months),
                  "region": list(net.regions), "sector": list(net.sectors)}  # fmt: skip
        return xr.Dataset(data, coords=coords, attrs={"draws": self.draws})

    # -- per region and sector over the horizon ------------------------------------------------
    def horizon(self) -> pd.DataFrame:
        """Per region and sector: expected value lost and units (mean, se, p5-p95), peak share,
        shortage months, and the probability of a shortage above the threshold in any month."""
        agg, net = self.aggregate, self.compiled
        index = pd.MultiIndex.from_product(
            [list(net.regions), list(net.sectors)], names=["region", "sector"]
        )
        cols: dict[str, np.ndarray] = {}
        for k in ("value_lost", "units_not_built"):
            m = agg.moments[f"total_{k}"]
            cols[f"{k}_mean"], cols[f"{k}_se"] = m.mean, m.se
            cols[f"{k}_min"], cols[f"{k}_max"] = m.low, m.high
            if k in agg.cell_totals:
                q = exact_quantiles(np.concatenate(agg.cell_totals[k]), QS)
            else:
                q = quantiles(TOTAL_BINS[k], agg.counts[f"total_{k}"], QS, m.low, m.high)
            cols.update({f"{k}_{n}": v for n, v in zip(Q_NAMES, q, strict=True)})
        cols["peak_shortage_share_mean"] = agg.moments["total_peak_shortage_share"].mean
        cols["shortage_months_mean"] = agg.moments["total_shortage_months"].mean
        p = agg.counts["exceed_any"] / max(agg.n, 1)
        cols["shortage_prob"], cols["shortage_prob_se"] = p, _prob_se(p, agg.n)
        frame = pd.DataFrame({k: v.ravel() for k, v in cols.items()}, index=index)
        return frame.reset_index()

    # -- what the results store reads -------------------------------------------------------------
    def summary(self) -> pd.DataFrame:
        h = self.horizon()
        return pd.DataFrame(
            {
                "region": h["region"],
                "sector": h["sector"],
                "peak_shortage_share": h["peak_shortage_share_mean"],
                "shortage_months": h["shortage_months_mean"],
                "units_not_built": h["units_not_built_mean"],
                "value_lost_usd": h["value_lost_mean"],
            }
        )

    def peak_prices(self) -> pd.DataFrame:
        net = self.compiled
        mean = self.aggregate.moments["price"].mean  # (T, P, M)
        at = mean.argmax(axis=0)
        rows = [
            (p, mk, float(net.price0[i, j]), float(mean[at[i, j], i, j]), self.months[at[i, j]])
            for i, p in enumerate(net.products)
            for j, mk in enumerate(net.markets)
        ]
        cols = ["product", "market", "base_usd_per_kg", "peak_usd_per_kg", "peak_month"]
        return pd.DataFrame(rows, columns=cols)

    def tidy(self, metric: str | None = None) -> pd.DataFrame:
        frames = [self._tidy_stats(k) for k in HEADLINE] + [self._tidy_paths()]
        frame = pd.concat(frames, ignore_index=True)
        frame = frame[frame["value"] != 0.0]
        if metric is not None:
            frame = frame[frame["metric"] == metric]
        return frame.reset_index(drop=True)

    def _tidy_stats(self, metric: str) -> pd.DataFrame:
        q = self.quantiles(metric)
        stats = [c for c in q.columns if c in TIDY_STATS]  # min/max: in JSON, not stored
        long = q.melt(id_vars=["month", "region", "sector"], value_vars=stats, var_name="stat")
        names = np.where(long["stat"].str.startswith("shortage_prob"), long["stat"],
                         metric + "_" + long["stat"])  # fmt: skip
        unit = np.where(long["stat"].str.startswith("shortage_prob"), "probability", UNITS[metric])
        return self._rows(long, -1, names, unit)

    def _tidy_paths(self) -> pd.DataFrame:
        frames = []
        for metric, parts in self.aggregate.paths.items():
            paths = np.concatenate(parts) if parts else np.zeros((0,))
            for d, path in enumerate(paths):
                long = pd.DataFrame({"value": path.ravel()}, index=self._cells()).reset_index()
                frames.append(self._rows(long, d, metric, UNITS[metric]))
        return pd.concat(frames, ignore_index=True) if frames else self._rows(None, 0, "", "")

    def _rows(self, long: pd.DataFrame | None, draw: int, metric: Any, unit: Any) -> pd.DataFrame:
        cols = ["run_id", "scenario", "draw", "month", "region", "partner", "product"]
        cols += ["metric", "value", "unit"]
        if long is None:
            return pd.DataFrame(columns=cols)
        return pd.DataFrame(
            {
                "run_id": self.run_id,
                "scenario": self.scenario.name,
                "draw": draw,
                "month": long["month"],
                "region": long["region"],
                "partner": "",
                "product": long["sector"],
                "metric": metric,
                "value": long["value"],
                "unit": unit,
            }
        )[cols]

    def draw_totals(self) -> pd.DataFrame:
        """Per-draw horizon totals (when the run kept them)."""
        return pd.DataFrame({k: np.concatenate(v) for k, v in self.aggregate.totals.items()})


def _prob_se(p: np.ndarray, n: int) -> np.ndarray:
    return np.sqrt(p * (1.0 - p) / max(n, 1))


def _posterior_warnings(known: tuple[str, ...]) -> list[str]:
    """Names in the bundled posterior that this model does not know (skipped when drawing)."""
    from rareflow.engine.parameters import bundled_parameters
    from rareflow.history.posterior import load_bundled

    sample = load_bundled(tuple(sorted({*known, *bundled_parameters()})))
    if sample is None or not sample.skipped:
        return []
    return [
        "the bundled posterior has parameters this model does not know, skipped: "
        + ", ".join(sample.skipped)
        + " (run `rareflow calibrate` again on this model)"
    ]
