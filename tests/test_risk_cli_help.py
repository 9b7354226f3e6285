"""First-contact help in ``rareflow risk``: region groups explained, near-miss stages named."""

from __future__ import annotations

import pytest

from rareflow.cli.main import cli


def test_a_near_miss_stage_gets_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["risk", "concentration", "--stage", "magnets"]) == 2
    err = capsys.readouterr().err
    assert "Did you mean 'magnet'?" in err and "Traceback" not in err


def test_help_explains_xeu_and_row(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(["risk", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "XEU, the rest of the EU" in out and "ROW, the rest of the world" in out
