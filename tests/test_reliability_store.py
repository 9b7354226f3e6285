"""A shared results store never loses a run: CLI runs beside a polling server, a store that
stays locked (the run is kept beside it and imported later), and ``kill -9`` mid-write.

These start real processes (``rareflow run``, ``rareflow serve``) on one DuckDB file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import duckdb
import httpx
import pytest

from rareflow.io.store import ResultStore, RunRecord, read_spill
from test_web_support import free_port

RAREFLOW = [sys.executable, "-m", "rareflow.cli.main"]
CLI_RUNS = 20
HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("RAREFLOW_STORE_WAIT",)}
    return {**env, "NO_COLOR": "1", "COLUMNS": "200", **extra}


def _cli(*args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*RAREFLOW, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=_env(**env),
    )  # fmt: skip


def _hold(path: Path, seconds: float) -> subprocess.Popen[str]:
    """Another process holding the store's write lock for ``seconds``."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


class Server:
    """``rareflow serve`` in its own process, polled on GET /api/runs until stopped."""

    def __init__(self, store: Path) -> None:
        self.port = free_port()
        self.proc = _cli("serve", "--store", str(store), "--port", str(self.port))
        self.base = f"http://127.0.0.1:{self.port}"
        self.statuses: Counter[int] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def start(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/api/health", timeout=2).status_code == 200:
                    self._thread.start()
                    return
            except httpx.TransportError:
                assert self.proc.poll() is None, self.proc.communicate()[1]
            time.sleep(0.2)
        raise RuntimeError("rareflow serve did not start")

    def _poll(self) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as client:
            while not self._stop.is_set():
                self.statuses[client.get("/api/runs").status_code] += 1
                time.sleep(0.02)

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.communicate()


@pytest.mark.slow
def test_cli_runs_beside_a_polling_server_are_all_stored(tmp_path: Path) -> None:
    store = tmp_path / "shared.duckdb"
    server = Server(store)
    try:
        server.start()
        runs = [
            _cli("run", "baseline", "--months", "6", "--store", str(store), "--format", "json")
            for _ in range(CLI_RUNS)
        ]
        outcomes = [(proc, *proc.communicate(timeout=600)) for proc in runs]
        with httpx.Client(base_url=server.base, timeout=30) as client:
            listed = {row["run_id"] for row in client.get("/api/runs").json()}
    finally:
        server.stop()
    ids = set()
    for proc, out, err in outcomes:
        assert proc.returncode == 0, err
        assert "Traceback" not in err
        ids.add(json.loads(out)["run_id"])
    assert len(ids) == CLI_RUNS
    waited = sum("waiting: the results store" in err for _, _, err in outcomes)
    assert waited >= 1  # the store really was contended, and the waits were said on stderr
    assert set(ResultStore(store).runs()["run_id"]) == ids
    assert ids <= listed  # the server sees every run the CLI stored
    assert not ResultStore(store).pending()  # all went straight in; none was kept aside
    assert server.statuses[200] > 0 and set(server.statuses) <= {200, 503}, server.statuses


def test_a_store_that_stays_locked_keeps_the_run_for_import(tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    first = _cli("run", "baseline", "--months", "3", "--store", str(store), "--format", "json")
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    holder = _hold(store, 60)
    try:
        locked = _cli(
            "run", "baseline", "--months", "3", "--store", str(store), RAREFLOW_STORE_WAIT="1"
        )
        _, err = locked.communicate(timeout=300)
    finally:
        holder.kill()
        holder.wait()
    assert locked.returncode == 1, err
    assert "Traceback" not in err
    assert "waiting" in err and "RAREFLOW_STORE_WAIT" in err  # it said it was waiting
    [kept] = ResultStore(store).pending()
    assert f"rareflow import {kept} --store {store}" in " ".join(err.split())
    record = read_spill(kept)
    assert record.row["months"] == 3 and len(record.results) > 0
    imported = subprocess.run(
        [*RAREFLOW, "import", str(kept), "--store", str(store)],
        capture_output=True, text=True, env=_env(), timeout=300,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    db = ResultStore(store)
    assert record.run_id in set(db.runs()["run_id"]) and not kept.exists()
    assert len(db.results(record.run_id)) == len(record.results)
    assert len(db.summary(record.run_id)) == len(record.summary)
    assert len(db.peak_prices(record.run_id)) == len(record.peak_prices)


def test_waiting_reader_gets_the_store_once_it_is_free(tmp_path: Path) -> None:
    store = tmp_path / "s.duckdb"
    ResultStore(store).check()
    with ResultStore(store).connect():
        pass  # an empty store
    holder = _hold(store, 3)
    try:
        reader = subprocess.run(
            [*RAREFLOW, "runs", "--store", str(store), "--format", "json"],
            capture_output=True, text=True, env=_env(RAREFLOW_STORE_WAIT="60"), timeout=120,
        )  # fmt: skip
    finally:
        holder.wait(timeout=30)
    assert reader.returncode == 0, reader.stderr
    assert json.loads(reader.stdout) == []


WRITER = """
import sys, time
import pandas as pd
from rareflow.io.store import ResultStore, RunRecord, RESULT_COLUMNS, RUN_COLUMNS

def record(run_id, rows):
    row = dict.fromkeys(RUN_COLUMNS)
    row.update(run_id=run_id, scenario="big", status="complete", months=1, draws=1)
    results = pd.DataFrame({c: ["x"] * rows for c in RESULT_COLUMNS})
    results["run_id"], results["draw"], results["value"] = run_id, 0, range(rows)
    empty = pd.DataFrame({"run_id": []})
    return RunRecord(run_id, row, results, empty, empty)

store = ResultStore(sys.argv[1])
store.save_record(record("first", 1000))
print("stored", flush=True)
while True:  # keep writing until killed
    big = record(f"big-{time.time_ns()}", int(sys.argv[2]))
    print("writing", flush=True)
    started = time.monotonic()
    store.save_record(big)
    print(f"took {time.monotonic() - started:.2f}", file=sys.stderr, flush=True)
"""


@pytest.mark.parametrize("delay_s", [0.05, 0.3, 0.8, 1.5])
def test_kill_9_mid_write_leaves_no_partial_run(tmp_path: Path, delay_s: float) -> None:
    rows = 1_000_000
    store = tmp_path / "s.duckdb"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(store), str(rows)],
        stdout=subprocess.PIPE, text=True, env=_env(),
    )  # fmt: skip
    assert writer.stdout is not None
    assert writer.stdout.readline().strip() == "stored"
    assert writer.stdout.readline().startswith("writing")
    time.sleep(delay_s)
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    con = duckdb.connect(str(store), read_only=True)
    try:
        stored = dict(con.execute("SELECT run_id, months FROM runs").fetchall())
        counts = dict(
            con.execute("SELECT run_id, count(*) FROM results GROUP BY run_id").fetchall()
        )
    finally:
        con.close()
    assert stored["first"] == 1 and counts["first"] == 1000  # earlier run intact
    assert set(counts) == set(stored)  # no results without their run, no run without results
    for run_id in stored:
        assert counts[run_id] == (1000 if run_id == "first" else rows)  # complete or absent


def test_record_round_trips_through_a_kept_file(tmp_path: Path) -> None:
    from conftest_results import make_result

    store = ResultStore(tmp_path / "s.duckdb")
    record: RunRecord = store.record(make_result("reimpose-oct-2025", 0.8, draws=2))
    kept = store.spill(record)
    assert kept.parent == store.pending_dir and kept.name == f"{record.run_id}.parquet"
    back = read_spill(kept)
    assert back.row == json.loads(json.dumps(record.row))
    assert back.results.shape == record.results.shape
    assert store.import_spill(kept) == record.run_id
    assert len(store.summary(record.run_id)) == len(record.summary)


def test_server_keeps_a_finished_run_when_the_store_stays_locked(tmp_path: Path) -> None:
    from conftest_results import make_result
    from rareflow.io.store import RunKept
    from rareflow.web.storage import WebStore
    from rareflow.web.worker import user_message

    path = tmp_path / "s.duckdb"
    web = WebStore(path)
    web.jobs()  # creates the store
    web.save_wait_s = 1.0
    result = make_result("baseline", 0.5)
    holder = _hold(path, 60)
    try:
        with pytest.raises(RunKept) as kept:
            web.save(result)
    finally:
        holder.kill()
        holder.wait()
    assert kept.value.spill == web.db.pending_dir / f"{result.run_id}.parquet"
    message = user_message(kept.value)
    assert "kept beside it" in message and str(tmp_path) not in message  # no paths to clients
    assert ResultStore(path).import_spill(kept.value.spill) == result.run_id
    assert result.run_id in set(web.runs()["run_id"])
