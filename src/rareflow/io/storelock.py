"""A lock file beside the results store, so rareflow's processes take turns on it whatever
DuckDB's own lock does.

DuckDB locks the store with POSIX ``fcntl`` record locks, which a process loses as soon as it
closes *any* descriptor of the file, and DuckDB opens and closes the file to read its header on
every connect. Once in eight full test runs, one of 20 concurrent ``rareflow run``
processes beside a polling server exited 0 with its run committed, and the run was not in the
store afterwards (no error, nothing kept aside); the cause inside DuckDB was not pinned down.
So every rareflow connection also holds ``flock`` on ``<store>.lock``: shared to read,
exclusive to write. ``flock`` belongs to the open file description, so no other descriptor's
close releases it, and the kernel drops it when its process dies (``kill -9`` included).

Where ``fcntl`` is missing (Windows), or the lock file cannot be opened (a read-only directory
without one) or locked (a filesystem without ``flock``), DuckDB's lock is all there is.
"""

from __future__ import annotations

import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


class LockBusy(Exception):
    """Another process holds the lock file in a conflicting mode."""


class StoreLock:
    """``flock`` on ``<store>.lock``; ``acquire`` never blocks (callers wait with backoff)."""

    def __init__(self, store: Path) -> None:
        self.path = store.with_name(store.name + ".lock")
        self._fd: int | None = None

    def acquire(self, *, exclusive: bool) -> bool:
        """Take the lock; True if this call took it, False if it was held already or cannot be
        had here (see the module docstring). Raises ``LockBusy`` while another process has it."""
        if self._fd is not None or fcntl is None:
            return False
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_CREAT, 0o666)
        except OSError:
            return False
        mode = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockBusy(f"{self.path} is held by another process") from None
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        """Let go (closing the descriptor drops the flock)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
