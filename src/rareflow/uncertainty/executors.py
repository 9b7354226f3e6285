"""Where chunks of draws run: in this process, or as tasks on dask.distributed.

An executor's ``map(job, spans, done)`` runs ``run_chunk(job, *span)`` for every span and calls
``done(index, chunk)`` as each finishes, in any order (``montecarlo.Ordered`` restores it).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from rareflow.errors import UserInputError
from rareflow.uncertainty.montecarlo import Chunk, Job, run_chunk

Done = Callable[[int, Chunk], None]
Spans = Sequence[tuple[int, int]]
WORKERS_PER_CPU = 2  # a LocalCluster beyond this only adds processes that wait for a core


def max_workers() -> int:
    """The most LocalCluster workers this machine can usefully run."""
    return WORKERS_PER_CPU * (os.cpu_count() or 1)


def check_workers(workers: int | None) -> None:
    """Refuse a LocalCluster far larger than the machine (each worker is a process)."""
    limit = max_workers()
    if workers is not None and workers > limit:
        raise UserInputError(
            "--workers: too many dask workers for this machine",
            value=workers,
            expected=f"at most {limit} ({WORKERS_PER_CPU} per CPU, {os.cpu_count()} CPUs)",
            hint="use --scheduler tcp://HOST:8786 to run on a larger cluster",
        )


class LocalExecutor(AbstractContextManager["LocalExecutor"]):
    """Chunks on threads of this process, one per CPU (numpy releases the GIL in the step's
    array operations); ``RAREFLOW_THREADS`` overrides. Results are merged in draw order, so
    they do not depend on the number of threads."""

    name = "local"

    def __init__(self) -> None:
        from rareflow.engine.simulate import chunk_threads

        self.workers = chunk_threads()

    def map(self, job: Job, spans: Spans, done: Done) -> None:
        from concurrent.futures import ThreadPoolExecutor, as_completed

        if self.workers <= 1 or len(spans) <= 1:
            for index, (lo, hi) in enumerate(spans):
                done(index, run_chunk(job, lo, hi))
            return
        todo = iter(enumerate(spans))
        with ThreadPoolExecutor(self.workers, thread_name_prefix="rareflow-mc") as pool:
            running: dict[Any, int] = {}

            def submit() -> None:  # one chunk per thread in flight: memory stays flat
                for index, (lo, hi) in todo:
                    running[pool.submit(run_chunk, job, lo, hi)] = index
                    return

            for _ in range(self.workers):
                submit()
            while running:
                future = next(as_completed(running))
                done(running.pop(future), future.result())
                submit()

    def __exit__(self, *exc: object) -> None:
        return None


class DaskExecutor(AbstractContextManager["DaskExecutor"]):
    """Chunks as tasks on a dask.distributed cluster: an existing one (``scheduler`` address)
    or a ``LocalCluster`` started here and closed on exit. At most ``2 x workers`` chunks are
    in flight, so results never pile up in memory."""

    name = "dask"

    def __init__(
        self,
        scheduler: str | None = None,
        *,
        n_workers: int | None = None,
        processes: bool = True,
        client: Any = None,
    ) -> None:
        from rareflow.errors import require_extra

        require_extra("dask", "--executor dask")
        from distributed import Client, LocalCluster

        self._cluster = None
        if client is not None:
            self.client = client
            self._owns = False
            return
        self._owns = True
        if scheduler:
            try:
                self.client = Client(scheduler, timeout="10s")
            except OSError as exc:
                raise UserInputError(
                    f"cannot reach the dask scheduler: {exc}",
                    value=scheduler,
                    expected="a running scheduler, e.g. tcp://HOST:8786",
                ) from None
            return
        self._cluster = LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=processes,
            dashboard_address=None,
        )  # fmt: skip
        self.client = Client(self._cluster)

    @property
    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def map(self, job: Job, spans: Spans, done: Done) -> None:
        from distributed import as_completed

        self.client.run(_warm)  # imports on every worker before the first task
        shared = self.client.scatter(job, broadcast=True)
        todo = iter(enumerate(spans))  # lazily: never a list of every span
        limit = 2 * self.workers

        def submit(index: int, span: tuple[int, int]) -> Any:
            future = self.client.submit(run_chunk, shared, *span, pure=False)
            future.index = index
            return future

        first = [submit(*item) for _, item in zip(range(limit), todo, strict=False)]
        running = as_completed(first)
        for future in running:
            done(future.index, future.result())
            future.release()
            for item in todo:
                running.add(submit(*item))
                break

    def __exit__(self, *exc: object) -> None:
        if self._owns:
            self.client.close()
            if self._cluster is not None:
                self._cluster.close()


def _warm() -> None:
    import scipy.special  # noqa: F401

    import rareflow.engine.simulate  # noqa: F401


def make_executor(
    name: str, scheduler: str | None = None, workers: int | None = None
) -> LocalExecutor | DaskExecutor:
    if scheduler and name != "dask":
        name = "dask"  # an address only makes sense for dask
    if name == "local":
        return LocalExecutor()
    if name == "dask":
        check_workers(workers)
        return DaskExecutor(scheduler, n_workers=workers)
    raise UserInputError("unknown executor", value=name, expected="local or dask")
