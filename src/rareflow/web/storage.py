"""The service's view of the DuckDB results store: the CLI's ``ResultStore`` plus two tables
of its own, ``web_jobs`` (runs started through the API and their progress) and
``web_scenarios`` (scenarios saved through the API).

DuckDB lets one process write a file at a time, and within a process refuses a read-only
connection beside a read-write one. So every operation here holds a process-wide lock, opens a
short-lived connection and closes it; when another process (the CLI) holds the file, it retries
for a few seconds and then raises ``StoreBusy``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from rareflow.errors import UserInputError
from rareflow.io.store import ResultStore

T = TypeVar("T")
RETRY_SECONDS = 5.0
ACTIVE = ("queued", "running")

JOBS_SCHEMA = """
CREATE TABLE IF NOT EXISTS web_jobs (
    run_id VARCHAR PRIMARY KEY, scenario VARCHAR, status VARCHAR, progress DOUBLE,
    stage VARCHAR, error VARCHAR, created_at VARCHAR, updated_at VARCHAR
);
CREATE TABLE IF NOT EXISTS web_scenarios (
    name VARCHAR PRIMARY KEY, scenario_json VARCHAR, created_at VARCHAR
);
"""
_LOCKS: dict[Path, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()


class StoreBusy(Exception):
    """Another process holds the store file for longer than we wait."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _lock_for(path: Path) -> threading.RLock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(path.resolve(), threading.RLock())


def _is_lock_error(error: Exception) -> bool:
    text = str(error).lower()
    return "lock" in text or "different configuration" in text


class WebStore:
    """Serialised, retrying access to one results store file."""

    def __init__(self, path: str | Path | None, retry_seconds: float = RETRY_SECONDS) -> None:
        self.db = ResultStore(path)
        self.path = self.db.path
        self.retry_seconds = retry_seconds
        self._lock = _lock_for(self.path)

    def call(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` under the process lock, retrying while another process holds the file."""
        deadline = time.monotonic() + self.retry_seconds
        delay = 0.05
        while True:
            try:
                with self._lock:
                    return fn()
            except UserInputError as error:
                if not _is_lock_error(error):
                    raise
                if time.monotonic() >= deadline:
                    raise StoreBusy(
                        f"the results store {self.path} is busy (another rareflow process is "
                        "writing to it); try again in a moment"
                    ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def execute(self, sql: str, args: list[Any] | None = None) -> None:
        def go() -> None:
            with self.db.connect() as con:
                con.execute(JOBS_SCHEMA)
                con.execute(sql, args or [])

        self.call(go)

    def query(self, sql: str, args: list[Any] | None = None) -> pd.DataFrame:
        def go() -> pd.DataFrame:
            with self.db.connect() as con:
                con.execute(JOBS_SCHEMA)
                return con.execute(sql, args or []).df()

        return self.call(go)

    # -- jobs ------------------------------------------------------------------------------
    def add_job(self, run_id: str, scenario: str) -> None:
        stamp = now()
        self.execute(
            "INSERT INTO web_jobs VALUES (?, ?, 'queued', 0.0, 'queued', NULL, ?, ?)",
            [run_id, scenario, stamp, stamp],
        )

    def update_job(
        self, run_id: str, status: str, progress: float, stage: str, error: str | None = None
    ) -> None:
        self.execute(
            "UPDATE web_jobs SET status = ?, progress = ?, stage = ?, error = ?, updated_at = ? "
            "WHERE run_id = ?",
            [status, progress, stage, error, now(), run_id],
        )

    def fail_interrupted(self) -> int:
        """Mark jobs left queued or running by a previous server as failed; returns how many."""
        found = self.query("SELECT run_id FROM web_jobs WHERE status IN ('queued', 'running')")
        for run_id in found["run_id"]:
            self.update_job(str(run_id), "failed", 0.0, "failed", "interrupted: the server stopped")
        return len(found)

    def job(self, run_id: str) -> dict[str, Any] | None:
        found = self.query("SELECT * FROM web_jobs WHERE run_id = ?", [run_id])
        return None if found.empty else _plain(found.to_dict(orient="records")[0])

    def jobs(self) -> list[dict[str, Any]]:
        found = self.query("SELECT * FROM web_jobs ORDER BY created_at DESC, run_id")
        return [_plain(row) for row in found.to_dict(orient="records")]

    # -- stored runs -----------------------------------------------------------------------
    def runs(self) -> pd.DataFrame:
        if not self.path.exists():
            return pd.DataFrame(columns=["run_id", "scenario", "status", "started_at"])
        return self.call(self.db.runs)

    def save(self, result: Any) -> str:
        return self.call(lambda: self.db.save(result))

    # -- saved scenarios -------------------------------------------------------------------
    def save_scenario(self, name: str, scenario_json: str) -> None:
        self.execute(
            "INSERT OR REPLACE INTO web_scenarios VALUES (?, ?, ?)", [name, scenario_json, now()]
        )

    def scenarios(self) -> dict[str, dict[str, Any]]:
        found = self.query("SELECT name, scenario_json FROM web_scenarios ORDER BY name")
        return {
            str(n): json.loads(j)
            for n, j in zip(found["name"], found["scenario_json"], strict=True)
        }


def _plain(row: Mapping[Any, Any]) -> dict[str, Any]:
    """NaN/NA to None so rows serialise as JSON."""
    return {str(k): (None if v is None or (not isinstance(v, str) and pd.isna(v)) else v)
            for k, v in row.items()}  # fmt: skip
