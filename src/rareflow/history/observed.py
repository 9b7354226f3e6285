"""Observed China magnet exports (customs, HS 8505.11) by month and destination.

Read from ``china_magnet_exports_monthly.csv`` and, where present beside it,
``china_magnet_exports_by_destination.csv`` (the 2025 table; checked against its schema, see
``rareflow.data.reference.tables``) in the calibration directory (``$RAREFLOW_CALIBRATION_DIR``,
else the copies bundled in ``rareflow/data/reference``), so that a newer file with later months
is picked up without a code change. The two files hold no row twice; they are used together.

Rules, applied in this order:

- Only rows whose product is ``rare earth magnets (HS 8505.11)`` and that give ``tonnes``;
  other scopes (magnet powders, Bloomberg's category, single elements) are different series.
- Destinations map to model regions (``DESTINATIONS``); 'European Union' is the sum of ``DEU``
  and ``XEU`` in the model; 'Europe' (a year-to-date vendor figure) is left out.
- Duplicates (the same month and destination reported twice) are the same customs figure
  rounded differently (e.g. 1,238 and 1,238.47 t): the median is kept.
- Where a month has no reported figure, one implied by a later report's month-on-month or
  year-on-year change is used (``kind`` 'implied'): ``tonnes / (1 + change / 100)``. These carry
  the rounding of the percentage (about 1%). The by-destination table's ``derived`` rows (the
  same back-calculation, or a printed share x the World total) count as implied too.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from rareflow.data.reference import calibration_dir
from rareflow.errors import UserInputError

MAGNETS_HS = "rare earth magnets (HS 8505.11)"
FILE_NAME = "china_magnet_exports_monthly.csv"
BY_DESTINATION = "china_magnet_exports_by_destination"
WORLD = "World"
EU = "EU"
# Destination names in the customs reports -> series names (model region codes, or groups).
DESTINATIONS = {
    "World": WORLD,
    "United States": "USA",
    "Germany": "DEU",
    "Japan": "JPN",
    "South Korea": "KOR",
    "India": "IND",
    "Vietnam": "VNM",
    "Mexico": "MEX",
    "Thailand": "THA",
    "Malaysia": "MYS",
    "United Kingdom": "GBR",
    "Australia": "AUS",
    "European Union": EU,
}
# Model importer regions summed for each group series.
GROUPS = {EU: ("DEU", "XEU")}
MAGNET_PRODUCTS = ("ndfeb_sintered", "ndfeb_bonded", "smco")


def _shift(month: str, months: int) -> str:
    return str(pd.Period(month, freq="M") + months)


def read_observed(path: Path | None = None) -> pd.DataFrame:
    """Observed series: columns month, destination, observed_tonnes, kind (reported|implied).

    ``path``: the monthly file; the by-destination table is read from the same folder.
    """
    path = path or calibration_dir() / FILE_NAME
    if not path.exists():
        raise UserInputError(
            "the observed magnet exports are not there",
            file=str(path),
            hint="set RAREFLOW_CALIBRATION_DIR to the folder holding " + FILE_NAME,
        )
    raw = pd.read_csv(path, dtype={"month": str})
    raw = raw[raw["product"] == MAGNETS_HS].assign(quality="sourced")
    rows = pd.concat([raw, _by_destination(path.parent)], ignore_index=True)
    rows = rows[rows["destination"].isin(list(DESTINATIONS))]
    rows = rows.assign(destination=rows["destination"].map(DESTINATIONS))
    printed = rows[rows["quality"] == "sourced"].dropna(subset=["tonnes"])
    reported = (
        printed.groupby(["month", "destination"], as_index=False)["tonnes"]
        .median()
        .assign(kind="reported")
    )
    implied = _implied(rows.dropna(subset=["tonnes"]))
    known = set(zip(reported["month"], reported["destination"], strict=True))
    implied = implied[
        [(m, d) not in known for m, d in zip(implied["month"], implied["destination"], strict=True)]
    ]
    out = pd.concat([reported, implied], ignore_index=True)
    out = out.rename(columns={"tonnes": "observed_tonnes"})
    return out.sort_values(["destination", "month"]).reset_index(drop=True)


def _by_destination(directory: Path) -> pd.DataFrame:
    """The 2025 by-destination table (empty where the folder has none), schema-checked."""
    from rareflow.data.reference.tables import read_reference, reference_path

    if not reference_path(BY_DESTINATION, directory).exists():
        return pd.DataFrame(columns=["month", "destination", "tonnes", "quality"])
    table = read_reference(BY_DESTINATION, directory)
    return pd.DataFrame(table.drop(columns=["source_url", "source_note"]))


def _implied(rows: pd.DataFrame) -> pd.DataFrame:
    """Figures implied by changes, and the derived rows as printed; median per month."""
    derived = rows[rows["quality"] == "derived"]
    parts = [derived[["month", "destination", "tonnes"]]]
    rows = rows[rows["quality"] == "sourced"]
    for column, lag in (("mom_change_pct", 1), ("yoy_change_pct", 12)):
        have = rows.dropna(subset=[column])
        parts.append(
            pd.DataFrame(
                {
                    "month": [_shift(m, -lag) for m in have["month"]],
                    "destination": have["destination"].to_numpy(),
                    "tonnes": (have["tonnes"] / (1 + have[column] / 100)).to_numpy(),
                }
            )
        )
    implied = pd.concat(parts, ignore_index=True)
    if implied.empty:
        return implied.assign(kind=pd.Series(dtype=str))
    medians = implied.groupby(["month", "destination"], as_index=False)["tonnes"].median()
    return pd.DataFrame(medians).assign(kind="implied")


def months_between(start: str, end: str) -> list[str]:
    return [str(p) for p in pd.period_range(start, end, freq="M")]
