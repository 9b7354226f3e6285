"""Reading the 2025 calibration tables against their declared schemas.

``read_reference(name)`` reads ``<name>.csv`` from the calibration directory
(``$RAREFLOW_CALIBRATION_DIR``, else the bundled copy) and checks it against
``rareflow.data.schema.REFERENCE_TABLES``: every problem (file, row, column, value, expectation)
is raised together as one ``DataValidationError`` (exit code 2). Row numbers are line numbers in
the file (the header is line 1). Numbers come back as floats, empty optional numbers as NaN.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from rareflow.data.reference import ENV_DIR, calibration_dir
from rareflow.data.schema import REFERENCE_DATES, REFERENCE_TABLES, Column, Table
from rareflow.errors import DataValidationError, UserInputError

DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$")
MAX_PROBLEMS = 200


def reference_path(name: str, directory: Path | None = None) -> Path:
    return (directory or calibration_dir()) / f"{name}.csv"


def read_reference(name: str, directory: Path | None = None) -> pd.DataFrame:
    """One reference table, typed and checked; UserInputError if the file is missing."""
    schema = REFERENCE_TABLES[name]
    path = reference_path(name, directory)
    if not path.exists():
        raise UserInputError(
            "the calibration table is not there",
            file=str(path),
            hint=f"set {ENV_DIR} to the folder holding {path.name}",
        )
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    return check_reference(raw, schema, str(path))


def check_reference(raw: pd.DataFrame, schema: Table, file: str) -> pd.DataFrame:
    """Typed copy of ``raw``; raises every problem found as one DataValidationError."""
    problems: list[UserInputError] = []
    out = pd.DataFrame(index=raw.index)
    for col in schema.columns:
        if col.name not in raw.columns:
            problems.append(
                UserInputError(
                    "missing column",
                    file=file,
                    column=col.name,
                    expected=f"a column '{col.name}' ({col.description})",
                )
            )
            continue
        out[col.name] = _column(raw[col.name], col, file, problems)
    for name in REFERENCE_DATES.get(schema.name, ()):
        if name in out:
            _check_dates(out[name], name, file, problems)
    if problems:
        raise DataValidationError(problems[:MAX_PROBLEMS])
    return out


def _line(index: object) -> int:
    return int(index) + 2  # type: ignore[call-overload]  # header is line 1


def _column(values: pd.Series, col: Column, file: str, problems: list[UserInputError]) -> pd.Series:
    text = values.astype(str).str.strip()
    blank = text == ""
    if col.required:
        for index in text.index[blank]:
            problems.append(UserInputError("empty value", file=file, row=_line(index),
                                           column=col.name, expected=col.description))  # fmt: skip
    if col.dtype == "str":
        allowed = col.allowed or _referenced(col)
        if allowed is not None:
            for index in text.index[~text.isin(allowed) & ~blank]:
                problems.append(UserInputError("value not allowed", file=file, row=_line(index),
                    column=col.name, value=text[index], expected="one of " + ", ".join(allowed)))  # fmt: skip
        return text
    numbers = pd.to_numeric(text.where(~blank), errors="coerce")
    bad = (numbers.isna() & ~blank) | ~np.isfinite(numbers.fillna(0.0))
    low = numbers < col.minimum if col.minimum is not None else bad & False
    high = numbers > col.maximum if col.maximum is not None else bad & False
    for index in text.index[bad | low | high]:
        expected = f"a number in {col.unit}".strip() if bad[index] else _bounds(col)
        message = "not a number" if bad[index] else "value out of range"
        problems.append(UserInputError(message, file=file, row=_line(index), column=col.name,
                                       value=text[index], expected=expected))  # fmt: skip
    return numbers.astype(float)


def _bounds(col: Column) -> str:
    parts = [f">= {col.minimum:g}" if col.minimum is not None else "",
             f"<= {col.maximum:g}" if col.maximum is not None else ""]  # fmt: skip
    return f"a number {' and '.join(p for p in parts if p)} {col.unit}".strip()


def _referenced(col: Column) -> tuple[str, ...] | None:
    """Values of the bundled dimension table a column refers to (e.g. sectors.sector)."""
    if col.references is None:
        return None
    from rareflow.data.network import BASELINE_DIR

    table, column = col.references.split(".")
    frame = pd.read_csv(BASELINE_DIR / f"{table}.csv", dtype=str, keep_default_na=False)
    return tuple(frame[column])


def _check_dates(values: pd.Series, col: str, file: str, problems: list[UserInputError]) -> None:
    for index in values.index[~values.str.match(DATE)]:
        problems.append(UserInputError("not a date", file=file, row=_line(index), column=col,
                                       value=values[index], expected="YYYY-MM or YYYY-MM-DD"))  # fmt: skip


def month_of(date: str) -> str:
    """'2025-06-04' or '2025-06' -> '2025-06'."""
    return date[:7]
