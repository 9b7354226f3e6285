"""Reported licence approval shares and inventory covers of 2025, in the model's units.

Read from ``licence_approvals_2025.csv`` and ``inventory_cover_2025.csv`` (schema-checked,
``rareflow.data.reference.tables``). Nothing in the model reads them yet: they are the targets
the calibration of licences and buyers' stocks is to be held against.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from rareflow.data.reference.tables import month_of, read_reference, reference_path
from rareflow.errors import UserInputError

LICENCES = "licence_approvals_2025"
COVER = "inventory_cover_2025"
WEEKS_PER = {"days": 1 / 7, "weeks": 1.0, "months": 52 / 12}
COVER_TEXT = re.compile(
    r"^(?:(?P<lt><)(?P<hi>\d+(?:\.\d+)?)|(?P<lo>\d+(?:\.\d+)?)(?:-(?P<to>\d+(?:\.\d+)?))?)$"
)


def approval_shares(directory: Path | None = None) -> pd.DataFrame:
    """Columns month, date, region, approval_share (fraction of applications), quality."""
    table = read_reference(LICENCES, directory)
    rows = table[(table["measure"] == "approval_share") & table["value"].notna()]
    return pd.DataFrame(
        {
            "month": rows["date"].map(month_of),
            "date": rows["date"],
            "region": rows["region"],
            "approval_share": rows["value"] / 100.0,
            "quality": rows["quality"],
        }
    ).reset_index(drop=True)


def cover_weeks(text: str) -> tuple[float, float] | None:
    """'2-3' -> (2, 3); '5' -> (5, 5); '<1' -> (0, 1); anything else None."""
    match = COVER_TEXT.match(text.strip())
    if match is None:
        return None
    if match["lt"]:
        return 0.0, float(match["hi"])
    low = float(match["lo"])
    return low, float(match["to"]) if match["to"] else low


def inventory_cover(directory: Path | None = None) -> pd.DataFrame:
    """Quantified covers in weeks: month, region, sector, holder, weeks_low, weeks_high.

    Qualitative rows (no value) are left out; a value that is not a number, 'lo-hi' or '<x',
    or a value without its unit, is refused (exit 2) with its file and row.
    """
    table = read_reference(COVER, directory)
    file = str(reference_path(COVER, directory))
    rows = []
    for index, row in table[table["cover_months_or_weeks"] != ""].iterrows():
        weeks = cover_weeks(row["cover_months_or_weeks"])
        if weeks is None or row["unit"] == "":
            raise UserInputError(
                "not a cover", file=file, row=int(str(index)) + 2,
                column="cover_months_or_weeks" if weeks is None else "unit",
                value=row["cover_months_or_weeks"] if weeks is None else row["unit"],
                expected="a number, 'lo-hi' or '<x', with a unit (days, weeks, months)",
            )  # fmt: skip
        factor = WEEKS_PER[row["unit"]]
        rows.append(
            {
                "month": month_of(row["date"]),
                "region": row["region"],
                "sector": row["sector"],
                "holder": row["holder"],
                "weeks_low": weeks[0] * factor,
                "weeks_high": weeks[1] * factor,
                "quality": row["quality"],
            }
        )
    return pd.DataFrame(rows)
