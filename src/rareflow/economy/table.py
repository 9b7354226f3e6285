"""Input-output tables: the bundled compact table or any table pymrio reads, checked.

A table is a ``pymrio.IOSystem`` with Z (industries x industries) and Y (industries x final
demand categories), yearly, region-major as pymrio orders it. Checks (exit 2, naming the
table, the row and the value): final demand not negative; the table balances (where it has
x, ``x = Z 1 + Y 1`` within 0.1%); no industry buys more inputs than it makes (value added
not under -0.1% of output).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from rareflow.errors import UserInputError

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "data" / "baseline" / "economy"
DEFAULT_TABLE = DEFAULT_DIR / "table"
BALANCE_TOLERANCE = 1e-3
EUR_USD = 1.08  # assumption: 2024 average of about 1.08 USD per EUR, for tables in EUR


@dataclass(frozen=True)
class Table:
    """A checked table as arrays: ``z`` (N, N) and ``final`` (N,) in table units a year."""

    name: str
    regions: list[str]
    sectors: list[str]
    z: np.ndarray
    final: np.ndarray
    usd_per_unit: float
    unit_note: str

    @property
    def x(self) -> np.ndarray:
        return self.z.sum(axis=1) + self.final

    @property
    def value_added(self) -> np.ndarray:
        return np.maximum(self.x - self.z.sum(axis=0), 0.0)


def read_bundled(folder: Path = DEFAULT_TABLE) -> Any:
    """The bundled table, read with pandas (pymrio's text format; no pymrio needed): an object
    with pymrio's Z, Y, x and unit."""
    from types import SimpleNamespace

    z = pd.read_csv(folder / "Z.csv", sep="\t", index_col=[0, 1], header=[0, 1])
    y = pd.read_csv(folder / "Y.csv", sep="\t", index_col=[0, 1], header=[0, 1])
    unit = pd.read_csv(folder / "unit.csv", sep="\t", index_col=[0, 1])
    return SimpleNamespace(Z=z, Y=y, x=None, unit=unit)


def read_iosystem(path: Path) -> Any:
    """A pymrio IOSystem from a folder or archive pymrio saved, an EXIOBASE 3 zip or an OECD
    ICIO file (needs the ``economy`` extra)."""
    from rareflow.errors import require_extra

    require_extra("economy", "--mrio")
    import pymrio

    if not path.exists():
        raise UserInputError("no such table", file=str(path), hint="Give a folder or zip "
                             "pymrio reads (pymrio.load), an EXIOBASE 3 zip or an OECD ICIO csv")  # fmt: skip
    name = path.name.lower()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if "iot_" in name or "exiobase" in name:
                return pymrio.parse_exiobase3(path)
            if "icio" in name:
                return pymrio.parse_oecd(path)
            return pymrio.load(path)
    except UserInputError:
        raise
    except Exception as error:  # pymrio raises many kinds; the user's file is the cause
        raise UserInputError(
            f"pymrio cannot read this table: {str(error).splitlines()[0][:160]}",
            file=str(path),
            expected="a folder saved by pymrio (IOSystem.save), an EXIOBASE 3 zip (IOT_*) "
            "or an OECD ICIO file (*ICIO*)",
        ) from error


def usd_factor(unit: Any) -> tuple[float, str]:
    """USD per table unit, from pymrio's unit column ('Mill USD', 'M.EUR', ...)."""
    text = ""
    if isinstance(unit, pd.DataFrame) and not unit.empty:
        text = str(unit.iloc[0, 0])
    low = text.lower().replace(".", " ")
    scale = 1e6 if ("mill" in low or low.startswith("m ") or "meur" in low) else 1.0
    if "eur" in low:
        return scale * EUR_USD, f"{text}: converted at {EUR_USD} USD/EUR (assumption)"
    if "usd" in low or "dollar" in low:
        return scale, text
    return 1e6, f"unit {text!r} not recognised: read as million USD"


def from_iosystem(io: Any, name: str) -> Table:
    if io.Z is None or io.Y is None:
        raise UserInputError("the table has no Z or Y", file=name,
                             expected="intermediate flows Z and final demand Y")  # fmt: skip
    z_frame, y_frame = io.Z, io.Y
    y_frame = y_frame.reindex(z_frame.index)
    check_final_demand(y_frame, name)
    z = z_frame.to_numpy(dtype=np.float64)
    final = y_frame.to_numpy(dtype=np.float64).sum(axis=1)
    x_given = None if io.x is None else io.x.reindex(z_frame.index).to_numpy().ravel()
    check_balance(z, final, x_given, list(z_frame.index), name)
    regions = list(dict.fromkeys(str(r) for r in z_frame.index.get_level_values(0)))
    sectors = list(dict.fromkeys(str(s) for s in z_frame.index.get_level_values(1)))
    if len(z) != len(regions) * len(sectors):
        raise UserInputError("the table is not every sector in every region", file=name,
                             value=len(z), expected=f"{len(regions)} x {len(sectors)} rows")  # fmt: skip
    usd, note = usd_factor(getattr(io, "unit", None))
    return Table(name, regions, sectors, z, final, usd, note)


def check_final_demand(y: pd.DataFrame, name: str) -> None:
    values = y.to_numpy(dtype=np.float64)
    bad = np.argwhere(values < 0)
    if len(bad):
        i, j = bad[0]
        raise UserInputError(
            f"negative final demand ({len(bad)} cells)",
            file=name,
            row=int(i) + 1,
            column=f"Y {y.columns[j]} of {y.index[i]}",
            value=float(values[i, j]),
            expected="final demand >= 0",
            hint="ARIO rations supply to demand; net out negative entries (e.g. inventory "
            "changes) into other categories first",
        )


def check_balance(z: np.ndarray, final: np.ndarray, x: np.ndarray | None, index: list[Any],
                  name: str) -> None:  # fmt: skip
    total = z.sum(axis=1) + final
    if x is not None:
        off = np.abs(total - x) > BALANCE_TOLERANCE * np.maximum(np.abs(x), 1e-9)
        if off.any():
            i = int(np.flatnonzero(off)[0])
            raise UserInputError(
                f"the table does not balance ({int(off.sum())} rows)",
                file=name,
                row=i + 1,
                column=f"x of {index[i]}",
                value=float(x[i]),
                expected=f"output = intermediate + final use = {total[i]:.6g} within 0.1%",
            )
    va = total - z.sum(axis=0)
    short = va < -BALANCE_TOLERANCE * np.maximum(total, 1e-9)
    if short.any():
        j = int(np.flatnonzero(short)[0])
        raise UserInputError(
            f"the table does not balance: inputs exceed output ({int(short.sum())} columns)",
            file=name,
            row=j + 1,
            column=f"Z column of {index[j]}",
            value=float(z[:, j].sum()),
            expected=f"inputs <= output {total[j]:.6g}",
        )


def load_table(path: str | Path | None = None) -> Table:
    """The bundled compact table, or the one at ``path``."""
    if path is None:
        return from_iosystem(read_bundled(), "bundled compact table")
    return from_iosystem(read_iosystem(Path(path)), str(path))
