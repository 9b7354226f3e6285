"""``rareflow risk criticality`` on the EU inputs: output shape, errors, chart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rareflow.analytics import criticality_inputs as ci
from rareflow.errors import UserInputError
from test_concentration_network import invoke, small_network

try:
    ci.calibration_dir()
except UserInputError:  # pragma: no cover - the calibration files live beside the repo
    pytest.skip("shared/data/calibration not found", allow_module_level=True)


def run(args: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    return invoke(["criticality", *args], monkeypatch, small_network())


def test_json_lists_every_material_with_the_core_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = run(["--format", "json"], monkeypatch)
    assert code == 0
    rows = {r["material"]: r for r in json.loads(out)}
    assert len(rows) == 23
    for key in ("SR", "EI", "critical", "stage", "IR", "EoL_RIR", "SI_SR", "SI_EI", "missing"):
        assert key in rows["Gallium"]
    assert rows["Gallium"]["published_SR"] == pytest.approx(1.4)
    assert rows["Gallium"]["critical"] is True
    assert rows["Dysprosium"]["critical"] is None
    assert rows["Dysprosium"]["SR"] > 1


def test_one_material_csv(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = run(["--material", "tungsten", "--format", "csv"], monkeypatch)
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("Tungsten,")


@pytest.mark.parametrize(
    ("args", "listed"),
    [
        (["--material", "Unobtainium"], "Dysprosium"),
        (["--assessment", "eu2099"], "eu2023"),
    ],
)
def test_bad_names_exit_2_listing_valid_values(
    args: list[str], listed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from rareflow.cli import risk

    code, _ = run(args, monkeypatch)
    assert code == 2
    result = CliRunner().invoke(risk.app, ["criticality", *args])
    assert listed in str(result.exception)


def test_wgi_file_enables_2023_and_bad_file_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = tmp_path / "wgi.csv"
    good.write_text("country,wgi\nChina,6\n")
    code, out = run(
        ["--assessment", "eu2023", "--material", "Dysprosium", "--wgi", str(good), "-f", "json"],
        monkeypatch,
    )
    assert code == 0
    row = json.loads(out)[0]
    assert row["SR_processing"] == pytest.approx(6 * 0.99 * 0.99)  # China 100% of processing
    bad = tmp_path / "bad.csv"
    bad.write_text("country,wgi\nChina,high\n")
    code, _ = run(["--assessment", "eu2023", "--wgi", str(bad)], monkeypatch)
    assert code == 2


def test_matrix_chart_html(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chart = tmp_path / "matrix.html"
    code, _ = run(["--chart", str(chart), "-f", "csv"], monkeypatch)
    assert code == 0
    text = chart.read_text()
    assert "Criticality matrix" in text and "Gallium" in text


def test_table_format_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    code, out = run(["--material", "Gallium"], monkeypatch)
    assert code == 0
    assert "EU criticality (eu2017)" in out
    assert "3.2" in out  # the published EI, shown beside the computed SR
