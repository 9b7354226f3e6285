"""Writing a file atomically: a temporary file beside the target, moved onto it on success.

Low in the layers (data) so that every layer that writes results can use it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rareflow.errors import UserInputError


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
