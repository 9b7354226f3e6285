"""JSON-safe rows from frames (a leaf module: the history layer must not import the CLI)."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd


def clean(value: Any) -> Any:
    """JSON-safe scalars: numpy types to Python, NaN to null."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One dict per row, JSON-safe."""
    return [{str(k): clean(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


def clean_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: clean(v) for k, v in row.items()}
