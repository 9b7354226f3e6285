"""Stoppages against the 2025 reports over a grid of the buyers' cover parameters (issue 18).

    PYTHONPATH=src python benchmarks/sector_covers.py

One history run at the stored point; ``engine/buyers.py`` re-read with each
(``buyer_cover_log_sd``, ``automotive_cover_ratio``): events matched (of 14), (region, sector)
pairs stopped with no report, and how many of those are outside the automotive sectors.
Not a timed test: it measures the model, not the code.
"""

from __future__ import annotations

import numpy as np

from rareflow.engine.buyers import JUST_IN_TIME_SECTORS, stopped
from rareflow.history import stoppages as st
from rareflow.history.parameters import calibrated_parameters
from rareflow.history.simulator import HistorySimulator


def main() -> None:
    sim = HistorySimulator("2025-09")
    stored = {k: np.array([v]) for k, v in calibrated_parameters().items() if sim.knows(k)}
    raw = sim.run(stored, st.STOPPAGE_OUTPUTS)
    events = st.read_events()
    events = events[events["month"] <= "2025-09"]
    c = sim.compiled
    print("log_sd  ratio  matched  unreported  outside_automotive")
    for sigma in (0.6, 0.8, 1.02):
        for ratio in (1.0, 0.5, 0.3, 0.15):
            params = {
                **raw.parameters,
                "buyer_cover_log_sd": sigma,
                "automotive_cover_ratio": ratio,
            }
            share = stopped(raw.arrays, c, params)[0]
            frame = st.shortage_frame(share, sim.months, c.regions, c.sectors)
            matched = int(st.match_events(events, frame)["matched"].sum())
            quiet = st.unreported(events, frame, "2025-01")
            outside = int((~quiet["sector"].isin(JUST_IN_TIME_SECTORS)).sum())
            print(f"{sigma:6.2f}  {ratio:5.2f}  {matched:7d}  {len(quiet):10d}  {outside:18d}")


if __name__ == "__main__":
    main()
