"""Output written for people: progress on stderr, units, tables that fit 80 columns."""

from __future__ import annotations

import pytest

from rareflow.cli.output import working


def test_a_long_step_says_so_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    with working("backtesting (about 25 s)"):
        print("result")
    out, err = capsys.readouterr()
    assert out == "result\n" and "backtesting (about 25 s)" in err
