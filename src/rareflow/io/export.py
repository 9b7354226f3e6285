"""Write tidy frames (CSV, JSON, Parquet) and JSON payloads to files, atomically.

Each write goes to a temporary file in the destination's directory and is then moved into place
with ``os.replace``: a reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rareflow.data.files import atomic_path, check_file_target
from rareflow.errors import UserInputError

if TYPE_CHECKING:
    import pandas as pd

FORMATS = ("csv", "json", "parquet")


def format_of(path: str | Path, fmt: str | None = None) -> str:
    """The explicit format, else the one the file's extension names."""
    chosen = (fmt or Path(path).suffix.lstrip(".")).lower()
    if chosen not in FORMATS:
        raise UserInputError(
            "unknown output format",
            file=str(path),
            value=chosen or "(no extension)",
            expected="one of " + ", ".join(FORMATS),
        )
    return chosen


def write_frame_to(frame: pd.DataFrame, target: Any, fmt: str) -> None:
    """Write ``frame`` in ``fmt`` to a path or a binary/text stream."""
    if fmt == "csv":
        frame.to_csv(target, index=False)
    elif fmt == "json":
        frame.to_json(target, orient="records", indent=2, date_format="iso")
    else:
        frame.to_parquet(target, index=False)


def write_frame(frame: pd.DataFrame, path: str | Path, fmt: str | None = None) -> Path:
    """Write a frame to ``path`` as csv, json (list of records) or parquet; atomic."""
    check_file_target(Path(path).expanduser())
    fmt = format_of(path, fmt)
    with atomic_path(path) as tmp:
        write_frame_to(frame, tmp, fmt)
    return Path(path)


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars made Python, NaN made None, tuples made lists."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def write_json(payload: Any, path: str | Path) -> Path:
    """Write a JSON document to ``path``; atomic."""
    with atomic_path(path) as tmp:
        text = json.dumps(jsonable(payload), indent=2, default=str)
        tmp.write_text(text + "\n", encoding="utf-8")
    return Path(path)
