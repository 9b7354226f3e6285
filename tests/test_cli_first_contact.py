"""First contact: `scenarios show NAME` prints YAML that loads back; compare writes CSV."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
import yaml

from rareflow.cli.main import cli
from rareflow.scenarios.load import load_scenario


@pytest.mark.parametrize("name", ["reimpose-oct-2025", "history"])
def test_scenarios_show_prints_yaml_that_loads(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["scenarios", "show", name]) == 0
    text = capsys.readouterr().out
    path = tmp_path / "copy.yaml"
    path.write_text(text)
    assert yaml.safe_load(text)["name"] == name
    if name != "history":  # the bundled file itself, comments and all
        assert load_scenario(str(path)).policies == load_scenario(name).policies


def test_scenarios_show_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["scenarios", "shwo", "baseline"]) == 2
    assert "Did you mean 'show'?" in capsys.readouterr().err
    assert cli(["scenarios", "show"]) == 2
    assert "baseline" in capsys.readouterr().err


def test_compare_as_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = str(tmp_path / "s.duckdb")
    for name in ("baseline", "reimpose-oct-2025"):
        assert cli(["run", name, "--months", "6", "--store", store, "--format", "json"]) == 0
    capsys.readouterr()
    from rareflow.io.store import ResultStore

    runs = ResultStore(Path(store)).runs()["run_id"].tolist()
    assert cli(["compare", runs[1], runs[0], "--store", store, "--format", "csv"]) == 0
    frame = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert frame.columns[0] == "view" and {"sectors", "exports"} <= set(frame["view"])
    assert "value_lost_usd_change" in frame.columns
