"""The run/results/compare/plot/runs/scenarios/demo commands, through ``cli([...])``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

from conftest_results import make_result
from rareflow.cli.main import cli
from rareflow.data.network import BASELINE_DIR
from rareflow.io.store import ResultStore
from test_scenarios import REGIONS  # the bundled baseline's 15 codes


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "1000")


@pytest.fixture
def stored(tmp_path: Path) -> tuple[str, str, str]:
    """A store holding a baseline-like and a shocked fake run: (store path, run a, run b)."""
    path = tmp_path / "results.duckdb"
    store = ResultStore(path)
    a, b = make_result("baseline", 0.0), make_result("reimpose-oct-2025", 0.8)
    store.save(a)
    store.save(b)
    return str(path), a.run_id, b.run_id


def out_json(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out)


def test_scenarios_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["scenarios", "--format", "json"]) == 0
    rows = out_json(capsys)
    assert isinstance(rows, list)
    assert {r["name"] for r in rows} >= {"baseline", "reimpose-oct-2025", "us-embargo"}
    assert cli(["scenarios"]) == 0
    assert "suspension-extended" in capsys.readouterr().out


def test_runs(stored: tuple[str, str, str], capsys: pytest.CaptureFixture[str]) -> None:
    store, a, b = stored
    assert cli(["runs", "--store", store, "--format", "json"]) == 0
    rows = out_json(capsys)
    assert isinstance(rows, list) and {r["run_id"] for r in rows} == {a, b}
    assert "scenario_json" not in rows[0]


def test_results_formats(
    stored: tuple[str, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, _, b = stored
    assert cli(["results", b, "--metric", "price", "--store", store]) == 0
    csv = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert set(csv["metric"]) == {"price"} and len(csv) == 16
    assert cli(["results", b[:6], "--format", "json", "--store", store]) == 0
    rows = out_json(capsys)
    assert isinstance(rows, list) and {r["run_id"] for r in rows} == {b}
    target = tmp_path / "r.parquet"
    assert cli(["results", b, "--out", str(target), "--store", store]) == 0
    assert len(pd.read_parquet(target)) == len(make_result(severity=0.8).tidy())


def test_results_parquet_to_stdout(
    stored: tuple[str, str, str], capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    store, a, _ = stored
    assert cli(["results", a, "--metric", "price", "--format", "parquet", "--store", store]) == 0
    frame = pd.read_parquet(io.BytesIO(capfdbinary.readouterr().out))
    assert len(frame) == 16


def test_unknown_run_and_metric(
    stored: tuple[str, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store, a, b = stored
    assert cli(["results", "zzz", "--store", store]) == 2
    err = capsys.readouterr().err
    assert a in err and b in err and "Traceback" not in err
    assert cli(["plot", a, "--metric", "nope", "--out", "x.png", "--store", store]) == 2
    assert "shortage_share" in capsys.readouterr().err


def test_compare_json(stored: tuple[str, str, str], capsys: pytest.CaptureFixture[str]) -> None:
    store, a, b = stored
    assert cli(["compare", a, b, "--store", store, "--format", "json"]) == 0
    payload = out_json(capsys)
    assert isinstance(payload, dict)
    assert payload["scenario_b"] == "reimpose-oct-2025"
    assert payload["sectors"][0]["region"] == "USA"
    assert payload["prices"] and payload["exports"]
    assert cli(["compare", a, b, "--store", store]) == 0
    assert "shortages" in capsys.readouterr().out


@pytest.mark.parametrize("ext", ["png", "html"])
def test_plot(stored: tuple[str, str, str], tmp_path: Path, ext: str) -> None:
    store, _, b = stored
    out = tmp_path / f"p.{ext}"
    assert cli(["plot", b, "--metric", "shortage_share", "--out", str(out), "--store", store]) == 0
    assert out.stat().st_size > 5_000


def test_plot_bad_extension(stored: tuple[str, str, str], tmp_path: Path) -> None:
    store, _, b = stored
    out = tmp_path / "p.gif"
    assert cli(["plot", b, "--metric", "price", "--out", str(out), "--store", store]) == 2
    assert not out.exists()


# -- end to end with the engine: the tiny test network, then the bundled baseline -----------------
TINY_LICENCE = """
name: tiny-licence
start: "2026-11"
months: 12
policies:
  - id: lic
    type: export_license
    items: {products: [ndfeb_sintered, dy_oxide]}
    approval_share: 0.3
    lead_time_months: 1
    start: "2026-11"
"""


@pytest.fixture
def tiny_dir(tmp_path: Path) -> Path:
    pytest.importorskip("rareflow.engine.run")
    from conftest import tiny_tables
    from rareflow.data.io import write_tables

    write_tables(tiny_tables(), tmp_path / "tiny", "csv")
    (tmp_path / "base.yaml").write_text('name: tiny-base\nstart: "2026-11"\nmonths: 12\n')
    (tmp_path / "licence.yaml").write_text(TINY_LICENCE)
    return tmp_path


def test_run_tiny_end_to_end(tiny_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store, data = str(tiny_dir / "r.duckdb"), str(tiny_dir / "tiny")
    common = ["--data", data, "--store", store, "--format", "json"]
    assert cli(["run", str(tiny_dir / "base.yaml"), *common]) == 0
    base = out_json(capsys)
    out = tiny_dir / "out"
    assert cli(["run", str(tiny_dir / "licence.yaml"), *common, "--out", str(out)]) == 0
    shock = out_json(capsys)
    assert isinstance(base, dict) and isinstance(shock, dict)
    assert set(shock) == {
        "run_id", "scenario", "summary", "peak_prices", "stoppages", "mass_balance_max_residual",
        "impact", "impact_note",
    }  # fmt: skip
    # the bundled economy mapping does not cover the tiny dataset's regions: it says so
    assert shock["impact"] is None and "unknown rareflow region" in shock["impact_note"]
    assert base["summary"] == [] and shock["summary"]  # only rows with losses
    assert shock["summary"][0]["region"] == "AUS"  # no magnet maker of its own
    assert shock["mass_balance_max_residual"] < 1e-9
    assert len(pd.read_parquet(out / "results.parquet")) > 0
    assert json.loads((out / "summary.json").read_text())["run_id"] == shock["run_id"]
    assert (
        cli(["compare", base["run_id"], shock["run_id"], "--store", store, "--format", "json"]) == 0
    )
    diff = out_json(capsys)
    assert isinstance(diff, dict) and diff["sectors"][0]["value_lost_usd_change"] > 0
    assert all(row["tonnes_change"] < 0 for row in diff["exports"])
    png = tiny_dir / "s.png"
    assert (
        cli(
            [
                "plot",
                shock["run_id"],
                "--metric",
                "shortage_share",
                "--out",
                str(png),
                "--store",
                store,
            ]
        )
        == 0
    )
    assert png.stat().st_size > 5_000
    assert cli(["run", str(tiny_dir / "base.yaml"), "--data", data, "--store", store]) == 0
    assert "no shortages" in capsys.readouterr().out


def test_run_binds_scenario_to_dataset(tiny_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # sm_oxide is a product of the bundled baseline but not of the tiny network
    bad = tiny_dir / "bad.yaml"
    bad.write_text(TINY_LICENCE.replace("dy_oxide", "sm_oxide"))
    args = ["run", str(bad), "--data", str(tiny_dir / "tiny"), "--store", str(tiny_dir / "r.db")]
    assert cli(args) == 2
    err = capsys.readouterr().err
    assert "policies[0].items.products[1]" in err and "'sm_oxide'" in err
    assert "ndfeb_sintered" in err and "Traceback" not in err
    assert not (tiny_dir / "r.db").exists()  # nothing stored


def _needs_engine() -> None:
    pytest.importorskip("rareflow.engine.run")
    if not any(BASELINE_DIR.glob("*.csv")):
        pytest.skip("bundled baseline not built yet")


@pytest.mark.slow
def test_run_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _needs_engine()
    store, out = str(tmp_path / "r.duckdb"), tmp_path / "out"
    args = ["run", "reimpose-oct-2025", "--months", "6", "--store", store, "--out", str(out)]
    assert cli([*args, "--format", "json"]) == 0
    payload = out_json(capsys)
    assert isinstance(payload, dict)
    assert set(payload) == {
        "run_id", "scenario", "summary", "peak_prices", "stoppages", "mass_balance_max_residual",
        "impact",
    }  # fmt: skip
    assert {r["region"] for r in payload["impact"]} == set(REGIONS)
    assert payload["scenario"] == "reimpose-oct-2025"
    assert payload["mass_balance_max_residual"] < 1e-6
    for row in payload["summary"]:
        assert set(row) == {"region", "sector", "peak_shortage_share", "shortage_months",
                            "units_not_built", "value_lost_usd", "peak_stopped_share",
                            "stopped_months", "units_lost", "units_deferred",
                            "value_deferred_usd", "gross_output_lost_usd",
                            "units_pending"}  # fmt: skip
        assert row["value_lost_usd"] <= row["gross_output_lost_usd"] + 1e-6
    assert (out / "results.parquet").stat().st_size > 0
    assert json.loads((out / "summary.json").read_text())["run_id"] == payload["run_id"]
    stored_runs = ResultStore(store).runs()
    assert list(stored_runs["run_id"]) == [payload["run_id"]]
    assert int(stored_runs["months"].iloc[0]) == 6


@pytest.mark.slow
def test_demo(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _needs_engine()
    assert cli(["demo", "--store", str(tmp_path / "r.duckdb")]) == 0
    out = capsys.readouterr().out
    assert "China" in out and "reimpose-oct-2025" in out
    assert len(ResultStore(tmp_path / "r.duckdb").runs()) == 2
