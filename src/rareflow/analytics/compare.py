"""Compare two stored runs: the differences that matter, biggest first.

Three views, each with the value in run A, in run B and the change (B - A):

- ``sectors``: per importing region and end-use sector, peak shortage share, months in
  shortage, units not built and value lost (from each run's stored summary);
- ``prices``: peak price per product and market;
- ``exports``: China's exports by destination and product, summed over the horizon
  (mean over draws), from the ``shipments`` results. A Monte Carlo run stores no shipments
  (its statistics are streamed): its exports count as unknown, and the view is left empty
  with a note (``notes``) rather than compared with zeros.

Rows whose changes are all zero are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from rareflow.io.store import ResultStore

SECTOR_MEASURES = ("value_lost_usd", "units_not_built", "peak_shortage_share", "shortage_months")
EXPORTER = "CHN"
TOLERANCE = 1e-9


@dataclass
class Comparison:
    run_a: str
    run_b: str
    scenario_a: str
    scenario_b: str
    sectors: pd.DataFrame
    prices: pd.DataFrame
    exports: pd.DataFrame
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        from rareflow.io.export import jsonable

        frames = {"sectors": self.sectors, "prices": self.prices, "exports": self.exports}
        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "scenario_a": self.scenario_a,
            "scenario_b": self.scenario_b,
            **{k: jsonable(v.to_dict(orient="records")) for k, v in frames.items()},
            "notes": self.notes,
        }

    def to_frame(self) -> pd.DataFrame:
        """The three views in one table (CSV): a ``view`` column, then each view's columns
        (empty where a view has no such column)."""
        frames = [_long(v, f) for v, f in
                  (("sectors", self.sectors), ("prices", self.prices), ("exports", self.exports))
                  if not f.empty]  # fmt: skip
        if not frames:
            return pd.DataFrame(columns=["view"])
        return pd.concat(frames, ignore_index=True)


def _long(view: str, frame: pd.DataFrame) -> pd.DataFrame:
    return frame.assign(view=view)[["view", *frame.columns]]


def _paired(a: pd.DataFrame, b: pd.DataFrame, keys: list[str], measures: list[str]) -> pd.DataFrame:
    """Outer-join A and B on ``keys``; columns <m>_a, <m>_b, <m>_change; missing as 0."""
    merged = a[keys + measures].merge(
        b[keys + measures], on=keys, how="outer", suffixes=("_a", "_b")
    )
    for m in measures:
        merged[[f"{m}_a", f"{m}_b"]] = merged[[f"{m}_a", f"{m}_b"]].astype(float).fillna(0.0)
        merged[f"{m}_change"] = merged[f"{m}_b"] - merged[f"{m}_a"]
    changed = (merged[[f"{m}_change" for m in measures]].abs() > TOLERANCE).any(axis=1)
    return merged[changed].reset_index(drop=True)


def _by_magnitude(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Sorted by |change| of the columns in order (first is the main key)."""
    order = frame[columns].abs()
    index = order.sort_values(columns, ascending=False, kind="stable").index
    return frame.loc[index].reset_index(drop=True)


def sector_changes(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    frame = _paired(a, b, ["region", "sector"], list(SECTOR_MEASURES))
    return _by_magnitude(frame, [f"{m}_change" for m in SECTOR_MEASURES])


def price_changes(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    keys, measures = ["product", "market"], ["peak_usd_per_kg"]
    frame = _paired(a, b, keys, measures)
    base = frame["peak_usd_per_kg_a"].where(frame["peak_usd_per_kg_a"] != 0)
    frame["peak_change_pct"] = 100.0 * frame["peak_usd_per_kg_change"] / base
    return _by_magnitude(frame, ["peak_change_pct", "peak_usd_per_kg_change"])


def china_exports(results: pd.DataFrame, exporter: str = EXPORTER) -> pd.DataFrame:
    """Tonnes shipped by ``exporter`` per destination and product over the horizon."""
    ships = results[(results["metric"] == "shipments") & (results["region"] == exporter)]
    per_draw = ships.groupby(["draw", "partner", "product"], as_index=False)["value"].sum()
    total = per_draw.groupby(["partner", "product"], as_index=False)["value"].mean()
    return total.rename(columns={"value": "tonnes"})


def export_changes(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    frame = _paired(a, b, ["partner", "product"], ["tonnes"])
    base = frame["tonnes_a"].where(frame["tonnes_a"] != 0)
    frame["tonnes_change_pct"] = 100.0 * frame["tonnes_change"] / base
    return _by_magnitude(frame, ["tonnes_change"])


def compare(store: ResultStore, run_a: str, run_b: str) -> Comparison:
    """Compare run B with run A (both in ``store``; ids or unique prefixes)."""
    run_a, run_b = store.resolve(run_a), store.resolve(run_b)
    info_a, info_b = store.run(run_a), store.run(run_b)
    without = [r for r in (run_a, run_b) if "shipments" not in store.metrics(r)]
    if without:
        exports = pd.DataFrame(columns=["partner", "product", "tonnes_a", "tonnes_b"])
        notes = [f"exports not compared: run {', '.join(without)} stores no shipments "
                 "(a Monte Carlo run keeps statistics of its headline outputs only)"]  # fmt: skip
    else:
        exports = export_changes(
            china_exports(store.results(run_a, "shipments")),
            china_exports(store.results(run_b, "shipments")),
        )
        notes = []
    return Comparison(
        run_a=run_a,
        run_b=run_b,
        scenario_a=str(info_a["scenario"]),
        scenario_b=str(info_b["scenario"]),
        sectors=sector_changes(store.summary(run_a), store.summary(run_b)),
        prices=price_changes(store.peak_prices(run_a), store.peak_prices(run_b)),
        exports=exports,
        notes=notes,
    )
