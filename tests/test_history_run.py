"""`history` runs by name like a bundled scenario, from 2024-01, driven by the timeline and
the standing national stockpiles only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rareflow.cli.main import cli
from rareflow.history.stockpiles import national_stockpiles
from rareflow.history.timeline import all_policies
from rareflow.scenarios.load import list_scenarios, load_scenario


def test_history_is_listed_and_starts_in_2024() -> None:
    assert "history" in {row["name"] for row in list_scenarios()}
    scenario = load_scenario("history")
    assert scenario.start == "2024-01"
    timeline = {p.id for p in [*all_policies(), *national_stockpiles("2024-01")]}
    assert scenario.policies  # the 2025 licences at least
    assert all(p.id.split("~")[0] in timeline for p in scenario.policies)


def test_run_history_from_the_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "store.duckdb"
    code = cli(["run", "history", "--months", "18", "--store", str(store), "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["scenario"] == "history"
    assert out["mass_balance_max_residual"] < 1e-9
