"""The example notebooks run top to bottom in a python3 kernel (nbclient), as an analyst would
open them: every cell executes without an error, and the results say what the text promises."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import rareflow

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"
WALKTHROUGH = EXAMPLES / "analyst-walkthrough.ipynb"


def execute(path: Path, folder: Path) -> nbformat.NotebookNode:
    """The notebook run in ``folder`` by a python3 kernel importing the rareflow under test."""
    notebook = nbformat.read(path, as_version=4)
    source = str(Path(rareflow.__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])}
    client = NotebookClient(
        notebook, kernel_name="python3", timeout=300, resources={"metadata": {"path": folder}}
    )
    client.execute(env=env)  # raises CellExecutionError naming the cell that failed
    return notebook


def _text(cell: nbformat.NotebookNode) -> str:
    parts = []
    for out in cell.get("outputs", []):
        parts.append(out.get("text", ""))
        parts.append(str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def walkthrough(tmp_path_factory: pytest.TempPathFactory) -> nbformat.NotebookNode:
    return execute(WALKTHROUGH, tmp_path_factory.mktemp("notebook"))


def test_every_example_notebook_is_tested() -> None:
    assert sorted(EXAMPLES.glob("*.ipynb")) == [WALKTHROUGH]


def test_the_walkthrough_shows_datetime_months_ranges_and_exposure(
    walkthrough: nbformat.NotebookNode,
) -> None:
    texts = [_text(c) for c in walkthrough.cells if c.cell_type == "code"]
    assert not any("Traceback" in t for t in texts)
    dataset = next(t for t in texts if "Dimensions:" in t)
    assert "datetime64" in dataset and "exporter" in dataset and "importer" in dataset
    assert any(t.strip() == "[]" for t in texts)  # mc.warnings: the draws differ
    assert any("p95" in t and "p5" in t for t in texts)
    assert any("first_shortage" in t for t in texts)
    images = [o for c in walkthrough.cells for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]  # fmt: skip
    assert len(images) == 2  # the shortage paths and the Monte Carlo band
    assert any("in_sample_persistence_mape" in t and "World" in t for t in texts)  # backtest
    assert any("posterior_p95" in t and "2026-03" in t for t in texts)  # forecast
    assert any("peak_multiple" in t and "dy_oxide" in t for t in texts)  # hindcast
