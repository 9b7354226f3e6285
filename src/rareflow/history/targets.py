"""What the ABC calibration fits: four target families, and how far a batch of runs is from them.

Each family is a list of observations in the window with the model's value for each, per draw
(``predict``), and one normalised discrepancy per draw (``discrepancy``):

- ``exports``: China's customs magnet exports, World and every destination
  (``observed.read_observed``: both customs tables). Discrepancy: the root weighted mean squared
  error of log(1 + tonnes) ('implied' months weigh half).
- ``prices``: ex-China / China price ratios where both markets are observed in a month, and
  each China-domestic price relative to its first observation in the window (the direction of
  China's own prices), from ``prices_2025_monthly.csv``. Discrepancy: root mean squared log
  error of the ratios.
- ``approvals``: reported licence approval shares (``licence_approvals_2025.csv``). Each is
  a share of a group's applications (a count) approved since the controls began, from small
  and mid-size applicants (CLEPA's auto suppliers, one US magnet distributor, EU Chamber
  members). SMM (24 May 2025, same file) reports the large magnet makers approved first, and
  China's magnet tonnage was back at its pre-April level by July 2025 while these shares were
  25-60%: a count share is not a volume share. So each report is held as a **lower bound** on
  the model's volume share approved, and against the model's **path** to that date, not its
  long-run share: the mean approved share of the calibrated licence's magnet segments over
  the months from its entry to the report (the report's month counts when it is dated on or
  after the 15th, or by month only: ``REPORT_MID_DAY``). Discrepancy: the mean shortfall of
  the modelled share below the reports (0 for a path at or above every report).
- ``stoppages``: each reported stoppage (``shortage_events_2025.csv``) against the nearest month
  in which the model stops at least ``stoppages.THRESHOLD`` of the event's (region, sector)
  buyers; the offset beyond the one-month tolerance, capped at ``CAP`` months, over ``CAP``.
  One more observation: the share of the (region, sector) pairs with no reported event that
  the model stops in any month from January of the events' year (observed: none; the news may
  have missed some, so it weighs ``QUIET_WEIGHT``). Discrepancy: the mean of the misses plus
  ``QUIET_WEIGHT`` x that share.

The calibration divides each family's discrepancy by its median over the prior draws and sums
them with ``family_weights``: each family weighs by the square root of its effective number of
observations (Kish's, from its observations' weights), relative to the families' mean. Each
discrepancy is a mean over its observations, and the precision of a mean of n errors grows as
sqrt(n); a weight growing as n would treat 61 monthly export points that move together (World
and its destinations, month after month) as 61 independent facts. Four approval reports then
weigh about a quarter of the 61 export points, not as much.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from rareflow.errors import MassBalanceError
from rareflow.history import stoppages as st
from rareflow.model.compiled import month_index

if TYPE_CHECKING:
    from rareflow.history.simulator import HistorySimulator

FAMILIES = ("exports", "prices", "approvals", "stoppages")
REPORT_MID_DAY = 15  # a report dated from this day on counts its own month as elapsed
IMPLIED_WEIGHT = 0.5
CAP = 6.0  # months: a stoppage this far from the event (or none) is a full miss
QUIET_WEIGHT = 0.5  # stoppages where none was reported, beside the events' misses
QUIET_LABEL = "share of unreported (region, sector) pairs stopped"
MIN_OBSERVATIONS = 3  # per family; fewer is reported as too few
CHUNK = 128  # draws per engine call (bounds the memory of the dense shipments)
FAILED = 1e3  # discrepancy of a draw whose run breaks mass balance
OUTPUTS = ["shipments", "price", *st.STOPPAGE_OUTPUTS]


@dataclass
class Family:
    name: str
    labels: list[str]  # one per observation, e.g. 'USA 2025-05'
    observed: np.ndarray  # (n,) in the unit of ``unit``
    unit: str
    weights: np.ndarray  # (n,)
    tolerance: np.ndarray | None = None  # (n,) slack of the predictive check (None: 0)
    lower_bound: bool = False  # the observations bound the model's values from below

    @property
    def information(self) -> float:
        """Effective number of observations (Kish): (sum w)^2 / sum w^2, so that half-weight
        observations count less and a family's own normalisation of its weights does not."""
        total = float(self.weights.sum())
        return total**2 / float((self.weights**2).sum()) if total > 0 else 0.0


class Targets:
    """The observations in [start, end] and the model's counterpart of each, for batches."""

    def __init__(self, sim: HistorySimulator, start: str, end: str, data_dir: object = None):
        self.sim, self.start, self.end = sim, start, end
        self.months = {m: t for t, m in enumerate(sim.months) if start <= m <= end}
        self.families = {
            "exports": self._exports(),
            "prices": self._prices(),
            "approvals": self._approvals(),
            "stoppages": self._stoppages(),
        }

    # -- observations ---------------------------------------------------------------------------
    def _exports(self) -> Family:
        from rareflow.history.observed import read_observed

        obs = read_observed()
        obs = obs[obs["month"].isin(list(self.months))]
        self._exp = [(str(d), self.months[m]) for d, m in zip(obs["destination"], obs["month"],
                                                              strict=True)]  # fmt: skip
        labels = [f"{d} {m}" for d, m in zip(obs["destination"], obs["month"], strict=True)]
        w = np.where(obs["kind"].to_numpy() == "implied", IMPLIED_WEIGHT, 1.0)
        return Family("exports", labels, obs["observed_tonnes"].to_numpy(float), "t", w)

    def _prices(self) -> Family:
        from rareflow.history.observed_prices import read_prices

        c = self.sim.compiled
        obs = read_prices()
        obs = obs[obs["month"].isin(list(self.months)) & obs["product"].isin(c.products)]
        wide = obs.pivot_table(index=["product", "month"], columns="market",
                               values="observed_usd_per_kg")  # fmt: skip
        # (product, month, market) over (product, month, market) indices
        self._ratio: list[tuple[int, int, int, int, int, int]] = []
        labels: list[str] = []
        values: list[float] = []
        ex, cn = c.markets.index("ex_china"), c.markets.index("china")
        for key, row in wide.iterrows():
            product, month = (str(k) for k in key)  # type: ignore[attr-defined]
            if {"ex_china", "china"} <= set(row.dropna().index):
                p, t = c.products.index(product), self.months[month]
                self._ratio.append((p, t, ex, p, t, cn))
                labels.append(f"{product} ex-China/China {month}")
                values.append(float(row["ex_china"] / row["china"]))
        china = obs[obs["market"] == "china"].sort_values("month")
        for name, part in china.groupby("product", sort=True):
            if len(part) < 2:
                continue
            p = c.products.index(str(name))
            usd = part["observed_usd_per_kg"].to_numpy(float)
            t0, v0 = self.months[str(part["month"].iloc[0])], float(usd[0])
            for month, value in zip(part["month"].iloc[1:], usd[1:], strict=True):
                self._ratio.append((p, self.months[str(month)], cn, p, t0, cn))
                labels.append(f"{name} China vs {part['month'].iloc[0]} {month}")
                values.append(float(value) / v0)
        # the ex-China/China ratios and China's own path weigh half each, however many points
        n_ratio = sum(1 for label in labels if "ex-China" in label)
        w = [0.5 / n_ratio if "ex-China" in label else 0.5 / max(len(labels) - n_ratio, 1)
             for label in labels]  # fmt: skip
        return Family("prices", labels, np.array(values, float), "ratio", np.array(w, float))

    def _approvals(self) -> Family:
        from rareflow.history.observed_reports import approval_shares

        obs = approval_shares()
        obs = obs[obs["month"].isin(list(self.months))]
        found = [self._path_to(str(m), str(d)) for m, d in zip(obs["month"], obs["date"],
                                                              strict=True)]  # fmt: skip
        keep = np.array([bool(k) for k in found], dtype=bool)
        self._approval_keys: list[list[str]] = [k for k in found if k]
        obs = obs[keep]
        labels = [f"{r} {d}" for r, d in zip(obs["region"], obs["date"], strict=True)]
        values = obs["approval_share"].to_numpy(float)
        return Family("approvals", labels, values, "share (lower bound)", np.ones(len(values)),
                      lower_bound=True)  # fmt: skip

    def _path_to(self, month: str, date: str) -> list[str]:
        """The approval-share keys of the calibrated licence's segments from its entry
        to a report dated ``date`` in ``month`` (empty if none is in force then)."""
        k = month_index(month)
        day = int(date[8:10]) if len(date) >= 10 else REPORT_MID_DAY
        last = k if day >= REPORT_MID_DAY else k - 1
        segments = [p for p in self.sim.scenario.policies if p.id in self.sim.segments]
        starts = {p.id: month_index(p.start) for p in segments}
        for policy in segments:
            end = month_index(policy.end) if policy.end else 10**9
            if starts[policy.id] <= k <= end:  # the licence in force: its segments so far
                licence = policy.id.rpartition("~")[0]
                mine = {i: t for i, t in starts.items() if i.rpartition("~")[0] == licence}
                upto = max(last, min(mine.values()))
                return [f"{i}.approval_share" for i, t in mine.items() if t <= upto]
        return []

    def _stoppages(self) -> Family:
        c = self.sim.compiled
        events = st.read_events()
        events = events[events["month"].isin(list(self.months))]
        self._events = [
            (self.months[str(m)], [c.regions.index(r) for r in regions if r in c.regions],
             c.sectors.index(str(s)))
            for m, regions, s in zip(events["month"], events["regions"], events["sector"],
                                     strict=True)
            if str(s) in c.sectors
        ]  # fmt: skip
        labels = [f"{co} {m}"[:60] for co, m in zip(events["company"], events["month"],
                                                    strict=True)]  # fmt: skip
        n = len(self._events)
        quiet = np.ones((len(c.regions), len(c.sectors)), dtype=bool)
        for _, regions, sector in self._events:
            quiet[regions, sector] = False
        self._quiet = quiet if n else np.zeros_like(quiet)
        first = f"{min(events['month'])[:4]}-01" if n else "9999"
        self._quiet_from = min([t for m, t in self.months.items() if m >= first], default=0)
        labels, k = [*labels[:n], QUIET_LABEL][: n + bool(n)], n + bool(n)
        tol = np.array([st.TOLERANCE_MONTHS] * n + [0.0] * bool(n), dtype=float)
        return Family("stoppages", labels, np.zeros(k), "months", np.ones(k), tol)

    # -- counts -----------------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        return {name: len(f.observed) for name, f in self.families.items()}

    # -- the model's side -----------------------------------------------------------------------
    def predict(self, batch: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per family (D, n): the modelled value of each observation, in chunks of draws; a
        draw whose run breaks mass balance gets NaN."""
        draws = max(np.size(v) for v in batch.values())
        parts = [self._predict_chunk({k: np.asarray(v)[lo : lo + CHUNK] for k, v in
                                      batch.items()}) for lo in range(0, draws, CHUNK)]  # fmt: skip
        return {f: np.concatenate([p[f] for p in parts]) for f in FAMILIES}

    def _predict_chunk(self, batch: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        n = max(np.size(v) for v in batch.values())
        try:
            raw = self.sim.run(batch, OUTPUTS)
        except MassBalanceError:
            if n == 1:
                return {f: np.full((1, len(self.families[f].observed)), np.nan) for f in FAMILIES}
            half = n // 2
            a = self._predict_chunk({k: v[:half] for k, v in batch.items()})
            b = self._predict_chunk({k: v[half:] for k, v in batch.items()})
            return {f: np.concatenate([a[f], b[f]]) for f in FAMILIES}
        return {
            "exports": self._model_exports(raw.arrays["shipments"], batch),
            "prices": self._model_prices(raw.arrays["price"]),
            "approvals": self._model_approvals(batch, n),
            "stoppages": self._model_stoppages(raw),
        }

    def _model_exports(self, shipments: np.ndarray, batch: Mapping[str, np.ndarray]) -> np.ndarray:
        series = self.sim.customs_series(shipments, batch)
        out = np.empty((len(shipments), len(self._exp)))
        for j, (name, t) in enumerate(self._exp):
            out[:, j] = series[name][:, t]
        return out

    def _model_prices(self, price: np.ndarray) -> np.ndarray:
        out = np.empty((len(price), len(self._ratio)))
        for j, (p, t, m, q, u, k) in enumerate(self._ratio):
            out[:, j] = price[:, t, p, m] / np.maximum(price[:, u, q, k], 1e-12)
        return out

    def _model_approvals(self, batch: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        """(D, reports) the mean approved share of the licence's path up to each report."""
        from rareflow.history.parameters import LICENCE_NAMES, licence_parameters
        from rareflow.history.scenario import ENTRY_LEAKAGE, licence_values

        licence: dict[str, np.ndarray | float] = {
            **licence_parameters(self.sim.base),
            **{k: batch[k] for k in LICENCE_NAMES if k in batch},
            ENTRY_LEAKAGE: 0.0,  # exports leaving unlicensed are no approvals
        }
        values = licence_values(self.sim.segments, licence)
        out = np.empty((n, len(self._approval_keys)))
        for j, keys in enumerate(self._approval_keys):
            path = np.stack([np.broadcast_to(values[key], (n,)) for key in keys])
            out[:, j] = path.mean(axis=0)
        return out

    def family_weights(self) -> dict[str, float]:
        """Per family: sqrt(effective observations) over the families' mean of it (a family
        with none weighs 0)."""
        root = {name: np.sqrt(f.information) for name, f in self.families.items()}
        mean = float(np.mean([v for v in root.values() if v > 0] or [1.0]))
        return {name: float(v / mean) for name, v in root.items()}

    def _model_stoppages(self, raw: object) -> np.ndarray:
        """(D, events) signed months from each event to the nearest modelled stoppage in its
        (regions, sector) (±CAP where none is nearer)."""
        from rareflow.engine.buyers import stopped as buyers_stopped

        shares = buyers_stopped(raw.arrays, self.sim.compiled, raw.parameters)  # type: ignore[attr-defined]
        stopped = shares >= st.THRESHOLD
        months = np.arange(stopped.shape[1])
        out = np.full((len(stopped), len(self.families["stoppages"].observed)), CAP)
        if self._quiet.any():
            ever = np.asarray(stopped[:, self._quiet_from :].any(axis=1))  # (D, R, S)
            out[:, -1] = ever[:, self._quiet].mean(axis=1)
        for j, (t, regions, s) in enumerate(self._events):
            hit = stopped[:, :, regions, s].any(axis=2)  # (D, T)
            offset = np.where(hit, months[None, :] - t, np.inf)
            nearest = np.take_along_axis(offset, np.abs(offset).argmin(axis=1)[:, None], 1)[:, 0]
            out[:, j] = np.clip(nearest, -CAP, CAP)
        return out

    def discrepancy(self, predicted: Mapping[str, np.ndarray]) -> np.ndarray:
        """(D, F) one discrepancy per family (FAILED where a run broke)."""
        cols = []
        for name in FAMILIES:
            fam, m = self.families[name], predicted[name]
            if not len(fam.observed):
                cols.append(np.zeros(len(m)))
                continue
            if name == "exports":
                e = (np.log1p(np.maximum(m, 0.0)) - np.log1p(fam.observed)) ** 2
                d = np.sqrt((e * fam.weights).sum(axis=1) / fam.weights.sum())
            elif name == "prices":
                ratio = np.maximum(m, 1e-12) / fam.observed
                d = np.sqrt((np.log(ratio) ** 2 * fam.weights).sum(axis=1) / fam.weights.sum())
            elif name == "approvals":  # lower bounds: only a shortfall counts
                d = np.clip(fam.observed - m, 0.0, None).mean(axis=1)
            else:
                n = len(self._events)
                miss = np.clip(np.abs(m[:, :n]) - st.TOLERANCE_MONTHS, 0.0, None) / CAP
                d = miss.mean(axis=1) + QUIET_WEIGHT * (m[:, n] if m.shape[1] > n else 0.0)
            cols.append(np.where(np.isfinite(d), d, FAILED))
        return np.stack(cols, axis=1)


def inside_band(family: Family, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Whether each observation lies in its predictive band [low, high], widened by the
    family's tolerance (stoppage offsets: the one month of the matching rule); a lower bound
    is met when the band reaches it (the model may lie above)."""
    tol = np.zeros(len(family.observed)) if family.tolerance is None else family.tolerance
    above = family.observed <= high + tol
    if family.lower_bound:
        return np.asarray(above)
    return np.asarray((low - tol <= family.observed) & above)
