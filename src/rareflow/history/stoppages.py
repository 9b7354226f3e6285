"""Modelled stoppages against the reported ones (``shortage_events_2025.csv``).

The modelled share is the share of a sector's buyers stopped (``engine/buyers.py``): the
thinnest buyers stop while their region still holds stock. ``pooling_grid`` (``python -m
rareflow.history.stoppages``) scores the buyers' pooling share on a grid, in sample; the
bundled ``buyer_pooling_share`` is the largest share that matches as many events as any.

A reported event is matched when the model has a stoppage (a share of the sector's demand
unmet of at least ``THRESHOLD``) in one of the event's regions and its sector within
``TOLERANCE_MONTHS`` of the event's first month; the peak share there is reported either way. Model stoppages in a (region, sector) with no reported event in the window
are listed as unreported: the news may have missed them, or the model invents them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rareflow.data.reference.tables import month_of, read_reference

FILE = "shortage_events_2025"
# Share of a (region, sector)'s demand unmet counted as a stoppage: 1%, far above rounding
# (the run summary counts any share over 1e-6) and below the smallest reported cut (Ather 8%).
THRESHOLD = 0.01
TOLERANCE_MONTHS = 1
# Country as printed -> model regions where the stopped output is.
COUNTRY_REGIONS = {
    "United States": ("USA",),
    "Japan": ("JPN",),
    "India": ("IND",),
    "European Union": ("DEU", "XEU"),
    "European Union / China": ("DEU", "XEU", "CHN"),  # EU Chamber members, plants in China
}


def read_events(directory: Path | None = None) -> pd.DataFrame:
    """The events with their model regions and first month."""
    table = read_reference(FILE, directory)
    regions = table["country"].map(lambda c: COUNTRY_REGIONS.get(c, ()))
    return table.assign(month=table["date_start"].map(month_of), regions=regions)


def shortage_frame(
    share: np.ndarray, months: list[str], regions: tuple[str, ...], sectors: tuple[str, ...]
) -> pd.DataFrame:
    """(T, R, S) shortage shares of one draw -> long rows month, region, sector, share."""
    t, r, s = np.meshgrid(range(len(months)), range(len(regions)), range(len(sectors)),
                          indexing="ij")  # fmt: skip
    return pd.DataFrame(
        {
            "month": np.asarray(months)[t.ravel()],
            "region": np.asarray(regions)[r.ravel()],
            "sector": np.asarray(sectors)[s.ravel()],
            "shortage_share": share.reshape(-1),
        }
    )


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict(orient="records")]


def _shift(month: str, k: int) -> str:
    return str(pd.Period(month, freq="M") + k)


def match_events(events: pd.DataFrame, shortage: pd.DataFrame) -> pd.DataFrame:
    """One row per event: matched, the modelled first month near it and the peak share."""
    rows = []
    for event in _rows(events):
        window = {_shift(event["month"], k) for k in range(-TOLERANCE_MONTHS, TOLERANCE_MONTHS + 1)}
        same = shortage[
            shortage["region"].isin(event["regions"]) & (shortage["sector"] == event["sector"])
        ]
        near = same[same["month"].isin(window)]
        stopped = same[same["shortage_share"] >= THRESHOLD]
        stopped_near = stopped[stopped["month"].isin(window)]
        rows.append(
            {
                "month": event["month"],
                "country": event["country"],
                "regions": ",".join(event["regions"]),
                "sector": event["sector"],
                "company": event["company"],
                "matched": bool(len(stopped_near)),
                "modelled_first_month": _first(stopped_near),
                "modelled_first_month_any": _first(stopped),
                "modelled_peak_share": float(near["shortage_share"].max()) if len(near) else 0.0,
            }
        )
    return pd.DataFrame(rows)


def _first(frame: pd.DataFrame) -> str | None:
    return str(frame["month"].min()) if len(frame) else None


def unreported(events: pd.DataFrame, shortage: pd.DataFrame, start: str) -> pd.DataFrame:
    """Modelled stoppages from ``start`` in (region, sector) pairs with no reported event."""
    reported = {(r, e["sector"]) for e in _rows(events) for r in e["regions"]}
    stopped = shortage[(shortage["shortage_share"] >= THRESHOLD) & (shortage["month"] >= start)]
    keep = np.array(
        [(r, s) not in reported for r, s in zip(stopped["region"], stopped["sector"], strict=True)],
        dtype=bool,
    )
    out = (
        stopped[keep]
        .groupby(["region", "sector"], as_index=False)
        .agg(
            first_month=("month", "min"),
            months=("month", "size"),
            peak_share=("shortage_share", "max"),
        )
    )
    return pd.DataFrame(out)


def buyers_stopped(raw: Any, compiled: Any, pooling: float | None = None) -> np.ndarray:
    """(D, T, R, S) share of buyers stopped in a run with inventory, demand and shortage
    share recorded; ``pooling`` overrides the run's ``buyer_pooling_share``."""
    from rareflow.engine.buyers import stopped

    return stopped(raw.arrays, compiled, raw.parameters, pooling)


STOPPAGE_OUTPUTS = ["inventory", "demand", "shortage_share"]


def pooling_grid(end: str = "2025-09", grid: np.ndarray | None = None) -> pd.DataFrame:
    """Per pooling share: events matched, (region, sector) pairs stopped with no reported
    event in 2025, and each event's modelled peak share (one history run, stored parameters)."""
    from rareflow.history.parameters import calibrated_parameters
    from rareflow.history.simulator import HistorySimulator

    sim = HistorySimulator(end)
    params = {k: np.array([v]) for k, v in calibrated_parameters().items() if sim.knows(k)}
    raw = sim.run(params, STOPPAGE_OUTPUTS)
    events = read_events()
    events = events[events["month"] <= end]
    rows = []
    for pooling in np.arange(0.0, 0.999, 0.05) if grid is None else grid:
        share = buyers_stopped(raw, sim.compiled, float(pooling))[0]
        frame = shortage_frame(share, sim.months, sim.compiled.regions, sim.compiled.sectors)
        matched = match_events(events, frame)
        rows.append(
            {
                "pooling_share": round(float(pooling), 4),
                "matched": int(matched["matched"].sum()),
                "events": len(matched),
                "unreported_pairs": len(unreported(events, frame, "2025-01")),
                "median_peak_share": float(matched["modelled_peak_share"].median()),
            }
        )
    return pd.DataFrame(rows)


def best_pooling(grid: pd.DataFrame) -> float:
    """The largest pooling share that matches as many events as any share does."""
    best = grid[grid["matched"] == grid["matched"].max()]
    return float(best["pooling_share"].max())


if __name__ == "__main__":
    table = pooling_grid()
    print(table.to_string(index=False))
    print(f"buyer_pooling_share: {best_pooling(table):g}")
