"""Results store (round trip, atomic saves), exports, comparisons and plots, on fake results."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from conftest_results import make_result
from rareflow.analytics.compare import compare
from rareflow.analytics.plots import plot
from rareflow.errors import UserInputError
from rareflow.io.export import write_frame
from rareflow.io.store import (
    ResultStore,
    RunKept,
    StoreLocked,
    default_store_path,
    read_spill,
)


@pytest.fixture
def store(tmp_path: Path) -> ResultStore:
    return ResultStore(tmp_path / "store" / "results.duckdb")


def test_round_trip(store: ResultStore) -> None:
    result = make_result("reimpose-oct-2025", 0.8, draws=2)
    assert store.save(result) == result.run_id
    runs = store.runs()
    assert list(runs["run_id"]) == [result.run_id]
    row = runs.iloc[0]
    assert row["scenario"] == "reimpose-oct-2025" and row["status"] == "complete"
    assert row["months"] == 4 and row["draws"] == 2
    assert json.loads(row["parameters"]) == {"price_elasticity": 0.3}
    stored = store.results(result.run_id)
    assert len(stored) == len(result.tidy())
    assert list(stored.columns) == list(result.tidy().columns)
    assert set(stored["month"]) == {"2026-11", "2026-12", "2027-01", "2027-02"}
    prices = store.results(result.run_id, "price")
    assert set(prices["metric"]) == {"price"} and set(prices["region"]) == {"china", "ex_china"}
    assert stored["value"].sum() == pytest.approx(result.tidy()["value"].sum())
    assert len(store.summary(result.run_id)) == 6 and len(store.peak_prices(result.run_id)) == 4


def test_unknown_run_lists_recent_ids(store: ResultStore) -> None:
    first, second = make_result(), make_result()
    store.save(first)
    store.save(second)
    with pytest.raises(UserInputError) as info:
        store.results("nope")
    assert first.run_id in str(info.value) and second.run_id in str(info.value)
    assert store.resolve(first.run_id[:8]) == first.run_id
    with pytest.raises(UserInputError, match="unknown metric"):
        store.results(first.run_id, "no_such_metric")


def test_missing_store_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="no stored run"):
        ResultStore(tmp_path / "none.duckdb").results("abc")
    assert ResultStore(tmp_path / "none.duckdb").runs().empty


def test_duplicate_run_id_rejected(store: ResultStore) -> None:
    result = make_result()
    store.save(result)
    with pytest.raises(UserInputError, match="already stored"):
        store.save(result)
    assert len(store.runs()) == 1


class BrokenResult:
    """Fails inside the transaction, after the runs row went in."""

    def __init__(self) -> None:
        self._good = make_result("broken", 0.5)
        self.run_id = self._good.run_id

    def __getattr__(self, name: str) -> object:
        return getattr(self._good, name)

    def tidy(self) -> pd.DataFrame:
        return self._good.tidy().assign(value="not a number")


def test_failed_save_leaves_earlier_runs_intact(store: ResultStore) -> None:
    good = make_result("baseline", 0.2)
    store.save(good)
    before = store.results(good.run_id)
    broken = BrokenResult()
    with pytest.raises(Exception, match=r"(?i)conver|cast"):
        store.save(broken)
    assert list(store.runs()["run_id"]) == [good.run_id]
    pd.testing.assert_frame_equal(store.results(good.run_id), before)
    with store.connect() as con:
        for table in ("runs", "results", "summary", "peak_prices"):
            sql = f"SELECT count(*) FROM {table} WHERE run_id = ?"
            assert con.execute(sql, [broken.run_id]).fetchone() == (0,)


def test_delete(store: ResultStore) -> None:
    keep, drop = make_result(), make_result()
    store.save(keep)
    store.save(drop)
    store.delete(drop.run_id)
    assert list(store.runs()["run_id"]) == [keep.run_id]
    with pytest.raises(UserInputError):
        store.results(drop.run_id)
    assert len(store.results(keep.run_id)) == len(keep.tidy())


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("RAREFLOW_STORE", str(tmp_path / "x.duckdb"))
    assert default_store_path() == tmp_path / "x.duckdb"
    assert ResultStore().path == tmp_path / "x.duckdb"
    monkeypatch.delenv("RAREFLOW_STORE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_store_path().parts[-2:] == ("rareflow", "results.duckdb")


# -- exports ----------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["csv", "json", "parquet"])
def test_export_formats(tmp_path: Path, fmt: str) -> None:
    frame = make_result("x", 0.5).tidy()
    path = write_frame(frame, tmp_path / "out" / f"results.{fmt}")
    if fmt == "csv":
        back = pd.read_csv(path)
    elif fmt == "json":
        back = pd.DataFrame(json.loads(path.read_text()))
    else:
        back = pd.read_parquet(path)
    assert len(back) == len(frame) and list(back.columns) == list(frame.columns)
    assert back["value"].sum() == pytest.approx(frame["value"].sum())
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left


def test_export_failure_keeps_old_file(tmp_path: Path) -> None:
    target = tmp_path / "r.parquet"
    write_frame(pd.DataFrame({"a": [1]}), target)
    before = target.read_bytes()
    with pytest.raises(Exception):  # noqa: B017 - pyarrow's error type is not ours
        write_frame(pd.DataFrame({"a": [object()]}), target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["r.parquet"]


def test_export_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(UserInputError, match="unknown output format"):
        write_frame(pd.DataFrame({"a": [1]}), tmp_path / "r.xlsx")


# -- compare ----------------------------------------------------------------------------------
def test_compare(store: ResultStore) -> None:
    base, shock = make_result("baseline", 0.0), make_result("reimpose", 0.8)
    store.save(base)
    store.save(shock)
    c = compare(store, base.run_id, shock.run_id[:6])
    assert (c.scenario_a, c.scenario_b) == ("baseline", "reimpose")
    # only importers with losses, biggest value lost first
    assert list(c.sectors["region"]) == ["USA", "USA", "JPN", "JPN"]
    assert c.sectors["value_lost_usd_change"].iloc[0] == pytest.approx(0.8 * 3e7 * 2)
    assert c.sectors["peak_shortage_share_change"].iloc[0] == pytest.approx(0.8)
    assert c.sectors["shortage_months_change"].iloc[0] == 3
    top = c.prices.iloc[0]
    assert top["peak_change_pct"] == pytest.approx(80.0)
    assert set(c.exports["partner"]) == {"USA", "JPN"}  # China's exports; CHN->CHN is not trade
    assert (c.exports["tonnes_change"] < 0).all()
    assert json.loads(json.dumps(c.to_dict()))["sectors"][0]["region"] == "USA"


def test_compare_identical_runs_is_empty(store: ResultStore) -> None:
    a, b = make_result("baseline", 0.3), make_result("baseline", 0.3)
    store.save(a)
    store.save(b)
    c = compare(store, a.run_id, b.run_id)
    assert c.sectors.empty and c.prices.empty and c.exports.empty


# -- plots ------------------------------------------------------------------------------------
@pytest.mark.parametrize("metric", ["shortage_share", "price", "shipments", "value_lost"])
def test_plot_png_and_html(tmp_path: Path, metric: str) -> None:
    frame = make_result("reimpose", 0.8, draws=2).tidy()
    png = plot(frame, metric, tmp_path / f"{metric}.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5_000
    html = plot(frame, metric, tmp_path / f"{metric}.html")
    text = html.read_text()
    assert "<html" in text and "plotly" in text.lower() and len(text) > 1_000_000  # offline js


def test_plot_errors(tmp_path: Path) -> None:
    frame = make_result().tidy()
    with pytest.raises(UserInputError, match="unknown metric"):
        plot(frame, "nonsense", tmp_path / "x.png")
    with pytest.raises(UserInputError, match="unknown plot format"):
        plot(frame, "price", tmp_path / "x.jpg")
    assert not list(tmp_path.iterdir())


def test_a_run_that_does_not_read_back_is_kept_not_reported_stored(
    store: ResultStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The write is read back under the same lock; a commit the file lost is an error."""
    earlier = make_result()
    store.save(earlier)
    lost = make_result()
    monkeypatch.setattr(ResultStore, "_write", lambda self, con, record: None)  # a lost commit
    with pytest.raises(RunKept) as info:
        store.save(lost)
    assert info.value.exit_code == 2 and "did not read back" in str(info.value)
    assert "runs 0 of 1" in str(info.value)
    assert read_spill(info.value.spill).run_id == lost.run_id  # kept beside the store
    assert list(store.runs()["run_id"]) == [earlier.run_id]


HOLD_LOCK = """
import fcntl, sys, time
fd = open(sys.argv[1], "a")
fcntl.flock(fd, fcntl.LOCK_SH if sys.argv[2] == "shared" else fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[3]))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="the lock file needs fcntl.flock")
@pytest.mark.parametrize("mode", ["shared", "exclusive"])
def test_the_lock_file_makes_a_writer_wait_for_another_process(
    store: ResultStore, mode: str
) -> None:
    """Whatever DuckDB's own lock does, a writer waits while another process holds
    <store>.lock (a reader shares it), then stores the run with every row."""
    store.save(make_result())
    lock = store.path.with_name(store.path.name + ".lock")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lock), mode, "1.5"], stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    told: list[str] = []
    waiting = ResultStore(store.path, wait_s=30, notify=told.append)
    started = time.monotonic()
    result = make_result()
    try:
        assert waiting.save(result) == result.run_id
    finally:
        holder.wait()
    assert time.monotonic() - started >= 1.0 and told and "in use by another process" in told[0]
    assert len(store.results(result.run_id)) == len(result.tidy())
    quick = ResultStore(store.path, wait_s=0)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lock), "exclusive", "5"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    try:
        with pytest.raises(StoreLocked):
            quick.runs()  # a reader does not share with a writer either
    finally:
        holder.kill()
        holder.wait()


def test_importing_a_run_already_stored_whole_stores_it_once(store: ResultStore) -> None:
    """A run kept after a write whose read-back could not run may be in the store already:
    importing it then stores nothing twice and clears the kept file."""
    result = make_result()
    store.save(result)
    kept = store.spill(store.record(result))
    assert store.import_spill(kept) == result.run_id and not kept.exists()
    assert store.row_counts(result.run_id)["results"] == len(result.tidy())
    assert list(store.runs()["run_id"]) == [result.run_id]
    other = make_result()
    partial = store.record(other)
    partial.results = partial.results.iloc[:1]  # same id, not the same rows: refused
    store.save_record(partial)
    again = store.spill(store.record(other))
    with pytest.raises(UserInputError, match="already stored"):
        store.import_spill(again)
    assert again.exists()


PROBE_LOCK = """
import fcntl, sys
fd = open(sys.argv[1], "a")
try:
    fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    print("free")
except BlockingIOError:
    print("busy")
"""


@pytest.mark.skipif(sys.platform == "win32", reason="the lock file needs fcntl.flock")
def test_the_write_and_its_read_back_hold_the_lock_file_throughout(
    store: ResultStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No other process gets the store between the commit and the read-back."""
    lock = store.path.with_name(store.path.name + ".lock")
    seen: list[str] = []
    counts = ResultStore.row_counts

    def probing(self: ResultStore, run_id: str, held: object = None) -> dict[str, int]:
        probe = [sys.executable, "-c", PROBE_LOCK, str(lock)]
        seen.append(subprocess.run(probe, capture_output=True, text=True).stdout.strip())
        return counts(self, run_id, held)  # type: ignore[arg-type]

    monkeypatch.setattr(ResultStore, "row_counts", probing)
    result = make_result()
    store.save(result)
    assert seen == ["busy"]  # held exclusively while the run is read back
    monkeypatch.undo()
    probe = [sys.executable, "-c", PROBE_LOCK, str(lock)]
    assert subprocess.run(probe, capture_output=True, text=True).stdout.strip() == "free"
