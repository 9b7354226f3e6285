"""``rareflow risk stockout`` and ``rareflow risk concentration --run``, fresh and from the store."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np
import pytest

from conftest_results import FakeResult
from rareflow.cli.main import cli
from rareflow.engine.run import run
from rareflow.io.store import ResultStore


def invoke(args: list[str]) -> tuple[int, object]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli(args)
    text = out.getvalue()
    return code, json.loads(text) if code == 0 and text.lstrip().startswith("[") else text


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A store holding a 13-month reimpose-oct-2025 run: (store path, run id)."""
    path = tmp_path_factory.mktemp("store") / "results.duckdb"
    result = run("reimpose-oct-2025", months=13)
    ResultStore(path).save(result)
    return str(path), result.run_id


def test_stockout_fresh_run_json() -> None:
    code, rows = invoke(["risk", "stockout", "--region", "DEU", "--format", "json"])
    assert code == 0 and isinstance(rows, list) and rows
    assert {r["region"] for r in rows} == {"DEU"}
    assert {"sector", "stockout_month", "share_of_draws", "peak_shortage_share", "input"} <= set(
        rows[0]
    )


def test_stockout_from_store_matches_the_run(stored: tuple[str, str]) -> None:
    store, run_id = stored
    code, rows = invoke(["risk", "stockout", "--run", run_id[:-2], "--store", store, "-f", "json"])
    assert code == 0 and isinstance(rows, list)
    fresh = invoke(["risk", "stockout", "--scenario", "reimpose-oct-2025", "-f", "json"])[1]
    assert isinstance(fresh, list)
    mine = {(r["region"], r["sector"]): r["stockout_month"] for r in rows}
    assert all(
        mine[(r["region"], r["sector"])] == r["stockout_month"]
        for r in fresh
        if (r["region"], r["sector"]) in mine
    )
    assert len(mine) > 10


def test_stockout_of_a_stored_monte_carlo_run(tmp_path: Path) -> None:
    fake = FakeResult("reimpose-oct-2025", 0.8, draws=4)
    share = np.zeros(fake.dataset["shortage_share"].shape)
    for d, t in enumerate([1, 2, 2, 3]):  # USA wind runs out in a different month per draw
        share[d, t:, 1, 1] = 0.4
    fake.dataset["shortage_share"].values[:] = share
    store = tmp_path / "mc.duckdb"
    ResultStore(store).save(fake)
    code, rows = invoke(
        ["risk", "stockout", "--run", fake.run_id, "--store", str(store), "-f", "json"]
    )
    assert code == 0 and isinstance(rows, list)
    (row,) = rows
    assert (row["region"], row["sector"]) == ("USA", "wind")
    assert (row["p10"], row["stockout_month"], row["p90"]) == ("2026-12", "2027-01", "2027-02")
    assert row["share_of_draws"] == 1.0


def test_stockout_bad_input_exits_2(stored: tuple[str, str]) -> None:
    store, run_id = stored
    assert invoke(["risk", "stockout", "--sector", "spaceships"])[0] == 2
    assert invoke(["risk", "stockout", "--run", "nope", "--store", store])[0] == 2
    assert (
        invoke(["risk", "stockout", "--run", run_id, "--scenario", "baseline", "--store", store])[0]
        == 2
    )


def test_concentration_along_a_stored_run(stored: tuple[str, str]) -> None:
    store, run_id = stored
    args = ["risk", "concentration", "--stage", "magnet", "--every", "6", "-f", "json"]
    code, rows = invoke([*args, "--run", run_id, "--store", store])
    assert code == 0 and isinstance(rows, list)
    assert [r["month"] for r in rows] == ["2026-11", "2027-05", "2027-11"]
    assert all(0 < r["hhi"] <= 1 and r["top1_region"] == "CHN" for r in rows)
    code, fresh = invoke([*args, "--scenario", "reimpose-oct-2025"])
    assert code == 0 and isinstance(fresh, list)
    assert fresh[0]["hhi"] == pytest.approx(rows[0]["hhi"])


def test_concentration_along_a_run_by_element() -> None:
    args = ["risk", "concentration", "--scenario", "baseline", "--element", "Dy", "-f", "json"]
    code, rows = invoke([*args, "--every", "12"])
    assert code == 0 and isinstance(rows, list)
    assert {r["element"] for r in rows} == {"Dy"}
    assert "heavy_separation" in {r["stage"] for r in rows}
    assert invoke([*args, "--every", "0"])[0] == 2
