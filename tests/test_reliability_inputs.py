"""Bad scenario and parameter input is refused before a run: exit 2, the field named, no
traceback (issue 15's F4, F5, F6: each case as a hostile or careless user wrote it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rareflow.cli.main import cli

BASE = """name: bad
start: "2026-12"
months: 3
"""
LICENCE = """policies:
  - id: lic
    type: export_license
    items: {elements: [Dy]}
    approval_share: 0.5
"""


CASES = {
    "start-year-0": ('name: bad\nstart: "0000-01"\nmonths: 3\n', "start"),
    "start-1990": ('name: bad\nstart: "1990-01"\nmonths: 3\n', "start"),
    "start-9999": ('name: bad\nstart: "9999-12"\nmonths: 3\n', "start"),
    "elasticity-nan": (BASE + "parameters: {demand_elasticity: .nan}\n", "demand_elasticity"),
    "elasticity-inf": (BASE + "parameters: {demand_elasticity: .inf}\n", "demand_elasticity"),
    "elasticity-huge": (BASE + "parameters: {demand_elasticity: 1e308}\n", "demand_elasticity"),
    "cover-negative": (BASE + "parameters: {cover_multiple: -5}\n", "cover_multiple"),
    "base-year-override": (BASE + "parameters: {base_year: 2030}\n", "base_year"),
    "approval-true": (BASE + LICENCE.replace("0.5", "true"), "approval_share"),
    "stockpile-inf": (
        BASE + "policies:\n  - {id: s, type: stockpile, product: dy_oxide, action: release, "
        "tonnes_per_month: .inf}\n",
        "tonnes_per_month",
    ),
    "markup-name": ('name: "x\\n[red]x[/red]"\nstart: "2026-12"\n', "name"),
    "repeated-key": (BASE + "months: 4\n", "months"),
    "mc-normal-nan": (
        BASE + "uncertainty:\n  parameters:\n    demand_elasticity: {dist: normal, mean: .nan, sd: 1}\n",
        "demand_elasticity",
    ),
    "mc-uniform-infinite": (
        BASE + "uncertainty:\n  parameters:\n    demand_elasticity: {dist: uniform, low: -.inf, high: .inf}\n",
        "demand_elasticity",
    ),
    "mc-choice-weight-nan": (
        BASE + "uncertainty:\n  parameters:\n    demand_elasticity: "
        "{dist: choice, values: [0.1, 0.2], weights: [.nan, 1]}\n",
        "demand_elasticity",
    ),
    "mc-base-year": (
        BASE + "uncertainty:\n  parameters:\n    base_year: {dist: uniform, low: 0, high: 1e9}\n",
        "base_year",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_scenarios_are_refused_with_exit_2(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, field = CASES[name]
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    command = "montecarlo" if name.startswith("mc-") else "run"
    extra = ["--draws", "64"] if command == "montecarlo" else []
    code = cli([command, str(path), *extra, "--store", str(tmp_path / "s.duckdb")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and field in err and path.name in err


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled dataset written out, as a user edits it (``rareflow data export``)."""
    directory = tmp_path_factory.mktemp("export") / "ds"
    assert cli(["data", "export", str(directory)]) == 0
    return directory


def _edited(source: Path, target: Path, table: str, column: str, change: object) -> Path:
    import shutil

    import pandas as pd

    shutil.copytree(source, target)
    frame = pd.read_csv(target / f"{table}.csv", dtype=str, keep_default_na=False)
    frame.loc[0, column] = change(frame.loc[0, column]) if callable(change) else change
    frame.to_csv(target / f"{table}.csv", index=False)
    return target


@pytest.mark.parametrize(
    ("table", "column", "change", "words"),
    [
        ("capacities", "tonnes_per_year", "1e308", "at most 1e+12"),
        ("demand", "tonnes_per_year", lambda v: str(float(v) * 10), "does not balance"),
    ],
    ids=["value-1e308", "imbalance-90pct"],
)
def test_run_refuses_a_dataset_that_data_check_fails(
    exported: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    table: str, column: str, change: object, words: str,
) -> None:  # fmt: skip
    data = _edited(exported, tmp_path / "ds", table, column, change)
    store = str(tmp_path / "s.duckdb")
    code = cli(["run", "baseline", "--data", str(data), "--months", "2", "--store", store])
    err = capsys.readouterr().err
    assert code == 2 and words in err and "Traceback" not in err, err
