"""The data build: deterministic, and the committed baseline is what it produces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from rareflow.build.__main__ import main
from rareflow.build.chemistry import element_factor, oxide_yields
from rareflow.build.curated import load_assumptions
from rareflow.build.facts import edition_rank, number
from rareflow.data.network import BASELINE_DIR

FACTS = Path(__file__).parents[1].parent / "shared" / "data" / "facts"
needs_facts = pytest.mark.skipif(not FACTS.is_dir(), reason=f"fact base not found at {FACTS}")


# The reconciliation's least squares runs on BLAS, whose last bits depend on the CPU's
# kernels: another machine reproduces the committed tables to these tolerances, not bytes.
RTOL, ATOL_TONNES = 1e-8, 1e-6


def assert_same_table(built: Path, committed: Path) -> None:
    """Same rows, columns and text; numbers within RTOL or ATOL_TONNES (t/yr)."""
    a, b = pd.read_csv(built, keep_default_na=False), pd.read_csv(committed, keep_default_na=False)
    assert list(a.columns) == list(b.columns) and len(a) == len(b), built.name
    for column in a.columns:
        if a[column].dtype.kind == "f" or b[column].dtype.kind == "f":
            np.testing.assert_allclose(a[column], b[column], rtol=RTOL, atol=ATOL_TONNES,
                                       err_msg=f"{built.name}:{column}: run `make data`")  # fmt: skip
        else:
            assert a[column].tolist() == b[column].tolist(), f"{built.name}:{column}"


@needs_facts
def test_build_is_deterministic_and_matches_the_committed_baseline(tmp_path: Path) -> None:
    for out in ("a", "b"):
        assert main(["--facts", str(FACTS), "--out", str(tmp_path / out)]) == 0
    built = sorted((tmp_path / "a").glob("*.csv"))
    assert {p.name for p in built} == {p.name for p in BASELINE_DIR.glob("*.csv")}
    for path in built:
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes(), path.name
        assert_same_table(path, BASELINE_DIR / path.name)


def test_stoichiometry() -> None:
    assert element_factor("Nd") == pytest.approx(0.857, abs=5e-4)
    assert element_factor("Dy") == pytest.approx(0.871, abs=5e-4)
    assert element_factor("Y") == pytest.approx(0.787, abs=5e-4)


def test_separation_yields_are_feed_shares_times_recovery() -> None:
    a = load_assumptions()
    for kind in ("light", "ionic"):
        total = sum(oxide_yields(kind, a).values())
        assert total == pytest.approx(a.value("separation_recovery"))


def test_fact_helpers() -> None:
    assert number("12100-18400") == 15250.0
    assert number("1,500") == 1500.0
    assert edition_rank("MCS 2026") > edition_rank("MCS 2025") > edition_rank("DS140")
