"""``rareflow montecarlo`` and ``rareflow sensitivity`` through ``cli([...])`` on the baseline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from rareflow.cli import main
from rareflow.cli.main import cli

SCENARIO = {
    "name": "mc-cli",
    "start": "2026-11",
    "months": 4,
    "policies": [
        {"id": "lic", "type": "export_license", "actor": "CHN", "start": "2026-11",
         "items": {"elements": ["Dy", "Tb"]}, "approval_share": 0.2, "lead_time_months": 0},
    ],
    "uncertainty": {
        "parameters": {"price_sensitivity": {"dist": "uniform", "low": 1.0, "high": 3.0}},
        "policies": {"lic": {"probability": 0.7,
                             "approval_share": {"dist": "uniform", "low": 0.0, "high": 0.5}}},
    },
}  # fmt: skip


@pytest.fixture(autouse=True)
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands, whether or not ``main`` wires them in yet."""
    monkeypatch.setenv("COLUMNS", "1000")
    main._register()
    names = {c.name for c in main.app.registered_commands}
    if "montecarlo" not in names:
        from rareflow.cli import uncertainty

        uncertainty.register(main.app)


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "mc.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    return path


def test_montecarlo_json_and_store(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "r.duckdb")
    args = ["montecarlo", str(scenario_file), "--draws", "24", "--seed", "4", "--store", store]
    assert cli([*args, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["draws"] == 24 and out["seed"] == 4
    row = out["horizon"][0]
    assert {"value_lost_mean", "value_lost_se", "value_lost_p95", "shortage_prob"} <= row.keys()
    assert any(r["value_lost_mean"] > 0 for r in out["horizon"])
    assert cli(["runs", "--store", store, "--format", "json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["run_id"] for r in runs] == [out["run_id"]] and runs[0]["draws"] == 24
    assert cli([*args, "--format", "json"]) == 0  # same seed, same numbers
    again = json.loads(capsys.readouterr().out)
    assert again["horizon"] == out["horizon"]


def test_montecarlo_table(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = str(tmp_path / "r.duckdb")
    assert cli(["montecarlo", str(scenario_file), "--draws", "8", "--store", store]) == 0
    out = capsys.readouterr().out
    assert "value lost" in out and "8 draws" in out


def test_bad_section_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = {**SCENARIO, "uncertainty": {"parameters": {"price_sensitivty": {"dist": "uniform", "low": 1, "high": 2}}}}  # fmt: skip
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(bad))
    assert cli(["montecarlo", str(path), "--draws", "2", "--store", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "uncertainty.parameters.price_sensitivty" in err and "Traceback" not in err


def test_kernels_give_the_same_numbers(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--kernel numpy (the reference step) and numba (compiled) agree to rounding."""
    totals = {}
    for kernel in ("numpy", "numba"):
        args = ["montecarlo", str(scenario_file), "--draws", "40", "--kernel", kernel,
                "--format", "json", "--store", str(tmp_path / kernel)]  # fmt: skip
        assert cli(args) == 0
        horizon = json.loads(capsys.readouterr().out)["horizon"]
        totals[kernel] = np.array([row["value_lost_mean"] for row in horizon])
    # to rounding: relative 1e-9, and nano-dollar noise in cells with no real loss (atol)
    np.testing.assert_allclose(totals["numba"], totals["numpy"], rtol=1e-9, atol=1e-3)
    assert cli(["montecarlo", str(scenario_file), "--kernel", "cupy"]) == 2


def test_sensitivity_oat_with_chart(
    scenario_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    chart = tmp_path / "tornado.png"
    args = ["sensitivity", str(scenario_file), "--method", "oat", "--chart", str(chart)]
    assert cli([*args, "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "oat" and out["runs"] == 7  # base + 2 swings x 3 factors
    assert {f["factor"] for f in out["factors"]} == {
        "price_sensitivity",
        "lic.probability",
        "lic.approval_share",
    }
    assert chart.stat().st_size > 1000
    assert cli(args) == 0
    assert "what drives value_lost_usd" in capsys.readouterr().out


def test_calibrated_licences_with_uncertain_occurrence() -> None:
    """Bundled licences written ``calibrated`` resolve per draw on the per-draw timing path."""
    from rareflow.scenarios.load import load_scenario
    from rareflow.scenarios.uncertainty import Uncertainty
    from rareflow.uncertainty.run import run_montecarlo

    scen = load_scenario("reimpose-oct-2025")
    spec = Uncertainty.model_validate({"policies": {"april-2025-licence": {"probability": 0.5}}})
    scen = scen.model_copy(update={"uncertainty": spec})
    result = run_montecarlo(scen, 6, months=3, seed=1)
    assert result.draws == 6 and result.mass_balance_max_residual < 1e-9


def test_a_bundled_scenario_warns_that_its_draws_are_identical(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["montecarlo", "reimpose-oct-2025", "--draws", "3", "--months", "3"]
    assert cli([*args, "--store", str(tmp_path / "s.duckdb"), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    body = json.loads(out)
    assert "no uncertainty section" in err and "identical" in body["warnings"][0]
    assert body["quantiles"]["monthly shortage_share"].startswith("exact")
    for row in body["monthly"]:
        assert row["p5"] == row["p50"] == row["p95"] and row["min"] == row["max"]


def test_sensitivity_works_on_a_bundled_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["sensitivity", "reimpose-oct-2025", "--months", "3", "--format", "json"]
    assert cli(args) == 0
    out, err = capsys.readouterr()
    body = json.loads(out)
    assert body["default_ranges"] and "default ranges" in err
    assert {f["factor"] for f in body["factors"]} >= {"demand_elasticity", "price_sensitivity"}


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--draws", "1000000000000"], "draws of"),
        (["--executor", "dask", "--workers", "100000"], "--workers"),
    ],
)
def test_runaway_draws_and_workers_are_refused(
    args: list[str], needle: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 15 F10: exit 2 and the limit, at once (no list of chunks, no 100,000 workers)."""
    import time

    start = time.perf_counter()
    assert cli(["montecarlo", "reimpose-oct-2025", *args, "--store", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert needle in err and "at most" in err and "Traceback" not in err
    assert time.perf_counter() - start < 30


def test_a_cold_kernel_cache_is_announced(tmp_path: Path) -> None:
    """With an empty numba cache the first run says it compiles; with the usual one, not."""
    import os
    import subprocess
    import sys

    code = "from rareflow.cli.uncertainty import kernel_cold; print(kernel_cold())"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    cold = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert cold.stdout.strip() == "True", cold.stderr
    from rareflow.cli.uncertainty import COMPILING, kernel_cold

    assert "compiling the kernel once" in COMPILING
    assert isinstance(kernel_cold(), bool)


def test_the_compile_wait_is_said_in_logs_too(capsys: pytest.CaptureFixture[str]) -> None:
    from rareflow.cli.uncertainty import COMPILING, _progress

    with _progress(10, "draws", COMPILING) as step:
        step(10)
    assert "compiling the kernel once (about 30 s)" in capsys.readouterr().err


def test_montecarlo_table_at_80_columns_with_units(
    scenario_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    args = ["montecarlo", str(scenario_file), "--draws", "30", "--store", str(tmp_path / "s")]
    assert cli(args) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80 and "…" not in out
    assert "$" in out and "%" in out and "e+" not in out


@pytest.mark.parametrize("name", ["baseline", "april-2025-licensing", "us-embargo", "history"])
def test_sensitivity_out_of_the_box(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    """No bundled scenario declares uncertainty; each still gets a ranking (default ranges)."""
    assert cli(["sensitivity", name, "--months", "2", "--format", "json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["default_ranges"] and len(body["factors"]) >= 5
