"""China's 2024 magnet exports by destination, from the observed customs months.

For every destination with 2024 months in the calibration series (both customs files, read by
``rareflow.history.observed``, so the build and the backtest share one definition of
"observed"), its 2024 share of China's HS 8505.11 exports is

    share = sum of its tonnes over those months / sum of World tonnes over the same months

(a ratio of sums, so a month's seasonality cancels), and its annual tonnes are that share x the
2024 full-year total. Months without a World figure are left out. The result is ``derived``
provenance with the months, tonnes and files in the note.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rareflow.history.observed import BY_DESTINATION, FILE_NAME, WORLD, read_observed

YEAR = "2024"
# Relative sd of a share estimated from this many months (a single month's share swings
# about 15% around the annual one in the 2024 World series; several months average it out).
SIGMA_FEW, SIGMA_MANY, MANY = 0.15, 0.10, 3


@dataclass(frozen=True)
class ObservedShare:
    region: str
    share: float  # of China's HS 8505.11 exports, t/t
    months: tuple[str, ...]
    tonnes: tuple[float, ...]  # the destination's observed tonnes in those months
    world: tuple[float, ...]  # World tonnes in the same months

    @property
    def sigma(self) -> float:
        return SIGMA_MANY if len(self.months) >= MANY else SIGMA_FEW

    def note(self, total: float) -> str:
        months = ", ".join(
            f"{m} {t:,.0f} of {w:,.0f} t" for m, t, w in zip(self.months, self.tonnes, self.world,
                                                           strict=True)
        )  # fmt: skip
        return (
            f"observed 2024 share of China's HS 8505.11 magnet exports to {self.region} "
            f"({self.share:.2%}: {months}; customs via press, {FILE_NAME} and "
            f"{BY_DESTINATION}.csv) x 2024 total {total:,.0f} t"
        )


def observed_shares(calibration: Path) -> dict[str, ObservedShare]:
    """2024 shares of every destination region with observed 2024 months (groups left out)."""
    obs = read_observed(calibration / FILE_NAME)
    obs = obs[obs["month"].str.startswith(YEAR)]
    world = obs[obs["destination"] == WORLD].set_index("month")["observed_tonnes"]
    out = {}
    for region, part in obs[obs["destination"] != WORLD].groupby("destination"):
        part = part[part["month"].isin(world.index)].sort_values("month")
        if part.empty or len(str(region)) != 3:  # 'EU' is a group of regions, not one
            continue
        months = tuple(str(m) for m in part["month"])
        tonnes = tuple(float(t) for t in part["observed_tonnes"])
        totals = tuple(float(world[m]) for m in months)
        out[str(region)] = ObservedShare(str(region), sum(tonnes) / sum(totals), months, tonnes,
                                         totals)  # fmt: skip
    return out
