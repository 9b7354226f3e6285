"""Background runs: a small thread pool, so runs never execute in a request's thread.

Each run's state lives in memory for fast polling and in the store's ``web_jobs`` table, so a
restarted server still knows it (and marks the ones it was running as failed). Finished results
go to the store with ``ResultStore.save``, where the CLI sees them.
"""

from __future__ import annotations

import inspect
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from rareflow.web.inputs import MAX_PENDING_RUNS

if TYPE_CHECKING:
    from rareflow.data.network import Network
    from rareflow.scenarios.model import Scenario
    from rareflow.web.storage import WebStore

log = logging.getLogger(__name__)
# progress at each stage; the engine's own progress (when it reports it) fills 0.1-0.9
STAGES = {"queued": 0.0, "simulating": 0.1, "storing": 0.9, "complete": 1.0}


class QueueFull(Exception):
    """Too many runs waiting; the client should retry later."""


@dataclass
class Job:
    run_id: str
    scenario: str
    status: str = "queued"  # queued, running, complete, failed
    progress: float = 0.0
    stage: str = "queued"
    error: str | None = None


def user_message(error: Exception) -> str:
    """What a client is told about a failed run: our own errors' words, never a class name
    or a traceback (those go to the server's log)."""
    from rareflow.errors import RareflowError, UserInputError
    from rareflow.io.store import StoreError

    if isinstance(error, StoreError):
        return f"the results store cannot be used: {error.message}"
    if isinstance(error, UserInputError):
        return error.message if error.value is None else f"{error.message} (got {error.value!r})"
    if isinstance(error, RareflowError):
        return str(error)
    return "the run failed with an internal error; the server's log has the details"


def new_run_id(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


class RunWorker:
    def __init__(self, store: WebStore, network: Network, workers: int = 2) -> None:
        self.store, self.network = store, network
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rareflow-run")
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def submit(self, scenario: Scenario, months: int | None = None) -> Job:
        """Queue a run and return its job at once."""
        with self._lock:
            if sum(j.status in ("queued", "running") for j in self._jobs.values()) >= (
                MAX_PENDING_RUNS
            ):
                raise QueueFull(f"{MAX_PENDING_RUNS} runs are already waiting or running")
            job = Job(new_run_id(scenario.name), scenario.name)
            self._jobs[job.run_id] = job
        self.store.add_job(job.run_id, job.scenario)
        self._pool.submit(self._run, job, scenario, months)
        return job

    def get(self, run_id: str) -> dict[str, Any] | None:
        with self._lock:
            job = self._jobs.get(run_id)
            return None if job is None else asdict(job)

    def active(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(j) for j in self._jobs.values() if j.status in ("queued", "running")]

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- in the worker thread ----------------------------------------------------------------
    def _set(
        self, job: Job, status: str, stage: str, progress: float, error: str | None = None
    ) -> None:
        with self._lock:
            job.status, job.stage, job.progress, job.error = status, stage, progress, error
        try:
            self.store.update_job(job.run_id, status, progress, stage, error)
        except Exception:  # the in-memory state still answers; the store catches up next time
            log.warning("could not record the state of run %s", job.run_id, exc_info=True)

    def _progress(self, job: Job, fraction: float) -> None:
        with self._lock:
            job.progress = 0.1 + 0.8 * min(max(fraction, 0.0), 1.0)

    def _run(self, job: Job, scenario: Scenario, months: int | None) -> None:
        try:
            self._set(job, "running", "simulating", STAGES["simulating"])
            result = self._simulate(job, scenario, months)
            self._set(job, "running", "storing", STAGES["storing"])
            self.store.save(result)
            self._set(job, "complete", "complete", STAGES["complete"])
        except Exception as error:
            log.exception("run %s failed", job.run_id)
            self._set(job, "failed", "failed", job.progress, user_message(error))

    def _simulate(self, job: Job, scenario: Scenario, months: int | None) -> Any:
        from rareflow.engine.run import run

        kwargs: dict[str, Any] = {"network": self.network, "months": months, "run_id": job.run_id}
        if "progress" in inspect.signature(run).parameters:  # engine hook, when present
            kwargs["progress"] = lambda fraction: self._progress(job, fraction)
        return run(scenario, **kwargs)
