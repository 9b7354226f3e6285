"""The results store: runs and their tidy results in one DuckDB file.

Where it lives, first match wins:

1. the ``path`` given to ``ResultStore`` (the CLI's ``--store``);
2. the ``RAREFLOW_STORE`` environment variable;
3. the platform's user data directory: ``$XDG_DATA_HOME/rareflow/results.duckdb``
   (default ``~/.local/share/rareflow/results.duckdb``) on Linux,
   ``~/Library/Application Support/rareflow/results.duckdb`` on macOS,
   ``%LOCALAPPDATA%\\rareflow\\results.duckdb`` on Windows.

Each run is written in one transaction (the ``runs`` row, its ``results``, its ``summary`` and
``peak_prices``): a save that fails leaves the store as it was. Frames go in through DuckDB's
pandas registration, never row by row, and read back before the run is reported stored.
Connections are opened per operation, so the file is not held locked between commands; each
also holds the lock file ``<store>.lock`` (``storelock``: why DuckDB's lock is not enough).

Sharing one store (see the README's "Reliability" section): DuckDB lets one process write the
file, or several read it, at a time. Readers open it read-only and briefly. A command that
finds the file locked waits with jittered exponential backoff (tenacity) for up to
``$RAREFLOW_STORE_WAIT`` seconds (default 120), saying so on stderr. A computed run is never
discarded: if the store stays locked, or cannot be written at all, the run is written
atomically beside it as one Parquet file (``<store>.pending/<run_id>.parquet``) and the error
gives the ``rareflow import`` command that stores it.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from rareflow.errors import EXIT_BAD_INPUT, EXIT_CHECK_FAILED, RareflowError, UserInputError
from rareflow.io.storelock import LockBusy, StoreLock

if TYPE_CHECKING:
    import duckdb

RESULT_COLUMNS = (
    "run_id", "scenario", "draw", "month", "region", "partner", "product", "metric", "value",
    "unit",
)  # fmt: skip

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR PRIMARY KEY, scenario VARCHAR, scenario_json VARCHAR, parameters VARCHAR,
    status VARCHAR, started_at VARCHAR, finished_at VARCHAR,
    mass_balance_max_residual DOUBLE, months INTEGER, draws INTEGER
);
CREATE TABLE IF NOT EXISTS results (
    run_id VARCHAR, scenario VARCHAR, draw INTEGER, month VARCHAR, region VARCHAR,
    partner VARCHAR, product VARCHAR, metric VARCHAR, value DOUBLE, unit VARCHAR
);
CREATE TABLE IF NOT EXISTS summary (
    run_id VARCHAR, region VARCHAR, sector VARCHAR, peak_shortage_share DOUBLE,
    shortage_months DOUBLE, units_not_built DOUBLE, value_lost_usd DOUBLE
);
CREATE TABLE IF NOT EXISTS peak_prices (
    run_id VARCHAR, product VARCHAR, market VARCHAR, base_usd_per_kg DOUBLE,
    peak_usd_per_kg DOUBLE, peak_month VARCHAR
);
"""
SUMMARY_COLUMNS = (
    "region", "sector", "peak_shortage_share", "shortage_months", "units_not_built",
    "value_lost_usd",
)  # fmt: skip
PRICE_COLUMNS = (
    "product", "market", "base_usd_per_kg", "peak_usd_per_kg", "peak_month",
)  # fmt: skip
RUN_TABLES = ("results", "summary", "peak_prices", "runs")
RUN_COLUMNS = (
    "run_id", "scenario", "scenario_json", "parameters", "status", "started_at", "finished_at",
    "mass_balance_max_residual", "months", "draws",
)  # fmt: skip
WAIT_ENV = "RAREFLOW_STORE_WAIT"
DEFAULT_WAIT_S = 120.0
CHECK_WAIT_S = 10.0  # reading a run back after writing it
SPILL_KEY = b"rareflow.run"  # Parquet schema metadata: the runs row, summary and peak prices
SPILL_VERSION = 1
log = logging.getLogger(__name__)


class StoreError(UserInputError):
    """The store cannot be used: unreadable, not a DuckDB file, or its place is unwritable."""


class NotAStore(StoreError):
    """A readable DuckDB file without the tables asked for."""


class StoreLocked(RareflowError):
    """Another process held the store's lock for longer than we wait (exit 1: retry later)."""

    exit_code = EXIT_CHECK_FAILED


class RunKept(RareflowError):
    """A computed run could not go into the store and was kept beside it instead."""

    def __init__(self, message: str, spill: Path, exit_code: int) -> None:
        self.spill = spill
        self.exit_code = exit_code
        super().__init__(message)


_LOCK_WORDS = ("could not set lock", "conflicting lock", "different configuration")
_WRITE_WORDS = ("could not write", "no space left", "file too large", "read-only file system",
                "permission denied", "could not fsync", "could not truncate")  # fmt: skip
_CORRUPT_WORDS = ("not a valid duckdb", "corrupt", "could not read enough bytes", "checksum")


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0][:300] if str(error).strip() else type(error).__name__


def is_lock_error(error: BaseException) -> bool:
    text = str(error).lower()
    return any(word in text for word in _LOCK_WORDS)


def _store_error(error: Exception, path: Path) -> RareflowError:
    """A DuckDB or OS error while using the store, as an error the CLI and API report."""
    text = _first_line(error)
    lower = text.lower()
    if is_lock_error(error):
        return StoreLocked(f"the results store {path} is locked by another process: {text}")
    if any(word in lower for word in _CORRUPT_WORDS):
        return StoreError(
            f"the results store is damaged or not a DuckDB file: {text}",
            file=str(path),
            hint="Move it aside (keep it for recovery) or pass another --store",
        )
    if "catalog error" in lower and "does not exist" in lower:
        return NotAStore(
            f"this DuckDB file is not a rareflow results store: {text}", file=str(path)
        )
    import duckdb

    io_error = isinstance(error, OSError | duckdb.IOException | duckdb.PermissionException)
    if io_error or any(word in lower for word in _WRITE_WORDS):
        return StoreError(
            f"cannot read or write the results store (disk full, read-only or no access?): {text}",
            file=str(path),
        )
    return RareflowError(f"the results store failed: {text}")


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back if a transaction is still open: a failed commit (disk full) has already
    ended it, and that failure, not the rollback's, is the one to report."""
    import duckdb

    with suppress(duckdb.Error):
        con.rollback()


def wait_seconds() -> float:
    """``$RAREFLOW_STORE_WAIT`` (seconds a command waits for a locked store), default 120."""
    raw = os.environ.get(WAIT_ENV, "").strip()
    if not raw:
        return DEFAULT_WAIT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 86_400.0:
        raise UserInputError(f"bad ${WAIT_ENV}", value=raw, expected="seconds between 0 and 86400")
    return value


@dataclass
class RunRecord:
    """One run as the store keeps it: the ``runs`` row and the three tables' rows."""

    run_id: str
    row: dict[str, Any]
    results: pd.DataFrame
    summary: pd.DataFrame
    peak_prices: pd.DataFrame


def default_store_path() -> Path:
    """$RAREFLOW_STORE, else results.duckdb in the platform's user data directory."""
    env = os.environ.get("RAREFLOW_STORE")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "rareflow" / "results.duckdb"


def _month_text(values: pd.Series) -> pd.Series:
    """Months as 'YYYY-MM' text whether they come as strings, datetimes or periods."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.strftime("%Y-%m")
    if isinstance(values.dtype, pd.PeriodDtype):
        return values.astype(str)
    return values.map(lambda v: v.strftime("%Y-%m") if hasattr(v, "strftime") else str(v))


def _stamp(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _scenario_fields(scenario: Any) -> tuple[str, str]:
    """(name, JSON) of a Scenario object, or of a plain name."""
    if hasattr(scenario, "model_dump_json"):
        return str(scenario.name), str(scenario.model_dump_json())
    return str(scenario), json.dumps({"name": str(scenario)})


def _frame(frame: pd.DataFrame, columns: tuple[str, ...], run_id: str) -> pd.DataFrame:
    """``frame`` reduced to ``columns`` with a leading run_id, months as text."""
    out = pd.DataFrame({c: frame.get(c) for c in columns})
    for col in ("month", "peak_month"):
        if col in out and len(out):
            out[col] = _month_text(out[col])
    out.insert(0, "run_id", run_id)
    return out


class ResultStore:
    """Runs and their results in a DuckDB file (see the module docstring for where).

    ``wait_s``: how long to wait for another process's lock (default ``$RAREFLOW_STORE_WAIT``);
    ``notify``: told once, in words, when a wait starts (the CLI prints it on stderr).
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        wait_s: float | None = None,
        notify: Callable[[str], None] | None = None,
    ) -> None:
        self.path = Path(path).expanduser() if path is not None else default_store_path()
        self.wait_s = wait_seconds() if wait_s is None else wait_s
        self.notify = notify

    @property
    def pending_dir(self) -> Path:
        """Where runs that could not be stored are kept: beside the store."""
        return self.path.with_name(self.path.name + ".pending")

    @contextmanager
    def connect(
        self, *, read_only: bool = False, lock: StoreLock | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection, closed on leaving. It holds the lock file (``storelock``) too: a
        ``lock`` passed in is taken if need be and left held (its owner lets it go), one made
        here is let go on leaving."""
        import duckdb

        if read_only and not self.path.exists():
            raise UserInputError(
                "the results store does not exist yet",
                file=str(self.path),
                hint="Run `rareflow run SCENARIO` first, or pass --store",
            )
        self._make_parent()  # also refuses a directory, or a path under a file
        owned = lock is None
        lock = StoreLock(self.path) if lock is None else lock
        con = self._open(read_only, lock)
        try:
            if not read_only:
                con.execute(SCHEMA)
            yield con
        except (duckdb.Error, OSError) as exc:
            raise _store_error(exc, self.path) from None
        finally:
            con.close()  # DuckDB checkpoints here: still under the lock file
            if owned:
                lock.release()

    def _make_parent(self) -> None:
        self._check_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            folder = exc.filename or self.path.parent
            raise StoreError(
                f"cannot create the directory {folder} for the results store: "
                f"{exc.strerror or exc}",
                file=str(self.path),
            ) from None

    def _check_path(self) -> None:
        """Refuse a directory, or a path under a file, as the store's path."""
        from rareflow.io.export import check_file_target

        try:
            check_file_target(self.path)
        except UserInputError as error:
            raise StoreError(
                f"cannot use this results store path: {error.message}",
                file=str(self.path),
                value=error.value,
                expected="a .duckdb file path in a directory you can write",
            ) from None

    def _open(self, read_only: bool, lock: StoreLock) -> duckdb.DuckDBPyConnection:
        """A connection, waiting with jittered backoff while another process holds the lock
        file or DuckDB's lock; ``lock`` is held when it returns."""
        from tenacity import (
            RetryCallState,
            Retrying,
            retry_if_exception_type,
            stop_after_delay,
            wait_random_exponential,
        )

        told = False

        def waiting(state: RetryCallState) -> None:
            nonlocal told
            if not told:
                told = True
                self._tell_waiting(state.outcome.exception() if state.outcome else None)

        retrying = Retrying(
            stop=stop_after_delay(self.wait_s),
            wait=wait_random_exponential(multiplier=0.05, max=2.0),
            retry=retry_if_exception_type(StoreLocked),
            before_sleep=waiting,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                return self._connect_once(read_only, lock)
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover

    def _connect_once(self, read_only: bool, lock: StoreLock) -> duckdb.DuckDBPyConnection:
        import duckdb

        try:
            took = lock.acquire(exclusive=not read_only)
        except LockBusy:
            raise StoreLocked(
                f"the results store {self.path} is locked by another process"
            ) from None
        try:
            return duckdb.connect(str(self.path), read_only=read_only)
        except (duckdb.Error, OSError) as exc:
            if took:
                lock.release()
            raise _store_error(exc, self.path) from None

    def _tell_waiting(self, error: BaseException | None) -> None:
        holder = ""
        if error is not None and "(PID" in str(error):
            holder = " (PID " + str(error).split("(PID", 1)[1].split(")", 1)[0].strip() + ")"
        text = (
            f"the results store {self.path} is in use by another process{holder}; "
            f"waiting up to {self.wait_s:g} s for it (${WAIT_ENV})"
        )
        if self.notify is not None:
            self.notify(text)
        else:
            log.info(text)

    def check(self) -> None:
        """Fail early, before a long simulation, if the store could never take a run: its
        directory cannot be made or written, or the file is not a readable store."""
        if self.path.exists() and not self.path.is_dir():
            try:  # no waiting here: a locked store is in use, so it is a store
                with ResultStore(self.path, wait_s=0).connect(read_only=True) as con:
                    con.execute("SELECT count(*) FROM runs").fetchone()
            except StoreLocked:
                pass  # in use: the save will wait for it
            return
        self._make_parent()
        try:
            fd, probe = tempfile.mkstemp(dir=self.path.parent, prefix=".rareflow-probe-")
        except OSError as exc:
            raise StoreError(
                f"cannot write in the results store's directory: {exc.strerror or exc}",
                file=str(self.path),
            ) from None
        os.close(fd)
        os.unlink(probe)

    # -- writing ------------------------------------------------------------------------------
    def save(self, result: Any, *, keep: bool = True) -> str:
        """Store a RunResult in one transaction; returns its run_id.

        If the store stays locked past ``wait_s`` or cannot be written, and ``keep`` is set, the
        run is written beside the store (``spill``) and ``RunKept`` says how to import it."""
        record = self.record(result)
        try:
            return self.save_record(record)
        except (StoreLocked, StoreError) as error:
            if not keep:
                raise
            raise self._kept(record, error) from None

    def record(self, result: Any) -> RunRecord:
        """A RunResult as the rows the store keeps."""
        run_id = str(result.run_id)
        row = dict(zip(RUN_COLUMNS, self._run_row(result, run_id), strict=True))
        return RunRecord(
            run_id=run_id,
            row=row,
            results=_frame(result.tidy(), RESULT_COLUMNS[1:], run_id),
            summary=_frame(result.summary(), SUMMARY_COLUMNS, run_id),
            peak_prices=_frame(result.peak_prices(), PRICE_COLUMNS, run_id),
        )

    def save_record(self, record: RunRecord) -> str:
        """Store one run's rows in one transaction (all of them or none), then read them back
        under the same lock: a run the store lost on closing is an error, and ``save`` keeps it
        beside the store rather than report it stored."""
        lock = StoreLock(self.path)
        try:
            with self.connect(lock=lock) as con:
                sql = "SELECT 1 FROM runs WHERE run_id = ?"
                if con.execute(sql, [record.run_id]).fetchone():
                    raise UserInputError(
                        "a run with this id is already stored", value=record.run_id
                    )
                self._write(con, record)
            try:
                self._check_stored(record, lock)
            except StoreLocked as error:  # written, unread: keep it; importing it is harmless
                raise StoreError(
                    f"run {record.run_id} was written but could not be read back: {error}",
                    file=str(self.path),
                ) from None
        finally:
            lock.release()
        return record.run_id

    def _write(self, con: duckdb.DuckDBPyConnection, record: RunRecord) -> None:
        con.begin()
        try:
            values = [record.row[c] for c in RUN_COLUMNS]
            con.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
            self._insert(con, "results", record.results)
            self._insert(con, "summary", record.summary)
            self._insert(con, "peak_prices", record.peak_prices)
            con.commit()
        except BaseException:
            _rollback(con)
            raise

    def _check_stored(self, record: RunRecord, lock: StoreLock) -> None:
        """Raise ``StoreError`` unless every row of ``record`` reads back from the file."""
        # another program (not rareflow, which waits for the lock file) may open it meanwhile
        reader = ResultStore(self.path, wait_s=max(self.wait_s, CHECK_WAIT_S), notify=self.notify)
        found = reader.row_counts(record.run_id, lock)
        expected = _row_counts(record)
        missing = {t: (n, expected[t]) for t, n in found.items() if n != expected[t]}
        if missing:
            counts = ", ".join(f"{t} {n} of {want}" for t, (n, want) in missing.items())
            raise StoreError(
                f"run {record.run_id} was committed but did not read back from the store "
                f"({counts} rows)",
                file=str(self.path),
            )

    def row_counts(self, run_id: str, lock: StoreLock | None = None) -> dict[str, int]:
        """Rows stored for ``run_id`` in each of the run's tables (0 where none)."""
        sql = "SELECT count(*) FROM {} WHERE run_id = ?"
        with self.connect(read_only=True, lock=lock) as con:
            return {t: con.execute(sql.format(t), [run_id]).fetchall()[0][0] for t in RUN_TABLES}

    @staticmethod
    def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
        con.register("_incoming", frame)  # a view over the frame: no row-by-row inserts
        columns = ", ".join(frame.columns)
        con.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM _incoming")
        con.unregister("_incoming")  # not in a finally: it fails in an aborted transaction

    @staticmethod
    def _run_row(result: Any, run_id: str) -> list[Any]:
        name, scenario_json = _scenario_fields(result.scenario)
        sizes = dict(getattr(result.dataset, "sizes", {}))
        residual = result.mass_balance_max_residual
        return [
            run_id,
            name,
            scenario_json,
            json.dumps(result.parameters or {}, default=str, sort_keys=True),
            "complete",
            _stamp(result.started_at),
            _stamp(result.finished_at),
            None if residual is None else float(residual),
            int(sizes.get("month", 0)),
            int(sizes.get("draw", 1)),
        ]

    # -- runs kept beside the store ---------------------------------------------------------
    def _kept(self, record: RunRecord, error: RareflowError) -> RunKept:
        spill = self.spill(record)
        command = self.import_command(spill)
        why = "stayed locked" if isinstance(error, StoreLocked) else "could not take it"
        code = EXIT_CHECK_FAILED if isinstance(error, StoreLocked) else EXIT_BAD_INPUT
        return RunKept(
            f"{error}\nThe store {why}, so run {record.run_id} was kept in {spill}; nothing "
            f"is lost. Store it later with:\n  {command}",
            spill,
            code,
        )

    def import_command(self, spill: Path) -> str:
        return f"rareflow import {shlex.quote(str(spill))} --store {shlex.quote(str(self.path))}"

    def spill(self, record: RunRecord) -> Path:
        """Write a run atomically as one Parquet file beside the store (else in the temporary
        directory); returns its path. The tidy results are the rows; the runs row, summary and
        peak prices ride in the file's metadata."""
        from rareflow.io.export import jsonable

        for folder in (self.pending_dir, Path(tempfile.gettempdir()) / "rareflow-pending"):
            target = folder / f"{record.run_id}.parquet"
            try:
                _write_spill(record, target, jsonable)
                return target
            except (OSError, UserInputError) as exc:
                log.warning("could not keep run %s in %s: %s", record.run_id, folder, exc)
        raise RareflowError(f"run {record.run_id} could be neither stored nor kept on disk")

    def pending(self) -> list[Path]:
        """Runs kept beside this store and not imported yet."""
        return sorted(self.pending_dir.glob("*.parquet")) if self.pending_dir.is_dir() else []

    def import_spill(self, spill: str | Path) -> str:
        """Store a kept run (one transaction), then delete its file; returns its run_id. A run
        already stored whole (kept after a write whose read-back could not run) is not stored
        twice."""
        record = read_spill(Path(spill))
        stored = self.path.exists() and self.row_counts(record.run_id) == _row_counts(record)
        run_id = record.run_id if stored else self.save_record(record)  # importing twice: once
        Path(spill).unlink()
        return run_id

    def delete(self, run_id: str) -> None:
        """Remove a run and everything stored with it."""
        run_id = self.resolve(run_id)
        with self.connect() as con:
            con.begin()
            try:
                for table in RUN_TABLES:
                    con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
                con.commit()
            except BaseException:
                _rollback(con)
                raise

    # -- reading ------------------------------------------------------------------------------
    def runs(self) -> pd.DataFrame:
        """Stored runs, newest first (of runs started in the same second, the last stored)."""
        if not self.path.exists():
            self._check_path()
            return pd.DataFrame(columns=["run_id", "scenario", "status", "started_at"])
        with self.connect(read_only=True) as con:
            return con.execute("SELECT * FROM runs ORDER BY started_at DESC, rowid DESC").df()

    def resolve(self, run_id: str) -> str:
        """The stored run id equal to ``run_id``, or the only one it is a prefix of."""
        ids = list(self.runs()["run_id"])
        if run_id in ids:
            return run_id
        matches = [i for i in ids if i.startswith(run_id)] if run_id else []
        if len(matches) == 1:
            return matches[0]
        recent = ", ".join(ids[:5]) or "none stored yet"
        problem = "run id is ambiguous" if matches else "no stored run has this id"
        raise UserInputError(
            problem,
            file=str(self.path),
            value=run_id,
            expected=f"one of the stored runs (most recent: {recent})",
            hint="Run `rareflow runs` to list them",
        )

    def _select(self, table: str, run_id: str, where: str = "", args: tuple = ()) -> pd.DataFrame:
        run_id = self.resolve(run_id)
        with self.connect(read_only=True) as con:
            sql = f"SELECT * FROM {table} WHERE run_id = ? {where}"
            return con.execute(sql, [run_id, *args]).df()

    def run(self, run_id: str) -> dict[str, Any]:
        """The ``runs`` row of a run, as a dict."""
        return dict(self._select("runs", run_id).iloc[0])

    def results(self, run_id: str, metric: str | None = None) -> pd.DataFrame:
        """A run's tidy results, optionally one metric only."""
        if metric is None:
            return self._select("results", run_id, "ORDER BY metric, draw, month")
        frame = self._select("results", run_id, "AND metric = ? ORDER BY draw, month", (metric,))
        if frame.empty:
            known = ", ".join(self.metrics(run_id))
            raise UserInputError("unknown metric", value=metric, expected=f"one of {known}")
        return frame

    def results_to_parquet(
        self, run_id: str, metric: str | None, target: Path, batch_rows: int = 65_536
    ) -> int:
        """Write a run's tidy results (as ``results`` orders them) to a Parquet file in
        batches, so neither this process nor the store's lock is held for a whole frame in
        memory; returns the number of rows."""
        import pyarrow.parquet as pq

        run_id = self.resolve(run_id)
        where, args = ("AND metric = ? ", [metric]) if metric is not None else ("", [])
        order = "ORDER BY draw, month" if metric is not None else "ORDER BY metric, draw, month"
        sql = f"SELECT * FROM results WHERE run_id = ? {where}{order}"
        rows = 0
        with self.connect(read_only=True) as con:
            reader = con.sql(sql, params=[run_id, *args]).to_arrow_reader(batch_rows)
            with pq.ParquetWriter(target, reader.schema) as writer:
                for batch in reader:
                    writer.write_batch(batch)
                    rows += batch.num_rows
        if rows == 0 and metric is not None:
            known = ", ".join(self.metrics(run_id))
            raise UserInputError("unknown metric", value=metric, expected=f"one of {known}")
        return rows

    def metrics(self, run_id: str) -> list[str]:
        """The metrics stored for a run."""
        run_id = self.resolve(run_id)
        with self.connect(read_only=True) as con:
            sql = "SELECT DISTINCT metric FROM results WHERE run_id = ? ORDER BY metric"
            return [row[0] for row in con.execute(sql, [run_id]).fetchall()]

    def months(self, run_id: str) -> list[str]:
        """Every month of a run ('YYYY-MM'), including months with no stored rows."""
        run_id = self.resolve(run_id)
        with self.connect(read_only=True) as con:
            sql = "SELECT DISTINCT month FROM results WHERE run_id = ? ORDER BY month"
            found = [row[0] for row in con.execute(sql, [run_id]).fetchall()]
        info = self.run(run_id)
        first = json.loads(info["scenario_json"]).get("start") or (found[:1] or [None])[0]
        if first is None:
            return found
        span = pd.period_range(first, periods=int(info["months"]), freq="M").strftime("%Y-%m")
        return sorted(set(span) | set(found))

    def summary(self, run_id: str) -> pd.DataFrame:
        return self._select("summary", run_id).drop(columns="run_id")

    def peak_prices(self, run_id: str) -> pd.DataFrame:
        return self._select("peak_prices", run_id).drop(columns="run_id")


def _row_counts(record: RunRecord) -> dict[str, int]:
    """The rows a run puts in each of its tables."""
    return {"results": len(record.results), "summary": len(record.summary),
            "peak_prices": len(record.peak_prices), "runs": 1}  # fmt: skip


def _write_spill(record: RunRecord, target: Path, jsonable: Callable[[Any], Any]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from rareflow.io.export import atomic_path

    meta = {
        "version": SPILL_VERSION,
        "run": jsonable(record.row),
        "summary": jsonable(record.summary.drop(columns="run_id").to_dict(orient="records")),
        "peak_prices": jsonable(
            record.peak_prices.drop(columns="run_id").to_dict(orient="records")
        ),
    }
    table = pa.Table.from_pandas(record.results, preserve_index=False)
    metadata = {**(table.schema.metadata or {}), SPILL_KEY: json.dumps(meta).encode()}
    with atomic_path(target) as tmp:
        pq.write_table(table.replace_schema_metadata(metadata), tmp)


def read_spill(path: Path) -> RunRecord:
    """A run kept by ``ResultStore.spill``; a clear error if the file is not one."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
        meta = json.loads((table.schema.metadata or {})[SPILL_KEY])
        row = {c: meta["run"][c] for c in RUN_COLUMNS}
    except (OSError, pa.ArrowException, KeyError, ValueError, TypeError) as exc:
        raise UserInputError(
            f"not a run kept by rareflow ({_first_line(exc)})",
            file=str(path),
            expected="a <run_id>.parquet file from a results store's .pending directory",
        ) from None
    run_id = str(row["run_id"])
    results = table.to_pandas()
    results["run_id"] = run_id
    summary = pd.DataFrame(meta["summary"], columns=list(SUMMARY_COLUMNS))
    prices = pd.DataFrame(meta["peak_prices"], columns=list(PRICE_COLUMNS))
    summary.insert(0, "run_id", run_id)
    prices.insert(0, "run_id", run_id)
    return RunRecord(run_id, row, results[["run_id", *RESULT_COLUMNS[1:]]], summary, prices)
