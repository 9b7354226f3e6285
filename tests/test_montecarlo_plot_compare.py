"""A stored Monte Carlo run plots and compares like a single run (issue 19)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from rareflow.analytics.plots import series, statistic
from rareflow.cli.main import cli


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """A baseline run and a Monte Carlo run of a licence scenario, 6 months each."""
    path = tmp_path_factory.mktemp("mc") / "s.duckdb"
    from rareflow.io.store import ResultStore

    ids: list[str] = []
    for args in (["run", "baseline"], ["montecarlo", "reimpose-oct-2025", "--draws", "3"]):
        assert cli([*args, "--months", "6", "--store", str(path)]) == 0
        stored = set(ResultStore(path).runs()["run_id"].astype(str))
        (new,) = stored - set(ids)  # the run just made (runs in one second tie on time)
        ids.append(new)
    return path, ids[0], ids[1]


def test_monte_carlo_statistics_are_never_summed_over_sectors(
    store: tuple[Path, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, _, mc = store
    from rareflow.io.store import ResultStore

    frame = ResultStore(path).results(mc, "shortage_share_p95")
    table = series(frame, "shortage_share_p95")
    assert statistic("shortage_share_p95") and not statistic("shortage_share")
    assert table.to_numpy().max() <= 1.0  # a share, one line per region and sector
    assert all("/" in str(c) for c in table.columns)
    out = tmp_path / "p95.html"
    assert cli(["plot", mc, "--metric", "shortage_share_p95", "--out", str(out),
                "--store", str(path)]) == 0  # fmt: skip
    assert "per region" in out.read_text()


def test_compare_with_a_monte_carlo_run(
    store: tuple[Path, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    path, base, mc = store
    capsys.readouterr()
    assert cli(["compare", base, mc, "--store", str(path), "--format", "json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["sectors"] and body["exports"] == []
    assert "stores no shipments" in body["notes"][0]


def test_shares_are_averaged_not_summed() -> None:
    rows = pd.DataFrame({"draw": 0, "month": "2026-01", "region": "DEU", "partner": "",
                         "product": ["wind", "defence"], "metric": "shortage_share",
                         "value": [0.8, 0.6], "unit": "fraction"})  # fmt: skip
    assert series(rows, "shortage_share").iloc[0, 0] == pytest.approx(0.7)
