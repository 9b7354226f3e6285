"""Write tidy frames (CSV, JSON, Parquet) and JSON payloads to files, atomically.

Each write goes to a temporary file in the destination's directory and is then moved into place
with ``os.replace``: a reader sees the old file or the new one, never half of one.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rareflow.errors import UserInputError

if TYPE_CHECKING:
    import pandas as pd

FORMATS = ("csv", "json", "parquet")


def _file_mode(target: Path) -> int:
    """The existing file's mode, else what a new file gets under the current umask."""
    if target.exists():
        return target.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path``; moved onto ``path`` when the block succeeds."""
    target = Path(path).expanduser()
    check_file_target(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise UserInputError(
            f"cannot write here: {exc.strerror or exc}", file=str(target)
        ) from None
    os.close(fd)
    try:
        yield Path(tmp)
        try:
            os.chmod(tmp, _file_mode(target))  # mkstemp makes 0600; give the usual ones
            os.replace(tmp, target)
        except OSError as exc:
            raise UserInputError(
                f"cannot write here: {exc.strerror or exc}", file=str(target)
            ) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def check_file_target(target: Path) -> None:
    """Refuse, with the reason, a file path that is a directory or lies under a file."""
    if target.is_dir():
        raise UserInputError(
            "this is a directory; give the path of a file to write",
            file=str(target),
            hint=f"e.g. {target / 'results.csv'}",
        )
    for parent in target.parents:
        if parent.exists():
            if not parent.is_dir():
                raise UserInputError(
                    "cannot write under this path: a parent is a file, not a directory",
                    file=str(target),
                    value=str(parent),
                )
            return


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
