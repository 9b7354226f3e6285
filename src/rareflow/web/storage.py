"""The service's view of the DuckDB results store: the CLI's ``ResultStore`` plus two tables
of its own, ``web_jobs`` (runs started through the API and their progress) and
``web_scenarios`` (scenarios saved through the API).

DuckDB lets one process write a file at a time, and within a process refuses a read-only
connection beside a read-write one. So every operation here holds a process-wide lock, opens a
short-lived connection (read-only for reads) and closes it. When another process (the CLI)
holds the file, it waits with jittered backoff outside that lock: a few seconds for a request
(then ``StoreBusy``, 503), ``$RAREFLOW_STORE_WAIT`` for a finished run, which is then kept
beside the store rather than lost (``RunKept``).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from rareflow.io.store import (
    NotAStore,
    ResultStore,
    RunKept,
    StoreError,
    StoreLocked,
    wait_seconds,
)

T = TypeVar("T")
log = logging.getLogger(__name__)
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


class WebStore:
    """Serialised, waiting access to one results store file."""

    def __init__(self, path: str | Path | None, retry_seconds: float = RETRY_SECONDS) -> None:
        self.db = ResultStore(path, wait_s=0)  # waits happen in ``call``, outside the lock
        self.path = self.db.path
        self.retry_seconds = retry_seconds
        self.save_wait_s = wait_seconds()
        self._lock = _lock_for(self.path)

    def call(self, fn: Callable[[], T], wait_s: float | None = None) -> T:
        """Run ``fn`` under the process lock, retrying while another process holds the file."""
        from tenacity import (
            Retrying,
            retry_if_exception_type,
            stop_after_delay,
            wait_random_exponential,
        )

        retrying = Retrying(
            stop=stop_after_delay(self.retry_seconds if wait_s is None else wait_s),
            wait=wait_random_exponential(multiplier=0.02, max=0.5),
            retry=retry_if_exception_type(StoreLocked),
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt, self._lock:
                    return fn()
        except StoreLocked:
            raise StoreBusy(
                "the results store is busy (another rareflow process is writing to it); "
                "try again in a moment"
            ) from None
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    def execute(self, sql: str, args: list[Any] | None = None) -> None:
        def go() -> None:
            with self.db.connect() as con:
                con.execute(JOBS_SCHEMA)
                con.execute(sql, args or [])

        self.call(go)

    def query(self, sql: str, args: list[Any] | None = None) -> pd.DataFrame:
        """A read-only query; creates the service's tables first if the store lacks them."""

        def go() -> pd.DataFrame:
            with self.db.connect(read_only=True) as con:
                return con.execute(sql, args or []).df()

        if self.path.exists():
            try:
                return self.call(go)
            except NotAStore:
                pass  # a store written by the CLI only: no web tables yet
        self.call(self.ensure_tables)
        return self.call(go)

    def ensure_tables(self) -> None:
        with self.db.connect() as con:
            con.execute(JOBS_SCHEMA)

    def health(self) -> str | None:
        """None when the store answers (or is merely busy), else what is wrong with it."""
        if not self.path.exists():
            return None
        try:
            self.call(lambda: self.db.runs(), wait_s=1.0)
        except StoreBusy:
            return None
        except StoreError as error:
            return error.message
        return None

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
        """Store a finished run, waiting up to $RAREFLOW_STORE_WAIT for the lock; if the store
        stays locked or cannot take it, keep it beside the store (``RunKept``)."""
        record = self.db.record(result)
        try:
            return self.call(lambda: self.db.save_record(record), wait_s=self.save_wait_s)
        except (StoreBusy, StoreError) as error:
            spill = self.db.spill(record)
            why = "stayed busy" if isinstance(error, StoreBusy) else "could not be written"
            log.warning("run %s kept: %s", record.run_id, self.db.import_command(spill))
            raise RunKept(  # no paths: API callers see this message
                f"the results store {why}; the run was kept beside it as {spill.name}, nothing "
                "is lost. On the server, `rareflow import --store STORE` stores it",
                spill,
                1,
            ) from None

    # -- saved scenarios -------------------------------------------------------------------
    def save_scenario(self, name: str, scenario_json: str) -> None:
        self.execute(
            "INSERT OR REPLACE INTO web_scenarios VALUES (?, ?, ?)", [name, scenario_json, now()]
        )

    def saved_names(self) -> list[str]:
        found = self.query("SELECT name FROM web_scenarios ORDER BY name")
        return [str(n) for n in found["name"]]

    def delete_scenario(self, name: str) -> bool:
        """Remove a saved scenario; False if none had the name."""

        def go() -> bool:
            with self.db.connect() as con:
                con.execute(JOBS_SCHEMA)
                sql = "DELETE FROM web_scenarios WHERE name = ? RETURNING name"
                return bool(con.execute(sql, [name]).fetchall())

        return self.call(go)

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
