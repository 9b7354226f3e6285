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
pandas registration, never row by row. Connections are opened per operation, so the file is
not held locked between commands.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from rareflow.errors import UserInputError

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
    """Runs and their results in a DuckDB file (see the module docstring for where)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_store_path()

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        import duckdb

        if read_only and not self.path.exists():
            raise UserInputError(
                "the results store does not exist yet",
                file=str(self.path),
                hint="Run `rareflow run SCENARIO` first, or pass --store",
            )
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as exc:
            raise UserInputError(
                f"cannot open the results store: {exc}", file=str(self.path)
            ) from None
        try:
            if not read_only:
                con.execute(SCHEMA)
            yield con
        finally:
            con.close()

    # -- writing ------------------------------------------------------------------------------
    def save(self, result: Any) -> str:
        """Store a RunResult in one transaction; returns its run_id."""
        run_id = str(result.run_id)
        tidy = _frame(result.tidy(), RESULT_COLUMNS[1:], run_id)
        summary = _frame(result.summary(), SUMMARY_COLUMNS, run_id)
        prices = _frame(result.peak_prices(), PRICE_COLUMNS, run_id)
        with self.connect() as con:
            if con.execute("SELECT 1 FROM runs WHERE run_id = ?", [run_id]).fetchone():
                raise UserInputError("a run with this id is already stored", value=run_id)
            con.begin()
            try:
                con.execute("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            self._run_row(result, run_id))  # fmt: skip
                self._insert(con, "results", tidy)
                self._insert(con, "summary", summary)
                self._insert(con, "peak_prices", prices)
                con.commit()
            except BaseException:
                con.rollback()
                raise
        return run_id

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
                con.rollback()
                raise

    # -- reading ------------------------------------------------------------------------------
    def runs(self) -> pd.DataFrame:
        """Stored runs, newest first."""
        if not self.path.exists():
            return pd.DataFrame(columns=["run_id", "scenario", "status", "started_at"])
        with self.connect(read_only=True) as con:
            return con.execute("SELECT * FROM runs ORDER BY started_at DESC, run_id").df()

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
