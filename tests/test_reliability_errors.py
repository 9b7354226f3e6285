"""File and store trouble is a clear error with exit 2, never a traceback: stores on read-only
filesystems or under files, damaged stores, a full disk, outputs that are directories, charts of
far-future months, dataset tables that are directories or devices."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest_results import make_result
from rareflow.cli.main import cli
from rareflow.data.network import BASELINE_DIR
from rareflow.io.store import ResultStore

RAREFLOW = [sys.executable, "-m", "rareflow.cli.main"]


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "1000")


def _fails_cleanly(
    args: list[str], capsys: pytest.CaptureFixture[str], *words: str, code: int = 2
) -> str:
    assert cli(args) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for word in words:
        assert word in err, err
    return err


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "results.duckdb"
    result = make_result("baseline", 0.5)
    ResultStore(path).save(result)
    return path, result.run_id


@pytest.mark.parametrize(
    "where", ["/proc/rareflow-no-such/s.duckdb", "/sys/rareflow-no-such/s.duckdb"]
)
def test_store_on_a_read_only_filesystem(where: str, capsys: pytest.CaptureFixture[str]) -> None:
    if not Path(where).parent.parent.is_dir():
        pytest.skip(f"no {Path(where).parent.parent} here")
    _fails_cleanly(["run", "baseline", "--months", "1", "--store", where], capsys, where)


def test_store_under_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "afile").write_text("x")
    where = str(tmp_path / "afile" / "s.duckdb")
    err = _fails_cleanly(["run", "baseline", "--store", where], capsys, "parent is a file")
    assert str(tmp_path / "afile") in err
    _fails_cleanly(["runs", "--store", where], capsys, "parent is a file")


def test_store_that_is_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _fails_cleanly(["runs", "--store", str(tmp_path)], capsys, "is a directory")


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_damaged_store_in_runs_and_run(
    store: tuple[Path, str], damage: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path, run_id = store
    data = path.read_bytes()
    path.write_bytes(
        {"truncated": data[: len(data) // 3], "garbage": b"x" * 5000, "empty": b""}[damage]
    )
    for args in (["runs"], ["results", run_id], ["run", "baseline", "--months", "1"]):
        _fails_cleanly([*args, "--store", str(path)], capsys, "damaged or not a DuckDB file")


def test_duckdb_file_that_is_not_a_store(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import duckdb

    path = tmp_path / "other.duckdb"
    duckdb.connect(str(path)).close()
    _fails_cleanly(["runs", "--store", str(path)], capsys, "not a rareflow results store")


def test_results_out_existing_directory(
    store: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, run_id = store
    for out, fmt in ((tmp_path / "dir", []), (tmp_path / "dir.csv", ["--format", "csv"])):
        out.mkdir()
        args = ["results", run_id, "--store", str(path), "--out", str(out), *fmt]
        _fails_cleanly(args, capsys, "is a directory")
        assert out.is_dir() and not any(out.iterdir())
    (tmp_path / "afile").write_text("keep")
    args = ["results", run_id, "--store", str(path), "--out", str(tmp_path / "afile" / "x.csv")]
    _fails_cleanly(args, capsys, "parent is a file")
    assert (tmp_path / "afile").read_text() == "keep"


def test_plot_of_far_future_months(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = ResultStore(tmp_path / "s.duckdb")
    record = store.record(make_result("far", 0.5))
    months = {
        "2026-11": "9999-11",
        "2026-12": "9999-12",
        "2027-01": "10000-01",
        "2027-02": "10000-02",
    }
    record.results["month"] = record.results["month"].map(months)
    record.row["scenario_json"] = json.dumps({"name": "far", "start": "9999-11"})
    store.save_record(record)
    out = tmp_path / "far.png"
    args = [
        "plot",
        record.run_id,
        "--metric",
        "price",
        "--out",
        str(out),
        "--store",
        str(store.path),
    ]
    _fails_cleanly(args, capsys, "10000-01", "time axis")
    assert not out.exists()


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    target = tmp_path / "data"
    shutil.copytree(BASELINE_DIR, target)
    return target


def test_table_that_is_a_directory(dataset: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (dataset / "trade.csv").unlink()
    (dataset / "trade.csv").mkdir()
    _fails_cleanly(["data", "check", "--data", str(dataset)], capsys, "trade.csv", "directory")


def test_table_that_is_a_symlink_to_dev_zero(
    dataset: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    (dataset / "demand.csv").unlink()
    (dataset / "demand.csv").symlink_to("/dev/zero")
    for args in (["data", "check"], ["run", "baseline", "--months", "1"]):
        _fails_cleanly([*args, "--data", str(dataset)], capsys, "demand.csv", "not a regular file")


def _disk_full() -> None:
    """In the child: files may not grow past 64 kB, as on a full disk (EFBIG, not a signal)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (64_000, 64_000))


def test_disk_full_while_importing_keeps_the_store(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    first = make_result("baseline", 0.2)
    ResultStore(path).save(first)
    before = path.read_bytes()
    helper = ResultStore(tmp_path / "elsewhere.duckdb")
    kept = helper.spill(helper.record(make_result("reimpose-oct-2025", 0.8, draws=40)))
    done = subprocess.run(
        [*RAREFLOW, "import", str(kept), "--store", str(path)],
        capture_output=True, text=True, preexec_fn=_disk_full, timeout=300,
        env={**os.environ, "COLUMNS": "1000"},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "IOException" not in done.stderr
    assert "cannot read or write the results store" in done.stderr
    assert kept.exists()  # not imported, so not deleted
    assert path.read_bytes() == before or list(ResultStore(path).runs()["run_id"]) == [first.run_id]


def _memory_cap() -> None:
    """In the child: 3 GB of address space, far below what reading /dev/zero would take."""
    cap = 3 * 2**30
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))


def test_dev_zero_table_under_a_memory_cap(dataset: Path) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    (dataset / "trade.csv").unlink()
    (dataset / "trade.csv").symlink_to("/dev/zero")
    done = subprocess.run(
        [*RAREFLOW, "data", "check", "--data", str(dataset)],
        capture_output=True, text=True, preexec_fn=_memory_cap, timeout=120,
        env={**os.environ, "COLUMNS": "1000"},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "not a regular file" in done.stderr and "Traceback" not in done.stderr
