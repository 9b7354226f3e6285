"""The curated CSVs that ship with the build: assumptions and behavioural parameters."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from rareflow.build.facts import Prov

HERE = Path(__file__).parent
ASSUMPTIONS = HERE / "assumptions.csv"
PARAMETERS = HERE / "parameters.csv"


@dataclass(frozen=True)
class Assumptions:
    frame: pd.DataFrame

    def value(self, name: str) -> float:
        return float(self._row(name)["value"])

    def prov(self, name: str) -> Prov:
        row = self._row(name)
        return Prov("assumption", f"{name} = {row['value']} {row['unit']}: {row['rationale']}")

    def _row(self, name: str) -> pd.Series:
        rows = self.frame[self.frame["name"] == name]
        if rows.empty:
            raise KeyError(f"assumption {name!r} missing from {ASSUMPTIONS.name}")
        return rows.iloc[0]


def load_assumptions(path: Path = ASSUMPTIONS) -> Assumptions:
    return Assumptions(pd.read_csv(path, dtype={"value": float}, keep_default_na=False))


def load_parameters(path: Path = PARAMETERS) -> pd.DataFrame:
    """The curated parameters table (re-read on every build; other engineers append rows)."""
    frame = pd.read_csv(path, keep_default_na=False)
    return frame.sort_values("name", kind="stable").reset_index(drop=True)
