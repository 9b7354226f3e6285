"""From rareflow's (region, sector) to a table's: a CSV a user can edit.

Columns ``kind, table, rareflow, share, note``:

- ``region`` rows: a table region and the rareflow region it belongs to; a table region split
  between several rareflow regions lists each with its share of the table region's output
  (shares of one table region sum to 1). Table regions not listed are never shocked.
- ``sector`` rows: a table sector and a rareflow sector it makes, with the share of the table
  sector's output that the rareflow sector is (a 30% stop of a rareflow sector that is 15% of
  motor vehicles takes 4.5% of their capacity). Shares of one table sector sum to at most 1.

Every rareflow region and sector must be mapped (else exit 2 naming the code). Shipped:
``default.csv`` (the compact table), ``exiobase3.csv`` (EXIOBASE 3 ixi names, 49 regions),
``oecd_icio.csv`` (OECD ICIO 2023 codes). Their shares are labelled assumptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from rareflow.errors import UserInputError

MAPPINGS = Path(__file__).parent / "mappings"
COLUMNS = ("kind", "table", "rareflow", "share")


@dataclass(frozen=True)
class Mapping:
    """Weights: ``regions`` (table regions, rareflow regions), ``sectors`` (table sectors,
    rareflow sectors)."""

    regions: np.ndarray
    sectors: np.ndarray

    def capacity_loss(self, shock: np.ndarray) -> np.ndarray:
        """(D, T, r, s) shares stopped -> (D, T, N) table capacity losses, region-major."""
        loss = np.einsum("Rr,dtrs,Ss->dtRS", self.regions, shock, self.sectors)
        return np.clip(loss, 0.0, 1.0).reshape(*shock.shape[:2], -1)

    @property
    def direct(self) -> np.ndarray:
        """(table sectors,) bool: the table sector uses rare earths (some rareflow sector)."""
        return self.sectors.sum(axis=1) > 0


def default_mapping(table_name: str) -> Path:
    lowered = table_name.lower()
    if "exiobase" in lowered or "iot_" in lowered:
        return MAPPINGS / "exiobase3.csv"
    if "icio" in lowered:
        return MAPPINGS / "oecd_icio.csv"
    return MAPPINGS / "default.csv"


def read_mapping(path: Path, table_regions: list[str], table_sectors: list[str],
                 regions: list[str], sectors: list[str]) -> Mapping:  # fmt: skip
    name = str(path)
    if not path.exists():
        raise UserInputError("no such mapping file", file=name,
                             hint=f"start from one in {MAPPINGS}")  # fmt: skip
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise UserInputError("missing columns", file=name, value=missing,
                             expected=", ".join(COLUMNS))  # fmt: skip
    wr = np.zeros((len(table_regions), len(regions)))
    ws = np.zeros((len(table_sectors), len(sectors)))
    for i, row in enumerate(frame[list(COLUMNS)].to_numpy().tolist(), start=2):
        kind, table, code = str(row[0]), str(row[1]), str(row[2])
        share = _share(str(row[3]), name, i)
        if kind == "region":
            _put(wr, table_regions, regions, table, code, share, name, i, "region")
        elif kind == "sector":
            _put(ws, table_sectors, sectors, table, code, share, name, i, "sector")
        else:
            raise UserInputError("unknown kind", file=name, row=i, column="kind", value=kind,
                                 expected="region or sector")  # fmt: skip
    _complete(wr, regions, name, "region")
    _complete(ws, sectors, name, "sector")
    _sums(wr, table_regions, name, "region", exact=True)
    _sums(ws, table_sectors, name, "sector", exact=False)
    return Mapping(wr, ws)


def _share(text: str, name: str, row: int) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 1:
        raise UserInputError("share out of range", file=name, row=row, column="share",
                             value=text, expected="a number in (0, 1]")  # fmt: skip
    return value


def _put(weights: np.ndarray, table_codes: list[str], codes: list[str], table: str, code: str,
         share: float, name: str, row: int, kind: str) -> None:  # fmt: skip
    if table not in table_codes:
        raise UserInputError(f"table {kind} not in the table", file=name, row=row,
                             column="table", value=table,
                             expected=f"one of {', '.join(table_codes[:8])}...")  # fmt: skip
    if code not in codes:
        raise UserInputError(f"unknown rareflow {kind}", file=name, row=row, column="rareflow",
                             value=code, expected=f"one of {' '.join(codes)}")  # fmt: skip
    weights[table_codes.index(table), codes.index(code)] += share


def _complete(weights: np.ndarray, codes: list[str], name: str, kind: str) -> None:
    unmapped = [c for c, used in zip(codes, weights.sum(axis=0) > 0, strict=True) if not used]
    if unmapped:
        raise UserInputError(
            f"the mapping leaves rareflow {kind}s unmapped",
            file=name,
            column="rareflow",
            value=unmapped,
            expected=f"a '{kind}' row for every rareflow {kind}",
            hint=f"add a row '{kind},<table {kind}>,{unmapped[0]},<share>,'",
        )


def _sums(weights: np.ndarray, table_codes: list[str], name: str, kind: str,
          exact: bool) -> None:  # fmt: skip
    sums = weights.sum(axis=1)
    bad = (np.abs(sums - 1) > 1e-6) & (sums > 0) if exact else sums > 1 + 1e-6
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise UserInputError(
            f"shares of table {kind} {table_codes[i]!r} add up to {sums[i]:.4g}",
            file=name,
            column="share",
            value=float(sums[i]),
            expected="1" if exact else "at most 1",
        )
